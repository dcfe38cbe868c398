// Channel receive path: routing on fields, the receive plan (Read, Route, Prefilter), unscanned frames.
// Driven through FakeTransport / FakeScheduler / RecordingEvents (channel_rig.h).
#include "channel_rig.h"

namespace {

using namespace mc_test::channel_names;  // the rig's names (channel_rig.h)

TEST_F(ChannelTest, UnscannedFramesAreTakenOnlyWhenTheCoreReadsNothingInThem) {
  using Mode = mc::ReceivePlan::Mode;
  cfg.max_message_bytes = 100;
  t.max_bytes = 100;
  make();
  EXPECT_EQ(t.plan.mode, Mode::Read);  // not open: every frame is the core's (and dropped there)
  open();
  ASSERT_TRUE(t.wasm_text(R"({"type":"tick"})"));  // nobody listens: taken, nothing delivered
  EXPECT_EQ(t.unscanned, 1u);
  EXPECT_TRUE(t.routed.empty());
  EXPECT_EQ(ev.count(E::Text), 0u);
  ch->route_message(+1);
  ch->route(0, "tick", +1);
  ASSERT_TRUE(t.wasm_text(R"({"type":"tick","n":1234567})"));  // 27 bytes: 81 <= 100
  ASSERT_EQ(t.routed.size(), 1u);
  EXPECT_EQ(t.routed[0], mc::route::kMessage | mc::route::field(0) | mc::route::kUnscanned);
  EXPECT_EQ(ev.count(E::Text), 0u) << "not through the core";
  // Maybe over the limit (34 chars: up to 102 bytes): the bytes decide, in the core.
  ASSERT_TRUE(t.wasm_text(R"({"type":"tick","n":12345678901234})"));
  EXPECT_EQ(t.routed.size(), 1u);
  ASSERT_EQ(ev.count(E::Text), 1u);
  EXPECT_EQ(ev.of(E::Text)[0].route & mc::route::kUnscanned, 0u);
  ch->set_js_mirrors_type(false);
  EXPECT_EQ(t.plan.mode, Mode::Read);
  ch->set_js_mirrors_type(true);
  const int user = ch->field_slot("user");
  ch->route(user, "ann", +1);
  EXPECT_EQ(t.plan.mode, Mode::Read);  // a member other than "type" is routed (and on("message"): no prefilter)
  ch->route(user, "ann", -1);
  EXPECT_EQ(t.plan.mode, Mode::Route);
  ASSERT_TRUE(t.wasm_text(R"({"type":"tick"})"));
  EXPECT_EQ(t.routed.size(), 2u);
}

TEST_F(ChannelTest, UnscannedFramesNeedTheBytesWithTheHeartbeatOn) {
  cfg.heartbeat.enabled = true;
  make();
  ch->route_message(+1);
  open();
  EXPECT_EQ(t.plan.mode, mc::ReceivePlan::Mode::Read);  // the heartbeat strings are compared
  ASSERT_TRUE(t.wasm_text("ping"));
  EXPECT_EQ(t.unscanned, 0u);
  EXPECT_EQ(ev.count(E::Text), 0u);
}

TEST_F(ChannelTest, IncomingFramesAreRoutedOnFieldsRegisteredAtRunTime) {
  make();
  open();
  const int user = ch->field_slot("user");
  ASSERT_GT(user, 0);
  ch->route(user, "ann", +1);
  t.text(R"({"user":"bob"})");
  t.text(R"({"data":{"user":"ann"}})");
  EXPECT_EQ(ev.count(E::Text), 0u);
  t.text(R"({"text":"hi","user":"ann"})");
  ASSERT_EQ(ev.count(E::Text), 1u);
  EXPECT_EQ(ev.of(E::Text)[0].route, mc::route::field(user) | mc::route::kObject | mc::route::kParseJson);
  // A second field, registered while frames flow.
  const int topic = ch->field_slot("topic");
  ch->route(topic, "news", +1);
  t.text(R"({"topic":"news","user":"ann"})");
  ASSERT_EQ(ev.count(E::Text), 2u);
  EXPECT_EQ(ev.of(E::Text)[1].route,
            mc::route::field(user) | mc::route::field(topic) | mc::route::kObject | mc::route::kParseJson);
  ch->route(user, "ann", -1);
  ch->route(topic, "news", -1);
  t.text(R"({"topic":"news","user":"ann"})");
  EXPECT_EQ(ev.count(E::Text), 2u);
}

// The receive prefilter (Router::prefilter): with interest only in values of members other
// than "type", the transport is given the wanted values and may drop a frame that contains
// none of them (and no backslash) unread. FakeTransport::text applies it as library.js does.
TEST_F(ChannelTest, FramesWithoutAWantedValueAreDroppedUnread) {
  make();
  open();
  EXPECT_EQ(t.plan.mode, mc::ReceivePlan::Mode::Route);  // nothing routed: the JS fast path drops everything
  EXPECT_EQ(t.plan.route, 0u);
  const int room = ch->field_slot("room");
  ch->route(room, "c3", +1);
  ASSERT_TRUE(t.prefilter_on());
  EXPECT_EQ(t.prefilter, (std::vector<std::string>{"\"c3\""}));
  t.text(R"({"room":"c4","text":"c3 x"})");  // no "c3" with its quotes: dropped unread
  t.text(R"({"room":"c1"})");
  t.text("plain");
  EXPECT_EQ(t.skipped, 3u);
  EXPECT_EQ(ev.count(E::Text), 0u);
  t.text(R"({"room":"c4","text":"c3"})");  // "c3" elsewhere: scanned, not wanted
  EXPECT_EQ(t.skipped, 3u);
  EXPECT_EQ(ev.count(E::Text), 0u);
  t.text(R"({"room" : "c3"})");
  t.text(R"({"room":"\u00633"})");  // an escape spells "c3": the backslash sends it to the scanner
  ASSERT_EQ(ev.count(E::Text), 2u);
  EXPECT_EQ(t.skipped, 3u);
  // Values of every routed member, "type" among them once another member is routed.
  ch->route(0, "chat", +1);
  ch->route(room, "a\"b", +1);
  EXPECT_EQ(t.prefilter, (std::vector<std::string>{"\"chat\"", "\"a\"b\"", "\"c3\""}));
  t.text(R"({"type":"chat"})");
  t.text(R"({"room":"a\"b"})");
  EXPECT_EQ(ev.count(E::Text), 4u);
  ch->route(0, "chat", -1);
  ch->route(room, "a\"b", -1);
  // Interest in every frame, or every object: no prefilter.
  ch->route_message(+1);
  EXPECT_FALSE(t.prefilter_on());
  t.text(R"({"room":"c1"})");
  EXPECT_EQ(ev.count(E::Text), 5u);
  ch->route_message(-1);
  ch->route_any_object(+1);
  EXPECT_FALSE(t.prefilter_on());
  ch->route_any_object(-1);
  ASSERT_TRUE(t.prefilter_on());
  // More values than Router::kMaxPrefilterValues: a map lookup in the core decides.
  for (size_t i = 0; i < mc::Router::kMaxPrefilterValues; ++i) ch->route(room, "r" + std::to_string(i), +1);
  EXPECT_FALSE(t.prefilter_on());
  ch->route(room, "r0", -1);
  EXPECT_TRUE(t.prefilter_on());
  EXPECT_EQ(t.prefilter.size(), mc::Router::kMaxPrefilterValues);
  // The limit still applies to a frame that may be over it (3 bytes a char): the core reads it
  // (and reports it oversize); nothing is dropped unread after dispose().
  const size_t skipped = t.skipped;
  t.max_bytes = static_cast<double>(cfg.max_message_bytes);
  t.text(R"({"room":"zz"})");
  EXPECT_EQ(t.skipped, skipped + 1);
  const size_t errors = ev.count(E::Error);
  t.text(R"({"room":"zz","pad":")" + std::string(cfg.max_message_bytes, 'x') + "\"}");
  EXPECT_EQ(t.skipped, skipped + 1) << "over the limit: not dropped unread";
  EXPECT_EQ(ev.count(E::Error), errors + 1) << "MESSAGE_TOO_LARGE";
  ch->dispose();
  EXPECT_FALSE(t.prefilter_on());
}

// The receive plan (ReceivePlan) is the core's standing answer, which the wasm build applies
// in JS without asking: after every change of state or interest, a frame settled by the plan
// (FakeTransport::wasm_text, as bindings/library.js) must reach the listeners the core would
// have given it after reading its bytes (on_transport_text): the same MESSAGE/FIELD bits, or
// nothing.
TEST_F(ChannelTest, TheReceivePlanFollowsStateAndInterest) {
  using Mode = mc::ReceivePlan::Mode;
  no_jitter();
  make();
  constexpr uint32_t kListeners = ~(mc::route::kParseJson | mc::route::kObject | mc::route::kUnscanned |
                                    mc::route::kBinary | mc::route::kSequenced | mc::route::kLate);
  const auto agrees = [&](const char* step) {
    SCOPED_TRACE(step);
    for (const char* frame : {R"({"type":"tick"})", R"({"type":"tock"})", "plain text"}) {
      SCOPED_TRACE(frame);
      // What the core decides with the bytes.
      const size_t before = ev.count(E::Text);
      ch->on_transport_text(frame, std::strlen(frame));
      const uint32_t read = ev.count(E::Text) > before ? ev.of(E::Text).back().route & kListeners : 0;
      // What the plan decides without them.
      const size_t routed = t.routed.size();
      const size_t skipped = t.skipped;
      const size_t texts = ev.count(E::Text);
      ASSERT_TRUE(t.wasm_text(frame));
      uint32_t planned = 0;
      if (t.routed.size() > routed) {
        planned = t.routed.back() & kListeners;
      } else if (ev.count(E::Text) > texts) {
        planned = ev.of(E::Text).back().route & kListeners;  // the plan left it to the core
      }
      // The Route plan's bits are interest (JS routes by its own parse): a frame the core
      // would not deliver to a FIELD listener may still carry the MESSAGE bit, never more.
      if (t.plan.mode == Mode::Route && planned != 0) {
        EXPECT_EQ(planned & read, read) << "the plan reaches every listener the core would";
      } else {
        EXPECT_EQ(planned, read);
      }
      if (t.plan.mode == Mode::Prefilter && t.skipped > skipped)
        EXPECT_EQ(read, 0u) << "dropped unread: nobody wanted it";
    }
  };
  EXPECT_EQ(t.plan.mode, Mode::Read);
  ASSERT_EQ(ch->set_url(kUrl), ErrorCode::None);
  EXPECT_EQ(t.plan.mode, Mode::Read);  // connecting: frames are dropped by the core
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(t.plan.mode, Mode::Route);
  agrees("open, no interest");
  ch->route_message(+1);
  EXPECT_EQ(t.plan.route, mc::route::kMessage | mc::route::kUnscanned);
  agrees("on(message)");
  ch->route(0, "tick", +1);
  agrees("on(message) + onMessage(tick)");
  ch->set_js_mirrors_type(false);
  EXPECT_EQ(t.plan.mode, Mode::Read);
  agrees("interest in type from more than onMessage");
  ch->route_message(-1);
  EXPECT_EQ(t.plan.mode, Mode::Prefilter);
  EXPECT_EQ(t.prefilter, (std::vector<std::string>{"\"tick\""}));
  agrees("type interest the core must check");
  ch->set_js_mirrors_type(true);
  agrees("onMessage(tick)");
  ASSERT_TRUE(t.server_close(1006, "", false));
  EXPECT_EQ(t.plan.mode, Mode::Read);  // reconnecting
  wait_retry(500);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(t.plan.mode, Mode::Route);
  EXPECT_EQ(t.plan.route, mc::route::field(0) | mc::route::kUnscanned);
  agrees("open again");
  ch->close(1000, "");
  EXPECT_EQ(t.plan.mode, Mode::Read);  // closing: frames are dropped by the core
  t.server_close(1000);
  ch->dispose();
  EXPECT_EQ(t.plan.mode, Mode::Read);
}

TEST_F(ChannelTest, NoPrefilterWithTheHeartbeatOn) {
  cfg.heartbeat.enabled = true;
  make();
  ch->route(ch->field_slot("room"), "c3", +1);
  open();
  EXPECT_FALSE(t.prefilter_on());  // the heartbeat strings are compared to every frame
  t.text(R"({"room":"zz"})");
  EXPECT_EQ(t.skipped, 0u);
}

TEST_F(ChannelTest, NoPrefilterOnAReliableChannel) {
  cfg.reliable.enabled = true;
  cfg.delivery = &mc::Reliability::create;
  make();
  ch->route(ch->field_slot("room"), "c3", +1);
  open();
  EXPECT_FALSE(t.prefilter_on());  // every object's tag is read
  t.text(R"({"room":"zz"})");
  EXPECT_EQ(t.skipped, 0u);
}

TEST_F(ChannelTest, IncomingFramesAreRouted) {
  make();
  ch->route(ch->field_slot("type"), "chat", +1);
  open();
  t.text(R"({"type":"other"})");
  t.text("plain");
  t.binary({1, 2});
  EXPECT_EQ(ev.count(E::Text), 0u);  // nobody wants them
  EXPECT_EQ(ev.count(E::Binary), 0u);
  t.text(R"({"type":"chat","text":"hi"})");
  ASSERT_EQ(ev.count(E::Text), 1u);
  const Event e = ev.of(E::Text)[0];
  EXPECT_EQ(e.data, R"({"type":"chat","text":"hi"})");
  EXPECT_EQ(e.route, mc::route::field(0) | mc::route::kObject | mc::route::kParseJson);
  ch->route_message(+1);
  t.binary({1, 2, 3});
  ASSERT_EQ(ev.count(E::Binary), 1u);
  EXPECT_EQ(ev.of(E::Binary)[0].data, std::string("\x01\x02\x03"));
  EXPECT_EQ(ev.of(E::Binary)[0].route, mc::route::kMessage | mc::route::kBinary);
}

}  // namespace
