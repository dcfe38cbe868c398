// The Embind surface of the wasm module. Everything here is internal: js/ wraps it in the
// public classes. Calls into C++ go through Embind; events out of C++ go through EM_JS
// trampolines (a direct wasm import call: cheaper than an Embind val call per frame).
#include <emscripten/bind.h>
#include <emscripten/em_js.h>
#include <emscripten/emscripten.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "metachannel/channel.h"
#include "metachannel/url.h"
#include "../src/platform/emscripten_platform.h"

using emscripten::val;

EM_JS(void, mc_emit_state, (int h, int from, int to), { Module["__mcEvents"].state(h, from, to); });
EM_JS(void, mc_emit_open, (int h, const char* p, int n), { Module["__mcEvents"].open(h, p, n); });
EM_JS(void, mc_emit_text, (int h, const char* p, int n, int route), { Module["__mcEvents"].text(h, p, n, route); });
EM_JS(void, mc_emit_binary, (int h, const unsigned char* p, int n, int route),
      { Module["__mcEvents"].binary(h, p, n, route); });
EM_JS(void, mc_emit_close, (int h, int code, const char* p, int n, int clean, int again),
      { Module["__mcEvents"].close(h, code, p, n, clean, again); });
EM_JS(void, mc_emit_error, (int h, int code, const char* p, int n, double detail),
      { Module["__mcEvents"].error(h, code, p, n, detail); });
EM_JS(void, mc_emit_reconnecting, (int h, int attempt, double delay), { Module["__mcEvents"].reconnecting(h, attempt, delay); });
EM_JS(void, mc_emit_lost, (int h, const char* f, int fn, double count, const char* p, int n),
      { Module["__mcEvents"].lost(h, f, fn, count, p, n); });
EM_JS(void, mc_emit_presence, (int h, const char* p, int n), { Module["__mcEvents"].presence(h, p, n); });

namespace {

double num(const val& o, const char* key, double fallback) {
  const val v = o[key];
  return v.isNumber() ? v.as<double>() : fallback;
}

bool flag(const val& o, const char* key, bool fallback) {
  const val v = o[key];
  return v.isTrue() ? true : v.isFalse() ? false : fallback;
}

std::string str(const val& o, const char* key, const std::string& fallback) {
  const val v = o[key];
  return v.isString() ? v.as<std::string>() : fallback;
}

// A limit the JS layer validated as an integer >= 0 (up to 2^53) or Infinity. size_t is 32 bits
// in wasm: a larger value means "no limit", never a wrapped or truncated one (converting a
// double above SIZE_MAX is undefined behaviour, and gave a queue of 0 messages).
size_t count(const val& o, const char* key, size_t fallback) {
  constexpr size_t kMax = std::numeric_limits<size_t>::max();
  const double d = num(o, key, static_cast<double>(fallback));
  if (std::isnan(d) || d < 0) return 0;
  if (d >= static_cast<double>(kMax)) return kMax;
  return static_cast<size_t>(d);
}

// js/channel.js validates and flattens the public options into this shape.
mc::ChannelConfig config_from(const val& o) {
  mc::ChannelConfig c;
  c.protocols_csv = str(o, "protocols", "");
  c.max_message_bytes = count(o, "maxMessageBytes", c.max_message_bytes);
  c.close_drain_ms = num(o, "closeTimeoutMs", c.close_drain_ms);
  mc::ReconnectOptions& r = c.reconnect;
  r.enabled = flag(o, "reconnect", r.enabled);
  r.min_delay_ms = num(o, "minDelayMs", r.min_delay_ms);
  r.max_delay_ms = num(o, "maxDelayMs", r.max_delay_ms);
  r.factor = num(o, "factor", r.factor);
  r.full_jitter = flag(o, "fullJitter", r.full_jitter);
  r.jitter_fraction = num(o, "jitter", r.jitter_fraction);
  r.max_retries = num(o, "maxRetries", r.max_retries);
  r.connect_timeout_ms = num(o, "connectTimeoutMs", r.connect_timeout_ms);
  r.stable_after_ms = num(o, "stableAfterMs", r.stable_after_ms);
  mc::HeartbeatOptions& h = c.heartbeat;
  h.enabled = flag(o, "heartbeat", h.enabled);
  h.interval_ms = num(o, "heartbeatIntervalMs", h.interval_ms);
  h.timeout_ms = num(o, "heartbeatTimeoutMs", h.timeout_ms);
  h.message = str(o, "heartbeatMessage", h.message);
  h.pong = str(o, "heartbeatPong", h.pong);
  mc::QueueOptions& q = c.queue;
  q.max_messages = count(o, "queueMaxMessages", q.max_messages);
  q.max_bytes = count(o, "queueMaxBytes", q.max_bytes);
  mc::ReliableOptions& rel = c.reliable;
  rel.enabled = flag(o, "reliable", rel.enabled);
  rel.buffer_messages = count(o, "bufferMessages", rel.buffer_messages);
  rel.buffer_bytes = count(o, "bufferBytes", rel.buffer_bytes);
  rel.buffer_age_ms = num(o, "bufferAgeMs", rel.buffer_age_ms);
  mc::PresenceOptions& pr = c.presence;
  pr.enabled = flag(o, "presence", pr.enabled);
  pr.renew_ms = num(o, "presenceRenewMs", pr.renew_ms);
  pr.timeout_ms = num(o, "presenceTimeoutMs", pr.timeout_ms);
  pr.max_state_bytes = count(o, "presenceMaxStateBytes", pr.max_state_bytes);
  const std::string overflow = str(o, "queueOverflow", "drop-oldest");
  q.overflow = overflow == "drop-newest" ? mc::Overflow::DropNewest
               : overflow == "error"     ? mc::Overflow::Error
                                         : mc::Overflow::DropOldest;
  return c;
}

class WasmChannel final : public mc::ChannelEvents {
 public:
  WasmChannel(int handle, val options)
      : handle_(handle),
        channel_config_(config_from(options)),
        transport_(handle, static_cast<double>(channel_config_.max_message_bytes)),
        channel_(transport_, scheduler_, *this, channel_config_) {
    scheduler_.set_listener(&channel_);
  }

  int setUrl(const std::string& url) { return code(channel_.set_url(url)); }
  int sendText(const std::string& text) { return code(channel_.send_text(text.data(), text.size())); }
  int sendTextBytes(const char* data, int size) { return code(channel_.send_text(data, static_cast<size_t>(size))); }
  // For the send fast path (mc_send_text below): JS encodes into its own buffer and calls the
  // export with this address, skipping Embind's per-call string marshalling.
  double address() const { return static_cast<double>(reinterpret_cast<uintptr_t>(this)); }
  // Embind passes an ArrayBuffer or Uint8Array as std::string bytes.
  int sendBinary(const std::string& bytes) {
    return code(channel_.send_binary(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  }
  int close(int c, const std::string& reason) { return code(channel_.close(c, reason)); }
  int reconnect() { return code(channel_.reconnect_now()); }
  void setOnline(bool online) { channel_.set_online(online); }
  void resume() { channel_.on_resume(); }
  void dispose() { channel_.dispose(); }
  std::string id() { return channel_.id(); }
  int setPresence(const std::string& json) { return code(channel_.set_presence(json)); }
  void setHidden(bool hidden) { channel_.set_hidden(hidden); }
  void dropConnection() { channel_.drop_connection(); }
  std::string reliableStats() const { return channel_.reliability().stats_json(); }
  void addInterest(int kind, const std::string& key, int delta) {
    channel_.router().add(static_cast<mc::Interest>(kind), key, delta);
  }

  int state() const { return static_cast<int>(channel_.state()); }
  int readyState() const { return mc::ready_state(channel_.state()); }
  std::string url() const { return channel_.url(); }
  std::string protocol() const { return channel_.protocol(); }
  double bufferedAmount() const { return channel_.buffered_amount(); }
  double queuedCount() const { return static_cast<double>(channel_.queued_count()); }
  double queuedBytes() const { return static_cast<double>(channel_.queued_bytes()); }
  int attempt() const { return static_cast<int>(channel_.attempt()); }
  std::string lastError() const { return channel_.last_error(); }

  // ChannelEvents
  void on_state(mc::State from, mc::State to) override {
    mc_emit_state(handle_, static_cast<int>(from), static_cast<int>(to));
  }
  void on_open(std::string_view protocol) override {
    mc_emit_open(handle_, protocol.data(), static_cast<int>(protocol.size()));
  }
  void on_text(const char* data, size_t size, uint32_t route) override {
    mc_emit_text(handle_, data, static_cast<int>(size), static_cast<int>(route));
  }
  void on_binary(const uint8_t* data, size_t size, uint32_t route) override {
    mc_emit_binary(handle_, data, static_cast<int>(size), static_cast<int>(route));
  }
  void on_close(int c, std::string_view reason, bool clean, bool will_reconnect) override {
    mc_emit_close(handle_, c, reason.data(), static_cast<int>(reason.size()), clean, will_reconnect);
  }
  void on_error(mc::ErrorCode c, std::string_view message, double detail) override {
    mc_emit_error(handle_, static_cast<int>(c), message.data(), static_cast<int>(message.size()), detail);
  }
  void on_reconnecting(uint32_t attempt, double delay_ms) override {
    mc_emit_reconnecting(handle_, static_cast<int>(attempt), delay_ms);
  }
  void on_lost(std::string_view from, double count, std::string_view message) override {
    mc_emit_lost(handle_, from.data(), static_cast<int>(from.size()), count, message.data(),
                 static_cast<int>(message.size()));
  }
  void on_presence(std::string_view json) override {
    mc_emit_presence(handle_, json.data(), static_cast<int>(json.size()));
  }

 private:
  static int code(mc::ErrorCode c) { return static_cast<int>(c); }
  int handle_;
  mc::ChannelConfig channel_config_;
  mc::EmscriptenTransport transport_;
  mc::EmscriptenScheduler scheduler_;
  mc::Channel channel_;
};

std::string validateUrl(const std::string& url) { return mc::validate_ws_url(url); }
std::string redactUrl(const std::string& url) { return mc::redact_url(url); }

}  // namespace

extern "C" EMSCRIPTEN_KEEPALIVE int mc_send_text(WasmChannel* channel, const char* data, int size) {
  return channel->sendTextBytes(data, size);
}

EMSCRIPTEN_BINDINGS(metachannel) {
  emscripten::class_<WasmChannel>("WasmChannel")
      .constructor<int, val>()
      .function("setUrl", &WasmChannel::setUrl)
      .function("sendText", &WasmChannel::sendText)
      .function("address", &WasmChannel::address)
      .function("sendBinary", &WasmChannel::sendBinary)
      .function("close", &WasmChannel::close)
      .function("reconnect", &WasmChannel::reconnect)
      .function("setOnline", &WasmChannel::setOnline)
      .function("resume", &WasmChannel::resume)
      .function("dispose", &WasmChannel::dispose)
      .function("addInterest", &WasmChannel::addInterest)
      .function("id", &WasmChannel::id)
      .function("setPresence", &WasmChannel::setPresence)
      .function("setHidden", &WasmChannel::setHidden)
      .function("dropConnection", &WasmChannel::dropConnection)
      .function("reliableStats", &WasmChannel::reliableStats)
      .function("state", &WasmChannel::state)
      .function("readyState", &WasmChannel::readyState)
      .function("url", &WasmChannel::url)
      .function("protocol", &WasmChannel::protocol)
      .function("bufferedAmount", &WasmChannel::bufferedAmount)
      .function("queuedCount", &WasmChannel::queuedCount)
      .function("queuedBytes", &WasmChannel::queuedBytes)
      .function("attempt", &WasmChannel::attempt)
      .function("lastError", &WasmChannel::lastError);
  emscripten::function("validateUrl", &validateUrl);
  emscripten::function("redactUrl", &redactUrl);
}
