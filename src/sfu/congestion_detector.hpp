#pragma once
// Whether a subscriber's downlink is congested, judged from the receiver's
// bandwidth estimate (REMB) against what we send it; pure, over explicit time.
//
// A browser's receive-side estimator only grows its estimate a little past
// what it receives, and we do not probe, so the estimate sits near our send
// rate and often just below it: "below what we send" alone fires on every
// keyframe burst and layer switch, and pins large renders to low layers.
// Overuse shows as a decrease: the estimator drops to a fraction of what it
// measured arriving. So congestion is an estimate that fell and is below what
// we send; it holds for a while after the last such drop, so that layers do
// not flap while the estimate recovers.
#include <chrono>
#include <cstdint>
#include <optional>

namespace atrium::sfu {

class CongestionDetector {
 public:
  using Clock = std::chrono::steady_clock;
  struct Config {
    std::chrono::milliseconds hold{10'000};
    uint32_t drop_percent = 97;   // a new estimate below this share of the last one fell
    uint32_t below_percent = 95;  // and below this share of what we send
  };
  enum class Change { kNone, kCongested, kClear };

  CongestionDetector() : CongestionDetector(Config{}) {}
  explicit CongestionDetector(Config config) : config_(config) {}

  // A new estimate, with what we sent over the last second.
  Change on_estimate(uint64_t estimate_bps, uint64_t sending_bps, Clock::time_point now);
  // While congested, the estimate is the subscriber's budget.
  bool congested() const { return congested_at_.has_value(); }

 private:
  Config config_;
  uint64_t last_estimate_ = 0;  // 0: none yet
  std::optional<Clock::time_point> congested_at_;
};

}  // namespace atrium::sfu
