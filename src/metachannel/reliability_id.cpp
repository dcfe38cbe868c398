// A channel's id on the wire (Reliability::id()), in both cores: the full one
// (reliability.cpp) and the lite one (reliability_lite.cpp).
#include "metachannel/reliability.h"

namespace mc {

void Reliability::make_id() {
  static const char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  id_.clear();
  for (int i = 0; i < 12; ++i) {  // 12 of 36 symbols: about 62 bits
    size_t k = static_cast<size_t>(scheduler_.random01() * 36);
    if (k > 35) k = 35;
    id_.push_back(kAlphabet[k]);
  }
}

}  // namespace mc
