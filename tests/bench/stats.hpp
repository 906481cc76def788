#pragma once
// Latency summaries for the load tool: nearest-rank percentiles in milliseconds.
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace hs_bench {

struct LatencySummary {
  size_t count = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  double mean_ms = 0;
};

inline LatencySummary summarize(std::vector<int64_t> samples_ns) {
  LatencySummary s;
  s.count = samples_ns.size();
  if (samples_ns.empty()) return s;
  std::sort(samples_ns.begin(), samples_ns.end());
  auto rank = [&](double p) {
    size_t index = static_cast<size_t>(std::ceil(p * static_cast<double>(samples_ns.size())));
    return static_cast<double>(samples_ns[std::max<size_t>(index, 1) - 1]) / 1e6;
  };
  s.p50_ms = rank(0.50);
  s.p90_ms = rank(0.90);
  s.p99_ms = rank(0.99);
  s.max_ms = static_cast<double>(samples_ns.back()) / 1e6;
  double total = 0;
  for (int64_t v : samples_ns)
    total += static_cast<double>(v);
  s.mean_ms = total / static_cast<double>(samples_ns.size()) / 1e6;
  return s;
}

// Rounded to the microsecond: more digits would only be noise.
inline double round_us(double ms) {
  return std::round(ms * 1000.0) / 1000.0;
}

inline boost::json::object to_json(const LatencySummary& s) {
  return {{"count", s.count},
          {"p50_ms", round_us(s.p50_ms)},
          {"p90_ms", round_us(s.p90_ms)},
          {"p99_ms", round_us(s.p99_ms)},
          {"max_ms", round_us(s.max_ms)},
          {"mean_ms", round_us(s.mean_ms)}};
}

}  // namespace hs_bench
