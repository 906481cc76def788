#include "sfu/codec.hpp"

namespace atrium::sfu {

std::optional<Vp8Descriptor> parse_vp8(std::span<const uint8_t> p) {
  if (p.empty()) return std::nullopt;
  Vp8Descriptor d;
  size_t i = 0;
  const uint8_t b0 = p[i++];
  d.non_reference = (b0 & 0x20) != 0;
  d.start_of_partition = (b0 & 0x10) != 0;
  d.partition_id = b0 & 0x07;
  if (b0 & 0x80) {  // X: extension byte follows
    if (i >= p.size()) return std::nullopt;
    const uint8_t x = p[i++];
    d.has_picture_id = (x & 0x80) != 0;
    d.has_tl0_pic_idx = (x & 0x40) != 0;
    d.has_tid = (x & 0x20) != 0;
    d.has_key_idx = (x & 0x10) != 0;
    if (d.has_picture_id) {
      if (i >= p.size()) return std::nullopt;
      d.picture_id_offset = static_cast<uint8_t>(i);
      if (p[i] & 0x80) {
        if (i + 1 >= p.size()) return std::nullopt;
        d.picture_id_15bit = true;
        d.picture_id = static_cast<uint16_t>(((p[i] & 0x7F) << 8) | p[i + 1]);
        i += 2;
      } else {
        d.picture_id = p[i] & 0x7F;
        i += 1;
      }
    }
    if (d.has_tl0_pic_idx) {
      if (i >= p.size()) return std::nullopt;
      d.tl0_pic_idx_offset = static_cast<uint8_t>(i);
      d.tl0_pic_idx = p[i++];
    }
    if (d.has_tid || d.has_key_idx) {  // one shared byte: TID|Y|KEYIDX
      if (i >= p.size()) return std::nullopt;
      const uint8_t t = p[i++];
      if (d.has_tid) {
        d.tid = t >> 6;
        d.layer_sync = (t & 0x20) != 0;
      }
      if (d.has_key_idx) d.key_idx = t & 0x1F;
    }
  }
  d.size = static_cast<uint8_t>(i);
  // The P bit (inverse key frame flag) is bit 0 of the first payload header byte,
  // present only at the start of partition 0.
  d.keyframe = d.start_of_partition && d.partition_id == 0 && i < p.size() && (p[i] & 0x01) == 0;
  return d;
}

std::optional<Vp9Descriptor> parse_vp9(std::span<const uint8_t> p) {
  if (p.empty()) return std::nullopt;
  Vp9Descriptor d;
  size_t i = 0;
  const uint8_t b0 = p[i++];
  d.has_picture_id = (b0 & 0x80) != 0;
  d.inter_picture_predicted = (b0 & 0x40) != 0;
  d.has_layer_indices = (b0 & 0x20) != 0;
  d.flexible = (b0 & 0x10) != 0;
  d.begin_of_frame = (b0 & 0x08) != 0;
  d.end_of_frame = (b0 & 0x04) != 0;
  d.has_scalability_structure = (b0 & 0x02) != 0;
  if (d.has_picture_id) {
    if (i >= p.size()) return std::nullopt;
    if (p[i] & 0x80) {
      if (i + 1 >= p.size()) return std::nullopt;
      d.picture_id_15bit = true;
      d.picture_id = static_cast<uint16_t>(((p[i] & 0x7F) << 8) | p[i + 1]);
      i += 2;
    } else {
      d.picture_id = p[i++] & 0x7F;
    }
  }
  if (d.has_layer_indices) {
    if (i >= p.size()) return std::nullopt;
    const uint8_t l = p[i++];
    d.tid = l >> 5;
    d.switching_up = (l & 0x10) != 0;
    d.sid = (l >> 1) & 0x07;
    d.inter_layer_dependency = (l & 0x01) != 0;
    if (!d.flexible) {
      if (i >= p.size()) return std::nullopt;
      d.has_tl0_pic_idx = true;
      d.tl0_pic_idx = p[i++];
    }
  }
  if (d.flexible && d.inter_picture_predicted) {
    // Up to three reference P_DIFF bytes, each with an N (more follow) bit.
    for (int n = 0;; ++n) {
      if (n == 3 || i >= p.size()) return std::nullopt;
      const bool more = (p[i++] & 0x01) != 0;
      if (!more) break;
    }
  }
  if (d.has_scalability_structure) {
    if (i >= p.size()) return std::nullopt;
    const uint8_t ss = p[i++];
    const size_t spatial_layers = (ss >> 5) + 1;
    const bool has_resolution = (ss & 0x10) != 0;
    const bool has_groups = (ss & 0x08) != 0;
    if (has_resolution) i += 4 * spatial_layers;
    if (has_groups) {
      if (i >= p.size()) return std::nullopt;
      const size_t groups = p[i++];
      for (size_t g = 0; g < groups; ++g) {
        if (i >= p.size()) return std::nullopt;
        const size_t refs = (p[i++] >> 2) & 0x03;
        i += refs;
      }
    }
    if (i > p.size()) return std::nullopt;
  }
  d.size = static_cast<uint16_t>(i);
  d.keyframe = !d.inter_picture_predicted && d.begin_of_frame && d.sid == 0;
  return d;
}

namespace {
constexpr uint8_t kNalIdr = 5;
constexpr uint8_t kNalSps = 7;
constexpr uint8_t kNalStapA = 24;
constexpr uint8_t kNalFuA = 28;
bool is_key_nal(uint8_t type) {
  return type == kNalIdr || type == kNalSps;
}
}  // namespace

std::optional<H264Info> parse_h264(std::span<const uint8_t> p) {
  if (p.empty()) return std::nullopt;
  H264Info info;
  info.nal_type = p[0] & 0x1F;
  if (info.nal_type >= 1 && info.nal_type <= 23) {
    info.start_of_frame = true;
    info.keyframe = is_key_nal(info.nal_type);
    return info;
  }
  if (info.nal_type == kNalStapA) {
    info.start_of_frame = true;
    size_t i = 1;
    if (i + 2 > p.size()) return std::nullopt;  // at least one unit
    while (i + 2 <= p.size()) {
      const size_t size = (size_t(p[i]) << 8) | p[i + 1];
      i += 2;
      if (size == 0 || i + size > p.size()) return std::nullopt;
      if (is_key_nal(p[i] & 0x1F)) info.keyframe = true;
      i += size;
    }
    if (i != p.size()) return std::nullopt;  // a dangling byte
    return info;
  }
  if (info.nal_type == kNalFuA) {
    if (p.size() < 2) return std::nullopt;
    info.start_of_frame = (p[1] & 0x80) != 0;
    info.keyframe = info.start_of_frame && is_key_nal(p[1] & 0x1F);
    return info;
  }
  // STAP-B, MTAP, FU-B (not used with packetization-mode 1): forward, never key.
  return info;
}

std::optional<RedPrimary> parse_red_primary(std::span<const uint8_t> payload) {
  // Headers: 4 bytes per redundant block (F=1, PT, timestamp offset, 10-bit
  // length), then 1 byte for the primary (F=0, PT); the data follow in order.
  size_t pos = 0;
  size_t redundant_bytes = 0;
  while (true) {
    if (pos >= payload.size()) return std::nullopt;
    const uint8_t first = payload[pos];
    if ((first & 0x80) == 0) {
      RedPrimary primary;
      primary.payload_type = first & 0x7F;
      const size_t data = pos + 1 + redundant_bytes;
      if (data > payload.size()) return std::nullopt;
      primary.offset = static_cast<uint16_t>(data);
      primary.size = static_cast<uint16_t>(payload.size() - data);
      return primary;
    }
    if (pos + 4 > payload.size()) return std::nullopt;
    redundant_bytes += ((payload[pos + 2] & 0x03) << 8) | payload[pos + 3];
    pos += 4;
  }
}

std::optional<FrameInfo> inspect(Codec codec, std::span<const uint8_t> payload) {
  FrameInfo info;
  switch (codec) {
    case Codec::kVp8: {
      auto d = parse_vp8(payload);
      if (!d) return std::nullopt;
      info.keyframe = d->keyframe;
      info.start_of_frame = d->start_of_partition && d->partition_id == 0;
      if (d->has_tid) info.temporal_id = d->tid;
      return info;
    }
    case Codec::kVp9: {
      auto d = parse_vp9(payload);
      if (!d) return std::nullopt;
      info.keyframe = d->keyframe;
      info.start_of_frame = d->begin_of_frame;
      if (d->has_layer_indices) {
        info.temporal_id = d->tid;
        info.spatial_id = d->sid;
      }
      return info;
    }
    case Codec::kH264: {
      auto h = parse_h264(payload);
      if (!h) return std::nullopt;
      info.keyframe = h->keyframe;
      info.start_of_frame = h->start_of_frame;
      return info;
    }
    case Codec::kOpus:
    case Codec::kRed:
    case Codec::kOther:
      // Audio frames are independent; for an unknown video codec we cannot see
      // keyframes, and forwarding (the receiver will PLI) beats never starting.
      info.keyframe = true;
      return info;
  }
  return std::nullopt;
}

}  // namespace atrium::sfu
