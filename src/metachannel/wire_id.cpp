// A channel's id on the wire (Channel::id(), Reliability::id()), in both cores.
#include <cstddef>

#include "metachannel/delivery.h"

namespace mc {

bool valid_wire_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string random_wire_id(Scheduler& scheduler) {
  static const char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  char id[12];
  for (char& c : id) {  // 12 of 36 symbols: about 62 bits
    size_t k = static_cast<size_t>(scheduler.random01() * 36);
    if (k > 35) k = 35;
    c = kAlphabet[k];
  }
  return std::string(id, sizeof(id));
}

}  // namespace mc
