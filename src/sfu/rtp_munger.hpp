#pragma once
// Per-subscriber RTP rewriting: packets from several source streams (simulcast
// layers, each with its own SSRC, sequence and timestamp bases) leave as one
// continuous stream: one SSRC, sequence numbers without switch gaps (real loss
// gaps are kept so the receiver can NACK), timestamps continuous across a
// switch, VP8 PictureID / TL0PICIDX continuous. A sequencer remembers, per
// output sequence number, the source packet and the values written, so NACKs
// map back and a retransmission is rewritten byte-identically.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "media/rtp.hpp"
#include "sfu/codec.hpp"

namespace atrium::sfu {

using Clock = std::chrono::steady_clock;

enum class DropReason : uint8_t {
  kNone,
  kPadding,       // in-order padding-only packet: dropped without a gap
  kBeforeSwitch,  // older than the first packet of the current segment
  kTooOld,        // reordered beyond what the offset history covers
};

struct MungeResult {
  DropReason drop = DropReason::kNone;
  bool forwarded() const { return drop == DropReason::kNone; }
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
  bool switched = false;  // this packet started a new segment
};

class RtpMunger {
 public:
  // 512 entries cover ~5 s of a 100 packet/s stream: longer than any useful NACK.
  // The ring (16 bytes an entry) is taken with the first forwarded packet: a
  // subscription to a track that sends nothing (muted, paused) costs nothing.
  static constexpr size_t kDefaultSequencerCapacity = 512;

  RtpMunger(uint32_t ssrc, uint32_t clock_rate,
            size_t sequencer_capacity = kDefaultSequencerCapacity);

  // Rewrites `packet` (the caller's copy) in place. `layer` names the source
  // stream; a packet whose layer or SSRC differs from the current one starts a
  // new segment, so the caller passes a new layer only from a keyframe on.
  // `vp8` is the packet's parsed descriptor, nullptr for other codecs.
  MungeResult munge(media::MutableRtpView& packet, int layer, const Vp8Descriptor* vp8,
                    Clock::time_point arrival);

  // The caller drops `packet` on purpose (a VP9 spatial layer above the
  // subscriber's): if it is the newest of the current segment, its number is
  // closed so the receiver sees no gap. Older packets need nothing.
  void skip(const media::RtpView& packet, int layer);

  // The next packet starts a new segment even on the same layer (resume after
  // a pause: the skipped packets must not show up as loss).
  void restart() { need_segment_ = true; }

  struct SourceRef {
    int layer = 0;
    uint16_t sequence_number = 0;
  };
  // The source packet behind an output sequence number, if still remembered.
  std::optional<SourceRef> lookup(uint16_t output_sequence_number) const;
  // Rewrites a copy of the source packet `lookup` named exactly as it was first
  // sent. False when the number is no longer remembered.
  bool rewrite_retransmission(media::MutableRtpView& packet, uint16_t output_sequence_number,
                              const Vp8Descriptor* vp8) const;

  uint32_t ssrc() const { return ssrc_; }
  int layer() const { return layer_; }
  bool started() const { return started_; }
  // The current segment, for sender reports: output timestamp = source
  // timestamp + timestamp_offset on the source stream `source_ssrc`.
  struct Segment {
    uint32_t source_ssrc = 0;
    uint32_t timestamp_offset = 0;
  };
  std::optional<Segment> segment() const {
    if (!started_) return std::nullopt;
    return Segment{source_ssrc_, timestamp_offset_};
  }

 private:
  struct SequencerEntry {
    uint32_t output = 0;  // the extended output sequence number's low 32 bits
    uint32_t timestamp = 0;
    uint16_t source_sequence = 0;
    uint16_t picture_id = 0;
    uint8_t tl0_pic_idx = 0;
    uint8_t layer = 0;
    bool used : 1 = false;
    bool has_picture_id : 1 = false;
    bool has_tl0_pic_idx : 1 = false;
    bool marker : 1 = false;  // as sent: the forwarder may set it (VP9 SVC)
    bool holds(int64_t ext) const { return used && output == static_cast<uint32_t>(ext); }
  };
  static_assert(sizeof(SequencerEntry) == 16);
  static constexpr size_t kDropHistory = 16;

  void start_segment(const media::MutableRtpView& packet, int layer, const Vp8Descriptor* vp8,
                     Clock::time_point arrival);
  int64_t extend_source(uint16_t seq) const;
  // The output number for extended source `ext`, or -1 when unknown.
  int64_t output_for(int64_t ext) const;
  uint16_t map_picture_id(const Vp8Descriptor& vp8, bool newest);

  uint32_t ssrc_;
  uint32_t clock_rate_;
  bool started_ = false;
  bool need_segment_ = true;

  // The current segment: one source stream from one switch point on.
  int layer_ = -1;
  uint32_t source_ssrc_ = 0;
  int64_t segment_source_base_ = 0;
  int64_t segment_output_base_ = 0;
  int64_t source_highest_ = 0;
  uint32_t timestamp_offset_ = 0;
  // Padding packets dropped in this segment (ascending extended source numbers).
  std::array<int64_t, kDropHistory> drops_{};
  size_t drop_count_ = 0;

  // The output side, across segments.
  int64_t output_highest_ = -1;
  uint32_t last_timestamp_ = 0;
  Clock::time_point last_arrival_{};

  // VP8: source picture ids are unwrapped at their own width (7 or 15 bits).
  bool pid_valid_ = false;
  bool pid_15bit_ = false;
  int64_t source_pid_highest_ = 0;
  int64_t pid_offset_ = 0;
  bool have_output_pid_ = false;
  uint16_t last_output_pid_ = 0;  // 15-bit space
  bool tl0_valid_ = false;
  uint8_t tl0_offset_ = 0;
  bool have_output_tl0_ = false;
  uint8_t last_output_tl0_ = 0;

  size_t sequencer_mask_;
  std::vector<SequencerEntry> sequencer_;  // empty until the first forwarded packet
};

// Writes a picture id into a VP8 descriptor keeping the packet's 7/15-bit form.
void write_vp8_picture_id(std::span<uint8_t> payload, const Vp8Descriptor& vp8, uint16_t id);

}  // namespace atrium::sfu
