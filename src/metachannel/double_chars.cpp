// The shortest text of a double, native builds' mc_double_chars (src/metachannel/json_text.h):
// nlohmann's Grisu2 and its format, as nlohmann's dump writes a number_float. The wasm build
// links its own instead (bindings/libc_wraps.cpp: JavaScript's Number-to-String), so this file is
// not in it (CMakeLists.txt).
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>

#include "metachannel/json_text.h"

namespace mc {

namespace json_text_detail {

// nlohmann's get_cached_power_for_binary_exponent(e): the same choice of k (a multiple of 8
// from -300), and c = 10^k as f * 2^e with f in [2^63, 2^64) rounded to nearest, which is what
// every entry of its table holds (tests/native/json_text_test.cpp compares all of them). 10^k
// is reached from 10^4 by steps of * or / 10^8 on a 192-bit mantissa: each step truncates
// below 2^-160 of the value, far below the rounding to 64 bits.
nlohmann::detail::dtoa_impl::cached_power cached_power(int e) {
  const int f = nlohmann::detail::dtoa_impl::kAlpha - e - 1;
  const int k = -300 + 8 * ((300 + (f * 78913) / (1 << 18) + static_cast<int>(f > 0) + 7) / 8);
  constexpr int kLimbs = 6;
  constexpr uint32_t kStep = 100000000;  // 10^8
  // The table's k are 4 mod 8: start at 10^4 = 0x9C40 * 2^-2 (most significant limb first).
  std::uint32_t m[kLimbs] = {0x9C400000u};  // value = m * 2^x
  int x = -18 - 32 * (kLimbs - 1);
  for (int j = 4; j != k; j += k > 4 ? 8 : -8) {
    std::uint64_t carry = 0;
    if (k > 4) {
      for (int i = kLimbs; i-- > 0;) {
        const std::uint64_t t = std::uint64_t{m[i]} * kStep + carry;
        m[i] = static_cast<std::uint32_t>(t);
        carry = t >> 32;
      }
      for (int i = kLimbs; --i > 0;) m[i] = m[i - 1];
      m[0] = static_cast<std::uint32_t>(carry);  // nonzero: m >= 2^191
      x += 32;
    } else {
      for (int i = 0; i < kLimbs; ++i) {
        const std::uint64_t t = carry << 32 | m[i];
        m[i] = static_cast<std::uint32_t>(t / kStep);
        carry = t % kStep;
      }
      // m[0] was >= 2^31 > 10^8: still nonzero
    }
    const int s = __builtin_clz(m[0]);
    if (s != 0) {
      for (int i = 0; i < kLimbs - 1; ++i) m[i] = m[i] << s | m[i + 1] >> (32 - s);
      m[kLimbs - 1] <<= s;
      x -= s;
    }
  }
  std::uint64_t c = (std::uint64_t{m[0]} << 32 | m[1]) + (m[2] >> 31);
  x += 32 * (kLimbs - 2);
  if (c == 0) {  // rounded up to 2^64
    c = std::uint64_t{1} << 63;
    ++x;
  }
  return {c, x, k};
}

}  // namespace json_text_detail

namespace dtoa = nlohmann::detail::dtoa_impl;

// nlohmann::detail::to_chars for a double (its Grisu2 and its format, called piece by piece),
// with the cached power of ten computed instead of read from its table of 79 (1.3 KB of wasm
// data that gzip barely shrinks).
extern "C" char* mc_double_chars(char* first, double value) {
  if (std::signbit(value)) {
    value = -value;
    *first++ = '-';
  }
  if (value == 0) {
    *first++ = '0';
    *first++ = '.';
    *first++ = '0';
    return first;
  }
  const dtoa::boundaries w = dtoa::compute_boundaries(value);
  const dtoa::cached_power cached = json_text_detail::cached_power(w.plus.e);
  const dtoa::diyfp c(cached.f, cached.e);
  const dtoa::diyfp v = dtoa::diyfp::mul(w.w, c);
  const dtoa::diyfp lo = dtoa::diyfp::mul(w.minus, c);
  const dtoa::diyfp hi = dtoa::diyfp::mul(w.plus, c);
  int len = 0;
  int decimal_exponent = -cached.k;
  dtoa::grisu2_digit_gen(first, len, decimal_exponent, dtoa::diyfp(lo.f + 1, lo.e), v, dtoa::diyfp(hi.f - 1, hi.e));
  return dtoa::format_buffer(first, len, decimal_exponent, -4, std::numeric_limits<double>::digits10);
}

}  // namespace mc
