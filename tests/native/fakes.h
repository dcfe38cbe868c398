// Test doubles for the channel core: a scripted transport, a manual clock and an event
// recorder. No GoogleTest dependency, so the fuzz targets (tests/fuzz/) use them too.
// One file over 500 lines: the three doubles and the consistency check share the journal, and every
// channel test and fuzz target uses them together.
//
// Every double collects `violations`: things the channel must never do (send on a socket that
// is not open, open a second socket while one is live, emit an event after dispose(), ...).
// Tests expect the lists to be empty; the fuzz targets abort when they are not.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metachannel/channel.h"
#include "metachannel/transport.h"
#include "metachannel/types.h"

namespace mc_test {

// The vocabulary's names, for test messages (the product spells them in JS: js/vocabulary.ts).
inline const char* name_of(mc::State s) {
  switch (s) {
#define MC_X(name, text, ready) \
  case mc::State::name: return text;
    MC_STATES(MC_X)
#undef MC_X
  }
  return "closed";
}
inline const char* name_of(mc::ErrorCode c) {
  switch (c) {
#define MC_X(name, text, doc) \
  case mc::ErrorCode::name: return text;
    MC_ERROR_CODES(MC_X)
#undef MC_X
  }
  return "";
}
// readyState as the WebSocket API reports it (JS: READY_STATES[state]).
inline int ready_state(mc::State s) {
  switch (s) {
#define MC_X(name, text, ready) \
  case mc::State::name: return ready;
    MC_STATES(MC_X)
#undef MC_X
  }
  return 3;
}

}  // namespace mc_test

namespace mc_test {

// One ordered log shared by the transport and the recorder, so tests can check how transport
// calls interleave with events ("the queue is flushed before the open event").
struct Journal {
  std::vector<std::string> lines;
  void add(std::string line) { lines.push_back(std::move(line)); }
  // Index of the first line equal to `line` at or after `from`, or -1.
  long find(std::string_view line, size_t from = 0) const {
    for (size_t i = from; i < lines.size(); ++i) {
      if (lines[i] == line) return static_cast<long>(i);
    }
    return -1;
  }
};

// --------------------------------------------------------------------------- FakeScheduler

// Time moves only when the test calls advance(). At most one wake-up is pending (as the
// Scheduler contract says); advance() fires it, and every wake-up it arms that falls due
// before the target time, in order, with now_ms() equal to the wake-up's due time.
class FakeScheduler final : public mc::Scheduler {
 public:
  void set_listener(mc::SchedulerListener* listener) { listener_ = listener; }

  double now_ms() override { return now_; }
  void wake_in(double delay_ms) override {
    if (!(delay_ms >= 0)) violations.push_back("wake_in with a negative or NaN delay");
    pending_ = true;
    wake_at_ = now_ + delay_ms;
    ++wake_calls;
  }
  void cancel_wake() override { pending_ = false; }
  double random01() override {
    ++random_calls;
    if (!randoms.empty()) {
      const double v = randoms.front();
      randoms.pop_front();
      return v;
    }
    return random_value;
  }

  // Moves the clock forward by `ms`, firing due wake-ups on the way.
  void advance(double ms) {
    const double target = now_ + ms;
    size_t fired = 0;
    while (pending_ && wake_at_ <= target) {
      if (wake_at_ > now_) now_ = wake_at_;
      pending_ = false;
      ++wakes_fired;
      if (++fired > max_fires_per_advance) {
        violations.push_back("more than " + std::to_string(max_fires_per_advance) + " wake-ups in one advance()");
        break;
      }
      if (listener_) listener_->on_wake();
    }
    now_ = target;
  }
  // Fires the pending wake-up (if any) by moving the clock exactly to it.
  bool fire_next() {
    if (!pending_) return false;
    advance(wake_at_ > now_ ? wake_at_ - now_ : 0);
    return true;
  }

  bool pending() const { return pending_; }
  double wake_at() const { return wake_at_; }
  double wake_in_ms() const { return wake_at_ - now_; }
  double now() const { return now_; }

  double random_value = 0.5;   // what random01() returns when `randoms` is empty
  std::deque<double> randoms;  // consumed first, one per random01() call
  size_t random_calls = 0;
  size_t wake_calls = 0;
  size_t wakes_fired = 0;
  size_t max_fires_per_advance = 100000;
  std::vector<std::string> violations;

 private:
  mc::SchedulerListener* listener_ = nullptr;
  double now_ = 0;
  bool pending_ = false;
  double wake_at_ = 0;
};

// --------------------------------------------------------------------------- FakeTransport

// Records what the channel asks of the socket, and lets the test play the server. The
// server-side methods (accept, text, binary, error, server_close) deliver an event only when
// a socket that could produce it exists, and return whether they did.
class FakeTransport final : public mc::Transport {
 public:
  enum class Sock { None, Connecting, Open, Closing };
  struct Frame {
    bool binary;
    std::string bytes;
    bool operator==(const Frame& o) const { return binary == o.binary && bytes == o.bytes; }
  };

  explicit FakeTransport(Journal* journal = nullptr) : journal_(journal) {}

  void set_listener(mc::TransportListener* listener) override { listener_ = listener; }

  bool open(const std::string& url, const std::string& protocols_csv) override {
    log("open " + url);
    opens.push_back(url);
    last_protocols = protocols_csv;
    if (fail_open) return false;
    if (sock != Sock::None) violations.push_back("open(" + url + ") while a socket is live");
    sock = Sock::Connecting;
    ++sockets;
    return true;
  }
  bool send_text(const char* data, size_t size) override { return sent_frame(false, std::string(data, size)); }
  bool send_binary(const uint8_t* data, size_t size) override {
    return sent_frame(true, std::string(reinterpret_cast<const char*>(data), size));
  }
  void close(int code, const std::string& reason) override {
    log("close " + std::to_string(code) + " " + reason);
    closes.emplace_back(code, reason);
    if (sock != Sock::Open) {
      violations.push_back("close() while the socket is not open");
    } else {
      sock = Sock::Closing;
    }
    if (!mc::is_sendable_close_code(code)) violations.push_back("close() with unsendable code " + std::to_string(code));
    if (reason.size() > 123) violations.push_back("close() with a reason over 123 bytes");
  }
  void abort() override {
    log("abort");
    ++aborts;
    sock = Sock::None;
  }
  double buffered_amount() const override { return buffered; }
  // Kept; text() applies a Prefilter plan and wasm_text() a Route plan, as bindings/library.js does.
  void set_receive_plan(const mc::ReceivePlan& p) override {
    plan = p;
    ++plans;
    prefilter.clear();
    if (p.mode != mc::ReceivePlan::Mode::Prefilter || p.needles.empty()) return;
    size_t start = 0;
    for (size_t i = 0; i <= p.needles.size(); ++i) {
      if (i == p.needles.size() || p.needles[i] == '\0') {
        prefilter.push_back(p.needles.substr(start, i - start));
        start = i + 1;
      }
    }
  }
  std::string protocol() const override {
    return sock == Sock::Open || sock == Sock::Closing ? negotiated_protocol : std::string();
  }

  // --- the server side
  bool accept() {
    if (sock != Sock::Connecting) return false;
    sock = Sock::Open;
    if (listener_) listener_->on_transport_open();
    return true;
  }
  // A text frame, with a Prefilter plan applied as bindings/library.js applies it: a frame
  // surely within max_bytes (3 bytes a char at most) that holds none of the wanted values and
  // no backslash is dropped unread. A Route plan is not applied (see wasm_text()).
  bool text(std::string_view data) {
    if (sock != Sock::Open && sock != Sock::Closing) return false;
    const std::string copy(data);  // like a browser event buffer: valid during the call only
    if (!listener_) return true;
    if (prefilter_on() && static_cast<double>(copy.size()) * 3 <= max_bytes && copy.find('\\') == std::string::npos) {
      bool found = false;
      for (const std::string& n : prefilter) found = found || copy.find(n) != std::string::npos;
      if (!found) {
        ++skipped;
        return true;
      }
    }
    listener_->on_transport_text(copy.data(), copy.size());
    return true;
  }
  // A text frame as the wasm build's onmessage (bindings/library.js) takes it: with a Route
  // plan and a frame surely within max_bytes, it goes to the JS sink with the plan's route
  // bits (recorded in `routed`; route 0: dropped) without entering the core; else text().
  bool wasm_text(std::string_view data) {
    if (sock != Sock::Open && sock != Sock::Closing) return false;
    if (plan.mode == mc::ReceivePlan::Mode::Route && static_cast<double>(data.size()) * 3 <= max_bytes) {
      ++unscanned;
      if (plan.route != 0) routed.push_back(plan.route);
      return true;
    }
    return text(data);
  }
  bool binary(const std::vector<uint8_t>& data) {
    if (sock != Sock::Open && sock != Sock::Closing) return false;
    if (listener_) listener_->on_transport_binary(data.data(), data.size());
    return true;
  }
  // A frame the platform dropped before copying it in, because it exceeds maxMessageBytes.
  bool oversize(bool text, double size) {
    if (sock != Sock::Open && sock != Sock::Closing) return false;
    if (listener_) listener_->on_transport_oversize(text, size);
    return true;
  }
  // An error event without a close (Node 20's WebSocket on a refused connection does this).
  bool error() {
    if (sock == Sock::None) return false;
    if (listener_) listener_->on_transport_error();
    return true;
  }
  // The server answers the upgrade with an HTTP status instead of 101: an error event the
  // transport can name the status of (the `ws` package in Node), and no close.
  bool refuse_upgrade(int status) {
    if (sock != Sock::Connecting) return false;
    refused_http = status;
    const bool delivered = error();
    refused_http = 0;
    return delivered;
  }
  int refused_status() const override { return refused_http; }
  // The socket ends (server close frame, network drop, or the reply to our close()).
  bool server_close(int code, std::string_view reason = "", bool clean = true) {
    if (sock == Sock::None) return false;
    sock = Sock::None;
    const std::string copy(reason);
    if (listener_) listener_->on_transport_close(code, copy, clean);
    return true;
  }

  bool live() const { return sock != Sock::None; }
  std::vector<std::string> sent_texts() const {
    std::vector<std::string> out;
    for (const Frame& f : sent) {
      if (!f.binary) out.push_back(f.bytes);
    }
    return out;
  }

  Sock sock = Sock::None;
  bool fail_open = false;    // open() returns false (no socket could be created)
  int refused_http = 0;      // refused_status() (set by refuse_upgrade during its error event)
  bool accept_sends = true;  // send_*() returns this
  double buffered = 0;
  std::string negotiated_protocol;
  std::vector<std::string> opens;
  std::string last_protocols;
  std::vector<Frame> sent;     // accepted frames, in order
  std::vector<Frame> refused;  // frames send_*() returned false for
  std::vector<std::pair<int, std::string>> closes;
  size_t aborts = 0;
  size_t sockets = 0;
  mc::ReceivePlan plan;                // the last set_receive_plan()
  size_t plans = 0;                    // calls of set_receive_plan()
  std::vector<std::string> prefilter;  // a Prefilter plan's needles
  bool prefilter_on() const { return plan.mode == mc::ReceivePlan::Mode::Prefilter; }
  size_t skipped = 0;            // text frames the Prefilter plan dropped unread
  size_t unscanned = 0;          // text frames a Route plan settled without the core (wasm_text)
  std::vector<uint32_t> routed;  // ... and the route bits of those it delivered
  double max_bytes = 1e18;       // the platform's copy of maxMessageBytes (mc_socket_adopt's maxBytes)
  std::vector<std::string> violations;

 private:
  bool sent_frame(bool binary, std::string bytes) {
    log(std::string(binary ? "send-bin " : "send ") + bytes);
    if (sock != Sock::Open) {
      violations.push_back(std::string("send while the socket is not open: ") + bytes);
      return false;
    }
    if (!accept_sends) {
      refused.push_back(Frame{binary, std::move(bytes)});
      return false;
    }
    sent.push_back(Frame{binary, std::move(bytes)});
    return true;
  }
  void log(std::string line) {
    if (journal_) journal_->add("t: " + line);
  }
  Journal* journal_;
  mc::TransportListener* listener_ = nullptr;
};

// --------------------------------------------------------------------------- RecordingEvents

struct Event {
  enum Kind { State, Open, Text, Binary, Close, Error, Reconnecting };
  Kind kind = State;
  mc::State from = mc::State::Idle, to = mc::State::Idle;
  std::string data;  // open: protocol; text/binary: bytes; close: reason; error: message
  uint32_t route = 0;
  std::string sender;  // text with route::kSequenced: the sender id and sequence number of its tag
  double seq = 0;
  int code = 0;  // close code
  bool clean = false, will_reconnect = false;
  mc::ErrorCode error = mc::ErrorCode::None;
  double detail = 0;
  uint32_t attempt = 0;
  double delay = 0;

  std::string str() const {
    switch (kind) {
      case State: return std::string("state ") + mc_test::name_of(from) + "->" + mc_test::name_of(to);
      case Open: return "open " + data;
      case Text: return "text " + data;
      case Binary: return "binary " + std::to_string(data.size());
      case Close:
        return "close " + std::to_string(code) + (will_reconnect ? " reconnect" : " final") + (clean ? " clean" : "");
      case Error: return std::string("error ") + mc_test::name_of(error);
      case Reconnecting: {
        char buf[64];
        std::snprintf(buf, sizeof buf, "reconnecting %u %.3f", attempt, delay);
        return buf;
      }
    }
    return "?";
  }
};

inline const char* kind_name(Event::Kind k) {
  static const char* names[] = {"state", "open", "text", "binary", "close", "error", "reconnecting"};
  return names[k];
}

// Records every ChannelEvents call in order. `hook` runs after each record and may call back
// into the channel (re-entrancy tests).
class RecordingEvents final : public mc::ChannelEvents {
 public:
  explicit RecordingEvents(Journal* journal = nullptr) : journal_(journal) {}

  void on_state(mc::State from, mc::State to) override {
    Event e;
    e.kind = Event::State;
    e.from = from;
    e.to = to;
    if (from != last_state_) {
      violations.push_back(std::string("state event from ") + mc_test::name_of(from) +
                           " but the previous one went to " + mc_test::name_of(last_state_));
    }
    if (from == to) violations.push_back("state event without a change");
    if (channel && channel->state() != to) violations.push_back("state event emitted before the state changed");
    last_state_ = to;
    push(std::move(e));
  }
  void on_open(std::string_view protocol) override {
    Event e;
    e.kind = Event::Open;
    e.data = std::string(protocol);
    push(std::move(e));
  }
  void on_text(const char* data, size_t size, uint32_t route, std::string_view from, double seq) override {
    Event e;
    e.kind = Event::Text;
    e.data.assign(data, size);
    e.route = route;
    e.sender.assign(from);
    e.seq = seq;
    if (route == 0) violations.push_back("text delivered with route 0");
    push(std::move(e));
  }
  void on_binary(const uint8_t* data, size_t size, uint32_t route) override {
    Event e;
    e.kind = Event::Binary;
    e.data.assign(reinterpret_cast<const char*>(data), size);
    e.route = route;
    if (route == 0) violations.push_back("binary delivered with route 0");
    push(std::move(e));
  }
  void on_close(int code, std::string_view reason, bool clean, bool will_reconnect) override {
    Event e;
    e.kind = Event::Close;
    e.code = code;
    e.data = std::string(reason);
    e.clean = clean;
    e.will_reconnect = will_reconnect;
    push(std::move(e));
  }
  void on_error(mc::ErrorCode code, std::string_view message, double detail) override {
    Event e;
    e.kind = Event::Error;
    e.error = code;
    e.data = std::string(message);
    e.detail = detail;
    if (code == mc::ErrorCode::None) violations.push_back("error event with code None");
    push(std::move(e));
  }
  void on_reconnecting(uint32_t attempt, double delay_ms) override {
    Event e;
    e.kind = Event::Reconnecting;
    e.attempt = attempt;
    e.delay = delay_ms;
    if (!(delay_ms >= 0)) violations.push_back("reconnecting with a negative delay");
    push(std::move(e));
  }

  // --- queries
  size_t count(Event::Kind k) const {
    size_t n = 0;
    for (const Event& e : events) n += e.kind == k;
    return n;
  }
  std::vector<Event> of(Event::Kind k) const {
    std::vector<Event> out;
    for (const Event& e : events) {
      if (e.kind == k) out.push_back(e);
    }
    return out;
  }
  std::vector<mc::ErrorCode> errors() const {
    std::vector<mc::ErrorCode> out;
    for (const Event& e : events) {
      if (e.kind == Event::Error) out.push_back(e.error);
    }
    return out;
  }
  std::vector<std::string> strs() const {
    std::vector<std::string> out;
    for (const Event& e : events) out.push_back(e.str());
    return out;
  }
  void clear() { events.clear(); }

  std::vector<Event> events;
  const mc::Channel* channel = nullptr;  // when set: checks "no event after dispose"
  std::function<void(const Event&)> hook;
  std::vector<std::string> violations;

 private:
  void push(Event e) {
    if (channel && channel->disposed()) violations.push_back("event after dispose: " + e.str());
    if (journal_) journal_->add("e: " + e.str());
    events.push_back(e);
    if (hook) hook(e);  // a copy: the hook may record more events
  }
  Journal* journal_;
  mc::State last_state_ = mc::State::Idle;
};

// --------------------------------------------------------------------------- invariants

// What must hold between two top-level steps (not inside a callback). `online` is what the
// test last passed to set_online(). Appends a description of each broken rule to `out`.
inline void check_consistency(const mc::Channel& ch, const FakeTransport& t, const FakeScheduler& s, bool online,
                              std::vector<std::string>& out) {
  using mc::State;
  using Sock = FakeTransport::Sock;
  const State st = ch.state();
  const std::string where = std::string(" (state ") + mc_test::name_of(st) + ")";
  if (static_cast<unsigned>(st) > static_cast<unsigned>(State::Closed)) out.push_back("invalid state value");
  const mc::QueueOptions& q = ch.config().queue;
  if (ch.queued_count() > q.max_messages) out.push_back("queue holds more messages than queue.max_messages");
  if (ch.queued_bytes() > q.max_bytes) out.push_back("queue holds more bytes than queue.max_bytes");
  if (ch.disposed()) {
    if (st != State::Closed) out.push_back("disposed but not closed");
    if (ch.queued_count() != 0) out.push_back("disposed with a non-empty queue");
    if (t.sock != Sock::None) out.push_back("disposed with a live socket");
    if (s.pending()) out.push_back("disposed with a pending wake-up");
    return;
  }
  switch (st) {
    case State::Connecting:
      if (t.sock != Sock::Connecting) out.push_back("connecting but the socket is not connecting" + where);
      if (std::isfinite(ch.config().reconnect.connect_timeout_ms) && ch.config().reconnect.connect_timeout_ms > 0 &&
          !s.pending()) {
        out.push_back("connecting with a connect timeout but no wake-up pending");
      }
      break;
    case State::Open:
      if (t.sock != Sock::Open) out.push_back("open but the socket is not open" + where);
      if (ch.config().heartbeat.enabled && !s.pending()) out.push_back("open with heartbeat but no wake-up pending");
      break;
    case State::Closing:
      if (t.sock != Sock::Closing) out.push_back("closing but the socket is not closing" + where);
      if (!s.pending()) out.push_back("closing but no wake-up pending (closing timeout)");
      break;
    case State::Reconnecting:
      if (t.sock != Sock::None) out.push_back("a socket is live" + where);
      if (online && !s.pending()) out.push_back("reconnecting (online) but no retry pending");
      break;
    case State::Idle:
    case State::Closed:
      if (t.sock != Sock::None) out.push_back("a socket is live" + where);
      if (s.pending()) out.push_back("a wake-up is pending" + where);
      break;
  }
  if (ch.closed_by_user() && st != State::Closing && st != State::Closed) {
    // Only a drain may be under way: close() waiting for a connection to send the queue.
    if (ch.queued_count() == 0 || (st != State::Connecting && st != State::Reconnecting)) {
      out.push_back("close() was called but the state is" + where);
    }
    if (!s.pending()) out.push_back("close() is waiting to send the queue with no wake-up pending" + where);
  }
}

}  // namespace mc_test
