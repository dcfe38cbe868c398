// The two seams that keep the channel core portable: the socket (Transport) and time
// (Scheduler). The wasm build implements them over emscripten/websocket.h and emscripten
// timers (bindings/emscripten_platform.cpp); the native tests implement them with fakes.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mc {

class TransportListener {
 public:
  virtual void on_transport_open() = 0;
  virtual void on_transport_text(const char* data, size_t size) = 0;
  virtual void on_transport_binary(const uint8_t* data, size_t size) = 0;
  // A frame longer than the channel's limit, reported by size without its bytes (a transport
  // may check the limit before copying a frame). `size` is a lower bound of its byte length.
  virtual void on_transport_oversize(bool text, double size) = 0;
  virtual void on_transport_error() = 0;
  virtual void on_transport_close(int code, std::string_view reason, bool clean) = 0;

 protected:
  ~TransportListener() = default;
};

// The listener's standing answer for text frames, so that a platform can act on a frame
// without handing it over (the wasm build: in JS, without entering wasm). Only for frames
// whose UTF-8 length is within the listener's size limit.
//   Read:      every frame's bytes go to on_transport_text.
//   Route:     the core would read nothing in a frame (no reliability, no heartbeat strings,
//              no routed member but "type"): every frame is delivered without its bytes, to
//              the JS layer's own parse, with the route bits `route` (0: dropped).
//   Prefilter: a frame with no backslash and none of the NUL-separated `needles` could not
//              match the router: dropped unread. Others: Read.
// The platform applies the plan itself (the wasm build: bindings/library.js); the core never
// hears of the frames it settles.
struct ReceivePlan {
  enum class Mode : uint8_t { Read, Route, Prefilter };
  Mode mode = Mode::Read;
  uint32_t route = 0;
  std::string needles;
  bool operator==(const ReceivePlan& o) const { return mode == o.mode && route == o.route && needles == o.needles; }
};

// One socket at a time. After close() a transport reports on_transport_close once; after
// abort() it reports nothing more about the socket it had.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void set_listener(TransportListener* listener) = 0;
  // Starts a connection. False when no socket could be created at all (nothing reported).
  virtual bool open(const std::string& url, const std::string& protocols_csv) = 0;
  // After open() returned false: why, when retrying cannot help (a WebSocket constructor that
  // rejects these arguments: a bad header, a blocked scheme); "" when a retry may succeed. Valid
  // until the next open().
  virtual std::string_view open_error() const { return {}; }
  // After on_transport_error while connecting: the HTTP status the server answered the upgrade
  // with instead of 101, or 0 when unknown (browsers and undici never tell; `ws` in Node does).
  virtual int refused_status() const { return 0; }
  // Only called while open. False if the socket refused the data.
  virtual bool send_text(const char* data, size_t size) = 0;
  virtual bool send_binary(const uint8_t* data, size_t size) = 0;
  // code is 1000 or 3000-4999 and reason at most 123 UTF-8 bytes (the caller validated).
  virtual void close(int code, const std::string& reason) = 0;
  virtual void abort() = 0;
  virtual double buffered_amount() const = 0;
  // What the listener does with a text frame it is not given the bytes of, until the next
  // call (Channel::update_receive). It outlives sockets; a transport may ignore it.
  virtual void set_receive_plan(const ReceivePlan& plan) { (void)plan; }
  virtual std::string protocol() const = 0;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual double now_ms() = 0;
  // At most one wake-up is pending: a new call replaces the previous one.
  virtual void wake_in(double delay_ms) = 0;
  virtual void cancel_wake() = 0;
  // Uniform in [0, 1), for jitter.
  virtual double random01() = 0;
  // The natural logarithm, for the reliability layer's random back-off and group scale: the
  // platform's own (the wasm build's is the JS engine's Math.log, so the wasm carries no libm
  // log; the result may differ from libm's in a double's last bits).
  virtual double ln(double x) { return std::log(x); }
};

class SchedulerListener {
 public:
  virtual void on_wake() = 0;

 protected:
  ~SchedulerListener() = default;
};

}  // namespace mc
