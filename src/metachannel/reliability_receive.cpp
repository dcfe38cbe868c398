// Reliability (reliability.h), receiving: a sequenced frame is delivered in order, held, or
// dropped as a duplicate; gaps are asked for (nack) and answered (resend, gone).
#include "metachannel/reliability.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "metachannel/reliability_wire.h"

namespace mc {

using namespace rel_wire;  // NOLINT(google-build-using-namespace): the helpers of this part

Reliability::Ranges Reliability::missing(const Peer& p) const {
  // At most kMaxRanges.
  Ranges r;
  if (gap_open(p)) {
    uint64_t cur = p.next;
    for (const auto& [seq, text] : p.held) {
      if (r.n >= rel::kMaxRanges) break;
      if (seq > cur) r.add(cur, seq - 1);
      cur = seq + 1;
    }
    if (r.n < rel::kMaxRanges && cur <= p.top) r.add(cur, p.top);
  }
  return r;
}

__attribute__((noinline)) void Reliability::send_nack(Peer& p) {
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
  std::string text = control("nack", id_);
  member(text, "to");
  append_json_string(p.id, text);
  member(text, "ranges");
  append_ranges(want_ranges, text);
  // The other senders we would ask within the back-off window go in the same frame, if they
  // read "more": after a return one request asks every sender at once, not one frame each.
  const double t = now();
  Peer* asked[rel::kMaxMoreTargets + 1] = {&p};  // p and at most kMaxMoreTargets others
  size_t n_asked = 1;
  std::string more;  // its members: "<id>":<ranges>,...
  for (auto& [id, q] : peers_) {
    if (n_asked > rel::kMaxMoreTargets) break;
    if (&q == &p || !q.reads_more || !gap_open(q) || q.request_at > t + backoff_window()) continue;
    const Ranges r = uncovered(q);
    if (r.empty()) continue;
    if (!more.empty()) more += ',';
    append_json_string(id, more);
    more += ':';
    append_ranges(r, more);
    asked[n_asked++] = &q;
  }
  if (!more.empty()) {
    member(text, "more");
    text += '{';
    text += more;
    text += '}';
  }
  text += '}';
  host_.rel_send(text);
  ++stats_.requests_sent;
  for (size_t i = 0; i < n_asked; ++i) {
    Peer* q = asked[i];
    q->request_at = t + answer_wait(*q);
    q->retry_ms = std::min(q->retry_ms * 2, rel::kRequestRetryMaxMs);
  }
}

// ---------------------------------------------------------------------------- receiving

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
  return 1 + scheduler_.ln(std::max(2.0, static_cast<double>(peers_.size()) + 1) / 2);
}

double Reliability::backoff() {
  // RFC 5740's random back-off: a truncated exponential on the window, lambda = ln(group) + 1,
  // so that of many receivers missing the same frames few draw an early time, and the first
  // request's broadcast reaches the others before they ask.
  // f = log1p(r * expm1(lambda)) / lambda, written with log alone: exp(lambda) = e * (n + 1), so
  // no libm log1p and expm1 (about 1 KB of wasm); the log is the platform's (Scheduler::ln: the
  // JS engine's Math.log in the wasm, no libm log there either).
  const double n = static_cast<double>(peers_.size()) + 1;
  const double lambda = scheduler_.ln(n) + 1;
  const double f = scheduler_.ln(1 + scheduler_.random01() * (2.718281828459045 * n - 1)) / lambda;
  return rel::kRequestBackoffMinMs + f * (backoff_window() - rel::kRequestBackoffMinMs);
}

Reliability::Ranges Reliability::uncovered(Peer& p) {
  const double t = now();
  // The covers still running, kept in order (a plain loop: no remove_if and erase).
  size_t w = 0;
  for (const Peer::Cover& c : p.covers) {
    if (!(c.until <= t)) p.covers.c[w++] = c;
  }
  p.covers.n = w;
  // What is missing less what the covers hold: each missing range walked from its start, past
  // every cover that holds the current number, then up to the next cover's start (sorted
  // maximal ranges, as one pass per cover splitting the list would give, without a list per
  // cover). Covers and ranges end at kMaxSeq at most: last + 1 does not wrap. Each piece after
  // a range's first starts right after a distinct cover's start - 1, so there are at most
  // kMaxRanges missing ranges + 2 * kMaxRanges covers (on_others_nack keeps no more) of them:
  // RangeList::kCap.
  Ranges out;
  for (auto [a, b] : missing(p)) {
    for (;;) {
      for (bool moved = true; moved && a <= b;) {
        moved = false;
        for (const Peer::Cover& c : p.covers) {
          if (c.first <= a && a <= c.last) {
            a = c.last + 1;
            moved = true;
          }
        }
      }
      if (a > b) break;
      uint64_t end = b;
      for (const Peer::Cover& c : p.covers) {
        if (c.first > a && c.first <= end) end = c.first - 1;
      }
      out.add(a, end);
      a = end + 1;
    }
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
  sender_ = from;
  sender_seq_ = seq;
  if (from == id_) {
    // Its place in the resend buffer, if it is still there (below the first, `at` wraps to far
    // more than the buffer holds: sequence numbers are at most kMaxSeq).
    const uint64_t at = seq - (sent_.empty() ? 0 : sent_.front().seq);
    const bool held = at < sent_.size();
    if (seq >= next_seq_ || (held && !equals(sent_[static_cast<size_t>(at)].text, data, size))) {
      // Not a frame we sent: a copy of one (forwarded with our "_mc" member) or a forger.
      ++stats_.forwarded;
      return Action::Plain;
    }
    // Our own frame, echoed by the relay: the relay has it (an ack). Delivered once.
    relay_echoes_ = echo_seen_this_conn_ = true;
    if (held) {
      const Sent& s = sent_[static_cast<size_t>(at)];
      if (!s.echoed && s.conn == conn_ && s.written_at > 0) {
        // The relay's round trip, from our own frame coming back (an average over the last ~8).
        const double sample = std::min(now() - s.written_at, rel::kMaxRttMs);
        rtt_ = rtt_ <= 0 ? sample : rtt_ + (sample - rtt_) / 8;
      }
      // The relay keeps a socket's order: everything before it on this socket got through too.
      // Stops at the first frame already marked or written to another socket: each frame is
      // visited once (frames resent out of order are only resent again needlessly, never lost).
      for (size_t i = static_cast<size_t>(at) + 1; i-- > 0;) {
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
      restart(*p, seq);
      p->progress = t;
      remember(*p, seq, data, size);
      return Action::Sequenced;
    }
    return repeated(*p, seq, data, size);
  }
  if (seq < p->top) ++stats_.repaired;  // known to be missing: this fills a gap
  if (seq == p->next) {
    p->progress = t;
    return deliver_next(*p, seq, data, size);
  }
  // seq > next: a gap.
  if (seq - p->next > rel::kMaxGap) {
    // More than any buffer holds: report it lost now rather than ask.
    const uint64_t gen = generation_;
    if (!skip_to(*p, seq) || gen != generation_) return Action::Drop;
    p = peer(from, false);
    if (!p || p->next != seq) return Action::Drop;
    return deliver_next(*p, seq, data, size);
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
  while (p->held.size() >= rel::kMaxHeldPerPeer || held_bytes_ + size > rel::kMaxHeldBytes) {
    // No room to wait: give up the oldest hole of this sender (or, if it holds nothing,
    // everything up to this frame).
    const uint64_t to = p->held.empty() ? seq : p->held.begin()->first;
    const uint64_t gen = generation_;
    if (!skip_to(*p, to) || gen != generation_) return Action::Drop;
    p = peer(from, false);  // (`from` is in the frame or its envelope: both outlive the callbacks)
    if (!p) return Action::Drop;
    if (seq < p->next) return repeated(*p, seq, data, size);
    if (seq == p->next) {
      return deliver_next(*p, seq, data, size);
    }
  }
  // Only a frame past the known top opens a new hole: one that fills in below it, or follows
  // it directly, leaves the request (or the wait for its answer) as it is.
  const bool new_hole = seq > p->top + 1;
  p->held.emplace(seq, std::string(data, size));
  held_bytes_ += size;
  p->top = std::max(p->top, seq);
  ++stats_.reordered;
  if (new_hole) schedule_request(*p, backoff());
  return Action::Drop;
}

Reliability::Action Reliability::deliver_next(Peer& p, uint64_t seq, const char* data, size_t size) {
  p.next = seq + 1;
  p.top = std::max(p.top, seq);
  remember(p, seq, data, size);
  draining_ = &p;
  draining_gen_ = generation_;
  return Action::Sequenced;
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

void Reliability::restart(Peer& p, uint64_t seq) {
  for (const auto& [s, text] : p.held) held_bytes_ -= text.size();
  p.held.clear();
  p.next = seq + 1;
  p.top = seq;
  p.request_at = kNever;
}

bool Reliability::drain(Peer& p, uint64_t to) {
  const std::string id = p.id;
  Peer* cur = &p;
  // skip_to's part first (to > 0): everything held below `to`, holes or not; then `next` is at
  // least `to`, and what follows without a hole is delivered.
  bool below_to = to > 0;
  for (;;) {
    if (cur->held.empty() || cur->held.begin()->first >= (below_to ? to : cur->next + 1)) {
      if (!below_to) break;
      below_to = false;
      cur->next = std::max(cur->next, to);
      cur->progress = now();
      continue;
    }
    auto it = cur->held.begin();
    const uint64_t seq = it->first;
    std::string text = std::move(it->second);
    cur->held.erase(it);
    held_bytes_ -= text.size();
    if (seq < cur->next) continue;  // already delivered (cannot happen; kept safe)
    cur->next = seq + 1;
    if (!below_to) cur->progress = now();
    remember(*cur, seq, text.data(), text.size());
    const uint64_t gen = generation_;
    if (!host_.rel_deliver(text.data(), text.size(), id, static_cast<double>(seq)) || gen != generation_) return false;
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
  // Deliver what was held below `to`, in order, then everything that follows without a hole.
  return cur && drain(*cur, to);
}

void Reliability::on_nack(const Ranges& ranges) {
  if (!spend(nack_tokens_, nack_tokens_at_, rel::kNacksHandledPerSecond, rel::kNacksHandledPerSecond, 1)) return;
  prune_sent();
  const double t = now();
  const uint64_t low = sent_.empty() ? next_seq_ : sent_.front().seq;
  // Other receivers' requests for the same frames come within the back-off window of the
  // first: one resend (broadcast) answers them all.
  const double guard = rel::kResendGuardMs + backoff_window();
  Ranges gone;  // one per range asked for (ranges_from: at most kMaxRanges)
  bool fresh = false;
  for (auto [a, b] : ranges) {
    if (b >= next_seq_) b = next_seq_ - 1;  // never sent: nothing to say
    if (a > b) continue;
    if (a < low) {
      gone.add(a, std::min(b, low - 1));
      a = low;
    }
    for (uint64_t s = a; s <= b && s - low < sent_.size(); ++s) {
      Sent& m = sent_[static_cast<size_t>(s - low)];
      if (m.wanted || t - m.resent_at < guard) continue;  // held already, or just resent for someone else
      m.wanted = fresh = true;
    }
  }
  if (fresh) {
    // Held: receivers coming back over the next seconds ask for the same frames, and one
    // resend after they are back serves them all (kRepairHoldMs).
    if (repair_first_ == kNever) {
      // Held only while peers are coming back: a loss in a steady channel is repaired at once.
      repair_first_ = t;
      repair_at_ = t - last_return_ < repair_hold() ? hold_end(t) : t;
    }
    if (repair_at_ <= t) {
      flush_repairs();  // no hold: two peers, or nobody came back lately
    } else {
      want(repair_at_);
    }
  }
  if (!gone.empty() && open_) {
    std::string text = control("gone", id_);
    member(text, "ranges");
    append_ranges(gone, text);
    text += '}';
    host_.rel_send(text);
    ++stats_.gone_sent;
  }
}

void Reliability::flush_repairs() {
  const double t = now();
  repair_at_ = repair_first_ = kNever;
  for (Sent& m : sent_) {
    if (!m.wanted) continue;
    if (!spend(resend_tokens_, resend_tokens_at_, rel::kResendMessagesPerSecond, rel::kResendMessagesPerSecond, 1) ||
        !spend(resend_bytes_, resend_bytes_at_, rel::kResendBytesPerSecond, rel::kResendBytesPerSecond,
               static_cast<double>(m.text.size())) ||
        !host_.rel_send(m.text)) {
      // Out of budget (or the socket refused): the rest goes out shortly.
      repair_first_ = t;
      repair_at_ = t + 1000 / rel::kRequestsPerSecond;
      want(repair_at_);
      return;
    }
    m.wanted = false;
    m.resent_at = m.written_at = t;
    m.conn = conn_;
    m.echoed = false;
    ++stats_.resent_on_request;
  }
}

void Reliability::on_others_nack(Peer& p, const Ranges& theirs) {
  // Somebody asked for these: the resend is broadcast. Whatever of them we miss (now, or once
  // an announce shows it) we wait for instead of asking, for as long as we would wait for an
  // answer to our own request.
  const double until = now() + answer_wait(p);
  for (const auto& [a, b] : theirs) {
    p.covers.add(Peer::Cover{a, b, until});
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

}  // namespace mc
