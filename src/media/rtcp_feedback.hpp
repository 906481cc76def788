#pragma once
// RTCP feedback messages (RFC 4585, RFC 5104, draft-alvestrand-rmcat-remb):
// generic NACK, PLI, FIR and REMB. Parsers take a Packet from the compound
// iterator; builders append one packet to a buffer.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "media/rtcp.hpp"

namespace atrium::media::rtcp {

inline constexpr uint8_t kFmtNack = 1;               // RTPFB
inline constexpr uint8_t kFmtTransportCc = 15;       // RTPFB
inline constexpr uint8_t kFmtPli = 1;                // PSFB
inline constexpr uint8_t kFmtFir = 4;                // PSFB
inline constexpr uint8_t kFmtApplicationLayer = 15;  // PSFB (REMB)

// The common part of every feedback message (RFC 4585 6.1).
struct Feedback {
  uint8_t format = 0;
  PacketType type = PacketType::kTransportFeedback;
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  std::span<const uint8_t> fci;
};
// RTPFB or PSFB with at least the two SSRCs.
std::optional<Feedback> parse_feedback(const Packet& packet);

// Generic NACK: each FCI entry is a PID and a bitmask of the 16 following.
struct NackItem {
  uint16_t pid = 0;
  uint16_t blp = 0;
};
// The lost sequence numbers in FCI order; nullopt when not a well-formed NACK.
std::optional<std::vector<uint16_t>> parse_nack(const Feedback& feedback);
// Packs `lost` (in ascending order, wrap-aware) into as few items as possible.
std::vector<NackItem> pack_nack_items(std::span<const uint16_t> lost);
void append_nack(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint32_t media_ssrc,
                 std::span<const uint16_t> lost);

bool is_pli(const Feedback& feedback);
void append_pli(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint32_t media_ssrc);

struct FirEntry {
  uint32_t ssrc = 0;
  uint8_t sequence_number = 0;
  bool operator==(const FirEntry&) const = default;
};
std::optional<std::vector<FirEntry>> parse_fir(const Feedback& feedback);
void append_fir(std::vector<uint8_t>& out, uint32_t sender_ssrc, std::span<const FirEntry> entries);

struct Remb {
  uint64_t bitrate_bps = 0;
  std::vector<uint32_t> ssrcs;
};
std::optional<Remb> parse_remb(const Feedback& feedback);
// The bitrate is encoded as an 18-bit mantissa and a 6-bit exponent, rounded down.
void append_remb(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint64_t bitrate_bps,
                 std::span<const uint32_t> ssrcs);

// Starts a feedback packet (header + both SSRCs); finish with end_packet().
size_t begin_feedback(std::vector<uint8_t>& out, PacketType type, uint8_t format,
                      uint32_t sender_ssrc, uint32_t media_ssrc);

}  // namespace atrium::media::rtcp
