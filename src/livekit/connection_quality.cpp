#include "livekit/connection_quality.hpp"

#include <algorithm>
#include <optional>

namespace atrium::livekit {

namespace lk = ::livekit;

namespace {

uint64_t delta(uint64_t now, uint64_t before) {
  return now >= before ? now - before : now;
}

// Loss in percent of one leg, or nullopt with too few packets to tell.
std::optional<double> loss_of(uint64_t expected, uint64_t lost) {
  if (expected < kMinPacketsForLoss) return std::nullopt;
  return std::clamp(100.0 * static_cast<double>(lost) / static_cast<double>(expected), 0.0, 100.0);
}

}  // namespace

double packet_score(double loss_percent, double rtt_ms, double jitter_ms) {
  double effective_delay = std::max(0.0, rtt_ms) / 2.0 + std::max(0.0, jitter_ms) * 2.0;
  double delay_effect =
      effective_delay > 160.0 ? (effective_delay - 120.0) / 10.0 : effective_delay / 40.0;
  double score = kMaxScore - delay_effect - kLossWeight * std::max(0.0, loss_percent);
  return std::clamp(score, 0.0, kMaxScore);
}

lk::ConnectionQuality quality_for_score(double score) {
  if (score > kExcellentAbove) return lk::EXCELLENT;
  if (score > kGoodAbove) return lk::GOOD;
  return lk::POOR;
}

float mos_for_score(double score) {
  if (score <= 0.0) return 1.0f;
  if (score >= 100.0) return 4.5f;
  return static_cast<float>(1.0 + 0.035 * score +
                            0.000007 * score * (score - 60.0) * (100.0 - score));
}

QualityResult ConnectionScorer::update(const sfu::ConnectionStats& now, bool expects_media) {
  sfu::ConnectionStats before = has_last_ ? last_ : sfu::ConnectionStats{};
  last_ = now;
  has_last_ = true;
  uint64_t expected = delta(now.packets_expected, before.packets_expected);
  uint64_t lost = std::min(delta(now.packets_lost, before.packets_lost), expected);
  uint64_t sub_expected =
      delta(now.subscriber_packets_expected, before.subscriber_packets_expected);
  uint64_t sub_lost =
      std::min(delta(now.subscriber_packets_lost, before.subscriber_packets_lost), sub_expected);

  QualityResult result;
  if (expects_media && expected == 0) {
    // Its tracks are published and unmuted, but nothing came in.
    score_ = kMinScore;
    result.quality = lk::LOST;
    result.score = 0;
    result.mos = mos_for_score(0);
    current_ = result;
    return result;
  }
  auto up = loss_of(expected, lost);
  auto down = loss_of(sub_expected, sub_lost);
  if (!up && !down && now.rtt_ms.value_or(0) == 0 && now.jitter_ms == 0) {
    // Nothing measured this interval (not publishing, no receiver reports):
    // the score stays where it is.
    result.score = score_;
  } else {
    double loss = std::max(up.value_or(0), down.value_or(0));
    double raw = packet_score(loss, now.rtt_ms.value_or(0), now.jitter_ms);
    double factor = raw < score_ ? 0.7 : 0.4;
    score_ = std::max(kMinScore, factor * raw + (1.0 - factor) * score_);
    result.score = score_;
    result.loss_percent = loss;
  }
  result.quality = quality_for_score(result.score);
  result.mos = mos_for_score(result.score);
  current_ = result;
  return result;
}

}  // namespace atrium::livekit
