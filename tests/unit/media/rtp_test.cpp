#include "media/rtp.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace atrium::media {
namespace {

// V=2, PT 96, seq 0x1234, ts 0xdeadbeef, SSRC 0x11223344.
std::vector<uint8_t> basic_header(uint8_t first_byte = 0x80) {
  return {first_byte, 0x60, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x11, 0x22, 0x33, 0x44};
}

RtpParseError parse_error(const std::vector<uint8_t>& bytes) {
  RtpParseError error = RtpParseError::kNone;
  EXPECT_FALSE(RtpView::parse(bytes, &error));
  return error;
}

TEST(Rtp, ParsesFixedHeaderAndPayload) {
  auto packet = basic_header();
  packet.insert(packet.end(), {0xaa, 0xbb, 0xcc});
  packet[1] |= 0x80;  // marker
  auto view = RtpView::parse(packet);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->version(), 2);
  EXPECT_TRUE(view->marker());
  EXPECT_EQ(view->payload_type(), 96);
  EXPECT_EQ(view->sequence_number(), 0x1234);
  EXPECT_EQ(view->timestamp(), 0xdeadbeefu);
  EXPECT_EQ(view->ssrc(), 0x11223344u);
  EXPECT_EQ(view->header_size(), 12u);
  ASSERT_EQ(view->payload().size(), 3u);
  EXPECT_EQ(view->payload()[0], 0xaa);
  EXPECT_EQ(view->extension_profile(), RtpExtensionProfile::kNone);
  EXPECT_FALSE(view->find_extension(1));
}

TEST(Rtp, CsrcsAndPadding) {
  auto packet = basic_header(0x80 | 0x20 | 2);  // padding, 2 CSRCs
  packet.insert(packet.end(), {0, 0, 0, 1, 0, 0, 0, 2, 0x55, 0x66, 0, 0, 3});
  auto view = RtpView::parse(packet);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->csrc_count(), 2);
  EXPECT_EQ(view->csrc(1), 2u);
  EXPECT_EQ(view->padding_size(), 3);
  ASSERT_EQ(view->payload().size(), 2u);
  EXPECT_EQ(view->payload()[1], 0x66);
}

std::vector<uint8_t> one_byte_extension_packet() {
  auto packet = basic_header(0x90);
  // 0xBEDE, 2 words: id 1 len 1 (2 bytes), padding, id 3 len 2 (3 bytes) - 8 bytes.
  packet.insert(packet.end(),
                {0xbe, 0xde, 0x00, 0x02, 0x11, 0xa1, 0xa2, 0x00, 0x32, 0xc1, 0xc2, 0xc3});
  packet.insert(packet.end(), {0x01, 0x02});  // payload
  return packet;
}

TEST(Rtp, OneByteExtensions) {
  auto packet = one_byte_extension_packet();
  auto view = RtpView::parse(packet);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->extension_profile(), RtpExtensionProfile::kOneByte);
  EXPECT_EQ(view->header_size(), 24u);
  auto it = view->extensions();
  auto first = it.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, 1);
  EXPECT_EQ(first->value.size(), 2u);
  auto second = it.next();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->id, 3);
  EXPECT_EQ(second->value.size(), 3u);
  EXPECT_EQ(second->value[2], 0xc3);
  EXPECT_FALSE(it.next());
  EXPECT_TRUE(view->find_extension(3));
  EXPECT_FALSE(view->find_extension(2));
  EXPECT_EQ(view->payload().size(), 2u);
}

TEST(Rtp, OneByteIdFifteenStopsIteration) {
  auto packet = basic_header(0x90);
  packet.insert(packet.end(), {0xbe, 0xde, 0x00, 0x01, 0xf0, 0x10, 0xaa, 0x00});
  auto view = RtpView::parse(packet);
  ASSERT_TRUE(view);
  EXPECT_FALSE(view->find_extension(1));
}

TEST(Rtp, TwoByteExtensions) {
  auto packet = basic_header(0x90);
  // 0x1000, 2 words: id 5 len 0, id 20 len 3, padding.
  packet.insert(packet.end(),
                {0x10, 0x00, 0x00, 0x02, 0x05, 0x00, 0x14, 0x03, 0x01, 0x02, 0x03, 0x00});
  auto view = RtpView::parse(packet);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->extension_profile(), RtpExtensionProfile::kTwoByte);
  auto empty = view->find_extension(5);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto value = view->find_extension(20);
  ASSERT_TRUE(value);
  EXPECT_EQ(value->size(), 3u);
  EXPECT_TRUE(view->payload().empty());
}

TEST(Rtp, UnknownExtensionProfileHasNoElements) {
  auto packet = basic_header(0x90);
  packet.insert(packet.end(), {0xab, 0xcd, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00});
  auto view = RtpView::parse(packet);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->extension_profile(), RtpExtensionProfile::kOther);
  EXPECT_EQ(view->extension_profile_id(), 0xabcd);
  EXPECT_EQ(view->extension_block().size(), 4u);
  EXPECT_FALSE(view->find_extension(1));
}

TEST(Rtp, TruncatedElementEndsIteration) {
  auto packet = basic_header(0x90);
  packet.insert(packet.end(), {0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x2f, 0x00});  // id 2 len 16
  auto view = RtpView::parse(packet);
  ASSERT_TRUE(view);
  EXPECT_TRUE(view->find_extension(1));
  EXPECT_FALSE(view->find_extension(2));
}

TEST(Rtp, MutatorsRewriteInPlace) {
  auto packet = one_byte_extension_packet();
  auto view = MutableRtpView::parse(packet);
  ASSERT_TRUE(view);
  view->set_ssrc(0xcafebabe);
  view->set_sequence_number(7);
  view->set_timestamp(90000);
  view->set_payload_type(111);
  view->set_marker(true);
  const uint8_t level[] = {0x7f, 0x01, 0x02};
  EXPECT_TRUE(view->set_one_byte_extension(3, level));
  EXPECT_FALSE(view->set_one_byte_extension(1, level));  // size differs
  EXPECT_FALSE(view->set_one_byte_extension(9, level));  // absent

  auto reread = RtpView::parse(packet);
  ASSERT_TRUE(reread);
  EXPECT_EQ(reread->ssrc(), 0xcafebabeu);
  EXPECT_EQ(reread->sequence_number(), 7);
  EXPECT_EQ(reread->timestamp(), 90000u);
  EXPECT_EQ(reread->payload_type(), 111);
  EXPECT_TRUE(reread->marker());
  EXPECT_EQ((*reread->find_extension(3))[0], 0x7f);
  EXPECT_EQ(reread->payload()[0], 0x01);
}

TEST(Rtp, RtxDecapsulation) {
  auto packet = basic_header(0xa0);                                   // with padding
  packet.insert(packet.end(), {0x04, 0xd2, 0xaa, 0xbb, 0x00, 0x02});  // OSN 1234, payload, pad 2
  auto view = RtpView::parse(packet);
  ASSERT_TRUE(view);
  auto rtx = decapsulate_rtx(*view);
  ASSERT_TRUE(rtx);
  EXPECT_EQ(rtx->original_sequence_number, 1234);
  EXPECT_EQ(rtx->original_payload.size(), 2u);

  auto size = restore_rtx_in_place(packet, 0x01020304, 100);
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, 14u);
  auto original = RtpView::parse(std::span(packet).first(*size));
  ASSERT_TRUE(original);
  EXPECT_EQ(original->sequence_number(), 1234);
  EXPECT_EQ(original->ssrc(), 0x01020304u);
  EXPECT_EQ(original->payload_type(), 100);
  EXPECT_FALSE(original->has_padding());
  EXPECT_EQ(original->payload()[0], 0xaa);

  auto short_rtx = basic_header();
  short_rtx.push_back(0x01);
  EXPECT_FALSE(decapsulate_rtx(*RtpView::parse(short_rtx)));
}

TEST(Rtp, MalformedPackets) {
  auto header = basic_header();
  EXPECT_EQ(parse_error(std::vector<uint8_t>(header.begin(), header.begin() + 11)),
            RtpParseError::kTooShort);
  EXPECT_EQ(parse_error(basic_header(0x40)), RtpParseError::kBadVersion);
  auto csrc = basic_header(0x83);  // 3 CSRCs announced, 2 present
  csrc.insert(csrc.end(), 8, 0);
  EXPECT_EQ(parse_error(csrc), RtpParseError::kCsrcOverflow);
  auto ext_header = basic_header(0x90);
  ext_header.insert(ext_header.end(), {0xbe, 0xde});
  EXPECT_EQ(parse_error(ext_header), RtpParseError::kExtensionOverflow);
  auto ext_block = basic_header(0x90);
  ext_block.insert(ext_block.end(), {0xbe, 0xde, 0x00, 0x02, 0x10, 0xaa, 0x00, 0x00});
  EXPECT_EQ(parse_error(ext_block), RtpParseError::kExtensionOverflow);
  auto padding_large = basic_header(0xa0);
  padding_large.insert(padding_large.end(), {0x00, 0x00, 0x04});
  EXPECT_EQ(parse_error(padding_large), RtpParseError::kBadPadding);
  auto padding_zero = basic_header(0xa0);
  padding_zero.insert(padding_zero.end(), {0xaa, 0x00});
  EXPECT_EQ(parse_error(padding_zero), RtpParseError::kBadPadding);
  EXPECT_EQ(parse_error(basic_header(0xa0)), RtpParseError::kBadPadding);  // last header byte
  // Padding exactly filling the payload is fine.
  auto padding_all = basic_header(0xa0);
  padding_all.insert(padding_all.end(), {0x00, 0x02});
  auto view = RtpView::parse(padding_all);
  ASSERT_TRUE(view);
  EXPECT_TRUE(view->payload().empty());
}

}  // namespace
}  // namespace atrium::media
