#include "metachannel/reliability.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "metachannel/decimal.h"
#include "metachannel/json_text.h"

namespace mc {
namespace {

using json = Json;
using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

static_assert(rel::kMaxIdBytes == 64, "valid_wire_id (wire_id.cpp) checks 1-64 bytes");
bool valid_id(std::string_view id) { return valid_wire_id(id); }

// "<id>:<seq>" with seq a decimal integer in 1..kMaxSeq without leading zeros.
bool parse_tag(std::string_view tag, std::string_view& id, uint64_t& seq) {
  const size_t colon = tag.rfind(':');
  if (colon == std::string_view::npos) return false;
  id = tag.substr(0, colon);
  const std::string_view digits = tag.substr(colon + 1);
  if (!valid_id(id) || digits.empty() || digits.size() > 16 || digits[0] == '0') return false;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > rel::kMaxSeq) return false;
  seq = v;
  return true;
}

bool seq_of(const json& j, const char* key, uint64_t& out) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) return false;
  const uint64_t v = it->get<uint64_t>();
  if (v > rel::kMaxSeq) return false;
  out = v;
  return true;
}

// Up to kMaxRanges well-formed [first, last] pairs (1 <= first <= last <= kMaxSeq), sorted
// and merged, so what they cover is walked once.
Ranges ranges_of(const json& j) {
  Ranges out;
  const auto it = j.find("ranges");
  if (it == j.end() || !it->is_array()) return out;
  for (const json& r : *it) {
    if (out.size() >= rel::kMaxRanges) break;
    if (!r.is_array() || r.size() != 2 || !r[0].is_number_unsigned() || !r[1].is_number_unsigned()) continue;
    const uint64_t a = r[0].get<uint64_t>(), b = r[1].get<uint64_t>();
    if (a < 1 || a > b || b > rel::kMaxSeq) continue;
    out.emplace_back(a, b);
  }
  std::sort(out.begin(), out.end());
  Ranges merged;
  for (const auto& r : out) {
    if (!merged.empty() && r.first <= merged.back().second + 1) {
      merged.back().second = std::max(merged.back().second, r.second);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

// FNV-1a, 32 bits: a frame's identity for the dedupe window (a resend is the frame byte for byte).
uint32_t content_hash(const char* data, size_t size) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < size; ++i) h = (h ^ static_cast<uint8_t>(data[i])) * 16777619u;
  return h;
}

bool equals(const std::string& s, const char* data, size_t size) {
  return s.size() == size && std::equal(s.begin(), s.end(), data);
}

uint64_t seen_key(uint64_t seq, const char* data, size_t size) {
  return (seq & 0xffffffffull) << 32 | content_hash(data, size);
}

json ranges_json(const Ranges& ranges) {
  json a = json::array();
  for (const auto& r : ranges) a.push_back(json::array({r.first, r.second}));
  return a;
}

}  // namespace

std::unique_ptr<Delivery> Reliability::create(DeliveryHost& host, Scheduler& scheduler, std::string id,
                                              const ReliableOptions& reliable, const PresenceOptions& presence) {
  return std::make_unique<Reliability>(host, scheduler, std::move(id), reliable, presence);
}

void Reliability::make_id() { id_ = random_wire_id(scheduler_); }

Reliability::Reliability(DeliveryHost& host, Scheduler& scheduler, std::string id, ReliableOptions reliable,
                         PresenceOptions presence)
    : host_(host), scheduler_(scheduler), ropt_(reliable), popt_(std::move(presence)), id_(std::move(id)) {
  if (!valid_id(id_)) id_.clear();
  if (active() && id_.empty()) make_id();
  const json state = parse_json_limited(popt_.state);
  popt_.state = state.is_discarded() ? "null" : dump_json(state);
  const double t = scheduler_.now_ms();
  resend_tokens_at_ = resend_bytes_at_ = request_tokens_at_ = nack_tokens_at_ = t;
}

// ---------------------------------------------------------------------------- sending

bool Reliability::tag(const char* data, size_t size, const Envelope& e, std::string& out) {
  if (!ropt_.enabled || !e.is_object() || next_seq_ > rel::kMaxSeq) return false;
  const std::string value = id_ + ":" + decimal(next_seq_);
  if (e.tag_members() > 0) {
    // The object already has a member of that name (a forwarded message): replace it.
    return merge_envelope(std::string_view(data, size), {{std::string(rel::kTagMember), value}}, out);
  }
  size_t open = 0;
  while (open < size && data[open] != '{') ++open;
  size_t after = open + 1;
  while (after < size && (data[after] == ' ' || data[after] == '\t' || data[after] == '\n' || data[after] == '\r')) {
    ++after;
  }
  const bool empty = after < size && data[after] == '}';
  out.clear();
  out.reserve(size + value.size() + 9);
  out.append(data, open + 1);
  out.append("\"_mc\":\"");
  out.append(value);
  out.push_back('"');
  if (!empty) out.push_back(',');
  out.append(data + open + 1, size - open - 1);
  return true;
}

void Reliability::commit(std::string text, bool written) {
  const uint64_t seq = next_seq_++;
  const double t = now();
  sent_bytes_ += text.size();
  sent_.push_back(Sent{seq, std::move(text), t, written ? conn_ : 0, false, -kNever, written ? t : 0});
  ++stats_.sequenced_sent;
  prune_sent();
  last_send_at_ = t;
  if (!tail_pending_) {
    tail_pending_ = true;
    want(t + quiet_ms());
  }
}

void Reliability::on_written(double written_seq) {
  const auto seq = static_cast<uint64_t>(written_seq);
  if (sent_.empty() || seq < sent_.front().seq) return;
  const uint64_t i = seq - sent_.front().seq;
  if (i < sent_.size()) {
    sent_[i].conn = conn_;
    sent_[i].written_at = now();
  }
}

void Reliability::prune_sent() {
  const double oldest = now() - ropt_.buffer_age_ms;
  while (!sent_.empty() &&
         (sent_.size() > ropt_.buffer_messages || sent_bytes_ > ropt_.buffer_bytes || sent_.front().at < oldest)) {
    sent_bytes_ -= sent_.front().text.size();
    sent_.pop_front();
  }
}

bool Reliability::spend(double& tokens, double& at, double rate, double burst, double cost) {
  const double t = now();
  tokens = std::min(burst, tokens + (t - at) * rate / 1000);
  at = t;
  if (tokens < cost) return false;
  tokens -= cost;
  return true;
}

// ------------------------------------------------------------------------- connection

void Reliability::on_open() {
  if (!active()) return;
  const double t = now();
  open_ = true;
  ++conn_;
  echo_seen_this_conn_ = false;
  echo_check_at_ = t + rel::kEchoTimeoutMs;
  for (auto& [id, p] : peers_) {
    // Time spent away does not count against the peers: they get a fresh chance to speak.
    p.progress = t;
    if (p.present) p.heard = std::max(p.heard, t);
    if (gap_open(p)) {
      // The peers' announces (answers to our "ask") come first; then ask, each receiver at
      // its own random time, so one request per gap is enough.
      p.retry_ms = rel::kRequestRetryMs;
      p.request_at = std::min(p.request_at, t + rel::kAnswerDelayMaxMs * group_scale() + backoff());
    }
  }
  send_hi(/*ask=*/true);
  if (ropt_.enabled && relay_echoes_ && rtt_ < rel::kResendOnReconnectMaxRttMs) {
    // The relay echoes: what went into an earlier socket and never came back may have died
    // with it. Resend it first, in order (receivers drop what they already have).
    for (Sent& s : sent_) {
      if (s.conn == 0 || s.conn == conn_ || s.echoed) continue;
      if (!host_.rel_send(s.text)) break;
      s.conn = conn_;
      s.resent_at = s.written_at = t;
      ++stats_.resent_after_reconnect;
    }
  }
  peer_sweep_at_ = t;  // recomputed at the next wake
}

void Reliability::on_drop() {
  open_ = false;
  echo_check_at_ = kNever;
  draining_ = nullptr;
}

void Reliability::on_closing() {
  if (open_) send_bye(/*final_bye=*/true);
  on_drop();
}

void Reliability::reset(bool emit) {
  ++generation_;
  std::vector<std::string> left;
  for (auto& [id, p] : peers_) {
    if (p.present) left.push_back(id);
  }
  peers_.clear();
  last_peer_ = nullptr;
  held_bytes_ = 0;
  sent_.clear();
  sent_bytes_ = 0;
  draining_ = nullptr;
  tail_pending_ = false;
  answer_at_ = renew_at_ = echo_check_at_ = kNever;
  peer_sweep_at_ = kNever;
  own_echo_max_ = 0;
  open_ = false;
  if (emit && !left.empty()) presence_changed({}, {}, left);
}

void Reliability::step_away(std::string_view url) {
  if (open_) send_bye(/*final_bye=*/false);
  on_drop();
  away_url_.assign(url.data(), url.size());
  std::vector<std::string> left;
  for (auto& [id, p] : peers_) {
    if (!p.present) continue;
    p.present = false;
    p.state.clear();
    left.push_back(id);
  }
  if (!left.empty()) presence_changed({}, {}, left);
}

void Reliability::enter(std::string_view url) {
  if (url != away_url_) reset();
  away_url_.clear();
}

void Reliability::set_hidden(bool hidden) {
  if (hidden == hidden_) return;
  hidden_ = hidden;
  if (hidden) renew_at_ = kNever;
  if (!popt_.enabled || !open_) return;
  if (hidden) {
    send_bye(/*final_bye=*/false);
  } else {
    send_hi(/*ask=*/true);
  }
}

std::string Reliability::set_presence(std::string_view text) {
  if (!popt_.enabled) return "presence is off on this channel; pass options.presence";
  json j = parse_json_limited(text);
  if (j.is_discarded()) return "the state is not a JSON value (or nests more than 100 levels)";
  std::string compact = dump_json(j);
  if (compact.size() > popt_.max_state_bytes) {
    return "the state is " + decimal(compact.size()) + " bytes of JSON; presence.maxStateBytes is " +
           decimal(popt_.max_state_bytes);
  }
  popt_.state = std::move(compact);
  if (open_ && !hidden_) {
    const double at = std::max(now(), last_presence_at_ + rel::kPresenceMinIntervalMs);
    if (at < answer_at_) {
      answer_at_ = at;
      want(at);
    }
  }
  return std::string();
}

// ---------------------------------------------------------------------------- control out

void Reliability::send_hi(bool ask) {
  const double t = now();
  answer_at_ = kNever;
  last_answer_at_ = t;
  tail_pending_ = false;
  if (!open_) return;
  json j = json::object();
  j["type"] = std::string(rel::kControlType);
  j["op"] = "hi";
  j["from"] = id_;
  if (ropt_.enabled) {
    prune_sent();
    // The last number written before this hi: what still waits in the send queue (sent before
    // the socket opened) goes out after it, and a receiver that learns of us from this hi must
    // still expect it (announcing it would make a new receiver drop it as "before its time").
    // Unwritten messages are a suffix of the buffer: the queue writes in order.
    uint64_t last = next_seq_ - 1;
    for (auto it = sent_.rbegin(); it != sent_.rend() && it->conn == 0; ++it) last = it->seq - 1;
    j["seq"] = last;
    j["low"] = sent_.empty() ? last + 1 : std::min(sent_.front().seq, last + 1);
  }
  const bool with_state = popt_.enabled && !hidden_;
  const double renew = with_state ? renew_period() : 0;
  if (with_state) j["renew"] = renew;
  if (ask) j["ask"] = true;
  std::string text = dump_json(j);
  if (with_state) {
    // The state is compact JSON already (validated by set_presence): splice it in.
    text.pop_back();
    text += ",\"state\":" + popt_.state + "}";
  }
  host_.rel_send(text);
  if (with_state) {
    last_presence_at_ = t;
    renew_at_ = t + renew;
  }
}

void Reliability::send_bye(bool final_bye) {
  json j = json::object();
  j["type"] = std::string(rel::kControlType);
  j["op"] = "bye";
  j["from"] = id_;
  if (final_bye) j["final"] = true;
  host_.rel_send(dump_json(j));
}

Reliability::Ranges Reliability::missing(const Peer& p) const {
  Ranges out;
  if (!gap_open(p)) return out;
  uint64_t cur = p.next;
  for (const auto& [seq, text] : p.held) {
    if (out.size() >= rel::kMaxRanges) return out;
    if (seq > cur) out.emplace_back(cur, seq - 1);
    cur = seq + 1;
  }
  if (out.size() < rel::kMaxRanges && cur <= p.top) out.emplace_back(cur, p.top);
  return out;
}

void Reliability::send_nack(Peer& p) {
  if (!gap_open(p)) {
    p.request_at = kNever;
    return;
  }
  const Ranges want_ranges = uncovered(p);
  if (want_ranges.empty()) {
    // Everything we miss was asked for by someone else: wait for the broadcast resend. The
    // covers expire, so a request goes out in the end if that resend never comes.
    double until = kNever;
    for (const auto& c : p.covers) until = std::min(until, c.until);
    p.request_at = until;
    ++stats_.requests_cancelled;
    return;
  }
  if (!spend(request_tokens_, request_tokens_at_, rel::kRequestsPerSecond, rel::kRequestsPerSecond, 1)) {
    p.request_at = now() + 1000 / rel::kRequestsPerSecond;
    return;
  }
  json j = json::object();
  j["type"] = std::string(rel::kControlType);
  j["op"] = "nack";
  j["from"] = id_;
  j["to"] = p.id;
  j["ranges"] = ranges_json(want_ranges);
  host_.rel_send(dump_json(j));
  ++stats_.requests_sent;
  p.request_at = now() + answer_wait(p);
  p.retry_ms = std::min(p.retry_ms * 2, rel::kRequestRetryMaxMs);
}

// ---------------------------------------------------------------------------- receiving

Reliability::Peer* Reliability::peer(std::string_view id, bool create) {
  if (last_peer_ && last_peer_->id == id) return last_peer_;
  key_.assign(id.data(), id.size());
  const auto it = peers_.find(key_);
  if (it != peers_.end()) return last_peer_ = &it->second;
  if (!create) return nullptr;
  if (peers_.size() >= rel::kMaxPeers) {
    // Forget the least recently heard peer that is not in the presence map (a present peer
    // leaves only by "bye" or timeout, so the map users see stays true).
    auto victim = peers_.end();
    for (auto i = peers_.begin(); i != peers_.end(); ++i) {
      if (i->second.present || &i->second == draining_) continue;
      if (victim == peers_.end() || i->second.used < victim->second.used) victim = i;
    }
    if (victim == peers_.end()) return nullptr;
    for (const auto& [seq, text] : victim->second.held) held_bytes_ -= text.size();
    last_peer_ = nullptr;
    peers_.erase(victim);
  }
  Peer& p = peers_[std::string(id)];
  p.id = std::string(id);
  p.heard = p.progress = now();
  p.used = ++tick_;
  return last_peer_ = &p;
}

void Reliability::want(double at) {
  peer_sweep_at_ = std::min(peer_sweep_at_, at);
  if (at < scheduled_) host_.rel_reschedule();
}

void Reliability::schedule_request(Peer& p, double delay) {
  const double at = now() + delay;
  if (at < p.request_at) {
    p.request_at = at;
    want(at);
  }
}

double Reliability::group_scale() const {
  return 1 + std::log(std::max(2.0, static_cast<double>(peers_.size()) + 1) / 2);
}

double Reliability::backoff() {
  // RFC 5740's random back-off: a truncated exponential on the window, lambda = ln(group) + 1,
  // so that of many receivers missing the same frames few draw an early time, and the first
  // request's broadcast reaches the others before they ask.
  const double lambda = std::log(static_cast<double>(peers_.size()) + 1) + 1;
  const double f = std::log1p(scheduler_.random01() * std::expm1(lambda)) / lambda;
  return rel::kRequestBackoffMinMs + f * (backoff_window() - rel::kRequestBackoffMinMs);
}

double Reliability::renew_period() const {
  // An older peer (no "renew" in its announces) times us out after its own timeoutMs: renew
  // at the base period while one is present.
  for (const auto& [id, p] : peers_) {
    if (p.present && p.renew_ms <= 0) return popt_.renew_ms;
  }
  return popt_.renew_ms * std::max(1.0, static_cast<double>(peers_.size() + 1) / rel::kPresenceGroupPerRenew);
}

double Reliability::peer_timeout(const Peer& p) const {
  // A peer that announces its renew period is given the same multiple of it as our own
  // options give ours (timeoutMs / renewMs, 2 by default).
  if (p.renew_ms <= 0) return popt_.timeout_ms;
  return std::max(popt_.timeout_ms, p.renew_ms * popt_.timeout_ms / popt_.renew_ms);
}

Reliability::Ranges Reliability::uncovered(Peer& p) {
  const double t = now();
  p.covers.erase(std::remove_if(p.covers.begin(), p.covers.end(), [t](const Peer::Cover& c) { return c.until <= t; }),
                 p.covers.end());
  Ranges out = missing(p);
  for (const Peer::Cover& c : p.covers) {
    Ranges next;
    for (const auto& [a, b] : out) {
      if (c.last < a || c.first > b) {
        next.emplace_back(a, b);
        continue;
      }
      if (a < c.first) next.emplace_back(a, c.first - 1);
      if (c.last < b) next.emplace_back(c.last + 1, b);
    }
    out = std::move(next);
  }
  return out;
}

Reliability::Action Reliability::on_text(const char* data, size_t size, const Envelope& e) {
  draining_ = nullptr;
  if (e.has_type() && e.type() == rel::kControlType) {
    handle_control(data, size);
    return Action::Drop;
  }
  if (!ropt_.enabled || !e.has_tag()) return Action::Plain;
  std::string_view from;
  uint64_t seq = 0;
  if (!parse_tag(e.tag(), from, seq)) return Action::Plain;
  if (from == id_) {
    const bool held = !sent_.empty() && seq >= sent_.front().seq && seq - sent_.front().seq < sent_.size();
    if (seq >= next_seq_ || (held && !equals(sent_[static_cast<size_t>(seq - sent_.front().seq)].text, data, size))) {
      // Not a frame we sent: a copy of one (forwarded with our "_mc" member) or a forger.
      ++stats_.forwarded;
      return Action::Plain;
    }
    // Our own frame, echoed by the relay: the relay has it (an ack). Delivered once.
    relay_echoes_ = echo_seen_this_conn_ = true;
    if (held) {
      const Sent& s = sent_[static_cast<size_t>(seq - sent_.front().seq)];
      if (!s.echoed && s.conn == conn_ && s.written_at > 0) {
        // The relay's round trip, from our own frame coming back (an average over the last ~8).
        const double sample = std::min(now() - s.written_at, rel::kMaxRttMs);
        rtt_ = rtt_ <= 0 ? sample : rtt_ + (sample - rtt_) / 8;
      }
      // The relay keeps a socket's order: everything before it on this socket got through too.
      // Stops at the first frame already marked or written to another socket: each frame is
      // visited once (frames resent out of order are only resent again needlessly, never lost).
      for (size_t i = static_cast<size_t>(seq - sent_.front().seq) + 1; i-- > 0;) {
        Sent& s = sent_[i];
        if (s.echoed || s.conn != conn_) break;
        s.echoed = true;
      }
    }
    if (seq <= own_echo_max_) {
      ++stats_.duplicates_dropped;
      return Action::Drop;
    }
    own_echo_max_ = seq;
    return Action::Sequenced;
  }
  Peer* p = peer(from, true);
  if (!p) return Action::Plain;  // every slot holds a present peer: delivered unsequenced
  p->used = ++tick_;
  if (seq == p->next && seq > p->top) {
    // The hot path: the next frame, no gap open. No clock read, no allocation.
    p->next = seq + 1;
    p->top = seq;
    remember(*p, seq, data, size);
    return Action::Sequenced;
  }
  const double t = now();
  if (!p->seq_known) {
    // First frame from this sender: its stream starts here for us.
    p->seq_known = true;
    p->next = seq + 1;
    p->top = seq;
    p->progress = t;
    remember(*p, seq, data, size);
    return Action::Sequenced;
  }
  if (seq < p->next) {
    if (p->next - seq > rel::kMaxGap) {
      // Far behind anything it could resend: the stream restarted (or a forger). Follow it.
      for (const auto& [s, text] : p->held) held_bytes_ -= text.size();
      p->held.clear();
      p->next = seq + 1;
      p->top = seq;
      p->progress = t;
      p->request_at = kNever;
      remember(*p, seq, data, size);
      return Action::Sequenced;
    }
    return repeated(*p, seq, data, size);
  }
  if (seq < p->top) ++stats_.repaired;  // known to be missing: this fills a gap
  if (seq == p->next) {
    p->next = seq + 1;
    p->top = std::max(p->top, seq);
    p->progress = t;
    remember(*p, seq, data, size);
    draining_ = p;
    draining_gen_ = generation_;
    return Action::Sequenced;
  }
  // seq > next: a gap.
  if (seq - p->next > rel::kMaxGap) {
    // More than any buffer holds: report it lost now rather than ask.
    const uint64_t gen = generation_;
    if (!skip_to(*p, seq) || gen != generation_) return Action::Drop;
    p = peer(from, false);
    if (!p || p->next != seq) return Action::Drop;
    p->next = seq + 1;
    p->top = std::max(p->top, seq);
    remember(*p, seq, data, size);
    draining_ = p;
    draining_gen_ = generation_;
    return Action::Sequenced;
  }
  const auto held = p->held.find(seq);
  if (held != p->held.end()) {
    if (!equals(held->second, data, size)) {
      ++stats_.forwarded;
      return Action::Plain;
    }
    ++stats_.duplicates_dropped;
    return Action::Drop;
  }
  const std::string id(from);
  while (p->held.size() >= rel::kMaxHeldPerPeer || held_bytes_ + size > rel::kMaxHeldBytes) {
    // No room to wait: give up the oldest hole of this sender (or, if it holds nothing,
    // everything up to this frame).
    const uint64_t to = p->held.empty() ? seq : p->held.begin()->first;
    const uint64_t gen = generation_;
    if (!skip_to(*p, to) || gen != generation_) return Action::Drop;
    p = peer(id, false);
    if (!p) return Action::Drop;
    if (seq < p->next) return repeated(*p, seq, data, size);
    if (seq == p->next) {
      p->next = seq + 1;
      p->top = std::max(p->top, seq);
      remember(*p, seq, data, size);
      draining_ = p;
      draining_gen_ = generation_;
      return Action::Sequenced;
    }
  }
  p->held.emplace(seq, std::string(data, size));
  held_bytes_ += size;
  p->top = std::max(p->top, seq);
  ++stats_.reordered;
  schedule_request(*p, backoff());
  return Action::Drop;
}

void Reliability::remember(Peer& p, uint64_t seq, const char* data, size_t size) {
  p.seen[seq % rel::kDedupeWindow] = seen_key(seq, data, size);
}

Reliability::Action Reliability::repeated(const Peer& p, uint64_t seq, const char* data, size_t size) {
  const uint64_t was = p.seen[seq % rel::kDedupeWindow];
  if (was >> 32 == (seq & 0xffffffffull) && was != seen_key(seq, data, size)) {
    ++stats_.forwarded;
    return Action::Plain;
  }
  ++stats_.duplicates_dropped;
  return Action::Drop;
}

void Reliability::after_delivery() {
  Peer* p = draining_;
  draining_ = nullptr;
  if (!p || draining_gen_ != generation_) return;
  drain(*p);
}

bool Reliability::drain(Peer& p) {
  const std::string id = p.id;
  Peer* cur = &p;
  while (!cur->held.empty() && cur->held.begin()->first <= cur->next) {
    auto it = cur->held.begin();
    const uint64_t seq = it->first;
    std::string text = std::move(it->second);
    cur->held.erase(it);
    held_bytes_ -= text.size();
    if (seq < cur->next) continue;  // already delivered (cannot happen; kept safe)
    cur->next = seq + 1;
    cur->progress = now();
    remember(*cur, seq, text.data(), text.size());
    const uint64_t gen = generation_;
    if (!host_.rel_deliver(text.data(), text.size()) || gen != generation_) return false;
    cur = peer(id, false);
    if (!cur) return false;
  }
  if (!gap_open(*cur)) {
    cur->request_at = kNever;
    cur->retry_ms = rel::kRequestRetryMs;
  }
  return true;
}

bool Reliability::skip_to(Peer& p, uint64_t to) {
  if (to <= p.next) return true;
  const std::string id = p.id;
  uint64_t have = 0;
  for (auto it = p.held.begin(); it != p.held.end() && it->first < to; ++it) {
    if (it->first >= p.next) ++have;
  }
  const uint64_t lost = (to - p.next) - have;
  const uint64_t gen = generation_;
  if (lost > 0) {
    stats_.lost += static_cast<double>(lost);
    host_.rel_lost(id, static_cast<double>(lost));
    if (gen != generation_) return false;
  }
  Peer* cur = peer(id, false);
  if (!cur) return false;
  // Deliver what was held below `to`, in order, then everything that follows without a hole.
  while (!cur->held.empty() && cur->held.begin()->first < to) {
    auto it = cur->held.begin();
    const uint64_t seq = it->first;
    std::string text = std::move(it->second);
    cur->held.erase(it);
    held_bytes_ -= text.size();
    if (seq < cur->next) continue;
    cur->next = seq + 1;
    remember(*cur, seq, text.data(), text.size());
    if (!host_.rel_deliver(text.data(), text.size()) || gen != generation_) return false;
    cur = peer(id, false);
    if (!cur) return false;
  }
  cur->next = std::max(cur->next, to);
  cur->progress = now();
  return drain(*cur);
}

void Reliability::handle_control(const char* data, size_t size) {
  if (size > rel::kMaxControlBytes + popt_.max_state_bytes) return;
  const json j = parse_json_limited(std::string_view(data, size));
  if (!j.is_object()) return;
  const auto op_it = j.find("op");
  const auto from_it = j.find("from");
  if (op_it == j.end() || !op_it->is_string() || from_it == j.end() || !from_it->is_string()) return;
  const std::string& op = op_it->get_ref<const std::string&>();
  const std::string& from = from_it->get_ref<const std::string&>();
  if (!valid_id(from)) return;
  if (from == id_) {
    relay_echoes_ = echo_seen_this_conn_ = true;  // our own control message, echoed
    return;
  }
  const double t = now();
  if (op == "hi") {
    Peer* p = peer(from, true);
    if (!p) return;
    p->heard = t;
    const uint64_t gen = generation_;
    uint64_t seq = 0, low = 0;
    if (ropt_.enabled && seq_of(j, "seq", seq)) {
      if (!seq_of(j, "low", low)) low = 0;
      on_hi(*p, seq, low);
      if (gen != generation_) return;
      p = peer(from, false);
      if (!p) return;
    }
    const auto ask = j.find("ask");
    if (ask != j.end() && ask->is_boolean() && ask->get<bool>()) {
      // A peer (re)connected: tell it where we are, and ask it again for what we miss.
      // Only a peer with something to say answers (a reliable peer that never sent has no
      // stream to announce); answers are spread over a window and at most one per interval,
      // both growing with the group, so many asks at once (a relay restart) cost one answer.
      if (((ropt_.enabled && next_seq_ > 1) || (popt_.enabled && !hidden_)) && open_) {
        const double g = group_scale();
        const double at = std::max(t + scheduler_.random01() * rel::kAnswerDelayMaxMs * g,
                                   last_answer_at_ + rel::kAnswerMinIntervalMs * g);
        if (at < answer_at_) {
          answer_at_ = at;
          want(at);
        }
      }
      if (gap_open(*p)) {
        p->retry_ms = rel::kRequestRetryMs;
        p->request_at = kNever;
        schedule_request(*p, rel::kAnswerDelayMaxMs * group_scale() + backoff());
      }
    }
    const auto state = j.find("state");
    const auto renew = j.find("renew");
    if (popt_.enabled && state != j.end()) {
      p->renew_ms = 0;
      if (renew != j.end() && renew->is_number() && renew->get<double>() >= 1) {
        p->renew_ms = std::min(renew->get<double>(), 1e9);
      }
      std::string text = dump_json(*state);
      if (text.size() > popt_.max_state_bytes) return;  // too large for us: not a member
      if (!p->present) {
        p->present = true;
        p->state = std::move(text);
        presence_changed({from}, {}, {});
      } else if (text != p->state) {
        p->state = std::move(text);
        presence_changed({}, {from}, {});
      }
      want(t + peer_timeout(*p));
    }
  } else if (op == "bye") {
    Peer* p = peer(from, false);
    if (!p) return;
    const auto fin = j.find("final");
    const bool final_bye = fin != j.end() && fin->is_boolean() && fin->get<bool>();
    const bool was_present = p->present;
    p->present = false;
    p->state.clear();
    const uint64_t gen = generation_;
    if (was_present) {
      presence_changed({}, {}, {from});
      if (gen != generation_) return;
      p = peer(from, false);
      if (!p) return;
    }
    if (final_bye) {
      // It will answer no more requests: what it still owes us is lost.
      if (gap_open(*p) && (!skip_to(*p, p->top + 1) || gen != generation_)) return;
      p = peer(from, false);
      if (!p) return;
      for (const auto& [s, text] : p->held) held_bytes_ -= text.size();
      last_peer_ = nullptr;
      peers_.erase(from);
    }
  } else if (op == "nack") {
    if (!ropt_.enabled) return;
    const auto to = j.find("to");
    if (to == j.end() || !to->is_string()) return;
    const std::string& target = to->get_ref<const std::string&>();
    const Ranges ranges = ranges_of(j);
    if (ranges.empty()) return;
    if (target == id_) {
      on_nack(ranges);
    } else if (Peer* p = peer(target, false)) {
      on_others_nack(*p, ranges);
    }
  } else if (op == "gone") {
    if (!ropt_.enabled) return;
    Peer* p = peer(from, false);
    if (!p) return;
    p->heard = t;
    on_gone(*p, ranges_of(j));
  }
}

void Reliability::on_hi(Peer& p, uint64_t seq, uint64_t low) {
  const double t = now();
  if (!p.seq_known) {
    // We learn of this sender from its announce: its stream starts after what it announced.
    p.seq_known = true;
    p.next = seq + 1;
    p.top = seq;
    p.progress = t;
    return;
  }
  if (seq + 1 < p.next) {
    if (p.next - seq > rel::kMaxGap) {  // restarted far behind (or a forger): follow it
      for (const auto& [s, text] : p.held) held_bytes_ -= text.size();
      p.held.clear();
      p.next = seq + 1;
      p.top = seq;
      p.request_at = kNever;
    }
    return;
  }
  if (seq > p.top) p.top = seq;
  const uint64_t gen = generation_;
  const std::string id = p.id;
  // What it no longer holds (below `low`) nobody can send us; gaps larger than any buffer too.
  uint64_t skip = 0;
  if (low > p.next) skip = std::min(low, seq + 1);
  if (seq >= p.next && seq - p.next >= rel::kMaxGap) skip = seq + 1;
  if (skip > p.next && (!skip_to(p, skip) || gen != generation_)) return;
  Peer* cur = peer(id, false);
  if (cur && gap_open(*cur)) schedule_request(*cur, backoff());
}

void Reliability::on_nack(const Ranges& ranges) {
  if (!spend(nack_tokens_, nack_tokens_at_, rel::kNacksHandledPerSecond, rel::kNacksHandledPerSecond, 1)) return;
  prune_sent();
  const double t = now();
  const uint64_t low = sent_.empty() ? next_seq_ : sent_.front().seq;
  // Other receivers' requests for the same frames come within the back-off window of the
  // first: one resend (broadcast) answers them all.
  const double guard = rel::kResendGuardMs + backoff_window();
  Ranges gone;
  for (auto [a, b] : ranges) {
    if (b >= next_seq_) b = next_seq_ - 1;  // never sent: nothing to say
    if (a > b) continue;
    if (a < low) {
      gone.emplace_back(a, std::min(b, low - 1));
      a = low;
    }
    for (uint64_t s = a; s <= b && s - low < sent_.size(); ++s) {
      Sent& m = sent_[static_cast<size_t>(s - low)];
      if (t - m.resent_at < guard) continue;  // just resent for someone else
      if (!spend(resend_tokens_, resend_tokens_at_, rel::kResendMessagesPerSecond, rel::kResendMessagesPerSecond, 1) ||
          !spend(resend_bytes_, resend_bytes_at_, rel::kResendBytesPerSecond, rel::kResendBytesPerSecond,
                 static_cast<double>(m.text.size()))) {
        goto done;  // out of budget: the receiver asks again
      }
      if (!host_.rel_send(m.text)) goto done;
      m.resent_at = m.written_at = t;
      m.conn = conn_;
      m.echoed = false;
      ++stats_.resent_on_request;
    }
  }
done:
  if (!gone.empty() && open_) {
    json j = json::object();
    j["type"] = std::string(rel::kControlType);
    j["op"] = "gone";
    j["from"] = id_;
    j["ranges"] = ranges_json(gone);
    host_.rel_send(dump_json(j));
    ++stats_.gone_sent;
  }
}

void Reliability::on_others_nack(Peer& p, const Ranges& theirs) {
  // Somebody asked for these: the resend is broadcast. Whatever of them we miss (now, or once
  // an announce shows it) we wait for instead of asking, for as long as we would wait for an
  // answer to our own request.
  const double until = now() + answer_wait(p);
  for (const auto& [a, b] : theirs) {
    if (p.covers.size() >= 2 * rel::kMaxRanges) p.covers.erase(p.covers.begin());
    p.covers.push_back(Peer::Cover{a, b, until});
  }
  if (p.request_at == kNever || !gap_open(p)) return;
  if (uncovered(p).empty()) {
    p.request_at = std::max(p.request_at, until);
    ++stats_.requests_cancelled;
  }
}

void Reliability::on_gone(Peer& p, const Ranges& ranges) {
  for (const auto& [a, b] : ranges) {
    if (a <= p.next && b >= p.next) {
      skip_to(p, b + 1);
      return;
    }
  }
}

void Reliability::presence_changed(const std::vector<std::string>& joined, const std::vector<std::string>& updated,
                                   const std::vector<std::string>& left) {
  // Ids are [A-Za-z0-9_-] and states are JSON already: plain concatenation is valid JSON.
  const auto members = [this](const std::vector<std::string>& ids) {
    std::string out = "{";
    for (const std::string& id : ids) {
      const auto it = peers_.find(id);
      if (out.size() > 1) out += ",";
      out += "\"" + id + "\":" + (it != peers_.end() && !it->second.state.empty() ? it->second.state : "null");
    }
    return out + "}";
  };
  std::string out = "{\"joined\":" + members(joined) + ",\"updated\":" + members(updated) + ",\"left\":[";
  for (size_t i = 0; i < left.size(); ++i) out += (i ? ",\"" : "\"") + left[i] + "\"";
  out += "]}";
  host_.rel_presence(out);
}

// ---------------------------------------------------------------------------------- time

double Reliability::next_deadline() {
  if (!open_) {
    scheduled_ = kNever;
    return kNever;
  }
  double next = std::min({answer_at_, echo_check_at_, renew_at_, peer_sweep_at_});
  if (tail_pending_) next = std::min(next, last_send_at_ + quiet_ms());
  scheduled_ = next;
  return next;
}

void Reliability::on_wake() {
  if (!open_) return;
  const double t = now();
  if (echo_check_at_ <= t) {
    echo_check_at_ = kNever;
    if (!echo_seen_this_conn_) relay_echoes_ = false;
  }
  if (tail_pending_ && last_send_at_ + quiet_ms() <= t) answer_at_ = std::min(answer_at_, t);
  if (renew_at_ <= t) {
    renew_at_ = kNever;  // send_hi() sets the next one if it carries a state
    if (popt_.enabled && !hidden_) answer_at_ = std::min(answer_at_, t);
  }
  if (answer_at_ <= t) send_hi(/*ask=*/false);
  if (peer_sweep_at_ > t) return;
  // Peers: collect first (a listener may reset the channel during any callback below).
  std::vector<std::string> give_up, ask, left;
  for (auto& [id, p] : peers_) {
    if (p.present && t - p.heard >= peer_timeout(p)) left.push_back(id);
    if (gap_open(p) && t - p.progress >= give_up_ms()) give_up.push_back(id);
    else if (p.request_at <= t) ask.push_back(id);
  }
  const uint64_t gen = generation_;
  for (const std::string& id : ask) {
    if (Peer* p = peer(id, false)) send_nack(*p);
  }
  for (const std::string& id : give_up) {
    Peer* p = peer(id, false);
    if (p && gap_open(*p) && (!skip_to(*p, p->top + 1) || gen != generation_)) return;
  }
  if (!left.empty()) {
    for (const std::string& id : left) {
      if (Peer* p = peer(id, false)) p->present = false;
    }
    presence_changed({}, {}, left);
    if (gen != generation_) return;
    for (const std::string& id : left) {
      if (Peer* p = peer(id, false)) p->state.clear();
    }
  }
  double next = kNever;
  for (auto& [id, p] : peers_) {
    next = std::min(next, p.request_at);
    if (gap_open(p)) next = std::min(next, p.progress + give_up_ms());
    if (p.present) next = std::min(next, p.heard + peer_timeout(p));
  }
  peer_sweep_at_ = next;
}

// ----------------------------------------------------------------------------- observers

size_t Reliability::held_count() const {
  size_t n = 0;
  for (const auto& [id, p] : peers_) n += p.held.size();
  return n;
}

size_t Reliability::present_count() const {
  size_t n = 0;
  for (const auto& [id, p] : peers_) n += p.present;
  return n;
}

long Reliability::presence_state_bytes(const std::string& id) const {
  const auto it = peers_.find(id);
  return it != peers_.end() && it->second.present ? static_cast<long>(it->second.state.size()) : -1;
}

std::string Reliability::stats_json() const {
  json j = json::object();
  j["sequencedSent"] = stats_.sequenced_sent;
  j["resentAfterReconnect"] = stats_.resent_after_reconnect;
  j["resentOnRequest"] = stats_.resent_on_request;
  j["requestsSent"] = stats_.requests_sent;
  j["requestsCancelled"] = stats_.requests_cancelled;
  j["duplicatesDropped"] = stats_.duplicates_dropped;
  j["forwarded"] = stats_.forwarded;
  j["reordered"] = stats_.reordered;
  j["repaired"] = stats_.repaired;
  j["lost"] = stats_.lost;
  j["goneSent"] = stats_.gone_sent;
  j["relayEchoes"] = relay_echoes_;
  j["rttMs"] = rtt_;
  j["buffered"] = sent_.size();
  j["held"] = held_count();
  j["peers"] = peers_.size();
  return dump_json(j);
}

}  // namespace mc
