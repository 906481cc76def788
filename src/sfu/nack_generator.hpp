#pragma once
// Upstream loss recovery for one RTP stream a publisher sends us: which
// sequence numbers are missing and when to ask for them again (generic NACK,
// RFC 4585). We terminate RTCP per leg, so a packet lost between publisher
// and SFU is ours to recover: subscribers NACK us, and we can only answer
// from what arrived. Explicit time; no sockets.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace atrium::sfu {

class NackGenerator {
 public:
  using Clock = std::chrono::steady_clock;
  struct Config {
    // A later packet may just be reordered: wait this long before the first NACK.
    std::chrono::milliseconds reorder_wait{10};
    // Between NACKs for the same number, at least this and the RTT.
    std::chrono::milliseconds min_retry{50};
    int max_attempts = 5;
    // Older than this, a retransmission is useless (the receiver asked for a
    // keyframe long ago): give up.
    std::chrono::milliseconds max_age{1000};
    // A larger gap is an outage or a restart, not loss: no NACKs for it.
    size_t max_gap = 300;
    size_t max_pending = 500;
  };

  NackGenerator() : NackGenerator(Config{}) {}
  explicit NackGenerator(Config config) : config_(config) {}

  void on_packet(uint16_t sequence, Clock::time_point now);
  // The numbers to NACK now (each counted as an attempt); rtt from our
  // receiver reports, zero when unknown.
  std::vector<uint16_t> due(Clock::time_point now, std::chrono::milliseconds rtt);

  size_t pending() const { return missing_.size(); }
  uint64_t recovered() const { return recovered_; }  // missing numbers that arrived later
  uint64_t abandoned() const { return abandoned_; }

 private:
  struct Missing {
    Clock::time_point detected{};
    Clock::time_point last_sent{};
    int attempts = 0;
  };

  Config config_;
  bool started_ = false;
  int64_t highest_ = 0;  // extended
  std::map<int64_t, Missing> missing_;
  uint64_t recovered_ = 0;
  uint64_t abandoned_ = 0;
};

}  // namespace atrium::sfu
