#include "metachannel/json_text.h"

#include "metachannel/utf8.h"

#include <cmath>
#include <cstdint>
#include <limits>

namespace mc {

namespace {

// The compact dump, written here rather than by Json::dump: nlohmann's serializer writes through
// a std::shared_ptr output adapter, whose control block's vtable brings libc++abi's type_info
// machinery (dynamic_cast search, 2.4 KB), and with its buffers and adapters the dump was
// about 9 KB of the full core's wasm. The output is byte for byte what
// j.dump(-1, ' ', false, error_handler_t::replace) writes (tests/native/json_text_test.cpp
// compares the two over random documents): members in order, no spaces, \" \\ \b \f \n \r \t
// and \u00XX (lowercase) for the other control characters, other text as is, each invalid
// UTF-8 sequence (its maximal valid prefix) replaced by U+FFFD, numbers as nlohmann writes them
// (floats by its own to_chars, "null" when not finite).
constexpr char kReplacement[] = "\xEF\xBF\xBD";

void dump_string(std::string_view s, std::string& out) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t consumed = 0;
    const size_t n = utf8_sequence(s.data() + i, s.data() + s.size(), &consumed);
    if (n == 0) {
      out += kReplacement;
      i += consumed;
      continue;
    }
    if (n == 1) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out += "0123456789abcdef"[c >> 4];
            out += "0123456789abcdef"[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
    } else {
      out.append(s.data() + i, n);
    }
    i += n;
  }
  out += '"';
}

// dump_string for text known to be valid UTF-8 (what the lexer reads is: it refuses ill-formed
// UTF-8 and lone surrogates; ids are ASCII): the same output, without the UTF-8 check and its
// replacement. What the core writes goes through this one; dump_string stays for dump_json.
void write_string(std::string_view s, std::string& out) {
  // The escapes dump_string writes: \" \\ \b \f \n \r \t, else \u00XX below 0x20.
  static constexpr char kEscaped[] = "\"\\\b\f\n\r\t", kLetter[] = "\"\\bfnrt";
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != '"' && c != '\\') {
      out += ch;
      continue;
    }
    size_t k = 0;
    while (k < 7 && kEscaped[k] != ch) ++k;
    out += '\\';
    if (k < 7) {
      out += kLetter[k];
    } else {
      out += "u00";
      out += "0123456789abcdef"[c >> 4];
      out += "0123456789abcdef"[c & 15];
    }
  }
  out += '"';
}

// One writer for both integer types: the magnitude (-INT64_MIN does not fit an int64_t) and a sign.
void dump_digits(std::uint64_t m, bool negative, std::string& out) {
  char buf[24];
  char* p = buf + sizeof buf;
  do {
    *--p = static_cast<char>('0' + m % 10);
    m /= 10;
  } while (m);
  if (negative) *--p = '-';
  out.append(p, static_cast<size_t>(buf + sizeof buf - p));
}

void dump_integer(std::uint64_t v, std::string& out) { dump_digits(v, false, out); }
void dump_integer(std::int64_t v, std::string& out) {
  dump_digits(v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v), v < 0, out);
}

void dump_double(double x, std::string& out) {
  if (!std::isfinite(x)) {
    out += "null";
    return;
  }
  char buf[64];
  const char* end = mc_double_chars(buf, x);
  out.append(buf, static_cast<size_t>(end - buf));
}

void dump_value(const Json& j, std::string& out) {
  switch (j.type()) {
    case Json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& member : j.get_ref<const Json::object_t&>()) {
        if (!first) out += ',';
        first = false;
        dump_string(member.first, out);
        out += ':';
        dump_value(member.second, out);
      }
      out += '}';
      return;
    }
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& item : j.get_ref<const Json::array_t&>()) {
        if (!first) out += ',';
        first = false;
        dump_value(item, out);
      }
      out += ']';
      return;
    }
    case Json::value_t::string: dump_string(j.get_ref<const std::string&>(), out); return;
    case Json::value_t::boolean: out += j.get<bool>() ? "true" : "false"; return;
    case Json::value_t::number_integer: dump_integer(j.get<std::int64_t>(), out); return;
    case Json::value_t::number_unsigned: dump_integer(j.get<std::uint64_t>(), out); return;
    case Json::value_t::number_float: dump_double(j.get<double>(), out); return;
    case Json::value_t::discarded: out += "<discarded>"; return;
    case Json::value_t::binary:  // never made by the core (nlohmann writes its own form)
    case Json::value_t::null:
    default: out += "null"; return;
  }
}

}  // namespace

std::string dump_json(const Json& j) {
  std::string out;
  dump_value(j, out);
  return out;
}

void append_json_string(std::string_view s, std::string& out) { write_string(s, out); }
void append_json_unsigned(std::uint64_t v, std::string& out) { dump_integer(v, out); }
void append_json_double(double x, std::string& out) { dump_double(x, out); }

// nlohmann's lexer and document under a grammar loop of our own, with a depth limit. Not
// Json::parse or Json::sax_parse: nlohmann's parse loop keeps its object/array stack in a
// std::vector<bool> (1.8 KB of wasm for push_back alone) and builds a parse_error exception
// object for each error it reports, whose std::exception vtable brings libc++abi's type_info
// machinery (dynamic_cast search, 1.4 KB); with its callback parser's std::function and second
// copy of the loop that was about 5 KB more, and its SAX document builder another 1.9 KB. The language accepted is the
// loop's in nlohmann's parser<>::sax_parse_internal (strict: nothing but whitespace after the value), and the tokens
// are its lexer's (a UTF-8 BOM skipped at the start, no comments). A container is refused when kMaxJsonDepth are open
// around it, so at most kMaxJsonDepth levels (the outermost included) are ever open: a fixed stack.
namespace {

// False: not JSON, or too deep (`result` then holds what was built so far).
bool parse_into(Json& result, std::string_view text) {
  using Adapter = nlohmann::detail::iterator_input_adapter<const char*>;
  using Lexer = nlohmann::detail::lexer<Json, Adapter>;
  using Token = Lexer::token_type;
  Lexer lexer(Adapter(text.data(), text.data() + text.size()), /*ignore_comments_=*/false);
  // The document is built as nlohmann's json_sax_dom_parser builds it (one put() instead of its
  // handle_value<> per value type, a fixed stack instead of its vector).
  Json* open[kMaxJsonDepth];  // the open containers, outermost first
  int depth = 0;
  Json* member = nullptr;  // in an object: the value the last key made
  const auto put = [&](Json&& v) -> Json* {
    if (depth == 0) {
      result = std::move(v);
      return &result;
    }
    Json& top = *open[depth - 1];
    if (top.is_array()) {
      auto& a = top.get_ref<Json::array_t&>();
      a.push_back(std::move(v));
      return &a.back();
    }
    *member = std::move(v);
    return member;
  };
  // After a '{' or a ',' in an object: the key, its ':' and the token after it.
  const auto key = [&](Token& t) {
    if (t != Token::value_string) return false;
    member = &open[depth - 1]->get_ref<Json::object_t&>()[lexer.get_string()];
    if (lexer.scan() != Token::name_separator) return false;
    t = lexer.scan();
    return true;
  };
  Token t = lexer.scan();
  for (;;) {
    // A value starts at `t`.
    if (t == Token::begin_object || t == Token::begin_array) {
      if (depth == kMaxJsonDepth) return false;
      const bool array = t == Token::begin_array;
      Json* container = put(Json(array ? Json::value_t::array : Json::value_t::object));
      t = lexer.scan();
      if (t != (array ? Token::end_array : Token::end_object)) {
        open[depth++] = container;
        if (!array && !key(t)) return false;
        continue;
      }
      // empty: closed already
    } else {
      Json value;  // null
      switch (t) {
        case Token::value_float: {
          const double x = lexer.get_number_float();
          if (!std::isfinite(x)) return false;  // nlohmann: "number overflow"
          value = Json(x);
          break;
        }
        case Token::literal_false: value = Json(false); break;
        case Token::literal_true: value = Json(true); break;
        case Token::literal_null: break;
        case Token::value_integer: value = Json(lexer.get_number_integer()); break;
        case Token::value_unsigned: value = Json(lexer.get_number_unsigned()); break;
        case Token::value_string: value = Json(lexer.get_string()); break;
        default: return false;  // a parse error, or a token out of place
      }
      put(std::move(value));
    }
    // A value ended: close what it ends, then the next value (after its key in an object).
    for (;;) {
      if (depth == 0) return lexer.scan() == Token::end_of_input;
      t = lexer.scan();
      const bool array = open[depth - 1]->is_array();
      if (t == Token::value_separator) {
        t = lexer.scan();
        if (!array && !key(t)) return false;
        break;
      }
      if (t != (array ? Token::end_array : Token::end_object)) return false;
      --depth;
    }
  }
}

}  // namespace

Json parse_json_limited(std::string_view text) {
  Json j;
  if (!parse_into(j, text)) return Json(Json::value_t::discarded);
  return j;
}

// compact_json: nlohmann's lexer under a grammar of our own, writing each token's compact form
// as it comes (what parse_into and dump_value do through a document, without the document: its
// variant values, their copies and destructors, the ordered_map and vector code were about 4 KB
// of the full core's wasm). Containers recurse, at most kMaxJsonDepth levels (a few dozen bytes
// of stack each). A repeated member name is what the document's operator[] made of it: the
// first place, the last value (spliced in over the earlier one's text).
namespace {

// s[from, to) replaced by `with` (appends: no std::string::replace or insert in the wasm).
void splice(std::string& s, size_t from, size_t to, std::string_view with) {
  std::string r(s.data(), from);
  r.append(with.data(), with.size());
  r.append(s.data() + to, s.size() - to);
  s.swap(r);
}

class Compactor {
 public:
  using Adapter = nlohmann::detail::iterator_input_adapter<const char*>;
  using Lexer = nlohmann::detail::lexer<Json, Adapter>;
  using Token = Lexer::token_type;

  Compactor(std::string_view text, std::string& out)
      : lexer_(Adapter(text.data(), text.data() + text.size()), /*ignore_comments_=*/false), out_(out) {}

  bool run(JsonMembers* members) {
    out_.clear();
    return value(lexer_.scan(), 0, members) && lexer_.scan() == Token::end_of_input;
  }

 private:
  // The value that starts at `t`, with `depth` containers open around it. Sets unsigned_ and
  // number_ for it.
  bool value(Token t, int depth, JsonMembers* members) {
    unsigned_ = false;
    number_ = std::numeric_limits<double>::quiet_NaN();
    switch (t) {
      case Token::begin_object:
      case Token::begin_array: return container(t == Token::begin_array, depth, members);
      case Token::value_string: write_string(lexer_.get_string(), out_); return true;
      case Token::value_unsigned: {
        const std::uint64_t v = lexer_.get_number_unsigned();
        dump_integer(v, out_);
        unsigned_ = true;
        number_ = static_cast<double>(v);
        return true;
      }
      case Token::value_integer: {
        const std::int64_t v = lexer_.get_number_integer();
        dump_integer(v, out_);
        number_ = static_cast<double>(v);
        return true;
      }
      case Token::value_float: {
        const double x = lexer_.get_number_float();
        if (!std::isfinite(x)) return false;  // nlohmann: "number overflow"
        dump_double(x, out_);
        number_ = x;
        return true;
      }
      case Token::literal_true: out_ += "true"; return true;
      case Token::literal_false: out_ += "false"; return true;
      case Token::literal_null: out_ += "null"; return true;
      default: return false;  // a parse error, or a token out of place
    }
  }

  bool container(bool array, int depth, JsonMembers* members) {
    if (depth == kMaxJsonDepth) return false;
    JsonMembers own;
    JsonMembers& items = members ? *members : own;
    items.clear();
    out_ += array ? '[' : '{';
    const Token close = array ? Token::end_array : Token::end_object;
    Token t = lexer_.scan();
    if (t != close) {
      for (;;) {
        std::string name;
        if (!array) {
          if (t != Token::value_string) return false;
          name.assign(lexer_.get_string().data(), lexer_.get_string().size());  // (no string operator= in the wasm)
          if (lexer_.scan() != Token::name_separator) return false;
          t = lexer_.scan();
        }
        JsonMember* same = nullptr;
        if (!array) {
          for (JsonMember& m : items) {
            if (m.name == name) same = &m;
          }
        }
        if (!same && !items.empty()) out_ += ',';
        if (!same && !array) {
          write_string(name, out_);
          out_ += ':';
        }
        const size_t begin = out_.size();
        if (!value(t, depth + 1, nullptr)) return false;
        if (same) {
          // The earlier value's text gives way to this one's (written last, with no name before
          // it); the members after it move.
          const size_t was = same->end - same->begin, now = out_.size() - begin;
          std::string r(out_.data(), same->begin);
          r.append(out_.data() + begin, now);
          r.append(out_.data() + same->end, begin - same->end);
          out_.swap(r);
          for (JsonMember* m = same; m != items.data() + items.size(); ++m) {
            if (m != same) m->begin = m->begin + now - was;
            m->end = m->end + now - was;
          }
          same->is_unsigned = unsigned_;
          same->number = number_;
        } else {
          items.push_back(JsonMember{std::move(name), begin, out_.size(), unsigned_, number_});
        }
        t = lexer_.scan();
        if (t == close) break;
        if (t != Token::value_separator) return false;
        t = lexer_.scan();
      }
    }
    out_ += array ? ']' : '}';
    unsigned_ = false;
    number_ = std::numeric_limits<double>::quiet_NaN();
    return true;
  }

  Lexer lexer_;
  std::string& out_;
  bool unsigned_ = false;
  double number_ = 0;
};

}  // namespace

bool compact_json(std::string_view text, std::string& out, JsonMembers* members) {
  if (members) members->clear();
  return Compactor(text, out).run(members);
}

const JsonMember* find_member(const JsonMembers& members, std::string_view name) {
  for (const JsonMember& m : members) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

bool merge_envelope(std::string_view object_json, const Fields& fields, std::string& out) {
  out.clear();
  const Json j = object_json.empty() ? Json(Json::value_t::object) : parse_json_limited(object_json);
  if (!j.is_object()) return false;  // not an object, invalid, or too deep
  // Written as dump_json(j) after j[name] = value for each field (without the document's
  // operator[] and copy): the members in order, a field's value in place of the member of its
  // name, then the other fields in order; of fields with the same name the last value wins, at
  // the first one's place.
  const auto& members = j.get_ref<const Json::object_t&>();
  const auto value_of = [&fields](const std::string& name) {
    const std::string* v = nullptr;
    for (const auto& f : fields) {
      if (f.first == name) v = &f.second;
    }
    return v;
  };
  out += '{';
  for (const auto& member : members) {
    if (out.size() > 1) out += ',';
    dump_string(member.first, out);
    out += ':';
    if (const std::string* v = value_of(member.first)) {
      dump_string(*v, out);
    } else {
      dump_value(member.second, out);
    }
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::string& name = fields[i].first;
    bool written = false;
    for (const auto& member : members) written = written || member.first == name;
    for (size_t k = 0; k < i; ++k) written = written || fields[k].first == name;
    if (written) continue;
    if (out.size() > 1) out += ',';
    dump_string(name, out);
    out += ':';
    dump_string(*value_of(name), out);
  }
  out += '}';
  return true;
}

bool merge_member(std::string_view object_json, std::string_view name, std::string_view value, std::string& out) {
  // The object in compact form, then the member `name` given `value` in place (or added last).
  JsonMembers members;
  if (object_json.empty()) {
    out = "{}";
  } else if (!compact_json(object_json, out, &members) || out[0] != '{') {
    out.clear();
    return false;
  }
  std::string v;
  write_string(value, v);
  if (const JsonMember* m = find_member(members, name)) {
    splice(out, m->begin, m->end, v);
    return true;
  }
  std::string add = members.empty() ? "" : ",";
  write_string(name, add);
  add += ':';
  add += v;
  splice(out, out.size() - 1, out.size() - 1, add);
  return true;
}

}  // namespace mc
