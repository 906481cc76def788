#include "sfu/retransmission_buffer.hpp"

#include "media/rtp.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "test_packets.hpp"

namespace atrium::sfu {
namespace {

const Clock::time_point kT0{std::chrono::seconds(100)};

std::vector<uint8_t> packet(uint16_t seq) {
  return test::rtp_packet(seq, seq * 10u, 1, {0x01});
}

TEST(RetransmissionBuffer, FindsWhatWasInserted) {
  RetransmissionBuffer buffer(16, 64);
  EXPECT_EQ(buffer.capacity(), 16u);
  EXPECT_FALSE(buffer.find(5));
  const auto p = packet(5);
  ASSERT_TRUE(buffer.insert(5, p, kT0));
  auto entry = buffer.find(5);
  ASSERT_TRUE(entry);
  EXPECT_EQ(std::vector<uint8_t>(entry->packet.begin(), entry->packet.end()), p);
  EXPECT_EQ(entry->arrival, kT0);
  EXPECT_FALSE(buffer.find(6));  // never received
  EXPECT_FALSE(buffer.find(4));
}

TEST(RetransmissionBuffer, WrapsAtSequence65535AndEvictsOldest) {
  RetransmissionBuffer buffer(10, 64);  // rounded up to 16
  ASSERT_EQ(buffer.capacity(), 16u);
  for (uint32_t i = 0; i < 20; ++i) {
    const auto seq = static_cast<uint16_t>(65530 + i);  // 65530 .. 65535, 0 .. 13
    ASSERT_TRUE(buffer.insert(seq, packet(seq), kT0));
  }
  EXPECT_EQ(buffer.highest(), 13);
  // The last 16 are held across the wrap; the four oldest were overwritten.
  for (uint16_t seq : {65534, 65535, 0, 7, 13}) {
    auto entry = buffer.find(seq);
    ASSERT_TRUE(entry) << seq;
    auto view = media::RtpView::parse(entry->packet);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->sequence_number(), seq);
  }
  for (uint16_t seq : {65530, 65533, 14})
    EXPECT_FALSE(buffer.find(seq)) << seq;
  // Too old for the window: refused rather than overwriting a newer slot.
  EXPECT_FALSE(buffer.insert(65531, packet(65531), kT0));
  EXPECT_TRUE(buffer.find(65535));
}

TEST(RetransmissionBuffer, ReorderedAndOversizedPackets) {
  RetransmissionBuffer buffer(16, 32);
  ASSERT_TRUE(buffer.insert(100, packet(100), kT0));
  ASSERT_TRUE(buffer.insert(102, packet(102), kT0));
  ASSERT_TRUE(buffer.insert(101, packet(101), kT0));  // late, still in the window
  EXPECT_TRUE(buffer.find(101));
  EXPECT_EQ(buffer.highest(), 102);
  EXPECT_FALSE(buffer.insert(103, std::vector<uint8_t>(33, 0x80), kT0));
  EXPECT_FALSE(buffer.find(103));
  buffer.clear();
  EXPECT_FALSE(buffer.find(100));
}

TEST(RetransmissionBuffer, SequenceJumpRestartsTheRing) {
  RetransmissionBuffer buffer(16, 64);
  for (uint16_t seq = 1000; seq < 1010; ++seq)
    ASSERT_TRUE(buffer.insert(seq, packet(seq), kT0));
  // 40000 ahead reads as 25536 behind: refused until the run shows it is a jump.
  uint16_t seq = 41000;
  for (uint32_t i = 1; i < RetransmissionBuffer::kResetAfter; ++i, ++seq) {
    EXPECT_FALSE(buffer.insert(seq, packet(seq), kT0));
  }
  EXPECT_TRUE(buffer.insert(seq, packet(seq), kT0));
  EXPECT_EQ(buffer.highest(), seq);
  EXPECT_TRUE(buffer.find(seq));
  EXPECT_FALSE(buffer.find(1009));
  EXPECT_TRUE(buffer.insert(seq + 1, packet(seq + 1), kT0));
}

}  // namespace
}  // namespace atrium::sfu
