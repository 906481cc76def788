#pragma once
#include <chrono>
#include <cstdint>

namespace atrium {

// Wall-clock milliseconds since the epoch (origin_server_ts, expiry times).
inline int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Monotonic microseconds, for measuring durations.
inline int64_t mono_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace atrium
