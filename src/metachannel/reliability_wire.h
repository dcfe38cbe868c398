// The wire helpers reliability.cpp, reliability_receive.cpp and presence.cpp share: the
// reliable tag "<id>:<seq>", sequence numbers in control messages, the content hash of the
// dedupe window, ranges as JSON. Internal to those files (not installed, not included by
// the Channel).
#pragma once

#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metachannel/json_text.h"
#include "metachannel/reliability.h"

namespace mc {
// Not an anonymous namespace: inline functions with external linkage are one copy in the link.
namespace rel_wire {

using Ranges = RangeList;

static_assert(rel::kMaxIdBytes == 64, "valid_wire_id (wire_id.cpp) checks 1-64 bytes");
inline bool valid_id(std::string_view id) { return valid_wire_id(id); }

// "<id>:<seq>" with seq a decimal integer in 1..kMaxSeq without leading zeros.
inline bool parse_tag(std::string_view tag, std::string_view& id, uint64_t& seq) {
  // The last ':' (a plain loop: no rfind or substr with its bounds check).
  size_t colon = tag.size();
  while (colon > 0 && tag[colon - 1] != ':') --colon;
  if (colon == 0) return false;
  id = std::string_view(tag.data(), colon - 1);
  const std::string_view digits(tag.data() + colon, tag.size() - colon);
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

// Control messages are read in compact form (compact_json): `members` are the message's
// members, their values' text in `text`.
struct Message {
  std::string text;
  JsonMembers members;
  // (Spans compact_json wrote: no bounds check of substr() needed.)
  std::string_view value(const JsonMember& m) const { return std::string_view(text.data() + m.begin, m.end - m.begin); }
  // The member `name`'s value is true.
  bool flag(const char* name) const {
    const JsonMember* m = find_member(members, name);
    return m && value(*m) == "true";
  }
  // The member `name` is a string: its text between the quotes (the string itself unless it
  // has an escape, which no id has: compare it with ids only), else null.
  bool string_of(const char* name, std::string_view& out) const {
    const JsonMember* m = find_member(members, name);
    if (!m || text[m->begin] != '"') return false;
    out = std::string_view(text.data() + m->begin + 1, m->end - m->begin - 2);
    return true;
  }
  // The member `name` is a sequence number (a number_unsigned up to kMaxSeq).
  bool seq_of(const char* name, uint64_t& out) const {
    const JsonMember* m = find_member(members, name);
    if (!m || !m->is_unsigned || m->number > static_cast<double>(rel::kMaxSeq)) return false;
    out = static_cast<uint64_t>(m->number);  // exact: at most 2^53 - 1
    return true;
  }
};

// Up to kMaxRanges well-formed [first, last] pairs (1 <= first <= last <= kMaxSeq) of the list
// (compact JSON text), sorted and merged, so what they cover is walked once.
inline Ranges ranges_from(std::string_view list) {
  Ranges out;
  SeqRange* r = out.r;
  size_t n = 0;
  if (!list.empty() && list[0] == '[') {
    std::string items_text, pair_text;
    JsonMembers items, pair;
    compact_json(list, items_text, &items);
    for (const JsonMember& item : items) {
      if (n >= rel::kMaxRanges) break;
      if (items_text[item.begin] != '[') continue;
      compact_json(std::string_view(items_text.data() + item.begin, item.end - item.begin), pair_text, &pair);
      if (pair.size() != 2 || !pair[0].is_unsigned || !pair[1].is_unsigned) continue;
      // Exact as doubles once b <= kMaxSeq < 2^53.
      const double a = pair[0].number, b = pair[1].number;
      if (a < 1 || a > b || b > static_cast<double>(rel::kMaxSeq)) continue;
      // Insertion in order (at most kMaxRanges: std::sort's introsort was 1.3 KB of wasm).
      size_t i = n++;
      r[i] = {static_cast<uint64_t>(a), static_cast<uint64_t>(b)};
      for (; i > 0 && (r[i].first < r[i - 1].first || (r[i].first == r[i - 1].first && r[i].second < r[i - 1].second));
           --i) {
        std::swap(r[i], r[i - 1]);
      }
    }
  }
  // Merged in place: w ranges kept so far.
  size_t w = 0;
  for (size_t i = 0; i < n; ++i) {
    if (w > 0 && r[i].first <= r[w - 1].second + 1) {
      r[w - 1].second = std::max(r[w - 1].second, r[i].second);
    } else {
      r[w++] = r[i];
    }
  }
  out.n = w;
  return out;
}

// The "ranges" member of a control message.
inline Ranges ranges_of(const Message& j) {
  const JsonMember* m = find_member(j.members, "ranges");
  return m ? ranges_from(j.value(*m)) : Ranges();
}

// FNV-1a, 32 bits: a frame's identity for the dedupe window (a resend is the frame byte for byte).
inline uint32_t content_hash(const char* data, size_t size) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < size; ++i) h = (h ^ static_cast<uint8_t>(data[i])) * 16777619u;
  return h;
}

inline bool equals(const std::string& s, const char* data, size_t size) {
  return s.size() == size && std::memcmp(s.data(), data, size) == 0;
}

inline uint64_t seen_key(uint64_t seq, const char* data, size_t size) {
  return (seq & 0xffffffffull) << 32 | content_hash(data, size);
}

// Control messages are written as text, member by member, byte for byte what dump_json writes
// for the document with the same members in the same order (no nlohmann document is built).
// control(): {"type":"_mc","op":<op>,"from":<from> - the caller adds members and the '}'.
inline std::string control(const char* op, std::string_view from) {
  static_assert(rel::kControlType == "_mc", "the literal below");
  std::string out = "{\"type\":\"_mc\",\"op\":\"";
  out += op;
  out += "\",\"from\":";
  append_json_string(from, out);
  return out;
}

// ,"<name>": (names are plain ASCII, nothing to escape)
inline void member(std::string& out, const char* name) {
  out += ",\"";
  out += name;
  out += "\":";
}

// [[first,last],...]
inline void append_ranges(const Ranges& ranges, std::string& out) {
  out += '[';
  for (const auto& r : ranges) {
    if (out.back() != '[') out += ',';
    out += '[';
    append_json_unsigned(r.first, out);
    out += ',';
    append_json_unsigned(r.second, out);
    out += ']';
  }
  out += ']';
}

}  // namespace rel_wire
}  // namespace mc
