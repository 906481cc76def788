#include "media/rtp.hpp"

#include <algorithm>
#include <cstring>

#include "media/byte_io.hpp"

namespace atrium::media {
namespace {

constexpr size_t kFixedHeaderSize = 12;
constexpr uint16_t kOneByteProfile = 0xBEDE;

RtpExtensionProfile profile_of(uint16_t id) {
  if (id == kOneByteProfile) return RtpExtensionProfile::kOneByte;
  if ((id & 0xFFF0) == 0x1000) return RtpExtensionProfile::kTwoByte;  // 0x100 + appbits
  return RtpExtensionProfile::kOther;
}

}  // namespace

std::optional<RtpExtensionElement> RtpExtensionIterator::next() {
  while (offset_ < block_.size()) {
    const uint8_t first = block_[offset_];
    if (profile_ == RtpExtensionProfile::kOneByte) {
      if (first == 0) {  // padding
        ++offset_;
        continue;
      }
      const uint8_t id = first >> 4;
      if (id == 15) break;  // RFC 8285 4.2: stop processing
      const size_t length = (first & 0x0F) + 1u;
      if (length > block_.size() - offset_ - 1) break;
      RtpExtensionElement element{id, block_.subspan(offset_ + 1, length)};
      offset_ += 1 + length;
      return element;
    }
    if (profile_ == RtpExtensionProfile::kTwoByte) {
      if (first == 0) {
        ++offset_;
        continue;
      }
      if (block_.size() - offset_ < 2) break;
      const size_t length = block_[offset_ + 1];
      if (length > block_.size() - offset_ - 2) break;
      RtpExtensionElement element{first, block_.subspan(offset_ + 2, length)};
      offset_ += 2 + length;
      return element;
    }
    break;
  }
  offset_ = block_.size();
  return std::nullopt;
}

std::optional<RtpView> RtpView::parse(std::span<const uint8_t> packet, RtpParseError* error) {
  auto fail = [error](RtpParseError e) -> std::optional<RtpView> {
    if (error) *error = e;
    return std::nullopt;
  };
  if (packet.size() < kFixedHeaderSize) return fail(RtpParseError::kTooShort);
  RtpView view(packet);
  if (view.version() != 2) return fail(RtpParseError::kBadVersion);

  size_t offset = kFixedHeaderSize + 4u * view.csrc_count();
  if (offset > packet.size()) return fail(RtpParseError::kCsrcOverflow);

  if (view.has_extension()) {
    if (packet.size() - offset < 4) return fail(RtpParseError::kExtensionOverflow);
    const uint16_t profile_id = read_u16(packet.data() + offset);
    const size_t block_size = size_t{read_u16(packet.data() + offset + 2)} * 4;
    offset += 4;
    if (block_size > packet.size() - offset) return fail(RtpParseError::kExtensionOverflow);
    view.extension_profile_id_ = profile_id;
    view.extension_profile_ = profile_of(profile_id);
    view.extension_offset_ = static_cast<uint16_t>(offset);  // at most 12 + 60 + 4
    view.extension_size_ = static_cast<uint32_t>(block_size);
    offset += block_size;
  }

  size_t padding = 0;
  if (view.has_padding()) {
    // The count includes itself, so zero is malformed; it may not reach into the header.
    padding = packet.back();
    if (padding == 0 || padding > packet.size() - offset) return fail(RtpParseError::kBadPadding);
  }
  view.padding_size_ = static_cast<uint8_t>(padding);
  view.payload_offset_ = offset;
  view.payload_size_ = packet.size() - offset - padding;
  if (error) *error = RtpParseError::kNone;
  return view;
}

uint16_t RtpView::sequence_number() const {
  return read_u16(data_.data() + 2);
}
uint32_t RtpView::timestamp() const {
  return read_u32(data_.data() + 4);
}
uint32_t RtpView::ssrc() const {
  return read_u32(data_.data() + 8);
}
uint32_t RtpView::csrc(size_t index) const {
  return read_u32(data_.data() + kFixedHeaderSize + 4 * index);
}

std::optional<std::span<const uint8_t>> RtpView::find_extension(uint8_t id) const {
  auto it = extensions();
  while (auto element = it.next()) {
    if (element->id == id) return element->value;
  }
  return std::nullopt;
}

std::optional<MutableRtpView> MutableRtpView::parse(std::span<uint8_t> packet,
                                                    RtpParseError* error) {
  auto view = RtpView::parse(packet, error);
  if (!view) return std::nullopt;
  return MutableRtpView(*view);
}

void MutableRtpView::set_marker(bool marker) {
  uint8_t* p = mutable_data();
  p[1] = static_cast<uint8_t>((p[1] & 0x7F) | (marker ? 0x80 : 0));
}

void MutableRtpView::set_payload_type(uint8_t payload_type) {
  uint8_t* p = mutable_data();
  p[1] = static_cast<uint8_t>((p[1] & 0x80) | (payload_type & 0x7F));
}

void MutableRtpView::set_sequence_number(uint16_t sequence_number) {
  write_u16(mutable_data() + 2, sequence_number);
}
void MutableRtpView::set_timestamp(uint32_t timestamp) {
  write_u32(mutable_data() + 4, timestamp);
}
void MutableRtpView::set_ssrc(uint32_t ssrc) {
  write_u32(mutable_data() + 8, ssrc);
}

bool MutableRtpView::set_one_byte_extension(uint8_t id, std::span<const uint8_t> value) {
  if (extension_profile_ != RtpExtensionProfile::kOneByte) return false;
  auto it = extensions();
  while (auto element = it.next()) {
    if (element->id != id) continue;
    if (element->value.size() != value.size()) return false;
    std::memcpy(const_cast<uint8_t*>(element->value.data()), value.data(), value.size());
    return true;
  }
  return false;
}

std::span<uint8_t> MutableRtpView::mutable_payload() {
  return std::span<uint8_t>(mutable_data() + payload_offset_, payload_size_);
}

std::optional<RtxPayload> decapsulate_rtx(const RtpView& rtx_packet) {
  auto payload = rtx_packet.payload();
  if (payload.size() < 2) return std::nullopt;
  return RtxPayload{read_u16(payload.data()), payload.subspan(2)};
}

std::optional<size_t> restore_rtx_in_place(std::span<uint8_t> packet, uint32_t original_ssrc,
                                           uint8_t original_payload_type) {
  auto view = MutableRtpView::parse(packet);
  if (!view) return std::nullopt;
  auto rtx = decapsulate_rtx(*view);
  if (!rtx) return std::nullopt;
  view->set_ssrc(original_ssrc);
  view->set_payload_type(original_payload_type);
  view->set_sequence_number(rtx->original_sequence_number);
  packet[0] &= static_cast<uint8_t>(~0x20);  // padding is not carried over
  uint8_t* payload = packet.data() + view->header_size();
  std::memmove(payload, payload + 2, rtx->original_payload.size());
  return view->header_size() + rtx->original_payload.size();
}

}  // namespace atrium::media
