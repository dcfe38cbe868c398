// Reliability (reliability.h), presence and the peer table: this peer's state (set_presence,
// set_hidden), hi and bye out, the control messages in (hi, bye, nack, gone; nack and gone
// go on to reliability_receive.cpp), peers joining, updating, timing out and leaving.
#include "metachannel/reliability.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "metachannel/reliability_wire.h"

namespace mc {

using namespace rel_wire;  // NOLINT(google-build-using-namespace): the helpers of this part

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
  std::string compact;
  if (!compact_json(text, compact)) return "the state is not a JSON value (or nests more than 100 levels)";
  if (compact.size() > popt_.max_state_bytes) {
    std::string problem = "the state is ";
    append_json_unsigned(compact.size(), problem);  // the number's digits (json_text's writer)
    problem += " bytes of JSON; presence.maxStateBytes is ";
    append_json_unsigned(popt_.max_state_bytes, problem);
    return problem;
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
  if (tail_pending_) {
    tail_repeats_ = 0;
    tail_again_at_ = t + rel::kTailAgainFactor * quiet_ms();
  }
  tail_pending_ = false;
  if (!open_) return;
  std::string text = control("hi", id_);
  if (ropt_.enabled) {
    prune_sent();
    // The last number written before this hi: what still waits in the send queue (sent before
    // the socket opened) goes out after it, and a receiver that learns of us from this hi must
    // still expect it (announcing it would make a new receiver drop it as "before its time").
    // Unwritten messages are a suffix of the buffer: the queue writes in order.
    uint64_t last = next_seq_ - 1;
    for (size_t i = sent_.size(); i-- > 0 && sent_[i].conn == 0;) last = sent_[i].seq - 1;
    member(text, "seq");
    append_json_unsigned(last, text);
    member(text, "low");
    append_json_unsigned(sent_.empty() ? last + 1 : std::min(sent_.front().seq, last + 1), text);
  }
  const bool with_state = popt_.enabled && !hidden_;
  const double renew = with_state ? renew_period() : 0;
  if (with_state) {
    member(text, "renew");
    append_json_double(renew, text);
  }
  if (ask) text += ",\"ask\":true";
  if (ropt_.enabled) text += ",\"more\":true";  // we read "more" in a nack
  if (with_state) {
    // The state is compact JSON already (validated by set_presence).
    member(text, "state");
    text += popt_.state;
  }
  text += '}';
  host_.rel_send(text);
  if (with_state) {
    last_presence_at_ = t;
    renew_at_ = t + renew;
  }
}

void Reliability::send_bye(bool final_bye) {
  std::string text = control("bye", id_);
  if (final_bye) text += ",\"final\":true";
  text += '}';
  host_.rel_send(text);
}

Reliability::Peer* Reliability::peer(std::string_view id, bool create) {
  if (last_peer_ && last_peer_->id == id) return last_peer_;
  Peer*& cached = peer_cache_[content_hash(id.data(), id.size()) % peer_cache_.size()];
  if (cached && cached->id == id) return last_peer_ = cached;
  key_.assign(id.data(), id.size());
  const auto it = peers_.find(key_);
  if (it != peers_.end()) return last_peer_ = cached = &it->second;
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
    back(victim->second);
    forget_peer(victim);
  }
  // key_ still holds the id (forget_peer does not touch it); `cached` is its slot.
  Peer& p = peers_[key_];
  p.id.assign(key_.data(), key_.size());
  p.heard = p.progress = now();
  p.used = ++tick_;
  return last_peer_ = cached = &p;
}

void Reliability::forget_peer(std::map<std::string, Peer>::iterator it) {
  for (const auto& [seq, text] : it->second.held) held_bytes_ -= text.size();
  last_peer_ = nullptr;
  std::memset(peer_cache_.data(), 0, sizeof peer_cache_);  // (all null; no std::array::fill in the wasm)
  peers_.erase(it);
}

__attribute__((noinline)) double Reliability::renew_period() const {
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

// noinline (also send_nack, renew_period, expected_hold, Ring::grow): out of their one caller
// the full core is smaller once gzipped (62 B together; measured one by one).
__attribute__((noinline)) void Reliability::handle_control(const char* data, size_t size) {
  if (size > rel::kMaxControlBytes + popt_.max_state_bytes) return;
  Message j;
  if (!compact_json(std::string_view(data, size), j.text, &j.members) || j.text[0] != '{') return;
  std::string_view op, from_text;
  if (!j.string_of("op", op) || !j.string_of("from", from_text)) return;
  if (!valid_id(from_text)) return;  // so `from_text` is the string itself (no escapes)
  const std::string from(from_text);
  if (from == id_) {
    relay_echoes_ = echo_seen_this_conn_ = true;  // our own control message, echoed
    return;
  }
  const double t = now();
  if (op == "hi") {
    Peer* p = peer(from, true);
    if (!p) return;
    p->heard = t;
    p->used = ++tick_;
    if (back(*p) && repair_first_ != kNever) {
      repair_at_ = hold_end(t);  // the last peer that dropped with us is back
      want(repair_at_);
    }
    const uint64_t gen = generation_;
    uint64_t seq = 0, low = 0;
    if (ropt_.enabled && j.seq_of("seq", seq)) {
      if (!j.seq_of("low", low)) low = 0;
      on_hi(*p, seq, low);
      if (gen != generation_) return;
      p = peer(from, false);
      if (!p) return;
    }
    if (j.flag("ask")) {
      // A peer (re)connected: tell it where we are, and ask it again for what we miss. A
      // held resend waits for it (kRepairQuietMs).
      note_return(t);
      if (repair_first_ != kNever) repair_at_ = hold_end(t);
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
    p->reads_more = j.flag("more");
    const JsonMember* state = find_member(j.members, "state");
    const JsonMember* renew = find_member(j.members, "renew");
    if (popt_.enabled && state) {
      p->renew_ms = 0;
      if (renew && renew->number >= 1) p->renew_ms = std::min(renew->number, 1e9);  // NaN: not a number
      std::string text(j.value(*state));
      if (text.size() > popt_.max_state_bytes) return;  // too large for us: not a member
      const bool joined = !p->present;
      if (joined || text != p->state) {
        p->present = true;
        p->state = std::move(text);
        presence_changed(joined ? Change::Joined : Change::Updated, &from, 1);
      }
      want(t + peer_timeout(*p));
    }
  } else if (op == "bye") {
    Peer* p = peer(from, false);
    if (!p) return;
    const bool final_bye = j.flag("final");
    const bool was_present = p->present;
    back(*p);  // it left: a held resend no longer waits for it
    p->present = false;
    p->state.clear();
    const uint64_t gen = generation_;
    if (was_present) {
      presence_changed(Change::Left, &from, 1);
      if (gen != generation_) return;
      p = peer(from, false);
      if (!p) return;
    }
    if (final_bye) {
      // It will answer no more requests: what it still owes us is lost.
      if (gap_open(*p) && (!skip_to(*p, p->top + 1) || gen != generation_)) return;
      p = peer(from, false);
      if (!p) return;
      forget_peer(peers_.find(from));
    }
  } else if (op == "nack") {
    if (!ropt_.enabled) return;
    // "to" with "ranges"; then "more": the other senders the same receiver asks at once.
    const auto request = [this](std::string_view target, const Ranges& ranges) {
      if (ranges.empty()) return;
      if (target == id_) {
        on_nack(ranges);
      } else if (Peer* p = peer(target, false)) {
        on_others_nack(*p, ranges);
      }
    };
    // "to" is compared with ids only: its text between the quotes will do (escapes match no id).
    std::string_view to;
    if (!j.string_of("to", to)) return;
    request(to, ranges_of(j));
    const JsonMember* more_member = find_member(j.members, "more");
    if (!more_member || j.text[more_member->begin] != '{') return;
    Message more;
    compact_json(j.value(*more_member), more.text, &more.members);
    size_t n = 0;
    for (const JsonMember& m : more.members) {
      if (n++ >= rel::kMaxMoreTargets) break;
      if (valid_id(m.name)) request(m.name, ranges_from(more.value(m)));
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
      restart(p, seq);
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

void Reliability::presence_changed(Change change, const std::string* ids, size_t n) {
  // {"joined":{id:state,...},"updated":{id:state,...},"left":[id,...]}, two of them empty. Ids
  // are [A-Za-z0-9_-] and states are JSON already: plain concatenation is valid JSON.
  // The id: state members are written once, after "joined" or after "updated".
  std::string out = "{\"joined\":{";
  if (change == Change::Updated) out += "},\"updated\":{";
  for (size_t i = 0; change != Change::Left && i < n; ++i) {
    const auto it = peers_.find(ids[i]);
    if (i) out += ',';
    out += '"';
    out += ids[i];
    out += "\":";
    out += it != peers_.end() && !it->second.state.empty() ? it->second.state : "null";
  }
  if (change != Change::Updated) out += "},\"updated\":{";
  out += "},\"left\":[";
  for (size_t i = 0; change == Change::Left && i < n; ++i) {
    out += i ? ",\"" : "\"";
    out += ids[i];
    out += '"';
  }
  out += "]}";
  host_.rel_presence(out);
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

}  // namespace mc
