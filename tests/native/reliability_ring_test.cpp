// Ring, the resend buffer's container (reliability.h): a deque's operations the buffer uses,
// across wrap-around and growth, checked against std::deque.
#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <string>

#include "metachannel/reliability.h"

namespace {

TEST(Ring, BehavesAsADequeAcrossWrapAndGrowth) {
  mc::Ring<std::string> ring;
  std::deque<std::string> ref;
  std::mt19937 rng(7);
  for (int step = 0; step < 200000; ++step) {
    const unsigned op = rng() % 10;
    if (op < 6) {
      const std::string s = std::to_string(step);
      ring.push_back(s);
      ref.push_back(s);
    } else if (op < 9) {
      if (!ref.empty()) {
        ring.pop_front();
        ref.pop_front();
      }
    } else if (rng() % 50 == 0) {
      ring.clear();
      ref.clear();
    }
    ASSERT_EQ(ring.size(), ref.size());
    ASSERT_EQ(ring.empty(), ref.empty());
    if (!ref.empty()) {
      ASSERT_EQ(ring.front(), ref.front());
      const size_t i = rng() % ref.size();
      ASSERT_EQ(ring[i], ref[i]);
      ASSERT_EQ(ring[ref.size() - 1], ref.back());
    }
    if (step % 997 == 0) {
      size_t i = 0;
      for (std::string& s : ring) ASSERT_EQ(s, ref[i++]);
      ASSERT_EQ(i, ref.size());
    }
  }
}

}  // namespace
