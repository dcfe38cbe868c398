// json_text: the compact dump, the depth-limited parse and merge_envelope.
#define JSON_NOEXCEPTION 1
#define JSON_USE_IMPLICIT_CONVERSIONS 0
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "metachannel/json_text.h"

namespace {

using mc::Fields;
using mc::merge_envelope;

// dump_json: what every control message the core writes goes through.
TEST(JsonText, DumpIsCompactAndEscapes) {
  mc::Json j = mc::Json::object();
  j["type"] = "q\"t";
  j["text"] = "line\nbreak \\ \"quoted\" \t\x01 </script>";
  j["k\"ey"] = "\xC3\xA9";
  const std::string s = mc::dump_json(j);
  EXPECT_EQ(s,
            "{\"type\":\"q\\\"t\",\"text\":\"line\\nbreak \\\\ \\\"quoted\\\" \\t\\u0001 </script>\","
            "\"k\\\"ey\":\"\xC3\xA9\"}");
  const nlohmann::json back = nlohmann::json::parse(s, nullptr, false);
  ASSERT_TRUE(back.is_object());
  EXPECT_EQ(back.at("text").get<std::string>(), "line\nbreak \\ \"quoted\" \t\x01 </script>");
}

TEST(JsonText, InvalidUtf8IsReplacedNotFatal) {
  mc::Json j = mc::Json::object();
  j["bad"] =
      "a\xFF"
      "b";
  const std::string s = mc::dump_json(j);
  EXPECT_EQ(s,
            "{\"bad\":\"a\xEF\xBF\xBD"
            "b\"}");
  EXPECT_FALSE(nlohmann::json::parse(s, nullptr, false).is_discarded());
}

// dump_json is the core's own writer (nlohmann's serializer cost 9 KB of wasm): it must write
// exactly what nlohmann's dump(-1, ' ', false, replace) writes, for any document, invalid
// UTF-8, every kind of number and the extremes included.
mc::Json random_value(std::mt19937& rng, int depth) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  auto text = [&]() {
    static const unsigned char bytes[] = {'a',  'Z',  '"',  '\\', '/',  0x00, 0x01, 0x08, 0x09, 0x0A, 0x0C,
                                          0x0D, 0x1F, 0x20, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xC3, 0xA9,
                                          0xDF, 0xE0, 0xA0, 0xED, 0x9F, 0xA0, 0xEF, 0xF0, 0x90, 0xF4, 0x8F,
                                          0xF5, 0xFF, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80};
    std::string s;
    for (int n = pick(12); n > 0; --n) s += static_cast<char>(bytes[pick(sizeof bytes)]);
    if (pick(3) == 0) s += "\xE2\x82";  // truncated at the end
    return s;
  };
  switch (depth > 3 ? 2 + pick(7) : pick(9)) {
    case 0: {
      mc::Json o = mc::Json::object();
      for (int n = pick(5); n > 0; --n) o[text()] = random_value(rng, depth + 1);
      return o;
    }
    case 1: {
      mc::Json a = mc::Json::array();
      for (int n = pick(5); n > 0; --n) a.push_back(random_value(rng, depth + 1));
      return a;
    }
    case 2: return text();
    case 3: {
      static const std::int64_t ints[] = {
          0, -1, 1, 9, -10, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()};
      return pick(2) ? mc::Json(ints[pick(7)])
                     : mc::Json(static_cast<std::int64_t>(rng()) - static_cast<std::int64_t>(rng()) * 65536);
    }
    case 4:
      return pick(2) ? mc::Json(std::numeric_limits<std::uint64_t>::max())
                     : mc::Json(static_cast<std::uint64_t>(rng()) << 20);
    case 5: {
      static const double specials[] = {0.0,
                                        -0.0,
                                        1.0,
                                        -2.0,
                                        0.1,
                                        1e21,
                                        1e-7,
                                        5e-324,
                                        1.7976931348623157e308,
                                        123456.789,
                                        std::numeric_limits<double>::infinity(),
                                        std::numeric_limits<double>::quiet_NaN()};
      if (pick(2)) return specials[pick(12)];
      std::uniform_real_distribution<double> mantissa(-1, 1);
      return std::ldexp(mantissa(rng), pick(2000) - 1000);
    }
    case 6: return pick(2) == 1;
    case 7: return nullptr;
    default: return text();
  }
}

TEST(JsonText, DumpIsNlohmannsDumpByteForByte) {
  std::mt19937 rng(20261206);
  for (int i = 0; i < 20000; ++i) {
    const mc::Json j = random_value(rng, 0);
    const std::string ours = mc::dump_json(j);
    const std::string theirs = j.dump(-1, ' ', false, mc::Json::error_handler_t::replace);
    ASSERT_EQ(ours, theirs) << "document " << i;
  }
  EXPECT_EQ(mc::dump_json(mc::Json(mc::Json::value_t::discarded)), mc::Json(mc::Json::value_t::discarded).dump());
}

// parse_json_limited runs nlohmann's lexer and DOM builder under a loop of its own: whatever
// nlohmann's own parse accepts (within the depth limit) it reads as the same document, and
// whatever nlohmann refuses it refuses.
void expect_parse_like_nlohmann(const std::string& text) {
  const mc::Json ours = mc::parse_json_limited(text);
  const mc::Json theirs = mc::Json::parse(text, nullptr, /*allow_exceptions=*/false);
  ASSERT_EQ(ours.is_discarded(), theirs.is_discarded()) << text;
  if (ours.is_discarded()) return;
  ASSERT_EQ(ours, theirs) << text;
  ASSERT_EQ(mc::dump_json(ours), mc::dump_json(theirs)) << text;  // the number types too
}

// The float writer computes the cached powers of ten nlohmann's to_chars keeps in a table: every
// binary exponent a double can give (normalized or not) must get the table's entry, bit for bit.
TEST(JsonText, CachedPowersAreNlohmannsTable) {
  for (int e = -1137; e <= 960; ++e) {
    const auto ours = mc::json_text_detail::cached_power(e);
    const auto theirs = nlohmann::detail::dtoa_impl::get_cached_power_for_binary_exponent(e);
    ASSERT_EQ(ours.f, theirs.f) << e;
    ASSERT_EQ(ours.e, theirs.e) << e;
    ASSERT_EQ(ours.k, theirs.k) << e;
  }
}

// ... and so writes every double as nlohmann's to_chars does: random bit patterns (every
// exponent, subnormals), integers and the extremes.
TEST(JsonText, DoublesAreNlohmannsToChars) {
  std::mt19937_64 rng(7);
  const auto check = [](double x) {
    char buf[64];
    const char* end = nlohmann::detail::to_chars(buf, buf + sizeof buf, x);
    std::string ours;
    mc::append_json_double(x, ours);
    ASSERT_EQ(ours, std::string(buf, static_cast<size_t>(end - buf))) << x;
  };
  for (int i = 0; i < 200000; ++i) {
    const std::uint64_t bits = rng();
    double x;
    std::memcpy(&x, &bits, sizeof x);
    if (std::isfinite(x)) check(x);
  }
  for (int i = -1100; i < 1024; ++i) check(std::ldexp(1.0, i));
  for (int i = 0; i < 100000; ++i) check(static_cast<double>(i) / 8);
  check(0.0);
  check(-0.0);
  check(std::numeric_limits<double>::max());
  check(std::numeric_limits<double>::min());
  check(std::numeric_limits<double>::denorm_min());
  check(9007199254740993.0);
}

TEST(JsonText, ParseAcceptsWhatNlohmannAccepts) {
  for (const char* text : {"",
                           " ",
                           "{}",
                           "[]",
                           " {} ",
                           "{} {}",
                           "[1,]",
                           "[,1]",
                           "{\"a\":1,}",
                           "{,}",
                           "{\"a\"}",
                           "{\"a\":}",
                           "{1:2}",
                           "[1 2]",
                           "{\"a\":1 \"b\":2}",
                           "{\"a\":1,\"a\":2,\"b\":[true,false,null]}",
                           "1e400",
                           "-1e400",
                           "[1e400]",
                           "-0",
                           "0.5",
                           "-9223372036854775809",
                           "18446744073709551615",
                           "18446744073709551616",
                           "\xEF\xBB\xBF{}",
                           " \xEF\xBB\xBF{}",
                           "\xEF\xBB{}",
                           "\"\\ud800\"",
                           "\"\\ud83d\\ude00\"",
                           "\"\x01\"",
                           "\"\xFF\"",
                           "/*c*/1",
                           "[1]]",
                           "{\"a\":{\"b\":[{}]}}",
                           "[[[]]]",
                           "[[[]]",
                           "nul",
                           "true false",
                           "\"a\":1"}) {
    expect_parse_like_nlohmann(text);
  }
  // Random token strings (short: never deeper than the limit) and random documents, mutated.
  static const char* const tokens[] = {"{",     "}",     "[", "]",  ",",           ":",
                                       "\"a\"", "\"b\"", "1", "-2", "2.5",         "1e999",
                                       "true",  "null",  " ", "x",  "\"\\u00e9\"", "18446744073709551615"};
  std::mt19937 rng(20261207);
  for (int i = 0; i < 100000; ++i) {
    std::string text;
    const size_t n = rng() % 24;
    for (size_t k = 0; k < n; ++k) text += tokens[rng() % (sizeof tokens / sizeof *tokens)];
    expect_parse_like_nlohmann(text);
  }
  for (int i = 0; i < 20000; ++i) {
    std::string text = mc::dump_json(random_value(rng, 0));
    expect_parse_like_nlohmann(text);
    if (text.empty()) continue;
    const size_t at = rng() % text.size();
    switch (rng() % 3) {
      case 0: text.erase(at, 1); break;
      case 1: text.insert(at, 1, "{}[],:\" 1"[rng() % 9]); break;
      default: text[at] = "{}[],:\" 1"[rng() % 9]; break;
    }
    expect_parse_like_nlohmann(text);
  }
}

TEST(JsonText, ParseDepthLimitCountsObjectsAndArrays) {
  for (int depth : {1, 2, 50, mc::kMaxJsonDepth}) {
    for (int pattern = 0; pattern < 3; ++pattern) {
      std::string open, close;
      for (int k = 0; k < depth; ++k) {
        const bool array = pattern == 0 || (pattern == 2 && k % 2 == 1);
        open += array ? "[" : "{\"k\":";
        close.insert(0, array ? "]" : "}");
      }
      const std::string inner[] = {"1", "[]", "{}"};
      for (const std::string& in : inner) {
        const std::string text = open + in + close;
        const bool fits = depth < mc::kMaxJsonDepth || in == "1";
        SCOPED_TRACE(text);
        if (fits) {
          expect_parse_like_nlohmann(text);
        } else {
          EXPECT_TRUE(mc::parse_json_limited(text).is_discarded());
        }
        EXPECT_TRUE(mc::parse_json_limited(open + in + close.substr(1)).is_discarded());
      }
    }
  }
}

TEST(JsonText, MergeAddsAndReplacesKeepingOrder) {
  std::string out = "stale";
  ASSERT_TRUE(merge_envelope(R"({"type":"request","data":{"n":[1,2]},"re":"old"})", {{"re", "7"}, {"id", "x"}}, out));
  EXPECT_EQ(out, R"({"type":"request","data":{"n":[1,2]},"re":"7","id":"x"})");
  ASSERT_TRUE(merge_envelope("", {{"a", "b"}}, out));
  EXPECT_EQ(out, R"({"a":"b"})");
  ASSERT_TRUE(merge_envelope("  {}  ", {}, out));
  EXPECT_EQ(out, "{}");
  ASSERT_TRUE(merge_envelope(R"({"x":"\u00e9"})", {{"q", "\"\\"}}, out));
  EXPECT_EQ(out, "{\"x\":\"\xC3\xA9\",\"q\":\"\\\"\\\\\"}");
}

// merge_envelope writes its output itself: what j[name] = value for each field and then
// dump_json(j) would write.
TEST(JsonText, MergeIsAssignmentThenDump) {
  std::mt19937 rng(20261208);
  static const char* const names[] = {"a", "b", "_mc", "type", "\xC3\xA9"};
  for (int i = 0; i < 20000; ++i) {
    mc::Json doc = random_value(rng, 0);
    if (!doc.is_object()) doc = mc::Json::object();
    for (int n = static_cast<int>(rng() % 3); n > 0; --n) doc[names[rng() % 5]] = static_cast<uint64_t>(rng() % 9);
    const std::string text = mc::dump_json(doc);
    mc::Json expected = mc::parse_json_limited(text);
    ASSERT_TRUE(expected.is_object()) << text;
    Fields fields;
    for (int n = static_cast<int>(rng() % 4); n > 0; --n) {
      fields.emplace_back(names[rng() % 5], std::to_string(rng() % 100) + (rng() % 2 ? "\"\n" : ""));
    }
    for (const auto& [k, v] : fields) expected[k] = v;
    std::string out;
    ASSERT_TRUE(merge_envelope(text, fields, out)) << text;
    ASSERT_EQ(out, mc::dump_json(expected)) << text;
    // merge_member: the one-field case (the reliable tag), the same text.
    if (fields.size() == 1) {
      std::string one;
      ASSERT_TRUE(mc::merge_member(text, fields[0].first, fields[0].second, one)) << text;
      ASSERT_EQ(one, out) << text;
    }
  }
}

TEST(JsonText, MergeMemberIsMergeEnvelopeWithOneField) {
  for (const char* in : {"", "{}", "  {}  ", R"({"a":1,"_mc":"x:1","b":[1,{"c":null}]})", R"({"_mc":1})",
                         R"({"x":"\u00e9","y":1.5e300})", "[1]", "1", "{", R"({"a":1}x)"}) {
    std::string a, b;
    const bool ok = merge_envelope(in, {{"_mc", "id:7"}}, a);
    ASSERT_EQ(mc::merge_member(in, "_mc", "id:7", b), ok) << in;
    ASSERT_EQ(a, b) << in;
  }
}

TEST(JsonText, MergeRejectsNonObjects) {
  for (const char* in :
       {"[]", "[1,2]", "\"s\"", "1", "true", "null", "{", R"({"a":})", "{} {}", "text", R"({"a":1,})"}) {
    SCOPED_TRACE(in);
    std::string out = "stale";
    EXPECT_FALSE(merge_envelope(in, {{"a", "b"}}, out));
    EXPECT_TRUE(out.empty());
  }
}

std::string nested(size_t arrays) { return R"({"a":)" + std::string(arrays, '[') + std::string(arrays, ']') + "}"; }

TEST(JsonText, MergeAcceptsNestingUpToTheLimit) {
  // The object and 99 arrays inside it: 100 levels.
  const std::string deep = nested(mc::kMaxJsonDepth - 1);
  std::string out;
  ASSERT_TRUE(merge_envelope(deep, {{"re", "1"}}, out));
  EXPECT_EQ(out, deep.substr(0, deep.size() - 1) + R"(,"re":"1"})");
}

TEST(JsonText, MergeRefusesDeeperNestingWithoutCrashing) {
  std::string out = "stale";
  EXPECT_FALSE(merge_envelope(nested(mc::kMaxJsonDepth), {{"re", "1"}}, out));
  EXPECT_TRUE(out.empty());
  // Deep enough to overflow the stack if it were copied or dumped recursively.
  EXPECT_FALSE(merge_envelope(nested(200000), {{"re", "1"}}, out));
  std::string objects;
  for (int i = 0; i < 200000; ++i) objects += R"({"a":)";
  objects += "1" + std::string(200000, '}');
  EXPECT_FALSE(merge_envelope(objects, {{"re", "1"}}, out));
  EXPECT_TRUE(out.empty());
}

}  // namespace
