#pragma once
// RTCP (RFC 3550) compound packets: an iterator that validates each packet's
// header and length, zero-copy views of SR, RR, SDES and BYE, and builders
// that append to a buffer. Feedback messages are in rtcp_feedback.hpp and
// transport-wide CC in rtcp_twcc.hpp. Nothing here throws.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace atrium::media::rtcp {

enum class PacketType : uint8_t {
  kSenderReport = 200,
  kReceiverReport = 201,
  kSourceDescription = 202,
  kBye = 203,
  kApp = 204,
  kTransportFeedback = 205,  // RTPFB
  kPayloadFeedback = 206,    // PSFB
};

enum class ParseError : uint8_t {
  kNone,
  kTooShort,        // fewer than 4 bytes left for a header
  kBadVersion,      // version != 2
  kLengthOverflow,  // the header's length runs past the datagram
  kBadPadding,      // padding count zero or larger than the body
  kBadBody,         // the body does not match the packet type's layout
};

// One packet of a compound: `count` is RC/SC/FMT, `body` follows the 4-byte
// header and excludes padding.
struct Packet {
  uint8_t count = 0;
  uint8_t type = 0;
  std::span<const uint8_t> bytes;
  std::span<const uint8_t> body;
};

class CompoundIterator {
 public:
  explicit CompoundIterator(std::span<const uint8_t> datagram) : rest_(datagram) {}
  // The next packet; nullopt at the end or on a malformed header (see error()).
  std::optional<Packet> next();
  ParseError error() const { return error_; }

 private:
  std::span<const uint8_t> rest_;
  ParseError error_ = ParseError::kNone;
};

// True when the datagram is a well-formed compound (every header checks).
bool is_valid_compound(std::span<const uint8_t> datagram, ParseError* error = nullptr);

struct SenderInfo {
  uint64_t ntp_timestamp = 0;
  uint32_t rtp_timestamp = 0;
  uint32_t packet_count = 0;
  uint32_t octet_count = 0;
  bool operator==(const SenderInfo&) const = default;
};

struct ReportBlock {
  uint32_t ssrc = 0;
  uint8_t fraction_lost = 0;
  int32_t cumulative_lost = 0;  // 24-bit signed on the wire
  uint32_t highest_sequence = 0;
  uint32_t jitter = 0;
  uint32_t last_sr = 0;
  uint32_t delay_since_last_sr = 0;
  bool operator==(const ReportBlock&) const = default;
};

// A run of 24-byte report blocks, decoded on access.
class ReportBlocks {
 public:
  ReportBlocks() = default;
  explicit ReportBlocks(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  size_t size() const { return bytes_.size() / 24; }
  ReportBlock operator[](size_t index) const;

 private:
  std::span<const uint8_t> bytes_;
};

struct SenderReport {
  uint32_t ssrc = 0;
  SenderInfo info;
  ReportBlocks reports;
};
struct ReceiverReport {
  uint32_t ssrc = 0;
  ReportBlocks reports;
};
std::optional<SenderReport> parse_sender_report(const Packet& packet);
std::optional<ReceiverReport> parse_receiver_report(const Packet& packet);

inline constexpr uint8_t kSdesCname = 1;
struct SdesItem {
  uint32_t ssrc = 0;
  uint8_t type = 0;
  std::string_view value;
};
// Every item of every chunk; nullopt when a chunk or item overflows.
std::optional<std::vector<SdesItem>> parse_sdes(const Packet& packet);

struct Bye {
  std::vector<uint32_t> ssrcs;
  std::string_view reason;
};
std::optional<Bye> parse_bye(const Packet& packet);

// Builders append one packet to `out` (a compound is several calls).
void append_sender_report(std::vector<uint8_t>& out, uint32_t ssrc, const SenderInfo& info,
                          std::span<const ReportBlock> reports);  // at most 31
void append_receiver_report(std::vector<uint8_t>& out, uint32_t ssrc,
                            std::span<const ReportBlock> reports);  // at most 31
void append_sdes_cname(std::vector<uint8_t>& out, uint32_t ssrc, std::string_view cname);
void append_bye(std::vector<uint8_t>& out, std::span<const uint32_t> ssrcs,
                std::string_view reason = {});

// Shared by the builders: writes a header with a placeholder length, and
// patches the length (in 32-bit words minus one) after zero-padding the body.
size_t begin_packet(std::vector<uint8_t>& out, uint8_t count, PacketType type);
void end_packet(std::vector<uint8_t>& out, size_t start);

}  // namespace atrium::media::rtcp
