#include "metachannel/wire.h"

#include <nlohmann/json.hpp>

namespace mc {
namespace {

using nlohmann::ordered_json;

std::string dump(const ordered_json& j) {
  // replace: a lone surrogate from JS becomes U+FFFD instead of aborting (no exceptions here).
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

}  // namespace

std::string make_envelope(std::string_view type, const Fields& fields) {
  ordered_json j = ordered_json::object();
  j["type"] = std::string(type);
  for (const auto& [k, v] : fields) j[k] = v;
  return dump(j);
}

bool merge_envelope(std::string_view object_json, const Fields& fields, std::string& out) {
  out.clear();
  // Copying and dumping a json value recurse once per level of nesting: refuse deep input
  // instead of running out of stack (the wasm stack is small). The parse itself is iterative.
  bool too_deep = false;
  const auto limit_depth = [&too_deep](int depth, nlohmann::detail::parse_event_t event, ordered_json&) {
    if ((event == nlohmann::detail::parse_event_t::object_start ||
         event == nlohmann::detail::parse_event_t::array_start) &&
        depth >= kMaxMergeDepth) {
      too_deep = true;
      return false;  // discard it (and everything inside) rather than build it
    }
    return true;
  };
  ordered_json j = object_json.empty() ? ordered_json::object()
                                       : ordered_json::parse(object_json.begin(), object_json.end(), limit_depth,
                                                             /*allow_exceptions=*/false);
  if (too_deep || !j.is_object()) return false;
  for (const auto& [k, v] : fields) j[k] = v;
  out = dump(j);
  return true;
}

}  // namespace mc
