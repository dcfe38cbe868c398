// Router: field slots, interest counts and route bits.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "metachannel/envelope.h"
#include "metachannel/router.h"

namespace {

using mc::FieldSet;
using mc::Router;
namespace route = mc::route;

uint32_t route_of(const Router& r, std::string_view frame) {
  mc::Envelope e;
  e.scan(frame.data(), frame.size(), r.fields());
  return r.route_text(e);
}

constexpr uint32_t kObj = route::kObject | route::kParseJson;
constexpr const char* kFull = R"({"type":"chat","channel":"prices","room":"lobby","re":"7"})";

TEST(RouteBits, LayoutHasNoOverlapsAndFitsAnInt) {
  const uint32_t flags = route::kParseJson | route::kObject | route::kBinary | route::kSequenced | route::kLate;
  const uint32_t who = route::kMessage | route::kAnyObject;
  EXPECT_EQ(flags & who, 0u);
  EXPECT_EQ(route::kFieldMask & (flags | who), 0u);
  EXPECT_EQ(route::kDeliverMask & flags, 0u);
  EXPECT_EQ(route::kDeliverMask & (who | route::kFieldMask), who | route::kFieldMask);
  for (int s = 0; s < FieldSet::kMaxFields; ++s) EXPECT_NE(route::field(s) & route::kFieldMask, 0u);
  EXPECT_LE(route::kFieldMask, 0x7FFFFFFFu);
  // The values JS reads (js/vocabulary.ts is generated from the same list).
  EXPECT_EQ(route::kMessage, 1u);
  EXPECT_EQ(route::kAnyObject, 4u);
  EXPECT_EQ(route::kParseJson, 256u);
  EXPECT_EQ(route::kObject, 512u);
  EXPECT_EQ(route::kSequenced, 2048u);
  EXPECT_EQ(route::kLate, 4096u);
}

TEST(Router, NobodyInterestedRoutesToZero) {
  Router r;
  EXPECT_EQ(route_of(r, kFull), 0u);
  EXPECT_EQ(route_of(r, "plain text"), 0u);
  EXPECT_EQ(route_of(r, "[1,2]"), 0u);
  EXPECT_EQ(route_of(r, ""), 0u);
  EXPECT_EQ(r.route_binary(), 0u);
}

TEST(Router, MessageInterestGetsEverythingWithShapeBits) {
  Router r;
  r.add_message(+1);
  EXPECT_EQ(r.message_count(), 1);
  EXPECT_EQ(route_of(r, kFull), route::kMessage | kObj);
  EXPECT_EQ(route_of(r, "[1,2]"), route::kMessage | route::kParseJson);
  EXPECT_EQ(route_of(r, "42"), route::kMessage | route::kParseJson);
  EXPECT_EQ(route_of(r, "plain text"), route::kMessage);
  EXPECT_EQ(route_of(r, R"({"broken":)"), route::kMessage);  // malformed: text, no parse bit
  EXPECT_EQ(r.route_binary(), route::kMessage | route::kBinary);
}

TEST(Router, AnyObjectInterest) {
  Router r;
  r.add_any_object(+1);
  EXPECT_EQ(r.any_object_count(), 1);
  EXPECT_EQ(route_of(r, R"({"x":1})"), route::kAnyObject | kObj);
  EXPECT_EQ(route_of(r, "{}"), route::kAnyObject | kObj);
  EXPECT_EQ(route_of(r, "[{}]"), 0u);
  EXPECT_EQ(route_of(r, "text"), 0u);
  EXPECT_EQ(r.route_binary(), 0u);
}

TEST(Router, FieldSlotsAreRegisteredOnFirstUseAndStable) {
  Router r;
  EXPECT_EQ(r.field_slot("type"), FieldSet::kTypeSlot);
  const int user = r.field_slot("user");
  EXPECT_EQ(user, 1);
  EXPECT_EQ(r.field_slot("topic"), 2);
  EXPECT_EQ(r.field_slot("user"), user);
  r.add(user, "ann", +1);
  r.add(user, "ann", -1);
  r.clear();
  EXPECT_EQ(r.field_slot("user"), user);  // neither interest at 0 nor clear() frees a slot
  EXPECT_EQ(r.fields().name(user), "user");
}

TEST(Router, EightSlotsThenMinusOneAndNothingRegistered) {
  Router r;
  for (int i = 1; i < FieldSet::kMaxFields; ++i) EXPECT_EQ(r.field_slot("f" + std::to_string(i)), i);
  EXPECT_EQ(r.field_slot("f8"), -1);
  EXPECT_EQ(r.fields().size(), FieldSet::kMaxFields);
  EXPECT_EQ(r.field_slot(""), -1);
  EXPECT_EQ(r.field_slot("_mc"), -1);
  // Interest on a slot that was refused (or never given) is ignored, not a crash.
  r.add(-1, "x", +1);
  r.add(FieldSet::kMaxFields, "x", +1);
  r.add(99, "x", +1);
  EXPECT_EQ(r.count(-1, "x"), 0);
  EXPECT_EQ(route_of(r, R"({"f8":"x"})"), 0u);
  // The registered ones all route.
  r.add(7, "v", +1);
  EXPECT_EQ(route_of(r, R"({"f7":"v","f8":"v"})"), route::field(7) | kObj);
}

TEST(Router, UnregisteredSlotBelowTheLimitIsIgnored) {
  Router r;  // only "type" (slot 0) is registered
  r.add(3, "x", +1);
  EXPECT_EQ(r.count(3, "x"), 0);
  EXPECT_EQ(r.field_slot("later"), 1);
  EXPECT_EQ(route_of(r, R"({"later":"x"})"), 0u);
}

TEST(Router, FieldInterestMatchesOnlyThatFieldAndValue) {
  Router r;
  const int user = r.field_slot("user");
  const int topic = r.field_slot("topic");
  r.add(user, "ann", +1);
  EXPECT_EQ(r.count(user, "ann"), 1);
  EXPECT_EQ(r.count(topic, "ann"), 0);
  EXPECT_EQ(route_of(r, R"({"user":"ann"})"), route::field(user) | kObj);
  EXPECT_EQ(route_of(r, R"({"topic":"ann"})"), 0u);  // values are per field
  EXPECT_EQ(route_of(r, R"({"user":"anne"})"), 0u);
  EXPECT_EQ(route_of(r, R"({"user":"an"})"), 0u);
  EXPECT_EQ(route_of(r, R"({"user":["ann"]})"), 0u);
  EXPECT_EQ(route_of(r, R"({"user":null})"), 0u);
  EXPECT_EQ(route_of(r, R"({"data":{"user":"ann"}})"), 0u);  // nested: not a top-level member
  EXPECT_EQ(route_of(r, R"([{"user":"ann"}])"), 0u);
  EXPECT_EQ(route_of(r, R"({"\u0075ser":"\u0061nn"})"), route::field(user) | kObj);
  r.add(topic, "news", +1);
  EXPECT_EQ(route_of(r, R"({"topic":"news","user":"ann"})"), route::field(user) | route::field(topic) | kObj);
  // Duplicates: the last one decides, as JSON.parse.
  EXPECT_EQ(route_of(r, R"({"user":"bob","user":"ann"})"), route::field(user) | kObj);
  EXPECT_EQ(route_of(r, R"({"user":"ann","user":"bob"})"), 0u);
  EXPECT_EQ(route_of(r, R"({"user":"ann","user":1})"), 0u);
  EXPECT_EQ(r.route_binary(), 0u);  // binary frames only go to "message" listeners
}

TEST(Router, TypeIsJustTheFieldAtSlotZero) {
  Router r;
  r.add(FieldSet::kTypeSlot, "chat", +1);
  EXPECT_EQ(route_of(r, R"({"type":"chat"})"), route::field(0) | kObj);
  EXPECT_EQ(route_of(r, R"({"type":"chat2"})"), 0u);
  EXPECT_EQ(route_of(r, R"({"kind":"chat"})"), 0u);
}

TEST(Router, FieldsOfNonObjectsNeverRoute) {
  Router r;
  r.add(r.field_slot("type"), "chat", +1);
  r.add(r.field_slot("user"), "c", +1);
  // A malformed object does not route on the fields it started with.
  EXPECT_EQ(route_of(r, R"({"type":"chat","user":"c",)"), 0u);
  EXPECT_EQ(route_of(r, R"({"type":"chat"} trailing)"), 0u);
}

TEST(Router, CountsGoingToZeroRemoveInterest) {
  Router r;
  const int user = r.field_slot("user");
  r.add(user, "ann", +1);
  r.add(user, "ann", +1);
  EXPECT_EQ(r.count(user, "ann"), 2);
  r.add(user, "ann", -1);
  EXPECT_EQ(r.count(user, "ann"), 1);
  EXPECT_NE(route_of(r, R"({"user":"ann"})"), 0u);
  r.add(user, "ann", -1);
  EXPECT_EQ(r.count(user, "ann"), 0);
  EXPECT_EQ(route_of(r, R"({"user":"ann"})"), 0u);
  // Going below zero does not bank negative interest.
  r.add(user, "ann", -1);
  r.add(user, "ann", +1);
  EXPECT_EQ(r.count(user, "ann"), 1);
  EXPECT_NE(route_of(r, R"({"user":"ann"})"), 0u);
  // Another value of the same field keeps the field wanted when one value goes.
  r.add(user, "bob", +1);
  r.add(user, "ann", -1);
  EXPECT_EQ(route_of(r, R"({"user":"ann"})"), 0u);
  EXPECT_EQ(route_of(r, R"({"user":"bob"})"), route::field(user) | kObj);
  r.add(user, "bob", -1);
  EXPECT_EQ(route_of(r, R"({"user":"bob"})"), 0u);

  r.add_message(+1);
  r.add_message(-1);
  EXPECT_EQ(r.message_count(), 0);
  EXPECT_EQ(r.route_binary(), 0u);
  r.add_message(-1);
  EXPECT_EQ(r.message_count(), 0);
  r.add_message(+1);
  EXPECT_EQ(r.message_count(), 1);

  r.add_any_object(+1);
  r.add_any_object(-2);
  EXPECT_EQ(r.any_object_count(), 0);
  EXPECT_EQ(route_of(r, R"({"user":"x"})"), route::kMessage | kObj);
}

TEST(Router, ClearDropsAllInterestButKeepsSlots) {
  Router r;
  const int user = r.field_slot("user");
  r.add_message(+1);
  r.add_any_object(+1);
  r.add(0, "chat", +1);
  r.add(user, "ann", +1);
  r.clear();
  EXPECT_EQ(route_of(r, R"({"type":"chat","user":"ann"})"), 0u);
  EXPECT_EQ(r.route_binary(), 0u);
  EXPECT_EQ(r.count(0, "chat"), 0);
  EXPECT_EQ(r.count(user, "ann"), 0);
  EXPECT_EQ(r.fields().find("user"), user);
  r.add(user, "ann", +1);
  EXPECT_EQ(route_of(r, R"({"user":"ann"})"), route::field(user) | kObj);
}

TEST(Router, ValuesWithEscapesAndNonAscii) {
  Router r;
  const int k = r.field_slot("k");
  r.add(k, "\xC3\xA9t\xC3\xA9", +1);  // "été"
  EXPECT_NE(route_of(r, R"({"k":"\u00e9t\u00e9"})") & route::field(k), 0u);
  EXPECT_NE(route_of(r, "{\"k\":\"\xC3\xA9t\xC3\xA9\"}") & route::field(k), 0u);
  r.add(k, std::string_view("a\0b", 3), +1);
  EXPECT_NE(route_of(r, R"({"k":"a\u0000b"})") & route::field(k), 0u);
  r.add(k, "q\"\\", +1);
  EXPECT_NE(route_of(r, R"({"k":"q\"\\"})") & route::field(k), 0u);
  EXPECT_EQ(route_of(r, R"({"k":"a"})"), 0u);
}

}  // namespace
