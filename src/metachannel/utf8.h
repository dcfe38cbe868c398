#pragma once
// Well-formed UTF-8 (RFC 3629: no overlong forms, no encoded surrogates, nothing above
// U+10FFFF), one definition for the envelope scanner (envelope.cpp: a frame's strings are
// checked as JSON.parse would) and the control-message writer (json_text.cpp: each malformed
// sequence becomes U+FFFD, as nlohmann's dump with error_handler_t::replace writes it).

#include <cstddef>

namespace mc {

/** The length (1-4) of the well-formed UTF-8 sequence that starts at `p` (`p < end`), or 0 when
 *  it is malformed; then `*consumed` (when given) is how many bytes the malformed sequence spans
 *  before the byte that broke it (at least 1: its maximal valid prefix). */
inline size_t utf8_sequence(const char* p, const char* end, size_t* consumed = nullptr) {
  const auto b = [p](size_t k) { return static_cast<unsigned char>(p[k]); };
  const size_t avail = static_cast<size_t>(end - p);
  const unsigned char b0 = b(0);
  if (b0 < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    if (consumed) *consumed = 1;
    return 0;
  }
  for (size_t k = 1; k < n; ++k) {
    if (k >= avail || b(k) < (k == 1 ? lo : 0x80) || b(k) > (k == 1 ? hi : 0xBF)) {
      if (consumed) *consumed = k;
      return 0;
    }
  }
  return n;
}

}  // namespace mc
