#include "sfu/twcc_recorder.hpp"

#include <gtest/gtest.h>

#include <map>

#include "media/rtcp_twcc.hpp"

namespace atrium::sfu {
namespace {

using namespace std::chrono_literals;
using media::rtcp::TwccFeedback;
using media::rtcp::TwccStatus;
using Clock = TwccRecorder::Clock;

const Clock::time_point kT0 = Clock::time_point{} + 5000s;

TwccFeedback parse(const std::vector<uint8_t>& packet) {
  media::rtcp::CompoundIterator it(packet);
  auto rtcp = it.next();
  EXPECT_TRUE(rtcp);
  EXPECT_FALSE(it.next());  // exactly one packet
  auto feedback = media::rtcp::parse_feedback(*rtcp);
  EXPECT_TRUE(feedback);
  EXPECT_EQ(feedback->sender_ssrc, 1u);
  EXPECT_EQ(feedback->media_ssrc, 0xABCDu);
  auto twcc = media::rtcp::parse_twcc(*feedback);
  EXPECT_TRUE(twcc);
  return twcc ? *twcc : TwccFeedback{};
}

std::vector<TwccFeedback> build(TwccRecorder& recorder) {
  std::vector<std::vector<uint8_t>> packets;
  size_t n = recorder.build_feedback(packets, 1, 0xABCD);
  EXPECT_EQ(n, packets.size());
  std::vector<TwccFeedback> out;
  for (const auto& packet : packets) {
    EXPECT_LE(packet.size(), 1200u);
    out.push_back(parse(packet));
  }
  return out;
}

// Arrival times in feedback are relative to a wrapping reference: compare
// differences from a packet both know.
int64_t us(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

TEST(TwccRecorder, ParsesTheExtension) {
  const uint8_t value[] = {0x12, 0x34};
  EXPECT_EQ(TwccRecorder::parse_extension(value), 0x1234);
  EXPECT_FALSE(TwccRecorder::parse_extension(std::span<const uint8_t>(value, 1)));
}

TEST(TwccRecorder, RoundTripWithAGap) {
  TwccRecorder recorder;
  for (uint16_t seq = 10; seq < 20; ++seq)
    if (seq != 15) recorder.record(seq, kT0 + (seq - 10) * 1ms + 250us * (seq % 3));
  auto feedback = build(recorder);
  ASSERT_EQ(feedback.size(), 1u);
  const TwccFeedback& fb = feedback[0];
  EXPECT_EQ(fb.base_sequence, 10);
  EXPECT_EQ(fb.status_count, 10);
  EXPECT_EQ(fb.feedback_count, 0);
  ASSERT_EQ(fb.packets.size(), 10u);
  const int64_t origin = fb.packets[0].arrival_time_us;
  for (uint16_t seq = 10; seq < 20; ++seq) {
    const auto& packet = fb.packets[seq - 10];
    EXPECT_EQ(packet.sequence_number, seq);
    if (seq == 15) {
      EXPECT_EQ(packet.status, TwccStatus::kNotReceived);
      continue;
    }
    EXPECT_NE(packet.status, TwccStatus::kNotReceived);
    EXPECT_EQ(packet.arrival_time_us - origin, us((seq - 10) * 1ms + 250us * (seq % 3)) - 250);
  }
  // Nothing new: no feedback; the count moves only with packets sent.
  EXPECT_TRUE(build(recorder).empty());
  recorder.record(20, kT0 + 20ms);
  feedback = build(recorder);
  ASSERT_EQ(feedback.size(), 1u);
  EXPECT_EQ(feedback[0].feedback_count, 1);
  EXPECT_EQ(feedback[0].base_sequence, 20);
  EXPECT_EQ(recorder.feedback_count(), 2);
}

TEST(TwccRecorder, WrapsAcrossZero) {
  TwccRecorder recorder;
  uint16_t seq = 65530;
  for (int i = 0; i < 12; ++i, ++seq)
    recorder.record(seq, kT0 + i * 2ms);
  auto feedback = build(recorder);
  ASSERT_EQ(feedback.size(), 1u);
  EXPECT_EQ(feedback[0].base_sequence, 65530);
  EXPECT_EQ(feedback[0].status_count, 12);
  for (const auto& packet : feedback[0].packets)
    EXPECT_NE(packet.status, TwccStatus::kNotReceived);
  EXPECT_EQ(feedback[0].packets.back().sequence_number, 5);
  EXPECT_EQ(feedback[0].packets.back().arrival_time_us - feedback[0].packets[0].arrival_time_us,
            22'000);
  // The next one continues after the wrap.
  recorder.record(6, kT0 + 30ms);
  feedback = build(recorder);
  ASSERT_EQ(feedback.size(), 1u);
  EXPECT_EQ(feedback[0].base_sequence, 6);
}

TEST(TwccRecorder, ReorderedPacketsKeepTheirArrivalTimes) {
  TwccRecorder recorder;
  recorder.record(1, kT0);
  recorder.record(3, kT0 + 5ms);
  recorder.record(2, kT0 + 7ms);  // late: a negative delta after it
  recorder.record(3, kT0 + 9ms);  // duplicate: the first arrival counts
  auto feedback = build(recorder);
  ASSERT_EQ(feedback.size(), 1u);
  ASSERT_EQ(feedback[0].packets.size(), 3u);
  const int64_t origin = feedback[0].packets[0].arrival_time_us;
  EXPECT_EQ(feedback[0].packets[1].arrival_time_us - origin, 7000);
  EXPECT_EQ(feedback[0].packets[2].arrival_time_us - origin, 5000);
  EXPECT_EQ(recorder.packets_recorded(), 3u);
}

TEST(TwccRecorder, ReportsLeadingLossesAndLateArrivals) {
  TwccRecorder recorder;
  recorder.record(1, kT0);
  recorder.record(2, kT0 + 1ms);
  recorder.record(4, kT0 + 2ms);
  auto feedback = build(recorder);
  ASSERT_EQ(feedback.size(), 1u);
  EXPECT_EQ(feedback[0].packets[2].status, TwccStatus::kNotReceived);  // 3
  // 3 comes after all: the next feedback starts at it again (and repeats 4).
  recorder.record(3, kT0 + 50ms);
  recorder.record(5, kT0 + 51ms);
  feedback = build(recorder);
  ASSERT_EQ(feedback.size(), 1u);
  EXPECT_EQ(feedback[0].base_sequence, 3);
  ASSERT_EQ(feedback[0].packets.size(), 3u);
  for (const auto& packet : feedback[0].packets)
    EXPECT_NE(packet.status, TwccStatus::kNotReceived);
  // 6 and 7 lost right after that feedback: the next one starts at 6.
  recorder.record(8, kT0 + 100ms);
  feedback = build(recorder);
  ASSERT_EQ(feedback.size(), 1u);
  EXPECT_EQ(feedback[0].base_sequence, 6);
  ASSERT_EQ(feedback[0].packets.size(), 3u);
  EXPECT_EQ(feedback[0].packets[0].status, TwccStatus::kNotReceived);
  EXPECT_EQ(feedback[0].packets[1].status, TwccStatus::kNotReceived);
  EXPECT_NE(feedback[0].packets[2].status, TwccStatus::kNotReceived);
}

TEST(TwccRecorder, SplitsLargeIntervalsIntoSeveralPackets) {
  TwccRecorder recorder;
  // 1000 packets in one interval, one in ten lost.
  for (uint16_t seq = 0; seq < 1000; ++seq)
    if (seq % 10 != 7) recorder.record(seq, kT0 + seq * 100us);
  auto feedback = build(recorder);
  ASSERT_GE(feedback.size(), 3u);
  // Together they cover 0..999 exactly once, in order, counts increasing.
  std::map<uint16_t, TwccStatus> seen;
  uint16_t next = 0;
  for (size_t i = 0; i < feedback.size(); ++i) {
    EXPECT_EQ(feedback[i].feedback_count, i);
    EXPECT_EQ(feedback[i].base_sequence, next);
    for (const auto& packet : feedback[i].packets) {
      EXPECT_FALSE(seen.count(packet.sequence_number));
      seen[packet.sequence_number] = packet.status;
    }
    next = static_cast<uint16_t>(feedback[i].base_sequence + feedback[i].status_count);
  }
  ASSERT_EQ(seen.size(), 1000u);
  for (const auto& [seq, status] : seen)
    EXPECT_EQ(status == TwccStatus::kNotReceived, seq % 10 == 7) << seq;
}

TEST(TwccRecorder, SplitsWhereADeltaDoesNotFit) {
  TwccRecorder recorder;
  recorder.record(1, kT0);
  recorder.record(2, kT0 + 10s);  // over the 8.19 s a delta can hold
  auto feedback = build(recorder);
  ASSERT_EQ(feedback.size(), 2u);
  EXPECT_EQ(feedback[0].base_sequence, 1);
  EXPECT_EQ(feedback[0].status_count, 1);
  EXPECT_EQ(feedback[1].base_sequence, 2);
  EXPECT_EQ(feedback[1].status_count, 1);
}

TEST(TwccRecorder, IgnoresPacketsOlderThanTheHistory) {
  TwccRecorder recorder;
  recorder.record(0, kT0);
  build(recorder);
  recorder.record(5000, kT0 + 1s);
  recorder.record(1, kT0 + 1s);  // 4999 behind: forgotten
  auto feedback = build(recorder);
  ASSERT_EQ(feedback.size(), 1u);
  // The gap before 5000 beyond the history is not reported.
  EXPECT_EQ(static_cast<uint16_t>(feedback[0].base_sequence + feedback[0].status_count - 1), 5000);
  EXPECT_LE(feedback[0].status_count, TwccRecorder::kHistory);
}

}  // namespace
}  // namespace atrium::sfu
