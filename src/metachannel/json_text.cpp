#include "metachannel/json_text.h"

namespace mc {

std::string dump_json(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

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
