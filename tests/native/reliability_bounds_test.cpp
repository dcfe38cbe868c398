// Reliable delivery and presence against a hostile or huge peer: every per-sender, held and
// rate bound, sequence numbers near 2^53, hostile control messages.
#include "reliability_rig.h"

namespace {

TEST(ReliabilityBounds, PerSenderStateIsCappedAndEveryFrameStillDelivered) {
  Net net;
  NetPeer& b = net.add(reliable_config());
  const int n = static_cast<int>(rel::kMaxPeers) * 3;
  for (int i = 0; i < n; ++i) b.t.text(tagged("forged" + std::to_string(i), 1, i));
  EXPECT_LE(mc_test::rel(*b.ch).peer_count(), rel::kMaxPeers);
  EXPECT_EQ(b.ev.texts.size(), static_cast<size_t>(n));
}

TEST(ReliabilityBounds, PresencePeersAreCappedToo) {
  Net net;
  NetPeer& b = net.add(reliable_config(true));
  for (size_t i = 0; i < rel::kMaxPeers + 50; ++i) {
    b.t.text("{\"type\":\"_mc\",\"op\":\"hi\",\"from\":\"p" + std::to_string(i) + "\",\"state\":1}");
  }
  EXPECT_LE(mc_test::rel(*b.ch).present_count(), rel::kMaxPeers);
  EXPECT_LE(mc_test::rel(*b.ch).peer_count(), rel::kMaxPeers);
  b.t.text(tagged("newcomer", 1, 1));
  EXPECT_EQ(b.ev.texts.size(), 1u) << "still delivered (unsequenced) when every slot holds a present peer";
}

TEST(ReliabilityBounds, SequenceNumbersNearTwoToThe53) {
  Net net;
  NetPeer& b = net.add(reliable_config());
  b.t.text(tagged("x", 1, 1));
  b.t.text(tagged("x", rel::kMaxSeq, 2));  // a gap larger than any buffer: lost at once
  ASSERT_EQ(b.ev.lost.size(), 1u);
  EXPECT_EQ(b.ev.lost[0].count, static_cast<double>(rel::kMaxSeq - 2));
  EXPECT_EQ(ns_from(b, "x"), (std::vector<int>{1, 2}));
  EXPECT_EQ(mc_test::rel(*b.ch).held_count(), 0u);
  // The real sender goes on at small numbers: followed as a restart, never stuck.
  b.t.text(tagged("x", 2, 3));
  b.t.text(tagged("x", 3, 4));
  EXPECT_EQ(ns_from(b, "x"), (std::vector<int>{1, 2, 3, 4}));
  // An announce near 2^53 is treated the same way, once.
  b.t.text("{\"type\":\"_mc\",\"op\":\"hi\",\"from\":\"x\",\"seq\":9007199254740991,\"low\":1}");
  EXPECT_EQ(b.ev.lost.size(), 2u);
  net.advance(60000);
  EXPECT_EQ(b.ev.lost.size(), 2u);
  expect_clean(net);
}

TEST(ReliabilityBounds, FramesHeldOutOfOrderAreBounded) {
  Net net;
  NetPeer& b = net.add(reliable_config());
  b.t.text(tagged("x", 1, 1));
  const int n = static_cast<int>(rel::kMaxHeldPerPeer) + 500;
  for (int i = 3; i < 3 + n; ++i) b.t.text(tagged("x", static_cast<uint64_t>(i), i));
  EXPECT_LE(mc_test::rel(*b.ch).held_count(), rel::kMaxHeldPerPeer);
  ASSERT_EQ(b.ev.lost.size(), 1u) << "the hole is given up when the window is full";
  EXPECT_EQ(b.ev.lost[0].count, 1);
  const auto got = ns_from(b, "x");
  for (size_t i = 1; i < got.size(); ++i) EXPECT_LT(got[i - 1], got[i]);
  EXPECT_EQ(got.back(), 2 + n);
}

TEST(ReliabilityBounds, HeldBytesAreBoundedAcrossSenders) {
  Net net;
  mc::ChannelConfig cfg = reliable_config();
  cfg.max_message_bytes = 1 << 20;
  NetPeer& b = net.add(cfg);
  const std::string pad(100000, 'p');
  for (int s = 0; s < 200; ++s) {
    const std::string id = "s" + std::to_string(s);
    b.t.text(tagged(id, 1, 1));
    b.t.text("{\"_mc\":\"" + id + ":3\",\"n\":3,\"pad\":\"" + pad + "\"}");
  }
  EXPECT_LE(mc_test::rel(*b.ch).held_bytes(), rel::kMaxHeldBytes);
}

TEST(ReliabilityBounds, RequestFloodsAreRateLimited) {
  Net net;
  mc::ChannelConfig cfg = reliable_config();
  cfg.reliable.buffer_messages = 1000;
  NetPeer& a = net.add(cfg);
  for (int i = 1; i <= 1000; ++i) net.send(0, msg(i));
  net.pump();
  const size_t before = a.t.sent.size();
  // 2000 requests for everything, within one second.
  const std::string nack =
      "{\"type\":\"_mc\",\"op\":\"nack\",\"from\":\"evil\",\"to\":\"peer0\",\"ranges\":[[1,1000],[1,9007199254740991]]"
      "}";
  for (int i = 0; i < 2000; ++i) {
    a.t.text(nack);
    net.clock.now += 0.5;
  }
  const size_t resent = a.t.sent.size() - before;
  EXPECT_LE(resent, static_cast<size_t>(rel::kResendMessagesPerSecond * 2));
  EXPECT_LE(mc_test::rel(*a.ch).stats().resent_on_request, rel::kResendMessagesPerSecond * 2);
  // And it keeps delivering.
  a.t.text(tagged("other", 1, 1));
  EXPECT_EQ(ns_from(a, "other"), (std::vector<int>{1}));
}

TEST(ReliabilityBounds, OutgoingRequestsAreRateLimited) {
  Net net;
  NetPeer& b = net.add(reliable_config());
  for (int s = 0; s < 500; ++s) {
    const std::string id = "g" + std::to_string(s);
    b.t.text(tagged(id, 1, 1));
    b.t.text(tagged(id, 3, 3));
  }
  net.advance(1000);
  const size_t nacks = sent_with(b, "\"op\":\"nack\"");
  EXPECT_GT(nacks, 0u);
  EXPECT_LE(nacks, static_cast<size_t>(rel::kRequestsPerSecond * 2));
}

TEST(ReliabilityBounds, HostileControlMessagesAreIgnored) {
  Net net;
  NetPeer& b = net.add(reliable_config(true));
  const std::vector<std::string> junk = {
      "{\"type\":\"_mc\"}",
      "{\"type\":\"_mc\",\"op\":\"hi\"}",
      "{\"type\":\"_mc\",\"op\":\"hi\",\"from\":\"\"}",
      "{\"type\":\"_mc\",\"op\":\"hi\",\"from\":\"" + std::string(100, 'a') + "\"}",
      "{\"type\":\"_mc\",\"op\":\"hi\",\"from\":\"a\",\"seq\":-1}",
      "{\"type\":\"_mc\",\"op\":\"hi\",\"from\":\"a\",\"seq\":1.5}",
      "{\"type\":\"_mc\",\"op\":\"nack\",\"from\":\"a\",\"to\":\"peer0\",\"ranges\":\"all\"}",
      "{\"type\":\"_mc\",\"op\":\"nack\",\"from\":\"a\",\"to\":\"peer0\",\"ranges\":[[5,1],[0,0],[1],[1,2,3]]}",
      "{\"type\":\"_mc\",\"op\":\"gone\",\"from\":\"a\",\"ranges\":[[1,99999999999999999999]]}",
      "{\"type\":\"_mc\",\"op\":\"bye\",\"from\":\"nobody\"}",
      "{\"type\":\"_mc\",\"op\":\"what\",\"from\":\"a\"}",
      "{\"type\":\"_mc\",\"op\":\"hi\",\"from\":\"d\",\"state\":" + std::string(5000, '[') + std::string(5000, ']') +
          "}",
      "{\"type\":\"_mc\",\"op\":\"hi\",\"from\":\"big\",\"pad\":\"" + std::string(200000, 'x') + "\"}",
  };
  for (const auto& j : junk) b.t.text(j);
  EXPECT_TRUE(b.ev.texts.empty());
  EXPECT_TRUE(b.ev.lost.empty());
  net.advance(1000);
  EXPECT_EQ(mc_test::rel(*b.ch).presence_state_bytes("d"), -1);
  EXPECT_EQ(mc_test::rel(*b.ch).presence_state_bytes("big"), -1);
  expect_clean(net);
}

TEST(ReliabilityBounds, AListenerMayDisposeOrSwitchUrlDuringADrain) {
  for (int action = 0; action < 2; ++action) {
    Net net;
    NetPeer& b = net.add(reliable_config(true));
    b.t.text(tagged("x", 1, 1));
    for (int i = 3; i <= 10; ++i) b.t.text(tagged("x", static_cast<uint64_t>(i), i));
    int seen = 0;
    b.ev.hook = [&](const std::string&, uint32_t) {
      if (++seen == 3) {
        if (action == 0) b.ch->dispose();
        else b.ch->set_url("wss://relay.example.com/c/other");
      }
    };
    b.t.text(tagged("x", 2, 2));  // fills the gap: 2..10 drain
    EXPECT_EQ(seen, 3);
    EXPECT_EQ(mc_test::rel(*b.ch).held_count(), 0u);
  }
}

}  // namespace
