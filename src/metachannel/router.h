// Router: decides, in C++, who wants a frame, before JS builds any object for it. JS mirrors
// its listeners here as interest counts; a frame nobody is interested in is dropped unread.
//
// Interest is either unkeyed (on("message"): every frame; onMessage("*"): every object) or
// keyed on a (field, value) pair: a top-level member name registered at run time with
// field_slot() (up to FieldSet::kMaxFields of them per channel; slot 0 is "type", so
// onMessage(type) is the field "type" with that value) and a string value. Nothing in C++
// knows what a client routes on.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "metachannel/envelope.h"

namespace mc {

// Bits of a route, passed to JS with each delivered frame. The one list is MC_ROUTE_BITS
// (constant, bit, JS name: the key in js/channel.js's ROUTE, so the list can be emitted to JS
// from here; js has no BINARY or FIELD yet); the table says what each bit means.
//
//   bit    constant       JS            meaning
//   0      kMessage       MESSAGE       on("message") listeners
//   1      kType          TYPE          COMPAT: field "type" matched (= kFieldBase << 0)
//   2      kAnyObject     ANY           onMessage("*") listeners, and the frame is an object
//   3      kSubscription  SUBSCRIPTION  COMPAT: field "channel" matched
//   4      kRoom          ROOM          COMPAT: field "room" matched
//   5      kReply         REPLY         COMPAT: field "re" matched
//   6-7    (free)
//   8      kParseJson     PARSE         looks like JSON: JS should JSON.parse it
//   9      kObject        OBJECT        a JSON object (by the scanner)
//   10     kBinary        BINARY        a binary frame
//   11     kSequenced     SEQ           a valid "_mc" tag of a reliable sender (meta.from/seq)
//   12     kLate          LATE          delivered after waiting for a gap: not the frame just received
//   13-15  (free)
//   16-23  kFieldBase<<s  FIELD         the field at slot s has a value somebody wants
//
// A frame is delivered iff one of kDeliverMask's bits is set; the others describe it.
#define MC_ROUTE_BITS(X)                        \
  X(kMessage, 0, "MESSAGE")                     \
  X(kType, 1, "TYPE")                           \
  X(kAnyObject, 2, "ANY")                       \
  X(kSubscription, 3, "SUBSCRIPTION")           \
  X(kRoom, 4, "ROOM")                           \
  X(kReply, 5, "REPLY")                         \
  X(kParseJson, 8, "PARSE")                     \
  X(kObject, 9, "OBJECT")                       \
  X(kBinary, 10, "BINARY")                      \
  X(kSequenced, 11, "SEQ")                      \
  X(kLate, 12, "LATE")                          \
  X(kFieldBase, 16, "FIELD")

namespace route {
#define MC_ROUTE_CONSTANT(name, bit, js) constexpr uint32_t name = 1u << (bit);
MC_ROUTE_BITS(MC_ROUTE_CONSTANT)
#undef MC_ROUTE_CONSTANT
constexpr uint32_t kFieldMask = ((1u << FieldSet::kMaxFields) - 1) * kFieldBase;
constexpr uint32_t kDeliverMask = 0xFFu | kFieldMask;
constexpr uint32_t field(int slot) { return kFieldBase << slot; }
static_assert((kFieldMask & (kParseJson | kObject | kBinary | kSequenced | kLate)) == 0 && (kFieldMask >> 31) == 0,
              "field bits must not overlap the flags, and must fit an int for JS");
}  // namespace route

// COMPAT(lead removes when bindings switch to field slots): the interest kinds bindings.cpp
// and js/channel.js still pass by number.
enum class Interest : uint8_t { Message = 0, AnyObject = 1, Type = 2, Channel = 3, Room = 4, Reply = 5 };

class Router {
 public:
  // The slot of the top-level member `field`, registering it on first use; -1 (and nothing
  // registered) when all slots are taken or the name is invalid (FieldSet::add). Stable for
  // the Router's life: clear() and interest dropping to 0 keep it.
  int field_slot(std::string_view field);
  // The names to scan frames with: route_text() expects an Envelope scanned with them.
  const FieldSet& fields() const { return fields_; }

  // Adds `delta` (+1 or -1) to the interest in frames whose field at `slot` is the string
  // `value`. A count never goes below 0; an unregistered slot is ignored.
  void add(int slot, std::string_view value, int delta);
  void add_message(int delta) { bump(message_, delta); }
  void add_any_object(int delta) { bump(any_object_, delta); }
  int count(int slot, std::string_view value) const;
  int message_count() const { return message_; }
  int any_object_count() const { return any_object_; }

  uint32_t route_text(const Envelope& e) const;
  uint32_t route_binary() const { return message_ > 0 ? (route::kMessage | route::kBinary) : 0; }
  // Drops all interest; the field slots stay.
  void clear();

  // COMPAT(lead removes when bindings switch to field slots): Type/Channel/Room/Reply are the
  // fields "type"/"channel"/"room"/"re", and route_text() adds kType/kSubscription/kRoom/
  // kReply for them, as js/channel.js expects.
  void add(Interest kind, std::string_view key, int delta);
  int count(Interest kind, std::string_view key = {}) const;

 private:
  using Counts = std::map<std::string, int, std::less<>>;
  static void bump(int& count, int delta) { count = count + delta < 0 ? 0 : count + delta; }
  FieldSet fields_;
  int message_ = 0;
  int any_object_ = 0;
  uint32_t wanted_ = 0;  // bit s: some value of slot s has interest
  Counts values_[FieldSet::kMaxFields];
  // COMPAT(lead removes when bindings switch to field slots): the old bit a slot's match adds.
  uint32_t compat_bits_[FieldSet::kMaxFields] = {route::kType};
};

}  // namespace mc
