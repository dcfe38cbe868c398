// The wasm build's Transport and Scheduler. The header is plain C++; only the .cpp includes
// Emscripten, so the rest of the core and its tests never see it.
#pragma once
#include <string>

#include "metachannel/transport.h"

namespace mc {

// A Transport over emscripten/websocket.h, with its sharp edges filed off: it never sends
// unless the socket is OPEN, closes before it deletes, frees the socket slot that 3.1.6's
// emscripten_websocket_delete leaks, and sends text by length (so a U+0000 survives).
class EmscriptenTransport final : public Transport {
 public:
  // `owner` tells the JS socket factory which channel's options (WebSocket class, headers)
  // apply to the sockets this transport creates.
  explicit EmscriptenTransport(int owner) : owner_(owner) {}
  // Frames longer than this are reported by size, never copied into the heap (set before open()).
  void set_max_frame_bytes(double max_frame_bytes) { max_frame_bytes_ = max_frame_bytes; }
  ~EmscriptenTransport() override;
  void set_listener(TransportListener* listener) override { listener_ = listener; }
  bool open(const std::string& url, const std::string& protocols_csv) override;
  bool send_text(const char* data, size_t size) override;
  bool send_binary(const uint8_t* data, size_t size) override;
  void close(int code, const std::string& reason) override;
  void abort() override;
  double buffered_amount() const override;
  std::string protocol() const override;
  std::string_view open_error() const override { return open_error_; }
  int refused_status() const override;
  // Kept by bindings/library.js per transport (not per socket) and applied there to every
  // text frame: a frame the plan decides never enters wasm.
  void set_receive_plan(const ReceivePlan& plan) override;

  // Called from the websocket.h callbacks (file-local trampolines).
  void handle_open();
  void handle_message(bool text, const unsigned char* data, size_t size);
  void handle_oversize(bool text, double size);
  void handle_error();
  void handle_close(bool clean, int code, const char* reason);

 private:
  void release();  // delete the socket and its slot; no more callbacks from it
  int owner_;
  double max_frame_bytes_ = 0;
  int socket_ = 0;
  std::string open_error_;
  bool plan_set_ = false;
  TransportListener* listener_ = nullptr;
};

class EmscriptenScheduler final : public Scheduler {
 public:
  ~EmscriptenScheduler() override { cancel_wake(); }
  void set_listener(SchedulerListener* listener) { listener_ = listener; }
  double now_ms() override;
  void wake_in(double delay_ms) override;
  void cancel_wake() override;
  double random01() override;
  double ln(double x) override;
  void fire();

 private:
  SchedulerListener* listener_ = nullptr;
  long timer_ = 0;
  bool armed_ = false;
};

}  // namespace mc
