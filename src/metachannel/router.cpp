#include "metachannel/router.h"

namespace mc {

namespace {

// COMPAT(lead removes when bindings switch to field slots): the old keyed kinds as fields.
struct CompatField {
  Interest kind;
  std::string_view name;
  uint32_t bit;
};
constexpr CompatField kCompatFields[] = {
    {Interest::Type, "type", route::kType},
    {Interest::Channel, "channel", route::kSubscription},
    {Interest::Room, "room", route::kRoom},
    {Interest::Reply, "re", route::kReply},
};

}  // namespace

int Router::field_slot(std::string_view field) {
  const int slot = fields_.add(field);
  if (slot >= 0) {
    for (const CompatField& c : kCompatFields) {
      if (c.name == field) compat_bits_[slot] = c.bit;
    }
  }
  return slot;
}

void Router::add(int slot, std::string_view value, int delta) {
  if (slot < 0 || slot >= fields_.size() || delta == 0) return;
  Counts& m = values_[slot];
  auto it = m.find(value);
  if (it == m.end()) {
    if (delta > 0) m.emplace(std::string(value), delta);
  } else {
    it->second += delta;
    if (it->second <= 0) m.erase(it);
  }
  if (m.empty()) {
    wanted_ &= ~(1u << slot);
  } else {
    wanted_ |= 1u << slot;
  }
}

int Router::count(int slot, std::string_view value) const {
  if (slot < 0 || slot >= fields_.size()) return 0;
  const Counts& m = values_[slot];
  auto it = m.find(value);
  return it == m.end() ? 0 : it->second;
}

uint32_t Router::route_text(const Envelope& e) const {
  uint32_t r = 0;
  if (message_ > 0) r |= route::kMessage;
  if (e.is_object()) {
    if (any_object_ > 0) r |= route::kAnyObject;
    for (uint32_t m = e.present_fields() & wanted_; m != 0; m &= m - 1) {
      const int slot = __builtin_ctz(m);
      const Counts& values = values_[slot];
      if (values.find(e.values_[slot]) != values.end()) r |= route::field(slot) | compat_bits_[slot];
    }
  }
  if (r == 0) return 0;
  if (e.is_object()) r |= route::kObject | route::kParseJson;
  else if (e.shape() == Envelope::Shape::OtherJson) r |= route::kParseJson;
  return r;
}

void Router::clear() {
  message_ = any_object_ = 0;
  wanted_ = 0;
  for (Counts& m : values_) m.clear();
}

// ---------------------------------------------------------------------------- COMPAT
// COMPAT(lead removes when bindings switch to field slots).

void Router::add(Interest kind, std::string_view key, int delta) {
  if (kind == Interest::Message) return add_message(delta);
  if (kind == Interest::AnyObject) return add_any_object(delta);
  for (const CompatField& c : kCompatFields) {
    if (c.kind == kind) return add(field_slot(c.name), key, delta);
  }
}

int Router::count(Interest kind, std::string_view key) const {
  if (kind == Interest::Message) return message_;
  if (kind == Interest::AnyObject) return any_object_;
  for (const CompatField& c : kCompatFields) {
    if (c.kind == kind) return count(fields_.find(c.name), key);
  }
  return 0;
}

}  // namespace mc
