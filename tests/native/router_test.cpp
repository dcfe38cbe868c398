// Router: interest counts and route bits.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "metachannel/envelope.h"
#include "metachannel/router.h"

namespace {

using mc::Interest;
using mc::Router;
namespace route = mc::route;

uint32_t route_of(const Router& r, std::string_view frame) {
  mc::Envelope e;
  e.scan(frame.data(), frame.size());
  return r.route_text(e);
}

constexpr const char* kFull = R"({"type":"chat","channel":"prices","room":"lobby","re":"7"})";

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
  r.add(Interest::Message, {}, +1);
  EXPECT_EQ(r.count(Interest::Message), 1);
  EXPECT_EQ(route_of(r, kFull), route::kMessage | route::kObject | route::kParseJson);
  EXPECT_EQ(route_of(r, "[1,2]"), route::kMessage | route::kParseJson);
  EXPECT_EQ(route_of(r, "42"), route::kMessage | route::kParseJson);
  EXPECT_EQ(route_of(r, "plain text"), route::kMessage);
  EXPECT_EQ(route_of(r, R"({"broken":)"), route::kMessage);  // malformed: text, no parse bit
  EXPECT_EQ(r.route_binary(), route::kMessage | route::kBinary);
}

TEST(Router, TypeInterestMatchesOnlyThatType) {
  Router r;
  r.add(Interest::Type, "chat", +1);
  EXPECT_EQ(r.count(Interest::Type, "chat"), 1);
  EXPECT_EQ(r.count(Interest::Type, "other"), 0);
  EXPECT_EQ(route_of(r, R"({"type":"chat"})"), route::kType | route::kObject | route::kParseJson);
  EXPECT_EQ(route_of(r, R"({"type":"chat2"})"), 0u);
  EXPECT_EQ(route_of(r, R"({"type":"cha"})"), 0u);
  EXPECT_EQ(route_of(r, R"({"kind":"chat"})"), 0u);
  EXPECT_EQ(route_of(r, R"({"type":["chat"]})"), 0u);
  EXPECT_EQ(route_of(r, R"(["chat"])"), 0u);
  EXPECT_EQ(route_of(r, "chat"), 0u);
  EXPECT_EQ(route_of(r, R"({"type":"\u0063hat"})"), route::kType | route::kObject | route::kParseJson);
  EXPECT_EQ(r.route_binary(), 0u);  // binary frames only go to "message" listeners
}

TEST(Router, AnyObjectInterest) {
  Router r;
  r.add(Interest::AnyObject, {}, +1);
  EXPECT_EQ(route_of(r, R"({"x":1})"), route::kAnyObject | route::kObject | route::kParseJson);
  EXPECT_EQ(route_of(r, "{}"), route::kAnyObject | route::kObject | route::kParseJson);
  EXPECT_EQ(route_of(r, "[{}]"), 0u);
  EXPECT_EQ(route_of(r, "text"), 0u);
  EXPECT_EQ(r.route_binary(), 0u);
}

TEST(Router, ChannelRoomAndReplyInterest) {
  Router r;
  r.add(Interest::Channel, "prices", +1);
  EXPECT_EQ(route_of(r, kFull), route::kSubscription | route::kObject | route::kParseJson);
  r.add(Interest::Room, "lobby", +1);
  EXPECT_EQ(route_of(r, kFull), route::kSubscription | route::kRoom | route::kObject | route::kParseJson);
  r.add(Interest::Reply, "7", +1);
  EXPECT_EQ(route_of(r, kFull),
            route::kSubscription | route::kRoom | route::kReply | route::kObject | route::kParseJson);
  r.add(Interest::Type, "chat", +1);
  r.add(Interest::Message, {}, +1);
  r.add(Interest::AnyObject, {}, +1);
  EXPECT_EQ(route_of(r, kFull), route::kMessage | route::kType | route::kAnyObject | route::kSubscription |
                                    route::kRoom | route::kReply | route::kObject | route::kParseJson);
  // Keys are per kind: a room named "prices" is not the channel "prices".
  Router k;
  k.add(Interest::Room, "prices", +1);
  EXPECT_EQ(route_of(k, R"({"channel":"prices"})"), 0u);
  EXPECT_EQ(route_of(k, R"({"room":"prices"})"), route::kRoom | route::kObject | route::kParseJson);
  Router re;
  re.add(Interest::Reply, "7", +1);
  EXPECT_EQ(route_of(re, R"({"re":"7"})"), route::kReply | route::kObject | route::kParseJson);
  EXPECT_EQ(route_of(re, R"({"re":7})"), 0u);
  EXPECT_EQ(route_of(re, R"({"id":"7"})"), 0u);
}

TEST(Router, FieldsOfNonObjectsNeverRoute) {
  Router r;
  r.add(Interest::Type, "chat", +1);
  r.add(Interest::Channel, "c", +1);
  // A malformed object does not route on the fields it started with.
  EXPECT_EQ(route_of(r, R"({"type":"chat","channel":"c",)"), 0u);
  EXPECT_EQ(route_of(r, R"({"type":"chat"} trailing)"), 0u);
}

TEST(Router, CountsGoingToZeroRemoveInterest) {
  Router r;
  r.add(Interest::Type, "chat", +1);
  r.add(Interest::Type, "chat", +1);
  EXPECT_EQ(r.count(Interest::Type, "chat"), 2);
  r.add(Interest::Type, "chat", -1);
  EXPECT_EQ(r.count(Interest::Type, "chat"), 1);
  EXPECT_NE(route_of(r, R"({"type":"chat"})"), 0u);
  r.add(Interest::Type, "chat", -1);
  EXPECT_EQ(r.count(Interest::Type, "chat"), 0);
  EXPECT_EQ(route_of(r, R"({"type":"chat"})"), 0u);
  // Going below zero does not bank negative interest.
  r.add(Interest::Type, "chat", -1);
  r.add(Interest::Type, "chat", +1);
  EXPECT_EQ(r.count(Interest::Type, "chat"), 1);
  EXPECT_NE(route_of(r, R"({"type":"chat"})"), 0u);

  r.add(Interest::Message, {}, +1);
  r.add(Interest::Message, {}, -1);
  EXPECT_EQ(r.count(Interest::Message), 0);
  EXPECT_EQ(r.route_binary(), 0u);
  r.add(Interest::Message, {}, -1);
  EXPECT_EQ(r.count(Interest::Message), 0);
  r.add(Interest::Message, {}, +1);
  EXPECT_EQ(r.count(Interest::Message), 1);

  r.add(Interest::AnyObject, {}, +1);
  r.add(Interest::AnyObject, {}, -2);
  EXPECT_EQ(r.count(Interest::AnyObject), 0);

  for (Interest k : {Interest::Channel, Interest::Room, Interest::Reply}) {
    r.add(k, "x", +1);
    r.add(k, "x", -1);
    EXPECT_EQ(r.count(k, "x"), 0);
  }
  EXPECT_EQ(route_of(r, R"({"channel":"x","room":"x","re":"x"})"), route::kMessage | route::kObject | route::kParseJson);
}

TEST(Router, ClearDropsAllInterest) {
  Router r;
  r.add(Interest::Message, {}, +1);
  r.add(Interest::AnyObject, {}, +1);
  r.add(Interest::Type, "chat", +1);
  r.add(Interest::Room, "lobby", +1);
  r.clear();
  EXPECT_EQ(route_of(r, kFull), 0u);
  EXPECT_EQ(r.route_binary(), 0u);
  EXPECT_EQ(r.count(Interest::Type, "chat"), 0);
}

TEST(Router, KeysWithEscapesAndNonAscii) {
  Router r;
  r.add(Interest::Type, "\xC3\xA9t\xC3\xA9", +1);  // "été"
  EXPECT_NE(route_of(r, R"({"type":"\u00e9t\u00e9"})") & route::kType, 0u);
  EXPECT_NE(route_of(r, "{\"type\":\"\xC3\xA9t\xC3\xA9\"}") & route::kType, 0u);
  r.add(Interest::Type, std::string_view("a\0b", 3), +1);
  EXPECT_NE(route_of(r, R"({"type":"a\u0000b"})") & route::kType, 0u);
  EXPECT_EQ(route_of(r, R"({"type":"a"})"), 0u);
}

}  // namespace
