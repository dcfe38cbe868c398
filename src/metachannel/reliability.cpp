// Reliability (reliability.h): construction, sending (tag, commit, the resend buffer), the
// connection hooks, time and the counters. Receiving sequenced frames and nack/gone:
// reliability_receive.cpp; presence, the peer table and the control messages: presence.cpp.
// One class over three files: both halves share the peer table and the "hi" message.
#include "metachannel/reliability.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "metachannel/reliability_wire.h"

namespace mc {

using namespace rel_wire;  // NOLINT(google-build-using-namespace): the helpers of this part

std::unique_ptr<Delivery> Reliability::create(DeliveryHost& host, Scheduler& scheduler, std::string id,
                                              const ReliableOptions& reliable, const PresenceOptions& presence) {
  return std::make_unique<Reliability>(host, scheduler, std::move(id), reliable, presence);
}

void Reliability::make_id() { id_ = random_wire_id(scheduler_); }

Reliability::Reliability(DeliveryHost& host, Scheduler& scheduler, std::string id, const ReliableOptions& reliable,
                         const PresenceOptions& presence)
    : host_(host), scheduler_(scheduler), ropt_(reliable), popt_(presence), id_(std::move(id)) {
  if (!valid_id(id_)) id_.clear();
  if (active() && id_.empty()) make_id();
  std::string state;
  popt_.state = compact_json(popt_.state, state) ? std::move(state) : "null";
  const double t = scheduler_.now_ms();
  resend_tokens_at_ = resend_bytes_at_ = request_tokens_at_ = nack_tokens_at_ = t;
}

// ---------------------------------------------------------------------------- sending

bool Reliability::tag(const char* data, size_t size, const Envelope& e, std::string& out) {
  if (!ropt_.enabled || !e.is_object() || next_seq_ > rel::kMaxSeq) return false;
  std::string value = id_;
  value += ':';
  append_json_unsigned(next_seq_, value);  // its digits
  if (e.tag_members() > 0) {
    // The object already has a member of that name (a forwarded message): replace it.
    return merge_member(std::string_view(data, size), rel::kTagMember, value, out);
  }
  size_t open = 0;
  while (open < size && data[open] != '{') ++open;
  size_t after = open + 1;
  while (after < size && (data[after] == ' ' || data[after] == '\t' || data[after] == '\n' || data[after] == '\r')) {
    ++after;
  }
  const bool empty = after < size && data[after] == '}';
  // (no reserve(): 196 B of wasm for one allocation less; appending grows it)
  out.assign(data, open + 1);
  out.append("\"_mc\":\"");
  out.append(value);
  out.append(empty ? "\"" : "\",");
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
  tail_again_at_ = kNever;
  if (!tail_pending_) {
    tail_pending_ = true;
    want(t + quiet_ms());
  }
}

void Reliability::on_written(double written_seq) {
  const auto seq = static_cast<uint64_t>(written_seq);
  // (below the first, i wraps to far more than the buffer holds: as in on_text)
  const uint64_t i = seq - (sent_.empty() ? 0 : sent_.front().seq);
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
  open_tick_ = tick_;
  open_at_ = t;
  away_ = 0;
  for (const auto& [id, p] : peers_) away_ += p.away;
  away_episode_ = away_ > 0;
  note_return(t);  // we are back: so may others be (a relay restart, a drop of every socket)
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
  if (repair_first_ != kNever) {
    // Resends held before the drop: the same hold, from now, for the peers coming back now.
    repair_first_ = t;
    repair_at_ = hold_end(t);
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
  if (open_) {
    // The peers heard on this socket likely dropped with it (a relay restart drops every
    // socket): held resends wait for them to be back (kRepairAwayHoldMs). Only peers that
    // answer our `ask` count (one that has sent, or is present), so each one's `hi` says it
    // is back; those still away from a drop a moment ago stay away.
    const double t = now();
    for (auto& [id, p] : peers_) {
      p.away = (p.used > open_tick_ && ((p.seq_known && p.top > 0) || p.present)) ||
               (p.away && t - open_at_ < rel::kRepairAwayHoldMs);
    }
  }
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
  std::memset(peer_cache_.data(), 0, sizeof peer_cache_);  // (all null; no std::array::fill in the wasm)
  held_bytes_ = 0;
  sent_.clear();
  sent_bytes_ = 0;
  draining_ = nullptr;
  tail_pending_ = false;
  answer_at_ = renew_at_ = echo_check_at_ = kNever;
  peer_sweep_at_ = repair_at_ = repair_first_ = tail_again_at_ = kNever;
  away_ = 0;
  away_episode_ = false;
  own_echo_max_ = 0;
  open_ = false;
  if (emit && !left.empty()) presence_changed(Change::Left, left.data(), left.size());
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
  if (!left.empty()) presence_changed(Change::Left, left.data(), left.size());
}

void Reliability::enter(std::string_view url) {
  if (url != away_url_) reset();
  away_url_.clear();
}

// ---------------------------------------------------------------------------------- time

double Reliability::next_deadline() {
  if (!open_) {
    scheduled_ = kNever;
    return kNever;
  }
  // (std::min two at a time: no initializer_list array on the stack)
  double next = std::min(std::min(std::min(answer_at_, echo_check_at_), std::min(renew_at_, peer_sweep_at_)),
                         std::min(repair_at_, tail_again_at_));
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
  if (tail_again_at_ <= t) {
    // The same tail, announced again: send_hi() must not start a new round of repeats.
    const int repeats = tail_repeats_ + 1;
    tail_again_at_ = repeats < 2 ? t + rel::kTailAgainFactor * rel::kTailAgainFactor * quiet_ms() : kNever;
    tail_repeats_ = repeats;
    answer_at_ = std::min(answer_at_, t);
  }
  if (renew_at_ <= t) {
    renew_at_ = kNever;  // send_hi() sets the next one if it carries a state
    if (popt_.enabled && !hidden_) answer_at_ = std::min(answer_at_, t);
  }
  if (answer_at_ <= t) send_hi(/*ask=*/false);
  if (repair_at_ <= t) flush_repairs();
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
    presence_changed(Change::Left, left.data(), left.size());
    if (gen != generation_) return;
    // Their states, kept until the event was out. A peer that is not present holds no state
    // elsewhere (bye and step_away clear it as they mark it), so this clears theirs only.
    for (auto& [id, p] : peers_) {
      if (!p.present) p.state.clear();
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

std::string Reliability::stats_json() const {
  // What dump_json writes for these members in this order: the counters and rttMs as floats,
  // the sizes as unsigned. The counters by a table (names, fields), not a list built per call.
  static constexpr std::pair<const char*, double ReliabilityStats::*> kCounters[] = {
      {"sequencedSent", &ReliabilityStats::sequenced_sent},
      {"resentAfterReconnect", &ReliabilityStats::resent_after_reconnect},
      {"resentOnRequest", &ReliabilityStats::resent_on_request},
      {"requestsSent", &ReliabilityStats::requests_sent},
      {"requestsCancelled", &ReliabilityStats::requests_cancelled},
      {"duplicatesDropped", &ReliabilityStats::duplicates_dropped},
      {"forwarded", &ReliabilityStats::forwarded},
      {"reordered", &ReliabilityStats::reordered},
      {"repaired", &ReliabilityStats::repaired},
      {"lost", &ReliabilityStats::lost},
      {"goneSent", &ReliabilityStats::gone_sent},
  };
  std::string out;
  for (const auto& [name, field] : kCounters) {
    member(out, name);  // ,"<name>": (the first one's comma becomes the '{' below)
    append_json_double(stats_.*field, out);
  }
  out[0] = '{';
  out += relay_echoes_ ? ",\"relayEchoes\":true" : ",\"relayEchoes\":false";
  member(out, "rttMs");
  append_json_double(rtt_, out);
  member(out, "buffered");
  append_json_unsigned(sent_.size(), out);
  member(out, "held");
  append_json_unsigned(held_count(), out);
  member(out, "peers");
  append_json_unsigned(peers_.size(), out);
  out += '}';
  return out;
}

}  // namespace mc
