#include "base/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace atrium {

int64_t RateLimiter::take(const std::string& key, int64_t now_ms) {
  if (limit_.per_second <= 0) return 0;
  double burst = std::max(1.0, limit_.burst);
  std::lock_guard lock(mutex_);
  if (buckets_.size() > 100000) {
    // Forget full buckets so a flood of distinct keys cannot grow memory forever.
    std::erase_if(buckets_, [&](const auto& kv) {
      return kv.second.tokens + (now_ms - kv.second.updated_ms) / 1000.0 * limit_.per_second >=
             burst;
    });
  }
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{burst, now_ms});
  Bucket& b = it->second;
  b.tokens = std::min(burst, b.tokens + (now_ms - b.updated_ms) / 1000.0 * limit_.per_second);
  b.updated_ms = now_ms;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return static_cast<int64_t>(std::ceil((1.0 - b.tokens) / limit_.per_second * 1000.0));
}

void RateLimiter::give_back(const std::string& key) {
  if (limit_.per_second <= 0) return;
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) return;
  it->second.tokens = std::min(std::max(1.0, limit_.burst), it->second.tokens + 1.0);
}

}  // namespace atrium
