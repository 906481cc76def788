#include "media/rtcp_twcc.hpp"

#include <algorithm>

#include "media/byte_io.hpp"

namespace atrium::media::rtcp {
namespace {

constexpr int64_t kDeltaUnitUs = 250;
constexpr int64_t kReferenceUnitUs = 64'000;
constexpr size_t kMaxRunLength = 0x1FFF;
constexpr size_t kOneBitSymbols = 14;
constexpr size_t kTwoBitSymbols = 7;

void append_u16(std::vector<uint8_t>& out, uint16_t value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}

// Chooses and appends one chunk for statuses[i...]; returns how many it covers.
size_t append_chunk(std::vector<uint8_t>& out, std::span<const TwccStatus> statuses) {
  const auto first = statuses[0];
  size_t run = 1;
  while (run < statuses.size() && run < kMaxRunLength && statuses[run] == first)
    ++run;
  const bool run_covers_rest = run == statuses.size();
  const size_t one_bit_span = std::min(kOneBitSymbols, statuses.size());
  const bool fits_one_bit =
      std::all_of(statuses.begin(), statuses.begin() + static_cast<ptrdiff_t>(one_bit_span),
                  [](TwccStatus s) { return s != TwccStatus::kLargeDelta; });

  if (run >= kOneBitSymbols || (run_covers_rest && run > 1) ||
      (!fits_one_bit && run >= kTwoBitSymbols)) {
    append_u16(out, static_cast<uint16_t>((static_cast<unsigned>(first) << 13) | run));
    return run;
  }
  if (fits_one_bit) {
    uint16_t chunk = 0x8000;  // status vector, 1-bit symbols
    for (size_t i = 0; i < one_bit_span; ++i) {
      if (statuses[i] != TwccStatus::kNotReceived) chunk |= uint16_t(1u << (13 - i));
    }
    append_u16(out, chunk);
    return one_bit_span;
  }
  const size_t two_bit_span = std::min(kTwoBitSymbols, statuses.size());
  uint16_t chunk = 0xC000;  // status vector, 2-bit symbols
  for (size_t i = 0; i < two_bit_span; ++i) {
    chunk |= uint16_t(static_cast<unsigned>(statuses[i]) << (12 - 2 * i));
  }
  append_u16(out, chunk);
  return two_bit_span;
}

}  // namespace

std::optional<TwccFeedback> parse_twcc(const Feedback& feedback) {
  if (feedback.type != PacketType::kTransportFeedback || feedback.format != kFmtTransportCc) {
    return std::nullopt;
  }
  const auto fci = feedback.fci;
  if (fci.size() < 8) return std::nullopt;
  TwccFeedback result;
  result.base_sequence = read_u16(fci.data());
  result.status_count = read_u16(fci.data() + 2);
  result.reference_time = static_cast<int32_t>(read_u24(fci.data() + 4) << 8) >> 8;
  result.feedback_count = fci[7];

  // Chunks: at most one per status, so status_count bounds the work and memory.
  std::vector<TwccStatus> statuses;
  statuses.reserve(result.status_count);
  size_t offset = 8;
  while (statuses.size() < result.status_count) {
    if (fci.size() - offset < 2) return std::nullopt;
    const uint16_t chunk = read_u16(fci.data() + offset);
    offset += 2;
    const size_t remaining = result.status_count - statuses.size();
    if ((chunk & 0x8000) == 0) {
      const auto status = static_cast<uint8_t>((chunk >> 13) & 0x3);
      const size_t run = chunk & kMaxRunLength;
      if (status == 3) return std::nullopt;
      statuses.insert(statuses.end(), std::min(run, remaining), static_cast<TwccStatus>(status));
    } else if ((chunk & 0x4000) == 0) {
      for (size_t i = 0; i < kOneBitSymbols && i < remaining; ++i) {
        statuses.push_back(static_cast<TwccStatus>((chunk >> (13 - i)) & 0x1));
      }
    } else {
      for (size_t i = 0; i < kTwoBitSymbols && i < remaining; ++i) {
        const auto status = static_cast<uint8_t>((chunk >> (12 - 2 * i)) & 0x3);
        if (status == 3) return std::nullopt;
        statuses.push_back(static_cast<TwccStatus>(status));
      }
    }
  }

  int64_t arrival_us = int64_t{result.reference_time} * kReferenceUnitUs;
  result.packets.reserve(statuses.size());
  for (size_t i = 0; i < statuses.size(); ++i) {
    TwccPacketResult packet;
    packet.sequence_number = static_cast<uint16_t>(result.base_sequence + i);
    packet.status = statuses[i];
    if (statuses[i] == TwccStatus::kSmallDelta) {
      if (fci.size() - offset < 1) return std::nullopt;
      arrival_us += int64_t{fci[offset]} * kDeltaUnitUs;
      offset += 1;
      packet.arrival_time_us = arrival_us;
    } else if (statuses[i] == TwccStatus::kLargeDelta) {
      if (fci.size() - offset < 2) return std::nullopt;
      arrival_us += int64_t{static_cast<int16_t>(read_u16(fci.data() + offset))} * kDeltaUnitUs;
      offset += 2;
      packet.arrival_time_us = arrival_us;
    }
    result.packets.push_back(packet);
  }
  return result;  // trailing bytes are zero padding
}

bool append_twcc(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint32_t media_ssrc,
                 uint8_t feedback_count, std::span<const TwccArrival> arrivals) {
  if (arrivals.empty()) return false;
  return append_twcc(out, sender_ssrc, media_ssrc, feedback_count, arrivals.front().sequence_number,
                     arrivals);
}

bool append_twcc(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint32_t media_ssrc,
                 uint8_t feedback_count, uint16_t base, std::span<const TwccArrival> arrivals) {
  if (arrivals.empty()) return false;
  const auto span_length =
      static_cast<size_t>(static_cast<uint16_t>(arrivals.back().sequence_number - base)) + 1;
  if (span_length > 0x8000) return false;

  // Reference time: the first arrival rounded down to 64 ms. The wire field is
  // 24 bits and wraps (about 6 days); deltas use the unwrapped value.
  int64_t reference = arrivals.front().arrival_time_us / kReferenceUnitUs;
  if (arrivals.front().arrival_time_us < 0 && arrivals.front().arrival_time_us % kReferenceUnitUs) {
    --reference;
  }

  std::vector<TwccStatus> statuses(span_length, TwccStatus::kNotReceived);
  std::vector<int16_t> deltas;
  deltas.reserve(arrivals.size());
  int64_t previous_ticks = reference * (kReferenceUnitUs / kDeltaUnitUs);
  std::optional<size_t> previous_index;
  for (const auto& arrival : arrivals) {
    // Strictly ascending: the deltas go on the wire in sequence order.
    const size_t index = static_cast<uint16_t>(arrival.sequence_number - base);
    if (index >= span_length || (previous_index && index <= *previous_index)) return false;
    previous_index = index;
    // Deltas accumulate in 250 us ticks so rounding does not drift.
    int64_t ticks = arrival.arrival_time_us / kDeltaUnitUs;
    if (arrival.arrival_time_us < 0 && arrival.arrival_time_us % kDeltaUnitUs) --ticks;
    const int64_t delta = ticks - previous_ticks;
    if (delta < INT16_MIN || delta > INT16_MAX) return false;
    previous_ticks = ticks;
    statuses[index] =
        (delta >= 0 && delta <= 255) ? TwccStatus::kSmallDelta : TwccStatus::kLargeDelta;
    deltas.push_back(static_cast<int16_t>(delta));
  }

  const size_t start =
      begin_feedback(out, PacketType::kTransportFeedback, kFmtTransportCc, sender_ssrc, media_ssrc);
  append_u16(out, base);
  append_u16(out, static_cast<uint16_t>(span_length));
  const size_t at = out.size();
  out.resize(at + 3);
  write_u24(out.data() + at, static_cast<uint32_t>(reference & 0xFFFFFF));
  out.push_back(feedback_count);
  for (size_t i = 0; i < statuses.size();)
    i += append_chunk(out, std::span(statuses).subspan(i));
  for (size_t i = 0; i < deltas.size(); ++i) {
    const size_t index = static_cast<uint16_t>(arrivals[i].sequence_number - base);
    if (statuses[index] == TwccStatus::kSmallDelta) {
      out.push_back(static_cast<uint8_t>(deltas[i]));
    } else {
      append_u16(out, static_cast<uint16_t>(deltas[i]));
    }
  }
  end_packet(out, start);
  return true;
}

}  // namespace atrium::media::rtcp
