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
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metachannel/envelope.h"
#include "metachannel/pod_vector.h"
#include "metachannel/vocabulary.h"

namespace mc {

// Bits of a route, passed to JS with each delivered frame: the list is MC_ROUTE_BITS in
// vocabulary.h (emitted to JS as ROUTE). A frame is delivered iff one of kDeliverMask's bits
// is set; the others describe it.
namespace route {
#define MC_X(name, bit, js, doc) constexpr uint32_t name = 1u << (bit);
MC_ROUTE_BITS(MC_X)
#undef MC_X
constexpr uint32_t kFieldMask = ((1u << FieldSet::kMaxFields) - 1) * kFieldBase;
constexpr uint32_t kDeliverMask = 0xFFu | kFieldMask;
constexpr uint32_t field(int slot) { return kFieldBase << slot; }
static_assert(FieldSet::kMaxFields == kMaxRouteFields, "vocabulary.h says how many fields JS may route on");
static_assert((kFieldMask & (kParseJson | kObject | kBinary | kSequenced | kLate)) == 0 && (kFieldMask >> 31) == 0,
              "field bits must not overlap the flags, and must fit an int for JS");
}  // namespace route

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
  // A text frame the JS layer routes by its own JSON.parse (the Route receive plan):
  // kUnscanned and the interest a frame could match (MESSAGE; ANY; FIELD of slot 0, "type"),
  // of which JS keeps what the parsed frame confirms; 0 when no frame could be wanted.
  uint32_t route_unscanned() const;
  // True when the JS layer can route a frame as route_text() would: no member but "type" has
  // interest, and JS mirrors the interest in "type" (set_js_mirrors_type).
  bool unscanned_ok() const { return js_mirrors_type_ && (wanted_ & ~1u) == 0; }
  // The receive prefilter (Channel::update_prefilter): true when every frame route_text()
  // could deliver contains, in its raw JSON text, one of the strings written to `out` (each a
  // wanted value between double quotes, NUL-separated) or a backslash (an escape may spell
  // a wanted value otherwise). A frame with neither is wanted by nobody and can be dropped
  // unread. False when there is no such list (interest in every frame or every object), when
  // the JS fast path routes frames anyway (unscanned_ok), or when it would be longer than
  // kMaxPrefilterValues values (a map lookup per frame in the core is cheaper then).
  bool prefilter(std::string& out) const;
  static constexpr size_t kMaxPrefilterValues = 8;
  // False once the interest in "type" comes from more than the JS onMessage() listeners.
  void set_js_mirrors_type(bool on) { js_mirrors_type_ = on; }
  // Drops all interest; the field slots stay.
  void clear();

  Router() = default;
  ~Router() { clear(); }
  Router(const Router&) = delete;  // (the values' bytes are owned)
  Router& operator=(const Router&) = delete;

 private:
  // A value with interest and its count. Its bytes are its own (new[], freed by add() and
  // clear()): a plain struct, so the vector grows, inserts and erases by copying bytes, with
  // none of std::string's moves and destructors in the wasm (and a PodVector: one growth path).
  struct Value {
    char* data;
    size_t size;
    int count;
    std::string_view view() const { return {data, size}; }
  };
  // The values of one slot with interest, sorted by value (a handful per slot: a sorted vector
  // is a binary search per frame like a map, with less code in the wasm than a red-black tree).
  using Counts = PodVector<Value>;
  // The entry for `value` in `m`, or where it would be inserted.
  static const Value* lower(const Counts& m, std::string_view value);
  static bool holds(const Counts& m, std::string_view value);
  static void bump(int& count, int delta) { count = count + delta < 0 ? 0 : count + delta; }
  FieldSet fields_;
  int message_ = 0;
  int any_object_ = 0;
  uint32_t wanted_ = 0;  // bit s: some value of slot s has interest
  bool js_mirrors_type_ = true;
  Counts values_[FieldSet::kMaxFields];
};

}  // namespace mc
