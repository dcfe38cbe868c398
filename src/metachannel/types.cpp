#include "metachannel/types.h"

namespace mc {

const char* to_string(State s) {
  switch (s) {
    case State::Idle: return "idle";
    case State::Connecting: return "connecting";
    case State::Open: return "open";
    case State::Reconnecting: return "reconnecting";
    case State::Closing: return "closing";
    case State::Closed: return "closed";
  }
  return "closed";
}

const char* to_string(ErrorCode c) {
  switch (c) {
    case ErrorCode::None: return "";
    case ErrorCode::NotReady: return "NOT_READY";
    case ErrorCode::NotSupported: return "NOT_SUPPORTED";
    case ErrorCode::InvalidUrl: return "INVALID_URL";
    case ErrorCode::InvalidArgument: return "INVALID_ARGUMENT";
    case ErrorCode::InvalidJson: return "INVALID_JSON";
    case ErrorCode::MessageTooLarge: return "MESSAGE_TOO_LARGE";
    case ErrorCode::QueueOverflow: return "QUEUE_OVERFLOW";
    case ErrorCode::HeadersUnsupported: return "HEADERS_UNSUPPORTED";
    case ErrorCode::ConnectTimeout: return "CONNECT_TIMEOUT";
    case ErrorCode::HeartbeatTimeout: return "HEARTBEAT_TIMEOUT";
    case ErrorCode::Revoked: return "REVOKED";
    case ErrorCode::RetriesExhausted: return "RETRIES_EXHAUSTED";
    case ErrorCode::ListenerThrew: return "LISTENER_THREW";
    case ErrorCode::Disposed: return "DISPOSED";
    case ErrorCode::Closed: return "CLOSED";
    case ErrorCode::SocketError: return "SOCKET_ERROR";
  }
  return "";
}

int ready_state(State s) {
  switch (s) {
    case State::Connecting:
    case State::Reconnecting: return 0;
    case State::Open: return 1;
    case State::Closing: return 2;
    case State::Idle:
    case State::Closed: return 3;
  }
  return 3;
}

bool is_sendable_close_code(int code) { return code == 1000 || (code >= 3000 && code <= 4999); }

}  // namespace mc
