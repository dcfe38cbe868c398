// libFuzzer target: the channel state machine under an arbitrary sequence of operations.
//
// The input chooses a configuration, then a sequence of steps: API calls with small
// arguments, transport events (the server side of FakeTransport), clock advances, random
// samples, router interest, and "re-entrant" actions armed to run inside the next event of a
// given kind. After every step it checks, and aborts when one fails:
//  - the doubles saw nothing illegal: no send/close on a socket that is not open, no second
//    open() while a socket is live, no event after dispose(), state events chain correctly;
//  - the state is a valid enum, the queue within its bounds, the socket matches the state
//    (mc_test::check_consistency), a wake-up is pending whenever a timer must be;
//  - no error message contains the secret part of a channel URL.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "../native/fakes.h"
#include "metachannel/channel.h"
#include "metachannel/router.h"

namespace {

using mc_test::Event;

const char* const kUrls[] = {"", "wss://relay.example.com/c/SECRET-A?k=SECRET-Q", "ws://[::1]:8080/SECRET-B",
                             "http://bad.example.com/SECRET-C", "wss://relay.example.com/c/SECRET-A?k=SECRET-Q"};
const int kSendableCodes[] = {0, 1000, 3000, 4000, 4999, 1001, 2999, 5000};
const int kServerCodes[] = {1000, 1001, 1006, 1002, 1008, 1011, 3000, 3500, 4000, 4001, 4500, 4999};
const char* const kTexts[] = {"hello",
                              R"({"type":"chat","room":"r","channel":"c","re":"1","user":"c"})",
                              "ping",
                              "pong",
                              R"({"type":"ping"})",
                              "[1,2]",
                              "{broken",
                              ""};
const char* const kKeys[] = {"chat", "c", "r", "1", ""};

[[noreturn]] void fail(const std::string& what, const std::vector<std::string>& details) {
  std::fprintf(stderr, "channel_fuzz: %s\n", what.c_str());
  for (const std::string& d : details) std::fprintf(stderr, "  %s\n", d.c_str());
  std::abort();
}

mc::ChannelConfig make_config(FuzzedDataProvider& in) {
  mc::ChannelConfig c;
  c.protocols_csv = in.ConsumeBool() ? "" : "chat.v1,chat.v2";
  c.queue.max_messages = in.ConsumeIntegralInRange<size_t>(0, 6);
  c.queue.max_bytes = in.ConsumeIntegralInRange<size_t>(0, 64);
  c.queue.overflow = static_cast<mc::Overflow>(in.ConsumeIntegralInRange<int>(0, 2));
  c.max_message_bytes = in.ConsumeIntegralInRange<size_t>(1, 48);
  c.closing_timeout_ms = in.ConsumeIntegralInRange<int>(10, 5000);
  // close()'s wait to send the queue: off for a third of the inputs, derived from a byte
  // already read so the kept inputs still replay the same sequences.
  c.close_drain_ms = static_cast<int>(c.closing_timeout_ms) % 3 == 0 ? 0 : c.closing_timeout_ms / 2;

  mc::HeartbeatOptions& hb = c.heartbeat;
  hb.enabled = in.ConsumeBool();
  hb.interval_ms = in.ConsumeIntegralInRange<int>(10, 2000);
  hb.timeout_ms = in.ConsumeIntegralInRange<int>(10, 2000);
  if (in.ConsumeBool()) hb.message = R"({"type":"ping"})";

  mc::ReconnectOptions& r = c.reconnect;
  r.enabled = in.ConsumeIntegralInRange<int>(0, 7) != 0;
  r.min_delay_ms = in.ConsumeIntegralInRange<int>(10, 1000);
  r.max_delay_ms = r.min_delay_ms * in.ConsumeIntegralInRange<int>(1, 64);
  r.factor = 1 + in.ConsumeIntegralInRange<int>(0, 20) / 10.0;
  r.full_jitter = in.ConsumeBool();
  r.jitter_fraction = in.ConsumeIntegralInRange<int>(0, 100) / 100.0;
  const int retries = in.ConsumeIntegralInRange<int>(0, 8);
  r.max_retries = retries == 8 ? std::numeric_limits<double>::infinity() : retries;
  const int timeout = in.ConsumeIntegralInRange<int>(0, 50);
  r.connect_timeout_ms = timeout == 0 ? std::numeric_limits<double>::infinity() : timeout * 100.0;
  r.stable_after_ms = in.ConsumeIntegralInRange<int>(0, 5000);
  return c;
}

enum class Action : uint8_t { Send, Close, SetUrl, SetUrlEmpty, Dispose, ReconnectNow, Offline, Online, Resume, Count };

struct Harness {
  mc_test::FakeTransport t;
  mc_test::FakeScheduler s;
  mc_test::RecordingEvents ev;
  std::unique_ptr<mc::Channel> ch;
  bool online = true;
  // An armed re-entrant action: run `action` inside the next event of `kind`.
  bool armed = false;
  Event::Kind kind = Event::State;
  Action action = Action::Send;
  uint8_t arg = 0;
  std::vector<std::string> secret_leaks;
  bool trace = std::getenv("MC_FUZZ_TRACE") != nullptr;  // prints every step and event (to replay a finding)

  void run(Action a, uint8_t x) {
    switch (a) {
      case Action::Send: {
        const std::string m(x % 64, 'm');
        if (x & 1) {
          ch->send_binary(reinterpret_cast<const uint8_t*>(m.data()), m.size());
        } else {
          ch->send_text(m.data(), m.size());
        }
        break;
      }
      case Action::Close: ch->close(kSendableCodes[x % 8], std::string((x >> 3) % 2 ? 124 : x % 40, 'r')); break;
      case Action::SetUrl: ch->set_url(kUrls[1 + x % 4]); break;
      case Action::SetUrlEmpty: ch->set_url(""); break;
      case Action::Dispose: ch->dispose(); break;
      case Action::ReconnectNow: ch->reconnect_now(); break;
      case Action::Offline:
        online = false;
        ch->set_online(false);
        break;
      case Action::Online:
        online = true;
        ch->set_online(true);
        break;
      case Action::Resume: ch->on_resume(); break;
      case Action::Count: break;
    }
  }

  void on_event(const Event& e) {
    if (trace)
      std::fprintf(stderr, "    event %s  [state %s, sock %d]\n", e.str().c_str(), mc_test::name_of(ch->state()),
                   static_cast<int>(t.sock));
    if (e.kind == Event::Error && e.data.find("SECRET") != std::string::npos) secret_leaks.push_back(e.data);
    if (armed && e.kind == kind) {
      armed = false;
      if (trace) std::fprintf(stderr, "    armed action %d arg %d runs inside it\n", static_cast<int>(action), arg);
      run(action, arg);
    }
  }

  void check(const char* step) {
    std::vector<std::string> bad;
    for (const std::string& v : t.violations) bad.push_back("transport: " + v);
    for (const std::string& v : s.violations) bad.push_back("scheduler: " + v);
    for (const std::string& v : ev.violations) bad.push_back("events: " + v);
    for (const std::string& v : secret_leaks) bad.push_back("secret in an error message: " + v);
    if (ch->last_error().find("SECRET") != std::string::npos)
      bad.push_back("secret in last_error: " + ch->last_error());
    mc_test::check_consistency(*ch, t, s, online, bad);
    if (!bad.empty()) fail(std::string("invariant broken after step ") + step, bad);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Harness h;
  h.ch = std::make_unique<mc::Channel>(h.t, h.s, h.ev, make_config(in));
  h.s.set_listener(h.ch.get());
  h.ev.channel = h.ch.get();
  h.ev.hook = [&h](const Event& e) { h.on_event(e); };
  h.s.max_fires_per_advance = 20000;
  mc::Channel& ch = *h.ch;
  if (h.trace) {
    const mc::ChannelConfig& c = ch.config();
    std::fprintf(stderr,
                 "config: queue %zu msgs/%zu bytes overflow %d, maxMessageBytes %zu, closingTimeout %.0f, heartbeat %d "
                 "(%.0f/%.0f), reconnect %d min %.0f max %.0f factor %.1f fullJitter %d jitter %.2f maxRetries %.0f "
                 "connectTimeout %.0f stableAfter %.0f\n",
                 c.queue.max_messages, c.queue.max_bytes, static_cast<int>(c.queue.overflow), c.max_message_bytes,
                 c.closing_timeout_ms, c.heartbeat.enabled, c.heartbeat.interval_ms, c.heartbeat.timeout_ms,
                 c.reconnect.enabled, c.reconnect.min_delay_ms, c.reconnect.max_delay_ms, c.reconnect.factor,
                 c.reconnect.full_jitter, c.reconnect.jitter_fraction, c.reconnect.max_retries,
                 c.reconnect.connect_timeout_ms, c.reconnect.stable_after_ms);
  }

  static const char* const kStepNames[] = {
      "set_url",   "send_text",    "send_binary", "close",  "dispose", "reconnect_now", "set_online",
      "on_resume", "accept",       "text",        "binary", "error",   "server_close",  "advance",
      "random",    "accept_sends", "fail_open",   "router", "arm",     "observe",       "oversize"};
  int steps = 0;
  while (in.remaining_bytes() > 0 && steps++ < 200) {
    const int op = in.ConsumeIntegralInRange<int>(0, 20);
    const uint8_t x = in.ConsumeIntegral<uint8_t>();
    if (h.trace)
      std::fprintf(stderr, "step %s %d  [state %s, sock %d, now %.0f]\n", kStepNames[op], x,
                   mc_test::name_of(ch.state()), static_cast<int>(h.t.sock), h.s.now());
    switch (op) {
      case 0: ch.set_url(kUrls[x % 5]); break;
      case 1: h.run(Action::Send, static_cast<uint8_t>(x & ~1u)); break;
      case 2: h.run(Action::Send, static_cast<uint8_t>(x | 1u)); break;
      case 3: h.run(Action::Close, x); break;
      case 4: h.run(Action::Dispose, x); break;
      case 5: ch.reconnect_now(); break;
      case 6: h.run(x & 1 ? Action::Online : Action::Offline, x); break;
      case 7: ch.on_resume(); break;
      case 8: h.t.accept(); break;
      case 9: {
        if (x < 200) {
          h.t.text(kTexts[x % 8]);
        } else {
          h.t.text(in.ConsumeRandomLengthString(64));
        }
        break;
      }
      case 10: h.t.binary(std::vector<uint8_t>(x % 64, 0xAB)); break;
      case 11: h.t.error(); break;
      case 12: h.t.server_close(kServerCodes[x % 12], x & 0x80 ? "bye" : "", (x & 0x40) == 0); break;
      case 13: h.s.advance(x * 20.0); break;
      case 14: h.s.random_value = 0.1 + 0.9 * (x / 256.0); break;
      case 15: h.t.accept_sends = (x & 1) != 0; break;
      case 16: h.t.fail_open = (x & 7) == 0; break;
      case 17:
        if (x & 0x40) {  // a field registered at run time; "" and "_mc" are refused
          static const char* const kFields[] = {"type", "user", "c", "", "_mc", "room", "re", "x"};
          ch.route(ch.field_slot(kFields[x % 8]), kKeys[(x >> 3) % 5], (x & 0x80) ? -1 : +1);
        } else if (x & 0x20) {
          ch.route_any_object((x & 0x80) ? -1 : +1);
        } else {
          ch.route_message((x & 0x80) ? -1 : +1);
        }
        break;
      case 18:
        h.armed = true;
        h.kind = static_cast<Event::Kind>(x % 7);
        h.action = static_cast<Action>((x >> 3) % static_cast<int>(Action::Count));
        h.arg = in.ConsumeIntegral<uint8_t>();
        break;
      case 19: {
        h.t.negotiated_protocol = x & 1 ? "chat.v1" : "";
        h.t.buffered = x;
        const std::string p = ch.protocol();
        const double b = ch.buffered_amount();
        if (ch.state() != mc::State::Open && (!p.empty() || b != 0)) {
          fail("protocol/bufferedAmount reported while not open", {p});
        }
        (void)mc_test::ready_state(ch.state());
        break;
      }
      case 20: h.t.oversize(x & 1, 1e6 + x); break;
    }
    h.check(kStepNames[op]);
  }
  h.ev.hook = nullptr;
  h.ch.reset();  // the destructor must not emit or touch a dead socket
  if (h.t.sock != mc_test::FakeTransport::Sock::None) fail("the destroyed channel left a socket open", {});
  if (!h.t.violations.empty() || !h.ev.violations.empty()) fail("violation during destruction", h.t.violations);
  return 0;
}
