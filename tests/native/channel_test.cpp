// Channel state machine, driven through FakeTransport / FakeScheduler / RecordingEvents.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fakes.h"
#include "metachannel/channel.h"
#include "metachannel/reliability.h"
#include "metachannel/router.h"

namespace {

using mc::ErrorCode;
using mc::State;
using mc_test::Event;
using mc_test::FakeScheduler;
using mc_test::FakeTransport;
using mc_test::Journal;
using mc_test::RecordingEvents;
using E = mc_test::Event;
using Frame = mc_test::FakeTransport::Frame;

constexpr const char* kUrl = "wss://relay.example.com/c/SECRET-ONE?token=SECRET-Q";
constexpr const char* kUrl2 = "wss://relay.example.com/c/SECRET-TWO";
const double kAlmostOne = std::nextafter(1.0, 0.0);

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += "\n  " + s;
  return out;
}

// Everything one channel needs, wired together.
struct Rig {
  Journal journal;
  FakeTransport t{&journal};
  FakeScheduler s;
  RecordingEvents ev{&journal};
  mc::ChannelConfig cfg;
  std::unique_ptr<mc::Channel> ch;
  bool online = true;

  mc::Channel& make() {
    ch = std::make_unique<mc::Channel>(t, s, ev, cfg);
    s.set_listener(ch.get());
    ev.channel = ch.get();
    return *ch;
  }
  mc::Channel& c() {
    if (!ch) make();
    return *ch;
  }
  ErrorCode send(std::string_view m) { return c().send_text(m.data(), m.size()); }
  ErrorCode send_bin(std::string_view m) {
    return c().send_binary(reinterpret_cast<const uint8_t*>(m.data()), m.size());
  }
  void set_online(bool on) {
    online = on;
    c().set_online(on);
  }
  // Exact backoff (no jitter): 500, 1000, 2000, ...
  void no_jitter() {
    cfg.reconnect.full_jitter = false;
    cfg.reconnect.jitter_fraction = 0;
  }
  void open(const char* url = kUrl) {
    ASSERT_EQ(c().set_url(url), ErrorCode::None);
    ASSERT_TRUE(t.accept());
    ASSERT_EQ(c().state(), State::Open);
  }
  // Fails the current attempt the way a browser does (close 1006 without opening).
  void refuse() { ASSERT_TRUE(t.server_close(1006, "", false)); }
  // Waits out the pending retry (which must be `delay` away) and checks it opens a socket.
  void wait_retry(double delay) {
    ASSERT_EQ(c().state(), State::Reconnecting);
    ASSERT_TRUE(s.pending());
    ASSERT_DOUBLE_EQ(s.wake_in_ms(), delay);
    const size_t before = t.opens.size();
    if (delay >= 1) {
      s.advance(delay - 1);
      ASSERT_EQ(t.opens.size(), before) << "retried before the delay was up";
      s.advance(1);
    } else {
      s.advance(delay);
    }
    ASSERT_EQ(t.opens.size(), before + 1) << "did not retry when the delay was up";
    ASSERT_EQ(c().state(), State::Connecting);
  }
  std::vector<std::string> consistency() const {
    std::vector<std::string> out;
    if (ch) mc_test::check_consistency(*ch, t, s, online, out);
    return out;
  }
  // Everything the doubles noticed, plus the between-steps invariants and URL secrecy.
  void verify() {
    EXPECT_TRUE(t.violations.empty()) << "transport:" << join(t.violations);
    EXPECT_TRUE(s.violations.empty()) << "scheduler:" << join(s.violations);
    EXPECT_TRUE(ev.violations.empty()) << "events:" << join(ev.violations);
    const auto bad = consistency();
    EXPECT_TRUE(bad.empty()) << "consistency:" << join(bad);
    for (const Event& e : ev.events) {
      if (e.kind == E::Error) EXPECT_EQ(e.data.find("SECRET"), std::string::npos) << e.data;
    }
    if (ch) EXPECT_EQ(ch->last_error().find("SECRET"), std::string::npos) << ch->last_error();
  }
};

class ChannelTest : public ::testing::Test, public Rig {
 protected:
  void TearDown() override {
    verify();
    ch.reset();
  }
};

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

TEST_F(ChannelTest, CloseWhileConnectingSendsTheQueueFirst) {
  make();
  ch->set_url(kUrl);
  send("a");
  send_bin("b");
  ASSERT_EQ(ch->close(4000, "done"), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Connecting);  // waiting for the connection, not dropping
  EXPECT_EQ(ch->queued_count(), 2u);
  EXPECT_EQ(ch->send_text("c", 1), ErrorCode::Closed);  // close() is final all the same
  t.accept();
  ASSERT_EQ(t.sent.size(), 2u);
  EXPECT_EQ(t.sent[0].bytes, "a");
  EXPECT_TRUE(t.sent[1].binary);
  EXPECT_EQ(ch->state(), State::Closing);
  ASSERT_EQ(t.closes.size(), 1u);
  EXPECT_EQ(t.closes[0].first, 4000);
  EXPECT_EQ(t.closes[0].second, "done");
  EXPECT_EQ(ev.count(E::Open), 0u);  // the user already closed: no "open" for this socket
  EXPECT_EQ(ev.count(E::Error), 0u);
  t.server_close(4000);
  EXPECT_EQ(ch->state(), State::Closed);
  verify();
}

TEST_F(ChannelTest, CloseWhileReconnectingRetriesNowToSendTheQueue) {
  cfg.reconnect.min_delay_ms = 60000;
  cfg.reconnect.max_delay_ms = 60000;
  make();
  ch->set_url(kUrl);
  t.accept();
  t.server_close(1006);
  ASSERT_EQ(ch->state(), State::Reconnecting);
  send("late");
  const size_t opens = t.opens.size();
  ch->close(0, "");
  EXPECT_EQ(t.opens.size(), opens + 1);  // no 60 s backoff wait
  t.accept();
  ASSERT_FALSE(t.sent.empty());
  EXPECT_EQ(t.sent.back().bytes, "late");
  EXPECT_EQ(ch->state(), State::Closing);
  verify();
}

TEST_F(ChannelTest, CloseDrainIsBoundedByCloseTimeout) {
  cfg.close_drain_ms = 3000;
  cfg.reconnect.connect_timeout_ms = 1000;
  cfg.reconnect.min_delay_ms = 100;
  cfg.reconnect.max_delay_ms = 100;
  cfg.reconnect.full_jitter = false;
  cfg.reconnect.jitter_fraction = 0;
  make();
  ch->set_url(kUrl);
  send("a");
  ch->close(0, "");
  s.advance(2999);
  EXPECT_NE(ch->state(), State::Closed);  // still trying (attempts time out and retry)
  EXPECT_EQ(ch->queued_count(), 1u);
  s.advance(1);
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_EQ(ch->queued_count(), 0u);
  const auto errors = ev.errors();
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors.back(), ErrorCode::Closed);
  EXPECT_EQ(ev.of(E::Error).back().detail, 1);
  EXPECT_NE(ev.of(E::Error).back().data.find("closeTimeoutMs"), std::string::npos);
  verify();
  EXPECT_FALSE(s.pending());
}

TEST_F(ChannelTest, CloseDrainEndsWithTheQueueReportedWhenTheUrlIsRevoked) {
  make();
  ch->set_url(kUrl);
  send("a");
  ch->close(0, "");
  t.server_close(4001);  // the handshake is refused with "revoked"
  EXPECT_EQ(ch->state(), State::Closed);
  const auto errors = ev.errors();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0], ErrorCode::Revoked);
  EXPECT_EQ(errors[1], ErrorCode::Closed);
  verify();
}

TEST_F(ChannelTest, CloseDrainWithAnInfiniteTimeoutWaitsForTheConnection) {
  cfg.close_drain_ms = std::numeric_limits<double>::infinity();  // closeTimeoutMs: Infinity
  cfg.reconnect.min_delay_ms = cfg.reconnect.max_delay_ms = 1000;
  no_jitter();
  make();
  ch->set_url(kUrl);
  send("a");
  ch->close(0, "");
  ASSERT_TRUE(t.server_close(1006, "", false));  // the handshake fails: retry after the backoff
  EXPECT_EQ(ch->state(), State::Reconnecting);
  EXPECT_TRUE(s.pending());
  s.advance(1000);
  EXPECT_EQ(ch->state(), State::Connecting) << "the wait to send the queue retries";
  ASSERT_TRUE(t.accept());
  ASSERT_EQ(t.sent.size(), 1u);
  EXPECT_EQ(t.sent[0].bytes, "a");
  EXPECT_EQ(ch->state(), State::Closing);
  EXPECT_EQ(ev.count(E::Error), 0u);
  verify();
}

TEST_F(ChannelTest, CloseWithoutDrainDropsAtOnce) {
  cfg.close_drain_ms = 0;
  make();
  ch->set_url(kUrl);
  send("a");
  ch->close(0, "");
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::Closed});
  EXPECT_EQ(t.aborts, 1u);
  verify();
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

// ============================================================================ backoff

TEST_F(ChannelTest, FullJitterDelaysForAttemptsOneToTen) {
  s.random_value = 0.5;
  make();
  ch->set_url(kUrl);
  const double base[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000};
  for (uint32_t attempt = 1; attempt <= 10; ++attempt) {
    SCOPED_TRACE(attempt);
    refuse();
    const Event r = ev.of(E::Reconnecting).back();
    EXPECT_EQ(r.attempt, attempt);
    EXPECT_EQ(r.delay, base[attempt - 1] / 2);
    EXPECT_EQ(ch->attempt(), attempt);
    ASSERT_NO_FATAL_FAILURE(wait_retry(base[attempt - 1] / 2));
  }
  EXPECT_EQ(t.opens.size(), 11u);
}

TEST_F(ChannelTest, FullJitterFollowsTheRandomSample) {
  s.randoms = {0.0, 0.25, kAlmostOne, 0.1};
  make();
  ch->set_url(kUrl);
  const double expected[] = {0, 250, 2000 * kAlmostOne, 400};
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    refuse();
    const Event r = ev.of(E::Reconnecting).back();
    EXPECT_DOUBLE_EQ(r.delay, expected[i]);
    EXPECT_GE(r.delay, 0);
    EXPECT_LE(r.delay, 500.0 * (1 << i));
    ASSERT_NO_FATAL_FAILURE(wait_retry(r.delay));
  }
}

TEST_F(ChannelTest, FractionJitterDelays) {
  for (double u : {0.0, 0.5, kAlmostOne}) {
    SCOPED_TRACE(u);
    Rig r;
    r.cfg.reconnect.full_jitter = false;
    r.cfg.reconnect.jitter_fraction = 0.25;
    r.s.random_value = u;
    r.c().set_url(kUrl);
    const double base[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000};
    for (uint32_t attempt = 1; attempt <= 8; ++attempt) {
      SCOPED_TRACE(attempt);
      r.refuse();
      const Event e = r.ev.of(E::Reconnecting).back();
      EXPECT_EQ(e.attempt, attempt);
      const double b = base[attempt - 1];
      EXPECT_NEAR(e.delay, b * (0.75 + 0.5 * u), 1e-6);
      EXPECT_GE(e.delay, b * 0.75);
      EXPECT_LE(e.delay, b * 1.25);
      ASSERT_NO_FATAL_FAILURE(r.wait_retry(e.delay));
    }
    r.verify();
  }
}

TEST_F(ChannelTest, MaxRetries) {
  cfg.reconnect.max_retries = 3;
  s.random_value = 0.5;
  make();
  ch->set_url(kUrl);
  for (uint32_t attempt = 1; attempt <= 3; ++attempt) {
    SCOPED_TRACE(attempt);
    refuse();
    EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, attempt);
    EXPECT_EQ(ev.count(E::Error), 0u);
    ASSERT_NO_FATAL_FAILURE(wait_retry(250.0 * (1 << (attempt - 1))));
  }
  refuse();
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::RetriesExhausted});
  EXPECT_EQ(ev.of(E::Error)[0].detail, 3);
  EXPECT_EQ(ev.count(E::Reconnecting), 3u);
  EXPECT_FALSE(ev.of(E::Close).back().will_reconnect);
  EXPECT_EQ(ev.events.back().str(), "state connecting->closed");
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_EQ(t.opens.size(), 4u);
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 4u);
}

TEST_F(ChannelTest, MaxRetriesZeroGivesUpAtOnce) {
  cfg.reconnect.max_retries = 0;
  open();
  t.server_close(1006, "", false);
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::RetriesExhausted});
  EXPECT_EQ(ev.of(E::Error)[0].detail, 0);
  EXPECT_EQ(ch->state(), State::Closed);
}

TEST_F(ChannelTest, StableUptimeResetsTheAttemptCounter) {
  no_jitter();
  cfg.reconnect.stable_after_ms = 5000;
  make();
  ch->set_url(kUrl);
  // A server that accepts and hangs up at once: the delays keep growing.
  const double grow[] = {500, 1000, 2000};
  for (double d : grow) {
    ASSERT_TRUE(t.accept());
    ASSERT_TRUE(t.server_close(1006, "", false));
    EXPECT_EQ(ev.of(E::Reconnecting).back().delay, d);
    ASSERT_NO_FATAL_FAILURE(wait_retry(d));
  }
  // Open for just under stableAfterMs: still counts as flapping.
  ASSERT_TRUE(t.accept());
  s.advance(4999);
  ASSERT_TRUE(t.server_close(1006, "", false));
  EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, 4u);
  EXPECT_EQ(ev.of(E::Reconnecting).back().delay, 4000);
  ASSERT_NO_FATAL_FAILURE(wait_retry(4000));
  // Open for stableAfterMs: the next drop starts again from attempt 1.
  ASSERT_TRUE(t.accept());
  s.advance(5000);
  ASSERT_TRUE(t.server_close(1001, "restart"));
  EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, 1u);
  EXPECT_EQ(ev.of(E::Reconnecting).back().delay, 500);
  EXPECT_EQ(ch->attempt(), 1u);
}

TEST_F(ChannelTest, ErrorOnlyRefusalCountsAsAFailedAttempt) {
  // Node 20's WebSocket reports a refused connection with "error" and never "close".
  no_jitter();
  make();
  ch->set_url(kUrl);
  ASSERT_TRUE(t.error());
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::SocketError});
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_EQ(t.sock, FakeTransport::Sock::None);
  ASSERT_EQ(ev.count(E::Close), 1u);
  EXPECT_EQ(ev.of(E::Close)[0].code, 1006);
  EXPECT_FALSE(ev.of(E::Close)[0].clean);
  EXPECT_TRUE(ev.of(E::Close)[0].will_reconnect);
  EXPECT_EQ(ch->state(), State::Reconnecting);
  EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, 1u);
  ASSERT_NO_FATAL_FAILURE(wait_retry(500));
  ASSERT_TRUE(t.error());
  EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, 2u);
  ASSERT_NO_FATAL_FAILURE(wait_retry(1000));
  // A browser follows the error with close(1006): the socket is already forgotten, so the
  // channel cannot see it twice.
  ASSERT_TRUE(t.error());
  EXPECT_FALSE(t.server_close(1006, "", false));
  EXPECT_EQ(ev.count(E::Close), 3u);
  EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, 3u);
}

TEST_F(ChannelTest, ErrorWhileOpenIsReportedAndTheCloseDecides) {
  open();
  ASSERT_TRUE(t.error());
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::SocketError});
  EXPECT_EQ(ch->state(), State::Open);
  EXPECT_EQ(t.aborts, 0u);
  ASSERT_TRUE(t.server_close(1006, "", false));
  EXPECT_EQ(ch->state(), State::Reconnecting);
}

// ============================================================================ heartbeat

class HeartbeatTest : public ChannelTest {
 protected:
  void SetUp() override {
    cfg.heartbeat.enabled = true;
    cfg.heartbeat.interval_ms = 1000;
    cfg.heartbeat.timeout_ms = 500;
    no_jitter();
    make();
    ch->route_message(+1);
  }
};

TEST_F(HeartbeatTest, PingsEveryIntervalOnlyWhileOpen) {
  ch->set_url(kUrl);
  s.advance(5000);  // connecting: no pings
  EXPECT_TRUE(t.sent.empty());
  ASSERT_TRUE(t.accept());
  ASSERT_TRUE(s.pending()) << "the first ping is not scheduled";
  s.advance(999);
  EXPECT_TRUE(t.sent.empty());
  s.advance(1);
  EXPECT_EQ(t.sent_texts(), std::vector<std::string>{"ping"});
  ASSERT_TRUE(t.text("pong"));
  s.advance(1000);
  EXPECT_EQ(t.sent_texts(), (std::vector<std::string>{"ping", "ping"}));
  ASSERT_TRUE(t.text("pong"));
  s.advance(1000);
  ASSERT_TRUE(t.text("pong"));
  EXPECT_EQ(t.sent_texts().size(), 3u);
  EXPECT_EQ(ev.count(E::Text), 0u);  // pongs are not messages
  EXPECT_EQ(ev.count(E::Error), 0u);
  EXPECT_EQ(ch->state(), State::Open);
}

TEST_F(HeartbeatTest, AnyIncomingFrameClearsTheTimeout) {
  ch->set_url(kUrl);
  t.accept();
  s.advance(1000);  // ping
  s.advance(400);
  ASSERT_TRUE(t.text(R"({"type":"data"})"));
  EXPECT_EQ(ev.count(E::Text), 1u);
  s.advance(100);  // the old deadline passes harmlessly
  EXPECT_EQ(ch->state(), State::Open);
  s.advance(500);  // second ping at 2000
  EXPECT_EQ(t.sent_texts().size(), 2u);
  s.advance(400);
  ASSERT_TRUE(t.binary({1}));
  s.advance(100);
  EXPECT_EQ(ch->state(), State::Open);
  EXPECT_EQ(ev.count(E::Error), 0u);
}

TEST_F(HeartbeatTest, EchoedPingIsSwallowedButCountsAsTraffic) {
  ch->set_url(kUrl);
  t.accept();
  s.advance(1000);
  ASSERT_TRUE(t.text("ping"));  // a broadcast relay echoes our own ping
  s.advance(500);
  EXPECT_EQ(ch->state(), State::Open);
  EXPECT_EQ(ev.count(E::Text), 0u);
  ASSERT_TRUE(t.text("pingx"));  // only an exact match is heartbeat traffic
  EXPECT_EQ(ev.count(E::Text), 1u);
}

TEST_F(HeartbeatTest, CustomMessageAndPong) {
  Rig r;
  r.cfg.heartbeat.enabled = true;
  r.cfg.heartbeat.interval_ms = 100;
  r.cfg.heartbeat.timeout_ms = 50;
  r.cfg.heartbeat.message = R"({"type":"ping"})";
  r.cfg.heartbeat.pong = R"({"type":"pong"})";
  r.make();
  r.ch->route_message(+1);
  r.open();
  r.s.advance(100);
  EXPECT_EQ(r.t.sent_texts(), std::vector<std::string>{R"({"type":"ping"})"});
  r.t.text(R"({"type":"pong"})");
  r.t.text("pong");  // not this channel's pong: a message
  EXPECT_EQ(r.ev.count(E::Text), 1u);
  r.s.advance(100);
  EXPECT_EQ(r.c().state(), State::Open);
  r.verify();
}

TEST_F(HeartbeatTest, TimeoutDropsAndReconnects) {
  ch->set_url(kUrl);
  t.accept();
  s.advance(1000);
  ASSERT_EQ(t.sent_texts().size(), 1u);
  s.advance(499);
  EXPECT_EQ(ch->state(), State::Open);
  s.advance(1);
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::HeartbeatTimeout});
  EXPECT_EQ(t.aborts, 1u);
  ASSERT_EQ(ev.count(E::Close), 1u);
  EXPECT_EQ(ev.of(E::Close)[0].code, 1006);
  EXPECT_FALSE(ev.of(E::Close)[0].clean);
  EXPECT_TRUE(ev.of(E::Close)[0].will_reconnect);
  EXPECT_EQ(ch->state(), State::Reconnecting);
  // No pings while waiting to reconnect.
  ASSERT_NO_FATAL_FAILURE(wait_retry(500));
  EXPECT_EQ(t.sent_texts().size(), 1u);
  ASSERT_TRUE(t.accept());
  s.advance(1000);
  EXPECT_EQ(t.sent_texts().size(), 2u);
}

TEST_F(HeartbeatTest, NoPingsWhileClosing) {
  ch->set_url(kUrl);
  t.accept();
  s.advance(500);
  ch->close(0, "");
  s.advance(4000);
  EXPECT_TRUE(t.sent.empty());
  t.server_close(1000);
  EXPECT_EQ(ch->state(), State::Closed);
  s.advance(10000);
  EXPECT_TRUE(t.sent.empty());
}

TEST_F(HeartbeatTest, ResumeProbesAtOnce) {
  ch->set_url(kUrl);
  t.accept();
  s.advance(300);
  ch->on_resume();
  s.advance(0);
  EXPECT_EQ(t.sent_texts(), std::vector<std::string>{"ping"});
  s.advance(500);
  EXPECT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::HeartbeatTimeout});
}

TEST_F(ChannelTest, HeartbeatIsOffByDefault) {
  make();
  ch->route_message(+1);
  open();
  EXPECT_FALSE(s.pending());
  s.advance(1e7);
  EXPECT_TRUE(t.sent.empty());
  t.text("ping");
  t.text("pong");
  EXPECT_EQ(ev.count(E::Text), 2u);  // without a heartbeat these are ordinary messages
}

// ============================================================================ set_url

TEST_F(ChannelTest, SameUrlIsANoOp) {
  no_jitter();
  open();
  const size_t events = ev.events.size();
  EXPECT_EQ(ch->set_url(kUrl), ErrorCode::None);
  EXPECT_EQ(ev.events.size(), events);
  EXPECT_EQ(t.opens.size(), 1u);
  EXPECT_EQ(t.aborts, 0u);
  EXPECT_EQ(ch->state(), State::Open);
  // While connecting and while waiting to retry, too.
  t.server_close(1006, "", false);
  ASSERT_EQ(ch->state(), State::Reconnecting);
  EXPECT_EQ(ch->set_url(kUrl), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Reconnecting);
  EXPECT_EQ(s.wake_in_ms(), 500);  // the backoff goes on
  wait_retry(500);
  EXPECT_EQ(ch->set_url(kUrl), ErrorCode::None);
  EXPECT_EQ(t.opens.size(), 2u);
  EXPECT_EQ(t.aborts, 0u);
}

// The JS layer's end-to-end key changed for the same URL: another channel all the same (a new
// socket, the open one closed as for another URL), and the queue is kept.
TEST_F(ChannelTest, SameUrlRenewedReplacesTheSocket) {
  no_jitter();
  open();
  EXPECT_EQ(ch->set_url(kUrl, /*renew=*/true), ErrorCode::None);
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_EQ(t.opens, (std::vector<std::string>{kUrl, kUrl}));
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(send("queued"), ErrorCode::None);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(ch->state(), State::Open);
  EXPECT_EQ(t.sent_texts(), (std::vector<std::string>{"queued"}));
  // Not renewed: the same URL stays a no-op.
  EXPECT_EQ(ch->set_url(kUrl), ErrorCode::None);
  EXPECT_EQ(t.aborts, 1u);
}

TEST_F(ChannelTest, NewUrlMidConnect) {
  make();
  ch->set_url(kUrl);
  send("a");
  ASSERT_EQ(ch->set_url(kUrl2), ErrorCode::None);
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_EQ(t.opens, (std::vector<std::string>{kUrl, kUrl2}));
  EXPECT_EQ(ch->url(), kUrl2);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(ev.strs(), std::vector<std::string>{"state idle->connecting"});  // no close: it never opened
  EXPECT_EQ(ch->queued_count(), 1u);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(t.sent_texts(), std::vector<std::string>{"a"});
}

TEST_F(ChannelTest, NewUrlMidBackoff) {
  no_jitter();
  make();
  ch->set_url(kUrl);
  refuse();
  wait_retry(500);
  refuse();
  ASSERT_EQ(ch->attempt(), 2u);
  ASSERT_EQ(ch->state(), State::Reconnecting);
  send("a");
  send("b");
  ASSERT_EQ(ch->set_url(kUrl2), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens.back(), kUrl2);
  EXPECT_EQ(t.opens.size(), 3u);
  EXPECT_EQ(ch->attempt(), 0u);
  EXPECT_EQ(ev.events.back().str(), "state reconnecting->connecting");
  s.advance(1000);  // the old retry time passes: no extra socket
  EXPECT_EQ(t.opens.size(), 3u);
  refuse();  // the attempt counter was reset
  EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, 1u);
  wait_retry(500);
  EXPECT_EQ(t.opens.back(), kUrl2);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(t.sent_texts(), (std::vector<std::string>{"a", "b"}));
}

TEST_F(ChannelTest, NewUrlWhileOpen) {
  open();
  ev.clear();
  ASSERT_EQ(ch->set_url(kUrl2), ErrorCode::None);
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_EQ(ev.strs(), (std::vector<std::string>{"close 1000 reconnect clean", "state open->connecting"}));
  EXPECT_EQ(t.opens.back(), kUrl2);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(ch->state(), State::Open);
}

TEST_F(ChannelTest, EmptyUrlDisconnectsAndWaitsIdle) {
  open();
  send("x");
  ev.clear();
  ASSERT_EQ(ch->set_url(""), ErrorCode::None);
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_EQ(ev.strs(), (std::vector<std::string>{"close 1000 final clean", "state open->idle"}));
  EXPECT_EQ(ch->state(), State::Idle);
  EXPECT_EQ(ch->url(), "");
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 1u);
  // The queue survives: what is sent while idle goes out on the next connection.
  send("y");
  EXPECT_EQ(ch->queued_count(), 1u);
  EXPECT_EQ(ch->set_url(""), ErrorCode::None);  // already idle
  ASSERT_EQ(ch->set_url(kUrl2), ErrorCode::None);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(t.sent_texts(), (std::vector<std::string>{"x", "y"}));
}

TEST_F(ChannelTest, EmptyUrlMidBackoffAndMidConnect) {
  make();
  ch->set_url(kUrl);
  refuse();
  ASSERT_EQ(ch->state(), State::Reconnecting);
  ASSERT_EQ(ch->set_url(""), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Idle);
  EXPECT_EQ(ch->attempt(), 0u);
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 1u);
  ch->set_url(kUrl);
  ASSERT_EQ(ch->set_url(""), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Idle);
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_EQ(ev.count(E::Close), 1u);  // only the refused attempt's
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 2u);
}

TEST_F(ChannelTest, SetUrlAfterStopClosesReconnects) {
  open();
  t.server_close(1008, "policy");
  ASSERT_EQ(ch->state(), State::Closed);
  ASSERT_EQ(ch->set_url(kUrl), ErrorCode::None);  // same URL: closed, so it is a restart
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens.size(), 2u);
}

// ============================================================================ close

TEST_F(ChannelTest, CloseWhileOpenDoesTheHandshake) {
  open();
  ev.clear();
  ASSERT_EQ(ch->close(4000, "bye"), ErrorCode::None);
  EXPECT_TRUE(ch->closed_by_user());
  ASSERT_EQ(t.closes.size(), 1u);
  EXPECT_EQ(t.closes[0], std::make_pair(4000, std::string("bye")));
  EXPECT_EQ(ch->state(), State::Closing);
  EXPECT_EQ(mc_test::ready_state(ch->state()), 2);
  EXPECT_EQ(ev.strs(), std::vector<std::string>{"state open->closing"});
  ASSERT_TRUE(t.server_close(4000, "bye"));
  EXPECT_EQ(ev.strs(),
            (std::vector<std::string>{"state open->closing", "close 4000 final clean", "state closing->closed"}));
  EXPECT_EQ(ev.of(E::Close)[0].data, "bye");
  EXPECT_EQ(t.aborts, 0u);
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 1u);
}

TEST_F(ChannelTest, CloseWithoutCodeSends1000) {
  open();
  ch->close(0, "");
  ASSERT_EQ(t.closes.size(), 1u);
  EXPECT_EQ(t.closes[0].first, 1000);
  t.server_close(1000);
}

TEST_F(ChannelTest, CloseHandshakeTimesOut) {
  open();
  ch->close(1000, "");
  s.advance(4999);
  EXPECT_EQ(ch->state(), State::Closing);
  s.advance(1);
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_EQ(t.aborts, 1u);
  ASSERT_EQ(ev.count(E::Close), 1u);
  EXPECT_EQ(ev.of(E::Close)[0].code, 1006);
  EXPECT_FALSE(ev.of(E::Close)[0].clean);
  EXPECT_FALSE(ev.of(E::Close)[0].will_reconnect);
}

TEST_F(ChannelTest, CloseWhileConnecting) {
  make();
  ch->set_url(kUrl);
  ASSERT_EQ(ch->close(0, ""), ErrorCode::None);
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_TRUE(t.closes.empty());
  EXPECT_EQ(ch->state(), State::Closed);
  ASSERT_EQ(ev.count(E::Close), 1u);
  EXPECT_FALSE(ev.of(E::Close)[0].will_reconnect);
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 1u);
}

TEST_F(ChannelTest, CloseDuringBackoffStopsRetrying) {
  make();
  ch->set_url(kUrl);
  refuse();
  ASSERT_EQ(ch->state(), State::Reconnecting);
  ev.clear();
  ASSERT_EQ(ch->close(0, ""), ErrorCode::None);
  EXPECT_EQ(ev.strs(), std::vector<std::string>{"state reconnecting->closed"});
  EXPECT_FALSE(s.pending());
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 1u);
  EXPECT_EQ(ch->state(), State::Closed);
}

TEST_F(ChannelTest, CloseWhenIdle) {
  make();
  ASSERT_EQ(ch->close(0, ""), ErrorCode::None);
  EXPECT_EQ(ev.strs(), std::vector<std::string>{"state idle->closed"});
  EXPECT_TRUE(t.opens.empty());
}

// ============================================================================ reconnect_now

TEST_F(ChannelTest, ReconnectNowAfterRetriesExhausted) {
  cfg.reconnect.max_retries = 1;
  s.random_value = 0;
  make();
  ch->set_url(kUrl);
  refuse();
  wait_retry(0);
  refuse();
  ASSERT_EQ(ch->state(), State::Closed);
  ASSERT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::RetriesExhausted});
  ASSERT_EQ(ch->reconnect_now(), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(ch->attempt(), 0u);
  EXPECT_EQ(t.opens.size(), 3u);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(ch->state(), State::Open);
  t.server_close(1006, "", false);  // a fresh budget
  EXPECT_EQ(ch->state(), State::Reconnecting);
  EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, 1u);
}

TEST_F(ChannelTest, ReconnectNowAfterRevoked) {
  open();
  t.server_close(4001, "");
  ASSERT_EQ(ch->state(), State::Closed);
  ASSERT_EQ(ch->reconnect_now(), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens, (std::vector<std::string>{kUrl, kUrl}));
  ASSERT_TRUE(t.accept());
}

TEST_F(ChannelTest, ReconnectNowDuringBackoffRetriesImmediately) {
  no_jitter();
  make();
  ch->set_url(kUrl);
  refuse();
  wait_retry(500);
  refuse();
  ASSERT_EQ(ch->attempt(), 2u);
  ASSERT_EQ(ch->reconnect_now(), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens.size(), 3u);
  EXPECT_EQ(ch->attempt(), 0u);
  s.advance(1000);  // the cancelled retry does not fire
  EXPECT_EQ(t.opens.size(), 3u);
  refuse();
  EXPECT_EQ(ev.of(E::Reconnecting).back().attempt, 1u);
}

TEST_F(ChannelTest, ReconnectNowWhileOpenOrIdleChangesNothing) {
  make();
  EXPECT_EQ(ch->reconnect_now(), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Idle);
  open();
  EXPECT_EQ(ch->reconnect_now(), ErrorCode::None);
  EXPECT_EQ(ch->state(), State::Open);
  EXPECT_EQ(t.opens.size(), 1u);
}

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

// ============================================================================ re-entrancy

TEST_F(ChannelTest, SetUrlFromTheConnectingStateEvent) {
  make();
  bool once = false;
  ev.hook = [&](const Event& e) {
    if (e.kind == E::State && e.to == State::Connecting && !once) {
      once = true;
      EXPECT_EQ(ch->set_url(kUrl2), ErrorCode::None);
    }
  };
  ASSERT_EQ(ch->set_url(kUrl), ErrorCode::None);
  EXPECT_EQ(ch->url(), kUrl2);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens, std::vector<std::string>{kUrl2});  // one socket, to the newer URL
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(ch->state(), State::Open);
}

TEST_F(ChannelTest, SendFromTheCloseEventOfADropIsQueued) {
  no_jitter();
  open();
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Close) {
      EXPECT_EQ(send("late"), ErrorCode::None);
    }
  };
  ASSERT_TRUE(t.server_close(1006, "", false));
  EXPECT_TRUE(t.sent.empty()) << "sent on a socket that is gone";
  EXPECT_EQ(ch->queued_count(), 1u);
  EXPECT_EQ(ch->state(), State::Reconnecting);
  ev.hook = nullptr;
  wait_retry(500);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(t.sent_texts(), std::vector<std::string>{"late"});
}

TEST_F(ChannelTest, SendFromTheCloseEventOfAHeartbeatTimeoutIsQueued) {
  cfg.heartbeat.enabled = true;
  cfg.heartbeat.interval_ms = 100;
  cfg.heartbeat.timeout_ms = 100;
  open();
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Close) EXPECT_EQ(send("late"), ErrorCode::None);
  };
  s.advance(200);
  ASSERT_EQ(ev.errors(), std::vector<ErrorCode>{ErrorCode::HeartbeatTimeout});
  EXPECT_EQ(t.sent_texts(), std::vector<std::string>{"ping"});
  EXPECT_EQ(ch->queued_count(), 1u);
}

TEST_F(ChannelTest, CloseFromTheCloseEventOfADrop) {
  open();
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Close && e.will_reconnect) EXPECT_EQ(ch->close(0, ""), ErrorCode::None);
  };
  ASSERT_TRUE(t.server_close(1006, "", false));
  EXPECT_EQ(ch->state(), State::Closed);
  EXPECT_TRUE(t.closes.empty()) << "close() sent on a socket that is gone";
  EXPECT_EQ(ev.count(E::Close), 1u);  // one socket, one close event
  EXPECT_EQ(ev.count(E::Reconnecting), 0u);
  EXPECT_FALSE(s.pending());
  s.advance(1e7);
  EXPECT_EQ(t.opens.size(), 1u);
}

TEST_F(ChannelTest, SetUrlFromTheCloseEventOfADrop) {
  open();
  bool once = false;
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Close && !once) {
      once = true;
      EXPECT_EQ(ch->set_url(kUrl2), ErrorCode::None);
    }
  };
  ASSERT_TRUE(t.server_close(1006, "", false));
  EXPECT_EQ(ev.count(E::Close), 1u);
  EXPECT_EQ(ev.count(E::Reconnecting), 0u);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens.back(), kUrl2);
  EXPECT_EQ(ch->attempt(), 0u);
  ASSERT_TRUE(t.accept());
}

TEST_F(ChannelTest, SetUrlFromTheSocketErrorOfARefusedConnection) {
  make();
  bool once = false;
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Error && !once) {
      once = true;
      EXPECT_EQ(ch->set_url(kUrl2), ErrorCode::None);
    }
  };
  ch->set_url(kUrl);
  ASSERT_TRUE(t.error());
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.sock, FakeTransport::Sock::Connecting);
  EXPECT_EQ(t.opens.back(), kUrl2);
  EXPECT_EQ(ev.count(E::Reconnecting), 0u);
  s.advance(100);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(ch->state(), State::Open);
}

TEST_F(ChannelTest, SetUrlFromTheConnectTimeoutError) {
  make();
  bool once = false;
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Error && !once) {
      once = true;
      ch->set_url(kUrl2);
    }
  };
  ch->set_url(kUrl);
  s.advance(cfg.reconnect.connect_timeout_ms);
  EXPECT_EQ(ch->state(), State::Connecting);
  EXPECT_EQ(t.opens.back(), kUrl2);
  EXPECT_EQ(ev.count(E::Close), 0u);
  ASSERT_TRUE(t.accept());
}

TEST_F(ChannelTest, CloseFromTheOpenEvent) {
  make();
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Open) EXPECT_EQ(ch->close(4000, "no"), ErrorCode::None);
  };
  ch->set_url(kUrl);
  ASSERT_TRUE(t.accept());
  EXPECT_EQ(ch->state(), State::Closing);
  ASSERT_EQ(t.closes.size(), 1u);
  t.server_close(4000, "no");
  EXPECT_EQ(ch->state(), State::Closed);
}

TEST_F(ChannelTest, CloseFromTheOpenStateEventSkipsTheOpenEvent) {
  make();
  ev.hook = [&](const Event& e) {
    if (e.kind == E::State && e.to == State::Open) ch->close(0, "");
  };
  ch->set_url(kUrl);
  t.accept();
  EXPECT_EQ(ev.count(E::Open), 0u);
  EXPECT_EQ(ch->state(), State::Closing);
  t.server_close(1000);
}

TEST_F(ChannelTest, SendFromTheOpenEventGoesAfterTheQueue) {
  make();
  ev.hook = [&](const Event& e) {
    if (e.kind == E::Open) send("from-open");
  };
  send("a");
  send("b");
  ch->set_url(kUrl);
  t.accept();
  EXPECT_EQ(t.sent_texts(), (std::vector<std::string>{"a", "b", "from-open"}));
}

TEST_F(ChannelTest, DisposeFromEveryCallbackSilencesTheRest) {
  // Dispose inside the first event of each kind of a busy scenario: nothing may follow.
  for (int k = E::State; k <= E::Reconnecting; ++k) {
    SCOPED_TRACE(mc_test::kind_name(static_cast<E::Kind>(k)));
    Rig r;
    r.cfg.heartbeat.enabled = true;
    r.cfg.heartbeat.interval_ms = 1000;
    r.cfg.heartbeat.timeout_ms = 500;
    r.cfg.queue.max_messages = 1;
    r.make();
    r.ch->route_message(+1);
    size_t at = 0;
    r.ev.hook = [&](const Event& e) {
      if (e.kind == k && at == 0) {
        at = r.ev.events.size();
        r.ch->dispose();
      }
    };
    r.send("a");
    r.c().set_url(kUrl);
    r.send("b");  // QUEUE_OVERFLOW
    r.t.accept();
    r.t.text("hello");
    r.t.binary({1});
    r.t.server_close(1006, "", false);
    r.s.advance(60000);
    EXPECT_NE(at, 0u);
    EXPECT_EQ(r.ev.events.size(), at);
    EXPECT_TRUE(r.c().disposed());
    r.verify();
  }
}

// --- A sweep: every API call from inside the first event of every kind of a long scenario.

enum class Action { Send, Close, SetUrlOther, SetUrlEmpty, Dispose, ReconnectNow, Offline };

const char* action_name(Action a) {
  switch (a) {
    case Action::Send: return "Send";
    case Action::Close: return "Close";
    case Action::SetUrlOther: return "SetUrlOther";
    case Action::SetUrlEmpty: return "SetUrlEmpty";
    case Action::Dispose: return "Dispose";
    case Action::ReconnectNow: return "ReconnectNow";
    case Action::Offline: return "Offline";
  }
  return "?";
}

class ReentrancySweep : public ::testing::TestWithParam<std::tuple<int, Action>> {};

TEST_P(ReentrancySweep, LeavesAConsistentState) {
  const auto kind = static_cast<E::Kind>(std::get<0>(GetParam()));
  const Action action = std::get<1>(GetParam());
  Rig r;
  r.cfg.heartbeat.enabled = true;
  r.cfg.heartbeat.interval_ms = 1000;
  r.cfg.heartbeat.timeout_ms = 500;
  r.cfg.reconnect.full_jitter = false;
  r.cfg.reconnect.min_delay_ms = 100;
  r.cfg.queue.max_messages = 2;
  r.cfg.max_message_bytes = 64;
  r.make();
  r.ch->route_message(+1);

  bool fired = false;
  size_t events_at_dispose = 0;
  r.ev.hook = [&](const Event& e) {
    if (fired || e.kind != kind) return;
    fired = true;
    switch (action) {
      case Action::Send: r.send("reentrant"); break;
      case Action::Close: r.c().close(4000, "reentrant"); break;
      case Action::SetUrlOther: r.c().set_url(kUrl2); break;
      case Action::SetUrlEmpty: r.c().set_url(""); break;
      case Action::Dispose:
        r.c().dispose();
        events_at_dispose = r.ev.events.size();
        break;
      case Action::ReconnectNow: r.c().reconnect_now(); break;
      case Action::Offline: r.set_online(false); break;
    }
  };

  std::vector<std::string> broken;
  int step = 0;
  auto check = [&] {
    ++step;
    for (const std::string& b : r.consistency()) broken.push_back("after step " + std::to_string(step) + ": " + b);
  };
  r.send("q1");
  check();
  r.c().set_url(kUrl);
  check();
  r.send("q2");
  r.send("q3");  // QUEUE_OVERFLOW (drop-oldest)
  check();
  r.t.accept();
  check();
  r.t.text("hello");
  r.t.binary({1, 2, 3});
  r.t.text(std::string(100, 'x'));  // MESSAGE_TOO_LARGE
  check();
  r.t.error();  // SOCKET_ERROR while open
  check();
  r.t.server_close(1006, "", false);  // close, reconnecting
  check();
  r.s.advance(1000);
  r.t.accept();
  check();
  r.s.advance(2000);  // ping, HEARTBEAT_TIMEOUT
  check();
  r.s.advance(1000);
  r.t.accept();
  r.t.server_close(4001, "revoked");  // REVOKED
  check();
  r.c().reconnect_now();
  r.t.accept();
  r.t.server_close(1008, "policy");  // SOCKET_ERROR, stop
  check();
  r.c().reconnect_now();
  r.t.error();  // refused (Node 20 style)
  check();
  r.set_online(true);
  r.s.advance(1000);
  r.t.accept();
  r.send("x");
  r.c().close(1000, "bye");
  check();
  r.t.server_close(1000, "bye");
  check();
  r.s.advance(10000);
  check();

  EXPECT_TRUE(fired) << "the scenario never produced a " << mc_test::kind_name(kind) << " event";
  EXPECT_TRUE(broken.empty()) << join(broken);
  if (action == Action::Dispose) {
    EXPECT_EQ(r.ev.events.size(), events_at_dispose);
    EXPECT_EQ(r.c().send_text("x", 1), ErrorCode::Disposed);
  }
  r.verify();
}

INSTANTIATE_TEST_SUITE_P(
    EveryEventEveryCall, ReentrancySweep,
    ::testing::Combine(::testing::Range(static_cast<int>(E::State), static_cast<int>(E::Reconnecting) + 1),
                       ::testing::Values(Action::Send, Action::Close, Action::SetUrlOther, Action::SetUrlEmpty,
                                         Action::Dispose, Action::ReconnectNow, Action::Offline)),
    [](const ::testing::TestParamInfo<std::tuple<int, Action>>& info) {
      return std::string(mc_test::kind_name(static_cast<E::Kind>(std::get<0>(info.param)))) + "_" +
             action_name(std::get<1>(info.param));
    });

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
