// A broadcast relay in memory for several real mc::Channel instances with reliable delivery
// and presence: one shared fake clock, one FakeTransport per peer, and a relay that forwards
// every frame a peer writes to every other open peer (and back to the sender when `echo`).
// Faults: `drop(from, to, frame)` loses single deliveries; `blackhole[i]` loses everything
// peer i writes (a socket the relay already killed); kill(i) drops peer i's socket.
// No GoogleTest dependency: tests/fuzz/reliable_fuzz.cpp uses it too.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fakes.h"
#include "metachannel/channel.h"
#include "metachannel/reliability.h"

namespace mc_test {

struct Clock {
  double now = 0;
};

// A Scheduler on a shared clock; random01() from a seeded generator (or `randoms` first).
class NetScheduler final : public mc::Scheduler {
 public:
  NetScheduler(Clock* clock, uint32_t seed) : clock_(clock), rng_(seed) {}
  void set_listener(mc::SchedulerListener* l) { listener_ = l; }
  double now_ms() override { return clock_->now; }
  void wake_in(double delay_ms) override {
    if (!(delay_ms >= 0)) violations.push_back("wake_in with a negative or NaN delay");
    pending = true;
    at = clock_->now + delay_ms;
  }
  void cancel_wake() override { pending = false; }
  double random01() override { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  void fire() {
    ++fires;
    pending = false;
    if (listener_) listener_->on_wake();
  }
  bool pending = false;
  double at = 0;
  size_t fires = 0;
  std::vector<std::string> violations;

 private:
  Clock* clock_;
  std::mt19937 rng_;
  mc::SchedulerListener* listener_ = nullptr;
};

// What a peer's channel told its owner, beyond RecordingEvents.
class NetEvents final : public mc::ChannelEvents {
 public:
  struct Lost {
    std::string from;
    double count;
  };
  void on_state(mc::State, mc::State) override {}
  void on_open(std::string_view) override { ++opens; }
  void on_text(const char* data, size_t size, uint32_t route, std::string_view from, double seq) override {
    texts.emplace_back(data, size);
    routes.push_back(route);
    senders.emplace_back(from);
    seqs.push_back(seq);
    if (hook) hook(texts.back(), route);
  }
  void on_binary(const uint8_t*, size_t, uint32_t) override {}
  void on_close(int, std::string_view, bool, bool) override {}
  void on_error(mc::ErrorCode code, std::string_view, double) override { errors.push_back(code); }
  void on_reconnecting(uint32_t, double) override {}
  void on_lost(std::string_view from, double count, std::string_view message) override {
    lost.push_back(Lost{std::string(from), count});
    last_lost_message = std::string(message);
  }
  void on_presence(std::string_view json) override { presence.emplace_back(json); }

  std::vector<std::string> texts;
  std::vector<uint32_t> routes;
  std::vector<std::string> senders;  // the sender and sequence number the core read (kSequenced)
  std::vector<double> seqs;
  std::vector<mc::ErrorCode> errors;
  std::vector<Lost> lost;
  std::string last_lost_message;
  std::vector<std::string> presence;
  size_t opens = 0;
  std::function<void(const std::string&, uint32_t)> hook;
};

struct NetPeer {
  NetPeer(Clock* clock, uint32_t seed) : s(clock, seed) {}
  FakeTransport t;
  NetScheduler s;
  NetEvents ev;
  std::unique_ptr<mc::Channel> ch;
  size_t forwarded = 0;     // frames of t.sent already handed to the relay
  bool auto_accept = true;  // a reconnect attempt is accepted at once
};

class Net {
 public:
  static constexpr const char* kUrl = "wss://relay.example.com/c/secret";

  // A peer with `cfg` (reliable/presence as the test wants); connected and pumped.
  NetPeer& add(mc::ChannelConfig cfg, bool connect = true) {
    auto p = std::make_unique<NetPeer>(&clock, static_cast<uint32_t>(1234 + peers.size() * 7919));
    if (cfg.id.empty()) cfg.id = "peer" + std::to_string(peers.size());
    p->ch = std::make_unique<mc::Channel>(p->t, p->s, p->ev, cfg);
    p->s.set_listener(p->ch.get());
    p->ch->route_message(1);  // an on("message") listener
    peers.push_back(std::move(p));
    blackhole.push_back(false);
    NetPeer& peer = *peers.back();
    if (connect) {
      peer.ch->set_url(kUrl);
      peer.t.accept();
      pump();
    }
    return peer;
  }

  // Hands every frame written so far to the relay, which broadcasts it; repeats until quiet.
  void pump() {
    for (bool again = true; again;) {
      again = false;
      for (size_t i = 0; i < peers.size(); ++i) {
        NetPeer& from = *peers[i];
        while (from.forwarded < from.t.sent.size()) {
          const FakeTransport::Frame f = from.t.sent[from.forwarded++];
          again = true;
          ++relayed;
          if (blackhole[i]) {
            for (size_t j = 0; missed && j < peers.size(); ++j) {
              if (j != i) missed(i, j, f.bytes);
            }
            continue;
          }
          for (size_t j = 0; j < peers.size(); ++j) {
            if (j == i && !echo) continue;
            NetPeer& to = *peers[j];
            if ((drop && drop(i, j, f.bytes)) || to.t.sock != FakeTransport::Sock::Open) {
              if (missed && j != i) missed(i, j, f.bytes);
              continue;
            }
            if (f.binary) {
              to.t.binary(std::vector<uint8_t>(f.bytes.begin(), f.bytes.end()));
            } else {
              to.t.text(f.bytes);
            }
          }
        }
      }
    }
  }

  // Moves the shared clock forward by `ms`, firing every peer's wake-ups in time order,
  // accepting reconnects, and pumping after each.
  void advance(double ms) {
    const double target = clock.now + ms;
    for (size_t guard = 0;; ++guard) {
      if (guard == 100000) {
        violations.push_back("more than 100000 wake-ups in one advance(): a timer that re-arms at once");
        break;
      }
      accept_pending();
      pump();
      NetPeer* next = nullptr;
      for (auto& p : peers) {
        if (p->s.pending && p->s.at <= target && (!next || p->s.at < next->s.at)) next = p.get();
      }
      if (!next) break;
      if (next->s.at > clock.now) clock.now = next->s.at;
      next->s.fire();
    }
    clock.now = target;
    accept_pending();
    pump();
  }

  void accept_pending() {
    for (auto& p : peers) {
      if (p->auto_accept && p->t.sock == FakeTransport::Sock::Connecting) p->t.accept();
    }
  }

  // The relay kills peer i's socket (no close frame): the peer sees 1006 and reconnects.
  void kill(size_t i) { peers[i]->t.server_close(1006, "", false); }

  void send(size_t i, const std::string& text) {
    const mc::ErrorCode rc = peers[i]->ch->send_text(text.data(), text.size());
    if (rc != mc::ErrorCode::None) violations.push_back("send failed: " + std::string(mc_test::name_of(rc)));
  }

  std::vector<std::string> all_violations() const {
    std::vector<std::string> out = violations;
    for (const auto& p : peers) {
      out.insert(out.end(), p->t.violations.begin(), p->t.violations.end());
      out.insert(out.end(), p->s.violations.begin(), p->s.violations.end());
    }
    return out;
  }

  Clock clock;
  std::vector<std::unique_ptr<NetPeer>> peers;
  std::vector<bool> blackhole;
  bool echo = true;
  std::function<bool(size_t from, size_t to, const std::string& frame)> drop;
  // A frame peer `to` did not get (dropped, blackholed, or its socket was not open).
  std::function<void(size_t from, size_t to, const std::string& frame)> missed;
  size_t relayed = 0;
  std::vector<std::string> violations;
};

// The channel's Delivery, which is a Reliability in the full core.
inline mc::Reliability& rel(mc::Channel& c) { return static_cast<mc::Reliability&>(*c.delivery()); }

inline mc::ChannelConfig reliable_config(bool presence = false) {
  mc::ChannelConfig c;
  c.reliable.enabled = true;
  c.presence.enabled = presence;
  c.delivery = &mc::Reliability::create;
  c.reconnect.min_delay_ms = 10;
  c.reconnect.max_delay_ms = 50;
  c.reconnect.full_jitter = false;
  c.reconnect.jitter_fraction = 0;
  return c;
}

}  // namespace mc_test
