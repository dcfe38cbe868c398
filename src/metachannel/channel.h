// Channel: the connection state machine. Owns the send queue, the reconnect policy, the
// heartbeat and the router; drives a Transport; keeps time through a Scheduler; tells its
// owner what happened through ChannelEvents. Single-threaded and re-entrant: any API call may
// be made from inside any event callback.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "metachannel/delivery.h"
#include "metachannel/envelope.h"
#include "metachannel/reconnect_policy.h"
#include "metachannel/router.h"
#include "metachannel/send_queue.h"
#include "metachannel/transport.h"
#include "metachannel/types.h"

namespace mc {

namespace channel_detail {
class MessageArg;
}  // namespace channel_detail

// The options' members, names, types and defaults: src/metachannel/vocabulary.h (as for every
// option). heartbeat.message is sent as a text frame as is; a text frame equal to
// heartbeat.pong is swallowed.
struct HeartbeatOptions {
  MC_OPTION_MEMBERS(heartbeat)
  HeartbeatOptions() = default;
  explicit HeartbeatOptions(Unset) : MC_UNSET_MEMBERS(heartbeat) unset_() {}
  char unset_ = 0;  // (ends the Unset initialiser list)
};

struct ChannelConfig {
  // From the option lists (vocabulary.h): protocols_csv (comma-separated subprotocols, "" for
  // none), max_message_bytes, closing_timeout_ms (a close handshake the server never answers),
  // close_drain_ms (close() with messages queued and a connection on its way waits this long
  // for it to open and send them; 0: drop them at once).
  MC_OPTION_MEMBERS(config)
  ReconnectOptions reconnect;
  HeartbeatOptions heartbeat;
  QueueOptions queue;
  std::string id;  // id on the wire (reliable/presence); "" = random
  ReliableOptions reliable;
  PresenceOptions presence;
  // Makes the Delivery when `reliable` or `presence` is enabled: Reliability::create in the full
  // core; nullptr in the lite core, where neither is available (delivery.h).
  DeliveryFactory delivery = nullptr;

  ChannelConfig() = default;
  // Every option of ChannelConfig and of its reconnect, heartbeat and queue left zero or empty
  // (reliable and presence keep their defaults), for a caller that sets each one.
  explicit ChannelConfig(Unset u)
      : MC_UNSET_MEMBERS(config) reconnect(u), heartbeat(u), queue(u), id(), reliable(), presence(), delivery() {}
};

class ChannelEvents {
 public:
  virtual void on_state(State from, State to) = 0;
  virtual void on_open(std::string_view protocol) = 0;
  // `route` is a set of route:: bits; only frames somebody wants are delivered. With
  // route::kSequenced, `from` and `seq` are the sender id and sequence number the core read in
  // the frame's reliable tag (the one parse of it); otherwise "" and 0.
  virtual void on_text(const char* data, size_t size, uint32_t route, std::string_view from, double seq) = 0;
  virtual void on_binary(const uint8_t* data, size_t size, uint32_t route) = 0;
  virtual void on_close(int code, std::string_view reason, bool clean, bool will_reconnect) = 0;
  virtual void on_error(ErrorCode code, std::string_view message, double detail) = 0;
  virtual void on_reconnecting(uint32_t attempt, double delay_ms) = 0;
  // Reliable delivery (MESSAGES_LOST): `count` messages of sender `from` can no longer arrive.
  virtual void on_lost(std::string_view /*from*/, double /*count*/, std::string_view /*message*/) {}
  // Presence: {"joined":{id:state,...},"updated":{id:state,...},"left":[id,...]}.
  virtual void on_presence(std::string_view /*json*/) {}

 protected:
  ~ChannelEvents() = default;
};

#ifdef MC_NO_DELIVERY
// The lite core's build (MC_NO_DELIVERY, below): no Delivery ever calls a host, so a Channel is
// none (its hooks and what they reach would only be kept alive by the vtable).
struct NoDeliveryHost {};
using ChannelDeliveryHost = NoDeliveryHost;
#else
using ChannelDeliveryHost = DeliveryHost;
#endif

class Channel final : public TransportListener, public SchedulerListener, private ChannelDeliveryHost {
 public:
  Channel(Transport& transport, Scheduler& scheduler, ChannelEvents& events, ChannelConfig config);
  // The same, with the config made in place by make(arg): no ChannelConfig is moved (the wasm
  // build reads the options straight into the channel's own; a move constructor of every
  // option was 346 B of the lite wasm).
  using ConfigMaker = ChannelConfig (*)(const void* arg);
  Channel(Transport& transport, Scheduler& scheduler, ChannelEvents& events, ConfigMaker make, const void* arg);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // --- API. Each returns ErrorCode::None, or the code to throw with last_error() as message.
  // Empty url: disconnect and wait in Idle. Same url: no-op. Another: switch to it.
  // `renew`: the same url is another channel all the same (the JS layer's end-to-end key
  // changed: the socket must be replaced and reliable streams start over, as for another url).
  ErrorCode set_url(std::string_view url, bool renew = false);
  ErrorCode send_text(const char* data, size_t size);
  // True when send_text() of a frame of at most `max_size` bytes would go straight to the
  // transport (open, nothing queued, no reliable tag to add, within the size limit): the core
  // needs none of its bytes, so the caller may hand the transport the frame directly.
  bool can_send_directly(double max_size) const {
    return !disposed_ && !closed_by_user_ && state_ == State::Open && live_ && queue_.empty() && !reliable() &&
           max_size <= static_cast<double>(config_.max_message_bytes);
  }
  ErrorCode send_binary(const uint8_t* data, size_t size);
  // Final: never reconnects. code 0 means "none given" (1000 is sent). With messages queued
  // and a URL to connect to, the channel first waits (up to close_drain_ms, retrying as usual)
  // for a connection, sends them, then closes; what is still queued then is dropped and
  // reported (CLOSED).
  ErrorCode close(int code, std::string_view reason);
  // Retry now: cancels a backoff wait (or resumes after REVOKED / RETRIES_EXHAUSTED) and
  // resets the attempt counter.
  ErrorCode reconnect_now();
  // Browser signals: online (a waiting retry happens now), offline (a waiting retry is parked
  // until online, and retries are not burned while offline), resume (a page came back from
  // the background: check a stale socket).
  void set_online(bool online);
  void on_resume();
  // Drops the socket and the queue; no event is emitted after this.
  void dispose();
  // Drops an open socket as a network failure would (close 1006, then reconnect): for demos
  // and fault drills.
  void drop_connection();

  // Interest (JS mirrors its listeners here; Router says what each means). Every change
  // goes through these, so the transport's receive plan follows it.
  const Router& router() const { return router_; }
  int field_slot(std::string_view field);
  void route(int slot, std::string_view value, int delta);
  void route_message(int delta);
  void route_any_object(int delta);
  void set_js_mirrors_type(bool on);
  // Reliable delivery and presence (docs/reliability.md): null unless the options asked for
  // either and this core has them (ChannelConfig::delivery).
  Delivery* delivery() { return rel_.get(); }
  const Delivery* delivery() const { return rel_.get(); }
  bool reliable() const { return rel_ && rel_->reliable(); }
  // This peer's id on the wire: ChannelConfig::id if valid, else a random one, made on first use.
  const std::string& id();
  // The counters of docs/reliability.md as JSON ("{}" without a Delivery).
  std::string reliable_stats_json() const { return rel_ ? rel_->stats_json() : "{}"; }
  // Validates and announces this peer's presence state (JSON text).
  ErrorCode set_presence(std::string_view json);
  // The page was hidden/unloaded (pagehide) or shown again (pageshow): leaves/rejoins presence.
  void set_hidden(bool hidden) {
    if (!disposed_ && rel_) rel_->set_hidden(hidden);
  }

  // --- Observers.
  State state() const { return state_; }
  const std::string& url() const { return url_; }
  std::string protocol() const { return state_ == State::Open ? transport_.protocol() : std::string(); }
  double buffered_amount() const { return state_ == State::Open ? transport_.buffered_amount() : 0; }
  size_t queued_count() const { return queue_.size(); }
  size_t queued_bytes() const { return queue_.bytes(); }
  uint32_t attempt() const { return attempt_; }
  bool disposed() const { return disposed_; }
  bool closed_by_user() const { return closed_by_user_; }
  const std::string& last_error() const { return last_error_; }
  const ChannelConfig& config() const { return config_; }

  // --- TransportListener / SchedulerListener (called by the platform layer).
  void on_transport_open() override;
  void on_transport_text(const char* data, size_t size) override;
  void on_transport_binary(const uint8_t* data, size_t size) override;
  void on_transport_oversize(bool text, double size) override;
  void on_transport_error() override;
  void on_transport_close(int code, std::string_view reason, bool clean) override;
  void on_wake() override;

 private:
  static constexpr double kNever = std::numeric_limits<double>::infinity();

  // The error's text: `text` with each "{}" replaced by the next of `args` (channel_internal.h).
  ErrorCode fail(ErrorCode code, const char* text, std::initializer_list<channel_detail::MessageArg> args);
  // Moves to `to` and emits "state". False if a listener changed the state (or disposed)
  // meanwhile, in which case the caller must stop what it was doing.
  bool transition(State to);
  void start_attempt();
  void flush_queue();
  // close(): the socket's closing handshake, or straight to Closed; drops (and reports) what
  // is still queued.
  void finish_close(bool socket_open);
  void drop_queue_on_close(const char* why);
  // close() is waiting for a connection to send the queue: the one time after close() that a
  // socket may still be opened.
  bool draining() const { return closed_by_user_ && draining_; }
  bool final_close() const { return closed_by_user_ && !draining(); }
  // The socket is gone (closed, failed, timed out). Decides between reconnect and closed.
  // refused_status: the HTTP status of a refused upgrade (0: none), classified instead of `code`.
  void handle_drop(int code, std::string_view reason, bool clean, int refused_status = 0);
  // The attempt or connection failed (a timeout, an error): drops the socket, reports why, then
  // handle_drop(1006) unless a listener of that error changed the channel meanwhile.
  void drop_with_error(ErrorCode code, double detail, const char* text,
                       std::initializer_list<channel_detail::MessageArg> args);
  void schedule_retry(bool at_once = false);
  // emit_close: whether this socket's close event is still to be emitted.
  void enter_closed(int code, std::string_view reason, bool clean, bool emit_close = true);
  // Forgets the current socket (transport_.abort()), if there is one.
  void abort_socket();
  // noinline: five stores of kNever, otherwise inlined at each of its callers.
  __attribute__((noinline)) void clear_timers();
  void reschedule();
  ErrorCode send_frame(bool binary, const char* data, size_t size);
  void saw_traffic();
  void report_oversize(bool text, double size);
  // Tells the transport what becomes of a text frame it does not hand over (ReceivePlan),
  // when that changed: after every change of state or interest.
  void update_receive();
  // Nothing but the router decides what a frame is (no heartbeat strings, no reliability).
  bool router_decides() const { return !config_.heartbeat.enabled && !rel_; }
  void report(ErrorCode code, double detail, const char* text, std::initializer_list<channel_detail::MessageArg> args);
#ifndef MC_NO_DELIVERY
  // DeliveryHost (not a base of the lite core's Channel: nothing there would call it)
  bool rel_send(const std::string& text) override;
  bool rel_deliver(const char* data, size_t size, std::string_view from, double seq) override;
  void rel_lost(const std::string& from, double count) override;
  void rel_presence(const std::string& json) override;
  void rel_reschedule() override { reschedule(); }
#endif

  Transport& transport_;
  Scheduler& scheduler_;
  ChannelEvents& events_;
  ChannelConfig config_;
  ReconnectPolicy policy_;
  SendQueue queue_;
  Router router_;
  ReceivePlan plan_;  // what the transport was last told
  Envelope envelope_;
#ifndef MC_NO_DELIVERY
  Envelope out_envelope_;   // outgoing frames (a send from a listener must not clobber envelope_)
  Envelope held_envelope_;  // frames delivered late by the reliability layer
#endif
#ifdef MC_NO_DELIVERY
  // The lite core's build (CMake METACHANNEL_LITE): no Delivery is ever made (no factory links),
  // and with this the compiler knows it: every branch on rel_ is dropped from the wasm.
  struct NoDelivery {
    explicit operator bool() const { return false; }
    Delivery* operator->() const { return nullptr; }
    Delivery* get() const { return nullptr; }
  };
  NoDelivery rel_;
#else
  std::unique_ptr<Delivery> rel_;  // null: neither reliable nor presence (or not in this core)
#endif
  std::string id_;  // the wire id without a Delivery (id())

  State state_ = State::Idle;
  std::string url_;
  std::string last_error_;
  uint32_t attempt_ = 0;  // consecutive failed attempts since the last stable connection
  // A 1012 "service restart" already skipped the backoff wait since the last stable connection:
  // a server that keeps closing with 1012 gets one immediate retry, then backoff.
  bool skipped_wait_ = false;
  uint64_t epoch_ = 0;  // bumps on every state change, to detect re-entrant changes
  bool disposed_ = false;
  bool closed_by_user_ = false;
  bool online_ = true;
  bool ever_opened_ = false;  // in the current attempt
  // A socket exists: from a successful transport_.open() until abort() or its close event.
  // While a drop is being reported the state is still Open/Connecting but the socket is gone.
  bool live_ = false;

  double opened_at_ = 0;
  double connect_deadline_ = kNever;
  double retry_at_ = kNever;
  double ping_at_ = kNever;
  double pong_deadline_ = kNever;
  double closing_deadline_ = kNever;
  bool draining_ = false;                 // close() is waiting to send the queue
  double drain_deadline_ = kNever;        // until then (kNever: closeTimeoutMs Infinity)
  int close_code_ = close_code::kNormal;  // what close() asked for, used when the drain ends
  std::string close_reason_;
};

}  // namespace mc
