// Reliable delivery, with real mc::Channel peers on an in-memory broadcast relay (net.h) and a
// shared fake clock: tags, order, duplicates, gaps, resends, losses, reconnects. Presence:
// presence_test.cpp; the bounds against a hostile peer: reliability_bounds_test.cpp.
#include "reliability_rig.h"

namespace {

// ------------------------------------------------------------------------------ sequencing

TEST(ReliabilityTest, TagsJsonObjectsOnlyWithIdAndSequence) {
  Net net;
  NetPeer& a = net.add(reliable_config());
  net.send(0, "{\"type\":\"m\",\"n\":1}");
  net.send(0, "{}");
  net.send(0, "  { \"x\" : 2 }");
  net.send(0, "[1,2]");
  net.send(0, "\"text\"");
  net.send(0, "not json");
  net.send(0, "{\"_mc\":\"forged:99\",\"n\":3}");  // a forwarded message: its tag is replaced
  std::vector<std::string> data;
  for (const auto& f : a.t.sent) {
    if (f.bytes.find("\"op\"") == std::string::npos) data.push_back(f.bytes);
  }
  ASSERT_EQ(data.size(), 7u);
  EXPECT_EQ(data[0], "{\"_mc\":\"peer0:1\",\"type\":\"m\",\"n\":1}");
  EXPECT_EQ(data[1], "{\"_mc\":\"peer0:2\"}");
  EXPECT_EQ(data[2], "  {\"_mc\":\"peer0:3\", \"x\" : 2 }");
  EXPECT_EQ(data[3], "[1,2]");
  EXPECT_EQ(data[4], "\"text\"");
  EXPECT_EQ(data[5], "not json");
  EXPECT_EQ(data[6], "{\"_mc\":\"peer0:4\",\"n\":3}");
  for (const std::string& d : {data[0], data[1], data[2], data[6]}) {
    EXPECT_FALSE(nlohmann::json::parse(d, nullptr, false).is_discarded()) << d;
  }
  EXPECT_EQ(mc_test::rel(*a.ch).next_seq(), 5u);
  expect_clean(net);
}

TEST(ReliabilityTest, TheTagCountsAgainstMaxMessageBytesAndNothingIsConsumedOnRefusal) {
  Net net;
  mc::ChannelConfig cfg = reliable_config();
  cfg.max_message_bytes = 20;
  NetPeer& a = net.add(cfg);
  const std::string m = "{\"n\":1}";
  EXPECT_EQ(a.ch->send_text(m.data(), m.size()), ErrorCode::MessageTooLarge);
  EXPECT_NE(a.ch->last_error().find("reliable-delivery tag"), std::string::npos);
  EXPECT_EQ(mc_test::rel(*a.ch).next_seq(), 1u);
}

// stats_json() (reliableStats() in JS) is written without a JSON document: byte for byte what
// dump_json wrote for the document it used to build (counters and rttMs as floats, sizes as
// unsigned integers).
TEST(ReliabilityTest, StatsJsonIsTheCountersInTheirOrder) {
  Net net;
  NetPeer& a = net.add(reliable_config());
  NetPeer& b = net.add(reliable_config());
  for (int i = 1; i <= 5; ++i) net.send(0, msg(i));
  net.pump();
  b.t.text(tagged("peer0", 3, 3));
  b.t.text(tagged("x", 1, 1));
  b.t.text(tagged("x", 4, 4));
  EXPECT_EQ(mc_test::rel(*a.ch).stats_json(),
            "{\"sequencedSent\":5.0,\"resentAfterReconnect\":0.0,\"resentOnRequest\":0.0,\"requestsSent\":0.0,"
            "\"requestsCancelled\":0.0,\"duplicatesDropped\":0.0,\"forwarded\":0.0,\"reordered\":0.0,\"repaired\":0.0,"
            "\"lost\":0.0,\"goneSent\":0.0,\"relayEchoes\":true,\"rttMs\":0.0,\"buffered\":5,\"held\":0,\"peers\":1}");
  EXPECT_EQ(mc_test::rel(*b.ch).stats_json(),
            "{\"sequencedSent\":0.0,\"resentAfterReconnect\":0.0,\"resentOnRequest\":0.0,\"requestsSent\":0.0,"
            "\"requestsCancelled\":0.0,\"duplicatesDropped\":1.0,\"forwarded\":0.0,\"reordered\":1.0,\"repaired\":0.0,"
            "\"lost\":0.0,\"goneSent\":0.0,\"relayEchoes\":true,\"rttMs\":0.0,\"buffered\":0,\"held\":1,\"peers\":2}");
}

TEST(ReliabilityTest, ExactlyOnceInOrderAndDuplicatesDropped) {
  Net net;
  net.add(reliable_config());
  NetPeer& b = net.add(reliable_config());
  for (int i = 1; i <= 50; ++i) net.send(0, msg(i));
  net.pump();
  EXPECT_EQ(ns_from(b, "peer0"), range(1, 50));
  for (uint32_t r : b.ev.routes) EXPECT_TRUE(r & mc::route::kSequenced);
  // The relay (or a resend) repeats frames: each is dropped.
  for (int i = 40; i <= 50; ++i) b.t.text(tagged("peer0", static_cast<uint64_t>(i), i));
  EXPECT_EQ(ns_from(b, "peer0"), range(1, 50));
  EXPECT_EQ(mc_test::rel(*b.ch).stats().duplicates_dropped, 11);
  expect_clean(net);
}

TEST(ReliabilityTest, AForwardedCopyThatKeptTheTagIsDeliveredUnsequenced) {
  // A plain client replies with { ...received, type: "job.done" }: same "_mc", other content.
  Net net;
  NetPeer& a = net.add(reliable_config());
  NetPeer& b = net.add(reliable_config());
  for (int i = 1; i <= 3; ++i) net.send(0, msg(i));
  net.pump();
  ASSERT_EQ(ns_from(b, "peer0"), range(1, 3));
  const std::string original = b.ev.texts.back();
  const std::string reply = "{\"_mc\":\"peer0:2\",\"type\":\"job.done\",\"job\":2}";
  const size_t before_b = b.ev.texts.size(), before_a = a.ev.texts.size();
  b.t.text(reply);
  a.t.text(reply);  // the sender sees its own tag on a frame it never sent
  ASSERT_EQ(b.ev.texts.size(), before_b + 1);
  EXPECT_EQ(b.ev.texts.back(), reply);
  EXPECT_FALSE(b.ev.routes.back() & mc::route::kSequenced) << "delivered unsequenced (meta.from/seq null)";
  ASSERT_EQ(a.ev.texts.size(), before_a + 1);
  EXPECT_FALSE(a.ev.routes.back() & mc::route::kSequenced);
  // The same content again is a true duplicate: dropped, at both ends.
  b.t.text(original);
  a.t.text(original);
  EXPECT_EQ(b.ev.texts.size(), before_b + 1);
  EXPECT_EQ(a.ev.texts.size(), before_a + 1);
  // A copy of a frame still held out of order (a gap before it) is delivered too, and the
  // held frame itself is still delivered in order once the gap fills.
  b.t.text(tagged("peer0", 5, 5));
  b.t.text("{\"_mc\":\"peer0:5\",\"type\":\"job.done\"}");
  EXPECT_FALSE(b.ev.routes.back() & mc::route::kSequenced);
  b.t.text(tagged("peer0", 4, 4));
  EXPECT_EQ(ns_from(b, "peer0"), range(1, 5));
  EXPECT_EQ(mc_test::rel(*b.ch).stats().forwarded, 2);
  EXPECT_EQ(mc_test::rel(*a.ch).stats().forwarded, 1);
  expect_clean(net);
}

TEST(ReliabilityTest, OutOfOrderFramesWaitForTheGap) {
  Net net;
  NetPeer& b = net.add(reliable_config());
  b.t.text(tagged("x", 1, 1));
  b.t.text(tagged("x", 3, 3));
  b.t.text(tagged("x", 4, 4));
  EXPECT_EQ(ns_from(b, "x"), (std::vector<int>{1}));
  EXPECT_EQ(mc_test::rel(*b.ch).held_count(), 2u);
  b.t.text(tagged("x", 2, 2));
  EXPECT_EQ(ns_from(b, "x"), range(1, 4));
  EXPECT_EQ(mc_test::rel(*b.ch).held_count(), 0u);
  EXPECT_EQ(mc_test::rel(*b.ch).held_bytes(), 0u);
}

// The sender id and sequence number reach the JS layer with the frame (meta.from/seq), read
// once from the tag by the core: in order, after a gap (held frames), and "" / 0 when plain.
TEST(ReliabilityTest, TheSenderAndSequenceReadFromTheTagComeWithTheFrame) {
  Net net;
  NetPeer& b = net.add(reliable_config());
  b.t.text(tagged("x", 1, 1));
  b.t.text(tagged("x", 3, 3));
  b.t.text(tagged("x", 2, 2));
  b.t.text("{\"type\":\"plain\"}");
  ASSERT_EQ(b.ev.texts.size(), 4u);
  EXPECT_EQ(b.ev.senders, (std::vector<std::string>{"x", "x", "x", ""}));
  EXPECT_EQ(b.ev.seqs, (std::vector<double>{1, 2, 3, 0}));
  EXPECT_TRUE(b.ev.routes[2] & mc::route::kLate) << "3 waited for 2";
  EXPECT_FALSE(b.ev.routes[3] & mc::route::kSequenced);
}

TEST(ReliabilityTest, UntaggedAndInvalidTagsAreDeliveredPlain) {
  Net net;
  NetPeer& b = net.add(reliable_config());
  const std::vector<std::string> plain = {
      "{\"type\":\"m\",\"n\":1}",                   // a raw client
      "{\"_mc\":\"x:0\",\"n\":2}",                  // seq 0
      "{\"_mc\":\"x:01\",\"n\":3}",                 // leading zero
      "{\"_mc\":\"x:9007199254740992\",\"n\":4}",   // 2^53
      "{\"_mc\":\"x y:1\",\"n\":5}",                // id charset
      "{\"_mc\":\"x\",\"n\":6}",                    // no seq
      "{\"_mc\":7,\"n\":7}",                        // not a string
      "{\"_mc\":\"x:1\",\"_mc\":\"x:2\",\"n\":8}",  // twice
      "[1]",
  };
  for (const auto& f : plain) b.t.text(f);
  ASSERT_EQ(b.ev.texts.size(), plain.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(b.ev.texts[i], plain[i]);
    EXPECT_FALSE(b.ev.routes[i] & mc::route::kSequenced) << plain[i];
  }
  EXPECT_EQ(mc_test::rel(*b.ch).peer_count(), 0u);
}

TEST(ReliabilityTest, ControlMessagesAreNotDeliveredOnAReliableChannelButAreOnAPlainOne) {
  Net net;
  net.add(reliable_config());
  NetPeer& b = net.add(reliable_config());
  mc::ChannelConfig plain;
  plain.reconnect = reliable_config().reconnect;
  NetPeer& c = net.add(plain);
  net.send(0, msg(1));
  net.advance(1000);  // "hi" announces
  for (const auto& t : b.ev.texts) EXPECT_EQ(t.find("\"op\""), std::string::npos) << t;
  size_t control = 0;
  for (const auto& t : c.ev.texts) control += t.find("\"type\":\"_mc\"") != std::string::npos;
  EXPECT_GT(control, 0u);
  for (uint32_t r : c.ev.routes) EXPECT_FALSE(r & mc::route::kSequenced);
}

TEST(ReliabilityTest, OwnEchoIsDeliveredOnceAndDetectsAnEchoingRelay) {
  Net net;
  NetPeer& a = net.add(reliable_config());
  EXPECT_TRUE(mc_test::rel(*a.ch).relay_echoes());  // its own "hi" came back
  net.send(0, msg(1));
  net.pump();
  a.t.text(tagged("peer0", 1, 1));  // repeated
  EXPECT_EQ(ns_from(a, "peer0"), (std::vector<int>{1}));

  Net quiet;
  quiet.echo = false;
  NetPeer& q = quiet.add(reliable_config());
  quiet.advance(rel::kEchoTimeoutMs + 1);
  EXPECT_FALSE(mc_test::rel(*q.ch).relay_echoes());
}

// ------------------------------------------------------------------------------- repair

TEST(ReliabilityTest, GapIsRequestedAfterBackoffAndRepairedByResend) {
  Net net;
  NetPeer& a = net.add(reliable_config());
  NetPeer& b = net.add(reliable_config());
  net.drop = [](size_t from, size_t to, const std::string& f) {
    return from == 0 && to == 1 && f.find("peer0:2\"") != std::string::npos && f.find("\"op\"") == std::string::npos;
  };
  net.send(0, msg(1));
  net.send(0, msg(2));
  net.send(0, msg(3));
  net.pump();
  net.drop = nullptr;
  EXPECT_EQ(ns_from(b, "peer0"), (std::vector<int>{1}));
  // No request before the back-off.
  net.advance(rel::kRequestBackoffMinMs - 1);
  EXPECT_EQ(sent_with(b, "\"op\":\"nack\""), 0u);
  net.advance(rel::kRequestBackoffMaxMs);
  EXPECT_EQ(sent_with(b, "\"op\":\"nack\""), 1u);
  EXPECT_EQ(sent_with(b, "\"ranges\":[[2,2]]"), 1u);
  EXPECT_EQ(ns_from(b, "peer0"), range(1, 3));
  EXPECT_EQ(mc_test::rel(*a.ch).stats().resent_on_request, 1);
  EXPECT_EQ(mc_test::rel(*b.ch).stats().repaired, 1);
  net.advance(5000);
  EXPECT_EQ(sent_with(b, "\"op\":\"nack\""), 1u) << "no further request once repaired";
  EXPECT_TRUE(b.ev.lost.empty());
  expect_clean(net);
}

TEST(ReliabilityTest, ManyReceiversOneLossOneRequestOneResend) {
  Net net;
  NetPeer& a = net.add(reliable_config());
  for (int i = 0; i < 5; ++i) net.add(reliable_config());
  net.advance(5000);  // the joins are over: a sender holds repairs only while peers come back
  // The sender's frame 2 reaches nobody (but the relay still echoes it... not: lost on the way in).
  net.drop = [](size_t from, size_t, const std::string& f) {
    return from == 0 && f.find("peer0:2\"") != std::string::npos && f.find("\"op\"") == std::string::npos;
  };
  for (int i = 1; i <= 3; ++i) net.send(0, msg(i));
  net.pump();
  net.drop = nullptr;
  net.advance(2000);
  size_t nacks = 0, cancelled = 0;
  for (size_t i = 1; i < net.peers.size(); ++i) {
    EXPECT_EQ(ns_from(*net.peers[i], "peer0"), range(1, 3)) << "peer " << i;
    nacks += sent_with(*net.peers[i], "\"op\":\"nack\"");
    cancelled += static_cast<size_t>(mc_test::rel(*net.peers[i]->ch).stats().requests_cancelled);
  }
  EXPECT_EQ(nacks, 1u) << "the first request cancels the others' back-offs";
  EXPECT_EQ(cancelled, 4u);
  EXPECT_EQ(mc_test::rel(*a.ch).stats().resent_on_request, 1);
  expect_clean(net);
}

TEST(ReliabilityTest, EvictedMessagesAreReportedLostOnceThenDeliveryGoesOn) {
  Net net;
  mc::ChannelConfig small = reliable_config();
  small.reliable.buffer_messages = 2;
  NetPeer& a = net.add(small);
  NetPeer& b = net.add(reliable_config());
  net.send(0, msg(1));
  net.pump();
  net.drop = [](size_t from, size_t to, const std::string& f) {
    return from == 0 && to == 1 &&
           (f.find("peer0:2\"") != std::string::npos || f.find("peer0:3\"") != std::string::npos);
  };
  for (int i = 2; i <= 6; ++i) net.send(0, msg(i));
  net.pump();
  net.drop = nullptr;
  EXPECT_EQ(mc_test::rel(*a.ch).buffered_count(), 2u);
  net.advance(1000);
  ASSERT_EQ(b.ev.lost.size(), 1u);
  EXPECT_EQ(b.ev.lost[0].from, "peer0");
  EXPECT_EQ(b.ev.lost[0].count, 2);
  EXPECT_NE(b.ev.last_lost_message.find("2 message(s) from peer peer0"), std::string::npos);
  EXPECT_EQ(ns_from(b, "peer0"), (std::vector<int>{1, 4, 5, 6}));
  EXPECT_EQ(mc_test::rel(*a.ch).stats().gone_sent, 1);
  net.advance(20000);
  EXPECT_EQ(b.ev.lost.size(), 1u) << "once per gap";
  expect_clean(net);
}

TEST(ReliabilityTest, BufferIsBoundedByCountBytesAndAge) {
  Net net;
  mc::ChannelConfig cfg = reliable_config();
  cfg.reliable.buffer_messages = 100;
  cfg.reliable.buffer_bytes = 1000;
  cfg.reliable.buffer_age_ms = 5000;
  NetPeer& a = net.add(cfg);
  for (int i = 0; i < 500; ++i) net.send(0, msg(i));
  EXPECT_LE(mc_test::rel(*a.ch).buffered_bytes(), 1000u);
  EXPECT_LE(mc_test::rel(*a.ch).buffered_count(), 100u);
  EXPECT_GT(mc_test::rel(*a.ch).buffered_count(), 0u);
  net.advance(6000);
  net.send(0, msg(1));
  EXPECT_EQ(mc_test::rel(*a.ch).buffered_count(), 1u) << "older than bufferAgeMs: gone";
}

TEST(ReliabilityTest, TailLossIsFoundByTheQuietSpellAnnounce) {
  Net net;
  NetPeer& a = net.add(reliable_config());
  NetPeer& b = net.add(reliable_config());
  net.advance(1000);  // the answers to the newcomer's "ask" are done
  net.send(0, msg(1));
  net.pump();
  net.drop = [](size_t from, size_t to, const std::string& f) {
    return from == 0 && to == 1 && f.find("\"op\"") == std::string::npos;
  };
  net.send(0, msg(2));  // the last message: nothing after it reveals the loss
  net.pump();
  net.drop = nullptr;
  EXPECT_EQ(ns_from(b, "peer0"), (std::vector<int>{1}));
  net.advance(rel::kQuietMs - 1);
  EXPECT_EQ(ns_from(b, "peer0"), (std::vector<int>{1}));
  net.advance(rel::kRequestBackoffMaxMs + 2);
  EXPECT_EQ(ns_from(b, "peer0"), range(1, 2));
  EXPECT_EQ(mc_test::rel(*a.ch).stats().resent_on_request, 1);
  expect_clean(net);
}

TEST(ReliabilityTest, InFlightAtADropIsResentAfterReconnectWhenTheRelayEchoes) {
  Net net;
  NetPeer& a = net.add(reliable_config());
  NetPeer& b = net.add(reliable_config());
  for (int i = 1; i <= 3; ++i) net.send(0, msg(i));
  net.pump();
  net.blackhole[0] = true;  // the relay already killed a's socket: these die in flight
  net.send(0, msg(4));
  net.send(0, msg(5));
  net.pump();
  net.blackhole[0] = false;
  net.kill(0);
  EXPECT_EQ(ns_from(b, "peer0"), range(1, 3));
  net.send(0, msg(6));  // queued while reconnecting
  net.advance(200);
  EXPECT_EQ(ns_from(b, "peer0"), range(1, 6));
  EXPECT_EQ(mc_test::rel(*a.ch).stats().resent_after_reconnect, 2);
  EXPECT_EQ(mc_test::rel(*b.ch).stats().requests_sent, 0) << "repaired before anybody had to ask";
  expect_clean(net);
}

TEST(ReliabilityTest, WithoutEchoTheReconnectAnnounceAndRequestsRepair) {
  Net net;
  net.echo = false;
  NetPeer& a = net.add(reliable_config());
  NetPeer& b = net.add(reliable_config());
  for (int i = 1; i <= 3; ++i) net.send(0, msg(i));
  net.advance(rel::kEchoTimeoutMs + 1);
  EXPECT_FALSE(mc_test::rel(*a.ch).relay_echoes());
  net.blackhole[0] = true;
  net.send(0, msg(4));
  net.send(0, msg(5));
  net.pump();
  net.blackhole[0] = false;
  net.kill(0);
  net.advance(500);
  EXPECT_EQ(ns_from(b, "peer0"), range(1, 5));
  EXPECT_EQ(mc_test::rel(*a.ch).stats().resent_after_reconnect, 0);
  EXPECT_EQ(mc_test::rel(*a.ch).stats().resent_on_request, 2);
  expect_clean(net);
}

// Peer 0, a sender whose resend buffer holds `buffer` messages, and peer 1, a receiver.
NetPeer& sender_and_receiver(Net& net, size_t buffer) {
  mc::ChannelConfig cfg = reliable_config();
  cfg.reliable.buffer_messages = buffer;
  net.add(cfg);
  return net.add(reliable_config());
}

TEST(ReliabilityTest, AReturningReceiverGetsEverythingSentWhileItWasAway) {
  Net net;
  NetPeer& b = sender_and_receiver(net, 5000);
  net.send(0, msg(1));
  net.pump();
  b.auto_accept = false;
  net.kill(1);
  for (int i = 2; i <= 1001; ++i) {
    net.send(0, msg(i));
    net.advance(5);  // 200 messages/s for 5 s
  }
  EXPECT_EQ(ns_from(b, "peer0"), (std::vector<int>{1}));
  b.auto_accept = true;
  net.advance(3000);
  EXPECT_EQ(ns_from(b, "peer0"), range(1, 1001));
  EXPECT_TRUE(b.ev.lost.empty());
  expect_clean(net);
}

// Peer `c` steps away (setUrl(null)) while peer 0 sends msg(first..last), then comes back to
// the same URL.
void away_while_sent(Net& net, NetPeer& c, int first, int last) {
  ASSERT_EQ(c.ch->set_url(""), ErrorCode::None);
  net.advance(100);
  for (int i = first; i <= last; ++i) net.send(0, msg(i));
  net.advance(1000);
  ASSERT_EQ(c.ch->set_url(Net::kUrl), ErrorCode::None);
}

TEST(ReliabilityTest, APeerThatStepsAwayAndComesBackToTheSameUrlGetsWhatItMissed) {
  Net net;
  NetPeer& a = net.add(reliable_config(/*presence=*/true));
  NetPeer& c = net.add(reliable_config(/*presence=*/true));
  for (int i = 1; i <= 3; ++i) net.send(0, msg(i));
  net.advance(1000);
  const std::string id = mc_test::rel(*c.ch).id();
  size_t present_while_away = 99;
  a.ev.hook = [&](const std::string&, uint32_t) { present_while_away = mc_test::rel(*a.ch).present_count(); };
  away_while_sent(net, c, 4, 20);
  a.ev.hook = nullptr;
  EXPECT_EQ(present_while_away, 0u) << "it left the presence map";
  net.advance(3000);
  EXPECT_EQ(mc_test::rel(*c.ch).id(), id) << "the same peer";
  EXPECT_EQ(ns_from(c, "peer0"), range(1, 20)) << "what it missed was repaired, in order";
  EXPECT_TRUE(c.ev.lost.empty());
  EXPECT_EQ(mc_test::rel(*a.ch).present_count(), 1u) << "and it is present again";
  expect_clean(net);
}

TEST(ReliabilityTest, AReturnToTheSameUrlReportsWhatNobodyHoldsAnyMoreOncePerGap) {
  Net net;
  NetPeer& c = sender_and_receiver(net, 5);
  for (int i = 1; i <= 3; ++i) net.send(0, msg(i));
  net.advance(1000);
  away_while_sent(net, c, 4, 20);
  net.advance(12000);
  ASSERT_EQ(c.ev.lost.size(), 1u) << "one MESSAGES_LOST for the gap, never silence";
  EXPECT_EQ(c.ev.lost[0].count, 12);  // 4..15: the sender holds 16..20
  std::vector<int> want = range(1, 3);
  for (int i = 16; i <= 20; ++i) want.push_back(i);
  EXPECT_EQ(ns_from(c, "peer0"), want);
  // Another URL is another channel: everything starts over there.
  ASSERT_EQ(c.ch->set_url("wss://relay.example.com/c/other"), ErrorCode::None);
  EXPECT_EQ(mc_test::rel(*c.ch).peer_count(), 0u);
  EXPECT_EQ(mc_test::rel(*c.ch).buffered_count(), 0u);
}

TEST(ReliabilityTest, AGapThatNobodyAnswersIsGivenUpAfterTheTimeout) {
  Net net;
  NetPeer& b = net.add(reliable_config());
  b.t.text(tagged("ghost", 1, 1));
  b.t.text(tagged("ghost", 3, 3));
  net.advance(rel::kGiveUpMs - 100);
  EXPECT_TRUE(b.ev.lost.empty());
  EXPECT_GE(sent_with(b, "\"to\":\"ghost\""), 3u) << "asked again with growing intervals";
  net.advance(200);
  ASSERT_EQ(b.ev.lost.size(), 1u);
  EXPECT_EQ(b.ev.lost[0].count, 1);
  EXPECT_EQ(ns_from(b, "ghost"), (std::vector<int>{1, 3}));
  expect_clean(net);
}

TEST(ReliabilityTest, AFinalByeEndsOpenGapsAtOnce) {
  Net net;
  NetPeer& b = net.add(reliable_config());
  b.t.text(tagged("z", 1, 1));
  b.t.text(tagged("z", 4, 4));
  b.t.text("{\"type\":\"_mc\",\"op\":\"bye\",\"from\":\"z\",\"final\":true}");
  ASSERT_EQ(b.ev.lost.size(), 1u);
  EXPECT_EQ(b.ev.lost[0].count, 2);
  EXPECT_EQ(ns_from(b, "z"), (std::vector<int>{1, 4}));
  EXPECT_EQ(mc_test::rel(*b.ch).peer_count(), 0u);
}

TEST(ReliabilityTest, DropConnectionBehavesAsANetworkFailure) {
  Net net;
  NetPeer& a = net.add(reliable_config());
  NetPeer& b = net.add(reliable_config());
  net.send(0, msg(1));
  net.pump();
  a.ch->drop_connection();
  EXPECT_EQ(a.ch->state(), mc::State::Reconnecting);
  net.send(0, msg(2));  // queued
  net.advance(200);
  EXPECT_EQ(a.ch->state(), mc::State::Open);
  EXPECT_EQ(ns_from(b, "peer0"), range(1, 2));
  b.ch->drop_connection();
  b.ch->drop_connection();  // not open: nothing
  expect_clean(net);
}

}  // namespace

namespace {

// A receiver back after missing messages from several senders asks them all in one frame
// ("more"), and each resends its own; a sender whose hi does not say "more" (an older peer) is
// asked in a frame of its own ("to"), never in "more".
TEST(FanoutRequests, OneRequestAsksEverySenderItMissedAndAnOlderSenderInItsOwn) {
  Net net;
  for (int i = 0; i < 5; ++i) net.add(reliable_config());
  NetPeer& r = *net.peers[4];
  for (size_t s = 0; s < 4; ++s) net.send(s, msg(1));
  // An older sender: a raw client whose hi has no "more".
  r.t.text("{\"type\":\"_mc\",\"op\":\"hi\",\"from\":\"old\",\"seq\":0,\"low\":1}");
  r.t.text(tagged("old", 1, 1));
  net.advance(5000);
  r.auto_accept = false;
  net.kill(4);
  net.advance(10);
  for (size_t s = 0; s < 4; ++s) {
    for (int i = 2; i <= 4; ++i) net.send(s, msg(i));
  }
  net.advance(100);
  const size_t before = r.t.sent.size();
  r.auto_accept = true;
  net.advance(20);  // back: its hi with ask brings the others' announces
  r.t.text("{\"type\":\"_mc\",\"op\":\"hi\",\"from\":\"old\",\"seq\":3,\"low\":1}");
  r.t.text(tagged("old", 2, 2));
  r.t.text(tagged("old", 3, 3));
  net.advance(10000);
  std::vector<std::string> nacks;
  for (size_t i = before; i < r.t.sent.size(); ++i) {
    if (r.t.sent[i].bytes.find("\"op\":\"nack\"") != std::string::npos) nacks.push_back(r.t.sent[i].bytes);
  }
  ASSERT_EQ(nacks.size(), 1u) << "one for the four senders of this SDK; the older one answered nothing";
  const std::string& n = nacks[0];
  EXPECT_EQ(n.find("\"old\""), std::string::npos) << "an older peer is never asked in more: " << n;
  ASSERT_NE(n.find("\"more\":{"), std::string::npos) << n;
  for (int s = 0; s < 4; ++s) {
    EXPECT_NE(n.find("\"peer" + std::to_string(s) + "\""), std::string::npos) << n;
    EXPECT_EQ(ns_from(r, "peer" + std::to_string(s)), range(1, 4)) << "from peer" << s;
    EXPECT_EQ(mc_test::rel(*net.peers[s]->ch).stats().resent_on_request, 3) << "peer" << s;
  }
}

// An older sender is asked in "to" only (a frame may carry the others in "more" beside it).
TEST(FanoutRequests, AnOlderSenderIsAskedInToAlone) {
  Net net;
  net.add(reliable_config());
  NetPeer& r = *net.peers[0];
  net.add(reliable_config());
  net.send(1, msg(1));
  r.t.text("{\"type\":\"_mc\",\"op\":\"hi\",\"from\":\"old\",\"seq\":0,\"low\":1}");
  r.t.text(tagged("old", 1, 1));
  net.advance(5000);
  net.drop = [](size_t from, size_t, const std::string& f) {
    return from == 1 && f.find("peer1:2\"") != std::string::npos;
  };
  const size_t before = r.t.sent.size();
  net.send(1, msg(2));
  net.send(1, msg(3));
  r.t.text(tagged("old", 3, 3));  // old:2 never came
  net.advance(20);
  net.drop = nullptr;
  net.advance(200);
  std::vector<std::string> nacks;
  for (size_t i = before; i < r.t.sent.size(); ++i) {
    if (r.t.sent[i].bytes.find("\"op\":\"nack\"") != std::string::npos) nacks.push_back(r.t.sent[i].bytes);
  }
  // Which timer fires first decides the shape: {to: old, more: {peer1}}, or {to: peer1} and
  // {to: old}; never old in "more".
  ASSERT_FALSE(nacks.empty());
  bool old_asked = false, peer1_asked = false;
  for (const std::string& n : nacks) {
    if (n.find("\"old\"") != std::string::npos)
      EXPECT_NE(n.find("\"to\":\"old\",\"ranges\":[[2,2]]"), std::string::npos) << n;
    old_asked = old_asked || n.find("\"to\":\"old\",\"ranges\":[[2,2]]") != std::string::npos;
    peer1_asked = peer1_asked || n.find("\"peer1\",\"ranges\":[[2,2]]") != std::string::npos ||
                  n.find("\"peer1\":[[2,2]]") != std::string::npos;
  }
  EXPECT_TRUE(old_asked);
  EXPECT_TRUE(peer1_asked);
  EXPECT_EQ(nacks.size(), nacks[0].find("\"to\":\"old\"") != std::string::npos ? 1u : 2u) << nacks[0];
  EXPECT_EQ(ns_from(r, "peer1"), range(1, 3));
}

}  // namespace

namespace {

size_t data_frames(const NetPeer& p, size_t from = 0) {
  size_t n = 0;
  for (size_t i = from; i < p.t.sent.size(); ++i) n += p.t.sent[i].bytes.rfind("{\"_mc\"", 0) == 0;
  return n;
}

// A steady channel (nobody came back lately): a request is answered at once, in the same turn.
TEST(RepairHold, ASteadyChannelIsRepairedAtOnce) {
  Net net;
  NetPeer& a = net.add(reliable_config());
  for (int i = 0; i < 9; ++i) net.add(reliable_config());
  for (int i = 1; i <= 3; ++i) net.send(0, msg(i));
  net.advance(rel::kRepairHoldMaxMs * 4);  // long after the joins
  const size_t before = a.t.sent.size();
  a.t.text("{\"type\":\"_mc\",\"op\":\"nack\",\"from\":\"peer5\",\"to\":\"peer0\",\"ranges\":[[2,2]]}");
  EXPECT_EQ(data_frames(a, before), 1u);
}

// Peers coming back: the resend waits for them (each return pushes it by the quiet spell, up
// to the hold), and then goes once for every receiver that asked.
TEST(RepairHold, ReturningPeersShareOneHeldResend) {
  Net net;
  NetPeer& a = net.add(reliable_config());
  for (int i = 0; i < 9; ++i) net.add(reliable_config());
  for (int i = 1; i <= 3; ++i) net.send(0, msg(i));
  net.advance(rel::kRepairHoldMaxMs * 4);
  const size_t before = a.t.sent.size();
  const auto back_and_ask = [&](int who) {
    a.t.text("{\"type\":\"_mc\",\"op\":\"hi\",\"from\":\"peer" + std::to_string(who) +
             "\",\"seq\":0,\"low\":1,\"ask\":true,\"more\":true}");
    a.t.text("{\"type\":\"_mc\",\"op\":\"nack\",\"from\":\"peer" + std::to_string(who) +
             "\",\"to\":\"peer0\",\"ranges\":[[2,3]]}");
  };
  back_and_ask(5);
  EXPECT_EQ(data_frames(a, before), 0u) << "held: a peer just came back";
  for (int who = 6; who <= 9; ++who) {
    net.advance(100);  // returns 100 ms apart
    back_and_ask(who);
  }
  EXPECT_EQ(data_frames(a, before), 0u);
  net.advance(rel::kRepairHoldMaxMs);
  EXPECT_EQ(data_frames(a, before), 2u) << "frames 2 and 3 once, for all five";
  EXPECT_EQ(mc_test::rel(*a.ch).stats().resent_on_request, 2);
}

// Every socket dropped (a relay restart) and the peers back seconds apart, as the default
// reconnect policy brings them: peer 0's last two frames died with its socket, and its resend
// waits for every peer heard on that socket to be back, then goes once (kRepairAwayHoldMs).
// `last` is when peer 4 comes back (ms after the drop; < 0: never).
void away_peers_return(Net& net, double last) {
  for (int i = 0; i < 5; ++i) net.add(reliable_config(/*presence=*/true));
  for (int i = 1; i <= 3; ++i) net.send(0, msg(i));
  net.advance(5000);
  net.blackhole[0] = true;
  net.send(0, msg(4));
  net.send(0, msg(5));
  net.pump();
  net.blackhole[0] = false;
  for (size_t i = 0; i < 5; ++i) {
    net.peers[i]->auto_accept = false;
    net.kill(i);
  }
  const double due[5] = {100, 200, 1000, 2500, last};
  for (int step = 0; step * 10 < 4000; ++step) {
    for (size_t i = 0; i < 5; ++i) {
      if (due[i] >= 0 && due[i] <= step * 10) net.peers[i]->auto_accept = true;
    }
    net.advance(10);
  }
}

TEST(RepairHold, AfterEverySocketDroppedTheResendWaitsForTheLastPeerBack) {
  Net net;
  away_peers_return(net, 6000);
  // 4 s after the drop: three receivers are back and asked; peer 4 is not back.
  EXPECT_EQ(ns_from(*net.peers[1], "peer0"), range(1, 3));
  EXPECT_EQ(mc_test::rel(*net.peers[0]->ch).stats().resent_on_request, 0);
  net.advance(2000);
  net.peers[4]->auto_accept = true;
  net.advance(1000);
  for (size_t i = 1; i < 5; ++i) EXPECT_EQ(ns_from(*net.peers[i], "peer0"), range(1, 5)) << "peer" << i;
  EXPECT_EQ(mc_test::rel(*net.peers[0]->ch).stats().resent_on_request, 2) << "frames 4 and 5 once, for all four";
  expect_clean(net);
}

TEST(RepairHold, APeerThatNeverComesBackHoldsTheResendAtMostTheAwayHold) {
  Net net;
  away_peers_return(net, -1);
  EXPECT_EQ(mc_test::rel(*net.peers[0]->ch).stats().resent_on_request, 0);
  net.advance(rel::kRepairAwayHoldMs - 4000 + 1000);  // peer 0 reopened 100 ms after the drop
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(ns_from(*net.peers[i], "peer0"), range(1, 5)) << "peer" << i;
    EXPECT_TRUE(net.peers[i]->ev.lost.empty());
  }
  EXPECT_EQ(mc_test::rel(*net.peers[0]->ch).stats().resent_on_request, 2);
}

}  // namespace
