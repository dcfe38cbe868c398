// Channel re-entrancy: API calls from inside event callbacks, and a sweep of every call from every event.
// Driven through FakeTransport / FakeScheduler / RecordingEvents (channel_rig.h).
#include "channel_rig.h"

namespace {

using namespace mc_test::channel_names;  // the rig's names (channel_rig.h)

// ============================================================================ re-entrancy

TEST_F(ChannelTest, SetUrlFromTheConnectingStateEvent) {
  make();
  bool once = false;
  ev.hook = [&](const Event& e) {
    if (e.kind == E::State && e.to == State::Connecting && !once) {
      once = true;
      EXPECT_EQ(ch->set_url(kUrl2), ErrorCode::None);
    }
  };
  ASSERT_EQ(ch->set_url(kUrl), ErrorCode::None);
  EXPECT_EQ(ch->url(), kUrl2);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens, std::vector<std::string>{kUrl2});  // one socket, to the newer URL
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(ch->state(), State::Open);
}

TEST_F(ChannelTest, SendFromTheCloseEventOfADropIsQueued) {
  no_jitter();
  open();
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Close) {
      EXPECT_EQ(send("late"), ErrorCode::None);
    }
  };
  ASSERT_TRUE(t.server_close(1006, "", false));
  EXPECT_TRUE(t.sent.empty()) << "sent on a socket that is gone";
  EXPECT_EQ(ch->queued_count(), 1u);
  EXPECT_EQ(ch->state(), State::Reconnecting);
  ev.hook = nullptr;
  wait_retry(500);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(t.sent_texts(), std::vector<std::string>{"late"});
}

TEST_F(ChannelTest, SendFromTheCloseEventOfAHeartbeatTimeoutIsQueued) {
  cfg.heartbeat.enabled = true;
  cfg.heartbeat.interval_ms = 100;
  cfg.heartbeat.timeout_ms = 100;
  open();
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Close) EXPECT_EQ(send("late"), ErrorCode::None);
  };
  s.advance(200);
  ASSERT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::HeartbeatTimeout});
  EXPECT_EQ(t.sent_texts(), std::vector<std::string>{"ping"});
  EXPECT_EQ(ch->queued_count(), 1u);
}

TEST_F(ChannelTest, CloseFromTheCloseEventOfADrop) {
  open();
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Close && e.will_reconnect) EXPECT_EQ(ch->close(0, ""), ErrorCode::None);
  };
  ASSERT_TRUE(t.server_close(1006, "", false));
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_TRUE(t.closes.empty()) << "close() sent on a socket that is gone";
  EXPECT_EQ(ev.count(E::Close), 1u);  // one socket, one close event
  EXPECT_EQ(ev.count(E::Reconnecting), 0u);
  EXPECT_FALSE(s.pending());
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 1u);
}

TEST_F(ChannelTest, SetUrlFromTheCloseEventOfADrop) {
  open();
  bool once = false;
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Close && !once) {
      once = true;
      EXPECT_EQ(ch->set_url(kUrl2), ErrorCode::None);
    }
  };
  ASSERT_TRUE(t.server_close(1006, "", false));
  EXPECT_EQ(ev.count(E::Close), 1u);
  EXPECT_EQ(ev.count(E::Reconnecting), 0u);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens.back(), kUrl2);
  EXPECT_EQ(ch->attempt(), 0u);
  ASSERT_TRUE(t.accept());
}

TEST_F(ChannelTest, SetUrlFromTheSocketErrorOfARefusedConnection) {
  make();
  bool once = false;
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Error && !once) {
      once = true;
      EXPECT_EQ(ch->set_url(kUrl2), ErrorCode::None);
    }
  };
  ch->set_url(kUrl);
  ASSERT_TRUE(t.error());
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.sock, FakeTransport::Sock::Connecting);
  EXPECT_EQ(t.opens.back(), kUrl2);
  EXPECT_EQ(ev.count(E::Reconnecting), 0u);
  s.advance(100);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(ch->state(), State::Open);
}

TEST_F(ChannelTest, SetUrlFromTheConnectTimeoutError) {
  make();
  bool once = false;
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Error && !once) {
      once = true;
      ch->set_url(kUrl2);
    }
  };
  ch->set_url(kUrl);
  s.advance(cfg.reconnect.connect_timeout_ms);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens.back(), kUrl2);
  EXPECT_EQ(ev.count(E::Close), 0u);
  ASSERT_TRUE(t.accept());
}

TEST_F(ChannelTest, CloseFromTheOpenEvent) {
  make();
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Open) EXPECT_EQ(ch->close(4000, "no"), ErrorCode::None);
  };
  ch->set_url(kUrl);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(ch->state(), State::Closing);
  ASSERT_EQ(t.closes.size(), 1u);
  t.server_close(4000, "no");
  EXPECT_EQ(ch->state(), State::Closed);
}

TEST_F(ChannelTest, CloseFromTheOpenStateEventSkipsTheOpenEvent) {
  make();
  ev.hook = [&](const Event& e) {
    if (e.kind == E::State && e.to == State::Open) ch->close(0, "");
  };
  ch->set_url(kUrl);
  t.accept();
  EXPECT_EQ(ev.count(E::Open), 0u);
  EXPECT_EQ(ch->state(), State::Closing);
  t.server_close(1000);
}

TEST_F(ChannelTest, SendFromTheOpenEventGoesAfterTheQueue) {
  make();
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Open) send("from-open");
  };
  send("a");
  send("b");
  ch->set_url(kUrl);
  t.accept();
  EXPECT_EQ(t.sent_texts(), (std::vector<std::string>{"a", "b", "from-open"}));
}

TEST_F(ChannelTest, DisposeFromEveryCallbackSilencesTheRest) {
  // Dispose inside the first event of each kind of a busy scenario: nothing may follow.
  for (int k = E::State; k <= E::Reconnecting; ++k) {
    SCOPED_TRACE(mc_test::kind_name(static_cast<E::Kind>(k)));
    Rig r;
    r.cfg.heartbeat.enabled = true;
    r.cfg.heartbeat.interval_ms = 1000;
    r.cfg.heartbeat.timeout_ms = 500;
    r.cfg.queue.max_messages = 1;
    r.make();
    r.ch->route_message(+1);
    size_t at = 0;
    r.ev.hook = [&](const Event& e) {
      if (e.kind == k && at == 0) {
        at = r.ev.events.size();
        r.ch->dispose();
      }
    };
    r.send("a");
    r.c().set_url(kUrl);
    r.send("b");  // QUEUE_OVERFLOW
    r.t.accept();
    r.t.text("hello");
    r.t.binary({1});
    r.t.server_close(1006, "", false);
    r.s.advance(60000);
    EXPECT_NE(at, 0u);
    EXPECT_EQ(r.ev.events.size(), at);
    EXPECT_TRUE(r.c().disposed());
    r.verify();
  }
}

// --- A sweep: every API call from inside the first event of every kind of a long scenario.

enum class Action { Send, Close, SetUrlOther, SetUrlEmpty, Dispose, ReconnectNow, Offline };

const char* action_name(Action a) {
  switch (a) {
    case Action::Send: return "Send";
    case Action::Close: return "Close";
    case Action::SetUrlOther: return "SetUrlOther";
    case Action::SetUrlEmpty: return "SetUrlEmpty";
    case Action::Dispose: return "Dispose";
    case Action::ReconnectNow: return "ReconnectNow";
    case Action::Offline: return "Offline";
  }
  return "?";
}

class ReentrancySweep : public ::testing::TestWithParam<std::tuple<int, Action>> {};

TEST_P(ReentrancySweep, LeavesAConsistentState) {
  const auto kind = static_cast<E::Kind>(std::get<0>(GetParam()));
  const Action action = std::get<1>(GetParam());
  Rig r;
  r.cfg.heartbeat.enabled = true;
  r.cfg.heartbeat.interval_ms = 1000;
  r.cfg.heartbeat.timeout_ms = 500;
  r.cfg.reconnect.full_jitter = false;
  r.cfg.reconnect.min_delay_ms = 100;
  r.cfg.queue.max_messages = 2;
  r.cfg.max_message_bytes = 64;
  r.make();
  r.ch->route_message(+1);

  bool fired = false;
  size_t events_at_dispose = 0;
  r.ev.hook = [&](const Event& e) {
    if (fired || e.kind != kind) return;
    fired = true;
    switch (action) {
      case Action::Send: r.send("reentrant"); break;
      case Action::Close: r.c().close(4000, "reentrant"); break;
      case Action::SetUrlOther: r.c().set_url(kUrl2); break;
      case Action::SetUrlEmpty: r.c().set_url(""); break;
      case Action::Dispose:
        r.c().dispose();
        events_at_dispose = r.ev.events.size();
        break;
      case Action::ReconnectNow: r.c().reconnect_now(); break;
      case Action::Offline: r.set_online(false); break;
    }
  };

  std::vector<std::string> broken;
  int step = 0;
  auto check = [&] {
    ++step;
    for (const std::string& b : r.consistency()) broken.push_back("after step " + std::to_string(step) + ": " + b);
  };
  r.send("q1");
  check();
  r.c().set_url(kUrl);
  check();
  r.send("q2");
  r.send("q3");  // QUEUE_OVERFLOW (drop-oldest)
  check();
  r.t.accept();
  check();
  r.t.text("hello");
  r.t.binary({1, 2, 3});
  r.t.text(std::string(100, 'x'));  // MESSAGE_TOO_LARGE
  check();
  r.t.error();  // SOCKET_ERROR while open
  check();
  r.t.server_close(1006, "", false);  // close, reconnecting
  check();
  r.s.advance(1000);
  r.t.accept();
  check();
  r.s.advance(2000);  // ping, HEARTBEAT_TIMEOUT
  check();
  r.s.advance(1000);
  r.t.accept();
  r.t.server_close(4001, "revoked");  // REVOKED
  check();
  r.c().reconnect_now();
  r.t.accept();
  r.t.server_close(1008, "policy");  // SOCKET_ERROR, stop
  check();
  r.c().reconnect_now();
  r.t.error();  // refused (Node 20 style)
  check();
  r.set_online(true);
  r.s.advance(1000);
  r.t.accept();
  r.send("x");
  r.c().close(1000, "bye");
  check();
  r.t.server_close(1000, "bye");
  check();
  r.s.advance(10000);
  check();

  EXPECT_TRUE(fired) << "the scenario never produced a " << mc_test::kind_name(kind) << " event";
  EXPECT_TRUE(broken.empty()) << join(broken);
  if (action == Action::Dispose) {
    EXPECT_EQ(r.ev.events.size(), events_at_dispose);
    EXPECT_EQ(r.c().send_text("x", 1), ErrorCode::Disposed);
  }
  r.verify();
}

INSTANTIATE_TEST_SUITE_P(
    EveryEventEveryCall, ReentrancySweep,
    ::testing::Combine(::testing::Range(static_cast<int>(E::State), static_cast<int>(E::Reconnecting) + 1),
                       ::testing::Values(Action::Send, Action::Close, Action::SetUrlOther, Action::SetUrlEmpty,
                                         Action::Dispose, Action::ReconnectNow, Action::Offline)),
    [](const ::testing::TestParamInfo<std::tuple<int, Action>>& info) {
      return std::string(mc_test::kind_name(static_cast<E::Kind>(std::get<0>(info.param)))) + "_" +
             action_name(std::get<1>(info.param));
    });

}  // namespace
