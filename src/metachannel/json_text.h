// nlohmann/json as the core uses it for control messages (reliability.cpp): nlohmann's lexer
// (tokens, escapes, UTF-8, numbers) under a depth-limited grammar loop into nlohmann's
// document, one compact serialiser and one member merge written here, so hostile input can
// neither abort nor exhaust the small wasm stack. Incoming frames are never parsed into a document
// for routing: see Envelope.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mc {

using Json = nlohmann::ordered_json;  // members in the order written: "type" first

// Copying and dumping a json value recurse once per level: nothing deeper is accepted.
constexpr int kMaxJsonDepth = 100;

// Compact JSON; a lone surrogate from JS becomes U+FFFD instead of aborting (no exceptions).
std::string dump_json(const Json& j);

// Pieces of what dump_json writes, appended to `out`, for text built without a document (the
// control messages): a string (valid UTF-8: nothing is replaced), a number_unsigned and a
// number_float value.
void append_json_string(std::string_view s, std::string& out);
void append_json_unsigned(std::uint64_t v, std::string& out);
void append_json_double(double x, std::string& out);

// `text` parsed (iteratively), or a discarded value when it is not JSON or nests objects and
// arrays more than kMaxJsonDepth levels deep (the outermost included).
Json parse_json_limited(std::string_view text);

// A member of the object (or an item of the array, name empty) compact_json read: its name and
// where its value's compact text lies in the output.
struct JsonMember {
  std::string name;
  size_t begin, end;  // the value's compact text: out[begin, end)
  bool is_unsigned;   // a number nlohmann reads as number_unsigned (no sign, fraction or exponent)
  double number;      // a number's value, as nlohmann's get<double>() gives it; NaN for any other value
};
using JsonMembers = std::vector<JsonMember>;

// `text` in compact form, byte for byte dump_json(parse_json_limited(text)) (the same language,
// depth limit, member order: a repeated name keeps its first place and its last value; the same
// numbers), written as it is read, without a document. False (`out` then unspecified) when
// `text` is not JSON or too deep. `members`, if given: the members of the value when it is an
// object, its items when it is an array (else empty).
bool compact_json(std::string_view text, std::string& out, JsonMembers* members = nullptr);

// `name` among `members`, or null.
const JsonMember* find_member(const JsonMembers& members, std::string_view name);

using Fields = std::vector<std::pair<std::string, std::string>>;

// Adds string `fields` to a JSON object given as text (`{}` if empty), replacing members of
// the same name. Returns false (and leaves `out` empty) if `object_json` is not a JSON object,
// or nests objects/arrays more than kMaxJsonDepth levels deep, the object itself included.
bool merge_envelope(std::string_view object_json, const Fields& fields, std::string& out);
// merge_envelope with the one field name: value (the reliable tag), without a Fields list;
// `name` and `value` valid UTF-8.
bool merge_member(std::string_view object_json, std::string_view name, std::string_view value, std::string& out);

// A finite double's text as a JSON number, the shortest that reads back as the same double,
// written at `first` (room for 32 characters); returns its end. Native builds: nlohmann's
// Grisu2 and format, as its dump writes a number_float ("100.0", "1e-07";
// src/metachannel/double_chars.cpp). The wasm: JavaScript's Number-to-String ("100", "1e-7":
// the same value in another spelling; bindings/libc_wraps.cpp), so that the full core carries
// no Grisu2 (1.2 KB gzip).
extern "C" char* mc_double_chars(char* first, double value);

namespace json_text_detail {
// The cached power of ten nlohmann's to_chars reads from its table for the binary exponent e,
// computed (the writer's float format; json_text_test.cpp checks it against the table).
nlohmann::detail::dtoa_impl::cached_power cached_power(int e);
}  // namespace json_text_detail

}  // namespace mc
