#pragma once
// Active speakers from the RFC 6464 audio-level header extension. Samples go
// in per audio packet (cheap: a few adds into the current time bucket); a
// worker timer calls update() every few hundred ms for the ordered list and
// what changed since the last call (the SpeakersChanged payload).
//
// Choices: a sample is "loud" when its level is at or above -50 dBov (LiveKit's
// default threshold, value <= 50 in the extension). Over a 1.5 s window, a
// participant is active when at least 20% of the samples expected at 20 ms
// packetisation (15 of 75) are loud. DTX sends few packets in silence, so we
// count against the expected number, not the received one. The level (0..1)
// is the mean linear amplitude of the loud samples times that loud share.
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace atrium::sfu {

using Clock = std::chrono::steady_clock;

struct AudioLevel {
  uint8_t level_dbov = 127;  // 0 (loudest) .. 127 (silence), as -dBov
  bool voice = false;        // V: the sender's own voice activity flag
};
// One-byte value: V (bit 7) and the level (bits 0-6).
std::optional<AudioLevel> parse_audio_level(std::span<const uint8_t> value);

struct SpeakerInfo {
  uint64_t participant = 0;
  float level = 0;  // 0..1
  bool active = false;
  bool operator==(const SpeakerInfo&) const = default;
};

class SpeakerDetector {
 public:
  struct Config {
    uint8_t threshold_dbov = 50;  // loud: level_dbov <= this
    std::chrono::milliseconds window{1500};
    std::chrono::milliseconds expected_packet_interval{20};
    uint32_t active_percent = 20;     // loud share of expected samples to be active
    float level_change = 0.05f;       // smaller level moves are not reported
    bool require_voice_flag = false;  // Chrome does not set V reliably
  };

  SpeakerDetector() : SpeakerDetector(Config{}) {}
  explicit SpeakerDetector(Config config);

  void add_sample(uint64_t participant, AudioLevel level, Clock::time_point now);
  void remove(uint64_t participant);

  struct Update {
    std::vector<SpeakerInfo> active;   // active speakers, loudest first
    std::vector<SpeakerInfo> changed;  // became (in)active or moved level; loudest first
  };
  // Fills `update`; true when `changed` is not empty.
  bool update(Clock::time_point now, Update& update);

 private:
  static constexpr size_t kBuckets = 8;  // the window in eight slices
  struct Bucket {
    int64_t slice = -1;  // which window slice it holds
    uint32_t loud = 0;
    float amplitude = 0;  // sum over loud samples
  };
  struct Participant {
    std::array<Bucket, kBuckets> buckets{};
    SpeakerInfo reported;
  };
  int64_t slice_of(Clock::time_point now) const;

  Config config_;
  Clock::duration slice_;
  std::unordered_map<uint64_t, Participant> participants_;
  std::vector<uint64_t> removed_active_;
};

}  // namespace atrium::sfu
