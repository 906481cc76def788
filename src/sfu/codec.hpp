#pragma once
// Keyframe and layer information from RTP payloads, for the forwarding
// decision: VP8 (RFC 7741), VP9 (RFC 9628), H.264 (RFC 6184), Opus. Every
// parser is bounds-checked over the span and returns nullopt on a malformed
// payload; none allocates or throws.
//
// E2EE (livekit-client FrameCryptor) keeps the payload descriptors and the
// first payload bytes in the clear (VP8: 10 bytes of a keyframe, 3 of a delta
// frame; H.264: NAL headers), so these parsers work on encrypted tracks too.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace atrium::sfu {

enum class Codec : uint8_t { kOpus, kRed, kVp8, kVp9, kH264, kOther };

// RFC 7741 4.2. Offsets are from the start of the RTP payload so the munger
// can rewrite the fields in place.
struct Vp8Descriptor {
  bool start_of_partition = false;  // S
  uint8_t partition_id = 0;         // PID
  bool non_reference = false;       // N
  bool has_picture_id = false;      // I
  bool picture_id_15bit = false;    // M: the 15-bit form
  uint16_t picture_id = 0;
  uint8_t picture_id_offset = 0;
  bool has_tl0_pic_idx = false;  // L
  uint8_t tl0_pic_idx = 0;
  uint8_t tl0_pic_idx_offset = 0;
  bool has_tid = false;  // T
  uint8_t tid = 0;
  bool layer_sync = false;   // Y
  bool has_key_idx = false;  // K
  uint8_t key_idx = 0;
  uint8_t size = 0;  // descriptor length; the VP8 payload starts here
  // S, PID 0 and the P bit of the VP8 payload header clear (RFC 7741 4.3).
  bool keyframe = false;
};
std::optional<Vp8Descriptor> parse_vp8(std::span<const uint8_t> payload);

// RFC 9628 4.2 (flexible and non-flexible modes).
struct Vp9Descriptor {
  bool inter_picture_predicted = false;    // P
  bool flexible = false;                   // F
  bool begin_of_frame = false;             // B
  bool end_of_frame = false;               // E
  bool has_scalability_structure = false;  // V
  bool has_picture_id = false;
  bool picture_id_15bit = false;
  uint16_t picture_id = 0;
  bool has_layer_indices = false;  // L
  uint8_t tid = 0;
  bool switching_up = false;  // U
  uint8_t sid = 0;
  bool inter_layer_dependency = false;  // D
  bool has_tl0_pic_idx = false;         // non-flexible mode with L
  uint8_t tl0_pic_idx = 0;
  uint16_t size = 0;
  // Not inter-picture predicted, beginning of a frame, spatial layer 0.
  bool keyframe = false;
};
std::optional<Vp9Descriptor> parse_vp9(std::span<const uint8_t> payload);

// RFC 6184 5.4: single NAL unit, STAP-A and FU-A.
struct H264Info {
  uint8_t nal_type = 0;         // of the packet (24 STAP-A, 28 FU-A) or the single NAL
  bool start_of_frame = false;  // single NAL, STAP-A, or FU-A with S set
  // An IDR slice (5) or an SPS (7) in a single NAL, anywhere in a STAP-A, or
  // in the first fragment of an FU-A.
  bool keyframe = false;
};
std::optional<H264Info> parse_h264(std::span<const uint8_t> payload);

// RFC 2198 audio redundancy: where the primary (newest) block of a RED
// payload is. Subscribers that did not negotiate RED get just this block.
struct RedPrimary {
  uint8_t payload_type = 0;  // of the primary encoding (Opus)
  uint16_t offset = 0;       // from the start of the RED payload
  uint16_t size = 0;
};
std::optional<RedPrimary> parse_red_primary(std::span<const uint8_t> payload);

// What the forwarding decision needs from any codec.
struct FrameInfo {
  bool keyframe = false;
  bool start_of_frame = true;
  int spatial_id = -1;   // -1: not signalled
  int temporal_id = -1;  // -1: not signalled
};
// Opus, RED and unknown codecs are always "key": any packet is a valid start.
std::optional<FrameInfo> inspect(Codec codec, std::span<const uint8_t> payload);

}  // namespace atrium::sfu
