#include "media/rtcp.hpp"

#include <gtest/gtest.h>

#include "media/rtcp_feedback.hpp"
#include "media/rtcp_twcc.hpp"

namespace atrium::media::rtcp {
namespace {

std::vector<Packet> packets_of(std::span<const uint8_t> bytes) {
  std::vector<Packet> packets;
  CompoundIterator it(bytes);
  while (auto packet = it.next())
    packets.push_back(*packet);
  EXPECT_EQ(it.error(), ParseError::kNone);
  return packets;
}

Feedback single_feedback(const std::vector<uint8_t>& bytes) {
  auto packets = packets_of(bytes);
  EXPECT_EQ(packets.size(), 1u);
  auto feedback = parse_feedback(packets.at(0));
  EXPECT_TRUE(feedback);
  return *feedback;
}

TEST(Rtcp, SenderReportAndSdesCompound) {
  const ReportBlock block{0xabcdef01, 25, -3, 0x0001ffff, 120, 0x11112222, 65536};
  const SenderInfo info{0x0102030405060708ull, 90000, 10, 12000};
  std::vector<uint8_t> out;
  append_sender_report(out, 0x11223344, info, std::span(&block, 1));
  append_sdes_cname(out, 0x11223344, "participant-cname");
  EXPECT_TRUE(is_valid_compound(out));

  auto packets = packets_of(out);
  ASSERT_EQ(packets.size(), 2u);
  auto sr = parse_sender_report(packets[0]);
  ASSERT_TRUE(sr);
  EXPECT_EQ(sr->ssrc, 0x11223344u);
  EXPECT_EQ(sr->info, info);
  ASSERT_EQ(sr->reports.size(), 1u);
  EXPECT_EQ(sr->reports[0], block);
  EXPECT_FALSE(parse_receiver_report(packets[0]));

  auto items = parse_sdes(packets[1]);
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].ssrc, 0x11223344u);
  EXPECT_EQ((*items)[0].type, kSdesCname);
  EXPECT_EQ((*items)[0].value, "participant-cname");
}

TEST(Rtcp, ReceiverReportAndBye) {
  std::vector<ReportBlock> blocks = {{1, 0, 0, 100, 0, 0, 0}, {2, 255, 0x7fffff, 5, 6, 7, 8}};
  std::vector<uint8_t> out;
  append_receiver_report(out, 9, blocks);
  const uint32_t ssrcs[] = {9, 10};
  append_bye(out, ssrcs, "bye now");
  append_receiver_report(out, 9, {});
  auto packets = packets_of(out);
  ASSERT_EQ(packets.size(), 3u);
  auto rr = parse_receiver_report(packets[0]);
  ASSERT_TRUE(rr);
  ASSERT_EQ(rr->reports.size(), 2u);
  EXPECT_EQ(rr->reports[1], blocks[1]);
  auto bye = parse_bye(packets[1]);
  ASSERT_TRUE(bye);
  EXPECT_EQ(bye->ssrcs, std::vector<uint32_t>({9, 10}));
  EXPECT_EQ(bye->reason, "bye now");
  auto empty = parse_receiver_report(packets[2]);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->reports.size(), 0u);
}

TEST(Rtcp, SdesMultipleChunksAndItems) {
  // Two chunks: (SSRC 1, CNAME "ab", NAME "c"), (SSRC 2, CNAME "") each null-terminated and padded.
  std::vector<uint8_t> out = {0x82, 202, 0x00, 0x05, 0, 0, 0, 1, 1, 2, 'a', 'b',
                              2,    1,   'c',  0,    0, 0, 0, 2, 1, 0, 0,   0};
  auto packets = packets_of(out);
  ASSERT_EQ(packets.size(), 1u);
  auto items = parse_sdes(packets[0]);
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 3u);
  EXPECT_EQ((*items)[1].value, "c");
  EXPECT_EQ((*items)[2].ssrc, 2u);
  EXPECT_EQ((*items)[2].value, "");
}

TEST(Rtcp, MalformedCompounds) {
  ParseError error;
  const std::vector<uint8_t> short_header = {0x80, 201};
  EXPECT_FALSE(is_valid_compound(short_header, &error));
  EXPECT_EQ(error, ParseError::kTooShort);
  EXPECT_FALSE(is_valid_compound({}, &error));
  const std::vector<uint8_t> bad_version = {0x40, 201, 0, 1, 0, 0, 0, 1};
  EXPECT_FALSE(is_valid_compound(bad_version, &error));
  EXPECT_EQ(error, ParseError::kBadVersion);
  const std::vector<uint8_t> overflow = {0x80, 201, 0, 2, 0, 0, 0, 1};
  EXPECT_FALSE(is_valid_compound(overflow, &error));
  EXPECT_EQ(error, ParseError::kLengthOverflow);
  const std::vector<uint8_t> zero_padding = {0xa0, 201, 0, 1, 0, 0, 0, 0};
  EXPECT_FALSE(is_valid_compound(zero_padding, &error));
  EXPECT_EQ(error, ParseError::kBadPadding);
  const std::vector<uint8_t> large_padding = {0xa0, 201, 0, 1, 0, 0, 0, 5};
  EXPECT_FALSE(is_valid_compound(large_padding, &error));
  EXPECT_EQ(error, ParseError::kBadPadding);
  // Second packet truncated: the first is still returned.
  std::vector<uint8_t> two = {0x80, 201, 0, 1, 0, 0, 0, 1, 0x80, 201, 0, 5};
  CompoundIterator it(two);
  EXPECT_TRUE(it.next());
  EXPECT_FALSE(it.next());
  EXPECT_EQ(it.error(), ParseError::kLengthOverflow);

  // Bodies that do not match their counts.
  const std::vector<uint8_t> rr_missing_block = {0x81, 201, 0, 1, 0, 0, 0, 1};
  EXPECT_FALSE(parse_receiver_report(packets_of(rr_missing_block)[0]));
  const std::vector<uint8_t> sr_short = {0x80, 200, 0, 1, 0, 0, 0, 1};
  EXPECT_FALSE(parse_sender_report(packets_of(sr_short)[0]));
  const std::vector<uint8_t> sdes_item_overflow = {0x81, 202, 0, 2, 0, 0, 0, 1, 1, 9, 'a', 0};
  EXPECT_FALSE(parse_sdes(packets_of(sdes_item_overflow)[0]));
  const std::vector<uint8_t> sdes_missing_chunk = {0x82, 202, 0, 2, 0, 0, 0, 1, 1, 0, 0, 0};
  EXPECT_FALSE(parse_sdes(packets_of(sdes_missing_chunk)[0]));
  const std::vector<uint8_t> bye_reason_overflow = {0x81, 203, 0, 2, 0, 0, 0, 1, 9, 'x', 0, 0};
  EXPECT_FALSE(parse_bye(packets_of(bye_reason_overflow)[0]));
  const std::vector<uint8_t> bye_ssrc_overflow = {0x82, 203, 0, 1, 0, 0, 0, 1};
  EXPECT_FALSE(parse_bye(packets_of(bye_ssrc_overflow)[0]));
}

TEST(RtcpFeedback, NackRoundTrip) {
  const std::vector<uint16_t> lost = {100, 101, 116, 117, 200, 65535, 0, 3};
  std::vector<uint8_t> out;
  append_nack(out, 1, 2, lost);
  auto feedback = single_feedback(out);
  EXPECT_EQ(feedback.sender_ssrc, 1u);
  EXPECT_EQ(feedback.media_ssrc, 2u);
  EXPECT_EQ(feedback.fci.size(), 4u * 4);  // {100 +101 +116}, {117}, {200}, {65535 +0 +3}
  auto parsed = parse_nack(feedback);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, lost);
}

TEST(RtcpFeedback, NackPacking) {
  const std::vector<uint16_t> lost = {10, 12, 26, 27, 65534, 1};
  auto items = pack_nack_items(lost);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].pid, 10);
  EXPECT_EQ(items[0].blp, (1 << 1) | (1 << 15));  // 12 and 26
  EXPECT_EQ(items[1].pid, 27);
  EXPECT_EQ(items[2].pid, 65534);
  EXPECT_EQ(items[2].blp, 1 << 2);  // wraps to 1
}

TEST(RtcpFeedback, PliFirRemb) {
  std::vector<uint8_t> out;
  append_pli(out, 7, 8);
  auto pli = single_feedback(out);
  EXPECT_TRUE(is_pli(pli));
  EXPECT_EQ(pli.media_ssrc, 8u);
  EXPECT_FALSE(parse_nack(pli));

  out.clear();
  const std::vector<FirEntry> entries = {{0x1111, 3}, {0x2222, 255}};
  append_fir(out, 7, entries);
  auto fir = parse_fir(single_feedback(out));
  ASSERT_TRUE(fir);
  EXPECT_EQ(*fir, entries);

  for (uint64_t bitrate : {0ull, 1000ull, 262143ull, 262144ull, 2'500'000ull, 123'456'789ull}) {
    out.clear();
    const uint32_t ssrcs[] = {5, 6};
    append_remb(out, 7, bitrate, ssrcs);
    auto remb = parse_remb(single_feedback(out));
    ASSERT_TRUE(remb);
    EXPECT_LE(remb->bitrate_bps, bitrate);
    EXPECT_GE(remb->bitrate_bps * 1.0001 + 1, static_cast<double>(bitrate));
    EXPECT_EQ(remb->ssrcs, std::vector<uint32_t>({5, 6}));
  }
}

TEST(RtcpFeedback, MalformedFeedback) {
  const std::vector<uint8_t> no_ssrcs = {0x81, 205, 0, 1, 0, 0, 0, 1};
  EXPECT_FALSE(parse_feedback(packets_of(no_ssrcs)[0]));
  const std::vector<uint8_t> empty_nack = {0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2};
  EXPECT_FALSE(parse_nack(single_feedback(empty_nack)));
  const std::vector<uint8_t> fir_short = {0x84, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9};
  EXPECT_FALSE(parse_fir(single_feedback(fir_short)));
  // REMB announcing 2 SSRCs with room for one.
  const std::vector<uint8_t> remb_short = {0x8f, 206, 0,   5,   0, 0, 0, 1, 0, 0, 0, 0,
                                           'R',  'E', 'M', 'B', 2, 0, 0, 1, 0, 0, 0, 5};
  EXPECT_FALSE(parse_remb(single_feedback(remb_short)));
  const std::vector<uint8_t> not_remb = {0x8f, 206, 0,   4,   0,   0,   0, 1, 0, 0,
                                         0,    0,   'R', 'E', 'M', 'X', 0, 0, 0, 1};
  EXPECT_FALSE(parse_remb(single_feedback(not_remb)));
}

std::optional<TwccFeedback> twcc_round_trip(const std::vector<TwccArrival>& arrivals) {
  std::vector<uint8_t> out;
  if (!append_twcc(out, 1, 2, 9, arrivals)) return std::nullopt;
  EXPECT_EQ(out.size() % 4, 0u);
  return parse_twcc(single_feedback(out));
}

TEST(RtcpTwcc, RoundTripWithGapsAndLargeDeltas) {
  const std::vector<TwccArrival> arrivals = {{65530, 1'000'000}, {65531, 1'000'250},
                                             {65533, 1'100'000},  // 99.75 ms: large delta
                                             {2, 1'099'000},      // negative delta
                                             {3, 1'099'000},     {40, 1'120'000}};
  auto feedback = twcc_round_trip(arrivals);
  ASSERT_TRUE(feedback);
  EXPECT_EQ(feedback->base_sequence, 65530);
  EXPECT_EQ(feedback->status_count, 47);
  EXPECT_EQ(feedback->feedback_count, 9);
  EXPECT_EQ(feedback->reference_time, 1'000'000 / 64'000);
  ASSERT_EQ(feedback->packets.size(), 47u);
  size_t received = 0;
  for (const auto& packet : feedback->packets) {
    if (packet.status == TwccStatus::kNotReceived) continue;
    const auto& expected = arrivals.at(received++);
    EXPECT_EQ(packet.sequence_number, expected.sequence_number);
    EXPECT_EQ(packet.arrival_time_us, expected.arrival_time_us);
  }
  EXPECT_EQ(received, arrivals.size());
  EXPECT_EQ(feedback->packets[3].status, TwccStatus::kLargeDelta);
  EXPECT_EQ(feedback->packets[8].status, TwccStatus::kLargeDelta);
}

TEST(RtcpTwcc, LongRunsAndEveryChunkKind) {
  std::vector<TwccArrival> arrivals;
  int64_t t = 5'000'000;
  for (uint16_t seq = 0; seq < 300; ++seq)
    arrivals.push_back({seq, t += 1000});  // long run
  for (uint16_t seq = 300; seq < 340; seq += 2)
    arrivals.push_back({seq, t += 500});  // 1-bit
  for (uint16_t seq = 340; seq < 350; ++seq)
    arrivals.push_back({seq, t += (seq % 2) ? 90'000 : 0});
  auto feedback = twcc_round_trip(arrivals);
  ASSERT_TRUE(feedback);
  size_t received = 0;
  for (const auto& packet : feedback->packets) {
    if (packet.status == TwccStatus::kNotReceived) continue;
    EXPECT_EQ(packet.arrival_time_us, arrivals.at(received++).arrival_time_us);
  }
  EXPECT_EQ(received, arrivals.size());
}

TEST(RtcpTwcc, BuilderRefusesWhatItCannotEncode) {
  EXPECT_FALSE(twcc_round_trip({}));
  EXPECT_FALSE(twcc_round_trip({{5, 0}, {4, 1000}}));        // not ascending
  EXPECT_FALSE(twcc_round_trip({{1, 0}, {2, 10'000'000}}));  // delta over 8.19 s
  EXPECT_TRUE(twcc_round_trip({{1, 0}, {2, 8'000'000}}));
}

TEST(RtcpTwcc, ExplicitBaseReportsLeadingLosses) {
  // 65534 and 65535 were lost right after the previous feedback ended.
  const std::vector<TwccArrival> arrivals = {{0, 2'000'000}, {2, 2'001'000}};
  std::vector<uint8_t> out;
  ASSERT_TRUE(append_twcc(out, 1, 2, 3, 65534, arrivals));
  auto feedback = parse_twcc(single_feedback(out));
  ASSERT_TRUE(feedback);
  EXPECT_EQ(feedback->base_sequence, 65534);
  EXPECT_EQ(feedback->status_count, 5);
  ASSERT_EQ(feedback->packets.size(), 5u);
  EXPECT_EQ(feedback->packets[0].status, TwccStatus::kNotReceived);
  EXPECT_EQ(feedback->packets[1].status, TwccStatus::kNotReceived);
  EXPECT_EQ(feedback->packets[2].arrival_time_us, 2'000'000);
  EXPECT_EQ(feedback->packets[3].status, TwccStatus::kNotReceived);
  EXPECT_EQ(feedback->packets[4].arrival_time_us, 2'001'000);
  // A base after the first arrival is refused.
  out.clear();
  EXPECT_FALSE(append_twcc(out, 1, 2, 3, 1, arrivals));
  EXPECT_TRUE(out.empty());
}

TEST(RtcpTwcc, HandBuiltFeedbackAndMalformed) {
  // base 10, 4 statuses, reference 1 (64 ms), count 0; a 2-bit vector
  // [small, not received, large, small], deltas 4 (1 ms), -8 (-2 ms), 1.
  const uint8_t chunk_high = 0xC0 | (1 << 4) | (0 << 2) | 2;  // 2-bit vector, symbols 0..2
  const uint8_t chunk_low = 1 << 6;                           // symbol 3
  std::vector<uint8_t> fb = {0x8f, 205, 0, 6, 0, 0, 0,          1,         0, 0,    0,    2, 0, 10,
                             0,    4,   0, 0, 1, 0, chunk_high, chunk_low, 4, 0xff, 0xf8, 1, 0, 0};
  auto feedback = parse_twcc(single_feedback(fb));
  ASSERT_TRUE(feedback);
  ASSERT_EQ(feedback->packets.size(), 4u);
  EXPECT_EQ(feedback->packets[0].arrival_time_us, 64'000 + 1000);
  EXPECT_EQ(feedback->packets[1].status, TwccStatus::kNotReceived);
  EXPECT_EQ(feedback->packets[2].arrival_time_us, 64'000 + 1000 - 2000);
  EXPECT_EQ(feedback->packets[3].sequence_number, 13);
  EXPECT_EQ(feedback->packets[3].arrival_time_us, 64'000 - 1000 + 250);

  // Cut after the first byte of the large delta.
  std::vector<uint8_t> truncated_deltas(fb.begin(), fb.begin() + 24);
  truncated_deltas[3] = 5;
  EXPECT_FALSE(parse_twcc(single_feedback(truncated_deltas)));
  auto reserved_status = fb;
  reserved_status[20] = 0xC0 | (3 << 4);
  EXPECT_FALSE(parse_twcc(single_feedback(reserved_status)));
  const std::vector<uint8_t> short_fci = {0x8f, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 1};
  EXPECT_FALSE(parse_twcc(single_feedback(short_fci)));
}

}  // namespace
}  // namespace atrium::media::rtcp
