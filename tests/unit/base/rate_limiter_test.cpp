#include "base/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace atrium {
namespace {

TEST(RateLimiter, AllowsBurstThenAsksToWait) {
  RateLimiter limiter({/*per_second=*/2, /*burst=*/3});
  EXPECT_EQ(limiter.take("a", 1000), 0);
  EXPECT_EQ(limiter.take("a", 1000), 0);
  EXPECT_EQ(limiter.take("a", 1000), 0);
  int64_t wait = limiter.take("a", 1000);
  EXPECT_EQ(wait, 500);  // one token every 500 ms
  EXPECT_EQ(limiter.take("b", 1000), 0) << "keys are independent";
  EXPECT_EQ(limiter.take("a", 1500), 0) << "a token came back after 500 ms";
  EXPECT_GT(limiter.take("a", 1500), 0);
}

TEST(RateLimiter, GiveBackReturnsATokenUpToTheBurst) {
  RateLimiter limiter({/*per_second=*/0.001, /*burst=*/2});
  EXPECT_EQ(limiter.take("a", 0), 0);
  EXPECT_EQ(limiter.take("a", 0), 0);
  EXPECT_GT(limiter.take("a", 0), 0);
  limiter.give_back("a");
  EXPECT_EQ(limiter.take("a", 0), 0);
  // Never above the burst, and unknown keys are left alone.
  limiter.give_back("a");
  limiter.give_back("a");
  limiter.give_back("a");
  limiter.give_back("b");
  EXPECT_EQ(limiter.take("a", 0), 0);
  EXPECT_EQ(limiter.take("a", 0), 0);
  EXPECT_GT(limiter.take("a", 0), 0);
}

TEST(RateLimiter, ZeroRateDisables) {
  RateLimiter limiter({0, 0});
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(limiter.take("a", 0), 0);
}

}  // namespace
}  // namespace atrium
