#include "metachannel/router.h"

#include <algorithm>
#include <cstring>

namespace mc {

int Router::field_slot(std::string_view field) { return fields_.add(field); }

const Router::Value* Router::lower(const Counts& m, std::string_view value) {
  return std::lower_bound(m.begin(), m.end(), value, [](const Value& e, std::string_view v) { return e.view() < v; });
}

bool Router::holds(const Counts& m, std::string_view value) {
  const auto it = lower(m, value);
  return it != m.end() && it->view() == value;
}

void Router::add(int slot, std::string_view value, int delta) {
  if (slot < 0 || slot >= fields_.size() || delta == 0) return;
  Counts& m = values_[slot];
  // Moved into place by copying bytes (Value is a plain struct).
  const size_t i = static_cast<size_t>(lower(m, value) - m.begin());
  if (i == m.size() || m[i].view() != value) {
    if (delta <= 0) return;
    char* const bytes = new char[value.size()];
    std::memcpy(bytes, value.data(), value.size());
    m.push_back(Value{bytes, value.size(), delta});
    const Value added = m.back();
    std::memmove(m.data() + i + 1, m.data() + i, (m.size() - 1 - i) * sizeof(Value));
    m[i] = added;
  } else if ((m[i].count += delta) <= 0) {
    delete[] m[i].data;
    std::memmove(m.data() + i, m.data() + i + 1, (m.size() - 1 - i) * sizeof(Value));
    m.pop_back();
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
  const auto it = lower(m, value);
  return it != m.end() && it->view() == value ? it->count : 0;
}

uint32_t Router::route_text(const Envelope& e) const {
  uint32_t r = 0;
  if (message_ > 0) r |= route::kMessage;
  if (e.is_object()) {
    if (any_object_ > 0) r |= route::kAnyObject;
    for (uint32_t m = e.present_fields() & wanted_; m != 0; m &= m - 1) {
      const int slot = __builtin_ctz(m);
      if (holds(values_[slot], e.values_[slot])) r |= route::field(slot);
    }
  }
  if (r == 0) return 0;
  if (e.is_object()) r |= route::kObject | route::kParseJson;
  else if (e.shape() == Envelope::Shape::OtherJson) r |= route::kParseJson;
  return r;
}

uint32_t Router::route_unscanned() const {
  uint32_t r = 0;
  if (message_ > 0) r |= route::kMessage;
  if (any_object_ > 0) r |= route::kAnyObject;
  if (wanted_ & 1u) r |= route::field(0);
  return r ? r | route::kUnscanned : 0;
}

bool Router::prefilter(std::string& out) const {
  out.clear();
  if (message_ > 0 || any_object_ > 0 || unscanned_ok()) return false;
  size_t values = 0;
  for (int slot = 0; slot < fields_.size(); ++slot) {
    for (const Value& v : values_[slot]) {
      const std::string_view value = v.view();
      if (++values > kMaxPrefilterValues) {
        out.clear();
        return false;
      }
      // A scanned value is the text between its quotes as written, or unescaped from a frame
      // that has a backslash: `"value"` is in the raw text of every frame without one that
      // matches (a value that needs escaping can only match a frame with a backslash). After
      // the first, a NUL before it. (append, not push_back: no growth path of its own.)
      static constexpr char kOpen[] = {'\0', '"'};
      const bool first = out.empty();
      out.append(kOpen + (first ? 1 : 0), first ? 1 : 2);
      out.append(value);
      out.append(kOpen + 1, 1);
    }
  }
  return true;
}

void Router::clear() {
  message_ = any_object_ = 0;
  wanted_ = 0;
  for (Counts& m : values_) {
    for (const Value& v : m) delete[] v.data;
    m.clear();
  }
}

}  // namespace mc
