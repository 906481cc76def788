#pragma once
// STUN (RFC 5389/8489) as a validated, zero-copy view over a datagram plus a
// small builder for the responses an ICE-lite agent sends. Parsing never
// throws: every length is checked once in parse(), accessors then only read.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace atrium::media {

// An IP address and port, IPv4 in the first 4 bytes of `ip` when !ipv6.
struct TransportAddress {
  bool ipv6 = false;
  std::array<uint8_t, 16> ip{};
  uint16_t port = 0;
  // ICE-TCP (RFC 6544): the remote end of a TCP connection, not a UDP source.
  bool tcp = false;

  static TransportAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
    TransportAddress address;
    address.ip = {a, b, c, d};
    address.port = port;
    return address;
  }
  bool operator==(const TransportAddress&) const = default;
};

namespace stun {

inline constexpr uint32_t kMagicCookie = 0x2112A442;
inline constexpr size_t kHeaderSize = 20;
inline constexpr size_t kTransactionIdSize = 12;
using TransactionId = std::array<uint8_t, kTransactionIdSize>;

inline constexpr uint16_t kMethodBinding = 0x001;

enum class MessageClass : uint8_t { kRequest, kIndication, kSuccessResponse, kErrorResponse };

// Message type = method bits interleaved with the two class bits C0 (0x010) and C1 (0x100).
constexpr uint16_t message_type(uint16_t method, MessageClass cls) {
  const auto c = static_cast<uint16_t>(cls);
  return static_cast<uint16_t>((method & 0x000F) | ((method & 0x0070) << 1) |
                               ((method & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7));
}
inline constexpr uint16_t kBindingRequest = message_type(kMethodBinding, MessageClass::kRequest);
inline constexpr uint16_t kBindingSuccess =
    message_type(kMethodBinding, MessageClass::kSuccessResponse);
inline constexpr uint16_t kBindingError =
    message_type(kMethodBinding, MessageClass::kErrorResponse);

namespace attr {
inline constexpr uint16_t kUsername = 0x0006;
inline constexpr uint16_t kMessageIntegrity = 0x0008;
inline constexpr uint16_t kErrorCode = 0x0009;
inline constexpr uint16_t kXorMappedAddress = 0x0020;
inline constexpr uint16_t kPriority = 0x0024;
inline constexpr uint16_t kUseCandidate = 0x0025;
inline constexpr uint16_t kSoftware = 0x8022;
inline constexpr uint16_t kFingerprint = 0x8028;
inline constexpr uint16_t kIceControlled = 0x8029;
inline constexpr uint16_t kIceControlling = 0x802A;
}  // namespace attr

enum class ParseError : uint8_t {
  kNone,
  kTooShort,            // fewer than 20 bytes
  kNotStun,             // top two bits of the type are not zero
  kBadMagicCookie,      // RFC 3489 messages are not accepted
  kBadLength,           // message length != datagram length - 20, or not a multiple of 4
  kTruncatedAttribute,  // an attribute (or its padding) runs past the end
  kBadAttributeLength,  // a known attribute with an impossible length
  kAfterFingerprint,    // FINGERPRINT must be the last attribute
};

struct ErrorCode {
  uint16_t code = 0;  // 300..699
  std::string_view reason;
};

struct RawAttribute {
  uint16_t type = 0;
  std::span<const uint8_t> value;
};

// A validated STUN message. Borrows the datagram: it must outlive the view.
class Message {
 public:
  static std::optional<Message> parse(std::span<const uint8_t> datagram,
                                      ParseError* error = nullptr);

  uint16_t type() const;
  uint16_t method() const;
  MessageClass message_class() const;
  std::span<const uint8_t, kTransactionIdSize> transaction_id() const {
    return std::span<const uint8_t, kTransactionIdSize>(data_.data() + 8, kTransactionIdSize);
  }
  std::span<const uint8_t> bytes() const { return data_; }

  // Known attributes; the first occurrence wins, attributes after
  // MESSAGE-INTEGRITY other than FINGERPRINT are ignored (RFC 5389 15.4).
  std::optional<std::string_view> username() const;
  std::optional<uint32_t> priority() const;
  bool use_candidate() const { return use_candidate_; }
  std::optional<uint64_t> ice_controlling() const;
  std::optional<uint64_t> ice_controlled() const;
  std::optional<TransportAddress> xor_mapped_address() const;
  std::optional<ErrorCode> error_code() const;
  bool has_message_integrity() const { return integrity_offset_ != 0; }
  bool has_fingerprint() const { return fingerprint_offset_ != 0; }

  // HMAC-SHA1 keyed with `key` (the ICE password for short-term credentials).
  bool verify_message_integrity(std::string_view key) const;
  bool verify_fingerprint() const;

  // Every attribute in wire order (including ignored ones); stops at the end.
  template <typename Visit>
  void for_each_attribute(Visit&& visit) const {
    size_t offset = kHeaderSize;
    while (offset + 4 <= data_.size()) {
      const uint16_t length = static_cast<uint16_t>((data_[offset + 2] << 8) | data_[offset + 3]);
      visit(RawAttribute{static_cast<uint16_t>((data_[offset] << 8) | data_[offset + 1]),
                         data_.subspan(offset + 4, length)});
      offset += 4 + ((length + 3u) & ~3u);
    }
  }

 private:
  explicit Message(std::span<const uint8_t> data) : data_(data) {}
  std::span<const uint8_t> value_at(uint16_t offset) const;

  std::span<const uint8_t> data_;
  // Offsets of attribute headers; 0 = absent (offset 0 is the STUN header).
  uint16_t username_offset_ = 0;
  uint16_t integrity_offset_ = 0;
  uint16_t fingerprint_offset_ = 0;
  uint16_t xor_mapped_offset_ = 0;
  uint16_t priority_offset_ = 0;
  uint16_t controlling_offset_ = 0;
  uint16_t controlled_offset_ = 0;
  uint16_t error_code_offset_ = 0;
  bool use_candidate_ = false;
};

// Builds one message. Attributes are appended in call order; add
// MESSAGE-INTEGRITY then FINGERPRINT last.
class MessageBuilder {
 public:
  MessageBuilder(uint16_t type, std::span<const uint8_t, kTransactionIdSize> transaction_id);

  // `padding_byte` fills up to the 4-byte boundary; any value is legal (RFC 5769 uses spaces).
  MessageBuilder& add_attribute(uint16_t type, std::span<const uint8_t> value,
                                uint8_t padding_byte = 0);
  MessageBuilder& add_string(uint16_t type, std::string_view value, uint8_t padding_byte = 0);
  MessageBuilder& add_u32(uint16_t type, uint32_t value);
  MessageBuilder& add_u64(uint16_t type, uint64_t value);
  MessageBuilder& add_xor_mapped_address(const TransportAddress& address);
  MessageBuilder& add_error_code(uint16_t code, std::string_view reason);
  MessageBuilder& add_message_integrity(std::string_view key);
  MessageBuilder& add_fingerprint();

  std::vector<uint8_t> finish() && { return std::move(bytes_); }
  std::span<const uint8_t> bytes() const { return bytes_; }

 private:
  void set_length(size_t body_length);
  std::vector<uint8_t> bytes_;
};

// The binding success response of an ICE agent: XOR-MAPPED-ADDRESS,
// MESSAGE-INTEGRITY keyed with the local password, FINGERPRINT.
std::vector<uint8_t> build_binding_success(std::span<const uint8_t, kTransactionIdSize> id,
                                           const TransportAddress& mapped,
                                           std::string_view local_password);
// An error response (400, 401, 487...). With a password it carries
// MESSAGE-INTEGRITY (for requests that authenticated); always FINGERPRINT.
std::vector<uint8_t> build_binding_error(std::span<const uint8_t, kTransactionIdSize> id,
                                         uint16_t code, std::string_view reason,
                                         std::string_view local_password = {});

uint32_t crc32(std::span<const uint8_t> data);

}  // namespace stun
}  // namespace atrium::media
