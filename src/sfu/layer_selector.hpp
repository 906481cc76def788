#pragma once
// Per-subscriber simulcast layer choice, as pure decisions over explicit time.
// Inputs: which layers the publisher is sending (and their bitrates), the
// subscriber's cap from adaptive stream (UpdateTrackSettings), its estimated
// downlink bandwidth, and pause (disabled / muted). Output: per packet,
// forward or drop, and when to ask the publisher for a keyframe.
//
// A switch, up or down, happens only at a keyframe of the target layer: the
// receiver's decoder cannot continue a stream from a delta frame of another
// encoding. Until then the current layer keeps flowing.
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

namespace atrium::sfu {

using Clock = std::chrono::steady_clock;

inline constexpr int kMaxSimulcastLayers = 3;  // q, h, f

// livekit.VideoQuality: LOW=0, MEDIUM=1, HIGH=2, OFF=3.
enum class VideoQuality : uint8_t { kLow = 0, kMedium = 1, kHigh = 2, kOff = 3 };

struct LayerDimensions {
  uint32_t width = 0;
  uint32_t height = 0;
};
// The lowest layer at least as large (on its larger side) as the rendered
// size, else the top one; -1 when `layers` is empty or the size is zero.
int layer_for_dimensions(uint32_t width, uint32_t height, std::span<const LayerDimensions> layers);
// -1 for kOff.
int layer_for_quality(VideoQuality quality);

struct SelectorDecision {
  bool forward = false;
  bool switched = false;            // this packet is the first of a new layer
  int request_keyframe_layer = -1;  // >= 0: send a PLI for that layer now
};

class LayerSelector {
 public:
  struct Config {
    // One PLI per layer per interval: a keyframe takes a round trip plus an
    // encode, and every extra one costs the publisher bits.
    std::chrono::milliseconds keyframe_interval{500};
    // A layer fits when its bitrate times this (percent) is within the estimate;
    // the margin absorbs keyframe bursts and bitrate variance.
    uint32_t headroom_percent = 110;
  };

  LayerSelector() : LayerSelector(Config{}) {}
  explicit LayerSelector(Config config);

  // The publisher is (not) sending `layer`, at `bitrate_bps` (0: unknown, fits).
  void set_layer(int layer, bool active, uint64_t bitrate_bps);
  // Adaptive stream's cap; -1 pauses like disabled.
  void set_max_layer(int layer);
  // Estimated downlink bandwidth in bit/s; 0: no estimate yet, no cap.
  void set_bandwidth(uint64_t bps);
  // disabled / muted: nothing is forwarded; resume waits for a keyframe.
  void pause();
  void resume();

  // For each packet of the track's layer `layer`.
  SelectorDecision on_packet(int layer, bool keyframe, Clock::time_point now);
  // Re-evaluates after input changes or on a timer: the layer to send a PLI
  // for (throttled), or -1. Call once on subscribe for the initial keyframe.
  int poll(Clock::time_point now);

  int current() const { return current_; }  // -1: nothing flowing yet
  int target() const { return target_; }    // -1: nothing wanted
  bool paused() const { return paused_ || max_layer_ < 0; }

 private:
  struct Layer {
    bool active = false;
    uint64_t bitrate_bps = 0;
    bool requested = false;
    Clock::time_point last_request{};
  };
  void choose_target();
  int maybe_request(Clock::time_point now);

  Config config_;
  std::array<Layer, kMaxSimulcastLayers> layers_{};
  int max_layer_ = kMaxSimulcastLayers - 1;
  uint64_t bandwidth_bps_ = 0;
  bool paused_ = false;
  int current_ = -1;
  int target_ = -1;
};

}  // namespace atrium::sfu
