#include "metachannel/router.h"

namespace mc {

void Router::bump(Counts& m, std::string_view key, int delta) {
  auto it = m.find(key);
  if (it == m.end()) {
    if (delta > 0) m.emplace(std::string(key), delta);
    return;
  }
  it->second += delta;
  if (it->second <= 0) m.erase(it);
}

void Router::add(Interest kind, std::string_view key, int delta) {
  switch (kind) {
    case Interest::Message: message_ = message_ + delta < 0 ? 0 : message_ + delta; break;
    case Interest::AnyObject: any_object_ = any_object_ + delta < 0 ? 0 : any_object_ + delta; break;
    case Interest::Type: bump(types_, key, delta); break;
    case Interest::Channel: bump(channels_, key, delta); break;
    case Interest::Room: bump(rooms_, key, delta); break;
    case Interest::Reply: bump(replies_, key, delta); break;
  }
}

int Router::count(Interest kind, std::string_view key) const {
  auto get = [key](const Counts& m) {
    auto it = m.find(key);
    return it == m.end() ? 0 : it->second;
  };
  switch (kind) {
    case Interest::Message: return message_;
    case Interest::AnyObject: return any_object_;
    case Interest::Type: return get(types_);
    case Interest::Channel: return get(channels_);
    case Interest::Room: return get(rooms_);
    case Interest::Reply: return get(replies_);
  }
  return 0;
}

uint32_t Router::route_text(const Envelope& e) const {
  uint32_t r = 0;
  if (message_ > 0) r |= route::kMessage;
  if (e.is_object()) {
    if (any_object_ > 0) r |= route::kAnyObject;
    if (e.has_type() && has(types_, e.type())) r |= route::kType;
    if (e.has_channel() && has(channels_, e.channel())) r |= route::kSubscription;
    if (e.has_room() && has(rooms_, e.room())) r |= route::kRoom;
    if (e.has_reply_to() && has(replies_, e.reply_to())) r |= route::kReply;
  }
  if (r == 0) return 0;
  if (e.is_object()) r |= route::kObject | route::kParseJson;
  else if (e.shape() == Envelope::Shape::OtherJson) r |= route::kParseJson;
  return r;
}

void Router::clear() {
  message_ = any_object_ = 0;
  types_.clear();
  channels_.clear();
  rooms_.clear();
  replies_.clear();
}

}  // namespace mc
