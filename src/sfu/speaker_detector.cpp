#include "sfu/speaker_detector.hpp"

#include <algorithm>
#include <cmath>

namespace atrium::sfu {

namespace {

// Linear amplitude of each -dBov value, computed once.
const std::array<float, 128>& amplitudes() {
  static const std::array<float, 128> table = [] {
    std::array<float, 128> t{};
    for (size_t i = 0; i < t.size(); ++i) {
      t[i] = static_cast<float>(std::pow(10.0, -static_cast<double>(i) / 20.0));
    }
    return t;
  }();
  return table;
}

bool louder_first(const SpeakerInfo& a, const SpeakerInfo& b) {
  return a.level != b.level ? a.level > b.level : a.participant < b.participant;
}

}  // namespace

std::optional<AudioLevel> parse_audio_level(std::span<const uint8_t> value) {
  if (value.empty()) return std::nullopt;
  return AudioLevel{static_cast<uint8_t>(value[0] & 0x7F), (value[0] & 0x80) != 0};
}

SpeakerDetector::SpeakerDetector(Config config)
    : config_(config),
      slice_(std::max<Clock::duration>(config.window / kBuckets, Clock::duration{1})) {
  amplitudes();
}

int64_t SpeakerDetector::slice_of(Clock::time_point now) const {
  return now.time_since_epoch() / slice_;
}

void SpeakerDetector::add_sample(uint64_t participant, AudioLevel level, Clock::time_point now) {
  Participant& state = participants_[participant];
  if (level.level_dbov > config_.threshold_dbov) return;
  if (config_.require_voice_flag && !level.voice) return;
  const int64_t slice = slice_of(now);
  Bucket& bucket = state.buckets[static_cast<size_t>(slice) % kBuckets];
  if (bucket.slice != slice) bucket = Bucket{slice, 0, 0};
  ++bucket.loud;
  bucket.amplitude += amplitudes()[level.level_dbov & 0x7F];
}

void SpeakerDetector::remove(uint64_t participant) {
  auto it = participants_.find(participant);
  if (it == participants_.end()) return;
  if (it->second.reported.active) removed_active_.push_back(participant);
  participants_.erase(it);
}

bool SpeakerDetector::update(Clock::time_point now, Update& update) {
  update.active.clear();
  update.changed.clear();
  const int64_t current = slice_of(now);
  const double expected = std::max(
      1.0, static_cast<double>(config_.window.count()) /
               static_cast<double>(std::max<int64_t>(config_.expected_packet_interval.count(), 1)));
  for (auto& [id, state] : participants_) {
    uint32_t loud = 0;
    float amplitude = 0;
    for (const Bucket& bucket : state.buckets) {
      if (bucket.slice > current - static_cast<int64_t>(kBuckets) && bucket.slice <= current) {
        loud += bucket.loud;
        amplitude += bucket.amplitude;
      }
    }
    SpeakerInfo now_info{id, 0, false};
    now_info.active = loud * 100.0 >= config_.active_percent * expected && loud > 0;
    if (now_info.active) {
      const double share = std::min(1.0, loud / expected);
      now_info.level = static_cast<float>(amplitude / loud * share);
      update.active.push_back(now_info);
    }
    const SpeakerInfo& before = state.reported;
    const bool moved =
        now_info.active && std::fabs(now_info.level - before.level) >= config_.level_change;
    if (now_info.active != before.active || moved) {
      update.changed.push_back(now_info);
      state.reported = now_info;
    }
  }
  for (uint64_t id : removed_active_)
    update.changed.push_back({id, 0, false});
  removed_active_.clear();
  std::sort(update.active.begin(), update.active.end(), louder_first);
  std::sort(update.changed.begin(), update.changed.end(), louder_first);
  return !update.changed.empty();
}

}  // namespace atrium::sfu
