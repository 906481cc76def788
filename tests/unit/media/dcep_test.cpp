#include "media/dcep.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace atrium::media::dcep {
namespace {

std::vector<uint8_t> bytes(std::initializer_list<int> values) {
  std::vector<uint8_t> out;
  for (int v : values)
    out.push_back(static_cast<uint8_t>(v));
  return out;
}

TEST(DcepTest, OpenFieldLayoutFollowsRfc8832) {
  OpenMessage open;
  open.ordered = false;
  open.reliability = Reliability::max_retransmits(3);
  open.priority = 512;
  open.label = "chat";
  open.protocol = "p";
  const auto built = build_open(open);
  ASSERT_TRUE(built);
  const auto expected = bytes({0x03, 0x81, 0x02, 0x00,  // type, channel type, priority
                               0x00, 0x00, 0x00, 0x03,  // reliability parameter
                               0x00, 0x04, 0x00, 0x01,  // label length, protocol length
                               'c', 'h', 'a', 't', 'p'});
  EXPECT_EQ(*built, expected);
}

TEST(DcepTest, RoundTripsEveryChannelType) {
  for (bool ordered : {true, false}) {
    for (const Reliability reliability :
         {Reliability::reliable(), Reliability::max_retransmits(0), Reliability::max_retransmits(7),
          Reliability::max_lifetime_ms(1500)}) {
      OpenMessage open;
      open.ordered = ordered;
      open.reliability = reliability;
      open.priority = 128;
      open.label = "label \xC3\xA9";  // UTF-8 e-acute
      open.protocol = "proto";
      const auto built = build_open(open);
      ASSERT_TRUE(built);
      ParseError error = ParseError::kTooShort;
      const auto parsed = parse_open(*built, &error);
      ASSERT_TRUE(parsed) << static_cast<int>(error);
      EXPECT_EQ(error, ParseError::kNone);
      EXPECT_EQ(*parsed, open);
      EXPECT_EQ((*built)[1], open.channel_type());
    }
  }
}

TEST(DcepTest, ChannelTypesMatchTheRegistry) {
  OpenMessage open;
  EXPECT_EQ(open.channel_type(), 0x00);
  open.ordered = false;
  EXPECT_EQ(open.channel_type(), 0x80);
  open.reliability = Reliability::max_retransmits(1);
  EXPECT_EQ(open.channel_type(), 0x81);
  open.reliability = Reliability::max_lifetime_ms(1);
  EXPECT_EQ(open.channel_type(), 0x82);
  open.ordered = true;
  EXPECT_EQ(open.channel_type(), 0x02);
}

TEST(DcepTest, EmptyLabelAndProtocol) {
  const auto message = bytes({0x03, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0});
  const auto parsed = parse_open(message);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->ordered);
  EXPECT_EQ(parsed->reliability, Reliability::reliable());
  EXPECT_EQ(parsed->priority, 256);
  EXPECT_TRUE(parsed->label.empty());
  EXPECT_TRUE(parsed->protocol.empty());
}

TEST(DcepTest, ReliableChannelIgnoresTheParameter) {
  const auto message = bytes({0x03, 0x80, 0x00, 0x00, 0, 0, 0, 9, 0, 0, 0, 0});
  const auto parsed = parse_open(message);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->ordered);
  EXPECT_EQ(parsed->reliability, Reliability::reliable());
}

TEST(DcepTest, AckIsOneByte) {
  EXPECT_EQ(build_ack(), bytes({0x02}));
  EXPECT_TRUE(parse_ack(build_ack()));
  ParseError error = ParseError::kNone;
  EXPECT_FALSE(parse_ack(bytes({0x02, 0x00}), &error));
  EXPECT_EQ(error, ParseError::kTrailingBytes);
  EXPECT_FALSE(parse_ack({}, &error));
  EXPECT_EQ(error, ParseError::kEmpty);
  EXPECT_FALSE(parse_ack(bytes({0x03}), &error));
  EXPECT_EQ(error, ParseError::kUnknownMessageType);
}

TEST(DcepTest, RefusesMalformedOpens) {
  ParseError error = ParseError::kNone;
  EXPECT_FALSE(parse_open({}, &error));
  EXPECT_EQ(error, ParseError::kEmpty);

  EXPECT_FALSE(parse_open(bytes({0x02}), &error));
  EXPECT_EQ(error, ParseError::kUnknownMessageType);

  // Truncated fixed header.
  EXPECT_FALSE(parse_open(bytes({0x03, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0}), &error));
  EXPECT_EQ(error, ParseError::kTooShort);

  // Label length runs past the end.
  EXPECT_FALSE(parse_open(bytes({0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 'a', 'b'}), &error));
  EXPECT_EQ(error, ParseError::kTooShort);

  // Protocol length runs past the end.
  EXPECT_FALSE(parse_open(bytes({0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0xFF, 'a'}), &error));
  EXPECT_EQ(error, ParseError::kTooShort);

  // More bytes than the header declares.
  EXPECT_FALSE(parse_open(bytes({0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 'a', 'b'}), &error));
  EXPECT_EQ(error, ParseError::kTrailingBytes);

  // Unknown channel types.
  for (int type : {0x03, 0x7F, 0x83, 0xFF}) {
    EXPECT_FALSE(parse_open(bytes({0x03, type, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), &error));
    EXPECT_EQ(error, ParseError::kUnknownChannelType);
  }

  // Not UTF-8: a lone continuation byte, an overlong, a surrogate, truncated.
  for (const auto& label :
       {bytes({0x80}), bytes({0xC0, 0x80}), bytes({0xED, 0xA0, 0x80}), bytes({0xE2, 0x82})}) {
    auto message = bytes({0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, static_cast<int>(label.size()), 0, 0});
    message.insert(message.end(), label.begin(), label.end());
    EXPECT_FALSE(parse_open(message, &error));
    EXPECT_EQ(error, ParseError::kBadUtf8);
  }
}

TEST(DcepTest, GarbageNeverParses) {
  // Deterministic pseudo-random bytes: nothing may crash, and anything that
  // parses must rebuild to the same bytes.
  uint32_t state = 12345;
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint8_t> message(state % 40);
    for (auto& b : message) {
      state = state * 1103515245 + 12345;
      b = static_cast<uint8_t>(state >> 16);
    }
    if (!message.empty() && round % 2 == 0) message[0] = kMessageOpen;
    if (const auto parsed = parse_open(message)) {
      const auto rebuilt = build_open(*parsed);
      ASSERT_TRUE(rebuilt);
      if ((message[1] & 0x7F) != 0) {
        EXPECT_EQ(*rebuilt, message);
      }
    }
    (void)parse_ack(message);
    state = state * 1103515245 + 12345;
  }
}

TEST(DcepTest, BuildRefusesOversizedStrings) {
  OpenMessage open;
  open.label.assign(0x10000, 'x');
  EXPECT_FALSE(build_open(open));
  open.label.assign(0xFFFF, 'x');
  open.protocol.assign(0xFFFF, 'y');
  const auto built = build_open(open);
  ASSERT_TRUE(built);
  EXPECT_EQ(built->size(), kOpenHeaderSize + 2 * 0xFFFF);
  EXPECT_EQ(parse_open(*built), open);
}

TEST(DcepTest, PpidsFollowRfc8831) {
  EXPECT_EQ(ppid_for(MessageKind::kString, false), 51u);
  EXPECT_EQ(ppid_for(MessageKind::kBinary, false), 53u);
  EXPECT_EQ(ppid_for(MessageKind::kString, true), 56u);
  EXPECT_EQ(ppid_for(MessageKind::kBinary, true), 57u);
  using Role = PayloadType::Role;
  EXPECT_EQ(classify_ppid(50)->role, Role::kControl);
  EXPECT_EQ(classify_ppid(51)->kind, MessageKind::kString);
  EXPECT_EQ(classify_ppid(53)->kind, MessageKind::kBinary);
  EXPECT_EQ(classify_ppid(52)->role, Role::kPartial);
  EXPECT_EQ(classify_ppid(52)->kind, MessageKind::kBinary);
  EXPECT_EQ(classify_ppid(54)->role, Role::kPartial);
  EXPECT_EQ(classify_ppid(54)->kind, MessageKind::kString);
  EXPECT_EQ(classify_ppid(56)->role, Role::kEmpty);
  EXPECT_EQ(classify_ppid(57)->role, Role::kEmpty);
  EXPECT_FALSE(classify_ppid(0));
  EXPECT_FALSE(classify_ppid(55));
  EXPECT_FALSE(classify_ppid(0x32000000));
}

}  // namespace
}  // namespace atrium::media::dcep
