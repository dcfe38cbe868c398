// Whole numbers as text for messages and the wire. Not std::to_string: it pulls printf into
// the wasm (~2.5 KB).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace mc {

inline std::string decimal(uint64_t v) {
  char digits[24];
  size_t i = sizeof(digits);
  do {
    digits[--i] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  return std::string(digits + i, sizeof(digits) - i);
}

}  // namespace mc
