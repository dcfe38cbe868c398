// Channel online/offline and resume: retries parked and resumed without burning attempts.
// Driven through FakeTransport / FakeScheduler / RecordingEvents (channel_rig.h).
#include "channel_rig.h"

namespace {

using namespace mc_test::channel_names;  // the rig's names (channel_rig.h)

// ============================================================================ online / offline

TEST_F(ChannelTest, OfflineParksRetriesWithoutBurningAttempts) {
  no_jitter();
  open();
  set_online(false);
  ASSERT_TRUE(t.server_close(1006, "", false));
  ASSERT_EQ(ev.count(E::Close), 1u);
  EXPECT_TRUE(ev.of(E::Close)[0].will_reconnect);
  EXPECT_EQ(ch->state(), State::Reconnecting);
  EXPECT_EQ(ev.count(E::Reconnecting), 0u);
  EXPECT_FALSE(s.pending());
  EXPECT_EQ(ch->attempt(), 0u);
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 1u);
  set_online(true);  // retry now
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens.size(), 2u);
  refuse();
  EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, 1u);
}

TEST_F(ChannelTest, GoingOfflineDuringBackoffParksTheRetry) {
  no_jitter();
  make();
  ch->set_url(kUrl);
  refuse();
  ASSERT_EQ(ch->state(), State::Reconnecting);
  set_online(false);
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 1u) << "retried while offline";
  EXPECT_EQ(ch->attempt(), 1u);
  set_online(true);
  EXPECT_EQ(t.opens.size(), 2u);
  EXPECT_EQ(ch->state(), State::Connecting);
}

TEST_F(ChannelTest, FailuresWhileOfflineDoNotBurnAttempts) {
  cfg.reconnect.max_retries = 1;
  make();
  ch->set_url(kUrl);
  set_online(false);
  for (int i = 0; i < 5; ++i) {
    refuse();
    EXPECT_EQ(ch->attempt(), 0u);
    EXPECT_EQ(ch->state(), State::Reconnecting);
    ASSERT_EQ(ch->reconnect_now(), ErrorCode::None);  // the user insists
  }
  EXPECT_EQ(ev.count(E::Error), 0u);
  EXPECT_EQ(ev.count(E::Reconnecting), 0u);
  set_online(true);  // connecting: nothing to do
  EXPECT_EQ(t.opens.size(), 6u);
}

TEST_F(ChannelTest, SetOnlineTwiceIsHarmless) {
  open();
  set_online(true);
  set_online(false);
  set_online(false);
  EXPECT_EQ(ch->state(), State::Open);
  set_online(true);
  EXPECT_EQ(ch->state(), State::Open);
  EXPECT_EQ(t.opens.size(), 1u);
}

TEST_F(ChannelTest, ResumeRetriesAWaitingReconnect) {
  make();
  ch->set_url(kUrl);
  refuse();
  ch->on_resume();
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens.size(), 2u);
}

}  // namespace
