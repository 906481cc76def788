#include "sfu/rtp_munger.hpp"

#include <algorithm>
#include <bit>

namespace atrium::sfu {

namespace {
constexpr int64_t kFirstExtended = int64_t{1} << 16;  // keeps reordered packets non-negative
}  // namespace

void write_vp8_picture_id(std::span<uint8_t> payload, const Vp8Descriptor& vp8, uint16_t id) {
  uint8_t* p = payload.data() + vp8.picture_id_offset;
  if (vp8.picture_id_15bit) {
    p[0] = static_cast<uint8_t>(0x80 | ((id >> 8) & 0x7F));
    p[1] = static_cast<uint8_t>(id);
  } else {
    p[0] = static_cast<uint8_t>(id & 0x7F);
  }
}

RtpMunger::RtpMunger(uint32_t ssrc, uint32_t clock_rate, size_t sequencer_capacity)
    : ssrc_(ssrc),
      clock_rate_(clock_rate),
      sequencer_mask_(std::bit_ceil(std::max<size_t>(sequencer_capacity, 2)) - 1) {}

int64_t RtpMunger::extend_source(uint16_t seq) const {
  return source_highest_ +
         static_cast<int16_t>(static_cast<uint16_t>(seq - static_cast<uint16_t>(source_highest_)));
}

int64_t RtpMunger::output_for(int64_t ext) const {
  // Every dropped padding packet before `ext` pulls it one number down.
  size_t later = 0;
  if (ext <= source_highest_ && drop_count_ > 0) {
    const size_t held = std::min(drop_count_, kDropHistory);
    for (size_t i = 0; i < held; ++i) {
      if (drops_[i] > ext) ++later;
    }
    // All remembered drops are newer and older ones were forgotten: unknown.
    if (later == held && drop_count_ > kDropHistory) return -1;
  }
  const int64_t dropped_before = static_cast<int64_t>(drop_count_ - later);
  return segment_output_base_ + (ext - segment_source_base_) - dropped_before;
}

void RtpMunger::start_segment(const media::MutableRtpView& packet, int layer,
                              const Vp8Descriptor* /*vp8*/, Clock::time_point arrival) {
  const uint16_t seq = packet.sequence_number();
  uint32_t first_timestamp = packet.timestamp();
  if (started_) {
    // The new stream's timestamps are unrelated to the old one's: continue from
    // the last one sent plus the wall time since it arrived (at least one tick,
    // so the keyframe is never mistaken for part of the previous frame).
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::microseconds>(arrival - last_arrival_);
    int64_t ticks = elapsed.count() > 0 ? elapsed.count() * int64_t{clock_rate_} / 1'000'000 : 0;
    ticks = std::max<int64_t>(ticks, 1);
    first_timestamp = last_timestamp_ + static_cast<uint32_t>(ticks);
    segment_output_base_ = output_highest_ + 1;
  } else {
    // The first segment keeps the publisher's numbering: nothing to be continuous with.
    segment_output_base_ = kFirstExtended | seq;
  }
  timestamp_offset_ = first_timestamp - packet.timestamp();
  segment_source_base_ = kFirstExtended | seq;
  source_highest_ = segment_source_base_ - 1;
  drop_count_ = 0;
  layer_ = layer;
  source_ssrc_ = packet.ssrc();
  pid_valid_ = false;
  tl0_valid_ = false;
  need_segment_ = false;
}

uint16_t RtpMunger::map_picture_id(const Vp8Descriptor& vp8, bool newest) {
  const int64_t modulus = vp8.picture_id_15bit ? 0x8000 : 0x80;
  int64_t ext;
  if (!pid_valid_ || vp8.picture_id_15bit != pid_15bit_) {
    // First picture of the segment: the one after the last picture sent.
    pid_valid_ = true;
    pid_15bit_ = vp8.picture_id_15bit;
    ext = vp8.picture_id;
    source_pid_highest_ = ext;
    pid_offset_ = have_output_pid_ ? int64_t{last_output_pid_} + 1 - ext : 0;
  } else {
    int64_t delta = (vp8.picture_id - (source_pid_highest_ % modulus) + modulus) % modulus;
    if (delta >= modulus / 2) delta -= modulus;
    ext = source_pid_highest_ + delta;
    if (newest) source_pid_highest_ = std::max(source_pid_highest_, ext);
  }
  const auto out = static_cast<uint16_t>(((ext + pid_offset_) % 0x8000 + 0x8000) % 0x8000);
  if (newest) {
    last_output_pid_ = out;
    have_output_pid_ = true;
  }
  return out;
}

MungeResult RtpMunger::munge(media::MutableRtpView& packet, int layer, const Vp8Descriptor* vp8,
                             Clock::time_point arrival) {
  MungeResult result;
  const bool padding_only = packet.payload().empty();
  if (need_segment_ || layer != layer_ || packet.ssrc() != source_ssrc_) {
    // Padding cannot start a segment: it carries no frame to anchor the offsets.
    if (padding_only) {
      result.drop = DropReason::kPadding;
      return result;
    }
    result.switched = started_;
    start_segment(packet, layer, vp8, arrival);
  }
  const int64_t ext = extend_source(packet.sequence_number());
  if (ext < segment_source_base_) {
    result.drop = DropReason::kBeforeSwitch;
    return result;
  }
  const bool newest = ext > source_highest_;
  if (padding_only && newest) {
    // Drop in-order padding (probes are ours to make) and close its number.
    drops_[drop_count_ % kDropHistory] = ext;
    ++drop_count_;
    source_highest_ = ext;
    result.drop = DropReason::kPadding;
    return result;
  }
  const int64_t out = output_for(ext);
  if (out < 0) {
    result.drop = DropReason::kTooOld;
    return result;
  }
  if (newest) source_highest_ = ext;

  result.sequence_number = static_cast<uint16_t>(out);
  result.timestamp = packet.timestamp() + timestamp_offset_;
  packet.set_ssrc(ssrc_);
  packet.set_sequence_number(result.sequence_number);
  packet.set_timestamp(result.timestamp);

  if (sequencer_.empty()) sequencer_.resize(sequencer_mask_ + 1);
  SequencerEntry& entry = sequencer_[static_cast<size_t>(out) & sequencer_mask_];
  entry.used = true;
  entry.output = static_cast<uint32_t>(out);
  entry.timestamp = result.timestamp;
  entry.source_sequence = static_cast<uint16_t>(ext);
  entry.layer = static_cast<uint8_t>(layer);
  entry.has_picture_id = false;
  entry.has_tl0_pic_idx = false;
  entry.marker = packet.marker();
  if (vp8 != nullptr) {
    auto payload = packet.mutable_payload();
    if (vp8->has_picture_id) {
      entry.picture_id = map_picture_id(*vp8, newest);
      entry.has_picture_id = true;
      write_vp8_picture_id(payload, *vp8, entry.picture_id);
    }
    if (vp8->has_tl0_pic_idx) {
      if (!tl0_valid_) {
        tl0_valid_ = true;
        tl0_offset_ = have_output_tl0_
                          ? static_cast<uint8_t>(last_output_tl0_ + 1 - vp8->tl0_pic_idx)
                          : uint8_t{0};
      }
      entry.tl0_pic_idx = static_cast<uint8_t>(vp8->tl0_pic_idx + tl0_offset_);
      entry.has_tl0_pic_idx = true;
      payload[vp8->tl0_pic_idx_offset] = entry.tl0_pic_idx;
      if (newest) {
        last_output_tl0_ = entry.tl0_pic_idx;
        have_output_tl0_ = true;
      }
    }
  }
  if (out > output_highest_) {
    output_highest_ = out;
    last_timestamp_ = result.timestamp;
    last_arrival_ = arrival;
  }
  started_ = true;
  return result;
}

void RtpMunger::skip(const media::RtpView& packet, int layer) {
  // Before the first segment, or from another stream: the next segment
  // starts fresh and needs no record of it.
  if (need_segment_ || layer != layer_ || packet.ssrc() != source_ssrc_) return;
  const int64_t ext = extend_source(packet.sequence_number());
  if (ext <= source_highest_) return;
  drops_[drop_count_ % kDropHistory] = ext;
  ++drop_count_;
  source_highest_ = ext;
}

std::optional<RtpMunger::SourceRef> RtpMunger::lookup(uint16_t output_sequence_number) const {
  if (output_highest_ < 0 || sequencer_.empty()) return std::nullopt;
  const int64_t ext =
      output_highest_ + static_cast<int16_t>(static_cast<uint16_t>(
                            output_sequence_number - static_cast<uint16_t>(output_highest_)));
  const SequencerEntry& entry = sequencer_[static_cast<size_t>(ext) & sequencer_mask_];
  if (!entry.holds(ext)) return std::nullopt;
  return SourceRef{entry.layer, entry.source_sequence};
}

bool RtpMunger::rewrite_retransmission(media::MutableRtpView& packet,
                                       uint16_t output_sequence_number,
                                       const Vp8Descriptor* vp8) const {
  if (output_highest_ < 0 || sequencer_.empty()) return false;
  const int64_t ext =
      output_highest_ + static_cast<int16_t>(static_cast<uint16_t>(
                            output_sequence_number - static_cast<uint16_t>(output_highest_)));
  const SequencerEntry& entry = sequencer_[static_cast<size_t>(ext) & sequencer_mask_];
  if (!entry.holds(ext) || entry.source_sequence != packet.sequence_number()) return false;
  packet.set_ssrc(ssrc_);
  packet.set_sequence_number(output_sequence_number);
  packet.set_timestamp(entry.timestamp);
  packet.set_marker(entry.marker);
  if (vp8 != nullptr) {
    auto payload = packet.mutable_payload();
    if (entry.has_picture_id && vp8->has_picture_id) {
      write_vp8_picture_id(payload, *vp8, entry.picture_id);
    }
    if (entry.has_tl0_pic_idx && vp8->has_tl0_pic_idx) {
      payload[vp8->tl0_pic_idx_offset] = entry.tl0_pic_idx;
    }
  }
  return true;
}

}  // namespace atrium::sfu
