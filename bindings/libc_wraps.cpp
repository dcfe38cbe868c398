// The libc calls nlohmann/json makes, linked without musl's general code for them.
//
// The wasm link wraps them (-Wl,--wrap=snprintf -Wl,--wrap=strtod and, for the full core,
// -Wl,--wrap=strtoull -Wl,--wrap=strtoll: CMakeLists.txt): every call
// in the module goes to the __wrap_ function here. nlohmann/json (the full core's control
// messages) is their only caller.
//
// - snprintf: nlohmann formats "\\u%04x" and "\\u%04x\\u%04x" (its serializer) and "<U+%.4X>"
//   (its lexer's error text). musl's printf (printf_core, pop_arg, the padding and the
//   floating-point formatter) was 4.3 KB of the full core; this one knows literal text, %%,
//   and the integer conversions d, u, x, X with the flag 0, a width, a precision and the
//   length modifiers h and hh. Anything else traps (__builtin_trap): never a wrong character.
// - strtod: nlohmann converts a number with a fraction or an exponent as it reads it. musl's
//   strtod (floatscan with its 128-bit long double arithmetic: __multf3, __divtf3, fmodl, ...)
//   was 8.1 KB. The lexer hands it a token it has already checked against JSON's number
//   grammar; here the longest prefix of that form is found and converted by JavaScript's
//   Number(), which rounds correctly, as strtod must (mc_number, bindings/library.js).
//   Out of range: ±HUGE_VAL or 0 and errno ERANGE, as strtod. "inf", "nan" and hexadecimal
//   input, which strtod accepts and JSON does not, trap.
#include <emscripten/emscripten.h>

#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdint>

// bindings/library.js: n > 0, the number the n bytes at p spell (Number()); n = 0, x's text
// (String(x)) written at p, and its length. One import for both ways: the plain core, which
// converts no number, keeps it by mc_number_text below (one glue, the same imports).
extern "C" double mc_number(double x, char* p, int n);

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

/** Appends c at index `len` when it fits in n - 1 bytes; counts it anyway (snprintf's return). */
void put(char* s, size_t n, size_t& len, char c) {
  if (n && len < n - 1) s[len] = c;
  ++len;
}

}  // namespace

extern "C" {

int __wrap_snprintf(char* s, size_t n, const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  size_t len = 0;
  for (const char* f = format; *f; ++f) {
    if (*f != '%') {
      put(s, n, len, *f);
      continue;
    }
    ++f;
    if (*f == '%') {
      put(s, n, len, '%');
      continue;
    }
    bool zero = false;
    if (*f == '0') {
      zero = true;
      ++f;
    }
    int width = 0;
    while (is_digit(*f)) width = width * 10 + (*f++ - '0');
    int precision = -1;
    if (*f == '.') {
      ++f;
      precision = 0;
      while (is_digit(*f)) precision = precision * 10 + (*f++ - '0');
    }
    int bits = 32;
    if (f[0] == 'h' && f[1] == 'h') {
      bits = 8;
      f += 2;
    } else if (*f == 'h') {
      bits = 16;
      ++f;
    }
    const char conv = *f;
    if (conv != 'd' && conv != 'u' && conv != 'x' && conv != 'X') __builtin_trap();
    unsigned v = va_arg(ap, unsigned);
    if (bits == 8) v &= 0xffu;
    if (bits == 16) v &= 0xffffu;
    bool negative = false;
    if (conv == 'd') {
      int x = bits == 8 ? static_cast<int8_t>(v) : bits == 16 ? static_cast<int16_t>(v) : static_cast<int>(v);
      negative = x < 0;
      v = negative ? 0u - static_cast<unsigned>(x) : static_cast<unsigned>(x);
    }
    const unsigned base = conv == 'x' || conv == 'X' ? 16 : 10;
    const char* digits = conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[12];
    int k = 0;
    while (v) {
      buf[k++] = digits[v % base];
      v /= base;
    }
    // C: precision is the minimum number of digits (0 with precision 0 prints nothing); the
    // flag 0 pads to the width with zeros when no precision is given, else with spaces.
    const int min_digits = precision < 0 ? 1 : precision;
    const int ndigits = k > min_digits ? k : min_digits;
    const int body = ndigits + (negative ? 1 : 0);
    const bool zero_pad = zero && precision < 0;
    if (!zero_pad)
      for (int i = body; i < width; ++i) put(s, n, len, ' ');
    if (negative) put(s, n, len, '-');
    if (zero_pad)
      for (int i = body; i < width; ++i) put(s, n, len, '0');
    for (int i = k; i < ndigits; ++i) put(s, n, len, '0');
    while (k) put(s, n, len, buf[--k]);
  }
  if (n) s[len < n ? len : n - 1] = '\0';
  va_end(ap);
  return static_cast<int>(len);
}

// mc_double_chars (src/metachannel/json_text.h) for the wasm: JavaScript's String(number)
// (mc_number), which gives the shortest text that reads back as the same double, as nlohmann's
// Grisu2 does natively (src/metachannel/double_chars.cpp), in its own spelling ("100" for
// "100.0", "1e-7" for "1e-07"): the same JSON value. JS writes -0 as "0", so the sign is written
// here.
char* mc_double_chars(char* first, double value) {
  if (std::signbit(value)) {
    value = -value;
    *first++ = '-';
  }
  return first + static_cast<int>(mc_number(value, first, 0));
}

// One glue serves both cores, so both wasm files must import the same functions
// (scripts/lite-core.mjs). The plain core has no nlohmann/json and so no strtod: this exported
// one-liner keeps its import of mc_number (and is the same export in both).
EMSCRIPTEN_KEEPALIVE double mc_number_text(const char* p, int n) { return mc_number(0, const_cast<char*>(p), n); }

double __wrap_strtod(const char* s, char** end) {
  const char* p = s;
  while (*p == ' ' || (*p >= '\t' && *p <= '\r')) ++p;
  const char* start = p;
  if (*p == '+' || *p == '-') ++p;
  const char* mantissa = p;
  bool nonzero = false;
  while (is_digit(*p)) nonzero |= *p++ != '0';
  if (*p == '.') {
    ++p;
    while (is_digit(*p)) nonzero |= *p++ != '0';
  }
  if (p == mantissa || (p == mantissa + 1 && *mantissa == '.')) {
    // No digits: strtod's "no conversion", unless it is a form strtod reads and this does not.
    const char c = *mantissa | 0x20;
    if (c == 'i' || c == 'n') __builtin_trap();
    if (end) *end = const_cast<char*>(s);
    return 0;
  }
  if (mantissa[0] == '0' && (mantissa[1] | 0x20) == 'x') __builtin_trap();
  if ((*p | 0x20) == 'e') {
    const char* e = p + 1;
    if (*e == '+' || *e == '-') ++e;
    if (is_digit(*e)) {
      while (is_digit(*e)) ++e;
      p = e;
    }
  }
  if (end) *end = const_cast<char*>(p);
  const double v = mc_number(0, const_cast<char*>(start), static_cast<int>(p - start));
  if (std::isinf(v) || (v == 0 && nonzero)) errno = ERANGE;
  return v;
}

// strtoull and strtoll: nlohmann converts an integer token (digits, a '-' first for strtoll) as
// it reads it, with base 10. musl's shared strtox (any base, "0x" prefixes) was 396 B; this
// reads what strtoull/strtoll read in base 10 (leading space, a sign, digits) and returns what
// they return: no digits, 0 with *end = s; out of range, the limit and errno ERANGE; strtoull of
// "-n" is n negated modulo 2^64. Any other base traps.
namespace {

// The magnitude of [space][sign]digits, saturated at UINT64_MAX (`over`: it did not fit).
uint64_t read_decimal(const char* s, char** end, int base, bool& negative, bool& over) {
  if (base != 10) __builtin_trap();
  const char* p = s;
  while (*p == ' ' || (*p >= '\t' && *p <= '\r')) ++p;
  negative = *p == '-';
  if (*p == '+' || *p == '-') ++p;
  const char* digits = p;
  uint64_t m = 0;
  over = false;
  for (; is_digit(*p); ++p) {
    const unsigned d = static_cast<unsigned>(*p - '0');
    if (m > (UINT64_MAX - d) / 10) over = true;
    m = over ? UINT64_MAX : m * 10 + d;
  }
  if (end) *end = const_cast<char*>(p == digits ? s : p);
  return m;
}

}  // namespace

unsigned long long __wrap_strtoull(const char* s, char** end, int base) {
  bool negative, over;
  const uint64_t m = read_decimal(s, end, base, negative, over);
  if (over) {
    errno = ERANGE;
    return UINT64_MAX;
  }
  return negative ? 0 - m : m;
}

long long __wrap_strtoll(const char* s, char** end, int base) {
  bool negative, over;
  const uint64_t m = read_decimal(s, end, base, negative, over);
  const uint64_t limit = negative ? uint64_t{1} << 63 : INT64_MAX;
  if (over || m > limit) {
    errno = ERANGE;
    return negative ? INT64_MIN : INT64_MAX;
  }
  return negative ? static_cast<long long>(0 - m) : static_cast<long long>(m);
}

}  // extern "C"
