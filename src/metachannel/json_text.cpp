#include "metachannel/json_text.h"

namespace mc {

std::string dump_json(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json parse_json_limited(std::string_view text) {
  bool too_deep = false;
  const auto limit_depth = [&too_deep](int depth, nlohmann::detail::parse_event_t event, Json&) {
    if ((event == nlohmann::detail::parse_event_t::object_start ||
         event == nlohmann::detail::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth) {
      too_deep = true;
      return false;  // discard it (and everything inside) rather than build it
    }
    return true;
  };
  Json j = Json::parse(text.begin(), text.end(), limit_depth, /*allow_exceptions=*/false);
  return too_deep ? Json(Json::value_t::discarded) : j;
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
