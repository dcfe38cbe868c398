// Envelope: what the channel needs to know about a text frame to route it, found in one
// pass over the bytes without building a JSON document.
//
// Only the top-level members of a JSON object are looked at, and only the string values of
// the routing fields (the member names of a FieldSet, by slot) are kept: views into the frame,
// no allocation per frame (a value with a backslash is decoded into a per-slot buffer that
// keeps its capacity). The whole frame is validated on the
// way (grammar, escapes, UTF-8; nested values without recursion), so `Shape::Object` means
// JSON.parse will return an object with these fields: whatever is not well-formed JSON is
// `Shape::Text`. As in JSON.parse, a lone \uD800-style escape is accepted (decoded as
// U+FFFD here), a number too large for a double is accepted, and a NUL byte or a byte-order
// mark outside a string is an error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "metachannel/vocabulary.h"

namespace mc {

// The member names the scanner extracts, each at a slot (0 .. kMaxFields-1) that never
// changes once given. Slot 0 is always "type": onMessage(type) routes on it and the reliability
// layer reads it for its control frames.
class FieldSet {
 public:
  static constexpr int kMaxFields = kMaxRouteFields;  // vocabulary.h
  static constexpr int kTypeSlot = 0;

  FieldSet() { add("type"); }

  // The slot of `name`, registering it on first use. -1 (and nothing registered) when all
  // slots are taken, or `name` is invalid: empty, not well-formed UTF-8 (no member name of
  // a valid frame could match it), or the reserved "_mc" (the reliability tag, see below).
  int add(std::string_view name);
  // The slot of `name`, or -1 if it is not registered.
  int find(std::string_view name) const;
  int size() const { return size_; }
  std::string_view name(int slot) const;

 private:
  friend class Envelope;
  // A one-word filter of (length, first byte, last byte): bit filter_bit() is set for every
  // registered name, so most member names of a frame, none of them, are passed over without
  // a compare ("text" and "type" fall on different bits).
  static unsigned filter_bit(std::string_view name) {
    const auto byte = [name](size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(name[i])); };
    return (byte(0) * 5u + byte(name.size() - 1) * 3u + static_cast<unsigned>(name.size())) & 63u;
  }
  bool may_match(std::string_view name) const { return !name.empty() && ((filter_ >> filter_bit(name)) & 1u); }
  // The slot of the member name `key` (which may_match), or -1. `head`: head8() of key
  // (envelope.cpp), when the caller has it.
  int match(std::string_view key) const;
  int match(std::string_view key, uint64_t head) const;
  // The names of slots 0, 1, ... one after the other (length_ says where each ends): one string,
  // not one per slot (8 constructed and destroyed with every FieldSet).
  std::string names_;
  // Per slot: the name's length and a number made of its first bytes (head8() in envelope.cpp),
  // so a name is mostly told apart without a memcmp call.
  size_t length_[kMaxFields] = {};
  uint64_t head_[kMaxFields] = {};
  int size_ = 0;
  uint64_t filter_ = 0;
};

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

  // Scans `data`, extracting the members named in `fields` (which must outlive the views
  // read from this Envelope, and must not change until the next scan). Never reads past
  // `size`, never recurses (nesting is kept on a byte stack).
  void scan(const char* data, size_t size, const FieldSet& fields);
  // The same, extracting only "type" (slot 0).
  void scan(const char* data, size_t size);

  Shape shape() const { return shape_; }
  bool is_object() const { return shape_ == Shape::Object; }

  // The field at `slot` of the FieldSet scanned with: present only if the object has a
  // top-level member of that name and its value is a JSON string (of duplicate members the
  // last one counts, as in JSON.parse). The view points into the scanned frame, or into this
  // Envelope when the string had escapes.
  bool has_field(int slot) const { return slot >= 0 && slot < FieldSet::kMaxFields && ((present_ >> slot) & 1u); }
  std::string_view field(int slot) const { return has_field(slot) ? values_[slot] : std::string_view(); }
  // Bit `slot` set for every present field.
  uint32_t present_fields() const { return present_; }
  bool has_type() const { return has_field(FieldSet::kTypeSlot); }
  std::string_view type() const { return field(FieldSet::kTypeSlot); }
  // "_mc", the reserved member of a reliable channel (src/metachannel/reliability.h): present
  // only if the member occurs exactly once and its value is a string. tag_members() counts
  // the members of that name, whatever their values. Under MC_NO_DELIVERY (the lite core, which
  // has no reliability layer to read it) the tag is not looked for: no tag, 0 members.
  bool has_tag() const { return tag_members_ == 1 && has_tag_; }
  std::string_view tag() const { return tag_; }
  unsigned tag_members() const { return tag_members_; }

 private:
  friend struct EnvelopeCursor;
  friend class Router;  // reads values_ of the slots present_fields() names, unchecked
  void reset();
  bool scan_object(struct EnvelopeCursor& c, const FieldSet& fields);
  Shape shape_ = Shape::Text;
  bool has_tag_ = false;
  uint32_t present_ = 0;
  unsigned tag_members_ = 0;
  std::string_view values_[FieldSet::kMaxFields];
  std::string_view tag_;
  // Storage for unescaped values (rare: only when a routing string contains a backslash).
  std::string bufs_[FieldSet::kMaxFields];
  std::string key_buf_;
  std::string open_;  // the containers a skipped value is inside (skip_value in envelope.cpp)
#ifndef MC_NO_DELIVERY
  std::string tag_buf_;  // (the lite core reads no tag: MC_NO_DELIVERY, channel.h)
#endif
};

// Decodes the body of a JSON string (between the quotes) into UTF-8. Returns false on an
// invalid escape. Exposed for tests.
bool json_unescape(std::string_view body, std::string& out);

}  // namespace mc
