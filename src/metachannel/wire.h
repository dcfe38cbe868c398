// Wire: the control envelopes the SDK itself writes (subscribe, chat join/leave, request and
// reply ids), built with nlohmann/json so escaping is always right. Incoming frames are never
// parsed into a document here: see Envelope for routing.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mc {

using Fields = std::vector<std::pair<std::string, std::string>>;

// {"type": type, <fields...>} with string values, in the order given.
std::string make_envelope(std::string_view type, const Fields& fields);

// Adds string `fields` to a JSON object given as text (`{}` if empty), replacing members of
// the same name. Returns false (and leaves `out` empty) if `object_json` is not a JSON object,
// or nests objects/arrays more than kMaxJsonDepth (json_text.h) levels deep, the object itself
// included.
bool merge_envelope(std::string_view object_json, const Fields& fields, std::string& out);

}  // namespace mc
