#pragma once
// Token-bucket rate limits keyed by a string (user id or client address).
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/config.hpp"

namespace atrium {

class RateLimiter {
 public:
  explicit RateLimiter(RateLimit limit) : limit_(limit) {}

  // Takes one token for `key`; returns 0 when allowed, else the milliseconds
  // until a token is available. A limit with per_second <= 0 allows all.
  int64_t take(const std::string& key, int64_t now_ms);
  // Returns a token taken for work that turned out to need none (a retried
  // transaction), up to the burst.
  void give_back(const std::string& key);

 private:
  struct Bucket {
    double tokens;
    int64_t updated_ms;
  };
  RateLimit limit_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace atrium
