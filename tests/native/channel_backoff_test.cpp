// Channel reconnect backoff: jitter, maxRetries, the attempt counter, and reconnect_now().
// Driven through FakeTransport / FakeScheduler / RecordingEvents (channel_rig.h).
#include "channel_rig.h"

namespace {

using namespace mc_test::channel_names;  // the rig's names (channel_rig.h)

// ============================================================================ backoff

TEST_F(ChannelTest, FullJitterDelaysForAttemptsOneToTen) {
  s.random_value = 0.5;
  make();
  ch->set_url(kUrl);
  const double base[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000};
  for (uint32_t attempt = 1; attempt <= 10; ++attempt) {
    SCOPED_TRACE(attempt);
    refuse();
    const Event r = ev.of(E::Reconnecting).back();
    EXPECT_EQ(r.attempt, attempt);
    EXPECT_EQ(r.delay, base[attempt - 1] / 2);
    EXPECT_EQ(ch->attempt(), attempt);
    ASSERT_NO_FATAL_FAILURE(wait_retry(base[attempt - 1] / 2));
  }
  EXPECT_EQ(t.opens.size(), 11u);
}

TEST_F(ChannelTest, FullJitterFollowsTheRandomSample) {
  s.randoms = {0.0, 0.25, kAlmostOne, 0.1};
  make();
  ch->set_url(kUrl);
  const double expected[] = {0, 250, 2000 * kAlmostOne, 400};
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    refuse();
    const Event r = ev.of(E::Reconnecting).back();
    EXPECT_DOUBLE_EQ(r.delay, expected[i]);
    EXPECT_GE(r.delay, 0);
    EXPECT_LE(r.delay, 500.0 * (1 << i));
    ASSERT_NO_FATAL_FAILURE(wait_retry(r.delay));
  }
}

TEST_F(ChannelTest, FractionJitterDelays) {
  for (double u : {0.0, 0.5, kAlmostOne}) {
    SCOPED_TRACE(u);
    Rig r;
    r.cfg.reconnect.full_jitter = false;
    r.cfg.reconnect.jitter_fraction = 0.25;
    r.s.random_value = u;
    r.c().set_url(kUrl);
    const double base[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000};
    for (uint32_t attempt = 1; attempt <= 8; ++attempt) {
      SCOPED_TRACE(attempt);
      r.refuse();
      const Event e = r.ev.of(E::Reconnecting).back();
      EXPECT_EQ(e.attempt, attempt);
      const double b = base[attempt - 1];
      EXPECT_NEAR(e.delay, b * (0.75 + 0.5 * u), 1e-6);
      EXPECT_GE(e.delay, b * 0.75);
      EXPECT_LE(e.delay, b * 1.25);
      ASSERT_NO_FATAL_FAILURE(r.wait_retry(e.delay));
    }
    r.verify();
  }
}

TEST_F(ChannelTest, MaxRetries) {
  cfg.reconnect.max_retries = 3;
  s.random_value = 0.5;
  make();
  ch->set_url(kUrl);
  for (uint32_t attempt = 1; attempt <= 3; ++attempt) {
    SCOPED_TRACE(attempt);
    refuse();
    EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, attempt);
    EXPECT_EQ(ev.count(E::Error), 0u);
    ASSERT_NO_FATAL_FAILURE(wait_retry(250.0 * (1 << (attempt - 1))));
  }
  refuse();
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::RetriesExhausted});
  EXPECT_EQ(ev.of(E::Error)[0].detail, 3);
  EXPECT_EQ(ev.count(E::Reconnecting), 3u);
  EXPECT_FALSE(ev.of(E::Close).back().will_reconnect);
  EXPECT_EQ(ev.events.back().str(), "state connecting->closed");
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_EQ(t.opens.size(), 4u);
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 4u);
}

TEST_F(ChannelTest, MaxRetriesZeroGivesUpAtOnce) {
  cfg.reconnect.max_retries = 0;
  open();
  t.server_close(1006, "", false);
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::RetriesExhausted});
  EXPECT_EQ(ev.of(E::Error)[0].detail, 0);
  EXPECT_EQ(ch->state(), State::Closed);
}

TEST_F(ChannelTest, StableUptimeResetsTheAttemptCounter) {
  no_jitter();
  cfg.reconnect.stable_after_ms = 5000;
  make();
  ch->set_url(kUrl);
  // A server that accepts and hangs up at once: the delays keep growing.
  const double grow[] = {500, 1000, 2000};
  for (double d : grow) {
    ASSERT_TRUE(t.accept());
    ASSERT_TRUE(t.server_close(1006, "", false));
    EXPECT_EQ(ev.of(E::Reconnecting).back().delay, d);
    ASSERT_NO_FATAL_FAILURE(wait_retry(d));
  }
  // Open for just under stableAfterMs: still counts as flapping.
  ASSERT_TRUE(t.accept());
  s.advance(4999);
  ASSERT_TRUE(t.server_close(1006, "", false));
  EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, 4u);
  EXPECT_EQ(ev.of(E::Reconnecting).back().delay, 4000);
  ASSERT_NO_FATAL_FAILURE(wait_retry(4000));
  // Open for stableAfterMs: the next drop starts again from attempt 1.
  ASSERT_TRUE(t.accept());
  s.advance(5000);
  ASSERT_TRUE(t.server_close(1001, "restart"));
  EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, 1u);
  EXPECT_EQ(ev.of(E::Reconnecting).back().delay, 500);
  EXPECT_EQ(ch->attempt(), 1u);
}

TEST_F(ChannelTest, ErrorOnlyRefusalCountsAsAFailedAttempt) {
  // Node 20's WebSocket reports a refused connection with "error" and never "close".
  no_jitter();
  make();
  ch->set_url(kUrl);
  ASSERT_TRUE(t.error());
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::SocketError});
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_EQ(t.sock, FakeTransport::Sock::None);
  ASSERT_EQ(ev.count(E::Close), 1u);
  EXPECT_EQ(ev.of(E::Close)[0].code, 1006);
  EXPECT_FALSE(ev.of(E::Close)[0].clean);
  EXPECT_TRUE(ev.of(E::Close)[0].will_reconnect);
  EXPECT_EQ(ch->state(), State::Reconnecting);
  EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, 1u);
  ASSERT_NO_FATAL_FAILURE(wait_retry(500));
  ASSERT_TRUE(t.error());
  EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, 2u);
  ASSERT_NO_FATAL_FAILURE(wait_retry(1000));
  // A browser follows the error with close(1006): the socket is already forgotten, so the
  // channel cannot see it twice.
  ASSERT_TRUE(t.error());
  EXPECT_FALSE(t.server_close(1006, "", false));
  EXPECT_EQ(ev.count(E::Close), 3u);
  EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, 3u);
}

TEST_F(ChannelTest, ErrorWhileOpenIsReportedAndTheCloseDecides) {
  open();
  ASSERT_TRUE(t.error());
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::SocketError});
  EXPECT_EQ(ch->state(), State::Open);
  EXPECT_EQ(t.aborts, 0u);
  ASSERT_TRUE(t.server_close(1006, "", false));
  EXPECT_EQ(ch->state(), State::Reconnecting);
}

// ============================================================================ reconnect_now

TEST_F(ChannelTest, ReconnectNowAfterRetriesExhausted) {
  cfg.reconnect.max_retries = 1;
  s.random_value = 0;
  make();
  ch->set_url(kUrl);
  refuse();
  wait_retry(0);
  refuse();
  ASSERT_EQ(ch->state(), State::Closed);
  ASSERT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::RetriesExhausted});
  ASSERT_EQ(ch->reconnect_now(), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(ch->attempt(), 0u);
  EXPECT_EQ(t.opens.size(), 3u);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(ch->state(), State::Open);
  t.server_close(1006, "", false);  // a fresh budget
  EXPECT_EQ(ch->state(), State::Reconnecting);
  EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, 1u);
}

TEST_F(ChannelTest, ReconnectNowAfterRevoked) {
  open();
  t.server_close(4001, "");
  ASSERT_EQ(ch->state(), State::Closed);
  ASSERT_EQ(ch->reconnect_now(), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens, (std::vector<std::string>{kUrl, kUrl}));
  ASSERT_TRUE(t.accept());
}

TEST_F(ChannelTest, ReconnectNowDuringBackoffRetriesImmediately) {
  no_jitter();
  make();
  ch->set_url(kUrl);
  refuse();
  wait_retry(500);
  refuse();
  ASSERT_EQ(ch->attempt(), 2u);
  ASSERT_EQ(ch->reconnect_now(), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens.size(), 3u);
  EXPECT_EQ(ch->attempt(), 0u);
  s.advance(1000);  // the cancelled retry does not fire
  EXPECT_EQ(t.opens.size(), 3u);
  refuse();
  EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, 1u);
}

TEST_F(ChannelTest, ReconnectNowWhileOpenOrIdleChangesNothing) {
  make();
  EXPECT_EQ(ch->reconnect_now(), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Idle);
  open();
  EXPECT_EQ(ch->reconnect_now(), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Open);
  EXPECT_EQ(t.opens.size(), 1u);
}

}  // namespace
