// Channel close(): the handshake, its timeout, and the queue drained first (closeTimeoutMs) or reported dropped.
// Driven through FakeTransport / FakeScheduler / RecordingEvents (channel_rig.h).
#include "channel_rig.h"

namespace {

using namespace mc_test::channel_names;  // the rig's names (channel_rig.h)

TEST_F(ChannelTest, CloseWhileConnectingSendsTheQueueFirst) {
  make();
  ch->set_url(kUrl);
  send("a");
  send_bin("b");
  ASSERT_EQ(ch->close(4000, "done"), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Connecting);  // waiting for the connection, not dropping
  EXPECT_EQ(ch->queued_count(), 2u);
  EXPECT_EQ(ch->send_text("c", 1), ErrorCode::Closed);  // close() is final all the same
  t.accept();
  ASSERT_EQ(t.sent.size(), 2u);
  EXPECT_EQ(t.sent[0].bytes, "a");
  EXPECT_TRUE(t.sent[1].binary);
  EXPECT_EQ(ch->state(), State::Closing);
  ASSERT_EQ(t.closes.size(), 1u);
  EXPECT_EQ(t.closes[0].first, 4000);
  EXPECT_EQ(t.closes[0].second, "done");
  EXPECT_EQ(ev.count(E::Open), 0u);  // the user already closed: no "open" for this socket
  EXPECT_EQ(ev.count(E::Error), 0u);
  t.server_close(4000);
  EXPECT_EQ(ch->state(), State::Closed);
  verify();
}

TEST_F(ChannelTest, CloseWhileReconnectingRetriesNowToSendTheQueue) {
  cfg.reconnect.min_delay_ms = 60000;
  cfg.reconnect.max_delay_ms = 60000;
  make();
  ch->set_url(kUrl);
  t.accept();
  t.server_close(1006);
  ASSERT_EQ(ch->state(), State::Reconnecting);
  send("late");
  const size_t opens = t.opens.size();
  ch->close(0, "");
  EXPECT_EQ(t.opens.size(), opens + 1);  // no 60 s backoff wait
  t.accept();
  ASSERT_FALSE(t.sent.empty());
  EXPECT_EQ(t.sent.back().bytes, "late");
  EXPECT_EQ(ch->state(), State::Closing);
  verify();
}

TEST_F(ChannelTest, CloseDrainIsBoundedByCloseTimeout) {
  cfg.close_drain_ms = 3000;
  cfg.reconnect.connect_timeout_ms = 1000;
  cfg.reconnect.min_delay_ms = 100;
  cfg.reconnect.max_delay_ms = 100;
  cfg.reconnect.full_jitter = false;
  cfg.reconnect.jitter_fraction = 0;
  make();
  ch->set_url(kUrl);
  send("a");
  ch->close(0, "");
  s.advance(2999);
  EXPECT_NE(ch->state(), State::Closed);  // still trying (attempts time out and retry)
  EXPECT_EQ(ch->queued_count(), 1u);
  s.advance(1);
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_EQ(ch->queued_count(), 0u);
  const auto errors = ev.errors();
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors.back(), ErrorCode::Closed);
  EXPECT_EQ(ev.of(E::Error).back().detail, 1);
  EXPECT_NE(ev.of(E::Error).back().data.find("closeTimeoutMs"), std::string::npos);
  verify();
  EXPECT_FALSE(s.pending());
}

TEST_F(ChannelTest, CloseDrainEndsWithTheQueueReportedWhenTheUrlIsRevoked) {
  make();
  ch->set_url(kUrl);
  send("a");
  ch->close(0, "");
  t.server_close(4001);  // the handshake is refused with "revoked"
  EXPECT_EQ(ch->state(), State::Closed);
  const auto errors = ev.errors();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0], ErrorCode::Revoked);
  EXPECT_EQ(errors[1], ErrorCode::Closed);
  verify();
}

TEST_F(ChannelTest, CloseDrainWithAnInfiniteTimeoutWaitsForTheConnection) {
  cfg.close_drain_ms = std::numeric_limits<double>::infinity();  // closeTimeoutMs: Infinity
  cfg.reconnect.min_delay_ms = cfg.reconnect.max_delay_ms = 1000;
  no_jitter();
  make();
  ch->set_url(kUrl);
  send("a");
  ch->close(0, "");
  ASSERT_TRUE(t.server_close(1006, "", false));  // the handshake fails: retry after the backoff
  EXPECT_EQ(ch->state(), State::Reconnecting);
  EXPECT_TRUE(s.pending());
  s.advance(1000);
  EXPECT_EQ(ch->state(), State::Connecting) << "the wait to send the queue retries";
  ASSERT_TRUE(t.accept());
  ASSERT_EQ(t.sent.size(), 1u);
  EXPECT_EQ(t.sent[0].bytes, "a");
  EXPECT_EQ(ch->state(), State::Closing);
  EXPECT_EQ(ev.count(E::Error), 0u);
  verify();
}

TEST_F(ChannelTest, CloseWithoutDrainDropsAtOnce) {
  cfg.close_drain_ms = 0;
  make();
  ch->set_url(kUrl);
  send("a");
  ch->close(0, "");
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::Closed});
  EXPECT_EQ(t.aborts, 1u);
  verify();
}

// ============================================================================ close

TEST_F(ChannelTest, CloseWhileOpenDoesTheHandshake) {
  open();
  ev.clear();
  ASSERT_EQ(ch->close(4000, "bye"), ErrorCode::None);
  EXPECT_TRUE(ch->closed_by_user());
  ASSERT_EQ(t.closes.size(), 1u);
  EXPECT_EQ(t.closes[0], std::make_pair(4000, std::string("bye")));
  EXPECT_EQ(ch->state(), State::Closing);
  EXPECT_EQ(mc_test::ready_state(ch->state()), 2);
  EXPECT_EQ(ev.strs(), std::vector<std::string>{"state open->closing"});
  ASSERT_TRUE(t.server_close(4000, "bye"));
  EXPECT_EQ(ev.strs(),
            (std::vector<std::string>{"state open->closing", "close 4000 final clean", "state closing->closed"}));
  EXPECT_EQ(ev.of(E::Close)[0].data, "bye");
  EXPECT_EQ(t.aborts, 0u);
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 1u);
}

TEST_F(ChannelTest, CloseWithoutCodeSends1000) {
  open();
  ch->close(0, "");
  ASSERT_EQ(t.closes.size(), 1u);
  EXPECT_EQ(t.closes[0].first, 1000);
  t.server_close(1000);
}

TEST_F(ChannelTest, CloseHandshakeTimesOut) {
  open();
  ch->close(1000, "");
  s.advance(4999);
  EXPECT_EQ(ch->state(), State::Closing);
  s.advance(1);
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_EQ(t.aborts, 1u);
  ASSERT_EQ(ev.count(E::Close), 1u);
  EXPECT_EQ(ev.of(E::Close)[0].code, 1006);
  EXPECT_FALSE(ev.of(E::Close)[0].clean);
  EXPECT_FALSE(ev.of(E::Close)[0].will_reconnect);
}

TEST_F(ChannelTest, CloseWhileConnecting) {
  make();
  ch->set_url(kUrl);
  ASSERT_EQ(ch->close(0, ""), ErrorCode::None);
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_TRUE(t.closes.empty());
  EXPECT_EQ(ch->state(), State::Closed);
  ASSERT_EQ(ev.count(E::Close), 1u);
  EXPECT_FALSE(ev.of(E::Close)[0].will_reconnect);
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 1u);
}

TEST_F(ChannelTest, CloseDuringBackoffStopsRetrying) {
  make();
  ch->set_url(kUrl);
  refuse();
  ASSERT_EQ(ch->state(), State::Reconnecting);
  ev.clear();
  ASSERT_EQ(ch->close(0, ""), ErrorCode::None);
  EXPECT_EQ(ev.strs(), std::vector<std::string>{"state reconnecting->closed"});
  EXPECT_FALSE(s.pending());
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 1u);
  EXPECT_EQ(ch->state(), State::Closed);
}

TEST_F(ChannelTest, CloseWhenIdle) {
  make();
  ASSERT_EQ(ch->close(0, ""), ErrorCode::None);
  EXPECT_EQ(ev.strs(), std::vector<std::string>{"state idle->closed"});
  EXPECT_TRUE(t.opens.empty());
}

}  // namespace
