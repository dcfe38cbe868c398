// Channel (channel.h): the API, the state machine (connect, reconnect with backoff, heartbeat,
// queue flush, close and its drain) and the timers. The receiving side (interest, the receive
// plan, frames in, the DeliveryHost calls) is in channel_receive.cpp. One file over 500 lines:
// the transitions, the drop handling and on_wake share every deadline and must be read together.
#include "metachannel/channel.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "metachannel/channel_internal.h"
#include "metachannel/url.h"

namespace mc {

using namespace channel_detail;  // NOLINT(google-build-using-namespace): the helpers of this part

void channel_detail::append_message(std::string& s, const char* text, std::initializer_list<MessageArg> args) {
  const MessageArg* arg = args.begin();
  for (const char* p = text;; p += 2) {
    const char* hole = p;
    while (*hole && !(hole[0] == '{' && hole[1] == '}')) ++hole;
    s.append(p, static_cast<size_t>(hole - p));
    if (!*hole) return;
    if (arg == args.end()) {  // more holes than arguments (a mistake at a call site): shown as is
      s.append(hole, 2);
      p = hole;
      continue;
    }
    const MessageArg& a = *arg++;
    p = hole;
    if (a.size_ == MessageArg::kUrl) {
      append_redacted_url(s, std::string_view(a.data_, a.url_size_));
      continue;
    }
    if (a.size_ != MessageArg::kNumber) {
      s.append(a.data_, a.size_);
      continue;
    }
    double v = a.number_;
    if (std::isnan(v)) {
      s.append("NaN");
      continue;
    }
    if (v < 0) {
      s.append("-", 1);  // (no push_back in the lite core: see json_unescape)
      v = -v;
    }
    if (!(v < 1e18)) {
      s.append(v == std::numeric_limits<double>::infinity() ? "Infinity" : "1e18+");
      continue;
    }
    char digits[20];
    size_t i = sizeof(digits);
    for (auto u = static_cast<uint64_t>(v);; u /= 10) {
      digits[--i] = static_cast<char>('0' + u % 10);
      if (u < 10) break;
    }
    s.append(digits + i, sizeof(digits) - i);
  }
}

Channel::Channel(Transport& transport, Scheduler& scheduler, ChannelEvents& events, ChannelConfig config)
    : Channel(
          transport, scheduler, events,
          [](const void* c) { return std::move(*static_cast<ChannelConfig*>(const_cast<void*>(c))); }, &config) {}

Channel::Channel(Transport& transport, Scheduler& scheduler, ChannelEvents& events, ConfigMaker make, const void* arg)
    : transport_(transport),
      scheduler_(scheduler),
      events_(events),
      config_(make(arg)),  // a prvalue: made in place
      policy_(config_.reconnect),
      queue_(config_.queue) {
#ifndef MC_NO_DELIVERY
  if (config_.delivery && (config_.reliable.enabled || config_.presence.enabled)) {
    rel_ = config_.delivery(*this, scheduler_, config_.id, config_.reliable, config_.presence);
  }
#endif
  transport_.set_listener(this);
}

const std::string& Channel::id() {
  if (rel_) return rel_->id();
  if (id_.empty()) {
    if (valid_wire_id(config_.id)) {
      id_.assign(config_.id.data(), config_.id.size());  // (no std::string copy constructor in the wasm)
    } else {
      id_ = random_wire_id(scheduler_);
    }
  }
  return id_;
}

Channel::~Channel() {
  dispose();
  transport_.set_listener(nullptr);
}

ErrorCode Channel::fail(ErrorCode code, const char* text, std::initializer_list<MessageArg> args) {
  last_error_.clear();
  append_message(last_error_, text, args);
  return code;
}

void Channel::report(ErrorCode code, double detail, const char* text, std::initializer_list<MessageArg> args) {
  if (disposed_) return;
  std::string message;
  append_message(message, text, args);
  events_.on_error(code, message, detail);
}

bool Channel::transition(State to) {
  if (disposed_) return false;
  if (state_ == to) return true;
  const State from = state_;
  state_ = to;
  update_receive();
  const uint64_t mine = ++epoch_;
  events_.on_state(from, to);
  return !disposed_ && epoch_ == mine;
}

// ---------------------------------------------------------------------------------- API

ErrorCode Channel::set_url(std::string_view url, bool renew) {
  if (disposed_) return fail(ErrorCode::Disposed, "this channel was disposed; create a new Channel", {});
  if (closed_by_user_)
    return fail(ErrorCode::Closed, "close() was called on this channel; create a new Channel to connect again", {});
  if (url.empty()) {
    if (url_.empty() && state_ == State::Idle) return ErrorCode::None;
    if (rel_) rel_->step_away(url_);  // "bye"; the peers' streams and the resend buffer wait for a return to url_
    if (disposed_) return ErrorCode::None;
    const bool was_open = state_ == State::Open && live_;
    url_.clear();
    attempt_ = 0;
    clear_timers();
    abort_socket();
    reschedule();
    const uint64_t mine = ++epoch_;  // whatever this call interrupted must not go on
    if (was_open) events_.on_close(close_code::kNormal, "", true, false);
    if (epoch_ == mine) transition(State::Idle);
    return ErrorCode::None;
  }
  if (const char* problem = ws_url_problem(url)) {
    return fail(ErrorCode::InvalidUrl, "invalid channel URL {}: {}", {RedactedUrl{url}, std::string_view(problem)});
  }
  const bool another = url != url_ || renew;  // (one comparison of the URLs)
  if (!another && state_ != State::Idle && state_ != State::Closed) return ErrorCode::None;
  if (another) {
    if (rel_) {
      rel_->on_closing();  // "bye" to the old channel's peers
      rel_->enter(url);    // starts over, unless this is the channel it stepped away from
    }
    if (disposed_) return ErrorCode::None;
  }
  const bool was_open = state_ == State::Open && live_;
  abort_socket();
  url_.assign(url.data(), url.size());
  attempt_ = 0;
  clear_timers();
  // Whatever this call interrupted (an attempt being started, a drop being reported) must
  // not go on: it would act on the old URL's socket.
  const uint64_t mine = ++epoch_;
  if (was_open) events_.on_close(close_code::kNormal, "", true, true);
  if (disposed_ || epoch_ != mine) return ErrorCode::None;
  start_attempt();
  return ErrorCode::None;
}

ErrorCode Channel::send_text(const char* data, size_t size) { return send_frame(false, data, size); }

ErrorCode Channel::send_binary(const uint8_t* data, size_t size) {
  return send_frame(true, reinterpret_cast<const char*>(data), size);
}

ErrorCode Channel::send_frame(bool binary, const char* data, size_t size) {
  if (disposed_) return fail(ErrorCode::Disposed, "this channel was disposed; create a new Channel", {});
  if (size > config_.max_message_bytes) {
    return fail(ErrorCode::MessageTooLarge, "the message is {} bytes; maxMessageBytes is {}",
                {static_cast<double>(size), static_cast<double>(config_.max_message_bytes)});
  }
  if (closed_by_user_ || state_ == State::Closing) {
    return fail(ErrorCode::Closed, "close() was called on this channel; messages can no longer be sent", {});
  }
  // Reliable: a JSON object gets its sequence tag; it counts once the channel accepted it.
#ifdef MC_NO_DELIVERY
  constexpr bool sequenced = false;  // (the lite core: no tag, and no std::string made for one)
#else
  std::string tagged;
  bool sequenced = false;
  if (!binary && reliable()) {
    out_envelope_.scan(data, size);
    if (rel_->tag(data, size, out_envelope_, tagged)) {
      if (tagged.size() > config_.max_message_bytes) {
        return fail(ErrorCode::MessageTooLarge,
                    "the message is {} bytes with its reliable-delivery tag; maxMessageBytes is {}",
                    {static_cast<double>(tagged.size()), static_cast<double>(config_.max_message_bytes)});
      }
      sequenced = true;
      data = tagged.data();
      size = tagged.size();
    }
  }
#endif
  if (state_ == State::Open && live_ && queue_.empty()) {
    const bool ok = binary ? transport_.send_binary(reinterpret_cast<const uint8_t*>(data), size)
                           : transport_.send_text(data, size);
    if (ok) {
#ifndef MC_NO_DELIVERY
      if (sequenced) rel_->commit(std::move(tagged), /*written=*/true);
#endif
      return ErrorCode::None;
    }
  }
  size_t dropped = 0;
  const SendQueue::Push pushed =
      queue_.push(binary, data, size, dropped, sequenced ? static_cast<uint64_t>(rel_->pending_seq()) : 0);
#ifndef MC_NO_DELIVERY
  if (sequenced && (pushed == SendQueue::Push::Queued || pushed == SendQueue::Push::QueuedDropped)) {
    rel_->commit(std::move(tagged), /*written=*/false);
  }
#endif
  switch (pushed) {
    case SendQueue::Push::Queued: return ErrorCode::None;
    case SendQueue::Push::QueuedDropped:
      report(ErrorCode::QueueOverflow, static_cast<double>(dropped),
             "the send queue was full; dropped the {} oldest message(s)", {static_cast<double>(dropped)});
      return ErrorCode::None;
    case SendQueue::Push::DroppedNewest:
      report(ErrorCode::QueueOverflow, 1,
             "the send queue was full; dropped the message just sent (overflow: drop-newest)", {});
      return ErrorCode::None;
    case SendQueue::Push::Rejected:
      return fail(ErrorCode::QueueOverflow,
                  "the send queue is full ({} messages, {} bytes); the message was not queued. Raise "
                  "queue.maxMessages/maxBytes or wait for \"open\"",
                  {static_cast<double>(queue_.size()), static_cast<double>(queue_.bytes())});
    case SendQueue::Push::TooLarge:
      return fail(ErrorCode::QueueOverflow,
                  "the message ({} bytes) can never fit in the send queue (queue.maxBytes {}, maxMessages {})",
                  {static_cast<double>(size), static_cast<double>(queue_.options().max_bytes),
                   static_cast<double>(queue_.options().max_messages)});
  }
  return ErrorCode::None;
}

ErrorCode Channel::close(int code, std::string_view reason) {
  if (disposed_) return fail(ErrorCode::Disposed, "this channel was disposed; create a new Channel", {});
  if (code != 0 && !is_sendable_close_code(code)) {
    return fail(ErrorCode::InvalidArgument, "close code must be 1000 or in 3000-4999 (got {})",
                {static_cast<double>(code)});
  }
  if (reason.size() > 123) {
    return fail(ErrorCode::InvalidArgument, "close reason is {} bytes of UTF-8; at most 123 are allowed",
                {static_cast<double>(reason.size())});
  }
  if (closed_by_user_) return ErrorCode::None;
  closed_by_user_ = true;
  close_code_ = code ? code : close_code::kNormal;
  close_reason_.assign(reason.data(), reason.size());
  // A connection on its way: a live handshake, or a retry waiting. Not inside the close event
  // of a drop (the state is still Connecting there, but the socket is gone and the channel is
  // about to close or schedule its retry).
  const bool connecting = (state_ == State::Connecting && live_) || state_ == State::Reconnecting;
  if (!queue_.empty() && connecting && config_.close_drain_ms > 0) {
    // Send what is queued first: wait for the connection (retrying now, not after a backoff).
    draining_ = true;
    drain_deadline_ = scheduler_.now_ms() + config_.close_drain_ms;
    if (state_ == State::Reconnecting) {
      retry_at_ = kNever;
      start_attempt();
    } else {
      reschedule();
    }
    return ErrorCode::None;
  }
  finish_close(state_ == State::Open && live_);
  return ErrorCode::None;
}

void Channel::drop_queue_on_close(const char* why) {
  const size_t dropped = queue_.clear();
  if (!dropped) return;
  report(ErrorCode::Closed, static_cast<double>(dropped), "close() dropped {} queued message(s) that were never sent{}",
         {static_cast<double>(dropped), std::string_view(why)});
}

void Channel::finish_close(bool socket_open) {
  // "bye" to the peers while the socket is still open: after the queue went out (a bye before
  // the last messages would make receivers report them lost).
  if (rel_) rel_->on_closing();
  const bool had_socket = live_;  // false inside the close event of a drop: already reported
  const bool waited = draining_;
  clear_timers();
  draining_ = false;
  drain_deadline_ = kNever;
  if (socket_open) {
    transport_.close(close_code_, close_reason_);
    closing_deadline_ = scheduler_.now_ms() + config_.closing_timeout_ms;
  } else {
    abort_socket();
  }
  reschedule();
  const uint64_t mine = epoch_;
  drop_queue_on_close(waited ? " (no connection within closeTimeoutMs)" : "");
  if (disposed_ || epoch_ != mine) return;
  if (socket_open) {
    transition(State::Closing);
  } else {
    enter_closed(close_code_, close_reason_, true, had_socket);
  }
}

ErrorCode Channel::reconnect_now() {
  if (disposed_) return fail(ErrorCode::Disposed, "this channel was disposed; create a new Channel", {});
  if (closed_by_user_)
    return fail(ErrorCode::Closed, "close() was called on this channel; create a new Channel to connect again", {});
  attempt_ = 0;
  if (url_.empty()) return ErrorCode::None;
  if (state_ == State::Reconnecting || state_ == State::Closed) {
    retry_at_ = kNever;
    start_attempt();
  }
  return ErrorCode::None;
}

void Channel::set_online(bool online) {
  if (disposed_ || online_ == online) return;
  online_ = online;
  // After close() nothing reconnects (but its own wait to send the queue), even inside the
  // window where close() is still reporting (its dropped-messages error runs listeners before
  // the state reaches Closed).
  if (final_close() || state_ != State::Reconnecting) return;
  retry_at_ = kNever;
  if (online) {
    start_attempt();
  } else {
    reschedule();  // the pending retry waits for set_online(true)
  }
}

void Channel::on_resume() {
  if (disposed_ || final_close()) return;
  if (state_ == State::Reconnecting && online_) {
    retry_at_ = kNever;
    start_attempt();
    return;
  }
  // live_: inside the close event of a drop or a set_url() the state is still Open but the
  // socket is gone; there is nothing to probe (a probe would arm a wake-up that outlives it).
  if (state_ == State::Open && live_ && config_.heartbeat.enabled) {
    // A socket that slept in a background tab may be dead without knowing it: probe it now.
    ping_at_ = scheduler_.now_ms();
    reschedule();
  }
}

void Channel::dispose() {
  if (disposed_) return;
  if (rel_) rel_->on_closing();  // "bye" to the peers while the socket is still open
  disposed_ = true;
  // Frees what it holds. The object itself stays: this may run inside one of its callbacks.
  if (rel_) rel_->reset(/*emit=*/false);
  clear_timers();
  draining_ = false;
  drain_deadline_ = kNever;
  scheduler_.cancel_wake();
  abort_socket();
  queue_.clear();
  router_.clear();
  state_ = State::Closed;
  update_receive();
}

void Channel::drop_connection() {
  if (disposed_ || state_ != State::Open || !live_) return;
  abort_socket();
  handle_drop(close_code::kAbnormal, "", false);
}

// ------------------------------------------------------------------------- state machine

void Channel::start_attempt() {
  // The one place a socket is opened: close() is final whatever path leads here (only its
  // own wait to send the queue opens one).
  if (disposed_ || final_close()) return;
  clear_timers();
  ever_opened_ = false;
  if (!transition(State::Connecting)) return;
  abort_socket();  // one socket at a time, whatever happened before
  if (!transport_.open(url_, config_.protocols_csv)) {
    const uint64_t mine = epoch_;
    // (a view: the message is written before any listener runs)
    const std::string_view why = transport_.open_error();
    if (!why.empty()) {
      // The same arguments would fail the same way: say why once and stop (setUrl() or
      // reconnect() tries again, after the cause is fixed).
      report(ErrorCode::SocketError, 0,
             "could not create a WebSocket for {}: {}; not retrying (the same arguments would fail again)",
             {RedactedUrlString{url_}, why});
      if (!disposed_ && epoch_ == mine) enter_closed(close_code::kAbnormal, "", false, /*emit_close=*/false);
      return;
    }
    drop_with_error(ErrorCode::SocketError, 0, "could not create a WebSocket for {}", {RedactedUrlString{url_}});
    return;
  }
  live_ = true;
  const double timeout = config_.reconnect.connect_timeout_ms;
  if (timeout > 0 && std::isfinite(timeout)) connect_deadline_ = scheduler_.now_ms() + timeout;
  reschedule();
}

void Channel::flush_queue() {
  while (!queue_.empty()) {
    const QueuedMessage& m = queue_.front();
    const bool ok = m.binary ? transport_.send_binary(reinterpret_cast<const uint8_t*>(m.data), m.size)
                             : transport_.send_text(m.data, m.size);
    if (!ok) return;  // the socket is failing; what is left stays queued for the next connection
    if (m.seq) rel_->on_written(static_cast<double>(m.seq));
    queue_.pop_front();
  }
}

void Channel::on_transport_open() {
  if (disposed_ || !live_ || state_ != State::Connecting) return;
  const double now = scheduler_.now_ms();
  connect_deadline_ = kNever;
  opened_at_ = now;
  ever_opened_ = true;
  if (config_.heartbeat.enabled) {
    ping_at_ = now + config_.heartbeat.interval_ms;
    pong_deadline_ = kNever;
  }
  if (rel_) rel_->on_open();  // "hi" to the peers, and what the last socket lost in flight, first
  flush_queue();              // before any listener runs, so queued messages keep their place in line
  if (closed_by_user_) {
    // close() was waiting for this connection to send the queue: it is sent, so close now.
    finish_close(/*socket_open=*/true);
    return;
  }
  if (!transition(State::Open)) return;
  reschedule();  // after the transition: in Open it arms the heartbeat and drops the connect deadline
  events_.on_open(transport_.protocol());
}

void Channel::on_transport_error() {
  if (disposed_ || !live_) return;
  if (state_ == State::Connecting) {
    // Browsers follow a failed handshake's error with close(1006); Node 20's WebSocket never
    // does. Treat the error itself as the end of the attempt and drop the socket, so both
    // behave the same and no late close is seen.
    const int status = transport_.refused_status();
    abort_socket();
    if (status != 0 && ReconnectPolicy::classify_refusal(status) != ReconnectPolicy::CloseVerdict::Reconnect) {
      handle_drop(close_code::kAbnormal, "", false, status);  // reported there (REVOKED)
      return;
    }
    drop_with_error(ErrorCode::SocketError, status,
                    status != 0 ? "could not connect to {}: the server answered the upgrade with HTTP {}"
                                : "could not connect to {}",  // (the status left unused)
                    {RedactedUrlString{url_}, static_cast<double>(status)});
    return;
  }
  if (state_ == State::Open)
    report(ErrorCode::SocketError, 0, "the connection to {} reported an error", {RedactedUrlString{url_}});
}

void Channel::on_transport_close(int code, std::string_view reason, bool clean) {
  if (disposed_ || !live_) return;
  live_ = false;  // the transport has released the socket
  if (state_ == State::Closing) {
    enter_closed(code, reason, clean);
    return;
  }
  if (state_ == State::Connecting || state_ == State::Open) handle_drop(code, reason, clean);
}

void Channel::abort_socket() {
  if (!live_) return;
  live_ = false;
  transport_.abort();
}

void Channel::drop_with_error(ErrorCode code, double detail, const char* text, std::initializer_list<MessageArg> args) {
  abort_socket();
  const uint64_t mine = epoch_;
  report(code, detail, text, args);
  if (!disposed_ && epoch_ == mine) handle_drop(close_code::kAbnormal, "", false);
}

void Channel::enter_closed(int code, std::string_view reason, bool clean, bool emit_close) {
  clear_timers();
  draining_ = false;
  drain_deadline_ = kNever;
  reschedule();
  const uint64_t mine = epoch_;
  if (closed_by_user_) {
    drop_queue_on_close(" (the connection ended before they could be sent)");  // a drain cut short
    if (disposed_ || epoch_ != mine) return;
  }
  if (emit_close && !disposed_ && (state_ == State::Open || state_ == State::Connecting || state_ == State::Closing)) {
    events_.on_close(code, reason, clean, false);
  }
  if (!disposed_ && epoch_ == mine) transition(State::Closed);
}

void Channel::handle_drop(int code, std::string_view reason_view, bool clean, int refused_status) {
  const std::string reason(reason_view);  // the transport's buffer may not outlive callbacks
  if (rel_) rel_->on_drop();
  connect_deadline_ = ping_at_ = pong_deadline_ = closing_deadline_ = kNever;
  const uint64_t mine = epoch_;
  auto still_mine = [&] { return !disposed_ && epoch_ == mine; };

  // A drop that ends the channel: the close event (once, for the socket that was live), then
  // the error that says why, then "closed". In this order a listener that calls close(),
  // setUrl() or reconnect() in either event cannot swallow the close event.
  auto end_channel = [&](ErrorCode error, double detail, const char* text, std::initializer_list<MessageArg> args) {
    if (state_ == State::Open || state_ == State::Connecting) events_.on_close(code, reason, clean, false);
    if (!still_mine()) return;
    report(error, detail, text, args);
    if (still_mine()) enter_closed(code, reason, clean, /*emit_close=*/false);
  };

  const ReconnectPolicy::CloseVerdict verdict =
      refused_status != 0 ? ReconnectPolicy::classify_refusal(refused_status) : ReconnectPolicy::classify_close(code);
  switch (verdict) {
    case ReconnectPolicy::CloseVerdict::Revoked:
      if (refused_status != 0) {
        end_channel(ErrorCode::Revoked, refused_status,
                    "the server refused {} with HTTP {}: it does not know this channel (expired, forgotten by "
                    "a restart, or rotated); call setUrl() with a valid URL",
                    {RedactedUrlString{url_}, static_cast<double>(refused_status)});
        return;
      }
      end_channel(ErrorCode::Revoked, code,
                  "the server revoked this channel URL (close 4001: it was rotated); call setUrl() with the new URL",
                  {});
      return;
    case ReconnectPolicy::CloseVerdict::Stop:
      end_channel(ErrorCode::SocketError, code,
                  "the server closed the channel with code {}, which means it will not accept this client as "
                  "it is; not reconnecting",
                  {static_cast<double>(code)});
      return;
    case ReconnectPolicy::CloseVerdict::Reconnect:
    case ReconnectPolicy::CloseVerdict::ReconnectNow: break;
  }
  if (!config_.reconnect.enabled) {
    enter_closed(code, reason, clean);
    return;
  }
  const double now = scheduler_.now_ms();
  if (ever_opened_ && now - opened_at_ >= config_.reconnect.stable_after_ms) {
    attempt_ = 0;
    skipped_wait_ = false;
  }
  if (online_) {
    ++attempt_;
    if (policy_.exhausted(attempt_)) {
      end_channel(ErrorCode::RetriesExhausted, attempt_ - 1,
                  "gave up reconnecting to {} after {} retries (reconnect.maxRetries); call reconnect() to try again",
                  {RedactedUrlString{url_}, static_cast<double>(attempt_ - 1)});
      return;
    }
  }
  const bool was_socket = state_ == State::Open || state_ == State::Connecting;
  if (was_socket) events_.on_close(code, reason, clean, true);
  const bool at_once = verdict == ReconnectPolicy::CloseVerdict::ReconnectNow && !skipped_wait_;
  if (at_once) skipped_wait_ = true;
  if (still_mine()) schedule_retry(at_once);
}

void Channel::schedule_retry(bool at_once) {
  if (!online_) {
    // Offline: wait for set_online(true) instead of burning retries against no network.
    retry_at_ = kNever;
    reschedule();
    transition(State::Reconnecting);
    return;
  }
  const double delay = at_once ? 0 : policy_.delay(attempt_, scheduler_.random01());
  retry_at_ = scheduler_.now_ms() + delay;
  reschedule();
  if (!transition(State::Reconnecting)) return;
  events_.on_reconnecting(attempt_, delay);
}

void Channel::on_wake() {
  if (disposed_) return;
  const double now = scheduler_.now_ms();
  if (draining() && drain_deadline_ <= now) {
    finish_close(/*socket_open=*/false);  // no connection in time: drop the queue (reported), close
    return;
  }
  if (state_ == State::Connecting && connect_deadline_ <= now) {
    connect_deadline_ = kNever;
    drop_with_error(ErrorCode::ConnectTimeout, 0,
                    "no WebSocket handshake from {} within {} ms (reconnect.connectTimeoutMs)",
                    {RedactedUrlString{url_}, config_.reconnect.connect_timeout_ms});
  } else if (state_ == State::Open && pong_deadline_ <= now) {
    pong_deadline_ = kNever;
    drop_with_error(ErrorCode::HeartbeatTimeout, 0,
                    "no frame from {} within {} ms of a heartbeat ping; dropping the connection",
                    {RedactedUrlString{url_}, config_.heartbeat.timeout_ms});
  } else if (state_ == State::Open && ping_at_ <= now) {
    const HeartbeatOptions& hb = config_.heartbeat;
    transport_.send_text(hb.message.data(), hb.message.size());
    ping_at_ = now + hb.interval_ms;
    if (pong_deadline_ == kNever) pong_deadline_ = now + hb.timeout_ms;
  } else if (state_ == State::Reconnecting && retry_at_ <= now) {
    retry_at_ = kNever;
    start_attempt();
    return;
  } else if (state_ == State::Closing && closing_deadline_ <= now) {
    closing_deadline_ = kNever;
    abort_socket();
    enter_closed(close_code::kAbnormal, "", false);
    return;
  }
  if (state_ == State::Open && live_ && rel_) {
    rel_->on_wake();  // may call listeners (presence, MESSAGES_LOST)
    if (disposed_) return;
  }
  reschedule();
}

void Channel::clear_timers() { connect_deadline_ = retry_at_ = ping_at_ = pong_deadline_ = closing_deadline_ = kNever; }

void Channel::reschedule() {
  if (disposed_) return;
  double next = kNever;
  switch (state_) {
    case State::Connecting: next = connect_deadline_; break;
    case State::Open:
      next = std::min(ping_at_, pong_deadline_);
      if (rel_) next = std::min(next, rel_->next_deadline());
      break;
    case State::Reconnecting: next = retry_at_; break;
    case State::Closing: next = closing_deadline_; break;
    case State::Idle:
    case State::Closed: break;
  }
  // The state may not have been entered yet (callers set deadlines just before transitions).
  // (pairwise std::min from the left, as min_element compares, not the initializer_list form:
  // no array and min_element call)
  next = std::min(std::min(std::min(std::min(next, connect_deadline_), retry_at_), closing_deadline_), drain_deadline_);
  if (next == kNever) {
    scheduler_.cancel_wake();
  } else {
    scheduler_.wake_in(std::max(0.0, next - scheduler_.now_ms()));
  }
}

}  // namespace mc
