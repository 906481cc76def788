#pragma once
// DCEP, the Data Channel Establishment Protocol (RFC 8832), and the SCTP
// payload protocol identifiers of WebRTC data channels (RFC 8831 section 8).
// A pure parser/builder: parsing never throws and refuses anything that is not
// exactly one well-formed message.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace atrium::media {

// What a data channel message carries, as the application sees it.
enum class MessageKind : uint8_t { kString, kBinary };

namespace dcep {

// SCTP payload protocol identifiers (host byte order).
inline constexpr uint32_t kPpidDcep = 50;
inline constexpr uint32_t kPpidString = 51;
inline constexpr uint32_t kPpidBinaryPartial = 52;  // deprecated, still accepted
inline constexpr uint32_t kPpidBinary = 53;
inline constexpr uint32_t kPpidStringPartial = 54;  // deprecated, still accepted
inline constexpr uint32_t kPpidStringEmpty = 56;
inline constexpr uint32_t kPpidBinaryEmpty = 57;

// How an SCTP user message with a given PPID is to be read.
struct PayloadType {
  enum class Role : uint8_t {
    kControl,   // a DCEP message
    kComplete,  // the whole (or final part of a) message
    kPartial,   // a deprecated non-final part: more follows on the stream
    kEmpty,     // an empty message; the one payload byte is to be ignored
  };
  Role role = Role::kComplete;
  MessageKind kind = MessageKind::kBinary;
};
// nullopt for a PPID that is not a WebRTC one.
std::optional<PayloadType> classify_ppid(uint32_t ppid);
// The PPID to send a message with. Empty messages use 56/57 and carry one
// byte, because SCTP cannot send a zero-length user message.
uint32_t ppid_for(MessageKind kind, bool empty);

inline constexpr uint8_t kMessageAck = 0x02;
inline constexpr uint8_t kMessageOpen = 0x03;

// RFC 8832 section 5.1 channel types: the high bit means unordered.
inline constexpr uint8_t kChannelReliable = 0x00;
inline constexpr uint8_t kChannelPartialReliableRexmit = 0x01;
inline constexpr uint8_t kChannelPartialReliableTimed = 0x02;
inline constexpr uint8_t kChannelUnorderedBit = 0x80;

inline constexpr size_t kOpenHeaderSize = 12;

// How long SCTP keeps trying to deliver a message.
struct Reliability {
  enum class Policy : uint8_t {
    kReliable,        // retransmit until delivered
    kMaxRetransmits,  // value = number of retransmissions
    kMaxLifetime,     // value = lifetime in milliseconds
  };
  Policy policy = Policy::kReliable;
  uint32_t value = 0;

  static Reliability reliable() { return {}; }
  static Reliability max_retransmits(uint32_t n) { return {Policy::kMaxRetransmits, n}; }
  static Reliability max_lifetime_ms(uint32_t ms) { return {Policy::kMaxLifetime, ms}; }
  bool operator==(const Reliability&) const = default;
};

// A DATA_CHANNEL_OPEN message.
struct OpenMessage {
  bool ordered = true;
  Reliability reliability;
  uint16_t priority = 256;  // RFC 8832 "normal"
  std::string label;
  std::string protocol;

  uint8_t channel_type() const;
  bool operator==(const OpenMessage&) const = default;
};

enum class ParseError : uint8_t {
  kNone,
  kEmpty,               // no bytes at all
  kUnknownMessageType,  // neither OPEN nor ACK
  kTooShort,            // shorter than its fixed header or its declared strings
  kTrailingBytes,       // longer than its header and strings say
  kUnknownChannelType,  // a channel type RFC 8832 does not define
  kBadUtf8,             // label or protocol is not UTF-8
};

// The message type byte of a DCEP message, or nullopt for an empty payload.
std::optional<uint8_t> message_type(std::span<const uint8_t> payload);

// A DATA_CHANNEL_OPEN, or nullopt with *error set.
std::optional<OpenMessage> parse_open(std::span<const uint8_t> payload,
                                      ParseError* error = nullptr);
// True for exactly one DATA_CHANNEL_ACK byte.
bool parse_ack(std::span<const uint8_t> payload, ParseError* error = nullptr);

// nullopt when the label or protocol does not fit a 16-bit length.
std::optional<std::vector<uint8_t>> build_open(const OpenMessage& open);
std::vector<uint8_t> build_ack();

}  // namespace dcep
}  // namespace atrium::media
