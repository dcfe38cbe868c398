// Shared vocabulary of the channel core: states, error codes, close codes.
#pragma once
#include <cstdint>

namespace mc {

enum class State : uint8_t { Idle, Connecting, Open, Reconnecting, Closing, Closed };

// The public error codes (js/errors.js and the .d.ts carry the same list, in this order).
enum class ErrorCode : uint8_t {
  None = 0,
  NotReady,
  NotSupported,
  InvalidUrl,
  InvalidArgument,
  InvalidJson,
  MessageTooLarge,
  QueueOverflow,
  HeadersUnsupported,
  ConnectTimeout,
  HeartbeatTimeout,
  Revoked,
  RetriesExhausted,
  ListenerThrew,
  Disposed,
  Closed,
  SocketError,
};

const char* to_string(State s);
const char* to_string(ErrorCode c);
// readyState as the WebSocket API reports it (0 connecting, 1 open, 2 closing, 3 closed).
int ready_state(State s);

namespace close_code {
constexpr uint16_t kNormal = 1000;
constexpr uint16_t kAbnormal = 1006;  // never sent on the wire: "no close frame was received"
constexpr uint16_t kRevoked = 4001;   // the relay rotated the channel URL
}  // namespace close_code

// Whether a close code may be passed to WebSocket.close(): 1000 or 3000-4999.
bool is_sendable_close_code(int code);

}  // namespace mc
