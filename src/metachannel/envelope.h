// Envelope: what the channel needs to know about a text frame to route it, found in one
// pass over the bytes without building a JSON document.
//
// Only the top-level members of a JSON object are looked at, and only the string values of
// the routing fields (type, channel, room, re). Nested values are skipped by bracket matching.
// Full validation is left to whoever turns the frame into a value (JSON.parse in JS), because
// that parse has to happen anyway; the scanner never calls a malformed frame an object it
// could route wrongly: whatever it cannot read to the end is `Shape::Text`.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace mc {

class Envelope {
 public:
  enum class Shape : unsigned char {
    Text,       // not JSON (or not well-formed enough to route): delivered as a string
    Object,     // a JSON object: routed by its fields
    OtherJson,  // starts like another JSON value (array, number, string, literal)
  };

  // Scans `data`. Never reads past `size`, never recurses (depth is counted, not stacked).
  void scan(const char* data, size_t size);

  Shape shape() const { return shape_; }
  bool is_object() const { return shape_ == Shape::Object; }

  // Each field: present only if the member exists and its value is a JSON string.
  // The views point into the scanned frame, or into this Envelope when the string had escapes.
  bool has_type() const { return has_type_; }
  std::string_view type() const { return type_; }
  bool has_channel() const { return has_channel_; }
  std::string_view channel() const { return channel_; }
  bool has_room() const { return has_room_; }
  std::string_view room() const { return room_; }
  bool has_reply_to() const { return has_re_; }
  std::string_view reply_to() const { return re_; }

 private:
  friend struct EnvelopeCursor;
  void reset();
  bool scan_object(struct EnvelopeCursor& c);
  Shape shape_ = Shape::Text;
  bool has_type_ = false, has_channel_ = false, has_room_ = false, has_re_ = false;
  std::string_view type_, channel_, room_, re_;
  // Storage for unescaped values (rare: only when a routing string contains a backslash).
  std::string type_buf_, channel_buf_, room_buf_, re_buf_, key_buf_;
};

// Decodes the body of a JSON string (between the quotes) into UTF-8. Returns false on an
// invalid escape. Exposed for tests.
bool json_unescape(std::string_view body, std::string& out);

}  // namespace mc
