#include "media/rtp_rewrite.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "media/rtp.hpp"

namespace atrium::media {
namespace {

// V=2, X=1, CC=1, PT 96, seq 7, ts 9, ssrc 0x01020304, one CSRC, a one-byte
// block with id 3 (2 bytes) and id 5 (1 byte), payload "abc".
std::vector<uint8_t> sample() {
  return {0x91, 96,   0, 7, 0,    0,    0,    9,    1,    2, 3, 4, 0xAA, 0xBB, 0xCC, 0xDD,
          0xBE, 0xDE, 0, 2, 0x31, 0x10, 0x20, 0x50, 0x30, 0, 0, 0, 'a',  'b',  'c'};
}

TEST(RtpRewrite, ReplacesTheExtensionBlockAndDropsCsrcs) {
  auto packet = sample();
  packet.resize(packet.size() + 32);
  uint8_t time[3] = {1, 2, 3};
  OneByteExtension element{.id = 2, .value = time};
  auto length = replace_header_extensions(packet, 31, std::span(&element, 1));
  ASSERT_TRUE(length);
  auto view = RtpView::parse(std::span(packet).first(*length));
  ASSERT_TRUE(view);
  EXPECT_EQ(view->csrc_count(), 0);
  EXPECT_EQ(view->ssrc(), 0x01020304u);
  EXPECT_EQ(view->sequence_number(), 7);
  auto value = view->find_extension(2);
  ASSERT_TRUE(value);
  EXPECT_EQ(std::vector<uint8_t>(value->begin(), value->end()), (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_FALSE(view->find_extension(3));
  EXPECT_EQ(std::string(view->payload().begin(), view->payload().end()), "abc");
}

TEST(RtpRewrite, NoElementsMeansNoBlock) {
  auto packet = sample();
  auto length = replace_header_extensions(packet, packet.size(), {});
  ASSERT_TRUE(length);
  EXPECT_EQ(*length, 15u);
  auto view = RtpView::parse(std::span(packet).first(*length));
  ASSERT_TRUE(view);
  EXPECT_FALSE(view->has_extension());
  EXPECT_EQ(std::string(view->payload().begin(), view->payload().end()), "abc");
}

TEST(RtpRewrite, RefusesBadInput) {
  auto packet = sample();
  uint8_t value[17] = {};
  OneByteExtension too_long{.id = 2, .value = value};
  EXPECT_FALSE(replace_header_extensions(packet, packet.size(), std::span(&too_long, 1)));
  OneByteExtension bad_id{.id = 15, .value = std::span(value, 1)};
  EXPECT_FALSE(replace_header_extensions(packet, packet.size(), std::span(&bad_id, 1)));
  std::vector<uint8_t> garbage = {0x40, 1, 2};
  EXPECT_FALSE(replace_header_extensions(garbage, garbage.size(), {}));
  // No room to grow.
  std::vector<uint8_t> plain = {0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 'x'};
  OneByteExtension fits{.id = 1, .value = std::span(value, 3)};
  EXPECT_FALSE(replace_header_extensions(plain, plain.size(), std::span(&fits, 1)));
}

TEST(RtpRewrite, AbsSendTimeIsSixEighteenFixedPoint) {
  auto base = std::chrono::steady_clock::time_point(std::chrono::seconds(10));
  auto a = abs_send_time(base);
  auto b = abs_send_time(base + std::chrono::milliseconds(250));
  uint32_t va = (a[0] << 16) | (a[1] << 8) | a[2];
  uint32_t vb = (b[0] << 16) | (b[1] << 8) | b[2];
  EXPECT_EQ(va, 10u << 18);
  EXPECT_EQ(vb - va, 1u << 16);  // a quarter second
}

}  // namespace
}  // namespace atrium::media
