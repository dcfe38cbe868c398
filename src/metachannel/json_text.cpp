#include "metachannel/json_text.h"

#include "metachannel/utf8.h"

#include <cmath>
#include <cstdint>

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

void dump_string(const std::string& s, std::string& out) {
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
      out.append(s, i, n);
    }
    i += n;
  }
  out += '"';
}

template <typename Int>
void dump_integer(Int v, std::string& out) {
  char buf[24];
  char* p = buf + sizeof buf;
  const bool negative = v < 0;
  // Magnitude as unsigned: -INT64_MIN does not fit an int64_t.
  auto m = negative ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  do {
    *--p = static_cast<char>('0' + m % 10);
    m /= 10;
  } while (m);
  if (negative) *--p = '-';
  out.append(p, static_cast<size_t>(buf + sizeof buf - p));
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
    case Json::value_t::number_float: {
      const double x = j.get<double>();
      if (!std::isfinite(x)) {
        out += "null";
        return;
      }
      char buf[64];
      const char* end = nlohmann::detail::to_chars(buf, buf + sizeof buf, x);
      out.append(buf, static_cast<size_t>(end - buf));
      return;
    }
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

namespace {

// nlohmann's DOM builder with a depth limit. A SAX handler instead of Json::parse's callback
// parser: the callback parser (and the std::function, vector<bool> stacks and second copy of
// the parse loop it brings) cost about 5 KB of wasm. `depth_` counts the open objects and
// arrays; refusing the one that would be level kMaxJsonDepth + 1 stops the parse.
class DepthLimitedBuilder : public nlohmann::detail::json_sax_dom_parser<Json> {
 public:
  using Base = nlohmann::detail::json_sax_dom_parser<Json>;
  explicit DepthLimitedBuilder(Json& result) : Base(result, /*allow_exceptions=*/false) {}
  bool start_object(std::size_t n) { return open() && Base::start_object(n); }
  bool start_array(std::size_t n) { return open() && Base::start_array(n); }
  bool end_object() {
    --depth_;
    return Base::end_object();
  }
  bool end_array() {
    --depth_;
    return Base::end_array();
  }

 private:
  bool open() { return depth_++ < kMaxJsonDepth; }
  int depth_ = 0;
};

}  // namespace

Json parse_json_limited(std::string_view text) {
  Json j;
  DepthLimitedBuilder builder(j);
  // false: not JSON, trailing text, or too deep (the builder stopped it).
  if (!Json::sax_parse(text.begin(), text.end(), &builder) || builder.is_errored())
    return Json(Json::value_t::discarded);
  return j;
}

bool merge_envelope(std::string_view object_json, const Fields& fields, std::string& out) {
  out.clear();
  Json j = object_json.empty() ? Json::object() : parse_json_limited(object_json);
  if (!j.is_object()) return false;  // not an object, invalid, or too deep
  for (const auto& [k, v] : fields) j[k] = v;
  out = dump_json(j);
  return true;
}

}  // namespace mc
