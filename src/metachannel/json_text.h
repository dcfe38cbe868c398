// nlohmann/json as the core uses it for control messages (wire.cpp, reliability.cpp): one
// compact serialiser and one depth-limited parser, so hostile input can neither abort nor
// exhaust the small wasm stack.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace mc {

using Json = nlohmann::ordered_json;  // members in the order written: "type" first

// Copying and dumping a json value recurse once per level: nothing deeper is accepted.
constexpr int kMaxJsonDepth = 100;

// Compact JSON; a lone surrogate from JS becomes U+FFFD instead of aborting (no exceptions).
std::string dump_json(const Json& j);

// `text` parsed (iteratively), or a discarded value when it is not JSON or nests objects and
// arrays more than kMaxJsonDepth levels deep (the outermost included).
Json parse_json_limited(std::string_view text);

}  // namespace mc
