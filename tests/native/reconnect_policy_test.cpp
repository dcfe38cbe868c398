// ReconnectPolicy: backoff, jitter bounds, retry limit, close-code verdicts.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "metachannel/reconnect_policy.h"

namespace {

using mc::ReconnectOptions;
using mc::ReconnectPolicy;
using Verdict = mc::ReconnectPolicy::CloseVerdict;

// The largest double below 1: random01() never returns 1 itself.
const double kAlmostOne = std::nextafter(1.0, 0.0);

ReconnectOptions fraction(double f) {
  ReconnectOptions o;
  o.full_jitter = false;
  o.jitter_fraction = f;
  return o;
}

TEST(ReconnectPolicy, DefaultsMatchTheContract) {
  const ReconnectOptions o;
  EXPECT_TRUE(o.enabled);
  EXPECT_EQ(o.min_delay_ms, 500);
  EXPECT_EQ(o.max_delay_ms, 30000);
  EXPECT_EQ(o.factor, 2);
  EXPECT_TRUE(o.full_jitter);
  EXPECT_TRUE(std::isinf(o.max_retries));
}

TEST(ReconnectPolicy, BaseDelaysForAttemptsOneToTen) {
  const ReconnectPolicy p;  // min 500, factor 2, max 30000
  const std::vector<double> expected = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000};
  for (uint32_t attempt = 1; attempt <= 10; ++attempt) {
    SCOPED_TRACE(attempt);
    EXPECT_EQ(p.base_delay(attempt), expected[attempt - 1]);
  }
  EXPECT_EQ(p.base_delay(0), 0);
}

TEST(ReconnectPolicy, CapHoldsForHugeAttempts) {
  const ReconnectPolicy p;
  EXPECT_EQ(p.base_delay(100), 30000);
  EXPECT_EQ(p.base_delay(2000), 30000);  // pow() overflows to inf here
  EXPECT_EQ(p.base_delay(std::numeric_limits<uint32_t>::max()), 30000);
  ReconnectOptions o;
  o.factor = 1;
  o.min_delay_ms = 700;
  const ReconnectPolicy flat(o);
  EXPECT_EQ(flat.base_delay(1), 700);
  EXPECT_EQ(flat.base_delay(50), 700);
  ReconnectOptions c;
  c.min_delay_ms = 100;
  c.factor = 3;
  c.max_delay_ms = 1000;
  const ReconnectPolicy three(c);
  EXPECT_EQ(three.base_delay(1), 100);
  EXPECT_EQ(three.base_delay(2), 300);
  EXPECT_EQ(three.base_delay(3), 900);
  EXPECT_EQ(three.base_delay(4), 1000);
}

// base_delay() multiplies by squaring, not with std::pow: for factors whose powers are not
// exact in a double it may differ from pow() in the last bits, never by more.
TEST(ReconnectPolicy, BaseDelayIsMinTimesFactorPowerForAnyFactor) {
  for (const double factor : {1.1, 1.3, 1.5, 1.7, 2.5, 3.14159, 10.0}) {
    ReconnectOptions o;
    o.min_delay_ms = 250;
    o.factor = factor;
    o.max_delay_ms = std::numeric_limits<double>::max();
    const ReconnectPolicy p(o);
    for (uint32_t attempt = 1; attempt <= 40; ++attempt) {
      SCOPED_TRACE(testing::Message() << "factor " << factor << ", attempt " << attempt);
      const double expected = 250 * std::pow(factor, attempt - 1);
      EXPECT_NEAR(p.base_delay(attempt), expected, expected * 1e-14);
    }
  }
}

TEST(ReconnectPolicy, FullJitterIsUniformInZeroToBase) {
  const ReconnectPolicy p;
  for (uint32_t attempt = 1; attempt <= 10; ++attempt) {
    SCOPED_TRACE(attempt);
    const double base = p.base_delay(attempt);
    EXPECT_EQ(p.delay(attempt, 0), 0);
    EXPECT_EQ(p.delay(attempt, 0.5), base / 2);
    EXPECT_EQ(p.delay(attempt, 0.25), base / 4);
    EXPECT_LE(p.delay(attempt, kAlmostOne), base);
    EXPECT_NEAR(p.delay(attempt, kAlmostOne), base, 1e-9);
    EXPECT_EQ(p.lower_bound(attempt), 0);
    EXPECT_EQ(p.upper_bound(attempt), base);
  }
}

TEST(ReconnectPolicy, FractionJitterIsBaseTimesOnePlusMinusF) {
  const ReconnectPolicy p(fraction(0.2));
  for (uint32_t attempt = 1; attempt <= 10; ++attempt) {
    SCOPED_TRACE(attempt);
    const double base = p.base_delay(attempt);
    EXPECT_DOUBLE_EQ(p.delay(attempt, 0), base * 0.8);
    EXPECT_DOUBLE_EQ(p.delay(attempt, 0.5), base);
    EXPECT_NEAR(p.delay(attempt, kAlmostOne), base * 1.2, 1e-6);
    EXPECT_LE(p.delay(attempt, kAlmostOne), base * 1.2);  // the bounds are inclusive (rounding)
    EXPECT_DOUBLE_EQ(p.lower_bound(attempt), base * 0.8);
    EXPECT_DOUBLE_EQ(p.upper_bound(attempt), base * 1.2);
    for (double u : {0.0, 0.1, 0.37, 0.5, 0.9, kAlmostOne}) {
      EXPECT_GE(p.delay(attempt, u), p.lower_bound(attempt));
      EXPECT_LE(p.delay(attempt, u), p.upper_bound(attempt));
    }
  }
  // No jitter: exactly the base.
  const ReconnectPolicy none(fraction(0));
  EXPECT_EQ(none.delay(3, 0), 2000);
  EXPECT_EQ(none.delay(3, kAlmostOne), 2000);
  // f = 1: from 0 to twice the base, never negative.
  const ReconnectPolicy one(fraction(1));
  EXPECT_EQ(one.delay(2, 0), 0);
  EXPECT_NEAR(one.delay(2, kAlmostOne), 2000, 1e-6);
  EXPECT_EQ(one.lower_bound(2), 0);
  EXPECT_EQ(one.upper_bound(2), 2000);
}

TEST(ReconnectPolicy, Exhausted) {
  ReconnectOptions o;
  o.max_retries = 3;
  const ReconnectPolicy p(o);
  EXPECT_FALSE(p.exhausted(1));
  EXPECT_FALSE(p.exhausted(3));
  EXPECT_TRUE(p.exhausted(4));
  EXPECT_TRUE(p.exhausted(100));
  o.max_retries = 0;
  EXPECT_TRUE(ReconnectPolicy(o).exhausted(1));
  const ReconnectPolicy infinite;
  EXPECT_FALSE(infinite.exhausted(std::numeric_limits<uint32_t>::max()));
}

TEST(ReconnectPolicy, ClassifyCloseTable) {
  const std::vector<std::pair<int, Verdict>> table = {
      {1000, Verdict::Reconnect}, {1001, Verdict::Reconnect}, {1002, Verdict::Stop},      {1003, Verdict::Stop},
      {1006, Verdict::Reconnect}, {1007, Verdict::Stop},      {1008, Verdict::Stop},      {1009, Verdict::Reconnect},
      {1010, Verdict::Stop},      {1011, Verdict::Reconnect}, {3000, Verdict::Reconnect}, {3499, Verdict::Reconnect},
      {3500, Verdict::Stop},      {3999, Verdict::Stop},      {4000, Verdict::Reconnect}, {4001, Verdict::Revoked},
      {4499, Verdict::Reconnect}, {4500, Verdict::Stop},      {4999, Verdict::Stop},
  };
  for (const auto& [code, verdict] : table) {
    SCOPED_TRACE(code);
    EXPECT_EQ(ReconnectPolicy::classify_close(code), verdict);
  }
  // 1012 (service restart) retries at once; 1013-1015 and unknown codes retry with backoff.
  EXPECT_EQ(ReconnectPolicy::classify_close(1012), Verdict::ReconnectNow);
  for (int code : {1013, 1014, 1015, 0, 2000, 5000}) {
    SCOPED_TRACE(code);
    EXPECT_EQ(ReconnectPolicy::classify_close(code), Verdict::Reconnect);
  }
}

TEST(ReconnectPolicy, ClassifyRefusedUpgrades) {
  // An unknown channel (expired, forgotten, rotated) never comes back: REVOKED.
  EXPECT_EQ(ReconnectPolicy::classify_refusal(404), Verdict::Revoked);
  EXPECT_EQ(ReconnectPolicy::classify_refusal(410), Verdict::Revoked);
  for (int status : {400, 401, 403, 429, 500, 502, 503}) {
    SCOPED_TRACE(status);
    EXPECT_EQ(ReconnectPolicy::classify_refusal(status), Verdict::Reconnect);
  }
}

}  // namespace
