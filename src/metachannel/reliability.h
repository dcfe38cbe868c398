// Reliability: exactly-once, in-order delivery per sender and presence, built by the peers
// themselves over a relay that only broadcasts. Opt-in per channel (ReliableOptions,
// PresenceOptions). The wire, the guarantees and every limit are in docs/reliability.md;
// the numbers below are the one copy of those limits.
//
// Sender: each JSON object it sends gets one reserved top-level member, "_mc":"<id>:<seq>",
// and is kept in a bounded resend buffer. Receiver: per sender, duplicates are dropped and
// frames are delivered in sequence order; a gap is asked for ("nack") after a short random
// back-off, which another receiver's request for the same range cancels. Control messages
// ({"type":"_mc","op":...}) are read with nlohmann/json (its lexer, into its document:
// json_text.h) and written as text by the core (json_text.cpp's writer).
//
// Reliability, not authentication: anyone who can write to the channel can forge ids and
// sequence numbers. The bounds below keep such a peer from making a client allocate or
// resend without limit, or stop delivering; they cannot stop it from confusing the order of
// the peer whose id it forges.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metachannel/delivery.h"
#include "metachannel/envelope.h"
#include "metachannel/transport.h"
#include "metachannel/vocabulary.h"

namespace mc {

namespace rel {
// Wire names.
constexpr std::string_view kTagMember = MC_RELIABLE_TAG;  // the reserved member of a sequenced object
constexpr std::string_view kControlType = "_mc";          // "type" of every control message
// Limits (docs/reliability.md, "Limits").
constexpr uint64_t kMaxSeq = (1ull << 53) - 1;  // largest sequence number (JS safe integer)
constexpr uint64_t kMaxGap = 1ull << 20;        // a larger gap is reported lost at once
constexpr size_t kMaxIdBytes = 64;              // ids: 1-64 of [A-Za-z0-9_-]
constexpr size_t kMaxPeers = 1024;              // per-sender state kept (least recently heard evicted)
constexpr size_t kMaxHeldPerPeer = 4096;        // frames held out of order, per sender
constexpr size_t kMaxHeldBytes = 8 << 20;       // frames held out of order, all senders
constexpr size_t kMaxRanges = 16;               // ranges in one nack / gone
constexpr size_t kMaxMoreTargets = 64;          // other senders asked in one nack ("more")
constexpr size_t kMaxControlBytes = 16384;      // a control frame larger than this (+ max state) is ignored
constexpr size_t kDedupeWindow = 128;           // per sender, a content hash of each of the last deliveries
constexpr double kNacksHandledPerSecond = 500;  // nacks addressed to us that we act on
constexpr double kResendMessagesPerSecond = 5000;
constexpr double kResendBytesPerSecond = 8 << 20;
constexpr double kRequestsPerSecond = 100;  // nacks sent, all senders together
// Timing: every timer of the protocol, the one copy of its value. docs/reliability.md's
// "Timing" table is generated from this list (scripts/gen-vocabulary.mjs). Timers that many
// receivers run at once grow with the group: G = 1 + ln(max(n, 2) / 2) for the n peers this
// one knows on the channel, itself included (1 for two peers, 2.6 for 10, 4.9 for 100).
// X(name, value, unit, scaled by, "what it is")
#define MC_RELIABILITY_TIMING(X)                                                                                      \
  X(kRequestBackoffMinMs, 5, "ms", "", "least back-off before asking for a gap")                                      \
  X(kRequestBackoffMaxMs, 60, "ms", "G",                                                                              \
    "back-off window: the request goes out at min + (window − min) × f, f in [0, 1) drawn from RFC 5740's "        \
    "truncated exponential with λ = ln(n) + 1 (most receivers draw late, so the first request's broadcast "          \
    "reaches them before they ask)")                                                                                  \
  X(kRequestRetryMs, 300, "ms", "", "no answer to a request: ask again after this plus the back-off window; doubles") \
  X(kRequestRetryMaxMs, 3000, "ms", "", "...up to this (plus the window)")                                            \
  X(kGiveUpMs, 10000, "ms", "", "a gap without progress for this long while connected is reported lost")              \
  X(kQuietMs, 500, "ms", "G", "tail announce: a `hi` this long after the last sequenced message")                     \
  X(kTailAgainFactor, 3, "× quiet", "",                                                                               \
    "the tail announce goes again this many quiet periods after it, and once more this many times that after "        \
    "the first repeat (two repeats, unless the sender sends again: a lost announce must not hide a lost tail)")       \
  X(kAnswerDelayMaxMs, 50, "ms", "G", "answering an `ask`: a random delay, uniform in [0, this)")                     \
  X(kAnswerMinIntervalMs, 300, "ms", "G", "at most one answer per this: later asks wait for the next one")            \
  X(kResendGuardMs, 100, "ms", "+ window",                                                                            \
    "a frame resent less than this plus the back-off window ago is not resent again (one resend answers every "       \
    "receiver that asks)")                                                                                            \
  X(kRepairHoldMs, 1000, "ms", "G − 1",                                                                               \
    "while peers are coming back (another's `hi` with `ask`, or our own reconnect, less than the hold ago), a "       \
    "sender holds the resend a request asks for up to this long after the first request (0 for two peers), so "       \
    "that one resend serves every receiver back by then; it goes out sooner once no peer has come back for "          \
    "kRepairQuietMs")                                                                                                 \
  X(kRepairQuietMs, 250, "ms", "G",                                                                                   \
    "...the quiet spell that ends the hold early: at most this, and kRepairQuietGaps times the mean time between "    \
    "the returns seen so far (peers back within milliseconds of each other end it soon)")                             \
  X(kRepairQuietGaps, 16, "× gap", "", "...that multiple")                                                            \
  X(kRepairQuietMinMs, 200, "ms", "", "...and never less than this (a single return waits this long for others)")     \
  X(kRepairHoldMaxMs, 2500, "ms", "", "...and the hold is never longer than this")                                    \
  X(kRepairAwayHoldMs, 8000, "ms", "",                                                                                \
    "after our own socket dropped, the peers heard on it that answer an `ask` (one that has sent, or is present) "    \
    "likely dropped with it (a relay restart drops every socket): a requested resend is held until each of them "     \
    "is heard again, at most this long after our socket reopened, and goes out at once when the last is back")        \
  X(kEchoTimeoutMs, 2000, "ms", "", "no echo of our own `hi` within this after open: the relay does not echo")        \
  X(kPresenceMinIntervalMs, 50, "ms", "", "setPresence() announces at most this often")                               \
  X(kRttBackoffFactor, 3, "× rtt", "",                                                                                \
    "the back-off window is at least this many round trips (rtt: the time our own frames take to come back "          \
    "from an echoing relay, a moving average; 0 where the relay does not echo)")                                      \
  X(kRttRetryFactor, 2, "× rtt", "",                                                                                  \
    "a request is repeated (and another's covers ours) no sooner than this many round trips")                         \
  X(kRttGiveUpFactor, 4, "× rtt", "", "added to kGiveUpMs: a loaded relay slows repairs, it does not lose them")      \
  X(kResendOnReconnectMaxRttMs, 100, "ms", "",                                                                        \
    "what went into the last socket and did not come back is resent on the next one only while the round trip is "    \
    "below this; above it most of those frames sit in the relay's queue to us, not lost, and requests repair the "    \
    "rest")                                                                                                           \
  X(kMaxRttMs, 5000, "ms", "",                                                                                        \
    "the round-trip estimate is capped here (a peer replaying our frames late cannot stall us)")                      \
  X(kPresenceGroupPerRenew, 30, "peers", "",                                                                          \
    "from this many peers on, the renew period is renewMs × n / this (and announced as `renew`)")
// NOLINTNEXTLINE(bugprone-macro-parentheses): `name` is the name being declared
#define MC_X(name, value, unit, scale, doc) constexpr double name = (value);
MC_RELIABILITY_TIMING(MC_X)
#undef MC_X
}  // namespace rel

struct ReliabilityStats {
  double sequenced_sent = 0;          // tagged frames accepted for sending
  double resent_after_reconnect = 0;  // in flight at a drop, not echoed: resent on the next socket
  double resent_on_request = 0;       // resent because a receiver asked
  double requests_sent = 0;           // nacks sent
  double requests_cancelled = 0;      // back-offs cancelled by another receiver's nack
  double duplicates_dropped = 0;
  double forwarded = 0;  // a delivered (sender, seq) with other content: delivered unsequenced
  double reordered = 0;  // frames that waited for a gap to fill
  double repaired = 0;   // frames that filled a gap
  double lost = 0;       // frames reported MESSAGES_LOST
  double gone_sent = 0;  // ranges answered with "gone"
};

// A list of sequence ranges [first, second] kept in place, at most kCap of them (the most any
// list of the protocol holds: uncovered()'s bound): no heap, no vector code.
struct SeqRange {
  uint64_t first, second;
};
struct RangeList {
  static constexpr size_t kCap = 3 * rel::kMaxRanges;
  SeqRange r[kCap];
  size_t n = 0;
  const SeqRange* begin() const { return r; }
  const SeqRange* end() const { return r + n; }
  bool empty() const { return n == 0; }
  size_t size() const { return n; }
  void add(uint64_t first, uint64_t second) { r[n++] = SeqRange{first, second}; }
};

// The resend buffer's container: a ring over one vector, grown by doubling (std::deque's block
// map, its iterators and its split buffers cost about 1 KB of wasm). A popped slot's element is
// reset at once (its text freed); clear() frees everything.
template <typename T>
class Ring {
 public:
  bool empty() const { return n_ == 0; }
  size_t size() const { return n_; }
  T& operator[](size_t i) { return v_[(head_ + i) & (v_.size() - 1)]; }
  const T& operator[](size_t i) const { return v_[(head_ + i) & (v_.size() - 1)]; }
  T& front() { return (*this)[0]; }
  const T& front() const { return (*this)[0]; }
  void push_back(T x) {
    if (n_ == v_.size()) grow();
    (*this)[n_++] = std::move(x);
  }
  void pop_front() {
    T& f = front();  // reset in place (no temporary to move from)
    f.~T();
    new (&f) T();
    head_ = (head_ + 1) & (v_.size() - 1);
    --n_;
  }
  void clear() {
    std::vector<T>().swap(v_);
    head_ = n_ = 0;
  }
  struct iterator {
    Ring* ring;
    size_t i;
    T& operator*() const { return (*ring)[i]; }
    iterator& operator++() {
      ++i;
      return *this;
    }
    bool operator!=(const iterator& o) const { return i != o.i; }
  };
  iterator begin() { return {this, 0}; }
  iterator end() { return {this, n_}; }

 private:
  __attribute__((noinline)) void grow() {
    std::vector<T> bigger(v_.empty() ? 16 : 2 * v_.size());
    for (size_t i = 0; i < n_; ++i) bigger[i] = std::move((*this)[i]);
    v_.swap(bigger);
    head_ = 0;
  }
  std::vector<T> v_;  // size: 0 or a power of two
  size_t head_ = 0, n_ = 0;
};

// The Delivery of the full core (delivery.h says what each hook is for).
class Reliability final : public Delivery {
 public:
  using Ranges = RangeList;

  // `id`: this instance's id on the wire; one of 1-64 [A-Za-z0-9_-], else a random one is made.
  Reliability(DeliveryHost& host, Scheduler& scheduler, std::string id, const ReliableOptions& reliable,
              const PresenceOptions& presence);
  Reliability(const Reliability&) = delete;
  Reliability& operator=(const Reliability&) = delete;
  // The DeliveryFactory the full core passes in ChannelConfig::delivery.
  static std::unique_ptr<Delivery> create(DeliveryHost& host, Scheduler& scheduler, std::string id,
                                          const ReliableOptions& reliable, const PresenceOptions& presence);

  // Made on first use (an inactive channel draws no random numbers until asked).
  const std::string& id() override {
    if (id_.empty()) make_id();
    return id_;
  }
  bool reliable() const override { return ropt_.enabled; }
  bool presence_enabled() const { return popt_.enabled; }
  bool active() const { return ropt_.enabled || popt_.enabled; }

  // --- sending. tag(): the frame `data` (a JSON object, scanned into `e`) with the reserved
  // member for the next sequence number; commit() once the channel accepted it (sent now:
  // written=true, or queued). Nothing is consumed until commit().
  bool tag(const char* data, size_t size, const Envelope& e, std::string& out) override;
  void commit(std::string text, bool written) override;
  // A queued frame with this sequence number went into the current socket.
  void on_written(double seq) override;

  // --- connection. on_open(): the socket is open (sends "hi" and what the last one lost).
  void on_open() override;
  void on_drop() override;
  // close()/dispose() while open: says "bye" (final).
  void on_closing() override;
  // The channel switched URL (or went idle): peers and the buffer belong to the old channel.
  // emit: announce the peers that were present as left (not from dispose()).
  void reset(bool emit = true) override;
  // setUrl(null): says "bye" (not final: what the others miss from us may still be repaired
  // when we come back), leaves presence, and keeps the peers' streams and the resend buffer
  // for a return to `url`.
  void step_away(std::string_view url) override;
  // The channel connects to `url`: the same peer as before if it stepped away from `url`,
  // else everything starts over (reset()).
  void enter(std::string_view url) override;
  // Page hidden/shown (pagehide/pageshow): leave/rejoin presence.
  void set_hidden(bool hidden) override;
  // Validates and announces a new presence state (JSON text). "" if fine, else the problem.
  std::string set_presence(std::string_view json) override;

  // --- receiving. For a JSON object frame (scanned into `e`): what the channel does with it.
  // Sequenced: deliver it now with route::kSequenced, then call after_delivery().
  Action on_text(const char* data, size_t size, const Envelope& e) override;
  std::string_view sender() const override { return sender_; }
  double sender_seq() const override { return static_cast<double>(sender_seq_); }
  void after_delivery() override;

  // --- time
  double next_deadline() override;
  void on_wake() override;

  // --- observers (tests, stats)
  const ReliabilityStats& stats() const { return stats_; }
  std::string stats_json() const override;
  uint64_t next_seq() const { return next_seq_; }
  double pending_seq() const override { return static_cast<double>(next_seq_); }
  size_t buffered_count() const { return sent_.size(); }
  size_t buffered_bytes() const { return sent_bytes_; }
  size_t peer_count() const { return peers_.size(); }
  size_t held_count() const;
  size_t held_bytes() const { return held_bytes_; }
  size_t present_count() const;
  bool relay_echoes() const { return relay_echoes_; }
  // Bytes of the presence state (JSON) of `id`, or -1.
  long presence_state_bytes(const std::string& id) const;
  bool open() const { return open_; }

 private:
  struct Sent {
    uint64_t seq;
    std::string text;
    double at;
    uint32_t conn;  // connection it was last written to; 0: not yet written (in the send queue)
    bool echoed;
    double resent_at;
    double written_at = 0;  // when it last went into a socket (0: not yet): its echo times the relay
    bool wanted = false;    // a receiver asked for it: resent when the repair hold ends
  };
  struct Peer {
    std::string id;
    bool seq_known = false;
    uint64_t next = 0;  // next sequence number to deliver
    uint64_t top = 0;   // highest sequence number known to exist
    std::map<uint64_t, std::string> held;
    double heard = 0;     // last control frame from this peer (presence liveness)
    uint64_t used = 0;    // last frame from this peer, as a tick (which peer to forget first)
    double progress = 0;  // last time `next` moved (or we reopened)
    double request_at = kNever;
    double retry_ms = rel::kRequestRetryMs;
    // Ranges another receiver asked for (its nack is broadcast, so is the resend): not asked
    // again before `until`.
    struct Cover {
      uint64_t first, last;
      double until;
    };
    // At most kCap, oldest first: one array of kCap made with the first (no vector growth code).
    struct Covers {
      static constexpr size_t kCap = 2 * rel::kMaxRanges;
      std::unique_ptr<Cover[]> c;
      size_t n = 0;
      Cover* begin() const { return c.get(); }
      Cover* end() const { return c.get() + n; }
      // Added last; when full, the oldest gives way.
      void add(const Cover& x) {
        if (!c) c.reset(new Cover[kCap]);
        if (n == kCap) {
          for (size_t i = 1; i < n; ++i) c[i - 1] = c[i];
          --n;
        }
        c[n++] = x;
      }
    };
    Covers covers;
    double renew_ms = 0;      // the renew period it announced ("renew"), 0: none (an older peer)
    bool reads_more = false;  // its hi says it reads "more" in a nack (older peers: only "to")
    bool present = false;
    bool away = false;  // heard on a socket of ours that dropped, not heard since (kRepairAwayHoldMs)
    std::string state;  // JSON text
    // (seq mod 2^32) << 32 | content hash of the last deliveries, at seq % kDedupeWindow: a
    // frame that repeats a delivered (sender, seq) with other content was forwarded.
    std::array<uint64_t, rel::kDedupeWindow> seen{};
  };
  static constexpr double kNever = std::numeric_limits<double>::infinity();

  // Out of line: one call at each of its ~25 sites, not the virtual call's loads.
  __attribute__((noinline)) double now() { return scheduler_.now_ms(); }
  void make_id();
  Peer* peer(std::string_view id, bool create);
  bool gap_open(const Peer& p) const { return p.seq_known && p.top >= p.next; }
  // Everything below `to` is either delivered from `held` or counted lost (reported once).
  // False if the host asked to stop.
  bool skip_to(Peer& p, uint64_t to);
  // What `p` holds from its next on without a hole, delivered; with `to` (skip_to), first
  // everything held below it, and `next` moved to it.
  bool drain(Peer& p, uint64_t to = 0);
  // The sender's stream restarted far behind (or a forger): what it held is dropped, `seq` is
  // its last, nothing is asked for.
  void restart(Peer& p, uint64_t seq);
  static void remember(Peer& p, uint64_t seq, const char* data, size_t size);
  // `seq` is the sender's next: delivered now (Sequenced); what it held behind it drains after.
  Action deliver_next(Peer& p, uint64_t seq, const char* data, size_t size);
  // A frame repeating a delivered (sender, seq): Drop if it is the same frame (or unknown),
  // Plain if its content differs (a forwarded copy that kept the "_mc" member).
  Action repeated(const Peer& p, uint64_t seq, const char* data, size_t size);
  void schedule_request(Peer& p, double delay);
  void want(double at);
  void prune_sent();
  void handle_control(const char* data, size_t size);
  void on_hi(Peer& p, uint64_t seq, uint64_t low);
  double backoff();
  // The group factor G of the header's timing constants, and the timers it scales.
  double group_scale() const;
  double backoff_window() const {
    return std::max(rel::kRequestBackoffMaxMs * group_scale(), rel::kRttBackoffFactor * rtt_);
  }
  // How long a sender holds a requested resend at most (kRepairHoldMs).
  double repair_hold() const {
    if (waiting_for_away()) return rel::kRepairAwayHoldMs;
    return std::min(rel::kRepairHoldMs * (group_scale() - 1), rel::kRepairHoldMaxMs);
  }
  // Our socket reopened after a drop and peers that dropped with it are not back yet.
  bool waiting_for_away() const { return away_episode_ && away_ > 0; }
  // `p` is heard again (or left): no longer waited for (kRepairAwayHoldMs). True if it was the
  // last one a hold waited for.
  bool back(Peer& p) {
    if (!p.away) return false;
    p.away = false;
    if (away_ == 0) return false;  // marked by on_drop(), not counted yet (on_open() counts)
    return --away_ == 0;
  }
  // The quiet spell that ends a hold early (kRepairQuietMs): 0 without a hold.
  double repair_quiet() const {
    if (group_scale() <= 1) return 0;
    const double cap = rel::kRepairQuietMs * group_scale();
    const double gap = returns_ >= 2 ? (last_return_ - returns_from_) / (returns_ - 1) : 0;
    return std::min(cap, std::max(rel::kRepairQuietMinMs, rel::kRepairQuietGaps * gap));
  }
  // When the current hold ends, seen at `t`. After our own drop: when the last peer that dropped
  // with us is back (at once if none is away), at most kRepairAwayHoldMs after we reopened.
  // Otherwise: a quiet spell from now, at most the whole hold.
  double hold_end(double t) {
    if (away_episode_) {
      if (waiting_for_away() && t < open_at_ + rel::kRepairAwayHoldMs) return open_at_ + rel::kRepairAwayHoldMs;
      away_episode_ = false;
      return t;
    }
    return std::min(repair_first_ + repair_hold(), t + repair_quiet());
  }
  // A peer came back (or we did): the returns of one episode time the quiet spell.
  void note_return(double t) {
    if (t - last_return_ >= repair_hold()) {
      returns_from_ = t;
      returns_ = 0;
    }
    ++returns_;
    last_return_ = t;
  }
  // How long a sender may hold what we ask for: the whole hold while peers are coming back
  // (we see their returns as it does), else the quiet spell.
  __attribute__((noinline)) double expected_hold() {
    return now() - last_return_ < repair_hold() ? repair_hold() : repair_quiet();
  }
  // How long a request (ours or another receiver's) is given to be answered.
  double answer_wait(const Peer& p) {
    return std::max(p.retry_ms, rel::kRttRetryFactor * rtt_) + backoff_window() + expected_hold();
  }
  // Each peer's tail announce reaches every other: fewer of them as the group grows.
  double quiet_ms() const { return rel::kQuietMs * group_scale(); }
  // Three held repairs fit in it, whatever the group.
  double give_up_ms() const { return rel::kGiveUpMs + rel::kRttGiveUpFactor * rtt_ + 3 * repair_hold(); }
  double renew_period() const;
  double peer_timeout(const Peer& p) const;
  Ranges uncovered(Peer& p);
  void on_nack(const Ranges& ranges);
  void flush_repairs();
  void on_others_nack(Peer& p, const Ranges& ranges);
  void on_gone(Peer& p, const Ranges& ranges);
  void send_hi(bool ask);
  void send_nack(Peer& p);
  void send_bye(bool final_bye);
  // One presence event: the `n` peers at `ids` joined, updated or left (the other two lists empty).
  enum class Change : uint8_t { Joined, Updated, Left };
  void presence_changed(Change change, const std::string* ids, size_t n);
  // Erases a peer, its held frames and the lookup caches (one copy of the map's erase code).
  void forget_peer(std::map<std::string, Peer>::iterator it);
  bool spend(double& tokens, double& at, double rate, double burst, double cost);
  Ranges missing(const Peer& p) const;

  DeliveryHost& host_;
  Scheduler& scheduler_;
  ReliableOptions ropt_;
  PresenceOptions popt_;
  std::string id_;
  ReliabilityStats stats_;

  // sender
  uint64_t next_seq_ = 1;
  Ring<Sent> sent_;  // contiguous sequence numbers, oldest first
  size_t sent_bytes_ = 0;
  uint32_t conn_ = 0;
  bool open_ = false;
  bool relay_echoes_ = false;
  bool echo_seen_this_conn_ = false;
  double echo_check_at_ = kNever;
  double last_send_at_ = 0;
  bool tail_pending_ = false;      // sent something since the last announce
  double tail_again_at_ = kNever;  // the tail announce repeated (kTailAgainFactor)
  int tail_repeats_ = 0;           // repeats of this tail's announce so far
  double answer_at_ = kNever;      // a "hi" owed (answer to an ask, presence change, renew)
  double last_answer_at_ = -1e300;
  double renew_at_ = kNever;
  double last_presence_at_ = -1e300;
  bool hidden_ = false;
  double resend_tokens_ = rel::kResendMessagesPerSecond, resend_tokens_at_ = 0;
  double resend_bytes_ = rel::kResendBytesPerSecond, resend_bytes_at_ = 0;
  double request_tokens_ = rel::kRequestsPerSecond, request_tokens_at_ = 0;
  double nack_tokens_ = rel::kNacksHandledPerSecond, nack_tokens_at_ = 0;
  double repair_at_ = kNever;      // the held resends go out then
  double repair_first_ = kNever;   // the first request of the current hold
  double last_return_ = -kNever;   // a peer last came back (a `hi` with `ask`, or our own open)
  double returns_from_ = -kNever;  // the first return of this episode (returns less than a hold apart)
  uint32_t returns_ = 0;           // returns in this episode
  uint64_t open_tick_ = 0;         // tick_ when our socket opened: a peer `used` after it was heard on it
  double open_at_ = 0;             // when our socket opened
  size_t away_ = 0;                // peers with `away` set
  bool away_episode_ = false;      // since our socket reopened, until every away peer is back (or late)
  uint64_t own_echo_max_ = 0;      // our own frames echoed and delivered
  double rtt_ = 0;                 // round trip to the relay (own echoes), moving average; 0: unknown

  // receiver
  std::map<std::string, Peer> peers_;  // not unordered_map: its hashing and rehashing code cost 3.8 KB of wasm
  size_t held_bytes_ = 0;
  std::string_view sender_;  // the tag on_text read last (sender(): valid while its frame is)
  uint64_t sender_seq_ = 0;
  Peer* draining_ = nullptr;   // set by on_text (Sequenced) for after_delivery()
  Peer* last_peer_ = nullptr;  // the sender of the previous frame (the hot path skips the lookup)
  // Senders by a hash of their id, one per slot (a collision just goes to the map): with many
  // senders interleaved most frames find theirs here instead of by string comparisons down the
  // map. Map nodes never move; every erase and clear empties it.
  std::array<Peer*, 1024> peer_cache_{};
  uint64_t tick_ = 0;
  std::string key_;  // lookup key, reused (no allocation per frame)
  uint64_t draining_gen_ = 0;
  uint64_t generation_ = 0;    // bumps on reset(): a listener may reset during a drain
  double scheduled_ = kNever;  // the earliest deadline the host knows about
  double peer_sweep_at_ = kNever;
  std::string away_url_;  // the channel step_away() left, kept for a return
};

}  // namespace mc
