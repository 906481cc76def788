// Connection quality scoring: LiveKit's E-model-like score, its thresholds,
// smoothing, LOST, and the diffing of cumulative counters.
#include "livekit/connection_quality.hpp"

#include <gtest/gtest.h>

namespace atrium::livekit {
namespace {

namespace lk = ::livekit;

TEST(PacketScore, LossAndDelayLowerTheScore) {
  EXPECT_DOUBLE_EQ(packet_score(0, 0, 0), 100.0);
  EXPECT_GT(packet_score(0, 40, 5), 95.0);
  // Each percent of loss costs kLossWeight points.
  EXPECT_DOUBLE_EQ(packet_score(5, 0, 0), 100.0 - 5 * kLossWeight);
  // Long delays cost more than linearly: 400 ms RTT = 200 ms effective delay.
  EXPECT_DOUBLE_EQ(packet_score(0, 400, 0), 100.0 - (200.0 - 120.0) / 10.0);
  EXPECT_DOUBLE_EQ(packet_score(100, 0, 0), 0.0);
  EXPECT_DOUBLE_EQ(packet_score(-3, -1, -1), 100.0);
}

TEST(PacketScore, ThresholdsMatchTheDocumentedLossBands) {
  EXPECT_EQ(quality_for_score(packet_score(1, 30, 5)), lk::EXCELLENT);
  EXPECT_EQ(quality_for_score(packet_score(3, 30, 5)), lk::EXCELLENT);
  EXPECT_EQ(quality_for_score(packet_score(4, 30, 5)), lk::GOOD);
  EXPECT_EQ(quality_for_score(packet_score(9, 30, 5)), lk::GOOD);
  EXPECT_EQ(quality_for_score(packet_score(10, 30, 5)), lk::POOR);
  EXPECT_EQ(quality_for_score(packet_score(30, 30, 5)), lk::POOR);
  // Long round trips alone degrade too: 1 s GOOD, 2 s POOR.
  EXPECT_EQ(quality_for_score(packet_score(0, 1000, 0)), lk::GOOD);
  EXPECT_EQ(quality_for_score(packet_score(0, 2000, 0)), lk::POOR);
}

TEST(PacketScore, MosRange) {
  EXPECT_FLOAT_EQ(mos_for_score(100), 4.5f);
  EXPECT_FLOAT_EQ(mos_for_score(0), 1.0f);
  EXPECT_GT(mos_for_score(90), mos_for_score(50));
  EXPECT_GT(mos_for_score(50), mos_for_score(20));
}

sfu::ConnectionStats publishing(uint64_t expected, uint64_t lost) {
  sfu::ConnectionStats s;
  s.packets_expected = expected;
  s.packets_lost = lost;
  s.publishing = true;
  s.rtt_ms = 20;
  s.jitter_ms = 3;
  return s;
}

TEST(ConnectionScorer, CleanMediaIsExcellent) {
  ConnectionScorer scorer;
  EXPECT_EQ(scorer.current().quality, lk::EXCELLENT);
  auto r = scorer.update(publishing(500, 0), true);
  EXPECT_EQ(r.quality, lk::EXCELLENT);
  EXPECT_GT(r.mos, 4.0f);
  r = scorer.update(publishing(1000, 2), true);
  EXPECT_EQ(r.quality, lk::EXCELLENT);
}

TEST(ConnectionScorer, LossIsMeasuredPerIntervalFromCumulativeCounters) {
  ConnectionScorer scorer;
  scorer.update(publishing(1000, 0), true);
  // 500 more expected, 25 of them lost: 5% in this interval.
  auto r = scorer.update(publishing(1500, 25), true);
  EXPECT_NEAR(r.loss_percent, 5.0, 1e-9);
  EXPECT_EQ(r.quality, lk::GOOD);
  // 20% loss: POOR at once (drops are followed quickly).
  r = scorer.update(publishing(2000, 125), true);
  EXPECT_NEAR(r.loss_percent, 20.0, 1e-9);
  EXPECT_EQ(r.quality, lk::POOR);
  // Recovery is slower: one clean interval is not enough for EXCELLENT.
  r = scorer.update(publishing(2500, 125), true);
  EXPECT_NE(r.quality, lk::EXCELLENT);
  for (int i = 0; i < 6; ++i)
    r = scorer.update(publishing(3000 + 500 * i, 125), true);
  EXPECT_EQ(r.quality, lk::EXCELLENT);
}

TEST(ConnectionScorer, SubscriberReportsCountToo) {
  ConnectionScorer scorer;
  sfu::ConnectionStats s;
  s.subscribing = true;
  s.subscriber_packets_expected = 1000;
  s.subscriber_packets_lost = 150;
  s.rtt_ms = 30;
  auto r = scorer.update(s, false);
  EXPECT_NEAR(r.loss_percent, 15.0, 1e-9);
  EXPECT_EQ(r.quality, lk::POOR);
}

TEST(ConnectionScorer, TooFewPacketsSayNothingAboutLoss) {
  ConnectionScorer scorer;
  // 2 of 5 "lost" (a DTX'd audio track): not enough to judge.
  auto r = scorer.update(publishing(5, 2), true);
  EXPECT_EQ(r.loss_percent, 0);
  EXPECT_EQ(r.quality, lk::EXCELLENT);
}

TEST(ConnectionScorer, StoppedMediaIsLostAndMutedMediaIsNot) {
  ConnectionScorer scorer;
  scorer.update(publishing(500, 0), true);
  // Nothing more arrived while it publishes unmuted tracks.
  auto r = scorer.update(publishing(500, 0), true);
  EXPECT_EQ(r.quality, lk::LOST);
  EXPECT_FLOAT_EQ(r.mos, 1.0f);
  // Muted (nothing expected): not lost.
  r = scorer.update(publishing(500, 0), false);
  EXPECT_NE(r.quality, lk::LOST);
  // Media again: it climbs back.
  for (int i = 1; i <= 8; ++i)
    r = scorer.update(publishing(500 + 500 * i, 0), true);
  EXPECT_EQ(r.quality, lk::EXCELLENT);
}

TEST(ConnectionScorer, CountersGoingBackwardsCountFromZero) {
  ConnectionScorer scorer;
  scorer.update(publishing(5000, 10), true);
  // A stream went away: the totals dropped. The new totals are this interval.
  auto r = scorer.update(publishing(400, 0), true);
  EXPECT_EQ(r.quality, lk::EXCELLENT);
  EXPECT_EQ(r.loss_percent, 0);
}

TEST(ConnectionScorer, NothingMeasuredKeepsTheScore) {
  ConnectionScorer scorer;
  sfu::ConnectionStats idle;
  auto r = scorer.update(idle, false);
  EXPECT_EQ(r.quality, lk::EXCELLENT);
  EXPECT_FLOAT_EQ(r.mos, 4.5f);
}

}  // namespace
}  // namespace atrium::livekit
