// The lite core's channel (dist/metachannel-lite.wasm): this executable links metachannel_core
// without metachannel_reliability (CMakeLists.txt), so no Delivery can exist. A channel whose
// options ask for reliable delivery or presence is a plain channel here; the JS layer refuses
// such a channel on this core before it is created (NOT_SUPPORTED, js/channel.ts), and what
// reaches the core anyway is refused or passed through unchanged, as below.
#include <gtest/gtest.h>

#include <string>

#include "fakes.h"
#include "metachannel/channel.h"

namespace {

struct LiteRig {
  mc_test::Journal journal;
  mc_test::FakeTransport t{&journal};
  mc_test::FakeScheduler s;
  mc_test::RecordingEvents ev{&journal};
};

TEST(LiteChannel, ANoFactoryChannelHoldsNoDeliveryAndSendsFramesUntagged) {
  LiteRig r;
  mc::ChannelConfig cfg;
  cfg.reliable.enabled = true;
  cfg.presence.enabled = true;
  mc::Channel ch(r.t, r.s, r.ev, cfg);
  r.s.set_listener(&ch);
  r.ev.channel = &ch;
  EXPECT_EQ(ch.delivery(), nullptr);
  EXPECT_FALSE(ch.reliable());
  ASSERT_EQ(ch.set_url("wss://relay.example.com/c"), mc::ErrorCode::None);
  ASSERT_TRUE(r.t.accept());
  const std::string m = R"({"type":"chat","text":"hi"})";
  ASSERT_EQ(ch.send_text(m.data(), m.size()), mc::ErrorCode::None);
  ASSERT_EQ(r.t.sent_texts().size(), 1u) << "no hi, no bye: nothing but the frame";
  EXPECT_EQ(r.t.sent_texts()[0], m) << "no reliable-delivery tag";
  EXPECT_EQ(ch.reliable_stats_json(), "{}");
}

TEST(LiteChannel, SetPresenceIsRefusedWithTheDocumentedError) {
  LiteRig r;
  mc::ChannelConfig cfg;
  cfg.presence.enabled = true;
  mc::Channel ch(r.t, r.s, r.ev, cfg);
  EXPECT_EQ(ch.set_presence(R"({"name":"ada"})"), mc::ErrorCode::InvalidArgument);
  EXPECT_EQ(ch.last_error(), "setPresence(state): presence is not in the lite core (metachannel-lite.wasm)");
  mc::Channel off(r.t, r.s, r.ev, mc::ChannelConfig{});
  EXPECT_EQ(off.set_presence("1"), mc::ErrorCode::InvalidArgument);
  EXPECT_EQ(off.last_error(), "setPresence(state): presence is off on this channel; pass options.presence");
}

TEST(LiteChannel, TheWireIdIsTheGivenOneOrARandomOne) {
  LiteRig r;
  mc::ChannelConfig cfg;
  cfg.id = "peer-1";
  mc::Channel given(r.t, r.s, r.ev, cfg);
  EXPECT_EQ(given.id(), "peer-1");
  cfg.id = "not valid!";
  mc::Channel random(r.t, r.s, r.ev, cfg);
  EXPECT_EQ(random.id().size(), 12u);
  EXPECT_EQ(random.id(), random.id()) << "made once";
}

}  // namespace
