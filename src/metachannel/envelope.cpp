#include "metachannel/envelope.h"

#include "metachannel/utf8.h"

#include <cstdint>
#include <cstring>

namespace mc {
namespace {

__attribute__((always_inline)) inline bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

struct EnvelopeCursor {
  const char* p;
  const char* end;
  // always_inline: at -Oz (the wasm build) these one-liners would otherwise be calls.
  __attribute__((always_inline)) void skip_ws() {
    // Most calls find no whitespace at all: one compare says so (every JSON whitespace byte
    // is <= ' ', and so are only control characters besides).
    while (p < end && static_cast<unsigned char>(*p) <= ' ' && is_ws(*p)) ++p;
  }
  __attribute__((always_inline)) bool at_end() const { return p >= end; }
  __attribute__((always_inline)) char peek() const { return *p; }
};

namespace {
using Cursor = EnvelopeCursor;

__attribute__((always_inline)) inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The value of the hex digit c (0-9, a-f, A-F), or 16 if c is not one: two unsigned compares
// (c | 0x20 is 'a'-'f' exactly for a-f and A-F), not three ranges. One helper for the scanner's
// check and read_hex4's value.
inline unsigned hex_value(char c) {
  const unsigned digit = static_cast<unsigned char>(c) - static_cast<unsigned>('0');
  if (digit < 10) return digit;
  const unsigned letter = (static_cast<unsigned char>(c) | 0x20u) - static_cast<unsigned>('a');
  return letter < 6 ? letter + 10 : 16;
}

// On entry c.p is just past an opening quote. On success c.p is just past the closing quote,
// `body` holds the raw bytes in between and `escaped` says whether a backslash occurred.
// The string is validated as JSON.parse would: escapes, control characters and UTF-8 (a lone
// \uD800-style escape is valid, as in JavaScript).
// The bytes of `v` (8 bytes, little-endian) that end a fast run, as their high bits: '"',
// '\\', a control character (< 0x20) or a non-ASCII byte (>= 0x80). The lowest set bit is
// exact ("haszero"/"hasless" bit tricks; only bits above a true hit may be spurious), so
// plain ASCII text, the bulk of every envelope, is crossed 8 bytes at a time.
inline uint64_t special_bytes(uint64_t v) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t quote = v ^ (kOnes * '"');
  const uint64_t backslash = v ^ (kOnes * '\\');
  const uint64_t control = (v - kOnes * 0x20) & ~v;
  const uint64_t zero_quote = (quote - kOnes) & ~quote;
  const uint64_t zero_backslash = (backslash - kOnes) & ~backslash;
  return (control | zero_quote | zero_backslash | v) & kHigh;
}

inline bool little_endian() {
  const uint16_t probe = 1;
  unsigned char first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

const bool kLittleEndian = little_endian();

bool scan_string(Cursor& c, std::string_view& body, bool& escaped) {
  const char* const start = c.p;
  const char* p = c.p;
  const char* const end = c.end;
  escaped = false;
  for (;;) {
    if (kLittleEndian) {
      while (end - p >= 8) {
        uint64_t v;
        std::memcpy(&v, p, 8);
        const uint64_t hits = special_bytes(v);
        if (hits) {
          p += __builtin_ctzll(hits) / 8;
          break;
        }
        p += 8;
      }
    }
    if (p >= end) return false;
    const unsigned char ch = static_cast<unsigned char>(*p);
    if (ch == '"') {
      body = std::string_view(start, static_cast<size_t>(p - start));
      c.p = p + 1;
      return true;
    }
    if (ch == '\\') {
      escaped = true;
      if (end - p < 2) return false;
      switch (p[1]) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't': p += 2; continue;
        case 'u':
          if (end - p < 6) return false;
          for (int k = 2; k < 6; ++k) {
            if (hex_value(p[k]) > 15) return false;
          }
          p += 6;
          continue;
        default: return false;
      }
    }
    if (ch < 0x20) return false;  // raw control characters are not allowed in JSON strings
    if (ch < 0x80) {
      ++p;
      continue;
    }
    const size_t n = utf8_sequence(p, end);
    if (n == 0) return false;
    p += n;
  }
}

// Cursor::skip_ws() as one call (11 places; inline at each it was 514 B of the lite wasm,
// 145 B gzip): most calls find no whitespace and return after one compare.
__attribute__((noinline)) void skip_ws(Cursor& c) { c.skip_ws(); }

// A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool scan_number(Cursor& c) {
  const char* p = c.p;
  if (p < c.end && *p == '-') ++p;
  if (p >= c.end || !is_digit(*p)) return false;
  if (*p == '0') {
    ++p;
  } else {
    while (p < c.end && is_digit(*p)) ++p;
  }
  if (p < c.end && *p == '.') {
    ++p;
    if (p >= c.end || !is_digit(*p)) return false;
    while (p < c.end && is_digit(*p)) ++p;
  }
  if (p < c.end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < c.end && (*p == '+' || *p == '-')) ++p;
    if (p >= c.end || !is_digit(*p)) return false;
    while (p < c.end && is_digit(*p)) ++p;
  }
  c.p = p;
  return true;
}

bool scan_literal(Cursor& c, std::string_view word) {
  if (static_cast<size_t>(c.end - c.p) < word.size() || std::string_view(c.p, word.size()) != word) return false;
  c.p += word.size();
  return true;
}

// After '{' or ',' inside an object: whitespace, "key", whitespace, ':'. The key's raw body and
// whether it had escapes in `key` and `escaped` (Envelope::scan_object reads them; the nested
// objects of skip_value do not).
bool scan_member_name(Cursor& c, std::string_view& key, bool& escaped) {
  skip_ws(c);
  if (c.at_end() || c.peek() != '"') return false;
  ++c.p;
  if (!scan_string(c, key, escaped)) return false;
  skip_ws(c);
  if (c.at_end() || c.peek() != ':') return false;
  ++c.p;
  return true;
}

bool scan_member_name(Cursor& c) {
  std::string_view key;
  bool escaped;
  return scan_member_name(c, key, escaped);
}

// Skips (and validates) one JSON value that is not a string at the top level of the
// envelope. Iterative: `open` is the stack of enclosing containers ('{' or '['), one byte
// per level, so a deeply nested value costs memory, not C++ stack. `open` is the Envelope's
// (emptied here; it keeps its capacity): no string made and destroyed per call.
bool skip_value(Cursor& c, std::string& open) {
  open.clear();
  for (;;) {
    // A value is expected at c.p.
    skip_ws(c);
    if (c.at_end()) return false;
    const char first = c.peek();
    bool done = true;  // the value just read is complete (false: a container was entered)
    if (first == '{' || first == '[') {
      ++c.p;
      skip_ws(c);
      if (c.at_end()) return false;
      if (c.peek() == (first == '{' ? '}' : ']')) {
        ++c.p;  // empty container
      } else {
        open.append(&first, 1);  // (no push_back: see json_unescape)
        if (first == '{' && !scan_member_name(c)) return false;
        done = false;
      }
    } else if (first == '"') {
      ++c.p;
      std::string_view body;
      bool escaped;
      if (!scan_string(c, body, escaped)) return false;
    } else if (first == 't' || first == 'f' || first == 'n') {
      if (!scan_literal(c, first == 't' ? "true" : first == 'f' ? "false" : "null")) return false;
    } else if (!scan_number(c)) {
      return false;
    }
    if (!done) continue;
    // Close containers until one continues with ',' (or the outermost value ends).
    for (;;) {
      if (open.empty()) return true;
      skip_ws(c);
      if (c.at_end()) return false;
      const char ch = c.peek();
      if (ch == ',') {
        ++c.p;
        if (open.back() == '{' && !scan_member_name(c)) return false;
        break;
      }
      if (ch != (open.back() == '{' ? '}' : ']')) return false;
      ++c.p;
      open.pop_back();
    }
  }
}

bool looks_like_json_start(char c) {
  return c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n';
}

// Writes the UTF-8 form of `cp` (at most U+10FFFF) to `b`; returns its length (1-4).
size_t utf8_encode(uint32_t cp, char* b) {
  const size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  for (size_t k = n - 1; k > 0; --k, cp >>= 6) b[k] = static_cast<char>(0x80 | (cp & 0x3F));
  // The lead byte: the bits left, under 0xC0, 0xE0 or 0xF0 for 2, 3 or 4 bytes.
  b[0] = static_cast<char>(n == 1 ? cp : ((0xFF00u >> n) & 0xFFu) | cp);
  return n;
}

// The four hex digits at p (before end) as a number; false if there are fewer or one is not hex.
bool read_hex4(const char* p, const char* end, uint32_t& v) {
  if (end - p < 4) return false;
  v = 0;
  for (int k = 0; k < 4; ++k) {
    const unsigned d = hex_value(p[k]);
    if (d > 15) return false;
    v = v << 4 | d;
  }
  return true;
}

}  // namespace

bool json_unescape(std::string_view s, std::string& out) {
  out.clear();  // (no reserve(): appending grows it, and the buffers keep their capacity)
  const char* p = s.data();
  const char* const end = p + s.size();
  // Each run of plain bytes is appended at once, then each escape's bytes at once (no
  // push_back: one call per piece, and its growth path not in the wasm).
  static constexpr char kEscapes[] = {'"', '\\', '/', 'b', 'f', 'n', 'r', 't'};
  static constexpr char kMeanings[] = {'"', '\\', '/', '\b', '\f', '\n', '\r', '\t'};
  while (p < end) {
    const char* const run = p;
    while (p < end && *p != '\\') ++p;
    out.append(run, static_cast<size_t>(p - run));
    if (p == end) break;
    if (++p == end) return false;
    const char e = *p++;
    char bytes[4];
    size_t n = 1;
    size_t k = 0;
    while (k < sizeof(kEscapes) && kEscapes[k] != e) ++k;
    if (k < sizeof(kEscapes)) {
      bytes[0] = kMeanings[k];
    } else {
      uint32_t cp;
      if (e != 'u' || !read_hex4(p, end, cp)) return false;
      p += 4;
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        // A high surrogate: JSON.parse pairs it with a following \uDC00-\uDFFF, and keeps it
        // lone otherwise. A lone surrogate has no UTF-8 form; use U+FFFD as TextDecoder would.
        uint32_t lo;
        if (end - p >= 2 && p[0] == '\\' && p[1] == 'u' && read_hex4(p + 2, end, lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          p += 6;
        } else {
          cp = 0xFFFD;
        }
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        cp = 0xFFFD;
      }
      n = utf8_encode(cp, bytes);
    }
    out.append(bytes, n);
  }
  return true;
}

namespace {

bool utf8_well_formed(std::string_view s) {
  const char* p = s.data();
  const char* const end = p + s.size();
  while (p < end) {
    if (static_cast<unsigned char>(*p) < 0x80) {
      ++p;
      continue;
    }
    const size_t n = utf8_sequence(p, end);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

// A number made of the bytes of s: for n <= 8 all of them (two strings of the same length
// n <= 8 are equal iff their head8 are), for longer ones the first 8. Two fixed-size loads
// instead of a byte loop or a memcmp call.
// noinline (and match() below): one copy each, not one per caller (177 B of the lite wasm).
__attribute__((noinline)) uint64_t head8(const char* s, size_t n) {
  if (n >= 8) {
    uint64_t v;
    std::memcpy(&v, s, 8);
    return v;
  }
  if (n >= 4) {  // bytes 0-3 and n-4..n-1 overlap and cover all n
    uint32_t a, b;
    std::memcpy(&a, s, 4);
    std::memcpy(&b, s + n - 4, 4);
    return a | (static_cast<uint64_t>(b) << 32);
  }
  if (n == 0) return 0;
  const auto byte = [s](size_t i) { return static_cast<uint64_t>(static_cast<unsigned char>(s[i])); };
  return byte(0) | (byte(n / 2) << 8) | (byte(n - 1) << 16);  // covers all n <= 3
}

}  // namespace

__attribute__((noinline)) int FieldSet::match(std::string_view key, uint64_t head) const {
  const size_t n = key.size();
  const char* name = names_.data();  // slot i's name, one after the other
  for (int i = 0; i < size_; name += length_[i++]) {
    if (length_[i] == n && head_[i] == head && (n <= 8 || std::memcmp(name + 8, key.data() + 8, n - 8) == 0)) {
      return i;
    }
  }
  return -1;
}

__attribute__((always_inline)) inline int FieldSet::match(std::string_view key) const {
  return match(key, head8(key.data(), key.size()));
}

int FieldSet::find(std::string_view name) const { return may_match(name) ? match(name) : -1; }

std::string_view FieldSet::name(int slot) const {
  if (slot < 0 || slot >= size_) return std::string_view();
  size_t at = 0;
  for (int i = 0; i < slot; ++i) at += length_[i];
  return std::string_view(names_.data() + at, length_[slot]);
}

int FieldSet::add(std::string_view name) {
  const uint64_t head = head8(name.data(), name.size());  // once, for the lookup and the new slot
  if (may_match(name)) {
    const int found = match(name, head);
    if (found >= 0) return found;
  }
  if (size_ >= kMaxFields || name.empty() || name == "_mc" || !utf8_well_formed(name)) return -1;
  names_.append(name.data(), name.size());
  length_[size_] = name.size();
  head_[size_] = head;
  filter_ |= uint64_t{1} << filter_bit(name);
  return size_++;
}

void Envelope::reset() {
  shape_ = Shape::Text;
  has_tag_ = false;
  present_ = 0;
  tag_members_ = 0;
  tag_ = std::string_view();
}

void Envelope::scan(const char* data, size_t size) {
  static const FieldSet type_only;
  scan(data, size, type_only);
}

void Envelope::scan(const char* data, size_t size, const FieldSet& fields) {
  reset();
  Cursor c{data, data + size};
  skip_ws(c);
  if (c.at_end()) return;
  if (c.peek() != '{') {
    if (looks_like_json_start(c.peek())) shape_ = Shape::OtherJson;
    return;
  }
  if (scan_object(c, fields)) {
    shape_ = Shape::Object;
  } else {
    reset();  // never route on fields read from a frame that is not a well-formed object
  }
}

bool Envelope::scan_object(EnvelopeCursor& c, const FieldSet& fields) {
  ++c.p;  // '{'
  skip_ws(c);
  if (c.at_end() || c.peek() != '}') {  // members, up to the '}' (one ending for both forms)
    for (;;) {
      std::string_view key;
      bool key_escaped;
      if (!scan_member_name(c, key, key_escaped)) return false;
      if (key_escaped) {
        if (!json_unescape(key, key_buf_)) return false;
        key = key_buf_;
      }
      skip_ws(c);
      if (c.at_end()) return false;

      // Which routing field (if any) this member is: the tag, or a slot of `fields` (compared
      // only when a registered name has the same filter bit). A later duplicate replaces an earlier
      // one, as JSON.parse does.
      int slot = -1;
#ifdef MC_NO_DELIVERY
      // The lite core (channel.h): nothing reads the tag, and "_mc" is never a field (FieldSet::add).
      constexpr bool is_tag = false;
      if (fields.may_match(key)) slot = fields.match(key);
#else
      bool is_tag = false;
      const size_t n = key.size();
      if (n == 3 && key[0] == '_' && key[1] == 'm' && key[2] == 'c') {
        is_tag = true;
        ++tag_members_;
      } else if (fields.may_match(key)) {
        slot = fields.match(key);
      }
#endif

      if (c.peek() == '"') {
        ++c.p;
        std::string_view body;
        bool escaped;
        if (!scan_string(c, body, escaped)) return false;
        if (slot >= 0) {
          if (escaped) {
            if (!json_unescape(body, bufs_[slot])) return false;
            body = bufs_[slot];
          }
          present_ |= 1u << slot;
          values_[slot] = body;
        }
#ifndef MC_NO_DELIVERY
        if (is_tag) {  // (never also a slot)
          if (escaped) {
            if (!json_unescape(body, tag_buf_)) return false;
            body = tag_buf_;
          }
          has_tag_ = true;
          tag_ = body;
        }
#endif
      } else {
        // A number, a literal or a container through skip_value (which reads them as it would
        // inside a container: the same checks, without a second copy of them here).
        if (!skip_value(c, open_)) return false;
        // Present but not a string: not routable by this field.
        if (slot >= 0) present_ &= ~(1u << slot);
        if (is_tag) has_tag_ = false;
      }
      skip_ws(c);
      if (c.at_end()) return false;
      if (c.peek() != ',') break;
      ++c.p;  // (scan_member_name skips the whitespace after it)
    }
    if (c.peek() != '}') return false;
  }
  ++c.p;  // '}'
  skip_ws(c);
  return c.at_end();  // trailing bytes after the object: not JSON
}

}  // namespace mc
