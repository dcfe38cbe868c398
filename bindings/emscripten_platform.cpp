#include "emscripten_platform.h"

#include <cstdarg>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <string>

#include <emscripten/em_math.h>
#include <emscripten/emscripten.h>
#include <emscripten/eventloop.h>
#include <emscripten/websocket.h>

// Implemented in bindings/library.js (the JS side of the module, all in one file).
extern "C" {
void mc_socket_owner(int owner);
char* mc_socket_take_create_error();
void mc_socket_adopt(int id, void* transport, double max_bytes, int owner);
int mc_socket_send_text(int id, const char* data, int size);
int mc_socket_ready_state(int id);
double mc_socket_buffered_amount(int id);
int mc_socket_refused_status(int id);
void mc_socket_forget(int id);
void mc_transport_plan(void* transport, int mode, int route, const char* needles, int size);
}

namespace mc {
namespace {

EM_BOOL on_open(int, const EmscriptenWebSocketOpenEvent*, void* user) {
  static_cast<EmscriptenTransport*>(user)->handle_open();
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

EmscriptenTransport::~EmscriptenTransport() {
  abort();
  if (plan_set_) mc_transport_plan(this, 0, 0, nullptr, 0);
}

void EmscriptenTransport::set_receive_plan(const ReceivePlan& plan) {
  plan_set_ = plan.mode != ReceivePlan::Mode::Read;
  mc_transport_plan(this, static_cast<int>(plan.mode), static_cast<int>(plan.route), plan.needles.data(),
                    static_cast<int>(plan.needles.size()));
}

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
  mc_socket_adopt(s, this, max_frame_bytes_, owner_);  // frames arrive through bindings/library.js
  emscripten_websocket_set_onopen_callback(s, this, on_open);
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

int EmscriptenTransport::refused_status() const { return socket_ > 0 ? mc_socket_refused_status(socket_) : 0; }

double EmscriptenTransport::buffered_amount() const { return socket_ > 0 ? mc_socket_buffered_amount(socket_) : 0; }

std::string EmscriptenTransport::protocol() const {
  if (socket_ <= 0) return std::string();
  int length = 0;
  if (emscripten_websocket_get_protocol_length(socket_, &length) != EMSCRIPTEN_RESULT_SUCCESS || length <= 1) {
    return std::string();
  }
  // Read into a buffer, then one std::string of it: a string filled and then resized inlined
  // two growth paths (~200 bytes of wasm).
  const std::unique_ptr<char[]> buffer(new char[static_cast<size_t>(length)]());
  emscripten_websocket_get_protocol(socket_, buffer.get(), length);
  return std::string(buffer.get(), static_cast<size_t>(length) - 1);  // the length counts the NUL
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
  release();                                    // close-then-delete: the socket is closed now, so deleting it is safe
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
double EmscriptenScheduler::ln(double x) { return emscripten_math_log(x); }

void EmscriptenScheduler::fire() {
  armed_ = false;
  if (listener_) listener_->on_wake();
}

}  // namespace mc
