// The boundary of the wasm module, C++ side. Everything here is internal: js/ wraps it in
// the public classes.
// - Calls into C++ are raw exports (`mc_channel_*` below): any of them can be made again from
//   inside an event listener while an outer one is on the stack, which Embind's invokers
//   (built without DYNAMIC_EXECUTION) do not survive. bindings/library.js wraps the ones that
//   take or return text.
// - A channel is made by mc_channel_create from its options written flat into one heap block
//   in the order of the option lists (src/metachannel/vocabulary.h; the JS side is
//   MC.createChannel in bindings/library.js): an Embind value_object of the same options cost
//   about 1 KB of wasm and the glue its field readers.
// - Embind carries what is called once and never re-entered and takes or returns text or
//   constants: validateUrl/redactUrl, the vocabulary digest, the core's kind.
// - Events out of C++ are imports implemented in bindings/library.js (a direct wasm import
//   call: cheaper than an Embind val call per frame).
#include <emscripten/bind.h>
#include <emscripten/emscripten.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "emscripten_platform.h"
#include "metachannel/channel.h"
#ifndef MC_LITE
#include "metachannel/reliability.h"
#endif
#include "metachannel/url.h"
#include "metachannel/vocabulary.h"

extern "C" {
void mc_emit_state(int h, int from, int to);
void mc_emit_open(int h, const char* p, int n);
void mc_emit_text(int h, const char* p, int n, int route, int current, const char* from, int from_n, double seq);
void mc_emit_binary(int h, const unsigned char* p, int n, int route);
void mc_emit_close(int h, int code, const char* p, int n, int clean, int again);
void mc_emit_error(int h, int code, const char* p, int n, double detail);
void mc_emit_reconnecting(int h, int attempt, double delay);
void mc_emit_lost(int h, const char* f, int fn, double count, const char* p, int n);
void mc_emit_presence(int h, const char* p, int n);
}

namespace {

// js/options.ts validated every value against the same lists' bounds. size_t is 32 bits in
// wasm: a larger count (Infinity included) means "no limit", never a wrapped or truncated one.
// noinline (this one and the string's): one call per option, not the conversion inlined at each.
__attribute__((noinline)) void assign(size_t& to, double v) {
  constexpr size_t kMax = std::numeric_limits<size_t>::max();
  to = std::isnan(v) || v < 0 ? 0 : v >= static_cast<double>(kMax) ? kMax : static_cast<size_t>(v);
}
__attribute__((noinline)) void assign(std::string& to, std::string_view v) { to = v; }

// Where an option's member is in ChannelConfig (the lists' `struct` column): its path from
// ChannelConfig, for offsetof.
#define MC_IN_config(member) member
#define MC_IN_reconnect(member) reconnect.member
#define MC_IN_heartbeat(member) heartbeat.member
#define MC_IN_queue(member) queue.member
#define MC_IN_reliable(member) reliable.member
#define MC_IN_presence(member) presence.member

// Every option as a table (where its member is, and its type): one loop reads them all, not a
// load and a store (or a call) written out per option.
using mc::Overflow;  // (as the lists spell the type)
enum Kind : uint8_t { kDouble, kSize, kBool, kString, kOverflow };
struct Field {
  uint16_t offset;
  Kind kind;
};
template <class T>
constexpr Kind kind_of() {
  return std::is_same_v<T, size_t>         ? kSize
         : std::is_same_v<T, mc::Overflow> ? kOverflow
         : std::is_same_v<T, std::string>  ? kString
                                           : kDouble;
}
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winvalid-offsetof"  // ChannelConfig holds std::string members
constexpr Field kFields[] = {
#define MC_X(wire, path, group, member, type, ...) \
  {offsetof(mc::ChannelConfig, MC_CAT(MC_IN_, group)(member)), kind_of<type>()},
    MC_NUMBER_OPTIONS(MC_X)
#undef MC_X
#define MC_X(wire, path, group, member, ...) {offsetof(mc::ChannelConfig, MC_CAT(MC_IN_, group)(member)), kBool},
        MC_BOOL_OPTIONS(MC_X)
#undef MC_X
#define MC_X(wire, path, group, member, type, ...) \
  {offsetof(mc::ChannelConfig, MC_CAT(MC_IN_, group)(member)), kind_of<type>()},
            MC_STRING_OPTIONS(MC_X)
#undef MC_X
};
#pragma clang diagnostic pop

// Every option, flat, as MC.createChannel (bindings/library.js) writes it: one f64 slot per
// entry of the three lists, in their order (a number; a bool as 0 or 1; a string's UTF-8 byte
// count), then the strings' bytes one after the other.
mc::ChannelConfig config_from(const void* options) {
  const auto* slot = static_cast<const double*>(options);
  mc::ChannelConfig c{mc::Unset{}};  // (no default stored only to be overwritten below)
  // The one place the core's optional part is chosen (src/metachannel/delivery.h): the full core
  // links reliability.cpp; the lite core links neither it nor nlohmann/json.
#ifndef MC_LITE
  c.delivery = &mc::Reliability::create;
#endif
  const char* text = reinterpret_cast<const char*>(slot + std::size(kFields));
  char* const base = reinterpret_cast<char*>(&c);
  for (const Field& f : kFields) {
    const double v = *slot++;
    char* const to = base + f.offset;
    if (f.kind == kDouble) {
      *reinterpret_cast<double*>(to) = v;
    } else if (f.kind == kBool) {
      *reinterpret_cast<bool*>(to) = v != 0;
    } else if (f.kind == kSize) {
      assign(*reinterpret_cast<size_t*>(to), v);
    } else {
      const auto n = static_cast<size_t>(v);
      if (f.kind == kString) {
        assign(*reinterpret_cast<std::string*>(to), std::string_view(text, n));
      } else {
        // The policy of that name, as overflow_named() of the text up to a NUL would read it (no
        // name is longer than 15 bytes: a longer text matches none either way).
        char name[16] = {};
        std::memcpy(name, text, n < sizeof(name) ? n : sizeof(name) - 1);
        *reinterpret_cast<mc::Overflow*>(to) = mc::overflow_named(name);
      }
      text += n;
    }
  }
  return c;
}

class WasmChannel final : public mc::ChannelEvents {
 public:
  // The config is read from the options into the Channel's own (config_from): no copy, no move.
  WasmChannel(int handle, const double* options)
      : handle_(handle), transport_(handle), channel_(transport_, scheduler_, *this, &config_from, options) {
    transport_.set_max_frame_bytes(static_cast<double>(channel_.config().max_message_bytes));
    scheduler_.set_listener(&channel_);
  }

  mc::Channel& channel() { return channel_; }
  mc::EmscriptenTransport& transport() { return transport_; }
  // The address the raw exports take (a number in JS).
  double address() const { return static_cast<double>(reinterpret_cast<uintptr_t>(this)); }

  // ChannelEvents
  void on_state(mc::State from, mc::State to) override {
    mc_emit_state(handle_, static_cast<int>(from), static_cast<int>(to));
  }
  void on_open(std::string_view protocol) override {
    mc_emit_open(handle_, protocol.data(), static_cast<int>(protocol.size()));
  }
  void on_text(const char* data, size_t size, uint32_t route, std::string_view from, double seq) override {
    mc_emit_text(handle_, data, static_cast<int>(size), static_cast<int>(route), (route & mc::route::kLate) == 0,
                 from.data(), static_cast<int>(from.size()), seq);
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
  int handle_;
  mc::EmscriptenTransport transport_;
  mc::EmscriptenScheduler scheduler_;
  mc::Channel channel_;
};

std::string validateUrl(const std::string& url) { return mc::validate_ws_url(url); }
std::string redactUrl(const std::string& url) { return mc::redact_url(url); }

int code(mc::ErrorCode c) { return static_cast<int>(c); }
std::string_view text(const char* p, int n) { return {p, static_cast<size_t>(n)}; }

// The out buffer of the calls that return text: bindings/library.js reads it at once.
std::string out;
const char* put(std::string&& s) {
  out = std::move(s);
  return out.c_str();
}
const char* put(const std::string& s) {  // one copy, made here (no std::string copy constructor)
  out.assign(s.data(), s.size());
  return out.c_str();
}

}  // namespace

extern "C" {
EMSCRIPTEN_KEEPALIVE int mc_out_size() { return static_cast<int>(out.size()); }

// A channel's lifetime: made here from its options (config_from above; MC.createChannel in
// bindings/library.js writes them), freed by mc_channel_delete. Not an Embind class_: its
// runtime (handles, registered pointers, up-casts) was most of the Embind glue, and JS only
// ever needs the address.
EMSCRIPTEN_KEEPALIVE double mc_channel_create(int handle, const double* options) {
  return (new WasmChannel(handle, options))->address();
}
EMSCRIPTEN_KEEPALIVE void mc_channel_delete(WasmChannel* w) { delete w; }

// renew: 1 when the JS layer's end-to-end key changed for the same URL (Channel::set_url).
EMSCRIPTEN_KEEPALIVE int mc_channel_set_url(WasmChannel* w, const char* p, int n, int renew) {
  return code(w->channel().set_url(text(p, n), renew != 0));
}
EMSCRIPTEN_KEEPALIVE int mc_channel_send_text(WasmChannel* w, const char* p, int n) {
  return code(w->channel().send_text(p, static_cast<size_t>(n)));
}
// The send fast path: 1 when the frame JS is sending (MC.pendingSend in bindings/library.js)
// went to the socket without entering the heap (Channel::can_send_directly); 0: call
// mc_channel_send_text with its bytes.
EMSCRIPTEN_KEEPALIVE int mc_channel_send_direct(WasmChannel* w, double max_size) {
  return w->channel().can_send_directly(max_size) && w->transport().send_text(nullptr, 0) ? 1 : 0;
}
EMSCRIPTEN_KEEPALIVE int mc_channel_send_binary(WasmChannel* w, const uint8_t* p, int n) {
  return code(w->channel().send_binary(p, static_cast<size_t>(n)));
}
EMSCRIPTEN_KEEPALIVE int mc_channel_close(WasmChannel* w, int close_code, const char* p, int n) {
  return code(w->channel().close(close_code, text(p, n)));
}
EMSCRIPTEN_KEEPALIVE int mc_channel_reconnect(WasmChannel* w) { return code(w->channel().reconnect_now()); }
EMSCRIPTEN_KEEPALIVE int mc_channel_set_presence(WasmChannel* w, const char* p, int n) {
  return code(w->channel().set_presence(text(p, n)));
}
// Routing (src/metachannel/router.h): the slot of a top-level member name (-1: refused: 8
// slots taken, or an empty or reserved name), then interest in values of that slot.
EMSCRIPTEN_KEEPALIVE int mc_channel_field_slot(WasmChannel* w, const char* p, int n) {
  return w->channel().field_slot(text(p, n));
}
EMSCRIPTEN_KEEPALIVE void mc_channel_route(WasmChannel* w, int slot, const char* p, int n, int delta) {
  w->channel().route(slot, text(p, n), delta);
}
EMSCRIPTEN_KEEPALIVE void mc_channel_route_message(WasmChannel* w, int delta) { w->channel().route_message(delta); }
EMSCRIPTEN_KEEPALIVE void mc_channel_route_any(WasmChannel* w, int delta) { w->channel().route_any_object(delta); }
// 0 once interest in "type" comes from more than onMessage() (js/channel.ts): frames are then
// always scanned and routed in the core (Router::set_js_mirrors_type).
EMSCRIPTEN_KEEPALIVE void mc_channel_js_mirrors_type(WasmChannel* w, int on) {
  w->channel().set_js_mirrors_type(on != 0);
}
EMSCRIPTEN_KEEPALIVE void mc_channel_set_online(WasmChannel* w, int online) { w->channel().set_online(online != 0); }
EMSCRIPTEN_KEEPALIVE void mc_channel_resume(WasmChannel* w) { w->channel().on_resume(); }
EMSCRIPTEN_KEEPALIVE void mc_channel_set_hidden(WasmChannel* w, int hidden) { w->channel().set_hidden(hidden != 0); }
EMSCRIPTEN_KEEPALIVE void mc_channel_drop_connection(WasmChannel* w) { w->channel().drop_connection(); }
EMSCRIPTEN_KEEPALIVE void mc_channel_dispose(WasmChannel* w) { w->channel().dispose(); }

EMSCRIPTEN_KEEPALIVE int mc_channel_state(WasmChannel* w) { return static_cast<int>(w->channel().state()); }
EMSCRIPTEN_KEEPALIVE int mc_channel_attempt(WasmChannel* w) { return static_cast<int>(w->channel().attempt()); }
EMSCRIPTEN_KEEPALIVE double mc_channel_buffered_amount(WasmChannel* w) { return w->channel().buffered_amount(); }
EMSCRIPTEN_KEEPALIVE double mc_channel_queued_count(WasmChannel* w) {
  return static_cast<double>(w->channel().queued_count());
}
EMSCRIPTEN_KEEPALIVE double mc_channel_queued_bytes(WasmChannel* w) {
  return static_cast<double>(w->channel().queued_bytes());
}
EMSCRIPTEN_KEEPALIVE const char* mc_channel_url(WasmChannel* w) { return put(w->channel().url()); }
EMSCRIPTEN_KEEPALIVE const char* mc_channel_id(WasmChannel* w) { return put(w->channel().id()); }
EMSCRIPTEN_KEEPALIVE const char* mc_channel_last_error(WasmChannel* w) { return put(w->channel().last_error()); }
EMSCRIPTEN_KEEPALIVE const char* mc_channel_reliable_stats(WasmChannel* w) {
  return put(w->channel().reliable_stats_json());
}
}

EMSCRIPTEN_BINDINGS(metachannel) {
  emscripten::function("validateUrl", &validateUrl);
  emscripten::function("redactUrl", &redactUrl);
  emscripten::constant("VOCABULARY_DIGEST", static_cast<double>(mc::kVocabularyDigest));
  // False in the lite core (metachannel-lite.wasm): no reliable delivery, no presence.
#ifdef MC_LITE
  emscripten::constant("RELIABILITY", false);
#else
  emscripten::constant("RELIABILITY", true);
#endif
}
