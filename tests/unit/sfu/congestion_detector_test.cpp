#include "sfu/congestion_detector.hpp"

#include <gtest/gtest.h>

namespace atrium::sfu {
namespace {

using namespace std::chrono_literals;
using Change = CongestionDetector::Change;

const CongestionDetector::Clock::time_point kT0{std::chrono::seconds(100)};

TEST(CongestionDetector, AnEstimateRisingBelowWhatWeSendIsNotCongestion) {
  // A receiver ramping up after a layer switch: its estimate trails what we
  // send (here by 15-50%) but keeps growing.
  CongestionDetector detector;
  uint64_t estimate = 500'000;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(detector.on_estimate(estimate, 1'000'000, kT0 + i * 1s), Change::kNone) << i;
    estimate += 15'000;
  }
  EXPECT_FALSE(detector.congested());
}

TEST(CongestionDetector, AFallBelowWhatWeSendIsCongestionUntilTheHoldPasses) {
  CongestionDetector detector;
  EXPECT_EQ(detector.on_estimate(900'000, 800'000, kT0), Change::kNone);
  // Overuse: the estimator drops to ~85% of what arrives.
  EXPECT_EQ(detector.on_estimate(680'000, 800'000, kT0 + 1s), Change::kCongested);
  EXPECT_TRUE(detector.congested());
  // Recovering estimates keep it congested until 10 s after the last fall.
  EXPECT_EQ(detector.on_estimate(700'000, 500'000, kT0 + 5s), Change::kNone);
  EXPECT_TRUE(detector.congested());
  // Another fall restarts the hold.
  EXPECT_EQ(detector.on_estimate(400'000, 500'000, kT0 + 8s), Change::kNone);
  EXPECT_EQ(detector.on_estimate(420'000, 300'000, kT0 + 17s), Change::kNone);
  EXPECT_TRUE(detector.congested());
  EXPECT_EQ(detector.on_estimate(440'000, 300'000, kT0 + 18s), Change::kClear);
  EXPECT_FALSE(detector.congested());
}

TEST(CongestionDetector, AFallThatStaysAboveWhatWeSendIsNotCongestion) {
  // We switched a video down: the estimate follows what arrives, still above it.
  CongestionDetector detector;
  detector.on_estimate(1'500'000, 1'200'000, kT0);
  EXPECT_EQ(detector.on_estimate(900'000, 400'000, kT0 + 1s), Change::kNone);
  EXPECT_FALSE(detector.congested());
}

TEST(CongestionDetector, TheFirstEstimateIsNotAFall) {
  // A browser's initial estimate is far below a camera's rate; it has not
  // fallen from anything.
  CongestionDetector detector;
  EXPECT_EQ(detector.on_estimate(300'000, 1'500'000, kT0), Change::kNone);
  EXPECT_FALSE(detector.congested());
}

}  // namespace
}  // namespace atrium::sfu
