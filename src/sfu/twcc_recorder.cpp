#include "sfu/twcc_recorder.hpp"

#include <algorithm>

#include "media/rtcp_twcc.hpp"

namespace atrium::sfu {
namespace {

// The first number is extended into the second cycle so that reordered
// packets from before it stay positive.
constexpr int64_t kFirstExtended = int64_t{1} << 16;
constexpr int64_t kDeltaUnitUs = 250;
// append_twcc spans at most 2^15 numbers per packet; the history is shorter.
static_assert(TwccRecorder::kHistory <= 0x8000);

int64_t floor_div(int64_t value, int64_t unit) {
  int64_t q = value / unit;
  if (value < 0 && value % unit) --q;
  return q;
}

}  // namespace

TwccRecorder::TwccRecorder() = default;

std::optional<uint16_t> TwccRecorder::parse_extension(std::span<const uint8_t> value) {
  if (value.size() < 2) return std::nullopt;
  return static_cast<uint16_t>((value[0] << 8) | value[1]);
}

void TwccRecorder::record(uint16_t sequence_number, Clock::time_point arrival) {
  const int64_t arrival_us =
      std::chrono::duration_cast<std::chrono::microseconds>(arrival.time_since_epoch()).count();
  int64_t ext;
  if (!started_) {
    // Allocated with the first packet: most connections never carry the extension.
    history_.resize(kHistory);
    started_ = true;
    ext = kFirstExtended | sequence_number;
    highest_ = ext;
    window_start_ = ext;
  } else {
    ext = highest_ + static_cast<int16_t>(sequence_number - static_cast<uint16_t>(highest_));
    if (ext > highest_) {
      highest_ = ext;
    } else if (highest_ - ext >= static_cast<int64_t>(kHistory)) {
      return;  // older than anything we could still report
    }
  }
  Entry& entry = slot(ext);
  if (entry.sequence == ext) return;  // a duplicate: the first arrival counts
  entry.sequence = ext;
  entry.arrival_us = arrival_us;
  ++recorded_;
  // Reported as lost already: report again from here so the sender hears of it.
  if (ext < window_start_) window_start_ = ext;
}

size_t TwccRecorder::build_feedback(std::vector<std::vector<uint8_t>>& out, uint32_t sender_ssrc,
                                    uint32_t media_ssrc) {
  if (!started_ || window_start_ > highest_) return 0;
  // After a long gap the slots before the history hold other numbers.
  int64_t start = std::max(window_start_, highest_ - static_cast<int64_t>(kHistory) + 1);
  size_t built = 0;
  std::vector<media::rtcp::TwccArrival> batch;
  batch.reserve(kMaxPacketsPerFeedback);
  int64_t base = start;
  int64_t previous_ticks = 0;
  int64_t previous_sequence = start;

  auto flush = [&](int64_t next_base) {
    if (!batch.empty()) {
      std::vector<uint8_t> packet;
      if (media::rtcp::append_twcc(packet, sender_ssrc, media_ssrc, feedback_count_,
                                   static_cast<uint16_t>(base), batch)) {
        out.push_back(std::move(packet));
        ++feedback_count_;
        ++built;
      }
      batch.clear();
    }
    base = next_base;
  };

  for (int64_t sequence = start; sequence <= highest_; ++sequence) {
    const Entry& entry = slot(sequence);
    if (entry.sequence != sequence) continue;  // not received
    // Mirrors append_twcc's arithmetic: deltas are 250 us ticks from the
    // previous packet (the first from the 64 ms reference) and must fit 16
    // bits signed; a packet that would not, or a full batch, starts the next.
    const int64_t ticks = floor_div(entry.arrival_us, kDeltaUnitUs);
    if (!batch.empty()) {
      const int64_t delta = ticks - previous_ticks;
      if (batch.size() >= kMaxPacketsPerFeedback || delta < INT16_MIN || delta > INT16_MAX)
        flush(previous_sequence + 1);  // the losses between go to the next
    }
    batch.push_back({static_cast<uint16_t>(sequence), entry.arrival_us});
    previous_ticks = ticks;
    previous_sequence = sequence;
  }
  flush(highest_ + 1);
  window_start_ = highest_ + 1;
  return built;
}

}  // namespace atrium::sfu
