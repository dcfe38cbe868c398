// Presence, with real mc::Channel peers on an in-memory broadcast relay (net.h): join, update,
// leave, hidden pages, renew and timeout, state size.
#include "reliability_rig.h"

namespace {

TEST(PresenceTest, JoinUpdateLeave) {
  Net net;
  mc::ChannelConfig cfg = reliable_config(true);
  cfg.reliable.enabled = false;
  cfg.presence.state = "{\"name\":\"a\"}";
  NetPeer& a = net.add(cfg);
  cfg.presence.state = "{\"name\":\"b\"}";
  NetPeer& b = net.add(cfg);
  net.advance(rel::kAnswerMinIntervalMs + rel::kAnswerDelayMaxMs);  // answers to "ask" come after a short delay
  EXPECT_EQ(presence_of(a), (std::vector<std::string>{"peer1={\"name\":\"b\"}"}));
  EXPECT_EQ(presence_of(b), (std::vector<std::string>{"peer0={\"name\":\"a\"}"}));
  EXPECT_EQ(a.ch->set_presence("{\"name\":\"a\",\"typing\":true}"), ErrorCode::None);
  net.advance(100);
  EXPECT_EQ(presence_of(b), (std::vector<std::string>{"peer0={\"name\":\"a\",\"typing\":true}"}));
  EXPECT_NE(b.ev.presence.back().find("\"updated\":{\"peer0\""), std::string::npos);
  const size_t before = b.ev.presence.size();
  EXPECT_EQ(a.ch->set_presence("{\"name\":\"a\",\"typing\":true}"), ErrorCode::None);
  net.advance(100);
  EXPECT_EQ(b.ev.presence.size(), before) << "the same state again is no update";
  a.ch->close(1000, "");
  net.pump();
  EXPECT_TRUE(presence_of(b).empty()) << "a close says goodbye at once";
  expect_clean(net);
}

TEST(PresenceTest, HiddenPageLeavesAndShownPageRejoins) {
  Net net;
  mc::ChannelConfig cfg = reliable_config(true);
  NetPeer& a = net.add(cfg);
  NetPeer& b = net.add(cfg);
  net.advance(300);
  a.ch->set_hidden(true);
  net.pump();
  EXPECT_TRUE(presence_of(b).empty());
  a.ch->set_hidden(false);
  net.advance(300);
  EXPECT_EQ(presence_of(b).size(), 1u);
  (void)a;
}

TEST(PresenceTest, RenewKeepsAPeerAndSilenceTimesItOut) {
  Net net;
  mc::ChannelConfig cfg = reliable_config(true);
  cfg.presence.renew_ms = 1000;
  cfg.presence.timeout_ms = 3000;
  NetPeer& a = net.add(cfg);
  NetPeer& b = net.add(cfg);
  net.advance(10000);
  EXPECT_EQ(presence_of(b).size(), 1u) << "renewed every second";
  EXPECT_GE(sent_with(a, "\"op\":\"hi\""), 9u);
  net.blackhole[0] = true;  // a vanishes without a word
  net.advance(1500);        // its last renew was within the last second
  EXPECT_EQ(presence_of(b).size(), 1u);
  net.advance(2000);
  EXPECT_TRUE(presence_of(b).empty()) << "gone after the timeout";
  expect_clean(net);
}

TEST(PresenceTest, StateSizeIsBoundedBothWays) {
  Net net;
  mc::ChannelConfig cfg = reliable_config(true);
  cfg.presence.max_state_bytes = 64;
  NetPeer& a = net.add(cfg);
  const std::string big = "\"" + std::string(100, 'x') + "\"";
  EXPECT_EQ(a.ch->set_presence(big), ErrorCode::InvalidArgument);
  EXPECT_NE(a.ch->last_error().find("maxStateBytes is 64"), std::string::npos);
  EXPECT_EQ(a.ch->set_presence("{not json"), ErrorCode::InvalidArgument);
  EXPECT_EQ(a.ch->set_presence(std::string(200, '[') + std::string(200, ']')), ErrorCode::InvalidArgument);
  // A peer announcing a state larger than ours allows is not taken in.
  a.t.text("{\"type\":\"_mc\",\"op\":\"hi\",\"from\":\"huge\",\"state\":" + big + "}");
  EXPECT_EQ(mc_test::rel(*a.ch).presence_state_bytes("huge"), -1);
  a.t.text("{\"type\":\"_mc\",\"op\":\"hi\",\"from\":\"ok\",\"state\":{\"a\":1}}");
  EXPECT_EQ(mc_test::rel(*a.ch).presence_state_bytes("ok"), 7);
  // Without presence: setPresence is refused.
  Net net2;
  NetPeer& r = net2.add(reliable_config());
  EXPECT_EQ(r.ch->set_presence("1"), ErrorCode::InvalidArgument);
}

// ---------------------------------------------------------------------------------- bounds

TEST(PresenceTest, HiddenWhileDisconnectedDoesNotSpinTheTimer) {
  // Found by reliable_fuzz: a renew deadline left in the past made every wake-up re-arm at once.
  Net net;
  mc::ChannelConfig cfg = reliable_config(true);
  cfg.presence.renew_ms = 1000;
  NetPeer& a = net.add(cfg);
  net.add(cfg);
  a.auto_accept = false;
  net.kill(0);
  a.ch->set_hidden(true);
  net.advance(3000);
  a.auto_accept = true;
  net.advance(100);
  EXPECT_EQ(a.ch->state(), mc::State::Open);
  const size_t before = a.s.fires;
  net.advance(60000);
  EXPECT_LT(a.s.fires - before, 200u) << "a minute open (hidden) wakes up rarely";
  expect_clean(net);
}

}  // namespace
