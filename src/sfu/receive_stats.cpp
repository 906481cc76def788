#include "sfu/receive_stats.hpp"

#include <algorithm>
#include <cmath>

namespace atrium::sfu {
namespace {

constexpr uint64_t kSequenceModulo = 1u << 16;

// 1/65536 s units, as DLSR is.
uint32_t to_dlsr_units(std::chrono::steady_clock::duration elapsed) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
  if (us <= 0) return 0;
  return static_cast<uint32_t>(std::min<int64_t>(us * 65536 / 1'000'000, UINT32_MAX));
}

}  // namespace

void ReceiveStats::restart(uint16_t sequence_number) {
  base_seq_ = sequence_number;
  max_seq_ = sequence_number;
  cycles_ = 0;
  bad_seq_.reset();
  received_ = 0;
  expected_prior_ = 0;
  received_prior_ = 0;
  have_transit_ = false;
}

void ReceiveStats::on_packet(uint16_t seq, uint32_t rtp_timestamp, Clock::time_point arrival) {
  bool in_order = false;
  if (received_ == 0) {
    restart(seq);
    in_order = true;
  } else {
    const uint16_t delta = static_cast<uint16_t>(seq - max_seq_);
    if (delta == 0) {
      // A duplicate of the newest: counted (RFC 3550 lets duplicates lower the loss).
    } else if (delta < kMaxDropout) {
      if (seq < max_seq_) cycles_ += kSequenceModulo;  // wrapped
      max_seq_ = seq;
      in_order = true;
    } else if (delta <= kSequenceModulo - kMaxMisorder) {
      // A very large jump: the sender restarted unless this is a stray packet.
      // Two in a row confirm it (the second follows the first).
      if (bad_seq_ && seq == *bad_seq_) {
        restart(seq);
        in_order = true;
      } else {
        bad_seq_ = static_cast<uint16_t>(seq + 1);
        return;  // not counted
      }
    }
    // Otherwise reordered (or a duplicate of an older packet): received, not newest.
  }
  ++received_;
  last_arrival_ = arrival;
  if (!in_order) return;
  bad_seq_.reset();

  // Jitter (RFC 3550 A.8) over in-order packets. Packets of one video frame
  // share a timestamp but are paced out over time: like libwebrtc, only a new
  // timestamp updates the estimate, against the previous in-order packet.
  if (have_transit_ && rtp_timestamp != last_timestamp_) {
    const double arrival_diff =
        std::chrono::duration<double>(arrival - last_transit_arrival_).count() * clock_rate_;
    const double send_diff = static_cast<int32_t>(rtp_timestamp - last_timestamp_);
    const double d = std::abs(arrival_diff - send_diff);
    jitter_ += (d - jitter_) / 16.0;
  }
  have_transit_ = true;
  last_timestamp_ = rtp_timestamp;
  last_transit_arrival_ = arrival;
}

void ReceiveStats::on_sender_report(uint64_t ntp_timestamp, Clock::time_point arrival) {
  last_sr_ = static_cast<uint32_t>(ntp_timestamp >> 16);
  last_sr_arrival_ = arrival;
}

uint64_t ReceiveStats::expected() const {
  if (received_ == 0) return 0;
  return uint64_t{extended_highest()} - base_seq_ + 1;
}

int64_t ReceiveStats::lost() const {
  return static_cast<int64_t>(expected()) - static_cast<int64_t>(received_);
}

media::rtcp::ReportBlock ReceiveStats::report(uint32_t ssrc, Clock::time_point now) {
  media::rtcp::ReportBlock block;
  block.ssrc = ssrc;
  const uint64_t expected_now = expected();
  const uint64_t expected_interval = expected_now - expected_prior_;
  const uint64_t received_interval = received_ - received_prior_;
  expected_prior_ = expected_now;
  received_prior_ = received_;
  if (expected_interval > received_interval) {
    const uint64_t lost_interval = expected_interval - received_interval;
    block.fraction_lost =
        static_cast<uint8_t>(std::min<uint64_t>((lost_interval << 8) / expected_interval, 255));
  }
  // 24-bit signed on the wire: clamp rather than wrap.
  block.cumulative_lost = static_cast<int32_t>(std::clamp<int64_t>(lost(), -0x800000, 0x7FFFFF));
  block.highest_sequence = extended_highest();
  block.jitter = jitter();
  if (last_sr_ != 0) {
    block.last_sr = last_sr_;
    block.delay_since_last_sr = to_dlsr_units(now - last_sr_arrival_);
  }
  return block;
}

}  // namespace atrium::sfu
