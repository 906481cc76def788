#pragma once
// Connection quality as LiveKit reports it (SignalResponse.connection_quality):
// a score per participant from what its RTCP and RTP say over the last
// interval, mapped to POOR/GOOD/EXCELLENT (or LOST when its media stopped).
//
// The model is LiveKit's (pkg/sfu/connectionquality/scorer.go), simplified: an
// E-model-like score from 0 to 100,
//   score = 100 - delay_effect - kLossWeight * loss%
// where loss% is the worse of the two legs (what we lost of its published
// RTP, what its receiver reports say it lost of ours), each counted only with
// at least kMinPacketsForLoss packets expected in the interval, and
// delay_effect = (rtt/2 + 2*jitter) / 40, or (that - 120) / 10 above 160 ms.
// The score moves towards each new value quickly when it drops (0.7) and
// slowly when it recovers (0.4), never below 20. Thresholds: EXCELLENT above
// 80, GOOD above 40, POOR otherwise. With kLossWeight = 6 and a short RTT:
// loss under ~3.3% is EXCELLENT, ~3.3-10% GOOD, 10% and more POOR.
// LOST: the participant publishes unmuted tracks but none of their packets
// arrived during the interval. The score sent is LiveKit's MOS (1 to 4.5).
#include <cstdint>

#include "livekit/proto/livekit_models.pb.h"
#include "sfu/room.hpp"

namespace atrium::livekit {

inline constexpr double kLossWeight = 6.0;
inline constexpr uint64_t kMinPacketsForLoss = 10;
inline constexpr double kExcellentAbove = 80.0;
inline constexpr double kGoodAbove = 40.0;
inline constexpr double kMinScore = 20.0;
inline constexpr double kMaxScore = 100.0;

// 0..100 from one interval's loss (percent), round-trip time and jitter (ms).
double packet_score(double loss_percent, double rtt_ms, double jitter_ms);
::livekit::ConnectionQuality quality_for_score(double score);
// LiveKit's score-to-MOS mapping (1.0 .. 4.5).
float mos_for_score(double score);

struct QualityResult {
  ::livekit::ConnectionQuality quality = ::livekit::EXCELLENT;
  float mos = 4.5f;      // what ConnectionQualityInfo.score carries
  double score = 100.0;  // 0..100, smoothed
  double loss_percent = 0;
};

// One participant's scorer: fed the cumulative counters every interval, it
// diffs them against the previous call (a counter that went backwards, e.g. a
// stream that was removed, counts from zero).
class ConnectionScorer {
 public:
  // expects_media: the participant publishes at least one unmuted track.
  QualityResult update(const sfu::ConnectionStats& now, bool expects_media);
  const QualityResult& current() const { return current_; }

 private:
  sfu::ConnectionStats last_;
  bool has_last_ = false;
  double score_ = kMaxScore;
  QualityResult current_;
};

}  // namespace atrium::livekit
