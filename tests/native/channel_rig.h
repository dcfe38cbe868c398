// The fixture of the Channel tests (tests/native/channel_*_test.cpp): one channel wired to
// FakeTransport / FakeScheduler / RecordingEvents (fakes.h), checked after every test for what
// the doubles noticed, the between-steps invariants and URL secrecy. In mc_test (not an
// anonymous namespace): GoogleTest requires one fixture type per test suite across files.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fakes.h"
#include "metachannel/channel.h"
#include "metachannel/reliability.h"
#include "metachannel/router.h"

namespace mc_test {

using mc::ErrorCode;
using mc::State;
using E = mc_test::Event;

inline constexpr const char* kUrl = "wss://relay.example.com/c/SECRET-ONE?token=SECRET-Q";
inline constexpr const char* kUrl2 = "wss://relay.example.com/c/SECRET-TWO";
inline const double kAlmostOne = std::nextafter(1.0, 0.0);

inline std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += "\n  " + s;
  return out;
}

// Everything one channel needs, wired together.
struct Rig {
  Journal journal;
  FakeTransport t{&journal};
  FakeScheduler s;
  RecordingEvents ev{&journal};
  mc::ChannelConfig cfg;
  std::unique_ptr<mc::Channel> ch;
  bool online = true;

  mc::Channel& make() {
    ch = std::make_unique<mc::Channel>(t, s, ev, cfg);
    s.set_listener(ch.get());
    ev.channel = ch.get();
    return *ch;
  }
  mc::Channel& c() {
    if (!ch) make();
    return *ch;
  }
  ErrorCode send(std::string_view m) { return c().send_text(m.data(), m.size()); }
  ErrorCode send_bin(std::string_view m) {
    return c().send_binary(reinterpret_cast<const uint8_t*>(m.data()), m.size());
  }
  void set_online(bool on) {
    online = on;
    c().set_online(on);
  }
  // Exact backoff (no jitter): 500, 1000, 2000, ...
  void no_jitter() {
    cfg.reconnect.full_jitter = false;
    cfg.reconnect.jitter_fraction = 0;
  }
  void open(const char* url = kUrl) {
    ASSERT_EQ(c().set_url(url), ErrorCode::None);
    ASSERT_TRUE(t.accept());
    ASSERT_EQ(c().state(), State::Open);
  }
  // Fails the current attempt the way a browser does (close 1006 without opening).
  void refuse() { ASSERT_TRUE(t.server_close(1006, "", false)); }
  // Waits out the pending retry (which must be `delay` away) and checks it opens a socket.
  void wait_retry(double delay) {
    ASSERT_EQ(c().state(), State::Reconnecting);
    ASSERT_TRUE(s.pending());
    ASSERT_DOUBLE_EQ(s.wake_in_ms(), delay);
    const size_t before = t.opens.size();
    if (delay >= 1) {
      s.advance(delay - 1);
      ASSERT_EQ(t.opens.size(), before) << "retried before the delay was up";
      s.advance(1);
    } else {
      s.advance(delay);
    }
    ASSERT_EQ(t.opens.size(), before + 1) << "did not retry when the delay was up";
    ASSERT_EQ(c().state(), State::Connecting);
  }
  std::vector<std::string> consistency() const {
    std::vector<std::string> out;
    if (ch) mc_test::check_consistency(*ch, t, s, online, out);
    return out;
  }
  // Everything the doubles noticed, plus the between-steps invariants and URL secrecy.
  void verify() {
    EXPECT_TRUE(t.violations.empty()) << "transport:" << join(t.violations);
    EXPECT_TRUE(s.violations.empty()) << "scheduler:" << join(s.violations);
    EXPECT_TRUE(ev.violations.empty()) << "events:" << join(ev.violations);
    const auto bad = consistency();
    EXPECT_TRUE(bad.empty()) << "consistency:" << join(bad);
    for (const Event& e : ev.events) {
      if (e.kind == E::Error) EXPECT_EQ(e.data.find("SECRET"), std::string::npos) << e.data;
    }
    if (ch) EXPECT_EQ(ch->last_error().find("SECRET"), std::string::npos) << ch->last_error();
  }
};

class ChannelTest : public ::testing::Test, public Rig {
 protected:
  void TearDown() override {
    verify();
    ch.reset();
  }
};

class HeartbeatTest : public ChannelTest {
 protected:
  void SetUp() override {
    cfg.heartbeat.enabled = true;
    cfg.heartbeat.interval_ms = 1000;
    cfg.heartbeat.timeout_ms = 500;
    no_jitter();
    make();
    ch->route_message(+1);
  }
};

}  // namespace mc_test

// The names every channel_*_test.cpp uses, declared once: `using namespace mc_test::channel_names;`.
namespace mc_test::channel_names {
using mc::ErrorCode;
using mc::State;
using mc_test::ChannelTest;
using mc_test::Event;
using mc_test::FakeScheduler;
using mc_test::FakeTransport;
using mc_test::HeartbeatTest;
using mc_test::join;
using mc_test::Journal;
using mc_test::kAlmostOne;
using mc_test::kUrl;
using mc_test::kUrl2;
using mc_test::RecordingEvents;
using mc_test::Rig;
using E = mc_test::Event;
using Frame = mc_test::FakeTransport::Frame;
}  // namespace mc_test::channel_names
