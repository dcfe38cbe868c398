// Router: decides, in C++, who wants a frame, before JS builds any object for it. JS mirrors
// its listeners here as interest counts; a frame nobody is interested in is dropped unread.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "metachannel/envelope.h"

namespace mc {

// Bits of a route, passed to JS with each delivered frame.
namespace route {
constexpr uint32_t kMessage = 1u << 0;       // on("message") listeners
constexpr uint32_t kType = 1u << 1;          // onMessage(type) listeners for this frame's type
constexpr uint32_t kAnyObject = 1u << 2;     // onMessage("*") listeners, and the frame is an object
constexpr uint32_t kSubscription = 1u << 3;  // a LiveDataClient subscribed to its "channel"
constexpr uint32_t kRoom = 1u << 4;          // a ChatClient joined its "room"
constexpr uint32_t kReply = 1u << 5;         // a pending request() awaits its "re"
constexpr uint32_t kParseJson = 1u << 8;     // looks like JSON: JS should JSON.parse it
constexpr uint32_t kObject = 1u << 9;        // a JSON object (by the scanner)
constexpr uint32_t kBinary = 1u << 10;
constexpr uint32_t kSequenced = 1u << 11;    // carries a valid "_mc" tag of a reliable sender (meta.from/seq)
constexpr uint32_t kLate = 1u << 12;         // delivered after waiting for a gap: not the frame just received
constexpr uint32_t kDeliverMask = 0xFF;
}  // namespace route

enum class Interest : uint8_t { Message = 0, AnyObject = 1, Type = 2, Channel = 3, Room = 4, Reply = 5 };

class Router {
 public:
  // Adds `delta` (+1 or -1) listeners of `kind` (for keyed kinds, on `key`).
  void add(Interest kind, std::string_view key, int delta);
  int count(Interest kind, std::string_view key = {}) const;
  uint32_t route_text(const Envelope& e) const;
  uint32_t route_binary() const { return message_ > 0 ? (route::kMessage | route::kBinary) : 0; }
  void clear();

 private:
  using Counts = std::map<std::string, int, std::less<>>;
  static void bump(Counts& m, std::string_view key, int delta);
  static bool has(const Counts& m, std::string_view key) {
    return !m.empty() && m.find(key) != m.end();
  }
  int message_ = 0;
  int any_object_ = 0;
  Counts types_, channels_, rooms_, replies_;
};

}  // namespace mc
