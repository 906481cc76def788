#include "sfu/layer_selector.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace atrium::sfu {
namespace {

using namespace std::chrono_literals;

const Clock::time_point kT0{std::chrono::seconds(50)};

// q 150 kbps, h 500 kbps, f 1.7 Mbps, as livekit-client's defaults roughly are.
LayerSelector three_layers() {
  LayerSelector selector;
  selector.set_layer(0, true, 150'000);
  selector.set_layer(1, true, 500'000);
  selector.set_layer(2, true, 1'700'000);
  return selector;
}

TEST(LayerSelector, LayerForDimensionsAndQuality) {
  const std::vector<LayerDimensions> layers{{320, 180}, {640, 360}, {1280, 720}};
  EXPECT_EQ(layer_for_dimensions(160, 90, layers), 0);
  EXPECT_EQ(layer_for_dimensions(320, 180, layers), 0);
  EXPECT_EQ(layer_for_dimensions(400, 300, layers), 1);
  EXPECT_EQ(layer_for_dimensions(1920, 1080, layers), 2);
  EXPECT_EQ(layer_for_dimensions(180, 320, layers), 0);  // portrait: the larger side
  EXPECT_EQ(layer_for_dimensions(0, 0, layers), -1);
  EXPECT_EQ(layer_for_dimensions(100, 100, {}), -1);
  EXPECT_EQ(layer_for_quality(VideoQuality::kLow), 0);
  EXPECT_EQ(layer_for_quality(VideoQuality::kHigh), 2);
  EXPECT_EQ(layer_for_quality(VideoQuality::kOff), -1);
}

TEST(LayerSelector, InitialSelectionRequestsKeyframeAndWaitsForIt) {
  auto selector = three_layers();
  EXPECT_EQ(selector.target(), 2);
  EXPECT_EQ(selector.current(), -1);
  EXPECT_EQ(selector.poll(kT0), 2);  // on subscribe: ask at once
  // Delta frames of any layer are not forwarded before the keyframe.
  auto d = selector.on_packet(2, false, kT0 + 10ms);
  EXPECT_FALSE(d.forward);
  EXPECT_EQ(d.request_keyframe_layer, -1);                        // throttled
  EXPECT_FALSE(selector.on_packet(0, true, kT0 + 10ms).forward);  // not the target
  d = selector.on_packet(2, true, kT0 + 20ms);
  EXPECT_TRUE(d.forward);
  EXPECT_TRUE(d.switched);
  EXPECT_EQ(selector.current(), 2);
  EXPECT_TRUE(selector.on_packet(2, false, kT0 + 30ms).forward);
  EXPECT_EQ(selector.poll(kT0 + 2s), -1);  // nothing pending
}

TEST(LayerSelector, BandwidthDropSwitchesDownAtTheLowerKeyframe) {
  auto selector = three_layers();
  selector.poll(kT0);
  ASSERT_TRUE(selector.on_packet(2, true, kT0).forward);
  selector.set_bandwidth(600'000);  // h needs 550k with headroom; f does not fit
  EXPECT_EQ(selector.target(), 1);
  EXPECT_EQ(selector.poll(kT0 + 1ms), 1);
  // f keeps flowing until h's keyframe; h's delta frames are not forwarded.
  EXPECT_TRUE(selector.on_packet(2, false, kT0 + 5ms).forward);
  EXPECT_FALSE(selector.on_packet(1, false, kT0 + 5ms).forward);
  auto d = selector.on_packet(1, true, kT0 + 40ms);
  EXPECT_TRUE(d.forward);
  EXPECT_TRUE(d.switched);
  EXPECT_FALSE(selector.on_packet(2, false, kT0 + 41ms).forward);
  // Very little bandwidth: the lowest layer rather than nothing.
  selector.set_bandwidth(50'000);
  EXPECT_EQ(selector.target(), 0);
  // Recovery switches up again, at f's keyframe.
  selector.set_bandwidth(5'000'000);
  EXPECT_EQ(selector.target(), 2);
}

TEST(LayerSelector, AdaptiveStreamCapsTheLayer) {
  auto selector = three_layers();
  const std::vector<LayerDimensions> dims{{320, 180}, {640, 360}, {1280, 720}};
  selector.set_max_layer(layer_for_dimensions(200, 112, dims));  // a thumbnail
  EXPECT_EQ(selector.target(), 0);
  EXPECT_EQ(selector.poll(kT0), 0);
  EXPECT_FALSE(selector.on_packet(2, true, kT0).forward);
  EXPECT_TRUE(selector.on_packet(0, true, kT0).forward);
}

TEST(LayerSelector, DisabledPausesAndResumeNeedsAKeyframe) {
  auto selector = three_layers();
  selector.set_max_layer(0);
  selector.poll(kT0);
  ASSERT_TRUE(selector.on_packet(0, true, kT0).forward);
  selector.set_max_layer(layer_for_quality(VideoQuality::kOff));  // disabled
  EXPECT_TRUE(selector.paused());
  EXPECT_FALSE(selector.on_packet(0, true, kT0 + 1s).forward);
  EXPECT_EQ(selector.poll(kT0 + 1s), -1);  // no PLIs while paused
  selector.set_max_layer(0);
  EXPECT_FALSE(selector.paused());
  EXPECT_EQ(selector.poll(kT0 + 2s), 0);
  EXPECT_FALSE(selector.on_packet(0, false, kT0 + 2s).forward);
  EXPECT_TRUE(selector.on_packet(0, true, kT0 + 2s).switched);
  // pause()/resume() (mute) behave the same.
  selector.pause();
  EXPECT_FALSE(selector.on_packet(0, true, kT0 + 3s).forward);
  selector.resume();
  EXPECT_FALSE(selector.on_packet(0, false, kT0 + 4s).forward);
  EXPECT_TRUE(selector.on_packet(0, true, kT0 + 4s).forward);
}

TEST(LayerSelector, KeyframeRequestsAreThrottledPerLayer) {
  auto selector = three_layers();
  EXPECT_EQ(selector.poll(kT0), 2);
  EXPECT_EQ(selector.poll(kT0 + 100ms), -1);
  EXPECT_EQ(selector.on_packet(2, false, kT0 + 499ms).request_keyframe_layer, -1);
  EXPECT_EQ(selector.on_packet(2, false, kT0 + 500ms).request_keyframe_layer, 2);
  // Another layer has its own clock.
  selector.set_bandwidth(300'000);
  EXPECT_EQ(selector.poll(kT0 + 510ms), 0);
  EXPECT_EQ(selector.poll(kT0 + 600ms), -1);
}

TEST(LayerSelector, UnseenLayersBecomeAvailableWhenPacketsArrive) {
  LayerSelector selector;
  EXPECT_EQ(selector.target(), -1);
  EXPECT_EQ(selector.poll(kT0), -1);
  auto d = selector.on_packet(0, false, kT0);
  EXPECT_FALSE(d.forward);
  EXPECT_EQ(d.request_keyframe_layer, 0);
  selector.set_layer(0, false, 0);  // gone again
  EXPECT_EQ(selector.target(), -1);
}

}  // namespace
}  // namespace atrium::sfu
