// Envelope scanner and json_unescape.
// One file over 500 lines: the scanner's cases and its differential checks against nlohmann/json
// share their helpers and the nlohmann build settings below.
//
// The core library compiles nlohmann/json with these two settings; using the same ones here
// keeps every inline nlohmann function identical across the test binary.
#define JSON_NOEXCEPTION 1
#define JSON_USE_IMPLICIT_CONVERSIONS 0
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "metachannel/envelope.h"

namespace {

using mc::Envelope;
using mc::FieldSet;
using Shape = mc::Envelope::Shape;
using namespace std::string_literals;

// The fields the clients route on today: type (always slot 0), channel, room, re.
const FieldSet& client_fields() {
  static const FieldSet fields = [] {
    FieldSet f;
    f.add("channel");
    f.add("room");
    f.add("re");
    return f;
  }();
  return fields;
}
constexpr int kType = 0, kChannel = 1, kRoom = 2, kRe = 3;

// What one scan found, copied out of the Envelope (which is not copyable: its views may
// point into its own buffers).
class Scanned {
 public:
  explicit Scanned(std::string_view s) {
    Envelope e;
    e.scan(s.data(), s.size(), client_fields());
    shape_ = e.shape();
    if (e.is_object() != (shape_ == Shape::Object)) ADD_FAILURE() << "is_object() disagrees with shape()";
    if (e.has_type() != e.has_field(kType) || e.type() != e.field(kType)) ADD_FAILURE() << "type() is not slot 0";
    has_type_ = e.has_field(kType);
    has_channel_ = e.has_field(kChannel);
    has_room_ = e.has_field(kRoom);
    has_re_ = e.has_field(kRe);
    type_ = std::string(e.field(kType));
    channel_ = std::string(e.field(kChannel));
    room_ = std::string(e.field(kRoom));
    re_ = std::string(e.field(kRe));
  }
  Shape shape() const { return shape_; }
  bool is_object() const { return shape_ == Shape::Object; }
  bool has_type() const { return has_type_; }
  const std::string& type() const { return type_; }
  bool has_channel() const { return has_channel_; }
  const std::string& channel() const { return channel_; }
  bool has_room() const { return has_room_; }
  const std::string& room() const { return room_; }
  bool has_reply_to() const { return has_re_; }
  const std::string& reply_to() const { return re_; }

 private:
  Shape shape_;
  bool has_type_, has_channel_, has_room_, has_re_;
  std::string type_, channel_, room_, re_;
};

Scanned scan(std::string_view s) { return Scanned(s); }

static_assert(!std::is_copy_constructible_v<Envelope> && !std::is_copy_assignable_v<Envelope>,
              "an Envelope copy would point into the original's buffers");

const char* shape_name(Shape s) {
  switch (s) {
    case Shape::Text: return "Text";
    case Shape::Object: return "Object";
    case Shape::OtherJson: return "OtherJson";
  }
  return "?";
}

// ---------------------------------------------------------------------------- field extraction

TEST(Envelope, ExtractsAllRoutingFields) {
  const Scanned e = scan(R"({"type":"chat","channel":"prices","room":"lobby","re":"42","text":"hi"})");
  ASSERT_EQ(e.shape(), Shape::Object);
  EXPECT_TRUE(e.is_object());
  ASSERT_TRUE(e.has_type());
  EXPECT_EQ(e.type(), "chat");
  ASSERT_TRUE(e.has_channel());
  EXPECT_EQ(e.channel(), "prices");
  ASSERT_TRUE(e.has_room());
  EXPECT_EQ(e.room(), "lobby");
  ASSERT_TRUE(e.has_reply_to());
  EXPECT_EQ(e.reply_to(), "42");
}

TEST(Envelope, MissingFieldsAreAbsent) {
  const Scanned e = scan(R"({"text":"hi","types":"no","typ":"no","Type":"no"})");
  ASSERT_EQ(e.shape(), Shape::Object);
  EXPECT_FALSE(e.has_type());
  EXPECT_FALSE(e.has_channel());
  EXPECT_FALSE(e.has_room());
  EXPECT_FALSE(e.has_reply_to());
  EXPECT_TRUE(e.type().empty());
}

TEST(Envelope, EmptyObjectAndEmptyString) {
  Scanned e = scan("{}");
  EXPECT_EQ(e.shape(), Shape::Object);
  EXPECT_FALSE(e.has_type());
  e = scan(R"({"type":""})");
  EXPECT_EQ(e.shape(), Shape::Object);
  ASSERT_TRUE(e.has_type());
  EXPECT_EQ(e.type(), "");
}

TEST(Envelope, NestedObjectsAndArraysAreSkipped) {
  const Scanned e =
      scan(R"({"data":{"type":"inner","channel":"x","deep":[{"room":"no"},[1,[2,{"re":"no"}]]]},"type":"outer"})");
  ASSERT_EQ(e.shape(), Shape::Object);
  ASSERT_TRUE(e.has_type());
  EXPECT_EQ(e.type(), "outer");  // the nested "type" is not the envelope's
  EXPECT_FALSE(e.has_channel());
  EXPECT_FALSE(e.has_room());
  EXPECT_FALSE(e.has_reply_to());
}

TEST(Envelope, StringsWithEscapedQuotesAndBrackets) {
  const Scanned e = scan(R"({"text":"a \"quoted\" }]{[ \\","type":"br}ack]{\"ets","x":["\"]}",{"k":"}"}]})");
  ASSERT_EQ(e.shape(), Shape::Object);
  ASSERT_TRUE(e.has_type());
  EXPECT_EQ(e.type(), "br}ack]{\"ets");
}

TEST(Envelope, EscapedBackslashBeforeQuoteEndsTheString) {
  // "\\" is one backslash; the quote after it closes the string.
  const Scanned e = scan(R"({"a":"x\\","type":"t\\"})");
  ASSERT_EQ(e.shape(), Shape::Object);
  EXPECT_EQ(e.type(), "t\\");
}

TEST(Envelope, EscapesInKeysAndValues) {
  Scanned e = scan(R"({"\u0074ype":"\u0063hat","ch\u0061nnel":"a\/b","r\u006Fom":"tab\there","\u0072\u0065":"\"q\""})");
  ASSERT_EQ(e.shape(), Shape::Object);
  EXPECT_EQ(e.type(), "chat");
  EXPECT_EQ(e.channel(), "a/b");
  EXPECT_EQ(e.room(), "tab\there");
  EXPECT_EQ(e.reply_to(), "\"q\"");

  e = scan(R"({"type":"\u00e9t\u00E9 \u20ac"})");
  ASSERT_TRUE(e.has_type());
  EXPECT_EQ(e.type(), "\xC3\xA9t\xC3\xA9 \xE2\x82\xAC");  // "été €"
}

TEST(Envelope, SurrogatePairs) {
  Scanned e = scan(R"({"type":"\ud83d\ude00"})");
  ASSERT_TRUE(e.has_type());
  EXPECT_EQ(e.type(), "\xF0\x9F\x98\x80");  // U+1F600
  // A raw 4-byte UTF-8 sequence is the same string.
  e = scan("{\"type\":\"\xF0\x9F\x98\x80\"}");
  ASSERT_TRUE(e.has_type());
  EXPECT_EQ(e.type(), "\xF0\x9F\x98\x80");
  // In a key too.
  e = scan(R"({"\ud83d\ude00":1,"type":"k"})");
  EXPECT_EQ(e.shape(), Shape::Object);
  EXPECT_EQ(e.type(), "k");
}

TEST(Envelope, LoneSurrogateEscapesAreAcceptedLikeJsonParse) {
  // JSON.parse('{"type":"\ud800"}') succeeds (a lone surrogate in a JS string); the scanner
  // agrees that this is an object and decodes the surrogate as U+FFFD.
  // (nlohmann rejects it: a known, intended difference.)
  Scanned e = scan(R"({"type":"\ud800"})");
  ASSERT_EQ(e.shape(), Shape::Object);
  EXPECT_EQ(e.type(), "\xEF\xBF\xBD");
  e = scan(R"({"type":"a\udc00b"})");
  ASSERT_EQ(e.shape(), Shape::Object);
  EXPECT_EQ(e.type(),
            "a\xEF\xBF\xBD"
            "b");
}

TEST(Envelope, DuplicateKeysLastWins) {
  Scanned e = scan(R"({"type":"a","type":"b"})");
  ASSERT_TRUE(e.has_type());
  EXPECT_EQ(e.type(), "b");
  // A later non-string value replaces an earlier string, as JSON.parse does.
  e = scan(R"({"type":"a","channel":"c","type":{"x":1},"channel":null})");
  ASSERT_EQ(e.shape(), Shape::Object);
  EXPECT_FALSE(e.has_type());
  EXPECT_FALSE(e.has_channel());
  // And a later string replaces an earlier non-string.
  e = scan(R"({"type":7,"type":"late"})");
  ASSERT_TRUE(e.has_type());
  EXPECT_EQ(e.type(), "late");
  // Escaped duplicate of an escaped value: the second one's text, not the first buffer's.
  e = scan(R"({"type":"\u0061\u0061","type":"\u0062"})");
  EXPECT_EQ(e.type(), "b");
}

TEST(Envelope, NonStringTypeIsNotAType) {
  for (const char* s : {R"({"type":1})", R"({"type":null})", R"({"type":true})", R"({"type":["a"]})",
                        R"({"type":{"type":"a"}})", R"({"type":-1.5e3})"}) {
    SCOPED_TRACE(s);
    const Scanned e = scan(s);
    EXPECT_EQ(e.shape(), Shape::Object);
    EXPECT_FALSE(e.has_type());
  }
}

TEST(Envelope, Whitespace) {
  const Scanned e = scan(" \t\r\n{ \n\"type\" \t:\r \"ws\" ,\n \"re\" : \"1\" } \r\n\t ");
  ASSERT_EQ(e.shape(), Shape::Object);
  EXPECT_EQ(e.type(), "ws");
  EXPECT_EQ(e.reply_to(), "1");
  // Other characters are not JSON whitespace.
  EXPECT_EQ(scan("\v{}").shape(), Shape::Text);
  EXPECT_EQ(scan("{}\f").shape(), Shape::Text);
  EXPECT_EQ(scan("\xC2\xA0{}").shape(), Shape::Text);  // NBSP
}

TEST(Envelope, MalformedOrTruncatedIsText) {
  const std::string full = R"({"type":"chat","data":{"a":[1,2,{"b":"c"}]},"room":"r"})";
  // Every proper prefix of a valid object is malformed.
  for (size_t n = 0; n < full.size(); ++n) {
    SCOPED_TRACE(full.substr(0, n));
    const Scanned e = scan(std::string_view(full.data(), n));
    EXPECT_NE(e.shape(), Shape::Object);
    EXPECT_FALSE(e.has_type());
    EXPECT_FALSE(e.has_room());
  }
  EXPECT_EQ(scan(full).shape(), Shape::Object);
  for (const char* s : {"{", R"({"type")", R"({"type":)", R"({"type":"chat")", R"({"type":"chat",)",
                        R"({"type":"chat",})", R"({"type" "chat"})", R"({type:"chat"})", R"({'type':'chat'})",
                        R"({"a":[1,2})", R"({"a":{"b"}})", R"({"a":tru})", R"({"a":"\x"})", R"({"type":"\u12"})"}) {
    SCOPED_TRACE(s);
    const Scanned e = scan(s);
    EXPECT_EQ(e.shape(), Shape::Text);
    EXPECT_FALSE(e.has_type());
  }
}

TEST(Envelope, FieldsFromAMalformedFrameAreNotReported) {
  // The fields were read before the scanner found the frame broken: none may leak out.
  const Scanned e = scan(R"({"type":"chat","channel":"c","room":"r","re":"1",})");
  EXPECT_EQ(e.shape(), Shape::Text);
  EXPECT_FALSE(e.has_type());
  EXPECT_FALSE(e.has_channel());
  EXPECT_FALSE(e.has_room());
  EXPECT_FALSE(e.has_reply_to());
}

TEST(Envelope, TrailingGarbageIsText) {
  for (const char* s : {R"({"type":"a"} x)", R"({"type":"a"}{})", R"({"type":"a"}})", R"({"type":"a"},)", R"({} [])",
                        R"({"type":"a"}")"}) {
    SCOPED_TRACE(s);
    EXPECT_EQ(scan(s).shape(), Shape::Text);
    EXPECT_FALSE(scan(s).has_type());
  }
  // A NUL byte is not whitespace either (nlohmann stops at it; JSON.parse does not).
  EXPECT_EQ(scan("{\"type\":\"a\"}\0junk"s).shape(), Shape::Text);
  EXPECT_EQ(scan("{}\0"s).shape(), Shape::Text);
}

TEST(Envelope, ByteOrderMarkIsText) {
  // JSON.parse("\uFEFF{}") throws; nlohmann skips a UTF-8 BOM. The scanner follows JSON.parse.
  EXPECT_EQ(scan("\xEF\xBB\xBF{\"type\":\"a\"}").shape(), Shape::Text);
}

TEST(Envelope, HugeNumbersAreAcceptedLikeJsonParse) {
  // JSON.parse gives Infinity; nlohmann refuses to overflow. The scanner follows JSON.parse.
  const Scanned e = scan(R"({"n":1e400,"m":-1e99999,"type":"big"})");
  ASSERT_EQ(e.shape(), Shape::Object);
  EXPECT_EQ(e.type(), "big");
}

TEST(Envelope, OtherJsonValues) {
  for (const char* s :
       {"[]", "[1,2]", R"([{"type":"x"}])", R"("text")", "42", "-1", "0.5", "true", "false", "null", "  [1]  "}) {
    SCOPED_TRACE(s);
    const Scanned e = scan(s);
    EXPECT_EQ(e.shape(), Shape::OtherJson);
    EXPECT_FALSE(e.is_object());
    EXPECT_FALSE(e.has_type());
  }
}

TEST(Envelope, PlainTextAndEmpty) {
  for (const char* s : {"hello", "ping", "", "   ", "\t\n", "}", "]", ":", "Hello {\"type\":\"x\"}", "+1", ".5"}) {
    SCOPED_TRACE(s);
    const Scanned e = scan(s);
    EXPECT_EQ(e.shape(), Shape::Text);
    EXPECT_FALSE(e.has_type());
  }
}

TEST(Envelope, ReuseResetsFields) {
  Envelope e;
  const std::string a = R"({"type":"\u0061","channel":"c","room":"r","re":"1"})";
  e.scan(a.data(), a.size(), client_fields());
  ASSERT_EQ(e.present_fields(), 0xFu);
  const std::string b = R"({"other":1})";
  e.scan(b.data(), b.size(), client_fields());
  EXPECT_EQ(e.shape(), Shape::Object);
  EXPECT_EQ(e.present_fields(), 0u);
  EXPECT_FALSE(e.has_type());
  const std::string c = "plain";
  e.scan(c.data(), c.size());
  EXPECT_EQ(e.shape(), Shape::Text);
}

TEST(Envelope, UnescapedViewsPointIntoTheFrame) {
  const std::string frame = R"({"type":"chat"})";
  Envelope e;
  e.scan(frame.data(), frame.size());
  ASSERT_TRUE(e.has_type());
  EXPECT_GE(e.type().data(), frame.data());
  EXPECT_LE(e.type().data() + e.type().size(), frame.data() + frame.size());
}

TEST(Envelope, DeepNestingDoesNotRecurse) {
  const size_t depth = 100000;
  // A well-formed object holding a 100,000-deep array, then the type.
  std::string s = R"({"a":)" + std::string(depth, '[') + std::string(depth, ']') + R"(,"type":"deep"})";
  Scanned e = scan(s);
  ASSERT_EQ(e.shape(), Shape::Object);
  EXPECT_EQ(e.type(), "deep");

  // 100,000 nested objects.
  std::string objects;
  for (size_t i = 0; i < depth; ++i) objects += R"({"a":)";
  objects += "1";
  objects += std::string(depth, '}');
  e = scan(objects);
  EXPECT_EQ(e.shape(), Shape::Object);

  // Unterminated and mismatched at depth: Text, no crash.
  e = scan(R"({"a":)" + std::string(depth, '['));
  EXPECT_EQ(e.shape(), Shape::Text);
  e = scan(R"({"a":)" + std::string(depth, '[') + std::string(depth, '}') + "}");
  EXPECT_EQ(e.shape(), Shape::Text);
  e = scan(std::string(depth, '{'));
  EXPECT_EQ(e.shape(), Shape::Text);
  e = scan(std::string(depth, '['));
  EXPECT_EQ(e.shape(), Shape::OtherJson);  // "starts like JSON": JS's JSON.parse decides
}

// ---------------------------------------------------------------------------- generic fields

TEST(FieldSet, TypeIsSlotZeroAndSlotsAreStable) {
  FieldSet f;
  EXPECT_EQ(f.size(), 1);
  EXPECT_EQ(f.find("type"), FieldSet::kTypeSlot);
  EXPECT_EQ(f.add("type"), 0);
  EXPECT_EQ(f.add("room"), 1);
  EXPECT_EQ(f.add("user"), 2);
  EXPECT_EQ(f.add("room"), 1);  // the same slot again, nothing registered
  EXPECT_EQ(f.size(), 3);
  EXPECT_EQ(f.find("user"), 2);
  EXPECT_EQ(f.find("usr"), -1);
  EXPECT_EQ(f.find(""), -1);
  EXPECT_EQ(f.name(1), "room");
  EXPECT_EQ(f.name(3), "");
  EXPECT_EQ(f.name(-1), "");
}

TEST(FieldSet, EightSlotsThenMinusOne) {
  FieldSet f;
  for (int i = 1; i < FieldSet::kMaxFields; ++i) EXPECT_EQ(f.add("f" + std::to_string(i)), i);
  EXPECT_EQ(f.size(), FieldSet::kMaxFields);
  EXPECT_EQ(f.add("one-too-many"), -1);
  EXPECT_EQ(f.find("one-too-many"), -1);
  EXPECT_EQ(f.size(), FieldSet::kMaxFields);
  EXPECT_EQ(f.add("f7"), 7);  // registered names still answer
}

TEST(FieldSet, InvalidNamesAreRefused) {
  FieldSet f;
  EXPECT_EQ(f.add(""), -1);
  EXPECT_EQ(f.add("_mc"), -1);           // the reliability tag
  EXPECT_EQ(f.add("a\xFF"), -1);         // not UTF-8
  EXPECT_EQ(f.add("\xC3"), -1);          // truncated sequence
  EXPECT_EQ(f.add("\xED\xA0\x80"), -1);  // an encoded surrogate
  EXPECT_EQ(f.size(), 1);
  EXPECT_EQ(f.add("_mc2"), 1);                       // only the exact name is reserved
  EXPECT_EQ(f.add("\xC3\xA9t\xC3\xA9"), 2);          // "été"
  EXPECT_EQ(f.add(std::string_view("a\0b", 3)), 3);  // a NUL is a valid member-name byte
}

// Scans `frame` with `fields` registered after "type" and returns field i's value or nullopt.
std::vector<std::optional<std::string>> fields_of(std::string_view frame, const std::vector<std::string>& names) {
  FieldSet f;
  for (const std::string& n : names) EXPECT_GE(f.add(n), 0) << n;
  Envelope e;
  e.scan(frame.data(), frame.size(), f);
  std::vector<std::optional<std::string>> out;
  for (const std::string& n : names) {
    const int slot = f.find(n);
    out.push_back(e.has_field(slot) ? std::optional<std::string>(std::string(e.field(slot))) : std::nullopt);
  }
  return out;
}

using Opt = std::optional<std::string>;

TEST(Envelope, ExtractsRegisteredFieldsOnly) {
  const auto v =
      fields_of(R"({"type":"t","user":"ann","topic":"x","text":"hello","other":"no"})", {"user", "topic", "missing"});
  EXPECT_EQ(v, (std::vector<Opt>{"ann", "x", std::nullopt}));
}

TEST(Envelope, FieldValuesWithEscapesUseOneBufferPerSlot) {
  const auto v = fields_of(R"({"a":"x\"y","b":"\u00e9","c":"plain","d":"\ud83d\ude00\n"})", {"a", "b", "c", "d"});
  EXPECT_EQ(v, (std::vector<Opt>{"x\"y", "\xC3\xA9", "plain", "\xF0\x9F\x98\x80\n"}));
  // An escaped member name is matched by what it decodes to.
  EXPECT_EQ(fields_of(R"({"\u0075ser":"esc"})", {"user"}), (std::vector<Opt>{"esc"}));
}

TEST(Envelope, DuplicateMembersLastOneWinsLikeJsonParse) {
  EXPECT_EQ(fields_of(R"({"k":"first","k":"second"})", {"k"}), (std::vector<Opt>{"second"}));
  EXPECT_EQ(fields_of(R"({"k":"a\u0062","k":"c"})", {"k"}), (std::vector<Opt>{"c"}));
  EXPECT_EQ(fields_of(R"({"k":"a","k":"b\u0063"})", {"k"}), (std::vector<Opt>{"bc"}));
  EXPECT_EQ(fields_of(R"({"k":"a","k":1})", {"k"}), (std::vector<Opt>{std::nullopt}));
  EXPECT_EQ(fields_of(R"({"k":null,"k":"b"})", {"k"}), (std::vector<Opt>{"b"}));
  EXPECT_EQ(fields_of(R"({"k":"a","\u006b":{"x":1}})", {"k"}), (std::vector<Opt>{std::nullopt}));
}

TEST(Envelope, NonStringValuesAreAbsent) {
  const auto v =
      fields_of(R"({"n":1,"b":true,"z":null,"o":{"n":"x"},"a":["x"],"s":""})", {"n", "b", "z", "o", "a", "s"});
  EXPECT_EQ(v, (std::vector<Opt>{std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, ""}));
}

TEST(Envelope, NestedMembersWithTheSameNameAreIgnored) {
  EXPECT_EQ(fields_of(R"({"data":{"user":"inner","list":[{"user":"deep"}]}})", {"user"}),
            (std::vector<Opt>{std::nullopt}));
  EXPECT_EQ(fields_of(R"({"data":{"user":"inner"},"user":"outer"})", {"user"}), (std::vector<Opt>{"outer"}));
  EXPECT_EQ(fields_of(R"({"user":"outer","data":{"user":"inner"}})", {"user"}), (std::vector<Opt>{"outer"}));
}

TEST(Envelope, NamesAlikeInLengthAndFirstByteAreToldApart) {
  // "text" and "type" share length and first byte; long names differ only after byte 8; short
  // ones only in the middle byte.
  const auto v = fields_of(
      R"({"text":"T","type":"Y","abcdefgh_1":"one","abcdefgh_2":"two","aXc":"x","abc":"y","abcdefgh":"8","abcdefg":"7"})",
      {"text", "abcdefgh_2", "abc", "abcdefgh", "abcdefg"});
  EXPECT_EQ(v, (std::vector<Opt>{"T", "two", "y", "8", "7"}));
  EXPECT_EQ(fields_of(R"({"abcdefgh_1":"one","aXc":"x","abcdefgX":"no","bbcdefg":"no"})",
                      {"abcdefgh_2", "abc", "abcdefgh", "abcdefg"}),
            (std::vector<Opt>{std::nullopt, std::nullopt, std::nullopt, std::nullopt}));
  EXPECT_EQ(fields_of(R"({"a":"1","b":"2","ab":"3"})", {"a", "ab"}), (std::vector<Opt>{"1", "3"}));
}

TEST(Envelope, FieldsAndTheTagTogether) {
  FieldSet f;
  const int user = f.add("user");
  Envelope e;
  const std::string s = R"({"_mc":"p:1","user":"ann","type":"chat"})";
  e.scan(s.data(), s.size(), f);
  ASSERT_TRUE(e.is_object());
  EXPECT_TRUE(e.has_tag());
  EXPECT_EQ(e.tag(), "p:1");
  EXPECT_EQ(e.tag_members(), 1u);
  EXPECT_EQ(e.field(user), "ann");
  EXPECT_EQ(e.type(), "chat");
  EXPECT_EQ(e.present_fields(), (1u << 0) | (1u << user));
  EXPECT_FALSE(e.has_field(5));
  EXPECT_FALSE(e.has_field(-1));
  EXPECT_FALSE(e.has_field(FieldSet::kMaxFields));
  EXPECT_EQ(e.field(99), "");
  // Scanned without `f` (type only): the user is not extracted.
  e.scan(s.data(), s.size());
  EXPECT_FALSE(e.has_field(user));
  EXPECT_EQ(e.type(), "chat");
}

// ---------------------------------------------------------------------------- differential

struct Fields {
  std::optional<std::string> type, channel, room, re;
};

std::optional<std::string> string_member(const nlohmann::json& j, const char* name) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<std::string> field(bool has, std::string_view v) {
  if (!has) return std::nullopt;
  return std::string(v);
}

// ~70 inputs: objects with every kind of member, and near-misses of every kind.
const std::vector<std::string>& differential_inputs() {
  static const std::vector<std::string> inputs = {
      // objects
      "{}",
      " { } ",
      R"({"type":"chat"})",
      R"({"type":"chat","channel":"c1","room":"r1","re":"42"})",
      R"({"type":1})",
      R"({"type":null,"channel":"x"})",
      R"({"type":"a","type":"b"})",
      R"({"type":"a","type":2})",
      R"({"type":2,"type":"a"})",
      R"({"\u0074ype":"esc"})",
      R"({"type":"\u00e9t\u00e9"})",
      R"({"type":"\ud83d\ude00","room":"\uD83D\uDE00"})",
      R"({"type":"a\"b"})",
      R"({"type":"br}ack]{[ets"})",
      R"({"data":{"type":"inner"},"type":"outer"})",
      R"({"data":[{"type":"x"},[1,2,{"a":[]}]],"room":"r"})",
      R"({"s":"\\\"}","type":"t"})",
      R"({"n":-0.5e+10,"m":0,"k":1E3,"j":-0,"i":12.25E-2,"t":true,"f":false,"z":null,"type":"nums"})",
      "\t\n\r {\"type\" : \"ws\" } \n",
      R"({"type":"\/\b\f\n\r\t"})",
      "{\"type\":\"\xC3\xA9\"}",
      "{\"type\":\"\xE6\x97\xA5\xE6\x9C\xAC\",\"room\":\"\xF0\x9F\x98\x80\",\"x\":\"\xF4\x8F\xBF\xBF\"}",
      R"({"re":"id-1","type":"reply"})",
      R"({"type":""})",
      R"({"types":"no","typ":"no"})",
      R"({"type":"x","nested":{"type":"y","channel":"z"}})",
      R"({"a":[[[[[]]]]],"type":"deep"})",
      R"({"a":{},"b":[],"c":{"d":{}},"e":[{}],"f":[[],{}]})",
      R"({"type":"\u0000nul"})",
      R"({"channel":["x"],"room":{"r":1},"re":5})",
      R"({"type":"a" , "channel" : "b" })",
      R"({"\\":"backslash key","type":"\\\\"})",
      R"({"a":"\"","type":"\"\""})",
      R"({"a":[true,false,null,"x",1.5,-2,{"b":[]}],"type":"mixed"})",
      // malformed
      "{",
      R"({"type":"chat")",
      R"({"type":"chat",})",
      R"({"type":"chat"} x)",
      R"({"type":"chat"}{})",
      R"({"type" "chat"})",
      R"({type:"chat"})",
      R"({'type':'chat'})",
      R"({"a":[1,2})",
      R"({"a":{"b"}})",
      R"({"a":[1,,2]})",
      R"({"a":tru})",
      R"({"a":01})",
      R"({"a":1.})",
      R"({"a":.5})",
      R"({"a":+1})",
      R"({"a":"\x"})",
      R"({"type":"\u12"})",
      R"({"type":"\u12G4"})",
      "{\"a\":\"tab\there\"}",
      "{\"type\":\"line\nbreak\"}",
      R"({"a":[}]})",
      R"({"a":1 2})",
      R"({"a":Infinity})",
      R"({"a":NaN})",
      R"({"a":-})",
      R"({"a":1e})",
      R"({"a":1e+})",
      R"({"a":0x10})",
      "{\"a\":\"\xFF\"}",
      "{\"a\":\"\xC0\xAF\"}",
      "{\"a\":\"\xED\xA0\x80\"}",
      "{\"a\":\"\xF4\x90\x80\x80\"}",
      "{\"type\":\"\xE6\x97\"}",
      "{\"\xFE\":1}",
      R"({"a":{"b":1,}})",
      R"({"a":[1,]})",
      R"({"a":true false})",
      R"({"a":nul})",
      R"({"a":truex})",
      R"({,})",
      R"({"a"})",
      R"({"a":})",
      R"({"\q":1})",
      R"({"a":{"b":1}]})",
      R"({"a":[1]}})",
      R"({"a":"b"]})",
      R"({"a":{"b":[1,{"c":2]}})",
      R"({"a":[{]}})",  // balanced count, mismatched kinds
      R"({"a":{[}]},"type":"t"})",
      R"({"type":"x"/*c*/})",
      // other JSON and text
      "[1,2]",
      R"("str")",
      "42",
      "-1",
      "true",
      "null",
      R"([{"type":"x"}])",
      "[1,",
      "hello",
      "",
      "   ",
      "ping",
  };
  return inputs;
}

TEST(EnvelopeDifferential, AgreesWithNlohmann) {
  size_t objects = 0, rejected_objects = 0, other = 0;
  for (const std::string& in : differential_inputs()) {
    SCOPED_TRACE("input: " + in);
    const nlohmann::json j = nlohmann::json::parse(in.begin(), in.end(), nullptr, /*allow_exceptions=*/false);
    const Scanned e = scan(in);
    if (!j.is_discarded() && j.is_object()) {
      ++objects;
      ASSERT_EQ(e.shape(), Shape::Object) << "nlohmann parses an object; the scanner says " << shape_name(e.shape());
      EXPECT_EQ(field(e.has_type(), e.type()), string_member(j, "type"));
      EXPECT_EQ(field(e.has_channel(), e.channel()), string_member(j, "channel"));
      EXPECT_EQ(field(e.has_room(), e.room()), string_member(j, "room"));
      EXPECT_EQ(field(e.has_reply_to(), e.reply_to()), string_member(j, "re"));
      // Any registered name, not just the clients' four.
      FieldSet f;
      const char* const names[] = {"a", "s", "data", "\\", "n", "types", "x"};
      for (const char* n : names) f.add(n);
      Envelope g;
      g.scan(in.data(), in.size(), f);
      for (const char* n : names) {
        const int slot = f.find(n);
        EXPECT_EQ(field(g.has_field(slot), g.field(slot)), string_member(j, n)) << n;
      }
    } else if (!j.is_discarded()) {
      ++other;
      EXPECT_EQ(e.shape(), Shape::OtherJson) << "nlohmann parses a " << j.type_name();
    } else {
      if (!in.empty() && in.find('{') != std::string::npos && in.find_first_not_of(" \t\r\n") == in.find('{')) {
        ++rejected_objects;
      }
      EXPECT_NE(e.shape(), Shape::Object) << "the scanner calls an object what nlohmann rejects";
      EXPECT_FALSE(e.has_type() || e.has_channel() || e.has_room() || e.has_reply_to());
    }
    // Whenever the scanner says Object, nlohmann must parse an object.
    if (e.shape() == Shape::Object) {
      EXPECT_FALSE(j.is_discarded());
      EXPECT_TRUE(j.is_object());
    }
  }
  // The table really exercises both sides.
  EXPECT_GE(objects, 30u);
  EXPECT_GE(rejected_objects, 40u);
  EXPECT_GE(other, 6u);
}

// ---------------------------------------------------------------------------- json_unescape

std::optional<std::string> unescape(std::string_view body) {
  std::string out = "garbage";
  if (!mc::json_unescape(body, out)) return std::nullopt;
  return out;
}

TEST(JsonUnescape, PlainTextIsCopied) {
  EXPECT_EQ(unescape("abc"), "abc");
  EXPECT_EQ(unescape(""), "");  // and the output is cleared first
  EXPECT_EQ(unescape("\xC3\xA9"), "\xC3\xA9");
}

TEST(JsonUnescape, SimpleEscapes) {
  EXPECT_EQ(unescape(R"(\"\\\/\b\f\n\r\t)"), "\"\\/\b\f\n\r\t");
  EXPECT_EQ(unescape(R"(a\nb)"), "a\nb");
}

TEST(JsonUnescape, UnicodeEscapes) {
  EXPECT_EQ(unescape(R"(\u0041)"), "A");
  EXPECT_EQ(unescape(R"(\u00e9\u00E9)"), "\xC3\xA9\xC3\xA9");
  EXPECT_EQ(unescape(R"(\u07FF)"), "\xDF\xBF");
  EXPECT_EQ(unescape(R"(\u0800)"), "\xE0\xA0\x80");
  EXPECT_EQ(unescape(R"(\u20ac)"), "\xE2\x82\xAC");
  EXPECT_EQ(unescape(R"(\uFFFF)"), "\xEF\xBF\xBF");
  EXPECT_EQ(unescape(R"(\u0000)"), std::string(1, '\0'));
}

TEST(JsonUnescape, SurrogatePairs) {
  EXPECT_EQ(unescape(R"(\ud83d\ude00)"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(unescape(R"(\uD800\uDC00)"), "\xF0\x90\x80\x80");  // U+10000
  EXPECT_EQ(unescape(R"(\uDBFF\uDFFF)"), "\xF4\x8F\xBF\xBF");  // U+10FFFF
  EXPECT_EQ(unescape(R"(x\ud83d\ude00y)"), "x\xF0\x9F\x98\x80y");
}

TEST(JsonUnescape, LoneSurrogatesBecomeReplacementCharacter) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(unescape(R"(\ud800)"), fffd);
  EXPECT_EQ(unescape(R"(\udc00)"), fffd);
  EXPECT_EQ(unescape(R"(\ud800x)"), fffd + "x");
  EXPECT_EQ(unescape(R"(\ud800\u0041)"), fffd + "A");  // not a low surrogate: kept apart
  EXPECT_EQ(unescape(R"(\ud800\ud800\udc00)"), fffd + "\xF0\x90\x80\x80");
  EXPECT_EQ(unescape(R"(\udc00\ud800)"), fffd + fffd);
  EXPECT_EQ(unescape(R"(\ud800\n)"), fffd + "\n");
}

TEST(JsonUnescape, InvalidEscapes) {
  EXPECT_EQ(unescape(R"(\x)"), std::nullopt);
  EXPECT_EQ(unescape(R"(\)"), std::nullopt);
  EXPECT_EQ(unescape(R"(abc\)"), std::nullopt);
  EXPECT_EQ(unescape(R"(\u12)"), std::nullopt);
  EXPECT_EQ(unescape(R"(\u12G4)"), std::nullopt);
  EXPECT_EQ(unescape(R"(\U0041)"), std::nullopt);
  EXPECT_EQ(unescape(R"(\')"), std::nullopt);
  // A bad escape where a low surrogate could have been: the whole string is invalid.
  EXPECT_EQ(unescape(R"(\ud800\uZZZZ)"), std::nullopt);
}

}  // namespace
