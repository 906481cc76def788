#include "sfu/congestion_detector.hpp"

namespace atrium::sfu {

CongestionDetector::Change CongestionDetector::on_estimate(uint64_t estimate_bps,
                                                           uint64_t sending_bps,
                                                           Clock::time_point now) {
  const bool fell =
      last_estimate_ > 0 && estimate_bps * 100 < last_estimate_ * config_.drop_percent;
  last_estimate_ = estimate_bps;
  if (fell && estimate_bps * 100 < sending_bps * config_.below_percent) {
    const bool was = congested();
    congested_at_ = now;
    return was ? Change::kNone : Change::kCongested;
  }
  if (congested_at_ && now - *congested_at_ >= config_.hold) {
    congested_at_.reset();
    return Change::kClear;
  }
  return Change::kNone;
}

}  // namespace atrium::sfu
