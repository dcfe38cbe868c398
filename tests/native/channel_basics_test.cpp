// Channel basics: connecting, opening, sending (queued, direct, refused), the observers, and the lifetime of a Channel.
// Driven through FakeTransport / FakeScheduler / RecordingEvents (channel_rig.h).
#include "channel_rig.h"

namespace {

using namespace mc_test::channel_names;  // the rig's names (channel_rig.h)

// ============================================================================ basics

TEST_F(ChannelTest, InitialState) {
  make();
  EXPECT_EQ(ch->state(), State::Idle);
  EXPECT_EQ(mc_test::ready_state(ch->state()), 3);
  EXPECT_EQ(ch->url(), "");
  EXPECT_EQ(ch->queued_count(), 0u);
  EXPECT_EQ(ch->attempt(), 0u);
  EXPECT_EQ(ch->protocol(), "");
  EXPECT_FALSE(ch->disposed());
  EXPECT_FALSE(ch->closed_by_user());
  EXPECT_TRUE(t.opens.empty());
  EXPECT_TRUE(ev.events.empty());
  EXPECT_FALSE(s.pending());
}

TEST_F(ChannelTest, ConnectsAndOpens) {
  cfg.protocols_csv = "chat.v1,chat.v2";
  t.negotiated_protocol = "chat.v1";
  t.buffered = 42;
  make();
  ASSERT_EQ(ch->set_url(kUrl), ErrorCode::None);
  EXPECT_EQ(ch->url(), kUrl);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(mc_test::ready_state(ch->state()), 0);
  EXPECT_EQ(t.opens, std::vector<std::string>{kUrl});
  EXPECT_EQ(t.last_protocols, "chat.v1,chat.v2");
  EXPECT_EQ(ev.strs(), std::vector<std::string>{"state idle->connecting"});
  EXPECT_EQ(ch->protocol(), "");
  EXPECT_EQ(ch->buffered_amount(), 0);
  EXPECT_TRUE(s.pending());  // the connect timeout
  EXPECT_EQ(s.wake_in_ms(), cfg.reconnect.connect_timeout_ms);

  ASSERT_TRUE(t.accept());
  EXPECT_EQ(ch->state(), State::Open);
  EXPECT_EQ(mc_test::ready_state(ch->state()), 1);
  EXPECT_EQ(ev.strs(), (std::vector<std::string>{"state idle->connecting", "state connecting->open", "open chat.v1"}));
  EXPECT_EQ(ch->protocol(), "chat.v1");
  EXPECT_EQ(ch->buffered_amount(), 42);
  EXPECT_FALSE(s.pending());  // no heartbeat by default, no connect timeout any more
  s.advance(10 * 60 * 1000);
  EXPECT_EQ(ch->state(), State::Open);
  EXPECT_TRUE(t.sent.empty());
}

TEST_F(ChannelTest, QueueIsFlushedInOrderBeforeTheOpenEvent) {
  make();
  ASSERT_EQ(send("a"), ErrorCode::None);  // idle
  ASSERT_EQ(ch->set_url(kUrl), ErrorCode::None);
  ASSERT_EQ(send_bin(std::string("b\0b", 3)), ErrorCode::None);  // connecting
  ASSERT_EQ(send("c"), ErrorCode::None);
  EXPECT_EQ(ch->queued_count(), 3u);
  EXPECT_EQ(ch->queued_bytes(), 5u);
  EXPECT_TRUE(t.sent.empty());

  ev.hook = [&](const Event& e) {
    // When the state turns open, the queue is already on the wire.
    if (e.kind == E::State && e.to == State::Open) EXPECT_EQ(t.sent.size(), 3u);
    if (e.kind == E::Open) EXPECT_EQ(ch->queued_count(), 0u);
  };
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(t.sent, (std::vector<Frame>{{false, "a"}, {true, std::string("b\0b", 3)}, {false, "c"}}));
  EXPECT_EQ(ch->queued_count(), 0u);
  EXPECT_EQ(ch->queued_bytes(), 0u);
  const long sent_c = journal.find("t: send c");
  const long state_open = journal.find("e: state connecting->open");
  const long open = journal.find("e: open ");
  ASSERT_GE(sent_c, 0);
  EXPECT_LT(sent_c, state_open);
  EXPECT_LT(state_open, open);
}

TEST_F(ChannelTest, SendWhileOpenGoesStraightToTheTransport) {
  open();
  ASSERT_EQ(send("x"), ErrorCode::None);
  ASSERT_EQ(send_bin("y"), ErrorCode::None);
  EXPECT_EQ(t.sent, (std::vector<Frame>{{false, "x"}, {true, "y"}}));
  EXPECT_EQ(ch->queued_count(), 0u);
  EXPECT_EQ(ev.count(E::Error), 0u);
}

TEST_F(ChannelTest, DirectSendsAreNotBoundByTheQueue) {
  cfg.queue.max_bytes = 4;
  open();
  ASSERT_EQ(send("0123456789"), ErrorCode::None);
  EXPECT_EQ(t.sent_texts(), std::vector<std::string>{"0123456789"});
}

TEST_F(ChannelTest, RefusedSendIsQueuedForTheNextConnection) {
  no_jitter();
  open();
  t.accept_sends = false;
  ASSERT_EQ(send("x"), ErrorCode::None);
  ASSERT_EQ(send("y"), ErrorCode::None);  // behind "x", not ahead of it
  EXPECT_EQ(ch->queued_count(), 2u);
  EXPECT_EQ(t.refused.size(), 1u);  // "y" was queued behind "x" without trying the socket
  t.accept_sends = true;
  ASSERT_TRUE(t.server_close(1006, "", false));
  wait_retry(500);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(t.sent_texts(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(ch->queued_count(), 0u);
}

TEST_F(ChannelTest, ProtocolAndBufferedAmountOnlyWhileOpen) {
  t.negotiated_protocol = "p";
  t.buffered = 7;
  make();
  ch->set_url(kUrl);
  EXPECT_EQ(ch->protocol(), "");
  EXPECT_EQ(ch->buffered_amount(), 0);
  t.accept();
  EXPECT_EQ(ch->protocol(), "p");
  EXPECT_EQ(ch->buffered_amount(), 7);
  ch->close(0, "");
  EXPECT_EQ(ch->protocol(), "");
  EXPECT_EQ(ch->buffered_amount(), 0);
  t.server_close(1000);
}

TEST_F(ChannelTest, DirectSendsOnlyWhenOpenWithNothingQueued) {
  no_jitter();
  cfg.max_message_bytes = 100;
  make();
  EXPECT_FALSE(ch->can_send_directly(10));  // idle
  open();
  EXPECT_TRUE(ch->can_send_directly(100));
  EXPECT_FALSE(ch->can_send_directly(101));
  t.accept_sends = false;
  ASSERT_EQ(send("x"), ErrorCode::None);
  EXPECT_FALSE(ch->can_send_directly(10));  // "x" waits in the queue: order first
  t.accept_sends = true;
  ASSERT_TRUE(t.server_close(1006, "", false));
  wait_retry(500);
  ASSERT_TRUE(t.accept());
  EXPECT_TRUE(ch->can_send_directly(10));
  ch->close(1000, "");
  EXPECT_FALSE(ch->can_send_directly(10));
  t.server_close(1000);
}

// ============================================================================ lifetime

TEST(ChannelLifetime, DestructorAbortsAndDetaches) {
  Journal j;
  FakeTransport t(&j);
  FakeScheduler s;
  RecordingEvents ev(&j);
  {
    mc::Channel ch(t, s, ev, mc::ChannelConfig{});
    s.set_listener(&ch);
    ch.set_url(kUrl);
    t.accept();
  }
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_FALSE(s.pending());
  // The transport no longer calls into the destroyed channel.
  s.set_listener(nullptr);
  t.sock = FakeTransport::Sock::Open;
  EXPECT_TRUE(t.text("late"));  // delivered to no one
  EXPECT_TRUE(t.violations.empty());
}

}  // namespace
