#include "media/stun.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace atrium::media::stun {
namespace {

// RFC 5769 section 2: short-term credential vectors.
constexpr std::string_view kPassword = "VOkJxbRl1RmTxUk/WvJxBt";

const std::vector<uint8_t> kSampleRequest = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf};

const std::vector<uint8_t> kIpv4Response = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};

const std::vector<uint8_t> kIpv6Response = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c};

const TransactionId kTransactionId = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                      0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

TEST(Stun, Rfc5769SampleRequest) {
  auto message = Message::parse(kSampleRequest);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->type(), kBindingRequest);
  EXPECT_EQ(message->method(), kMethodBinding);
  EXPECT_EQ(message->message_class(), MessageClass::kRequest);
  EXPECT_EQ(message->username(), "evtj:h6vY");
  EXPECT_EQ(message->priority(), 0x6e0001ffu);
  EXPECT_EQ(message->ice_controlled(), 0x932ff9b151263b36ull);
  EXPECT_FALSE(message->ice_controlling());
  EXPECT_FALSE(message->use_candidate());
  EXPECT_TRUE(message->verify_message_integrity(kPassword));
  EXPECT_FALSE(message->verify_message_integrity("wrong"));
  EXPECT_TRUE(message->verify_fingerprint());
  int count = 0;
  message->for_each_attribute([&](RawAttribute) { ++count; });
  EXPECT_EQ(count, 6);
}

TEST(Stun, Rfc5769Ipv4ResponseParsesAndRebuilds) {
  auto message = Message::parse(kIpv4Response);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->message_class(), MessageClass::kSuccessResponse);
  EXPECT_TRUE(message->verify_message_integrity(kPassword));
  EXPECT_TRUE(message->verify_fingerprint());
  auto mapped = message->xor_mapped_address();
  ASSERT_TRUE(mapped);
  EXPECT_EQ(*mapped, TransportAddress::v4(192, 0, 2, 1, 32853));

  MessageBuilder builder(kBindingSuccess, kTransactionId);
  builder.add_string(attr::kSoftware, "test vector", ' ')
      .add_xor_mapped_address(*mapped)
      .add_message_integrity(kPassword)
      .add_fingerprint();
  EXPECT_EQ(std::move(builder).finish(), kIpv4Response);
}

TEST(Stun, Rfc5769Ipv6ResponseParsesAndRebuilds) {
  auto message = Message::parse(kIpv6Response);
  ASSERT_TRUE(message);
  EXPECT_TRUE(message->verify_message_integrity(kPassword));
  EXPECT_TRUE(message->verify_fingerprint());
  auto mapped = message->xor_mapped_address();
  ASSERT_TRUE(mapped);
  TransportAddress expected;
  expected.ipv6 = true;
  expected.ip = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
                 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
  expected.port = 32853;
  EXPECT_EQ(*mapped, expected);

  MessageBuilder builder(kBindingSuccess, kTransactionId);
  builder.add_string(attr::kSoftware, "test vector", ' ')
      .add_xor_mapped_address(*mapped)
      .add_message_integrity(kPassword)
      .add_fingerprint();
  EXPECT_EQ(std::move(builder).finish(), kIpv6Response);
}

TEST(Stun, BindingSuccessBuilderVerifies) {
  auto address = TransportAddress::v4(10, 0, 0, 7, 5000);
  auto bytes = build_binding_success(kTransactionId, address, "pass");
  auto message = Message::parse(bytes);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->type(), kBindingSuccess);
  EXPECT_EQ(message->xor_mapped_address(), address);
  EXPECT_TRUE(message->verify_message_integrity("pass"));
  EXPECT_TRUE(message->verify_fingerprint());
  EXPECT_TRUE(
      std::equal(kTransactionId.begin(), kTransactionId.end(), message->transaction_id().begin()));
}

TEST(Stun, ErrorResponses) {
  for (uint16_t code : {400, 401, 487}) {
    auto bytes = build_binding_error(kTransactionId, code, "reason", code == 487 ? "pw" : "");
    auto message = Message::parse(bytes);
    ASSERT_TRUE(message);
    EXPECT_EQ(message->message_class(), MessageClass::kErrorResponse);
    ASSERT_TRUE(message->error_code());
    EXPECT_EQ(message->error_code()->code, code);
    EXPECT_EQ(message->error_code()->reason, "reason");
    EXPECT_EQ(message->has_message_integrity(), code == 487);
    EXPECT_TRUE(message->verify_fingerprint());
  }
}

ParseError parse_error(const std::vector<uint8_t>& bytes) {
  ParseError error = ParseError::kNone;
  EXPECT_FALSE(Message::parse(bytes, &error));
  return error;
}

TEST(Stun, RejectsMalformed) {
  EXPECT_EQ(parse_error({0x00, 0x01}), ParseError::kTooShort);
  auto bytes = kSampleRequest;
  bytes[0] = 0x80;
  EXPECT_EQ(parse_error(bytes), ParseError::kNotStun);
  bytes = kSampleRequest;
  bytes[4] = 0;
  EXPECT_EQ(parse_error(bytes), ParseError::kBadMagicCookie);
  bytes = kSampleRequest;
  bytes.pop_back();
  EXPECT_EQ(parse_error(bytes), ParseError::kBadLength);
  bytes = kSampleRequest;
  bytes[3] = 0x5c;  // length 92 for 88 bytes
  EXPECT_EQ(parse_error(bytes), ParseError::kBadLength);
  bytes = kSampleRequest;
  bytes[23] = 0x40;  // SOFTWARE claims 64 bytes
  EXPECT_EQ(parse_error(bytes), ParseError::kTruncatedAttribute);
  bytes = kSampleRequest;
  bytes[43] = 0x05;  // PRIORITY with length 5
  EXPECT_EQ(parse_error(bytes), ParseError::kBadAttributeLength);
  // An attribute after FINGERPRINT.
  bytes = kSampleRequest;
  bytes.insert(bytes.end(), {0x80, 0x22, 0x00, 0x00});
  bytes[3] = static_cast<uint8_t>(bytes.size() - kHeaderSize);
  EXPECT_EQ(parse_error(bytes), ParseError::kAfterFingerprint);
  // A dangling 2-byte attribute header (length still a multiple of 4 is impossible, so
  // check the 4-byte rule by a short header with a bogus length).
  std::vector<uint8_t> header_only(kSampleRequest.begin(), kSampleRequest.begin() + 20);
  header_only[3] = 4;
  header_only.insert(header_only.end(), {0x00, 0x06, 0x00, 0x01});
  EXPECT_EQ(parse_error(header_only), ParseError::kTruncatedAttribute);
}

TEST(Stun, TamperedMessageFailsChecks) {
  auto bytes = kSampleRequest;
  bytes[70] ^= 1;  // inside USERNAME
  auto message = Message::parse(bytes);
  ASSERT_TRUE(message);
  EXPECT_FALSE(message->verify_message_integrity(kPassword));
  EXPECT_FALSE(message->verify_fingerprint());
}

TEST(Stun, AttributesAfterIntegrityAreIgnored) {
  MessageBuilder builder(kBindingRequest, kTransactionId);
  builder.add_u32(attr::kPriority, 1)
      .add_message_integrity("key")
      .add_string(attr::kUsername, "late:user")
      .add_attribute(attr::kUseCandidate, {})
      .add_fingerprint();
  auto bytes = std::move(builder).finish();
  auto message = Message::parse(bytes);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->priority(), 1u);
  EXPECT_FALSE(message->username());
  EXPECT_FALSE(message->use_candidate());
  // Integrity covers only what precedes it, so it still verifies.
  EXPECT_TRUE(message->verify_message_integrity("key"));
  EXPECT_TRUE(message->verify_fingerprint());
}

TEST(Stun, Crc32KnownValue) {
  const std::string_view text = "123456789";
  EXPECT_EQ(crc32(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size())),
            0xCBF43926u);
}

}  // namespace
}  // namespace atrium::media::stun
