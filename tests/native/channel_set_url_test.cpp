// Channel set_url(): the same URL, a new one mid-connect, mid-backoff and while open, "" (idle).
// Driven through FakeTransport / FakeScheduler / RecordingEvents (channel_rig.h).
#include "channel_rig.h"

namespace {

using namespace mc_test::channel_names;  // the rig's names (channel_rig.h)

// ============================================================================ set_url

TEST_F(ChannelTest, SameUrlIsANoOp) {
  no_jitter();
  open();
  const size_t events = ev.events.size();
  EXPECT_EQ(ch->set_url(kUrl), ErrorCode::None);
  EXPECT_EQ(ev.events.size(), events);
  EXPECT_EQ(t.opens.size(), 1u);
  EXPECT_EQ(t.aborts, 0u);
  EXPECT_EQ(ch->state(), State::Open);
  // While connecting and while waiting to retry, too.
  t.server_close(1006, "", false);
  ASSERT_EQ(ch->state(), State::Reconnecting);
  EXPECT_EQ(ch->set_url(kUrl), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Reconnecting);
  EXPECT_EQ(s.wake_in_ms(), 500);  // the backoff goes on
  wait_retry(500);
  EXPECT_EQ(ch->set_url(kUrl), ErrorCode::None);
  EXPECT_EQ(t.opens.size(), 2u);
  EXPECT_EQ(t.aborts, 0u);
}

// The JS layer's end-to-end key changed for the same URL: another channel all the same (a new
// socket, the open one closed as for another URL), and the queue is kept.
TEST_F(ChannelTest, SameUrlRenewedReplacesTheSocket) {
  no_jitter();
  open();
  EXPECT_EQ(ch->set_url(kUrl, /*renew=*/true), ErrorCode::None);
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_EQ(t.opens, (std::vector<std::string>{kUrl, kUrl}));
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(send("queued"), ErrorCode::None);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(ch->state(), State::Open);
  EXPECT_EQ(t.sent_texts(), (std::vector<std::string>{"queued"}));
  // Not renewed: the same URL stays a no-op.
  EXPECT_EQ(ch->set_url(kUrl), ErrorCode::None);
  EXPECT_EQ(t.aborts, 1u);
}

TEST_F(ChannelTest, NewUrlMidConnect) {
  make();
  ch->set_url(kUrl);
  send("a");
  ASSERT_EQ(ch->set_url(kUrl2), ErrorCode::None);
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_EQ(t.opens, (std::vector<std::string>{kUrl, kUrl2}));
  EXPECT_EQ(ch->url(), kUrl2);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(ev.strs(), std::vector<std::string>{"state idle->connecting"});  // no close: it never opened
  EXPECT_EQ(ch->queued_count(), 1u);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(t.sent_texts(), std::vector<std::string>{"a"});
}

TEST_F(ChannelTest, NewUrlMidBackoff) {
  no_jitter();
  make();
  ch->set_url(kUrl);
  refuse();
  wait_retry(500);
  refuse();
  ASSERT_EQ(ch->attempt(), 2u);
  ASSERT_EQ(ch->state(), State::Reconnecting);
  send("a");
  send("b");
  ASSERT_EQ(ch->set_url(kUrl2), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens.back(), kUrl2);
  EXPECT_EQ(t.opens.size(), 3u);
  EXPECT_EQ(ch->attempt(), 0u);
  EXPECT_EQ(ev.events.back().str(), "state reconnecting->connecting");
  s.advance(1000);  // the old retry time passes: no extra socket
  EXPECT_EQ(t.opens.size(), 3u);
  refuse();  // the attempt counter was reset
  EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, 1u);
  wait_retry(500);
  EXPECT_EQ(t.opens.back(), kUrl2);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(t.sent_texts(), (std::vector<std::string>{"a", "b"}));
}

TEST_F(ChannelTest, NewUrlWhileOpen) {
  open();
  ev.clear();
  ASSERT_EQ(ch->set_url(kUrl2), ErrorCode::None);
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_EQ(ev.strs(), (std::vector<std::string>{"close 1000 reconnect clean", "state open->connecting"}));
  EXPECT_EQ(t.opens.back(), kUrl2);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(ch->state(), State::Open);
}

TEST_F(ChannelTest, EmptyUrlDisconnectsAndWaitsIdle) {
  open();
  send("x");
  ev.clear();
  ASSERT_EQ(ch->set_url(""), ErrorCode::None);
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_EQ(ev.strs(), (std::vector<std::string>{"close 1000 final clean", "state open->idle"}));
  EXPECT_EQ(ch->state(), State::Idle);
  EXPECT_EQ(ch->url(), "");
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 1u);
  // The queue survives: what is sent while idle goes out on the next connection.
  send("y");
  EXPECT_EQ(ch->queued_count(), 1u);
  EXPECT_EQ(ch->set_url(""), ErrorCode::None);  // already idle
  ASSERT_EQ(ch->set_url(kUrl2), ErrorCode::None);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(t.sent_texts(), (std::vector<std::string>{"x", "y"}));
}

TEST_F(ChannelTest, EmptyUrlMidBackoffAndMidConnect) {
  make();
  ch->set_url(kUrl);
  refuse();
  ASSERT_EQ(ch->state(), State::Reconnecting);
  ASSERT_EQ(ch->set_url(""), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Idle);
  EXPECT_EQ(ch->attempt(), 0u);
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 1u);
  ch->set_url(kUrl);
  ASSERT_EQ(ch->set_url(""), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Idle);
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_EQ(ev.count(E::Close), 1u);  // only the refused attempt's
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 2u);
}

TEST_F(ChannelTest, SetUrlAfterStopClosesReconnects) {
  open();
  t.server_close(1008, "policy");
  ASSERT_EQ(ch->state(), State::Closed);
  ASSERT_EQ(ch->set_url(kUrl), ErrorCode::None);  // same URL: closed, so it is a restart
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens.size(), 2u);
}

}  // namespace
