#pragma once
// Builders for the sfu tests: RTP packets and codec payloads as byte vectors.
#include <cstdint>
#include <optional>
#include <vector>

#include "media/byte_io.hpp"

namespace atrium::sfu::test {

inline std::vector<uint8_t> rtp_packet(uint16_t seq, uint32_t ts, uint32_t ssrc,
                                       const std::vector<uint8_t>& payload, uint8_t pt = 96,
                                       bool marker = false) {
  // Sized once and filled by index: GCC 12 flags insert() into a 12-byte vector
  // with a false -Warray-bounds.
  std::vector<uint8_t> p(12 + payload.size());
  p[0] = 0x80;
  p[1] = static_cast<uint8_t>((marker ? 0x80 : 0) | pt);
  media::write_u16(&p[2], seq);
  media::write_u32(&p[4], ts);
  media::write_u32(&p[8], ssrc);
  for (size_t i = 0; i < payload.size(); ++i)
    p[12 + i] = payload[i];
  return p;
}

// Only padding (P bit, `size` bytes, the last one the count), as probes are.
inline std::vector<uint8_t> padding_packet(uint16_t seq, uint32_t ts, uint32_t ssrc,
                                           uint8_t size = 200) {
  auto p = rtp_packet(seq, ts, ssrc, {});
  p[0] |= 0x20;
  p.resize(12 + size, 0);
  p.back() = size;
  return p;
}

struct Vp8Fields {
  bool keyframe = false;
  bool start = true;
  uint8_t partition = 0;
  std::optional<uint16_t> picture_id;
  bool picture_id_15bit = true;
  std::optional<uint8_t> tl0;
  std::optional<uint8_t> tid;
};

// An RFC 7741 descriptor followed by a VP8 payload header and some frame bytes.
inline std::vector<uint8_t> vp8_payload(const Vp8Fields& f) {
  std::vector<uint8_t> p;
  const bool extended = f.picture_id || f.tl0 || f.tid;
  p.push_back(
      static_cast<uint8_t>((extended ? 0x80 : 0) | (f.start ? 0x10 : 0) | (f.partition & 0x07)));
  if (extended) {
    p.push_back(
        static_cast<uint8_t>((f.picture_id ? 0x80 : 0) | (f.tl0 ? 0x40 : 0) | (f.tid ? 0x20 : 0)));
    if (f.picture_id) {
      if (f.picture_id_15bit) {
        p.push_back(static_cast<uint8_t>(0x80 | ((*f.picture_id >> 8) & 0x7F)));
        p.push_back(static_cast<uint8_t>(*f.picture_id));
      } else {
        p.push_back(static_cast<uint8_t>(*f.picture_id & 0x7F));
      }
    }
    if (f.tl0) p.push_back(*f.tl0);
    if (f.tid) p.push_back(static_cast<uint8_t>(*f.tid << 6));
  }
  if (f.keyframe) {
    // Frame tag with P=0 and show_frame, then the keyframe start code and 640x360.
    p.insert(p.end(), {0x50, 0x2a, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01});
  } else {
    p.insert(p.end(), {0x31, 0x12, 0x00});  // P=1: interframe
  }
  p.insert(p.end(), {0xde, 0xad, 0xbe, 0xef});
  return p;
}

struct Vp9Fields {
  uint16_t picture_id = 0;  // 15-bit form
  uint8_t sid = 0;
  uint8_t tid = 0;
  bool predicted = true;     // P: a delta picture (clear in every layer of a key picture)
  bool begin = true;         // B
  bool end = true;           // E
  bool inter_layer = false;  // D
  uint8_t tl0 = 0;
};

// An RFC 9628 non-flexible descriptor with layer indices, then frame bytes.
inline std::vector<uint8_t> vp9_payload(const Vp9Fields& f) {
  std::vector<uint8_t> p;
  p.push_back(static_cast<uint8_t>(0x80 | (f.predicted ? 0x40 : 0) | 0x20 | (f.begin ? 0x08 : 0) |
                                   (f.end ? 0x04 : 0)));
  p.push_back(static_cast<uint8_t>(0x80 | ((f.picture_id >> 8) & 0x7F)));
  p.push_back(static_cast<uint8_t>(f.picture_id));
  p.push_back(static_cast<uint8_t>((f.tid << 5) | (f.sid << 1) | (f.inter_layer ? 1 : 0)));
  p.push_back(f.tl0);
  p.insert(p.end(), {0x12, 0x34, 0x56, f.sid});
  return p;
}

}  // namespace atrium::sfu::test
