#include "sfu/nack_generator.hpp"

#include <gtest/gtest.h>

namespace atrium::sfu {
namespace {

using namespace std::chrono_literals;
using Clock = NackGenerator::Clock;
const Clock::time_point kT0{std::chrono::seconds(100)};
using Seqs = std::vector<uint16_t>;

TEST(NackGenerator, AsksForAGapAfterTheReorderWaitThenRetriesUntilItArrives) {
  NackGenerator nacks;
  nacks.on_packet(10, kT0);
  nacks.on_packet(11, kT0);
  nacks.on_packet(14, kT0 + 1ms);  // 12 and 13 missing
  EXPECT_EQ(nacks.pending(), 2u);
  EXPECT_TRUE(nacks.due(kT0 + 5ms, 0ms).empty());  // may be reordered
  EXPECT_EQ(nacks.due(kT0 + 20ms, 0ms), Seqs({12, 13}));
  EXPECT_TRUE(nacks.due(kT0 + 40ms, 0ms).empty());  // min_retry 50 ms
  nacks.on_packet(12, kT0 + 50ms);                  // retransmitted
  EXPECT_EQ(nacks.recovered(), 1u);
  EXPECT_EQ(nacks.due(kT0 + 80ms, 0ms), Seqs({13}));
  // The retry waits for 1.5 RTT when that is longer.
  EXPECT_TRUE(nacks.due(kT0 + 200ms, 100ms).empty());
  EXPECT_EQ(nacks.due(kT0 + 240ms, 100ms), Seqs({13}));
}

TEST(NackGenerator, ReorderedPacketNeedsNoNack) {
  NackGenerator nacks;
  nacks.on_packet(100, kT0);
  nacks.on_packet(102, kT0);
  nacks.on_packet(101, kT0 + 2ms);
  EXPECT_EQ(nacks.pending(), 0u);
  EXPECT_TRUE(nacks.due(kT0 + 1s, 0ms).empty());
}

TEST(NackGenerator, GivesUpAfterMaxAttemptsOrAge) {
  NackGenerator nacks({.max_attempts = 2});
  nacks.on_packet(1, kT0);
  nacks.on_packet(3, kT0);
  EXPECT_EQ(nacks.due(kT0 + 20ms, 0ms), Seqs({2}));
  EXPECT_EQ(nacks.due(kT0 + 100ms, 0ms), Seqs({2}));
  EXPECT_TRUE(nacks.due(kT0 + 200ms, 0ms).empty());
  EXPECT_EQ(nacks.abandoned(), 1u);
  NackGenerator aged;
  aged.on_packet(1, kT0);
  aged.on_packet(3, kT0);
  EXPECT_TRUE(aged.due(kT0 + 2s, 0ms).empty());
  EXPECT_EQ(aged.abandoned(), 1u);
}

TEST(NackGenerator, AcrossTheWrapAndNotForAnOutage) {
  NackGenerator nacks;
  nacks.on_packet(65534, kT0);
  nacks.on_packet(1, kT0);  // 65535 and 0 missing
  EXPECT_EQ(nacks.due(kT0 + 20ms, 0ms), Seqs({65535, 0}));
  nacks.on_packet(2000, kT0 + 30ms);  // a jump: nothing more to ask, old ones dropped
  EXPECT_EQ(nacks.pending(), 0u);
  nacks.on_packet(2002, kT0 + 40ms);
  EXPECT_EQ(nacks.due(kT0 + 60ms, 0ms), Seqs({2001}));
}

TEST(NackGenerator, PendingIsBounded) {
  NackGenerator nacks({.max_gap = 300, .max_pending = 100});
  nacks.on_packet(0, kT0);
  for (uint16_t s = 2; s < 600; s += 2)
    nacks.on_packet(s, kT0);
  EXPECT_EQ(nacks.pending(), 100u);
  auto due = nacks.due(kT0 + 20ms, 0ms);
  ASSERT_EQ(due.size(), 100u);
  EXPECT_EQ(due.back(), 597);  // the newest are kept
}

}  // namespace
}  // namespace atrium::sfu
