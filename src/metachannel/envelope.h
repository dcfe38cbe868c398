// Envelope: what the channel needs to know about a text frame to route it, found in one
// pass over the bytes without building a JSON document.
//
// Only the top-level members of a JSON object are looked at, and only the string values of
// the routing fields (type, channel, room, re) are kept. The whole frame is validated on the
// way (grammar, escapes, UTF-8; nested values without recursion), so `Shape::Object` means
// JSON.parse will return an object with these fields: whatever is not well-formed JSON is
// `Shape::Text`. As in JSON.parse, a lone \uD800-style escape is accepted (decoded as
// U+FFFD here), a number too large for a double is accepted, and a NUL byte or a byte-order
// mark outside a string is an error.
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

  Envelope() = default;
  // Not copyable: a copy's field views would point into the original's buffers.
  Envelope(const Envelope&) = delete;
  Envelope& operator=(const Envelope&) = delete;

  // Scans `data`. Never reads past `size`, never recurses (nesting is kept on a byte stack).
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
  // "_mc", the reserved member of a reliable channel (src/metachannel/reliability.h): present
  // only if the member occurs exactly once and its value is a string. tag_members() counts
  // the members of that name, whatever their values.
  bool has_tag() const { return tag_members_ == 1 && has_tag_; }
  std::string_view tag() const { return tag_; }
  unsigned tag_members() const { return tag_members_; }

 private:
  friend struct EnvelopeCursor;
  void reset();
  bool scan_object(struct EnvelopeCursor& c);
  Shape shape_ = Shape::Text;
  bool has_type_ = false, has_channel_ = false, has_room_ = false, has_re_ = false, has_tag_ = false;
  unsigned tag_members_ = 0;
  std::string_view type_, channel_, room_, re_, tag_;
  // Storage for unescaped values (rare: only when a routing string contains a backslash).
  std::string type_buf_, channel_buf_, room_buf_, re_buf_, tag_buf_, key_buf_;
};

// Decodes the body of a JSON string (between the quotes) into UTF-8. Returns false on an
// invalid escape. Exposed for tests.
bool json_unescape(std::string_view body, std::string& out);

}  // namespace mc
