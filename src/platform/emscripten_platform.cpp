#include "emscripten_platform.h"

#include <cstdlib>

#include <emscripten/em_js.h>
#include <emscripten/em_math.h>
#include <emscripten/emscripten.h>
#include <emscripten/eventloop.h>
#include <emscripten/websocket.h>

// Tells the JS socket factory (js/wasm-prelude.js) whose options apply to the next socket.
EM_JS(void, mc_socket_owner, (int owner), { Module["__mcSocketOwner"] = owner; });

// websocket.h only sends NUL-terminated text; this sends by length, and never on a socket
// that is not OPEN (a send while CONNECTING throws InvalidStateError through wasm).
EM_JS(int, mc_socket_send_text, (int id, const char* data, int size), {
  var s = WS.sockets[id];
  if (!s || s.readyState !== 1) return 0;
  var pending = Module["__mcPendingSend"];
  // The frame JS is sending right now: send its original string, not a decoded copy.
  s.send(pending && pending.ptr === data ? pending.text : Module["__mcDecodeUtf8"](data, size));
  return 1;
});

EM_JS(int, mc_socket_ready_state, (int id), {
  var s = WS.sockets[id];
  return s ? s.readyState : 3;
});

EM_JS(double, mc_socket_buffered_amount, (int id), {
  var s = WS.sockets[id];
  return s ? (s.bufferedAmount || 0) : 0;
});

// The receive path. websocket.h's onmessage mallocs a fresh buffer per frame and encodes text
// with a JS loop; this handler encodes with TextEncoder.encodeInto into one reusable buffer,
// keeps the original string for the JS layer (so it is never decoded back), and reports a
// frame over the size limit without copying it into wasm memory at all (the heap would grow
// for good). websocket.h still owns the socket's other events.
EM_JS(void, mc_socket_take_messages, (int id, void* transport, double max_bytes), {
  var s = WS.sockets[id];
  if (!s) return;
  s.onmessage = function(e) {
    var data = e.data;
    if (typeof data === "string") {
      if (data.length > max_bytes) return _mc_transport_oversize(transport, 1, data.length);
      var n = Module["__mcEncodeToScratch"](data);
      Module["__mcLastText"] = data;
      _mc_transport_frame(transport, 1, Module["__mcScratch"], n);
      Module["__mcLastText"] = null;
    } else {
      var bytes = new Uint8Array(data);
      if (bytes.length > max_bytes) return _mc_transport_oversize(transport, 0, bytes.length);
      var p = Module["__mcScratchFor"](bytes.length);
      HEAPU8.set(bytes, p);
      _mc_transport_frame(transport, 0, p, bytes.length);
    }
  };
});

// Why the socket factory (js/socket-factory.js) could not make the last socket, as a malloc'd
// string (the caller frees it), or null when it could.
EM_JS(char*, mc_socket_take_create_error, (), {
  var why = Module["__mcCreateError"];
  if (!why) return 0;
  Module["__mcCreateError"] = null;
  var size = lengthBytesUTF8(why) + 1;
  var p = _malloc(size);
  stringToUTF8(why, p, size);
  return p;
});

// emscripten_websocket_delete in 3.1.6 deletes the wrong key and keeps every socket alive;
// newer releases delete the slot themselves, which makes this a no-op there.
EM_JS(void, mc_socket_forget, (int id), { delete WS.sockets[id]; });

namespace mc {
namespace {

EM_BOOL on_open(int, const EmscriptenWebSocketOpenEvent*, void* user) {
  static_cast<EmscriptenTransport*>(user)->handle_open();
  return EM_TRUE;
}

EM_BOOL on_message(int, const EmscriptenWebSocketMessageEvent* e, void* user) {
  // For text, numBytes counts a trailing NUL that is not part of the frame.
  const size_t size = e->isText ? (e->numBytes > 0 ? e->numBytes - 1 : 0) : e->numBytes;
  static_cast<EmscriptenTransport*>(user)->handle_message(e->isText, e->data, size);
  return EM_TRUE;
}

EM_BOOL on_error(int, const EmscriptenWebSocketErrorEvent*, void* user) {
  static_cast<EmscriptenTransport*>(user)->handle_error();
  return EM_TRUE;
}

EM_BOOL on_close(int, const EmscriptenWebSocketCloseEvent* e, void* user) {
  static_cast<EmscriptenTransport*>(user)->handle_close(e->wasClean, e->code, e->reason);
  return EM_TRUE;
}

void on_timer(void* user) { static_cast<EmscriptenScheduler*>(user)->fire(); }

}  // namespace

extern "C" {
EMSCRIPTEN_KEEPALIVE void mc_transport_frame(void* transport, int text, const unsigned char* data, int size) {
  static_cast<EmscriptenTransport*>(transport)->handle_message(text != 0, data, static_cast<size_t>(size));
}
EMSCRIPTEN_KEEPALIVE void mc_transport_oversize(void* transport, int text, double size) {
  static_cast<EmscriptenTransport*>(transport)->handle_oversize(text != 0, size);
}
}

EmscriptenTransport::~EmscriptenTransport() { abort(); }

bool EmscriptenTransport::open(const std::string& url, const std::string& protocols_csv) {
  abort();
  EmscriptenWebSocketCreateAttributes attrs;
  emscripten_websocket_init_create_attributes(&attrs);
  attrs.url = url.c_str();
  attrs.protocols = protocols_csv.empty() ? nullptr : protocols_csv.c_str();
  attrs.createOnMainThread = EM_TRUE;
  mc_socket_owner(owner_);
  open_error_.clear();
  const EMSCRIPTEN_WEBSOCKET_T s = emscripten_websocket_new(&attrs);
  if (char* why = mc_socket_take_create_error()) {
    // The WebSocket constructor threw; the factory handed websocket.h an inert stand-in.
    open_error_ = why;
    free(why);
    if (s > 0) {
      emscripten_websocket_delete(s);
      mc_socket_forget(s);
    }
    return false;
  }
  if (s <= 0) return false;  // 0 is a failure too
  socket_ = s;
  emscripten_websocket_set_onopen_callback(s, this, on_open);
  emscripten_websocket_set_onmessage_callback(s, this, on_message);
  mc_socket_take_messages(s, this, max_frame_bytes_);
  emscripten_websocket_set_onerror_callback(s, this, on_error);
  emscripten_websocket_set_onclose_callback(s, this, on_close);
  return true;
}

bool EmscriptenTransport::send_text(const char* data, size_t size) {
  return socket_ > 0 && mc_socket_send_text(socket_, data, static_cast<int>(size)) == 1;
}

bool EmscriptenTransport::send_binary(const uint8_t* data, size_t size) {
  if (socket_ <= 0 || mc_socket_ready_state(socket_) != 1) return false;
  // websocket.h's send_binary takes a non-const pointer but does not write through it.
  return emscripten_websocket_send_binary(socket_, const_cast<uint8_t*>(data), static_cast<uint32_t>(size)) ==
         EMSCRIPTEN_RESULT_SUCCESS;
}

void EmscriptenTransport::close(int code, const std::string& reason) {
  if (socket_ <= 0) return;
  if (mc_socket_ready_state(socket_) >= 2) return;  // already closing: the close event will come
  // The socket stays registered: its close event arrives later and releases it.
  emscripten_websocket_close(socket_, static_cast<unsigned short>(code), reason.empty() ? nullptr : reason.c_str());
}

void EmscriptenTransport::abort() {
  if (socket_ <= 0) return;
  if (mc_socket_ready_state(socket_) < 2) emscripten_websocket_close(socket_, 1000, nullptr);
  release();
}

void EmscriptenTransport::release() {
  const int s = socket_;
  socket_ = 0;
  emscripten_websocket_delete(s);  // removes the handlers (it does not close the socket)
  mc_socket_forget(s);
}

double EmscriptenTransport::buffered_amount() const {
  return socket_ > 0 ? mc_socket_buffered_amount(socket_) : 0;
}

std::string EmscriptenTransport::protocol() const {
  if (socket_ <= 0) return std::string();
  int length = 0;
  if (emscripten_websocket_get_protocol_length(socket_, &length) != EMSCRIPTEN_RESULT_SUCCESS || length <= 1) {
    return std::string();
  }
  std::string out(static_cast<size_t>(length), '\0');
  emscripten_websocket_get_protocol(socket_, &out[0], length);
  out.resize(static_cast<size_t>(length) - 1);  // the length counts the NUL
  return out;
}

void EmscriptenTransport::handle_open() {
  if (listener_) listener_->on_transport_open();
}

void EmscriptenTransport::handle_message(bool text, const unsigned char* data, size_t size) {
  if (!listener_) return;
  if (text) {
    listener_->on_transport_text(reinterpret_cast<const char*>(data), size);
  } else {
    listener_->on_transport_binary(data, size);
  }
}

void EmscriptenTransport::handle_oversize(bool text, double size) {
  if (listener_) listener_->on_transport_oversize(text, size);
}

void EmscriptenTransport::handle_error() {
  if (listener_) listener_->on_transport_error();
}

void EmscriptenTransport::handle_close(bool clean, int code, const char* reason) {
  const std::string why(reason ? reason : "");  // the event buffer is reused after we return
  release();  // close-then-delete: the socket is closed now, so deleting it is safe
  if (listener_) listener_->on_transport_close(code, why, clean);
}

double EmscriptenScheduler::now_ms() { return emscripten_get_now(); }

void EmscriptenScheduler::wake_in(double delay_ms) {
  cancel_wake();
  timer_ = emscripten_set_timeout(on_timer, delay_ms, this);
  armed_ = true;
}

void EmscriptenScheduler::cancel_wake() {
  if (!armed_) return;
  emscripten_clear_timeout(timer_);
  armed_ = false;
}

double EmscriptenScheduler::random01() { return emscripten_math_random(); }

void EmscriptenScheduler::fire() {
  armed_ = false;
  if (listener_) listener_->on_wake();
}

}  // namespace mc
