#pragma once
// Transport-wide congestion control, receive side
// (draft-holmer-rmcat-transport-wide-cc-extensions-01): records when each
// packet carrying the transport-wide sequence number extension arrived on a
// connection and turns the records into feedback packets (RTPFB FMT 15) for
// the sender's bandwidth estimator. Explicit time, no sockets.
//
// Each feedback covers from the first packet not yet reported up to the
// newest received one; missing numbers in between are reported as not
// received. A packet that arrives after its number was reported missing
// moves the next feedback's start back to it, so the sender learns it came
// (as libwebrtc's RemoteEstimatorProxy does).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace atrium::sfu {

class TwccRecorder {
 public:
  using Clock = std::chrono::steady_clock;

  // Arrivals remembered (a power of two): several feedback intervals at
  // thousands of packets per second.
  static constexpr size_t kHistory = 4096;
  // Received packets per feedback packet: keeps each well under the MTU
  // (at most two bytes of delta per packet plus the chunks).
  static constexpr size_t kMaxPacketsPerFeedback = 400;

  TwccRecorder();  // the history is allocated with the first record

  // The extension's value (two bytes, network order) or the number itself.
  static std::optional<uint16_t> parse_extension(std::span<const uint8_t> value);
  void record(uint16_t sequence_number, Clock::time_point arrival);

  // Appends feedback packets (each a complete RTCP packet, one per call of
  // media::rtcp::append_twcc) to `out` for everything not yet reported.
  // Returns how many packets were appended; none when nothing new arrived.
  size_t build_feedback(std::vector<std::vector<uint8_t>>& out, uint32_t sender_ssrc,
                        uint32_t media_ssrc);

  uint8_t feedback_count() const { return feedback_count_; }
  uint64_t packets_recorded() const { return recorded_; }

 private:
  struct Entry {
    int64_t sequence = -1;  // extended; -1: empty
    int64_t arrival_us = 0;
  };
  Entry& slot(int64_t sequence) { return history_[static_cast<size_t>(sequence) & (kHistory - 1)]; }

  std::vector<Entry> history_;
  bool started_ = false;
  int64_t highest_ = -1;      // extended highest number received
  int64_t window_start_ = 0;  // the first number the next feedback reports
  uint8_t feedback_count_ = 0;
  uint64_t recorded_ = 0;
};

}  // namespace atrium::sfu
