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
  ordered_json j = object_json.empty()
                       ? ordered_json::object()
                       : ordered_json::parse(object_json.begin(), object_json.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;
  for (const auto& [k, v] : fields) j[k] = v;
  out = dump(j);
  return true;
}

}  // namespace mc
