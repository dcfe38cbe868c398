// PodVector (src/metachannel/pod_vector.h): the same contents as a std::vector under the same
// random operations (the Router's values and SendQueue's messages live in one).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "metachannel/pod_vector.h"

namespace {

struct Item {
  uint64_t a;
  int b;
  bool operator==(const Item& o) const { return a == o.a && b == o.b; }
};

TEST(PodVector, MatchesStdVectorOverRandomOperations) {
  std::mt19937_64 rng(21);
  for (int round = 0; round < 200; ++round) {
    mc::PodVector<Item> v;
    std::vector<Item> ref;
    for (int op = 0; op < 1000; ++op) {
      const uint64_t r = rng();
      switch (r % 8) {
        case 0:
        case 1:
        case 2:
        case 3: {
          const Item it{r, op};
          v.push_back(it);
          ref.push_back(it);
          break;
        }
        case 4:
          if (!ref.empty()) {
            v.pop_back();
            ref.pop_back();
          }
          break;
        case 5: {
          if (ref.empty()) break;
          const size_t n = 1 + (r >> 8) % ref.size();  // (erase_front takes 1 to size())
          v.erase_front(n);
          ref.erase(ref.begin(), ref.begin() + static_cast<std::ptrdiff_t>(n));
          break;
        }
        case 6:
          if ((r >> 8) % 20 == 0) {
            v.clear();
            ref.clear();
          } else if (!ref.empty()) {
            const size_t i = (r >> 8) % ref.size();
            v[i].b = -op;
            ref[i].b = -op;
          }
          break;
        default:
          if ((r >> 8) % 30 == 0) {
            v.release();
            ref = {};
          }
          break;
      }
      ASSERT_EQ(v.size(), ref.size());
      ASSERT_EQ(v.empty(), ref.empty());
      ASSERT_TRUE(std::equal(v.begin(), v.end(), ref.begin(), ref.end()));
      if (!ref.empty()) ASSERT_EQ(v.back(), ref.back());
    }
  }
}

TEST(PodVector, GrowsByDoubling) {
  mc::PodVector<int> v;
  EXPECT_EQ(v.data(), nullptr);
  std::vector<const int*> moved;
  for (int i = 0; i < 100; ++i) {
    const int* before = v.data();
    v.push_back(i);
    if (v.data() != before) moved.push_back(v.data());
  }
  EXPECT_EQ(moved.size(), 8u);  // capacity 1, 2, 4, ..., 128
  for (int i = 0; i < 100; ++i) EXPECT_EQ(v[static_cast<size_t>(i)], i);
}

}  // namespace
