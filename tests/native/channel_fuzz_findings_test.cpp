// Channel fuzz findings: scenarios tests/fuzz found, kept as regression tests.
// Driven through FakeTransport / FakeScheduler / RecordingEvents (channel_rig.h).
#include "channel_rig.h"

namespace {

using namespace mc_test::channel_names;  // the rig's names (channel_rig.h)

// ============================================================================ fuzz findings
// Each test replays, by name, the calls and events of an input the channel_fuzz target found
// (kept in tests/fuzz/corpus/channel_fuzz/); docs/security.md lists them.

// channel_fuzz-crash-c4af66fa: "invariant broken after step close: a socket is live (state
// closed)". close() during a parked (offline) backoff reported the queued messages it dropped
// before reaching Closed; a listener of that error called set_online(true), which restarted
// the attempt close() had just ended, and close() then moved to Closed over a live socket.
TEST_F(ChannelTest, FuzzFindingSetOnlineFromTheErrorOfCloseDoesNotReopen) {
  cfg.close_drain_ms = 0;  // close() drops the queue at once (the finding's path)
  open();
  set_online(false);
  ASSERT_TRUE(t.server_close(1000, "", true));  // the server drops us while offline
  ASSERT_EQ(ch->state(), State::Reconnecting);  // the retry is parked until online
  ASSERT_FALSE(s.pending());
  ASSERT_EQ(send("m"), ErrorCode::None);  // queued for the next connection
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Error && e.error == ErrorCode::Closed) set_online(true);  // the browser's "online"
  };
  ev.clear();
  ASSERT_EQ(ch->close(1000, "r"), ErrorCode::None);
  EXPECT_EQ(ev.strs(), (std::vector<std::string>{"error CLOSED", "state reconnecting->closed"}));
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_FALSE(t.live()) << "close() left a socket open";
  EXPECT_EQ(t.opens.size(), 1u) << "a socket was opened after close()";
  EXPECT_FALSE(s.pending());
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 1u);
}

// The same window, entered through on_resume() (a page back from the background) while a
// retry is waiting online.
TEST_F(ChannelTest, FuzzFindingResumeFromTheErrorOfCloseDoesNotReopen) {
  cfg.close_drain_ms = 0;  // close() drops the queue at once (the finding's path)
  open();
  ASSERT_TRUE(t.server_close(1006, "", false));
  ASSERT_EQ(ch->state(), State::Reconnecting);
  ASSERT_EQ(send("m"), ErrorCode::None);
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Error && e.error == ErrorCode::Closed) ch->on_resume();
  };
  ev.clear();
  ASSERT_EQ(ch->close(0, ""), ErrorCode::None);
  EXPECT_EQ(ev.strs(), (std::vector<std::string>{"error CLOSED", "state reconnecting->closed"}));
  EXPECT_FALSE(t.live()) << "close() left a socket open";
  EXPECT_EQ(t.opens.size(), 1u) << "a socket was opened after close()";
  EXPECT_FALSE(s.pending());
}

// The same once close() has waited for a connection to send the queue and gave up: the
// dropped-messages error comes after the wait, and resume() or online from it reopens nothing.
TEST_F(ChannelTest, ResumeFromTheErrorOfAFailedDrainDoesNotReopen) {
  cfg.close_drain_ms = 1000;
  cfg.reconnect.min_delay_ms = cfg.reconnect.max_delay_ms = 60000;
  no_jitter();
  open();
  ASSERT_TRUE(t.server_close(1006, "", false));
  ASSERT_EQ(send("m"), ErrorCode::None);
  ASSERT_EQ(ch->close(0, ""), ErrorCode::None);
  ASSERT_EQ(ch->state(), State::Connecting);  // the drain retries at once
  const size_t opens = t.opens.size();
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Error && e.error == ErrorCode::Closed) {
      ch->on_resume();
      ch->set_online(false);
      ch->set_online(true);
    }
  };
  s.advance(1000);  // no connection within close_drain_ms
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_FALSE(t.live()) << "close() left a socket open";
  EXPECT_EQ(t.opens.size(), opens) << "a socket was opened after the drain gave up";
  EXPECT_FALSE(s.pending());
}

// channel_fuzz-crash-d6dba2dd (found by the fuzzer minutes after close() learned to send the
// queue first): "a wake-up is pending (state closed)". With reconnect off, a failed handshake
// emits its final close event while the state is still Connecting but the socket is gone; a
// close() from that listener saw "connecting" and started waiting to send the queue, arming a
// wake-up that outlived the move to Closed. Only a live handshake (or a waiting retry) is worth
// waiting for.
TEST_F(ChannelTest, FuzzFindingCloseFromTheFinalCloseEventOfAFailedHandshakeDoesNotWait) {
  cfg.reconnect.enabled = false;
  make();
  ASSERT_EQ(ch->set_url(kUrl), ErrorCode::None);
  ASSERT_EQ(send("m"), ErrorCode::None);
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Close) ch->close(0, "");
  };
  ASSERT_TRUE(t.error());  // the handshake fails: error, then the final close event
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_EQ(ch->queued_count(), 0u);
  EXPECT_FALSE(s.pending()) << "a wake-up outlived close()";
  const auto errors = ev.errors();
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors.back(), ErrorCode::Closed);  // the queued message is reported, not lost
  verify();
}

// After close() has finished, the browser signals change nothing either.
TEST_F(ChannelTest, OnlineAndResumeAfterCloseDoNothing) {
  open();
  set_online(false);
  ASSERT_TRUE(t.server_close(1006, "", false));
  ASSERT_EQ(ch->close(0, ""), ErrorCode::None);
  ev.clear();
  set_online(true);
  ch->on_resume();
  EXPECT_TRUE(ev.events.empty());
  EXPECT_EQ(t.opens.size(), 1u);
  EXPECT_EQ(ch->state(), State::Closed);
}

// channel_fuzz-crash-4e19eb89: "invariant broken after step set_url: a wake-up is pending
// (state idle)". With a heartbeat, set_url("") while open emits the close event while the state
// is still Open but the socket is already gone; on_resume() from that listener (a page shown
// again) "probed" the dead socket: it armed a heartbeat wake-up that outlived the move to Idle.
TEST_F(HeartbeatTest, FuzzFindingResumeFromTheCloseEventOfSetUrlNullArmsNoTimer) {
  open();
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Close) ch->on_resume();
  };
  ev.clear();
  ASSERT_EQ(ch->set_url(""), ErrorCode::None);
  EXPECT_EQ(ev.strs(), (std::vector<std::string>{"close 1000 final clean", "state open->idle"}));
  EXPECT_EQ(ch->state(), State::Idle);
  EXPECT_FALSE(s.pending()) << "a heartbeat wake-up outlived the socket";
  s.advance(1e6);
  EXPECT_TRUE(t.sent.empty()) << "pinged a socket that is gone";
}

// The same window in a drop: the retry waits its backoff, not a probe due at once.
TEST_F(HeartbeatTest, ResumeFromTheCloseEventOfADropKeepsTheBackoff) {
  open();
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Close) ch->on_resume();
  };
  ASSERT_TRUE(t.server_close(1006, "", false));
  ASSERT_EQ(ch->state(), State::Reconnecting);
  ASSERT_TRUE(s.pending());
  EXPECT_DOUBLE_EQ(s.wake_in_ms(), 500);
}

}  // namespace
