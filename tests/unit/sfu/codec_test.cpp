#include "sfu/codec.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "test_packets.hpp"

namespace atrium::sfu {
namespace {

using test::vp8_payload;
using test::Vp8Fields;

TEST(Vp8, MinimalDescriptorKeyframe) {
  const auto payload = vp8_payload({.keyframe = true});
  auto d = parse_vp8(payload);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->size, 1);
  EXPECT_TRUE(d->start_of_partition);
  EXPECT_FALSE(d->has_picture_id);
  EXPECT_TRUE(d->keyframe);
}

TEST(Vp8, FifteenBitPictureIdWithTl0AndTid) {
  const auto payload =
      vp8_payload({.keyframe = false, .picture_id = 0x1234, .tl0 = 0xab, .tid = 2});
  auto d = parse_vp8(payload);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->has_picture_id);
  EXPECT_TRUE(d->picture_id_15bit);
  EXPECT_EQ(d->picture_id, 0x1234);
  EXPECT_EQ(d->picture_id_offset, 2);
  EXPECT_TRUE(d->has_tl0_pic_idx);
  EXPECT_EQ(d->tl0_pic_idx, 0xab);
  EXPECT_EQ(d->tl0_pic_idx_offset, 4);
  EXPECT_TRUE(d->has_tid);
  EXPECT_EQ(d->tid, 2);
  EXPECT_EQ(d->size, 6);
  EXPECT_FALSE(d->keyframe);
}

TEST(Vp8, SevenBitPictureIdWithoutTl0) {
  const auto payload =
      vp8_payload({.keyframe = true, .picture_id = 0x55, .picture_id_15bit = false});
  auto d = parse_vp8(payload);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->picture_id_15bit);
  EXPECT_EQ(d->picture_id, 0x55);
  EXPECT_FALSE(d->has_tl0_pic_idx);
  EXPECT_FALSE(d->has_tid);
  EXPECT_EQ(d->size, 3);
  EXPECT_TRUE(d->keyframe);
}

TEST(Vp8, KeyframeNeedsStartOfPartitionZero) {
  auto not_start = parse_vp8(vp8_payload({.keyframe = true, .start = false, .picture_id = 7}));
  ASSERT_TRUE(not_start);
  EXPECT_FALSE(not_start->keyframe);
  auto partition1 = parse_vp8(vp8_payload({.keyframe = true, .partition = 1}));
  ASSERT_TRUE(partition1);
  EXPECT_FALSE(partition1->keyframe);
  // A descriptor alone (no payload header): cannot be a keyframe.
  const std::vector<uint8_t> only_descriptor{0x90, 0x80, 0x81, 0x00};
  auto d = parse_vp8(only_descriptor);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->keyframe);
}

TEST(Vp8, TruncatedDescriptorsAreRejected) {
  const auto full = vp8_payload({.picture_id = 0x1234, .tl0 = 1, .tid = 1});
  // Every cut inside the 6-byte descriptor must fail, never read past the end.
  for (size_t n = 0; n < 6; ++n) {
    EXPECT_FALSE(parse_vp8(std::span<const uint8_t>(full.data(), n))) << n;
  }
  EXPECT_TRUE(parse_vp8(std::span<const uint8_t>(full.data(), 6)));
}

TEST(Vp8, E2eeKeyframeStillDetected) {
  // livekit-client keeps 10 bytes of a keyframe clear; the rest is ciphertext.
  auto payload = vp8_payload({.keyframe = true, .picture_id = 300});
  payload.resize(4 + 10);
  payload.insert(payload.end(), {0x13, 0x37, 0xff, 0x00, 0x42, 0x0c, 0x01});
  auto d = parse_vp8(payload);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->keyframe);
}

TEST(Vp9, NonFlexibleKeyframe) {
  // I P L F B E V Z = 1 0 1 0 1 0 0 0, 15-bit picture id, TID 0 SID 0, TL0PICIDX.
  const std::vector<uint8_t> payload{0xA8, 0x81, 0x23, 0x00, 0x07, 0x82, 0x49, 0x83};
  auto d = parse_vp9(payload);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->picture_id, 0x0123);
  EXPECT_TRUE(d->has_tl0_pic_idx);
  EXPECT_EQ(d->tl0_pic_idx, 7);
  EXPECT_EQ(d->size, 5);
  EXPECT_TRUE(d->keyframe);
}

TEST(Vp9, PredictedOrUpperSpatialLayerIsNotKey) {
  // P set.
  const std::vector<uint8_t> predicted{0xE8, 0x05, 0x00, 0x07, 0x00};
  auto d = parse_vp9(predicted);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->keyframe);
  // SID 1 (L byte 0b000'0'001'0).
  const std::vector<uint8_t> sid1{0xA8, 0x05, 0x02, 0x07, 0x00};
  d = parse_vp9(sid1);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->sid, 1);
  EXPECT_FALSE(d->keyframe);
  // Not the beginning of a frame.
  const std::vector<uint8_t> middle{0xA4, 0x05, 0x00, 0x07, 0x00};
  d = parse_vp9(middle);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->keyframe);
}

TEST(Vp9, FlexibleModeReferencesAndScalabilityStructure) {
  // Flexible, predicted, two P_DIFF bytes (N set on the first).
  const std::vector<uint8_t> flexible{0xF8, 0x05, 0x20, 0x03, 0x02, 0x99};
  auto d = parse_vp9(flexible);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->tid, 1);
  EXPECT_EQ(d->size, 5);
  // Four P_DIFF bytes all with N set: malformed.
  const std::vector<uint8_t> too_many{0xF8, 0x05, 0x00, 0x03, 0x03, 0x03, 0x03};
  EXPECT_FALSE(parse_vp9(too_many));
  // Keyframe with SS: one spatial layer with resolution, one group with one ref.
  const std::vector<uint8_t> ss{0x8A, 0x05, 0x18, 0x02, 0x80, 0x01, 0x68, 0x01, 0x04, 0x07, 0x00};
  d = parse_vp9(ss);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->has_scalability_structure);
  EXPECT_EQ(d->size, 10);
  EXPECT_TRUE(d->keyframe);
  EXPECT_FALSE(parse_vp9(std::span<const uint8_t>(ss.data(), 6)));
}

TEST(Red, PrimaryAfterRedundantBlocks) {
  // Two redundant blocks (PT 111, lengths 3 and 2), then the primary header.
  const std::vector<uint8_t> payload{0xEF, 0x03, 0xC0, 0x03, 0xEF, 0x01, 0xE0, 0x02, 0x6F,
                                     0xA1, 0xA2, 0xA3, 0xB1, 0xB2, 0xC1, 0xC2, 0xC3, 0xC4};
  auto primary = parse_red_primary(payload);
  ASSERT_TRUE(primary);
  EXPECT_EQ(primary->payload_type, 111);
  EXPECT_EQ(primary->offset, 14);
  EXPECT_EQ(primary->size, 4);
}

TEST(Red, PrimaryAloneAndMalformed) {
  const std::vector<uint8_t> alone{0x6F, 0x01, 0x02};
  auto primary = parse_red_primary(alone);
  ASSERT_TRUE(primary);
  EXPECT_EQ(primary->offset, 1);
  EXPECT_EQ(primary->size, 2);
  EXPECT_FALSE(parse_red_primary({}));
  // A redundant block header cut short, and one longer than the payload.
  EXPECT_FALSE(parse_red_primary(std::vector<uint8_t>{0xEF, 0x03, 0xC0}));
  EXPECT_FALSE(parse_red_primary(std::vector<uint8_t>{0xEF, 0x03, 0xC0, 0x09, 0x6F, 0x01}));
  // Only redundant block headers, no primary header.
  EXPECT_FALSE(parse_red_primary(std::vector<uint8_t>{0xEF, 0x03, 0xC0, 0x00}));
}

TEST(H264, SingleNalUnits) {
  const std::vector<uint8_t> idr{0x65, 0x88, 0x84, 0x00};
  auto h = parse_h264(idr);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->nal_type, 5);
  EXPECT_TRUE(h->keyframe);
  const std::vector<uint8_t> slice{0x41, 0x9a, 0x02};
  h = parse_h264(slice);
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->keyframe);
  EXPECT_FALSE(parse_h264({}));
}

TEST(H264, StapAWithSpsPpsIdr) {
  const std::vector<uint8_t> stap{0x78,                                // STAP-A
                                  0x00, 0x04, 0x67, 0x42, 0xc0, 0x1f,  // SPS
                                  0x00, 0x02, 0x68, 0xce,              // PPS
                                  0x00, 0x02, 0x65, 0x88};             // IDR
  auto h = parse_h264(stap);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->nal_type, 24);
  EXPECT_TRUE(h->keyframe);
  // Only a PPS and a non-IDR slice: not key.
  const std::vector<uint8_t> delta{0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x02, 0x41, 0x9a};
  h = parse_h264(delta);
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->keyframe);
  // A unit size running past the end.
  const std::vector<uint8_t> overrun{0x78, 0x00, 0x09, 0x67, 0x42};
  EXPECT_FALSE(parse_h264(overrun));
}

TEST(H264, FuAStartOfIdr) {
  const std::vector<uint8_t> first{0x7c, 0x85, 0x88, 0x84};   // S, type 5
  const std::vector<uint8_t> middle{0x7c, 0x05, 0x11, 0x22};  // no S
  const std::vector<uint8_t> delta{0x5c, 0x81, 0x9a};         // S, type 1
  auto h = parse_h264(first);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->keyframe);
  EXPECT_TRUE(h->start_of_frame);
  h = parse_h264(middle);
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->keyframe);
  EXPECT_FALSE(h->start_of_frame);
  h = parse_h264(delta);
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->keyframe);
  EXPECT_FALSE(parse_h264(std::vector<uint8_t>{0x7c}));
}

TEST(Inspect, OpusIsAlwaysKeyAndVideoReportsLayers) {
  const std::vector<uint8_t> opus{0xfc, 0xff, 0xfe};
  auto info = inspect(Codec::kOpus, opus);
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->keyframe);
  info = inspect(Codec::kVp8, vp8_payload({.picture_id = 1, .tid = 1}));
  ASSERT_TRUE(info);
  EXPECT_FALSE(info->keyframe);
  EXPECT_EQ(info->temporal_id, 1);
  EXPECT_FALSE(inspect(Codec::kVp8, std::vector<uint8_t>{0x80}));
}

TEST(Codec, ArbitraryBytesNeverReadPastTheEnd) {
  // Each payload sits alone in its own allocation so ASan sees any overread.
  std::mt19937 random(1234);
  size_t parsed = 0;
  for (int round = 0; round < 5000; ++round) {
    std::vector<uint8_t> bytes(random() % 24);
    for (auto& b : bytes)
      b = static_cast<uint8_t>(random());
    if (!bytes.empty() && round % 2 == 0) bytes[0] |= 0x80;  // favour the extended forms
    parsed += parse_vp8(bytes).has_value();
    parsed += parse_vp9(bytes).has_value();
    parsed += parse_h264(bytes).has_value();
    for (Codec codec : {Codec::kVp8, Codec::kVp9, Codec::kH264, Codec::kOpus}) {
      parsed += inspect(codec, bytes).has_value();
    }
  }
  EXPECT_GT(parsed, 0u);
}

}  // namespace
}  // namespace atrium::sfu
