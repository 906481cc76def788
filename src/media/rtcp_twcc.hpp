#pragma once
// Transport-wide congestion control feedback
// (draft-holmer-rmcat-transport-wide-cc-extensions-01, RTPFB FMT 15).
// Layout of the FCI: base sequence (16), packet status count (16), reference
// time (24, signed, 64 ms units), feedback packet count (8), packet chunks
// (run-length or 1-/2-bit status vectors), then one receive delta per
// received packet (8-bit unsigned or 16-bit signed, 250 us units).
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "media/rtcp_feedback.hpp"

namespace atrium::media::rtcp {

enum class TwccStatus : uint8_t { kNotReceived = 0, kSmallDelta = 1, kLargeDelta = 2 };

struct TwccPacketResult {
  uint16_t sequence_number = 0;
  TwccStatus status = TwccStatus::kNotReceived;
  int64_t arrival_time_us = 0;  // reference time + deltas; only when received
};

struct TwccFeedback {
  uint16_t base_sequence = 0;
  uint16_t status_count = 0;
  int32_t reference_time = 0;  // in 64 ms units
  uint8_t feedback_count = 0;
  std::vector<TwccPacketResult> packets;  // status_count entries, in sequence order
};

std::optional<TwccFeedback> parse_twcc(const Feedback& feedback);

struct TwccArrival {
  uint16_t sequence_number = 0;
  int64_t arrival_time_us = 0;
};

// Builds one feedback for `arrivals`: received packets in strictly ascending,
// wrap-aware sequence order, spanning at most 2^15 sequence numbers (arrival
// times may go backwards: large signed deltas). Sequence gaps are reported as
// not received. Returns false, appending nothing, on empty or unordered input
// or when a delta does not fit 16 bits (then split the feedback).
bool append_twcc(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint32_t media_ssrc,
                 uint8_t feedback_count, std::span<const TwccArrival> arrivals);
// The same from an explicit `base_sequence` at or before the first arrival:
// the statuses start there, so packets lost right after the previous
// feedback are reported as not received rather than left out.
bool append_twcc(std::vector<uint8_t>& out, uint32_t sender_ssrc, uint32_t media_ssrc,
                 uint8_t feedback_count, uint16_t base_sequence,
                 std::span<const TwccArrival> arrivals);

}  // namespace atrium::media::rtcp
