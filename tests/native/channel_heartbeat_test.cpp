// Channel heartbeat: pings, pongs, the timeout.
// Driven through FakeTransport / FakeScheduler / RecordingEvents (channel_rig.h).
#include "channel_rig.h"

namespace {

using namespace mc_test::channel_names;  // the rig's names (channel_rig.h)

// ============================================================================ heartbeat

TEST_F(HeartbeatTest, PingsEveryIntervalOnlyWhileOpen) {
  ch->set_url(kUrl);
  s.advance(5000);  // connecting: no pings
  EXPECT_TRUE(t.sent.empty());
  ASSERT_TRUE(t.accept());
  ASSERT_TRUE(s.pending()) << "the first ping is not scheduled";
  s.advance(999);
  EXPECT_TRUE(t.sent.empty());
  s.advance(1);
  EXPECT_EQ(t.sent_texts(), std::vector<std::string>{"ping"});
  ASSERT_TRUE(t.text("pong"));
  s.advance(1000);
  EXPECT_EQ(t.sent_texts(), (std::vector<std::string>{"ping", "ping"}));
  ASSERT_TRUE(t.text("pong"));
  s.advance(1000);
  ASSERT_TRUE(t.text("pong"));
  EXPECT_EQ(t.sent_texts().size(), 3u);
  EXPECT_EQ(ev.count(E::Text), 0u);  // pongs are not messages
  EXPECT_EQ(ev.count(E::Error), 0u);
  EXPECT_EQ(ch->state(), State::Open);
}

TEST_F(HeartbeatTest, AnyIncomingFrameClearsTheTimeout) {
  ch->set_url(kUrl);
  t.accept();
  s.advance(1000);  // ping
  s.advance(400);
  ASSERT_TRUE(t.text(R"({"type":"data"})"));
  EXPECT_EQ(ev.count(E::Text), 1u);
  s.advance(100);  // the old deadline passes harmlessly
  EXPECT_EQ(ch->state(), State::Open);
  s.advance(500);  // second ping at 2000
  EXPECT_EQ(t.sent_texts().size(), 2u);
  s.advance(400);
  ASSERT_TRUE(t.binary({1}));
  s.advance(100);
  EXPECT_EQ(ch->state(), State::Open);
  EXPECT_EQ(ev.count(E::Error), 0u);
}

TEST_F(HeartbeatTest, EchoedPingIsSwallowedButCountsAsTraffic) {
  ch->set_url(kUrl);
  t.accept();
  s.advance(1000);
  ASSERT_TRUE(t.text("ping"));  // a broadcast relay echoes our own ping
  s.advance(500);
  EXPECT_EQ(ch->state(), State::Open);
  EXPECT_EQ(ev.count(E::Text), 0u);
  ASSERT_TRUE(t.text("pingx"));  // only an exact match is heartbeat traffic
  EXPECT_EQ(ev.count(E::Text), 1u);
}

TEST_F(HeartbeatTest, CustomMessageAndPong) {
  Rig r;
  r.cfg.heartbeat.enabled = true;
  r.cfg.heartbeat.interval_ms = 100;
  r.cfg.heartbeat.timeout_ms = 50;
  r.cfg.heartbeat.message = R"({"type":"ping"})";
  r.cfg.heartbeat.pong = R"({"type":"pong"})";
  r.make();
  r.ch->route_message(+1);
  r.open();
  r.s.advance(100);
  EXPECT_EQ(r.t.sent_texts(), std::vector<std::string>{R"({"type":"ping"})"});
  r.t.text(R"({"type":"pong"})");
  r.t.text("pong");  // not this channel's pong: a message
  EXPECT_EQ(r.ev.count(E::Text), 1u);
  r.s.advance(100);
  EXPECT_EQ(r.c().state(), State::Open);
  r.verify();
}

TEST_F(HeartbeatTest, TimeoutDropsAndReconnects) {
  ch->set_url(kUrl);
  t.accept();
  s.advance(1000);
  ASSERT_EQ(t.sent_texts().size(), 1u);
  s.advance(499);
  EXPECT_EQ(ch->state(), State::Open);
  s.advance(1);
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::HeartbeatTimeout});
  EXPECT_EQ(t.aborts, 1u);
  ASSERT_EQ(ev.count(E::Close), 1u);
  EXPECT_EQ(ev.of(E::Close)[0].code, 1006);
  EXPECT_FALSE(ev.of(E::Close)[0].clean);
  EXPECT_TRUE(ev.of(E::Close)[0].will_reconnect);
  EXPECT_EQ(ch->state(), State::Reconnecting);
  // No pings while waiting to reconnect.
  ASSERT_NO_FATAL_FAILURE(wait_retry(500));
  EXPECT_EQ(t.sent_texts().size(), 1u);
  ASSERT_TRUE(t.accept());
  s.advance(1000);
  EXPECT_EQ(t.sent_texts().size(), 2u);
}

TEST_F(HeartbeatTest, NoPingsWhileClosing) {
  ch->set_url(kUrl);
  t.accept();
  s.advance(500);
  ch->close(0, "");
  s.advance(4000);
  EXPECT_TRUE(t.sent.empty());
  t.server_close(1000);
  EXPECT_EQ(ch->state(), State::Closed);
  s.advance(10000);
  EXPECT_TRUE(t.sent.empty());
}

TEST_F(HeartbeatTest, ResumeProbesAtOnce) {
  ch->set_url(kUrl);
  t.accept();
  s.advance(300);
  ch->on_resume();
  s.advance(0);
  EXPECT_EQ(t.sent_texts(), std::vector<std::string>{"ping"});
  s.advance(500);
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::HeartbeatTimeout});
}

TEST_F(ChannelTest, HeartbeatIsOffByDefault) {
  make();
  ch->route_message(+1);
  open();
  EXPECT_FALSE(s.pending());
  s.advance(1e7);
  EXPECT_TRUE(t.sent.empty());
  t.text("ping");
  t.text("pong");
  EXPECT_EQ(ev.count(E::Text), 2u);  // without a heartbeat these are ordinary messages
}

}  // namespace
