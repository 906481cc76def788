#include "sfu/rtp_munger.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "test_packets.hpp"

namespace atrium::sfu {
namespace {

using namespace std::chrono_literals;
using test::rtp_packet;
using test::vp8_payload;

constexpr uint32_t kOutSsrc = 0xabcdef01;
const Clock::time_point kT0{std::chrono::seconds(1000)};

struct Out {
  bool forwarded;
  uint16_t seq;
  uint32_t ts;
  uint32_t ssrc;
  std::optional<Vp8Descriptor> vp8;
  std::vector<uint8_t> bytes;
};

// Munges a copy of `packet`, as the down track does.
Out munge(RtpMunger& munger, std::vector<uint8_t> packet, int layer, Clock::time_point at,
          bool vp8 = true) {
  auto view = media::MutableRtpView::parse(packet);
  EXPECT_TRUE(view);
  std::optional<Vp8Descriptor> d;
  if (vp8) d = parse_vp8(view->payload());
  auto result = munger.munge(*view, layer, d ? &*d : nullptr, at);
  Out out{result.forwarded(), view->sequence_number(),    view->timestamp(),
          view->ssrc(),       parse_vp8(view->payload()), packet};
  if (result.forwarded()) {
    EXPECT_EQ(result.sequence_number, out.seq);
    EXPECT_EQ(result.timestamp, out.ts);
  }
  return out;
}

// A simulcast layer's stream: its own SSRC, sequence, timestamp and picture ids.
struct Layer {
  uint32_t ssrc;
  uint16_t seq;
  uint32_t ts;
  uint16_t pid;
  uint8_t tl0;
  bool pid_15bit = true;

  // One packet per frame at 30 fps.
  std::vector<uint8_t> next(bool key) {
    auto p = rtp_packet(seq++, ts, ssrc,
                        vp8_payload({.keyframe = key,
                                     .picture_id = pid,
                                     .picture_id_15bit = pid_15bit,
                                     .tl0 = tl0,
                                     .tid = 0}));
    ts += 3000;
    pid = static_cast<uint16_t>((pid + 1) & (pid_15bit ? 0x7FFF : 0x7F));
    ++tl0;
    return p;
  }
};

TEST(RtpMunger, FirstSegmentKeepsNumberingAndRewritesSsrc) {
  RtpMunger munger(kOutSsrc, 90000);
  Layer q{111, 500, 9000, 40, 3};
  auto out = munge(munger, q.next(true), 0, kT0);
  ASSERT_TRUE(out.forwarded);
  EXPECT_EQ(out.ssrc, kOutSsrc);
  EXPECT_EQ(out.seq, 500);
  EXPECT_EQ(out.ts, 9000u);
  EXPECT_EQ(out.vp8->picture_id, 40);
  EXPECT_EQ(out.vp8->tl0_pic_idx, 3);
}

TEST(RtpMunger, ContinuousAcrossSwitchesWithSequenceAndTimestampWrap) {
  RtpMunger munger(kOutSsrc, 90000);
  // q ends just before the 16-bit and 32-bit wraps; h and f are elsewhere.
  Layer q{111, 65533, 0xFFFFF000u, 0x7FFE, 254};
  Layer h{222, 10, 123456, 9, 77};
  auto at = kT0;
  std::vector<Out> sent;
  for (int i = 0; i < 5; ++i, at += 33ms)
    sent.push_back(munge(munger, q.next(i == 0), 0, at));
  // q -> h at a keyframe of h, 33 ms after the last q packet.
  for (int i = 0; i < 4; ++i, at += 33ms)
    sent.push_back(munge(munger, h.next(i == 0), 1, at));
  // h -> q again.
  for (int i = 0; i < 3; ++i, at += 33ms)
    sent.push_back(munge(munger, q.next(i == 0), 0, at));
  for (size_t i = 1; i < sent.size(); ++i) {
    ASSERT_TRUE(sent[i].forwarded) << i;
    EXPECT_EQ(sent[i].ssrc, kOutSsrc);
    EXPECT_EQ(sent[i].seq, static_cast<uint16_t>(sent[i - 1].seq + 1)) << i;
    // 33 ms at 90 kHz is 2970 ticks at a switch; 3000 within a layer.
    const uint32_t step = sent[i].ts - sent[i - 1].ts;
    EXPECT_TRUE(step == 3000 || step == 2970) << i << " " << step;
    EXPECT_EQ(sent[i].vp8->picture_id, (sent[i - 1].vp8->picture_id + 1) & 0x7FFF) << i;
    EXPECT_EQ(sent[i].vp8->tl0_pic_idx, static_cast<uint8_t>(sent[i - 1].vp8->tl0_pic_idx + 1));
  }
  EXPECT_EQ(sent[5].ts - sent[4].ts, 2970u);  // the switch step comes from arrival times
  EXPECT_EQ(sent[2].seq, 65535);
  EXPECT_EQ(sent[3].seq, 0);              // wrapped
  EXPECT_LT(sent[4].ts, sent[0].ts);      // the timestamp wrapped too
  EXPECT_EQ(sent[4].vp8->picture_id, 2);  // 0x7FFE, 0x7FFF, 0, 1, 2
}

TEST(RtpMunger, SevenBitPictureIdStaysSevenBit) {
  RtpMunger munger(kOutSsrc, 90000);
  Layer q{111, 1, 0, 0x1234, 0};
  Layer h{222, 900, 0, 120, 0, false};  // 7-bit ids, wrapping at 128
  auto at = kT0;
  Out last{};
  for (int i = 0; i < 3; ++i)
    last = munge(munger, q.next(i == 0), 0, at += 10ms);
  EXPECT_EQ(last.vp8->picture_id, 0x1236);
  for (int i = 0; i < 12; ++i) {
    auto out = munge(munger, h.next(i == 0), 1, at += 10ms);
    ASSERT_TRUE(out.forwarded);
    EXPECT_FALSE(out.vp8->picture_id_15bit);
    EXPECT_EQ(out.vp8->picture_id, (0x1237 + i) & 0x7F) << i;
  }
}

TEST(RtpMunger, PacketWithoutPictureIdIsLeftAlone) {
  RtpMunger munger(kOutSsrc, 90000);
  auto packet = rtp_packet(7, 7, 1, vp8_payload({.keyframe = true}));
  auto out = munge(munger, packet, 0, kT0);
  ASSERT_TRUE(out.forwarded);
  EXPECT_EQ(std::vector<uint8_t>(out.bytes.begin() + 12, out.bytes.end()),
            std::vector<uint8_t>(packet.begin() + 12, packet.end()));
}

TEST(RtpMunger, LossGapsArePreservedAndReorderedPacketsFit) {
  RtpMunger munger(kOutSsrc, 90000);
  Layer q{111, 100, 0, 1, 1};
  Layer h{222, 5000, 0, 1, 1};
  auto at = kT0;
  munge(munger, q.next(true), 0, at);  // 100 -> 100
  auto lost = q.next(false);           // 101 lost
  auto late = q.next(false);           // 102 arrives after 103
  auto p103 = munge(munger, q.next(false), 0, at += 10ms);
  EXPECT_EQ(p103.seq, 103);  // the gap stays for the receiver to NACK
  auto p102 = munge(munger, late, 0, at);
  ASSERT_TRUE(p102.forwarded);
  EXPECT_EQ(p102.seq, 102);
  EXPECT_EQ(p102.vp8->picture_id, 3);
  // After a switch, h's own loss is a gap too.
  auto first_h = munge(munger, h.next(true), 1, at += 10ms);
  EXPECT_EQ(first_h.seq, 104);
  h.next(false);  // lost
  EXPECT_EQ(munge(munger, h.next(false), 1, at += 10ms).seq, 106);
  // A late q packet from before the switch cannot come back as a new segment's
  // start: the layer is the caller's choice, but its own old numbers are refused.
  (void)lost;
}

TEST(RtpMunger, PaddingIsDroppedWithoutAGap) {
  RtpMunger munger(kOutSsrc, 90000);
  Layer q{111, 65534, 0, 1, 1};
  auto at = kT0;
  EXPECT_EQ(munge(munger, q.next(true), 0, at).seq, 65534);
  auto pad1 = test::padding_packet(q.seq++, q.ts, q.ssrc);
  auto pad2 = test::padding_packet(q.seq++, q.ts, q.ssrc);
  EXPECT_FALSE(munge(munger, pad1, 0, at).forwarded);
  EXPECT_FALSE(munge(munger, pad2, 0, at).forwarded);
  auto lost = q.next(false);  // lost, then found late
  auto next = munge(munger, q.next(false), 0, at += 10ms);
  ASSERT_TRUE(next.forwarded);
  EXPECT_EQ(next.seq, 0);  // 65535 is the gap of the lost packet; no padding gaps
  auto late = munge(munger, lost, 0, at);
  ASSERT_TRUE(late.forwarded);
  EXPECT_EQ(late.seq, 65535);
  // Padding cannot start a stream.
  RtpMunger fresh(kOutSsrc, 90000);
  EXPECT_FALSE(munge(fresh, test::padding_packet(1, 1, 1), 0, at).forwarded);
  EXPECT_FALSE(fresh.started());
}

TEST(RtpMunger, PacketsFromBeforeTheSwitchPointAreDropped) {
  RtpMunger munger(kOutSsrc, 90000);
  Layer q{111, 100, 0, 1, 1};
  Layer h{222, 300, 0, 1, 1};
  auto at = kT0;
  munge(munger, q.next(true), 0, at);
  auto h_early = h.next(false);  // h 300, delayed behind the keyframe
  auto key = munge(munger, h.next(true), 1, at += 10ms);
  ASSERT_TRUE(key.forwarded);
  auto early = munge(munger, h_early, 1, at);
  EXPECT_FALSE(early.forwarded);
}

TEST(RtpMunger, NackMapsBackToSourceAfterASwitch) {
  RtpMunger munger(kOutSsrc, 90000, 64);
  Layer q{111, 65534, 0, 1, 1};
  Layer h{222, 4000, 0, 1, 1};
  auto at = kT0;
  std::vector<Out> sent;
  for (int i = 0; i < 3; ++i)
    sent.push_back(munge(munger, q.next(i == 0), 0, at += 10ms));
  std::vector<std::vector<uint8_t>> h_source;
  for (int i = 0; i < 3; ++i) {
    h_source.push_back(h.next(i == 0));
    sent.push_back(munge(munger, h_source.back(), 1, at += 10ms));
  }
  // Output 65534, 65535, 0 came from q 65534.., 1, 2, 3 from h 4000...
  auto q_ref = munger.lookup(65535);
  ASSERT_TRUE(q_ref);
  EXPECT_EQ(q_ref->layer, 0);
  EXPECT_EQ(q_ref->sequence_number, 65535);
  auto h_ref = munger.lookup(2);
  ASSERT_TRUE(h_ref);
  EXPECT_EQ(h_ref->layer, 1);
  EXPECT_EQ(h_ref->sequence_number, 4001);
  EXPECT_FALSE(munger.lookup(4));    // not sent yet
  EXPECT_FALSE(munger.lookup(500));  // never sent

  // A retransmission is rewritten exactly as the original went out.
  auto copy = h_source[1];
  auto view = media::MutableRtpView::parse(copy);
  ASSERT_TRUE(view);
  auto d = parse_vp8(view->payload());
  ASSERT_TRUE(munger.rewrite_retransmission(*view, 2, &*d));
  EXPECT_EQ(copy, sent[4].bytes);
  // Asking with the wrong source packet fails.
  auto wrong = h_source[0];
  auto wrong_view = media::MutableRtpView::parse(wrong);
  EXPECT_FALSE(munger.rewrite_retransmission(*wrong_view, 2, nullptr));
}

TEST(RtpMunger, SequencerHistoryIsBounded) {
  RtpMunger munger(kOutSsrc, 48000, 16);
  auto at = kT0;
  for (uint16_t i = 0; i < 40; ++i) {
    auto out = munge(munger, rtp_packet(i, i * 960u, 9, {0xfc, 0x01}, 111), 0, at += 20ms, false);
    ASSERT_TRUE(out.forwarded);
  }
  EXPECT_TRUE(munger.lookup(39));
  EXPECT_TRUE(munger.lookup(24));
  EXPECT_FALSE(munger.lookup(23));
  EXPECT_FALSE(munger.lookup(0));
}

TEST(RtpMunger, RestartSkipsPausedPacketsWithoutAGap) {
  RtpMunger munger(kOutSsrc, 48000);
  auto at = kT0;
  auto a = munge(munger, rtp_packet(10, 960, 9, {0xfc}, 111), 0, at, false);
  munger.restart();  // muted for a second: 50 packets skipped
  auto b = munge(munger, rtp_packet(61, 960 * 52, 9, {0xfc}, 111), 0, at += 1s, false);
  ASSERT_TRUE(b.forwarded);
  EXPECT_EQ(b.seq, static_cast<uint16_t>(a.seq + 1));
  EXPECT_EQ(b.ts - a.ts, 48000u);  // the wall time of the pause
}

}  // namespace
}  // namespace atrium::sfu
