#include "sfu/receive_stats.hpp"

#include <gtest/gtest.h>

namespace atrium::sfu {
namespace {

using namespace std::chrono_literals;
using Clock = ReceiveStats::Clock;

const Clock::time_point kT0 = Clock::time_point{} + 1000s;

TEST(ReceiveStats, InOrderStreamHasNoLoss) {
  ReceiveStats stats(90000);
  EXPECT_FALSE(stats.has_packets());
  for (uint16_t seq = 100; seq < 200; ++seq)
    stats.on_packet(seq, seq * 3000u, kT0 + (seq - 100) * 33ms);
  EXPECT_EQ(stats.expected(), 100u);
  EXPECT_EQ(stats.received(), 100u);
  EXPECT_EQ(stats.lost(), 0);
  auto block = stats.report(0x1234, kT0 + 4s);
  EXPECT_EQ(block.ssrc, 0x1234u);
  EXPECT_EQ(block.fraction_lost, 0);
  EXPECT_EQ(block.cumulative_lost, 0);
  EXPECT_EQ(block.highest_sequence, 199u);
  EXPECT_EQ(block.last_sr, 0u);  // no sender report yet
  EXPECT_EQ(block.delay_since_last_sr, 0u);
}

TEST(ReceiveStats, SequenceWrapCountsCycles) {
  ReceiveStats stats(48000);
  uint16_t seq = 65530;
  for (int i = 0; i < 20; ++i, ++seq)
    stats.on_packet(seq, i * 960u, kT0 + i * 20ms);
  // 65530..65535 then 0..13: one cycle.
  EXPECT_EQ(stats.extended_highest(), 0x10000u + 13);
  EXPECT_EQ(stats.expected(), 20u);
  EXPECT_EQ(stats.lost(), 0);
  // A packet from before the wrap arriving late does not move the cycle back.
  stats.on_packet(65534, 4 * 960u, kT0 + 500ms);
  EXPECT_EQ(stats.extended_highest(), 0x10000u + 13);
  EXPECT_EQ(stats.lost(), -1);  // a duplicate, as RFC 3550 counts it
}

TEST(ReceiveStats, LossAndFractionPerInterval) {
  ReceiveStats stats(90000);
  for (uint16_t seq = 0; seq < 20; ++seq)
    if (seq != 10 && seq != 11) stats.on_packet(seq, seq * 3000u, kT0 + seq * 10ms);
  EXPECT_EQ(stats.expected(), 20u);
  EXPECT_EQ(stats.lost(), 2);
  auto first = stats.report(1, kT0 + 1s);
  EXPECT_EQ(first.fraction_lost, (2 << 8) / 20);  // 25
  EXPECT_EQ(first.cumulative_lost, 2);
  // The next interval is clean: fraction 0, cumulative stays.
  for (uint16_t seq = 20; seq < 30; ++seq)
    stats.on_packet(seq, seq * 3000u, kT0 + seq * 10ms);
  auto second = stats.report(1, kT0 + 2s);
  EXPECT_EQ(second.fraction_lost, 0);
  EXPECT_EQ(second.cumulative_lost, 2);
  EXPECT_EQ(second.highest_sequence, 29u);
  // Half of the next 10 lost.
  for (uint16_t seq = 30; seq < 40; seq += 2)
    stats.on_packet(seq, seq * 3000u, kT0 + seq * 10ms);
  auto third = stats.report(1, kT0 + 3s);
  // 30..38 received every other one: expected 9 (highest 38), received 5.
  EXPECT_EQ(third.fraction_lost, (4 << 8) / 9);
  EXPECT_EQ(third.cumulative_lost, 6);
}

TEST(ReceiveStats, ReorderingIsNotLoss) {
  ReceiveStats stats(90000);
  for (uint16_t seq : {0, 1, 3, 2, 4, 6, 5})
    stats.on_packet(seq, seq * 3000u, kT0 + seq * 10ms);
  EXPECT_EQ(stats.extended_highest(), 6u);
  EXPECT_EQ(stats.lost(), 0);
  EXPECT_EQ(stats.report(1, kT0 + 1s).fraction_lost, 0);
}

TEST(ReceiveStats, LargeJumpRestartsOnlyWhenConfirmed) {
  ReceiveStats stats(90000);
  for (uint16_t seq = 100; seq < 110; ++seq)
    stats.on_packet(seq, seq * 3000u, kT0 + seq * 10ms);
  // One stray far-off packet is not counted and does not move the highest.
  stats.on_packet(40000, 0, kT0 + 2s);
  stats.on_packet(110, 110 * 3000u, kT0 + 2s);
  EXPECT_EQ(stats.extended_highest(), 110u);
  EXPECT_EQ(stats.expected(), 11u);
  EXPECT_EQ(stats.lost(), 0);
  // Two in sequence: the sender restarted its numbering.
  stats.on_packet(50000, 0, kT0 + 3s);
  stats.on_packet(50001, 3000, kT0 + 3s + 10ms);
  EXPECT_EQ(stats.extended_highest(), 50001u);
  EXPECT_EQ(stats.expected(), 1u);
  EXPECT_EQ(stats.received(), 1u);
}

TEST(ReceiveStats, JitterMatchesHandComputedValue) {
  // 90 kHz, frames every 20 ms (1800 ticks). RFC 3550 A.8:
  //   p2 at 20 ms: D = 1800 - 1800 = 0         J = 0
  //   p3 at 50 ms: D = |2700 - 1800| = 900     J = 900/16 = 56.25
  //   p4 at 60 ms: D = |900 - 1800| = 900      J = 56.25 + (900 - 56.25)/16 = 108.984375
  ReceiveStats stats(90000);
  stats.on_packet(1, 0, kT0);
  stats.on_packet(2, 1800, kT0 + 20ms);
  EXPECT_EQ(stats.jitter(), 0u);
  stats.on_packet(3, 3600, kT0 + 50ms);
  EXPECT_DOUBLE_EQ(stats.jitter_ms(), 56.25 / 90);
  stats.on_packet(4, 5400, kT0 + 60ms);
  EXPECT_EQ(stats.jitter(), 108u);
  EXPECT_DOUBLE_EQ(stats.jitter_ms(), 108.984375 / 90);
  EXPECT_EQ(stats.report(7, kT0 + 1s).jitter, 108u);
  // Packets of one frame (same timestamp) do not update it; a reordered one
  // neither.
  stats.on_packet(5, 5400, kT0 + 61ms);
  stats.on_packet(3, 3600, kT0 + 62ms);
  EXPECT_DOUBLE_EQ(stats.jitter_ms(), 108.984375 / 90);
  // The next frame compares with the frame's last packet (61 ms): 19 ms
  // later for 1800 ticks: D = |1710 - 1800| = 90.
  stats.on_packet(6, 7200, kT0 + 80ms);
  EXPECT_DOUBLE_EQ(stats.jitter_ms(), (108.984375 + (90 - 108.984375) / 16) / 90);
}

TEST(ReceiveStats, LastSenderReportAndDelay) {
  ReceiveStats stats(90000);
  stats.on_packet(1, 0, kT0);
  stats.on_sender_report(0x0123456789ABCDEFull, kT0 + 100ms);
  auto block = stats.report(9, kT0 + 600ms);
  EXPECT_EQ(block.last_sr, 0x456789ABu);         // the middle 32 bits
  EXPECT_EQ(block.delay_since_last_sr, 32768u);  // 0.5 s in 1/65536 s
  // A newer report replaces it.
  stats.on_sender_report(0x0000111122220000ull, kT0 + 1s);
  block = stats.report(9, kT0 + 1s + 250ms);
  EXPECT_EQ(block.last_sr, 0x11112222u);
  EXPECT_EQ(block.delay_since_last_sr, 16384u);
}

}  // namespace
}  // namespace atrium::sfu
