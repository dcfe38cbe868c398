#include "metachannel/envelope.h"

#include <cstdint>

namespace mc {
namespace {

inline bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

struct EnvelopeCursor {
  const char* p;
  const char* end;
  void skip_ws() {
    while (p < end && is_ws(*p)) ++p;
  }
  bool at_end() const { return p >= end; }
  char peek() const { return *p; }
};

namespace {
using Cursor = EnvelopeCursor;

// On entry c.p is just past an opening quote. On success c.p is just past the closing quote,
// `body` holds the raw bytes in between and `escaped` says whether a backslash occurred.
bool scan_string(Cursor& c, std::string_view& body, bool& escaped) {
  const char* start = c.p;
  escaped = false;
  while (c.p < c.end) {
    const unsigned char ch = static_cast<unsigned char>(*c.p);
    if (ch == '"') {
      body = std::string_view(start, static_cast<size_t>(c.p - start));
      ++c.p;
      return true;
    }
    if (ch == '\\') {
      escaped = true;
      c.p += 2;  // the escaped byte can never end the string
      continue;
    }
    if (ch < 0x20) return false;  // raw control characters are not allowed in JSON strings
    ++c.p;
  }
  return false;
}

// Skips one JSON value that is not a string at the top level of the envelope: an object or
// array (by counting brackets outside strings), or a number/literal (up to a delimiter).
bool skip_value(Cursor& c) {
  const char first = c.peek();
  if (first == '{' || first == '[') {
    size_t depth = 0;
    while (c.p < c.end) {
      const char ch = *c.p;
      if (ch == '"') {
        ++c.p;
        std::string_view body;
        bool escaped;
        if (!scan_string(c, body, escaped)) return false;
        continue;
      }
      if (ch == '{' || ch == '[') {
        ++depth;
      } else if (ch == '}' || ch == ']') {
        if (depth == 0) return false;
        if (--depth == 0) {
          ++c.p;
          return true;
        }
      }
      ++c.p;
    }
    return false;
  }
  // number, true, false, null: the characters they are made of, at least one.
  const char* start = c.p;
  while (c.p < c.end) {
    const char ch = *c.p;
    const bool ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || ch == '-' || ch == '+' ||
                    ch == '.' || ch == 'E';
    if (!ok) break;
    ++c.p;
  }
  return c.p > start;
}

bool looks_like_json_start(char c) {
  return c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n';
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool read_hex4(std::string_view s, size_t i, uint32_t& v) {
  if (i + 4 > s.size()) return false;
  v = 0;
  for (size_t k = i; k < i + 4; ++k) {
    const char ch = s[k];
    v <<= 4;
    if (ch >= '0' && ch <= '9') v |= static_cast<uint32_t>(ch - '0');
    else if (ch >= 'a' && ch <= 'f') v |= static_cast<uint32_t>(ch - 'a' + 10);
    else if (ch >= 'A' && ch <= 'F') v |= static_cast<uint32_t>(ch - 'A' + 10);
    else return false;
  }
  return true;
}

}  // namespace

bool json_unescape(std::string_view s, std::string& out) {
  out.clear();
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    if (ch != '\\') {
      out.push_back(ch);
      continue;
    }
    if (++i >= s.size()) return false;
    switch (s[i]) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '/': out.push_back('/'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        uint32_t cp;
        if (!read_hex4(s, i + 1, cp)) return false;
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          // A high surrogate: JSON.parse pairs it with a following \uDC00-\uDFFF, and keeps it
          // lone otherwise. A lone surrogate has no UTF-8 form; use U+FFFD as TextDecoder would.
          uint32_t lo;
          if (i + 2 < s.size() && s[i + 1] == '\\' && s[i + 2] == 'u' && read_hex4(s, i + 3, lo) &&
              lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          } else {
            cp = 0xFFFD;
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          cp = 0xFFFD;
        }
        append_utf8(out, cp);
        break;
      }
      default: return false;
    }
  }
  return true;
}

void Envelope::reset() {
  shape_ = Shape::Text;
  has_type_ = has_channel_ = has_room_ = has_re_ = false;
  type_ = channel_ = room_ = re_ = std::string_view();
}

void Envelope::scan(const char* data, size_t size) {
  reset();
  Cursor c{data, data + size};
  c.skip_ws();
  if (c.at_end()) return;
  if (c.peek() != '{') {
    if (looks_like_json_start(c.peek())) shape_ = Shape::OtherJson;
    return;
  }
  if (scan_object(c)) {
    shape_ = Shape::Object;
  } else {
    reset();  // never route on fields read from a frame that is not a well-formed object
  }
}

bool Envelope::scan_object(EnvelopeCursor& c) {
  ++c.p;  // '{'
  c.skip_ws();
  if (!c.at_end() && c.peek() == '}') {
    ++c.p;
    c.skip_ws();
    return c.at_end();
  }
  for (;;) {
    if (c.at_end() || c.peek() != '"') return false;
    ++c.p;
    std::string_view key;
    bool key_escaped;
    if (!scan_string(c, key, key_escaped)) return false;
    if (key_escaped) {
      if (!json_unescape(key, key_buf_)) return false;
      key = key_buf_;
    }
    c.skip_ws();
    if (c.at_end() || c.peek() != ':') return false;
    ++c.p;
    c.skip_ws();
    if (c.at_end()) return false;

    // Which routing field (if any) this member is. A later duplicate replaces an earlier
    // one, as JSON.parse does.
    bool* has = nullptr;
    std::string_view* view = nullptr;
    std::string* buf = nullptr;
    if (key == "type") { has = &has_type_; view = &type_; buf = &type_buf_; }
    else if (key == "channel") { has = &has_channel_; view = &channel_; buf = &channel_buf_; }
    else if (key == "room") { has = &has_room_; view = &room_; buf = &room_buf_; }
    else if (key == "re") { has = &has_re_; view = &re_; buf = &re_buf_; }

    if (c.peek() == '"') {
      ++c.p;
      std::string_view body;
      bool escaped;
      if (!scan_string(c, body, escaped)) return false;
      if (has) {
        if (escaped) {
          if (!json_unescape(body, *buf)) return false;
          body = *buf;
        }
        *has = true;
        *view = body;
      }
    } else {
      if (!skip_value(c)) return false;
      if (has) *has = false;  // present but not a string: not routable by this field
    }
    c.skip_ws();
    if (c.at_end()) return false;
    if (c.peek() == ',') {
      ++c.p;
      c.skip_ws();
      continue;
    }
    if (c.peek() != '}') return false;
    ++c.p;
    c.skip_ws();
    return c.at_end();  // trailing bytes after the object: not JSON
  }
}

}  // namespace mc
