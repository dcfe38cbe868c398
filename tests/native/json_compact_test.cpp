// compact_json (json_text.h) against the document it replaced in the core: for any text,
// compact_json succeeds exactly when parse_json_limited does, writes dump_json of that document,
// and its members/items are the document's, each value's text its dump. And the control
// messages' readers (reliability_wire.h: Message, ranges_from) against the document readers
// they replaced (member_of/flag/seq_of/ranges_from over mc::Json, copied here as they were).
#define JSON_NOEXCEPTION 1
#define JSON_USE_IMPLICIT_CONVERSIONS 0
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>

#include "metachannel/json_text.h"
#include "metachannel/reliability_wire.h"

namespace {

using mc::Json;

// Random JSON-ish text: objects whose names repeat (a, b, c), every kind of number (-0, 1.0,
// 1e2, huge, negative), strings with escapes, whitespace; then, sometimes, one byte mutated.
void random_text(std::mt19937& rng, int depth, std::string& out) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  static const char* const names[] = {"\"a\"", "\"b\"", "\"c\"", "\"seq\"", "\"ranges\"", "\"\\u0061\"", "\"\""};
  static const char* const scalars[] = {"0",
                                        "-0",
                                        "1",
                                        "7",
                                        "9007199254740991",
                                        "9007199254740992",
                                        "-5",
                                        "1.0",
                                        "1e2",
                                        "2.5",
                                        "-0.0",
                                        "1e400",
                                        "true",
                                        "false",
                                        "null",
                                        "\"x\"",
                                        "\"\\\"q\\\\\"",
                                        "\"\\u00e9\\n\"",
                                        "\"hi\"",
                                        "0.1",
                                        "18446744073709551615",
                                        "18446744073709551616",
                                        "-9223372036854775809",
                                        "1E-7",
                                        "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\x7F\"",
                                        "\"\\u001f\\b\\/\\f\\r\\t\""};
  const auto ws = [&] {
    if (pick(4) == 0) out += " \n\t\r"[pick(4)];
  };
  ws();
  const int kind = depth > 4 ? 2 : pick(4);
  if (kind == 0) {
    out += '{';
    for (int n = pick(5), i = 0; i < n; ++i) {
      if (i) out += ',';
      ws();
      out += names[pick(7)];
      ws();
      out += ':';
      random_text(rng, depth + 1, out);
    }
    out += '}';
  } else if (kind == 1) {
    out += '[';
    for (int n = pick(5), i = 0; i < n; ++i) {
      if (i) out += ',';
      random_text(rng, depth + 1, out);
    }
    out += ']';
  } else {
    out += scalars[pick(sizeof scalars / sizeof *scalars)];
  }
  ws();
}

void expect_compact_is_parse_then_dump(const std::string& text) {
  std::string out;
  mc::JsonMembers members;
  const bool ok = mc::compact_json(text, out, &members);
  const Json doc = mc::parse_json_limited(text);
  ASSERT_EQ(ok, !doc.is_discarded()) << text;
  if (!ok) return;
  ASSERT_EQ(out, mc::dump_json(doc)) << text;
  std::vector<std::pair<std::string, const Json*>> expected;
  if (doc.is_object()) {
    for (const auto& [k, v] : doc.get_ref<const Json::object_t&>()) expected.emplace_back(k, &v);
  } else if (doc.is_array()) {
    for (const auto& v : doc.get_ref<const Json::array_t&>()) expected.emplace_back("", &v);
  }
  ASSERT_EQ(members.size(), expected.size()) << text;
  for (size_t i = 0; i < members.size(); ++i) {
    const mc::JsonMember& m = members[i];
    const Json& v = *expected[i].second;
    ASSERT_EQ(m.name, expected[i].first) << text;
    ASSERT_EQ(out.substr(m.begin, m.end - m.begin), mc::dump_json(v)) << text;
    ASSERT_EQ(m.is_unsigned, v.is_number_unsigned()) << text;
    if (v.is_number()) {
      ASSERT_EQ(m.number, v.get<double>()) << text;
    } else {
      ASSERT_TRUE(std::isnan(m.number)) << text;
    }
  }
}

TEST(JsonCompact, IsParseThenDumpOnRandomTexts) {
  std::mt19937 rng(20261207);
  for (int i = 0; i < 300000; ++i) {
    std::string text;
    random_text(rng, 0, text);
    if (rng() % 4 == 0 && !text.empty()) {
      const size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0: text.erase(at, 1); break;
        case 1: text.insert(at, 1, "{}[],:\" 1-"[rng() % 10]); break;
        default: text[at] = "{}[],:\" 1-"[rng() % 10]; break;
      }
    }
    expect_compact_is_parse_then_dump(text);
  }
}

TEST(JsonCompact, IsParseThenDumpAtTheDepthLimit) {
  for (int depth : {1, 2, 50, mc::kMaxJsonDepth - 1, mc::kMaxJsonDepth, mc::kMaxJsonDepth + 1, 100000}) {
    for (const char* open : {"[", "{\"k\":", "{\"k\":1,\"k\":"}) {
      std::string text, close;
      for (int k = 0; k < depth; ++k) {
        text += open;
        close.insert(0, open[0] == '[' ? "]" : "}");
      }
      for (const char* in : {"1", "[]", "{}"}) {
        SCOPED_TRACE(depth);
        expect_compact_is_parse_then_dump(text + in + close);
        expect_compact_is_parse_then_dump(text + in + close.substr(1));
      }
    }
  }
  for (const char* text : {"", " ", "\xEF\xBB\xBF{}", "/*c*/1", "{\"a\":1,\"a\":[1,2],\"b\":2,\"a\":{}}", "{} {}", "-0",
                           "\"\\ud800\"", "\"\\ud83d\\ude00\"", "\"\xFF\""}) {
    expect_compact_is_parse_then_dump(text);
  }
}

// The document readers the control messages used before compact_json (reliability_wire.h).
const Json* old_member_of(const Json& j, const char* name) {
  for (const auto& m : j.get_ref<const Json::object_t&>()) {
    if (m.first == name) return &m.second;
  }
  return nullptr;
}
bool old_flag(const Json& j, const char* name) {
  const Json* v = old_member_of(j, name);
  return v && v->is_boolean() && v->get<bool>();
}
bool old_seq_of(const Json& j, const char* key, uint64_t& out) {
  const Json* v = old_member_of(j, key);
  if (!v || !v->is_number_unsigned()) return false;
  const uint64_t n = v->get<uint64_t>();
  if (n > mc::rel::kMaxSeq) return false;
  out = n;
  return true;
}
using RangeVector = std::vector<std::pair<uint64_t, uint64_t>>;
RangeVector vec(const mc::rel_wire::Ranges& ranges) {
  RangeVector out;
  for (const auto& [a, b] : ranges) out.emplace_back(a, b);
  return out;
}
RangeVector old_ranges_from(const Json& list) {
  RangeVector out;
  if (!list.is_array()) return out;
  for (const Json& r : list.get_ref<const Json::array_t&>()) {
    if (out.size() >= mc::rel::kMaxRanges) break;
    if (!r.is_array()) continue;
    const auto& pair = r.get_ref<const Json::array_t&>();
    if (pair.size() != 2 || !pair[0].is_number_unsigned() || !pair[1].is_number_unsigned()) continue;
    const uint64_t a = pair[0].get<uint64_t>(), b = pair[1].get<uint64_t>();
    if (a < 1 || a > b || b > mc::rel::kMaxSeq) continue;
    size_t i = out.size();
    out.emplace_back(a, b);
    for (; i > 0 && out[i] < out[i - 1]; --i) std::swap(out[i], out[i - 1]);
  }
  size_t w = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (w > 0 && out[i].first <= out[w - 1].second + 1) {
      out[w - 1].second = std::max(out[w - 1].second, out[i].second);
    } else {
      out[w++] = out[i];
    }
  }
  while (out.size() > w) out.pop_back();
  return out;
}

std::string random_number(std::mt19937& rng) {
  static const char* const special[] = {"0",
                                        "-0",
                                        "1",
                                        "1.0",
                                        "1e2",
                                        "-3",
                                        "9007199254740991",
                                        "9007199254740992",
                                        "9007199254740993",
                                        "18446744073709551615",
                                        "2.5",
                                        "true",
                                        "null",
                                        "\"1\"",
                                        "[1]"};
  if (rng() % 3 == 0) return special[rng() % (sizeof special / sizeof *special)];
  return std::to_string(rng() % 40);
}

std::string random_ranges(std::mt19937& rng) {
  std::string s = "[";
  for (int n = static_cast<int>(rng() % 22), i = 0; i < n; ++i) {
    if (i) s += ',';
    switch (rng() % 9) {
      case 0: s += random_number(rng); break;
      case 1: s += "[" + random_number(rng) + "]"; break;
      case 2: s += "[" + random_number(rng) + "," + random_number(rng) + "," + random_number(rng) + "]"; break;
      case 3: s += "{\"a\":[1,2]}"; break;
      case 4: random_text(rng, 3, s); break;
      default: s += "[" + random_number(rng) + "," + random_number(rng) + "]"; break;
    }
  }
  return s + "]";
}

// A control message's readers give what the document's gave: flags, sequence numbers, strings,
// the renew number, the state's text, ranges, and "more"'s members in order.
#ifndef MC_CONTROL_MESSAGES
#define MC_CONTROL_MESSAGES 40000
#endif
constexpr int kControlMessages = MC_CONTROL_MESSAGES;

TEST(JsonCompact, ControlReadersAreTheDocumentReaders) {
  std::mt19937 rng(20261209);
  static const char* const names[] = {"op",   "from",  "to",    "seq",   "low",   "ask",
                                      "more", "final", "renew", "state", "ranges"};
  // 40,000 here (6 s in a debug build); the change was checked with 300,000.
  for (int i = 0; i < kControlMessages; ++i) {
    std::string text = "{";
    for (int n = static_cast<int>(rng() % 9), k = 0; k < n; ++k) {
      if (k) text += ',';
      text += std::string("\"") + names[rng() % 11] + "\":";
      switch (rng() % 7) {
        case 0: text += random_number(rng); break;
        case 1: text += rng() % 2 ? "true" : "false"; break;
        case 2: text += random_ranges(rng); break;
        case 3: {
          text += '{';
          for (int m = static_cast<int>(rng() % 4), q = 0; q < m; ++q) {
            if (q) text += ',';
            static const char* const ids[] = {"a", "b", "\\u0061", "a b"};
            text += std::string("\"") + ids[rng() % 4] + "\":" + random_ranges(rng);
          }
          text += '}';
          break;
        }
        case 4: text += rng() % 2 ? "\"hi\"" : "\"p\\u0031\""; break;
        case 5: text += "\"a\\\"b\""; break;
        default: random_text(rng, 2, text); break;
      }
    }
    text += '}';
    const Json doc = mc::parse_json_limited(text);
    mc::rel_wire::Message msg;
    const bool ok = mc::compact_json(text, msg.text, &msg.members);
    ASSERT_EQ(ok, doc.is_object()) << text;
    if (!ok) continue;
    for (const char* name : names) {
      ASSERT_EQ(msg.flag(name), old_flag(doc, name)) << text;
      uint64_t a = 0, b = 0;
      ASSERT_EQ(msg.seq_of(name, a), old_seq_of(doc, name, b)) << text;
      ASSERT_EQ(a, b) << text;
      const Json* v = old_member_of(doc, name);
      const mc::JsonMember* m = mc::find_member(msg.members, name);
      ASSERT_EQ(m != nullptr, v != nullptr) << text;
      if (!v) continue;
      std::string_view s;
      ASSERT_EQ(msg.string_of(name, s), v->is_string()) << text;
      if (v->is_string() && mc::valid_wire_id(v->get_ref<const std::string&>())) {
        ASSERT_EQ(s, v->get_ref<const std::string&>()) << text;
      }
      if (v->is_string()) ASSERT_EQ(s == "hi", v->get_ref<const std::string&>() == "hi") << text;
      ASSERT_EQ(m->number >= 1, v->is_number() && v->get<double>() >= 1) << text;
      if (v->is_number()) ASSERT_EQ(m->number, v->get<double>()) << text;
      ASSERT_EQ(std::string(msg.value(*m)), mc::dump_json(*v)) << text;
      ASSERT_EQ(vec(mc::rel_wire::ranges_from(msg.value(*m))), old_ranges_from(*v)) << text;
      ASSERT_EQ(msg.text[m->begin] == '{', v->is_object()) << text;
      if (v->is_object()) {
        mc::rel_wire::Message more;
        ASSERT_TRUE(mc::compact_json(msg.value(*m), more.text, &more.members));
        const auto& members = v->get_ref<const Json::object_t&>();
        ASSERT_EQ(more.members.size(), members.size()) << text;
        size_t k = 0;
        for (const auto& [id, ranges] : members) {
          ASSERT_EQ(more.members[k].name, id) << text;
          ASSERT_EQ(vec(mc::rel_wire::ranges_from(more.value(more.members[k]))), old_ranges_from(ranges)) << text;
          ++k;
        }
      }
    }
    ASSERT_EQ(vec(mc::rel_wire::ranges_of(msg)),
              old_ranges_from(old_member_of(doc, "ranges") ? *old_member_of(doc, "ranges") : Json()))
        << text;
  }
}

}  // namespace

namespace {

// parse_tag's last-':' search written as a loop: the same split as rfind/substr.
bool old_parse_tag(std::string_view tag, std::string_view& id, uint64_t& seq) {
  const size_t colon = tag.rfind(':');
  if (colon == std::string_view::npos) return false;
  id = tag.substr(0, colon);
  const std::string_view digits = tag.substr(colon + 1);
  if (!mc::valid_wire_id(id) || digits.empty() || digits.size() > 16 || digits[0] == '0') return false;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > mc::rel::kMaxSeq) return false;
  seq = v;
  return true;
}

TEST(JsonCompact, ParseTagIsRfindAndSubstr) {
  std::mt19937 rng(20261210);
  static const char alphabet[] = {'a', 'Z', '1', '0', '9', ':', ':', '-', '_', ' ', '.'};
  int accepted = 0;
  for (int i = 0; i < 300000; ++i) {
    std::string tag;
    for (int n = static_cast<int>(rng() % 24); n > 0; --n) tag += alphabet[rng() % sizeof alphabet];
    std::string_view a, b;
    uint64_t x = 0, y = 0;
    const bool ours = mc::rel_wire::parse_tag(tag, a, x);
    ASSERT_EQ(ours, old_parse_tag(tag, b, y)) << tag;
    if (ours) {
      ++accepted;
      ASSERT_EQ(a, b) << tag;
      ASSERT_EQ(x, y) << tag;
    }
  }
  EXPECT_GT(accepted, 500);  // (964 of the 300,000 are tags)
}

}  // namespace
