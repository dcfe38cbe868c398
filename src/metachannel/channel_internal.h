// Helpers channel.cpp and channel_receive.cpp share (internal: not included elsewhere).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>

#include "metachannel/decimal.h"

namespace mc {
// Not an anonymous namespace: inline functions with external linkage are one copy in the link.
namespace channel_detail {

// Whole numbers for messages (see decimal.h).
inline std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (v < 0) return "-" + number(-v);
  if (!(v < 1e18)) return v == std::numeric_limits<double>::infinity() ? "Infinity" : "1e18+";
  return decimal(static_cast<uint64_t>(v));
}

// A message from its parts, made in one string: a chain of operator+ makes and frees a
// temporary per part (defined in channel.cpp).
std::string cat(std::initializer_list<std::string_view> parts);

inline bool equals(const char* data, size_t size, const std::string& s) {
  return !s.empty() && size == s.size() && std::equal(s.begin(), s.end(), data);
}

}  // namespace channel_detail
}  // namespace mc
