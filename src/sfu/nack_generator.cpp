#include "sfu/nack_generator.hpp"

#include <algorithm>

namespace atrium::sfu {

void NackGenerator::on_packet(uint16_t sequence, Clock::time_point now) {
  if (!started_) {
    started_ = true;
    highest_ = (int64_t{1} << 16) | sequence;
    return;
  }
  const int64_t ext =
      highest_ +
      static_cast<int16_t>(static_cast<uint16_t>(sequence - static_cast<uint16_t>(highest_)));
  if (ext <= highest_) {
    if (missing_.erase(ext)) ++recovered_;
    return;
  }
  const int64_t gap = ext - highest_ - 1;
  if (gap > static_cast<int64_t>(config_.max_gap)) {
    // An outage or the publisher restarted its numbering: start over.
    abandoned_ += missing_.size();
    missing_.clear();
  } else {
    for (int64_t s = highest_ + 1; s < ext; ++s)
      missing_.emplace(s, Missing{.detected = now});
    while (missing_.size() > config_.max_pending) {
      missing_.erase(missing_.begin());
      ++abandoned_;
    }
  }
  highest_ = ext;
}

std::vector<uint16_t> NackGenerator::due(Clock::time_point now, std::chrono::milliseconds rtt) {
  std::vector<uint16_t> out;
  const auto retry = std::max<std::chrono::milliseconds>(config_.min_retry, rtt + rtt / 2);
  for (auto it = missing_.begin(); it != missing_.end();) {
    Missing& m = it->second;
    if (m.attempts >= config_.max_attempts || now - m.detected > config_.max_age) {
      it = missing_.erase(it);
      ++abandoned_;
      continue;
    }
    const bool first = m.attempts == 0 && now - m.detected >= config_.reorder_wait;
    const bool again = m.attempts > 0 && now - m.last_sent >= retry;
    if (first || again) {
      ++m.attempts;
      m.last_sent = now;
      out.push_back(static_cast<uint16_t>(it->first));
    }
    ++it;
  }
  return out;
}

}  // namespace atrium::sfu
