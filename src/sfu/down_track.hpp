#pragma once
// One subscriber's view of one published track: the layer decision
// (LayerSelector, video only), the rewrite (RtpMunger) and the NACK mapping,
// on explicit time. No sockets, threads or signalling: the caller hands in
// received packets and a send buffer, and gets back the bytes to protect and
// send, or nothing.
//
// VP9 SVC (one stream carrying the spatial layers): the selector's target is
// a spatial layer; higher ones are dropped without a sequence gap.
// Audio: one layer, no selector; Opus and RED payloads pass unchanged, only
// SSRC, sequence number and timestamp are rewritten.
// E2EE: nothing here depends on the frame being in the clear. The VP8 payload
// descriptor is outside the encrypted frame (PictureID/TL0PICIDX rewriting
// still applies) and livekit-client leaves the first 10 bytes of a keyframe
// (3 of a delta frame) in the clear, so the P bit is readable.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "media/rtp.hpp"
#include "sfu/codec.hpp"
#include "sfu/layer_selector.hpp"
#include "sfu/rtp_munger.hpp"

namespace atrium::sfu {

// What every down track needs from a received packet, parsed once by the
// published track and shared by all its subscribers (not once per copy).
struct PacketInfo {
  bool keyframe = false;
  std::optional<Vp8Descriptor> vp8;  // VP8 with a payload
  std::optional<Vp9Descriptor> vp9;  // VP9 with a payload
};
// nullopt for a malformed payload (drop and count it).
std::optional<PacketInfo> describe_packet(Codec codec, const media::RtpView& packet);

struct DownTrackConfig {
  uint32_t ssrc = 0;  // the SSRC this subscriber sees
  uint32_t clock_rate = 90000;
  Codec codec = Codec::kVp8;
  LayerSelector::Config selector{};
  size_t sequencer_capacity = RtpMunger::kDefaultSequencerCapacity;
};

// A packet to resend: the publisher's `layer` stream at `source_sequence`,
// to go out again as `output_sequence` (see DownTrack::rewrite_retransmission).
struct Retransmission {
  int layer = 0;
  uint16_t source_sequence = 0;
  uint16_t output_sequence = 0;
  bool operator==(const Retransmission&) const = default;
};

struct DownTrackStats {
  uint64_t forwarded = 0;
  uint64_t dropped = 0;  // not selected, paused, padding, malformed or too large
  uint64_t switches = 0;
  uint64_t keyframe_requests = 0;
};

class DownTrack {
 public:
  // Called with a source layer when the publisher should send a keyframe on
  // it (already throttled). Set once; never called for audio.
  using KeyframeRequester = std::function<void(int layer)>;

  DownTrack(const DownTrackConfig& config, KeyframeRequester request_keyframe);

  bool is_audio() const { return codec_ == Codec::kOpus || codec_ == Codec::kRed; }

  // Subscribe: asks for a keyframe at once so the picture starts quickly.
  // Setters before it only configure; forward() starts implicitly.
  void start(Clock::time_point now);

  // Rewrites `packet` (from the publisher's stream `layer`) into `out`.
  // Returns the size to send, or nullopt to drop.
  std::optional<size_t> forward(const media::RtpView& packet, int layer, const PacketInfo& info,
                                std::span<uint8_t> out, Clock::time_point now);
  // The same, describing the packet itself (tests, single subscriber).
  std::optional<size_t> forward(const media::RtpView& packet, int layer, std::span<uint8_t> out,
                                Clock::time_point now);

  // The source packets behind a subscriber's NACK; numbers no longer known
  // are left out (the receiver will ask for a keyframe if it must).
  std::vector<Retransmission> on_nack(std::span<const uint16_t> output_sequences) const;
  // Rewrites the publisher's stored packet `source` into `out` as it was first
  // sent under `output_sequence`. nullopt when it no longer matches.
  std::optional<size_t> rewrite_retransmission(const media::RtpView& source,
                                               uint16_t output_sequence,
                                               std::span<uint8_t> out) const;

  // Publisher-side layer liveness and bitrate (video).
  void set_layer(int layer, bool active, uint64_t bitrate_bps, Clock::time_point now);
  // UpdateTrackSettings: the cap from the rendered size or quality; -1 = disabled.
  void set_max_layer(int layer, Clock::time_point now);
  // REMB or transport-cc estimate for this subscriber's share, bit/s.
  void set_bandwidth(uint64_t bps, Clock::time_point now);
  void pause();
  void resume(Clock::time_point now);
  // RED track, subscriber without RED: send only each packet's primary block.
  void set_red_primary_only(bool on) { red_primary_only_ = on; }
  // Timer: retries an unanswered keyframe request (throttled by the selector).
  void tick(Clock::time_point now);

  bool paused() const { return is_audio() ? paused_ : selector_.paused(); }
  const LayerSelector& selector() const { return selector_; }
  const RtpMunger& munger() const { return munger_; }
  const DownTrackStats& stats() const { return stats_; }

 private:
  void request(int layer);
  std::optional<size_t> forward_svc(const media::RtpView& packet, const Vp9Descriptor& vp9,
                                    std::span<uint8_t> out, Clock::time_point now);
  void request_svc_keyframe(Clock::time_point now);

  Codec codec_;
  KeyframeRequester request_keyframe_;
  LayerSelector selector_;
  RtpMunger munger_;
  bool started_ = false;
  bool paused_ = false;  // audio only; video pauses through the selector
  bool red_primary_only_ = false;
  // VP9 SVC: one stream whose spatial layers the selector's target picks
  // (see forward_svc). Set by the first packet with layer indices.
  bool svc_ = false;
  int svc_layer_ = -1;  // highest spatial layer forwarded; -1: waiting for a key picture
  Clock::time_point svc_last_request_{};
  DownTrackStats stats_;
};

}  // namespace atrium::sfu
