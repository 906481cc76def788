#include "media/rtcp.hpp"

#include <algorithm>

#include "media/byte_io.hpp"

namespace atrium::media::rtcp {
namespace {

constexpr size_t kReportBlockSize = 24;
constexpr size_t kSenderInfoSize = 20;

void append_u32(std::vector<uint8_t>& out, uint32_t value) {
  const size_t at = out.size();
  out.resize(at + 4);
  write_u32(out.data() + at, value);
}

void append_report_blocks(std::vector<uint8_t>& out, std::span<const ReportBlock> reports) {
  for (const auto& block : reports) {
    const size_t at = out.size();
    out.resize(at + kReportBlockSize);
    uint8_t* p = out.data() + at;
    write_u32(p, block.ssrc);
    p[4] = block.fraction_lost;
    write_u24(p + 5, static_cast<uint32_t>(block.cumulative_lost) & 0xFFFFFF);
    write_u32(p + 8, block.highest_sequence);
    write_u32(p + 12, block.jitter);
    write_u32(p + 16, block.last_sr);
    write_u32(p + 20, block.delay_since_last_sr);
  }
}

}  // namespace

std::optional<Packet> CompoundIterator::next() {
  if (rest_.empty() || error_ != ParseError::kNone) return std::nullopt;
  auto fail = [this](ParseError e) -> std::optional<Packet> {
    error_ = e;
    rest_ = {};
    return std::nullopt;
  };
  if (rest_.size() < 4) return fail(ParseError::kTooShort);
  if ((rest_[0] >> 6) != 2) return fail(ParseError::kBadVersion);
  const size_t size = (size_t{read_u16(rest_.data() + 2)} + 1) * 4;
  if (size > rest_.size()) return fail(ParseError::kLengthOverflow);

  Packet packet;
  packet.count = rest_[0] & 0x1F;
  packet.type = rest_[1];
  packet.bytes = rest_.first(size);
  size_t padding = 0;
  if ((rest_[0] & 0x20) != 0) {
    padding = packet.bytes.back();
    if (padding == 0 || padding > size - 4) return fail(ParseError::kBadPadding);
  }
  packet.body = packet.bytes.subspan(4, size - 4 - padding);
  rest_ = rest_.subspan(size);
  return packet;
}

bool is_valid_compound(std::span<const uint8_t> datagram, ParseError* error) {
  CompoundIterator it(datagram);
  size_t packets = 0;
  while (it.next())
    ++packets;
  ParseError result = it.error();
  if (result == ParseError::kNone && packets == 0) result = ParseError::kTooShort;
  if (error) *error = result;
  return result == ParseError::kNone;
}

ReportBlock ReportBlocks::operator[](size_t index) const {
  const uint8_t* p = bytes_.data() + index * kReportBlockSize;
  ReportBlock block;
  block.ssrc = read_u32(p);
  block.fraction_lost = p[4];
  // Sign-extend the 24-bit cumulative loss.
  const uint32_t lost = read_u24(p + 5);
  block.cumulative_lost = static_cast<int32_t>(lost << 8) >> 8;
  block.highest_sequence = read_u32(p + 8);
  block.jitter = read_u32(p + 12);
  block.last_sr = read_u32(p + 16);
  block.delay_since_last_sr = read_u32(p + 20);
  return block;
}

std::optional<SenderReport> parse_sender_report(const Packet& packet) {
  if (packet.type != static_cast<uint8_t>(PacketType::kSenderReport)) return std::nullopt;
  const size_t needed = 4 + kSenderInfoSize + packet.count * kReportBlockSize;
  if (packet.body.size() < needed) return std::nullopt;  // trailing extensions are allowed
  const uint8_t* p = packet.body.data();
  SenderReport report;
  report.ssrc = read_u32(p);
  report.info.ntp_timestamp = read_u64(p + 4);
  report.info.rtp_timestamp = read_u32(p + 12);
  report.info.packet_count = read_u32(p + 16);
  report.info.octet_count = read_u32(p + 20);
  report.reports = ReportBlocks(packet.body.subspan(24, packet.count * kReportBlockSize));
  return report;
}

std::optional<ReceiverReport> parse_receiver_report(const Packet& packet) {
  if (packet.type != static_cast<uint8_t>(PacketType::kReceiverReport)) return std::nullopt;
  if (packet.body.size() < 4 + packet.count * kReportBlockSize) return std::nullopt;
  ReceiverReport report;
  report.ssrc = read_u32(packet.body.data());
  report.reports = ReportBlocks(packet.body.subspan(4, packet.count * kReportBlockSize));
  return report;
}

std::optional<std::vector<SdesItem>> parse_sdes(const Packet& packet) {
  if (packet.type != static_cast<uint8_t>(PacketType::kSourceDescription)) return std::nullopt;
  std::vector<SdesItem> items;
  const auto body = packet.body;
  size_t offset = 0;
  for (uint8_t chunk = 0; chunk < packet.count; ++chunk) {
    if (body.size() - offset < 4) return std::nullopt;
    const uint32_t ssrc = read_u32(body.data() + offset);
    offset += 4;
    // Items until a zero type byte; then pad to the next 32-bit boundary.
    while (true) {
      if (offset >= body.size()) return std::nullopt;
      const uint8_t type = body[offset];
      if (type == 0) break;
      if (body.size() - offset < 2) return std::nullopt;
      const size_t length = body[offset + 1];
      if (length > body.size() - offset - 2) return std::nullopt;
      items.push_back(
          {ssrc, type,
           std::string_view(reinterpret_cast<const char*>(body.data() + offset + 2), length)});
      offset += 2 + length;
    }
    offset = (offset + 4) & ~size_t{3};  // the null byte plus padding
    if (offset > body.size()) return std::nullopt;
  }
  return items;
}

std::optional<Bye> parse_bye(const Packet& packet) {
  if (packet.type != static_cast<uint8_t>(PacketType::kBye)) return std::nullopt;
  const size_t ssrc_bytes = size_t{packet.count} * 4;
  if (packet.body.size() < ssrc_bytes) return std::nullopt;
  Bye bye;
  for (size_t i = 0; i < packet.count; ++i)
    bye.ssrcs.push_back(read_u32(packet.body.data() + 4 * i));
  if (packet.body.size() > ssrc_bytes) {
    const size_t length = packet.body[ssrc_bytes];
    if (length > packet.body.size() - ssrc_bytes - 1) return std::nullopt;
    bye.reason = std::string_view(
        reinterpret_cast<const char*>(packet.body.data() + ssrc_bytes + 1), length);
  }
  return bye;
}

size_t begin_packet(std::vector<uint8_t>& out, uint8_t count, PacketType type) {
  const size_t start = out.size();
  out.resize(start + 4);
  out[start] = static_cast<uint8_t>(0x80 | (count & 0x1F));
  out[start + 1] = static_cast<uint8_t>(type);
  return start;
}

void end_packet(std::vector<uint8_t>& out, size_t start) {
  out.resize((out.size() + 3) & ~size_t{3}, 0);
  write_u16(out.data() + start + 2, static_cast<uint16_t>((out.size() - start) / 4 - 1));
}

void append_sender_report(std::vector<uint8_t>& out, uint32_t ssrc, const SenderInfo& info,
                          std::span<const ReportBlock> reports) {
  reports = reports.first(std::min<size_t>(reports.size(), 31));
  const size_t start =
      begin_packet(out, static_cast<uint8_t>(reports.size()), PacketType::kSenderReport);
  append_u32(out, ssrc);
  append_u32(out, static_cast<uint32_t>(info.ntp_timestamp >> 32));
  append_u32(out, static_cast<uint32_t>(info.ntp_timestamp));
  append_u32(out, info.rtp_timestamp);
  append_u32(out, info.packet_count);
  append_u32(out, info.octet_count);
  append_report_blocks(out, reports);
  end_packet(out, start);
}

void append_receiver_report(std::vector<uint8_t>& out, uint32_t ssrc,
                            std::span<const ReportBlock> reports) {
  reports = reports.first(std::min<size_t>(reports.size(), 31));
  const size_t start =
      begin_packet(out, static_cast<uint8_t>(reports.size()), PacketType::kReceiverReport);
  append_u32(out, ssrc);
  append_report_blocks(out, reports);
  end_packet(out, start);
}

void append_sdes_cname(std::vector<uint8_t>& out, uint32_t ssrc, std::string_view cname) {
  cname = cname.substr(0, 255);
  const size_t start = begin_packet(out, 1, PacketType::kSourceDescription);
  append_u32(out, ssrc);
  out.push_back(kSdesCname);
  out.push_back(static_cast<uint8_t>(cname.size()));
  out.insert(out.end(), cname.begin(), cname.end());
  out.push_back(0);  // end of items; end_packet pads the chunk
  end_packet(out, start);
}

void append_bye(std::vector<uint8_t>& out, std::span<const uint32_t> ssrcs,
                std::string_view reason) {
  ssrcs = ssrcs.first(std::min<size_t>(ssrcs.size(), 31));
  reason = reason.substr(0, 255);
  const size_t start = begin_packet(out, static_cast<uint8_t>(ssrcs.size()), PacketType::kBye);
  for (uint32_t ssrc : ssrcs)
    append_u32(out, ssrc);
  if (!reason.empty()) {
    out.push_back(static_cast<uint8_t>(reason.size()));
    out.insert(out.end(), reason.begin(), reason.end());
  }
  end_packet(out, start);
}

}  // namespace atrium::media::rtcp
