// Channel close codes and refusals: which codes and HTTP statuses revoke, stop, or reconnect; connect timeouts.
// Driven through FakeTransport / FakeScheduler / RecordingEvents (channel_rig.h).
#include "channel_rig.h"

namespace {

using namespace mc_test::channel_names;  // the rig's names (channel_rig.h)

TEST_F(ChannelTest, RevokedOn4001DoesNotReconnect) {
  open();
  ASSERT_TRUE(t.server_close(4001, "rotated"));
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::Revoked});
  EXPECT_EQ(ev.of(E::Error)[0].detail, 4001);
  const auto closes = ev.of(E::Close);
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0].code, 4001);
  EXPECT_EQ(closes[0].data, "rotated");
  EXPECT_FALSE(closes[0].will_reconnect);
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_EQ(ev.count(E::Reconnecting), 0u);
  s.advance(3600 * 1000);
  EXPECT_EQ(t.opens.size(), 1u);
  // A later set_url resumes.
  ASSERT_EQ(ch->set_url(kUrl2), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens.back(), kUrl2);
}

// 1012 "service restart" (the relay on SIGTERM): the next attempt starts at once, without
// the backoff wait; if that attempt fails, backoff applies as usual.
TEST_F(ChannelTest, ServiceRestart1012ReconnectsAtOnceThenBacksOff) {
  no_jitter();
  open();
  s.advance(cfg.reconnect.stable_after_ms);
  ASSERT_TRUE(t.server_close(1012, "service restart"));
  const auto closes = ev.of(E::Close);
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0].code, 1012);
  EXPECT_TRUE(closes[0].will_reconnect);
  ASSERT_EQ(ev.count(E::Reconnecting), 1u);
  EXPECT_EQ(ev.of(E::Reconnecting)[0].delay, 0);
  wait_retry(0);
  EXPECT_TRUE(ev.errors().empty());
  refuse();  // the restarting relay is still down: back off from here (attempt 2)
  wait_retry(1000);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(ch->state(), State::Open);
}

// The same code while the connection was not yet stable still skips the wait once.
TEST_F(ChannelTest, ServiceRestart1012SkipsTheWaitEvenAfterFailedAttempts) {
  no_jitter();
  ASSERT_EQ(c().set_url(kUrl), ErrorCode::None);
  refuse();
  wait_retry(500);
  refuse();
  wait_retry(1000);
  ASSERT_TRUE(t.accept());
  ASSERT_TRUE(t.server_close(1012, ""));
  wait_retry(0);
}

// A server that keeps closing with 1012 right after the handshake (a crash loop) gets one
// immediate retry, then the usual backoff until a connection stays open stableAfterMs.
TEST_F(ChannelTest, ServiceRestart1012InALoopSkipsTheWaitOnlyOnce) {
  no_jitter();
  open();
  ASSERT_TRUE(t.server_close(1012, ""));
  wait_retry(0);
  ASSERT_TRUE(t.accept());
  ASSERT_TRUE(t.server_close(1012, ""));
  wait_retry(1000);  // attempt 2
  ASSERT_TRUE(t.accept());
  ASSERT_TRUE(t.server_close(1012, ""));
  wait_retry(2000);  // attempt 3
  ASSERT_TRUE(t.accept());
  s.advance(cfg.reconnect.stable_after_ms);  // stable again: the next 1012 skips the wait
  ASSERT_TRUE(t.server_close(1012, ""));
  wait_retry(0);
}

// 1013 "try again later" (the relay while Redis is away) backs off like any transient close.
TEST_F(ChannelTest, TryAgainLater1013ReconnectsWithBackoff) {
  no_jitter();
  open();
  ASSERT_TRUE(t.server_close(1013, "redis unavailable"));
  wait_retry(500);
}

// An upgrade answered with HTTP 404 (the relay does not know the channel: it expired or the
// relay restarted without its state) is terminal: REVOKED, no retries.
TEST_F(ChannelTest, UpgradeRefusedWith404IsRevokedAndNotRetried) {
  ASSERT_EQ(c().set_url(kUrl), ErrorCode::None);
  ASSERT_TRUE(t.refuse_upgrade(404));
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::Revoked});
  const Event e = ev.of(E::Error)[0];
  EXPECT_EQ(e.detail, 404);
  EXPECT_NE(e.data.find("HTTP 404"), std::string::npos) << e.data;
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_EQ(ev.count(E::Reconnecting), 0u);
  s.advance(3600 * 1000);
  EXPECT_EQ(t.opens.size(), 1u);
  ASSERT_EQ(ch->set_url(kUrl2), ErrorCode::None);  // setUrl() resumes
  EXPECT_EQ(ch->state(), State::Connecting);
}

TEST_F(ChannelTest, UpgradeRefusedWith410IsRevoked) {
  ASSERT_EQ(c().set_url(kUrl), ErrorCode::None);
  ASSERT_TRUE(t.refuse_upgrade(410));
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::Revoked});
  EXPECT_EQ(ch->state(), State::Closed);
}

// Other statuses are transient: the error names the status (detail too) and the channel retries.
TEST_F(ChannelTest, UpgradeRefusedWith503NamesTheStatusAndRetries) {
  no_jitter();
  ASSERT_EQ(c().set_url(kUrl), ErrorCode::None);
  ASSERT_TRUE(t.refuse_upgrade(503));
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::SocketError});
  const Event e = ev.of(E::Error)[0];
  EXPECT_EQ(e.detail, 503);
  EXPECT_NE(e.data.find("HTTP 503"), std::string::npos) << e.data;
  wait_retry(500);
  ASSERT_TRUE(t.refuse_upgrade(429));
  EXPECT_NE(ev.of(E::Error)[1].data.find("HTTP 429"), std::string::npos);
  wait_retry(1000);
}

// A listener that ends or moves the channel from inside the REVOKED error (or the close
// event) must not swallow the close event of the socket that was revoked.
TEST_F(ChannelTest, CloseFromTheRevokedErrorStillEmitsTheCloseEvent) {
  open();
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Error && e.error == ErrorCode::Revoked) EXPECT_EQ(ch->close(0, ""), ErrorCode::None);
  };
  ASSERT_TRUE(t.server_close(4001, "rotated"));
  ASSERT_EQ(ev.count(E::Close), 1u);
  EXPECT_EQ(ev.of(E::Close)[0].code, 4001);
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::Revoked});
  EXPECT_EQ(ch->state(), State::Closed);
}

TEST_F(ChannelTest, SetUrlFromTheRevokedErrorStillEmitsTheCloseEventAndConnects) {
  open();
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Error && e.error == ErrorCode::Revoked) EXPECT_EQ(ch->set_url(kUrl2), ErrorCode::None);
  };
  ASSERT_TRUE(t.server_close(4001, "rotated"));
  ASSERT_EQ(ev.count(E::Close), 1u);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens.back(), kUrl2);
}

TEST_F(ChannelTest, StopCodesReportSocketErrorAndDoNotReconnect) {
  for (int code : {1002, 1003, 1007, 1008, 1010, 3500, 3999, 4500, 4999}) {
    SCOPED_TRACE(code);
    Rig r;
    r.open();
    ASSERT_TRUE(r.t.server_close(code, "go away"));
    EXPECT_EQ(r.ev.errors(), std::vector<ErrorCode>{ErrorCode::SocketError});
    EXPECT_EQ(r.ev.of(E::Error)[0].detail, code);
    ASSERT_EQ(r.ev.count(E::Close), 1u);
    EXPECT_FALSE(r.ev.of(E::Close)[0].will_reconnect);
    EXPECT_EQ(r.ev.of(E::Close)[0].code, code);
    EXPECT_EQ(r.ch->state(), State::Closed);
    r.s.advance(3600 * 1000);
    EXPECT_EQ(r.t.opens.size(), 1u);
    r.verify();
  }
}

TEST_F(ChannelTest, ReconnectCodesReconnect) {
  for (int code : {1000, 1001, 1006, 1009, 1011, 1012, 1013, 3000, 3499, 4000, 4499}) {
    SCOPED_TRACE(code);
    Rig r;
    r.open();
    ASSERT_TRUE(r.t.server_close(code, ""));
    EXPECT_EQ(r.ev.count(E::Error), 0u);
    ASSERT_EQ(r.ev.count(E::Close), 1u);
    EXPECT_TRUE(r.ev.of(E::Close)[0].will_reconnect);
    EXPECT_EQ(r.ch->state(), State::Reconnecting);
    EXPECT_EQ(r.ev.count(E::Reconnecting), 1u);
    r.verify();
  }
}

TEST_F(ChannelTest, ReconnectDisabledClosesOnDrop) {
  cfg.reconnect.enabled = false;
  open();
  ASSERT_TRUE(t.server_close(1006, "", false));
  EXPECT_EQ(ch->state(), State::Closed);
  ASSERT_EQ(ev.count(E::Close), 1u);
  EXPECT_FALSE(ev.of(E::Close)[0].will_reconnect);
  s.advance(1e6);
  EXPECT_EQ(t.opens.size(), 1u);
}

TEST_F(ChannelTest, ConnectTimeoutThenRetry) {
  cfg.reconnect.connect_timeout_ms = 3000;
  s.random_value = 0.5;
  make();
  ch->set_url(kUrl);
  s.advance(2999);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(ev.count(E::Error), 0u);
  s.advance(1);
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::ConnectTimeout});
  EXPECT_NE(ev.of(E::Error)[0].data.find("3000"), std::string::npos);
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_EQ(t.sock, FakeTransport::Sock::None);
  ASSERT_EQ(ev.count(E::Close), 1u);
  EXPECT_EQ(ev.of(E::Close)[0].code, 1006);
  EXPECT_FALSE(ev.of(E::Close)[0].clean);
  EXPECT_TRUE(ev.of(E::Close)[0].will_reconnect);
  ASSERT_EQ(ev.count(E::Reconnecting), 1u);
  EXPECT_EQ(ev.of(E::Reconnecting)[0].attempt, 1u);
  EXPECT_EQ(ev.of(E::Reconnecting)[0].delay, 250);
  wait_retry(250);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(ch->state(), State::Open);
  s.advance(1e6);  // the old deadline is gone
  EXPECT_EQ(ch->state(), State::Open);
  EXPECT_EQ(ev.count(E::Error), 1u);
}

TEST_F(ChannelTest, InfiniteConnectTimeoutNeverFires) {
  cfg.reconnect.connect_timeout_ms = std::numeric_limits<double>::infinity();
  make();
  ch->set_url(kUrl);
  EXPECT_FALSE(s.pending());
  s.advance(1e9);
  EXPECT_EQ(ch->state(), State::Connecting);
}

TEST_F(ChannelTest, OpenFailureCountsAsAFailedAttempt) {
  no_jitter();
  t.fail_open = true;
  make();
  ASSERT_EQ(ch->set_url(kUrl), ErrorCode::None);
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::SocketError});
  EXPECT_EQ(ch->state(), State::Reconnecting);
  ASSERT_EQ(ev.count(E::Reconnecting), 1u);
  EXPECT_EQ(ev.of(E::Reconnecting)[0].delay, 500);
  t.fail_open = false;
  wait_retry(500);
  ASSERT_TRUE(t.accept());
}

}  // namespace
