#include "media/rtcp_feedback.hpp"

#include <algorithm>

#include "media/byte_io.hpp"

namespace atrium::media::rtcp {
namespace {

void append_u32(std::vector<uint8_t>& out, uint32_t value) {
  const size_t at = out.size();
  out.resize(at + 4);
  write_u32(out.data() + at, value);
}

constexpr uint32_t kRembIdentifier = 0x52454D42;  // "REMB"

}  // namespace

std::optional<Feedback> parse_feedback(const Packet& packet) {
  if (packet.type != static_cast<uint8_t>(PacketType::kTransportFeedback) &&
      packet.type != static_cast<uint8_t>(PacketType::kPayloadFeedback)) {
    return std::nullopt;
  }
  if (packet.body.size() < 8) return std::nullopt;
  Feedback feedback;
  feedback.format = packet.count;
  feedback.type = static_cast<PacketType>(packet.type);
  feedback.sender_ssrc = read_u32(packet.body.data());
  feedback.media_ssrc = read_u32(packet.body.data() + 4);
  feedback.fci = packet.body.subspan(8);
  return feedback;
}

size_t begin_feedback(std::vector<uint8_t>& out, PacketType type, uint8_t format,
                      uint32_t sender_ssrc, uint32_t media_ssrc) {
  const size_t start = begin_packet(out, format, type);
  append_u32(out, sender_ssrc);
  append_u32(out, media_ssrc);
  return start;
}

std::optional<std::vector<uint16_t>> parse_nack(const Feedback& feedback) {
  if (feedback.type != PacketType::kTransportFeedback || feedback.format != kFmtNack) {
    return std::nullopt;
  }
  if (feedback.fci.empty() || feedback.fci.size() % 4 != 0) return std::nullopt;
  std::vector<uint16_t> lost;
  for (size_t offset = 0; offset < feedback.fci.size(); offset += 4) {
    const uint16_t pid = read_u16(feedback.fci.data() + offset);
    const uint16_t blp = read_u16(feedback.fci.data() + offset + 2);
    lost.push_back(pid);
    for (int bit = 0; bit < 16; ++bit) {
      if (blp & (1u << bit)) lost.push_back(static_cast<uint16_t>(pid + bit + 1));
    }
  }
  return lost;
}

std::vector<NackItem> pack_nack_items(std::span<const uint16_t> lost) {
  std::vector<NackItem> items;
  for (uint16_t seq : lost) {
    if (!items.empty()) {
      // Distance forward from the current PID, modulo 2^16.
      const uint16_t distance = static_cast<uint16_t>(seq - items.back().pid);
      if (distance == 0) continue;
      if (distance <= 16) {
        items.back().blp = static_cast<uint16_t>(items.back().blp | (1u << (distance - 1)));
        continue;
      }
    }
    items.push_back({seq, 0});
  }
  return items;
}

void append_nack(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint32_t media_ssrc,
                 std::span<const uint16_t> lost) {
  const size_t start =
      begin_feedback(out, PacketType::kTransportFeedback, kFmtNack, sender_ssrc, media_ssrc);
  for (const auto& item : pack_nack_items(lost)) {
    append_u32(out, (uint32_t{item.pid} << 16) | item.blp);
  }
  end_packet(out, start);
}

bool is_pli(const Feedback& feedback) {
  return feedback.type == PacketType::kPayloadFeedback && feedback.format == kFmtPli;
}

void append_pli(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint32_t media_ssrc) {
  end_packet(out,
             begin_feedback(out, PacketType::kPayloadFeedback, kFmtPli, sender_ssrc, media_ssrc));
}

std::optional<std::vector<FirEntry>> parse_fir(const Feedback& feedback) {
  if (feedback.type != PacketType::kPayloadFeedback || feedback.format != kFmtFir) {
    return std::nullopt;
  }
  if (feedback.fci.empty() || feedback.fci.size() % 8 != 0) return std::nullopt;
  std::vector<FirEntry> entries;
  for (size_t offset = 0; offset < feedback.fci.size(); offset += 8) {
    entries.push_back({read_u32(feedback.fci.data() + offset), feedback.fci[offset + 4]});
  }
  return entries;
}

void append_fir(std::vector<uint8_t>& out, uint32_t sender_ssrc,
                std::span<const FirEntry> entries) {
  // RFC 5104 4.3.1: the media source SSRC is unused and set to 0.
  const size_t start = begin_feedback(out, PacketType::kPayloadFeedback, kFmtFir, sender_ssrc, 0);
  for (const auto& entry : entries) {
    append_u32(out, entry.ssrc);
    append_u32(out, uint32_t{entry.sequence_number} << 24);
  }
  end_packet(out, start);
}

std::optional<Remb> parse_remb(const Feedback& feedback) {
  if (feedback.type != PacketType::kPayloadFeedback || feedback.format != kFmtApplicationLayer) {
    return std::nullopt;
  }
  const auto fci = feedback.fci;
  if (fci.size() < 8 || read_u32(fci.data()) != kRembIdentifier) return std::nullopt;
  const size_t ssrc_count = fci[4];
  if (fci.size() < 8 + 4 * ssrc_count) return std::nullopt;
  const uint8_t exponent = fci[5] >> 2;
  const uint32_t mantissa = read_u24(fci.data() + 5) & 0x3FFFF;
  Remb remb;
  // An exponent above 46 would overflow 64 bits with an 18-bit mantissa: saturate.
  remb.bitrate_bps = exponent > 46 ? UINT64_MAX : uint64_t{mantissa} << exponent;
  for (size_t i = 0; i < ssrc_count; ++i)
    remb.ssrcs.push_back(read_u32(fci.data() + 8 + 4 * i));
  return remb;
}

void append_remb(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint64_t bitrate_bps,
                 std::span<const uint32_t> ssrcs) {
  ssrcs = ssrcs.first(std::min<size_t>(ssrcs.size(), 255));
  uint8_t exponent = 0;
  while ((bitrate_bps >> exponent) > 0x3FFFF)
    ++exponent;
  const auto mantissa = static_cast<uint32_t>(bitrate_bps >> exponent);
  const size_t start =
      begin_feedback(out, PacketType::kPayloadFeedback, kFmtApplicationLayer, sender_ssrc, 0);
  append_u32(out, kRembIdentifier);
  append_u32(out, (uint32_t{static_cast<uint8_t>(ssrcs.size())} << 24) |
                      (uint32_t{exponent} << 18) | mantissa);
  for (uint32_t ssrc : ssrcs)
    append_u32(out, ssrc);
  end_packet(out, start);
}

}  // namespace atrium::media::rtcp
