// Channel errors: the synchronous error codes of every call, queue overflow policies, oversize incoming frames.
// Driven through FakeTransport / FakeScheduler / RecordingEvents (channel_rig.h).
#include "channel_rig.h"

namespace {

using namespace mc_test::channel_names;  // the rig's names (channel_rig.h)

// ============================================================================ synchronous errors

TEST_F(ChannelTest, DisposedEverywhere) {
  open();
  send("q");
  ch->dispose();
  EXPECT_TRUE(ch->disposed());
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_EQ(t.sock, FakeTransport::Sock::None);
  EXPECT_FALSE(s.pending());
  const size_t events = ev.events.size();
  EXPECT_EQ(ch->set_url(kUrl2), ErrorCode::Disposed);
  EXPECT_FALSE(ch->last_error().empty());
  EXPECT_EQ(ch->set_url(""), ErrorCode::Disposed);
  EXPECT_EQ(send("x"), ErrorCode::Disposed);
  EXPECT_EQ(send_bin("x"), ErrorCode::Disposed);
  EXPECT_EQ(send(std::string(10 << 20, 'x')), ErrorCode::Disposed);  // DISPOSED wins over size
  EXPECT_EQ(ch->close(0, ""), ErrorCode::Disposed);
  EXPECT_EQ(ch->close(1, ""), ErrorCode::Disposed);
  EXPECT_EQ(ch->reconnect_now(), ErrorCode::Disposed);
  ch->set_online(false);
  ch->set_online(true);
  ch->on_resume();
  ch->dispose();  // idempotent
  // Late events from the platform are ignored.
  ch->on_transport_open();
  ch->on_transport_text("x", 1);
  ch->on_transport_error();
  ch->on_transport_close(1006, "", false);
  ch->on_wake();
  EXPECT_EQ(ev.events.size(), events);
  EXPECT_EQ(t.opens.size(), 1u);
  EXPECT_EQ(t.sent_texts(), std::vector<std::string>{"q"});
}

TEST_F(ChannelTest, DisposeDropsQueueSilently) {
  make();
  ch->set_url(kUrl);
  send("a");
  send("b");
  ch->dispose();
  EXPECT_EQ(ch->queued_count(), 0u);
  EXPECT_EQ(ev.strs(), std::vector<std::string>{"state idle->connecting"});  // no CLOSED error, no close event
  EXPECT_EQ(t.aborts, 1u);
}

TEST_F(ChannelTest, MessageTooLarge) {
  cfg.max_message_bytes = 8;
  make();
  EXPECT_EQ(send("123456789"), ErrorCode::MessageTooLarge);
  EXPECT_NE(ch->last_error().find("9"), std::string::npos);
  EXPECT_EQ(send_bin("123456789"), ErrorCode::MessageTooLarge);
  EXPECT_EQ(ch->queued_count(), 0u);
  EXPECT_EQ(send("12345678"), ErrorCode::None);  // exactly the limit is fine
  EXPECT_EQ(ch->queued_count(), 1u);
  ASSERT_EQ(ch->set_url(kUrl), ErrorCode::None);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(send("123456789"), ErrorCode::MessageTooLarge);
  EXPECT_EQ(t.sent_texts(), std::vector<std::string>{"12345678"});
  EXPECT_EQ(ev.count(E::Error), 0u);
}

TEST_F(ChannelTest, ClosedAfterClose) {
  open();
  ASSERT_EQ(ch->close(0, ""), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Closing);
  EXPECT_EQ(send("x"), ErrorCode::Closed);
  EXPECT_EQ(send_bin("x"), ErrorCode::Closed);
  EXPECT_EQ(ch->set_url(kUrl2), ErrorCode::Closed);
  EXPECT_EQ(ch->reconnect_now(), ErrorCode::Closed);
  ASSERT_TRUE(t.server_close(1000));
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_EQ(send("x"), ErrorCode::Closed);
  EXPECT_EQ(ch->set_url(kUrl2), ErrorCode::Closed);
  EXPECT_EQ(ch->set_url(""), ErrorCode::Closed);
  EXPECT_EQ(ch->reconnect_now(), ErrorCode::Closed);
  EXPECT_EQ(ch->close(0, ""), ErrorCode::None);  // idempotent
  EXPECT_EQ(ch->close(4000, "again"), ErrorCode::None);
  EXPECT_EQ(t.closes.size(), 1u);
  EXPECT_EQ(t.opens.size(), 1u);
  EXPECT_TRUE(t.sent.empty());
}

TEST_F(ChannelTest, InvalidUrl) {
  make();
  for (const char* u : {"http://relay.example.com/c/SECRET", "wss://relay.example.com/c/SECRET#frag",
                        "wss://relay.example.com:0/SECRET", "wss://relay example/SECRET", "wss:///SECRET"}) {
    SCOPED_TRACE(u);
    EXPECT_EQ(ch->set_url(u), ErrorCode::InvalidUrl);
    EXPECT_NE(ch->last_error(), "");
    EXPECT_EQ(ch->last_error().find("SECRET"), std::string::npos) << ch->last_error();
    EXPECT_EQ(ch->state(), State::Idle);
  }
  EXPECT_TRUE(ev.events.empty());
  EXPECT_TRUE(t.opens.empty());
  // A bad URL while open leaves the working connection alone.
  open();
  EXPECT_EQ(ch->set_url("ftp://x/SECRET"), ErrorCode::InvalidUrl);
  EXPECT_EQ(ch->state(), State::Open);
  EXPECT_EQ(ch->url(), kUrl);
  EXPECT_EQ(t.aborts, 0u);
}

TEST_F(ChannelTest, InvalidCloseArguments) {
  open();
  for (int code : {-1, 1, 999, 1001, 1005, 1006, 1015, 2999, 5000, 65535}) {
    SCOPED_TRACE(code);
    EXPECT_EQ(ch->close(code, ""), ErrorCode::InvalidArgument);
    EXPECT_NE(ch->last_error().find(std::to_string(code)), std::string::npos);
  }
  EXPECT_EQ(ch->close(1000, std::string(124, 'r')), ErrorCode::InvalidArgument);
  EXPECT_EQ(ch->close(0, std::string(124, 'r')), ErrorCode::InvalidArgument);
  // Nothing happened: still open, still usable.
  EXPECT_EQ(ch->state(), State::Open);
  EXPECT_FALSE(ch->closed_by_user());
  EXPECT_TRUE(t.closes.empty());
  EXPECT_EQ(send("still"), ErrorCode::None);
  // The limits themselves are fine.
  const std::string reason(123, 'r');
  EXPECT_EQ(ch->close(4999, reason), ErrorCode::None);
  ASSERT_EQ(t.closes.size(), 1u);
  EXPECT_EQ(t.closes[0].first, 4999);
  EXPECT_EQ(t.closes[0].second, reason);
  t.server_close(4999, reason);
}

TEST_F(ChannelTest, QueueOverflowWithErrorPolicyThrows) {
  cfg.queue.max_messages = 2;
  cfg.queue.overflow = mc::Overflow::Error;
  make();
  EXPECT_EQ(send("a"), ErrorCode::None);
  EXPECT_EQ(send("b"), ErrorCode::None);
  EXPECT_EQ(send("c"), ErrorCode::QueueOverflow);
  EXPECT_NE(ch->last_error(), "");
  EXPECT_EQ(ch->queued_count(), 2u);
  EXPECT_EQ(ev.count(E::Error), 0u);  // thrown, not reported
  ch->set_url(kUrl);
  t.accept();
  EXPECT_EQ(t.sent_texts(), (std::vector<std::string>{"a", "b"}));
}

TEST_F(ChannelTest, QueueOverflowWhenAMessageCanNeverFit) {
  for (mc::Overflow policy : {mc::Overflow::DropOldest, mc::Overflow::DropNewest, mc::Overflow::Error}) {
    Rig r;
    r.cfg.queue.max_bytes = 4;
    r.cfg.queue.overflow = policy;
    r.make();
    EXPECT_EQ(r.send("ab"), ErrorCode::None);
    EXPECT_EQ(r.send("12345"), ErrorCode::QueueOverflow);
    EXPECT_EQ(r.ch->queued_count(), 1u);
    EXPECT_EQ(r.ev.count(E::Error), 0u);
    r.verify();
  }
  Rig none;
  none.cfg.queue.max_messages = 0;
  none.make();
  EXPECT_EQ(none.send("a"), ErrorCode::QueueOverflow);
  none.verify();
}

// ============================================================================ error events

TEST_F(ChannelTest, DropOldestReportsHowManyWereDropped) {
  cfg.queue.max_messages = 2;
  make();
  send("a");
  send("b");
  EXPECT_EQ(send("c"), ErrorCode::None);
  ASSERT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::QueueOverflow});
  EXPECT_EQ(ev.of(E::Error)[0].detail, 1);
  ev.clear();

  Rig bytes;
  bytes.cfg.queue.max_bytes = 6;
  bytes.make();
  bytes.send("aaa");
  bytes.send("bbb");
  EXPECT_EQ(bytes.send("cccccc"), ErrorCode::None);
  ASSERT_EQ(bytes.ev.errors(), std::vector<ErrorCode>{ErrorCode::QueueOverflow});
  EXPECT_EQ(bytes.ev.of(E::Error)[0].detail, 2);
  EXPECT_EQ(bytes.ch->queued_count(), 1u);
  bytes.verify();

  ch->set_url(kUrl);
  t.accept();
  EXPECT_EQ(t.sent_texts(), (std::vector<std::string>{"b", "c"}));
}

TEST_F(ChannelTest, DropNewestReportsTheDroppedMessage) {
  cfg.queue.max_messages = 2;
  cfg.queue.overflow = mc::Overflow::DropNewest;
  make();
  send("a");
  send("b");
  EXPECT_EQ(send("c"), ErrorCode::None);
  ASSERT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::QueueOverflow});
  EXPECT_EQ(ev.of(E::Error)[0].detail, 1);
  ch->set_url(kUrl);
  t.accept();
  EXPECT_EQ(t.sent_texts(), (std::vector<std::string>{"a", "b"}));
}

TEST_F(ChannelTest, CloseReportsDroppedQueuedMessages) {
  // Nothing to connect to (idle): the queue cannot be sent, so close() drops it and says so.
  make();
  send("a");
  send("b");
  send_bin("c");
  ASSERT_EQ(ch->close(0, ""), ErrorCode::None);
  ASSERT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::Closed});
  EXPECT_EQ(ev.of(E::Error)[0].detail, 3);
  EXPECT_EQ(ch->queued_count(), 0u);
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_TRUE(t.sent.empty());
  // Without queued messages there is nothing to report.
  Rig r;
  r.open();
  r.c().close(0, "");
  EXPECT_EQ(r.ev.count(E::Error), 0u);
  r.t.server_close(1000);
  r.verify();
}

TEST_F(ChannelTest, OversizeIncomingFramesAreDroppedWithAnError) {
  cfg.max_message_bytes = 8;
  make();
  ch->route_message(+1);
  open();
  ASSERT_TRUE(t.text("123456789"));
  ASSERT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::MessageTooLarge});
  EXPECT_EQ(ev.of(E::Error)[0].detail, 9);
  EXPECT_EQ(ev.count(E::Text), 0u);
  ASSERT_TRUE(t.binary(std::vector<uint8_t>(20, 1)));
  EXPECT_EQ(ev.errors(), (std::vector<ErrorCode>{ErrorCode::MessageTooLarge, ErrorCode::MessageTooLarge}));
  EXPECT_EQ(ev.of(E::Error)[1].detail, 20);
  EXPECT_EQ(ev.count(E::Binary), 0u);
  ASSERT_TRUE(t.text("12345678"));
  ASSERT_TRUE(t.binary(std::vector<uint8_t>(8, 1)));
  EXPECT_EQ(ev.count(E::Text), 1u);
  EXPECT_EQ(ev.count(E::Binary), 1u);
  EXPECT_EQ(ch->state(), State::Open);
}

TEST_F(ChannelTest, OversizeFramesDroppedByThePlatformAreReported) {
  cfg.heartbeat.enabled = true;
  cfg.heartbeat.interval_ms = 1000;
  cfg.heartbeat.timeout_ms = 500;
  make();
  ch->route_message(+1);
  open();
  ASSERT_TRUE(t.oversize(true, 5e6));
  ASSERT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::MessageTooLarge});
  EXPECT_EQ(ev.of(E::Error)[0].detail, 5e6);
  ASSERT_TRUE(t.oversize(false, 2e6));
  EXPECT_EQ(ev.of(E::Error)[1].detail, 2e6);
  EXPECT_EQ(ev.count(E::Text) + ev.count(E::Binary), 0u);
  EXPECT_EQ(ch->state(), State::Open);
  // It is traffic: it answers a heartbeat ping.
  s.advance(1400);
  ASSERT_TRUE(t.oversize(true, 5e6));
  s.advance(200);
  EXPECT_EQ(ch->state(), State::Open);
  // Ignored unless open.
  ch->close(0, "");
  ASSERT_TRUE(t.oversize(true, 5e6));
  EXPECT_EQ(ev.count(E::Error), 3u);
  t.server_close(1000);
}

// The fast paths of the wasm build: a frame is settled without its bytes entering the core
// (the Route plan, applied by bindings/library.js: FakeTransport::wasm_text) only when the core
// reads nothing in it, and a send skips the heap only when it would go straight out.

}  // namespace
