// append_message (channel_internal.h): the one formatter of the channel's error messages.
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "metachannel/channel_internal.h"

using mc::channel_detail::append_message;

namespace {
std::string format(const char* text, std::initializer_list<mc::channel_detail::MessageArg> args) {
  std::string s = "> ";
  append_message(s, text, args);
  return s;
}
}  // namespace

TEST(MessageTest, HolesTakeTheArgumentsInOrderAfterWhatTheStringHeld) {
  const std::string url = "wss://example.test/ch";
  EXPECT_EQ(format("could not connect to {} after {} attempts", {url, 3.0}),
            "> could not connect to wss://example.test/ch after 3 attempts");
  EXPECT_EQ(format("{}{}", {std::string_view("a"), std::string_view("b")}), "> ab");
  EXPECT_EQ(format("no holes", {}), "> no holes");
}

TEST(MessageTest, NumbersAreWholeAndSpelledOutAtTheEdges) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(format("{} {} {} {} {} {}", {0.0, 7.9, -42.0, std::numeric_limits<double>::quiet_NaN(), inf, 1e18}),
            "> 0 7 -42 NaN Infinity 1e18+");
  EXPECT_EQ(format("{}", {-inf}), "> -Infinity");
  EXPECT_EQ(format("{}", {999999999999999872.0}), "> 999999999999999872");
}

TEST(MessageTest, MoreHolesThanArgumentsShowTheRestAsWritten) {
  EXPECT_EQ(format("a {} b {} c", {1.0}), "> a 1 b {} c");
  EXPECT_EQ(format("{}", {}), "> {}");
  // A lone brace is text.
  EXPECT_EQ(format("{ {} }", {2.0}), "> { 2 }");
}
