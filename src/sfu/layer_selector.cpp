#include "sfu/layer_selector.hpp"

#include <algorithm>

namespace atrium::sfu {

int layer_for_dimensions(uint32_t width, uint32_t height, std::span<const LayerDimensions> layers) {
  if (layers.empty() || (width == 0 && height == 0)) return -1;
  const uint32_t wanted = std::max(width, height);
  for (size_t i = 0; i < layers.size(); ++i) {
    if (std::max(layers[i].width, layers[i].height) >= wanted) return static_cast<int>(i);
  }
  return static_cast<int>(layers.size()) - 1;
}

int layer_for_quality(VideoQuality quality) {
  return quality == VideoQuality::kOff ? -1 : static_cast<int>(quality);
}

LayerSelector::LayerSelector(Config config) : config_(config) {}

void LayerSelector::set_layer(int layer, bool active, uint64_t bitrate_bps) {
  if (layer < 0 || layer >= kMaxSimulcastLayers) return;
  layers_[layer].active = active;
  layers_[layer].bitrate_bps = bitrate_bps;
  choose_target();
}

void LayerSelector::set_max_layer(int layer) {
  max_layer_ = std::min(layer, kMaxSimulcastLayers - 1);
  // Disabling clears current_ (choose_target), so enabling waits for a keyframe.
  choose_target();
}

void LayerSelector::set_bandwidth(uint64_t bps) {
  bandwidth_bps_ = bps;
  choose_target();
}

void LayerSelector::pause() {
  paused_ = true;
  choose_target();
}

void LayerSelector::resume() {
  if (!paused_) return;
  paused_ = false;
  current_ = -1;
  choose_target();
}

void LayerSelector::choose_target() {
  if (paused()) {
    target_ = -1;
    current_ = -1;
    return;
  }
  int best = -1;
  int lowest = -1;
  for (int i = 0; i <= max_layer_; ++i) {
    const Layer& layer = layers_[i];
    if (!layer.active) continue;
    if (lowest < 0) lowest = i;
    const bool fits = bandwidth_bps_ == 0 || layer.bitrate_bps == 0 ||
                      layer.bitrate_bps * config_.headroom_percent / 100 <= bandwidth_bps_;
    if (fits) best = i;
  }
  // Nothing fits: the lowest layer still beats a frozen picture (congestion
  // control downstream of us decides whether it gets through).
  target_ = best >= 0 ? best : lowest;
}

int LayerSelector::maybe_request(Clock::time_point now) {
  if (target_ < 0 || target_ == current_) return -1;
  Layer& layer = layers_[target_];
  if (layer.requested && now - layer.last_request < config_.keyframe_interval) return -1;
  layer.requested = true;
  layer.last_request = now;
  return target_;
}

int LayerSelector::poll(Clock::time_point now) {
  return maybe_request(now);
}

SelectorDecision LayerSelector::on_packet(int layer, bool keyframe, Clock::time_point now) {
  SelectorDecision decision;
  if (paused() || layer < 0 || layer >= kMaxSimulcastLayers) return decision;
  if (!layers_[layer].active) {
    // Packets are proof of life; the track marks layers inactive when they stop.
    layers_[layer].active = true;
    choose_target();
  }
  if (layer == target_ && layer != current_ && keyframe) {
    decision.switched = true;
    current_ = target_;
  }
  decision.forward = layer == current_;
  decision.request_keyframe_layer = maybe_request(now);
  return decision;
}

}  // namespace atrium::sfu
