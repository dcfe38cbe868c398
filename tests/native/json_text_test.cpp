// json_text: the compact dump, the depth-limited parse and merge_envelope.
#define JSON_NOEXCEPTION 1
#define JSON_USE_IMPLICIT_CONVERSIONS 0
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
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
