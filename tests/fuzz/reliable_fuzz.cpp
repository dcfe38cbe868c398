// libFuzzer target: reliable delivery and presence (src/metachannel/reliability.*) between 3 to
// 16 real mc::Channel peers on the in-memory broadcast relay of tests/native/net.h, under hostile
// control messages (forged requests that cover honest receivers' gaps, announces, byes),
// forged and forwarded tagged frames, random drops, killed sockets, black-holed senders, peers
// stepping away from the URL and back, and clock jumps. After every step it checks, and aborts
// when one fails:
//  - the doubles saw nothing illegal (no send on a socket that is not open, no bad wake-up);
//  - every bound holds: peers, frames and bytes held out of order, the resend buffer;
//  - at every receiver, each honest sender's messages were delivered in strictly increasing
//    order (no duplicate, no reordering), whatever the hostile peer injected;
//  - a forwarded copy (an honest sender's tag on other content) is never delivered sequenced.
// At the end the network heals: every receiver must then get each honest sender's last message.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "../native/net.h"
#include "metachannel/reliability.h"

namespace {

namespace rel = mc::rel;
constexpr size_t kMaxPeersHere = 16;
const char* const kHostileIds[] = {"x", "y", "z9", "peer-forged"};
const char* const kOps[] = {"hi", "bye", "nack", "gone", "nope"};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "reliable_fuzz: %s\n", what.c_str());
  std::abort();
}

uint64_t pick_seq(FuzzedDataProvider& in) {
  static const uint64_t kSpecial[] = {0,
                                      1,
                                      2,
                                      3,
                                      5,
                                      10,
                                      100,
                                      1000,
                                      4096,
                                      1ull << 20,
                                      (1ull << 20) + 2,
                                      rel::kMaxSeq - 1,
                                      rel::kMaxSeq,
                                      rel::kMaxSeq + 1,
                                      ~0ull};
  if (in.ConsumeBool()) return kSpecial[in.ConsumeIntegralInRange<size_t>(0, std::size(kSpecial) - 1)];
  return in.ConsumeIntegralInRange<uint64_t>(0, 50);
}

std::string num(uint64_t v) { return std::to_string(v); }

std::string hostile_control(FuzzedDataProvider& in) {
  const std::string op = kOps[in.ConsumeIntegralInRange<size_t>(0, std::size(kOps) - 1)];
  const std::string from = kHostileIds[in.ConsumeIntegralInRange<size_t>(0, std::size(kHostileIds) - 1)];
  std::string s = "{\"type\":\"_mc\",\"op\":\"" + op + "\",\"from\":\"" + from + "\"";
  if (in.ConsumeBool()) s += ",\"seq\":" + num(pick_seq(in)) + ",\"low\":" + num(pick_seq(in));
  if (in.ConsumeBool()) {
    // Requests may name an honest peer: they only make it resend (rate-limited).
    s += ",\"to\":\"" +
         (in.ConsumeBool() ? "peer" + num(in.ConsumeIntegralInRange<size_t>(0, kMaxPeersHere - 1)) : from) + "\"";
  }
  if (in.ConsumeBool()) {
    s += ",\"ranges\":[";
    const size_t n = in.ConsumeIntegralInRange<size_t>(0, 20);
    for (size_t i = 0; i < n; ++i) s += (i ? ",[" : "[") + num(pick_seq(in)) + "," + num(pick_seq(in)) + "]";
    s += "]";
  }
  if (in.ConsumeBool()) s += ",\"ask\":" + std::string(in.ConsumeBool() ? "true" : "1");
  if (in.ConsumeBool()) {
    // "more": in a hi a flag, in a nack other senders' ranges (honest peers, hostile ids,
    // non-arrays, more entries than are read).
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0: s += ",\"more\":" + std::string(in.ConsumeBool() ? "true" : "\"yes\""); break;
      case 1: s += ",\"more\":[1,2]"; break;
      default: {
        s += ",\"more\":{";
        const size_t n = in.ConsumeIntegralInRange<size_t>(0, 80);
        for (size_t i = 0; i < n; ++i) {
          const std::string id = in.ConsumeBool()
                                     ? "peer" + num(in.ConsumeIntegralInRange<size_t>(0, kMaxPeersHere - 1))
                                     : kHostileIds[in.ConsumeIntegralInRange<size_t>(0, std::size(kHostileIds) - 1)];
          s += (i ? ",\"" : "\"") + id +
               "\":" + (in.ConsumeBool() ? "[[" + num(pick_seq(in)) + "," + num(pick_seq(in)) + "]]" : "7");
        }
        s += "}";
      }
    }
  }
  if (in.ConsumeBool()) s += ",\"final\":true";
  if (in.ConsumeBool()) {
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0: s += ",\"state\":{\"n\":" + num(pick_seq(in)) + "}"; break;
      case 1: s += ",\"state\":\"" + std::string(in.ConsumeIntegralInRange<size_t>(0, 300), 's') + "\""; break;
      case 2: s += ",\"state\":" + std::string(150, '[') + std::string(150, ']'); break;
      default: s += ",\"state\":null"; break;
    }
  }
  s += in.ConsumeBool() ? "}" : "";  // sometimes not even JSON
  return s;
}

struct Truth {
  // receiver -> sender -> last "n" delivered
  std::map<size_t, std::map<size_t, int>> last;
  std::map<size_t, int> sent;  // sender -> last n sent
  // receiver -> sender -> highest sequence number delivered sequenced
  std::map<size_t, std::map<size_t, uint64_t>> seq;
};

void check(mc_test::Net& net, Truth& truth, std::map<size_t, size_t>& seen_texts) {
  const auto v = net.all_violations();
  if (!v.empty()) fail("violation: " + v.front());
  const size_t peers = net.peers.size();
  for (size_t r = 0; r < peers; ++r) {
    mc_test::NetPeer& p = *net.peers[r];
    const mc::Reliability& rl = mc_test::rel(*p.ch);
    if (rl.peer_count() > rel::kMaxPeers) fail("more peers than kMaxPeers");
    if (rl.held_bytes() > rel::kMaxHeldBytes) fail("held bytes over kMaxHeldBytes");
    if (rl.held_count() > rel::kMaxHeldPerPeer * rl.peer_count()) fail("held frames over the bound");
    if (rl.buffered_count() > p.ch->config().reliable.buffer_messages) fail("resend buffer over buffer_messages");
    if (rl.buffered_bytes() > p.ch->config().reliable.buffer_bytes) fail("resend buffer over buffer_bytes");
    // New deliveries: honest senders' messages strictly increasing.
    for (size_t& i = seen_texts[r]; i < p.ev.texts.size(); ++i) {
      const std::string& t = p.ev.texts[i];
      if (t.find("\"fwd\":") != std::string::npos && (p.ev.routes[i] & mc::route::kSequenced)) {
        fail("peer" + num(r) + " delivered a forwarded copy as sequenced: " + t);
      }
      for (size_t s = 0; s < peers; ++s) {
        if (s == r) continue;
        const std::string tag = "\"_mc\":\"peer" + num(s) + ":";
        const size_t tag_at = t.find(tag);
        if (tag_at == std::string::npos) continue;
        if (p.ev.routes[i] & mc::route::kSequenced) {
          uint64_t& top = truth.seq[r][s];
          top = std::max<uint64_t>(top, std::strtoull(t.c_str() + tag_at + tag.size(), nullptr, 10));
        }
        const size_t at = t.find("\"h\":");
        if (at == std::string::npos) continue;
        const int n = std::atoi(t.c_str() + at + 4);
        auto& last = truth.last[r][s];
        if (n <= last) fail("peer" + num(r) + " got peer" + num(s) + "'s " + num(n) + " after " + num(last));
        last = n;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  mc_test::Net net;
  net.echo = in.ConsumeBool();
  const size_t kPeers = in.ConsumeBool() ? 3 : in.ConsumeIntegralInRange<size_t>(3, kMaxPeersHere);
  for (size_t i = 0; i < kPeers; ++i) {
    mc::ChannelConfig cfg = mc_test::reliable_config(/*presence=*/in.ConsumeBool());
    cfg.reliable.buffer_messages = in.ConsumeIntegralInRange<size_t>(1, 64);
    cfg.reliable.buffer_bytes = in.ConsumeIntegralInRange<size_t>(64, 4096);
    cfg.reliable.buffer_age_ms = in.ConsumeIntegralInRange<int>(100, 60000);
    cfg.presence.max_state_bytes = in.ConsumeIntegralInRange<size_t>(1, 256);
    cfg.presence.renew_ms = 1000;
    cfg.presence.timeout_ms = 3000;
    net.add(cfg);
  }
  std::vector<uint8_t> dropped(kPeers * kPeers, 0);  // [from * kPeers + to]: deliveries lost
  net.drop = [&dropped, kPeers](size_t from, size_t to, const std::string&) {
    return from < kPeers && to < kPeers && dropped[from * kPeers + to];
  };
  std::vector<bool> away(kPeers, false);  // set_url("") until set_url(kUrl) again
  Truth truth;
  std::map<size_t, size_t> seen;
  int steps = 0;
  while (in.remaining_bytes() > 0 && ++steps < 400) {
    const size_t who = in.ConsumeIntegralInRange<size_t>(0, kPeers - 1);
    mc_test::NetPeer& p = *net.peers[who];
    switch (in.ConsumeIntegralInRange<int>(0, 14)) {
      case 0:
      case 1: {
        const int n = ++truth.sent[who];
        const std::string m = "{\"type\":\"m\",\"h\":" + num(static_cast<uint64_t>(n)) + "}";
        p.ch->send_text(m.data(), m.size());
        break;
      }
      case 2: {
        const std::string c = hostile_control(in);
        p.t.text(c);
        break;
      }
      case 3: {
        const std::string id = kHostileIds[in.ConsumeIntegralInRange<size_t>(0, std::size(kHostileIds) - 1)];
        p.t.text("{\"_mc\":\"" + id + ":" + num(pick_seq(in)) + "\",\"type\":\"m\",\"f\":1}");
        break;
      }
      case 4: {
        // Lose one path, everything to one peer, or nothing.
        const size_t to = in.ConsumeIntegralInRange<size_t>(0, kPeers - 1);
        switch (in.ConsumeIntegralInRange<int>(0, 2)) {
          case 0: dropped[who * kPeers + to] ^= 1; break;
          case 1:
            for (size_t f = 0; f < kPeers; ++f) dropped[f * kPeers + to] ^= 1;
            break;
          default: std::fill(dropped.begin(), dropped.end(), 0); break;
        }
        break;
      }
      case 5: net.blackhole[who] = !net.blackhole[who]; break;
      case 6: net.kill(who); break;
      case 7: net.advance(in.ConsumeIntegralInRange<int>(0, 200)); break;
      case 8: net.advance(in.ConsumeIntegralInRange<int>(0, 40000)); break;
      case 9: {
        const std::string st =
            in.ConsumeBool() ? "{\"k\":" + num(pick_seq(in)) + "}" : in.ConsumeRandomLengthString(64);
        p.ch->set_presence(st);
        break;
      }
      case 10: p.ch->set_hidden(in.ConsumeBool()); break;
      case 11: p.auto_accept = !p.auto_accept; break;
      case 12: {
        // A plain client's forwarded copy of an honest frame this receiver already has (within
        // the dedupe window): the tag kept, other content. (A copy that overtakes the original
        // cannot be told from it.)
        const size_t s = in.ConsumeIntegralInRange<size_t>(0, kPeers - 1);
        const uint64_t top = truth.seq[who][s];
        if (s == who || top == 0) break;
        const uint64_t seq = in.ConsumeIntegralInRange<uint64_t>(top > 100 ? top - 100 : 1, top);
        p.t.text("{\"_mc\":\"peer" + num(s) + ":" + num(seq) +
                 "\",\"type\":\"m\",\"fwd\":" + num(in.ConsumeIntegralInRange<uint64_t>(0, 3)) + "}");
        break;
      }
      case 13:
        // Steps away from the URL, or comes back to it.
        away[who] = !away[who];
        p.ch->set_url(away[who] ? "" : mc_test::Net::kUrl);
        break;
      case 14: {
        // A burst of forged requests for an honest sender's recent frames: they cover the
        // other receivers' gaps, which must still be repaired in the end.
        const size_t s = in.ConsumeIntegralInRange<size_t>(0, kPeers - 1);
        const uint64_t a = in.ConsumeIntegralInRange<uint64_t>(1, 60);
        for (int k = 0; k < 4; ++k) {
          p.t.text("{\"type\":\"_mc\",\"op\":\"nack\",\"from\":\"x\",\"to\":\"peer" + num(s) + "\",\"ranges\":[[" +
                   num(a) + "," + num(a + in.ConsumeIntegralInRange<uint64_t>(0, 20)) + "]]}");
        }
        break;
      }
    }
    net.pump();
    check(net, truth, seen);
  }
  // Heal: everything flows again; each honest sender's last message reaches every receiver.
  std::fill(dropped.begin(), dropped.end(), 0);
  for (size_t i = 0; i < kPeers; ++i) {
    net.blackhole[i] = false;
    net.peers[i]->auto_accept = true;
    if (away[i]) net.peers[i]->ch->set_url(mc_test::Net::kUrl);
  }
  net.advance(1000);
  for (size_t i = 0; i < kPeers; ++i) {
    if (!truth.sent[i]) continue;
    const std::string m = "{\"type\":\"m\",\"h\":" + num(static_cast<uint64_t>(++truth.sent[i])) + "}";
    net.peers[i]->ch->send_text(m.data(), m.size());
  }
  net.advance(30000);
  check(net, truth, seen);
  for (size_t r = 0; r < kPeers; ++r) {
    if (net.peers[r]->ch->state() != mc::State::Open) continue;
    for (size_t s = 0; s < kPeers; ++s) {
      if (s == r || !truth.sent[s] || net.peers[s]->ch->state() != mc::State::Open) continue;
      if (truth.last[r][s] != truth.sent[s]) {
        fail("after healing, peer" + num(r) + " has peer" + num(s) + "'s " +
             num(static_cast<uint64_t>(truth.last[r][s])) + " of " + num(static_cast<uint64_t>(truth.sent[s])));
      }
    }
  }
  return 0;
}
