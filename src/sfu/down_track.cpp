#include "sfu/down_track.hpp"

#include <cstring>

namespace atrium::sfu {

DownTrack::DownTrack(const DownTrackConfig& config, KeyframeRequester request_keyframe)
    : codec_(config.codec),
      request_keyframe_(std::move(request_keyframe)),
      selector_(config.selector),
      munger_(config.ssrc, config.clock_rate, config.sequencer_capacity) {}

void DownTrack::request(int layer) {
  if (layer < 0) return;
  ++stats_.keyframe_requests;
  if (request_keyframe_) request_keyframe_(layer);
}

void DownTrack::start(Clock::time_point now) {
  started_ = true;
  if (!is_audio()) request(selector_.poll(now));
}

std::optional<PacketInfo> describe_packet(Codec codec, const media::RtpView& packet) {
  PacketInfo info;
  const auto payload = packet.payload();
  if (payload.empty()) return info;  // padding: never a keyframe
  if (codec == Codec::kVp8) {
    info.vp8 = parse_vp8(payload);
    if (!info.vp8) return std::nullopt;
    info.keyframe = info.vp8->keyframe;
    return info;
  }
  if (codec == Codec::kVp9) {
    info.vp9 = parse_vp9(payload);
    if (!info.vp9) return std::nullopt;
    info.keyframe = info.vp9->keyframe;
    return info;
  }
  auto frame = inspect(codec, payload);
  if (!frame) return std::nullopt;
  info.keyframe = frame->keyframe;
  return info;
}

std::optional<size_t> DownTrack::forward(const media::RtpView& packet, int layer,
                                         std::span<uint8_t> out, Clock::time_point now) {
  auto info = describe_packet(codec_, packet);
  if (!info) {
    ++stats_.dropped;
    return std::nullopt;
  }
  return forward(packet, layer, *info, out, now);
}

std::optional<size_t> DownTrack::forward(const media::RtpView& packet, int layer,
                                         const PacketInfo& info, std::span<uint8_t> out,
                                         Clock::time_point now) {
  const auto bytes = packet.bytes();
  if (paused() || bytes.size() > out.size()) {
    ++stats_.dropped;
    return std::nullopt;
  }
  if (!started_) start(now);
  if (info.vp9 && info.vp9->has_layer_indices && codec_ == Codec::kVp9) {
    svc_ = true;
    return forward_svc(packet, *info.vp9, out, now);
  }
  if (!is_audio()) {
    const SelectorDecision decision = selector_.on_packet(layer, info.keyframe, now);
    request(decision.request_keyframe_layer);
    if (decision.switched) {
      ++stats_.switches;
      // Also on a resume of the same layer: the skipped packets are not loss.
      munger_.restart();
    }
    if (!decision.forward) {
      ++stats_.dropped;
      return std::nullopt;
    }
  }
  std::memcpy(out.data(), bytes.data(), bytes.size());
  auto view = media::MutableRtpView::parse(out.first(bytes.size()));
  if (!view) {
    ++stats_.dropped;
    return std::nullopt;
  }
  if (!munger_.munge(*view, layer, info.vp8 ? &*info.vp8 : nullptr, now).forwarded()) {
    ++stats_.dropped;
    return std::nullopt;
  }
  size_t size = bytes.size();
  if (red_primary_only_) {
    // The sequence was munged already, so a bad RED payload leaves a gap the
    // receiver sees as loss: it is one audio packet, and rare.
    auto primary = parse_red_primary(view->payload());
    if (!primary) {
      ++stats_.dropped;
      return std::nullopt;
    }
    auto payload = view->mutable_payload();
    const size_t header = static_cast<size_t>(payload.data() - out.data());
    std::memmove(payload.data(), payload.data() + primary->offset, primary->size);
    out[0] &= 0xDF;  // the padding went with the RED wrapper
    size = header + primary->size;
  }
  ++stats_.forwarded;
  return size;
}

// VP9 SVC. Up-switches wait for a key picture (every layer restarts there);
// down-switches happen at any picture start, since neither K-SVC nor full
// SVC makes a lower layer depend on a higher one. The last packet sent of a
// picture carries the marker bit, or the receiver never completes the frame.
std::optional<size_t> DownTrack::forward_svc(const media::RtpView& packet, const Vp9Descriptor& vp9,
                                             std::span<uint8_t> out, Clock::time_point now) {
  const int target = selector_.target();
  const int before = svc_layer_;
  if (vp9.begin_of_frame && vp9.sid == 0) {
    if (vp9.keyframe || (svc_layer_ >= 0 && target >= 0 && target < svc_layer_))
      svc_layer_ = target;
  }
  if (svc_layer_ != before) {
    if (before >= 0) ++stats_.switches;
    // Frames skipped while paused are not loss.
    if (before < 0) munger_.restart();
  }
  if (target > svc_layer_) request_svc_keyframe(now);
  if (svc_layer_ < 0 || vp9.sid > svc_layer_) {
    munger_.skip(packet, 0);
    ++stats_.dropped;
    return std::nullopt;
  }
  const auto bytes = packet.bytes();
  std::memcpy(out.data(), bytes.data(), bytes.size());
  auto view = media::MutableRtpView::parse(out.first(bytes.size()));
  if (!view) {
    ++stats_.dropped;
    return std::nullopt;
  }
  if (vp9.sid == svc_layer_ && vp9.end_of_frame) view->set_marker(true);
  if (!munger_.munge(*view, 0, nullptr, now).forwarded()) {
    ++stats_.dropped;
    return std::nullopt;
  }
  ++stats_.forwarded;
  return bytes.size();
}

void DownTrack::request_svc_keyframe(Clock::time_point now) {
  // The selector's throttle does not apply: its current layer stays unused.
  if (now - svc_last_request_ < std::chrono::milliseconds(500)) return;
  svc_last_request_ = now;
  request(0);
}

std::vector<Retransmission> DownTrack::on_nack(std::span<const uint16_t> output_sequences) const {
  std::vector<Retransmission> result;
  result.reserve(output_sequences.size());
  for (uint16_t seq : output_sequences) {
    if (auto source = munger_.lookup(seq)) {
      result.push_back({source->layer, source->sequence_number, seq});
    }
  }
  return result;
}

std::optional<size_t> DownTrack::rewrite_retransmission(const media::RtpView& source,
                                                        uint16_t output_sequence,
                                                        std::span<uint8_t> out) const {
  const auto bytes = source.bytes();
  if (bytes.size() > out.size()) return std::nullopt;
  std::memcpy(out.data(), bytes.data(), bytes.size());
  auto view = media::MutableRtpView::parse(out.first(bytes.size()));
  if (!view) return std::nullopt;
  std::optional<Vp8Descriptor> vp8;
  if (codec_ == Codec::kVp8) vp8 = parse_vp8(view->payload());
  if (!munger_.rewrite_retransmission(*view, output_sequence, vp8 ? &*vp8 : nullptr)) {
    return std::nullopt;
  }
  return bytes.size();
}

void DownTrack::set_layer(int layer, bool active, uint64_t bitrate_bps, Clock::time_point now) {
  selector_.set_layer(layer, active, bitrate_bps);
  tick(now);
}

void DownTrack::set_max_layer(int layer, Clock::time_point now) {
  selector_.set_max_layer(layer);
  tick(now);
}

void DownTrack::set_bandwidth(uint64_t bps, Clock::time_point now) {
  selector_.set_bandwidth(bps);
  tick(now);
}

void DownTrack::pause() {
  paused_ = true;
  if (!is_audio()) selector_.pause();
  svc_layer_ = -1;  // resume waits for a key picture
}

void DownTrack::resume(Clock::time_point now) {
  if (is_audio()) {
    if (paused_) munger_.restart();
    paused_ = false;
    return;
  }
  paused_ = false;
  selector_.resume();
  tick(now);
}

void DownTrack::tick(Clock::time_point now) {
  // Before start() (subscription being set up) nothing is asked for yet.
  if (!started_ || is_audio()) return;
  if (svc_) {
    if (!selector_.paused() && selector_.target() > svc_layer_) request_svc_keyframe(now);
    return;
  }
  request(selector_.poll(now));
}

}  // namespace atrium::sfu
