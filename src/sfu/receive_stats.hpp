#pragma once
// Receiver statistics of one incoming RTP stream (RFC 3550 6.4.1, A.1, A.3,
// A.8): the extended highest sequence number across wraps, cumulative and
// interval loss, interarrival jitter, and the last sender report's timing,
// all on explicit time. The SFU terminates RTCP per leg, so it reports on
// what it receives from a publisher itself: the publisher's congestion
// control and RTT estimate depend on these report blocks.
#include <chrono>
#include <cstdint>
#include <optional>

#include "media/rtcp.hpp"

namespace atrium::sfu {

class ReceiveStats {
 public:
  using Clock = std::chrono::steady_clock;

  // A jump beyond kMaxDropout ahead (or kMaxMisorder behind) is a restart of
  // the sender's numbering once confirmed by the next packet (RFC 3550 A.1).
  static constexpr uint16_t kMaxDropout = 3000;
  static constexpr uint16_t kMaxMisorder = 100;

  explicit ReceiveStats(uint32_t clock_rate) : clock_rate_(clock_rate ? clock_rate : 90000) {}

  void on_packet(uint16_t sequence_number, uint32_t rtp_timestamp, Clock::time_point arrival);
  // The sender report's NTP timestamp (64-bit) and when it arrived.
  void on_sender_report(uint64_t ntp_timestamp, Clock::time_point arrival);

  // A report block for `ssrc` as of `now`; starts a new fraction-lost interval.
  media::rtcp::ReportBlock report(uint32_t ssrc, Clock::time_point now);

  bool has_packets() const { return received_ != 0; }
  uint32_t clock_rate() const { return clock_rate_; }
  // Cycles in the high 16 bits, the highest sequence number in the low.
  uint32_t extended_highest() const { return static_cast<uint32_t>(cycles_ + max_seq_); }
  uint64_t expected() const;
  uint64_t received() const { return received_; }
  // expected - received: negative with duplicates.
  int64_t lost() const;
  // Interarrival jitter in RTP units (as in a report block) and in ms.
  uint32_t jitter() const { return static_cast<uint32_t>(jitter_); }
  double jitter_ms() const { return jitter_ * 1000.0 / clock_rate_; }
  std::optional<Clock::time_point> last_packet() const { return last_arrival_; }

 private:
  void restart(uint16_t sequence_number);

  uint32_t clock_rate_;
  uint64_t received_ = 0;
  uint16_t max_seq_ = 0;
  uint64_t cycles_ = 0;  // count of wraps << 16
  uint32_t base_seq_ = 0;
  std::optional<uint32_t> bad_seq_;  // a large jump waiting for confirmation
  std::optional<Clock::time_point> last_arrival_;

  // Jitter: transit time differences of in-order packets, in RTP units.
  double jitter_ = 0;
  bool have_transit_ = false;
  uint32_t last_timestamp_ = 0;
  Clock::time_point last_transit_arrival_{};

  // The previous report, for fraction lost over the interval since.
  uint64_t expected_prior_ = 0;
  uint64_t received_prior_ = 0;

  uint32_t last_sr_ = 0;  // middle 32 bits of the NTP timestamp; 0: none yet
  Clock::time_point last_sr_arrival_{};
};

}  // namespace atrium::sfu
