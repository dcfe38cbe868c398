// Wire: control envelopes built with nlohmann/json.
#define JSON_NOEXCEPTION 1
#define JSON_USE_IMPLICIT_CONVERSIONS 0
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "metachannel/json_text.h"
#include "metachannel/wire.h"

namespace {

using mc::Fields;
using mc::make_envelope;
using mc::merge_envelope;

TEST(Wire, MakeEnvelopeTypeFirstThenFieldsInOrder) {
  EXPECT_EQ(make_envelope("subscribe", {{"channel", "prices"}}), R"({"type":"subscribe","channel":"prices"})");
  EXPECT_EQ(make_envelope("join", {{"username", "ann"}, {"room", "lobby"}}),
            R"({"type":"join","username":"ann","room":"lobby"})");
  EXPECT_EQ(make_envelope("ping", {}), R"({"type":"ping"})");
  // A field named "type" replaces the type in place.
  EXPECT_EQ(make_envelope("a", {{"type", "b"}, {"x", "1"}}), R"({"type":"b","x":"1"})");
}

TEST(Wire, MakeEnvelopeEscapes) {
  const std::string s = make_envelope("q\"t", {{"text", "line\nbreak \\ \"quoted\" \t\x01 </script>"},
                                                {"k\"ey", "\xC3\xA9"}});
  EXPECT_EQ(s, "{\"type\":\"q\\\"t\",\"text\":\"line\\nbreak \\\\ \\\"quoted\\\" \\t\\u0001 </script>\","
               "\"k\\\"ey\":\"\xC3\xA9\"}");
  const nlohmann::json j = nlohmann::json::parse(s, nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.at("type").get<std::string>(), "q\"t");
  EXPECT_EQ(j.at("text").get<std::string>(), "line\nbreak \\ \"quoted\" \t\x01 </script>");
  EXPECT_EQ(j.at("k\"ey").get<std::string>(), "\xC3\xA9");
}

TEST(Wire, InvalidUtf8IsReplacedNotFatal) {
  const std::string s = make_envelope("t", {{"bad", "a\xFF" "b"}});
  EXPECT_EQ(s, "{\"type\":\"t\",\"bad\":\"a\xEF\xBF\xBD" "b\"}");
  EXPECT_FALSE(nlohmann::json::parse(s, nullptr, false).is_discarded());
}

TEST(Wire, MergeAddsAndReplacesKeepingOrder) {
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

TEST(Wire, MergeRejectsNonObjects) {
  for (const char* in : {"[]", "[1,2]", "\"s\"", "1", "true", "null", "{", R"({"a":})", "{} {}", "text",
                         R"({"a":1,})"}) {
    SCOPED_TRACE(in);
    std::string out = "stale";
    EXPECT_FALSE(merge_envelope(in, {{"a", "b"}}, out));
    EXPECT_TRUE(out.empty());
  }
}

std::string nested(size_t arrays) {
  return R"({"a":)" + std::string(arrays, '[') + std::string(arrays, ']') + "}";
}

TEST(Wire, MergeAcceptsNestingUpToTheLimit) {
  // The object and 99 arrays inside it: 100 levels.
  const std::string deep = nested(mc::kMaxJsonDepth - 1);
  std::string out;
  ASSERT_TRUE(merge_envelope(deep, {{"re", "1"}}, out));
  EXPECT_EQ(out, deep.substr(0, deep.size() - 1) + R"(,"re":"1"})");
}

TEST(Wire, MergeRefusesDeeperNestingWithoutCrashing) {
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
