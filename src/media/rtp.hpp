#pragma once
// RTP (RFC 3550) as a validated zero-copy view. parse() checks every length
// (CSRC count, extension block, padding) once; accessors then read without
// checks. MutableRtpView adds in-place rewrites for the forwarding path.
// Header extensions follow RFC 8285 (one-byte 0xBEDE and two-byte 0x100X).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace atrium::media {

enum class RtpParseError : uint8_t {
  kNone,
  kTooShort,           // fewer than 12 bytes
  kBadVersion,         // version != 2
  kCsrcOverflow,       // CSRC list runs past the end
  kExtensionOverflow,  // extension header or block runs past the end
  kBadPadding,         // padding count zero or larger than the room after the header
};

enum class RtpExtensionProfile : uint8_t { kNone, kOneByte, kTwoByte, kOther };

struct RtpExtensionElement {
  uint8_t id = 0;
  std::span<const uint8_t> value;
};

// Iterates the elements of a one- or two-byte extension block. Padding bytes
// are skipped; a malformed element (or id 15 in one-byte form) ends iteration.
class RtpExtensionIterator {
 public:
  RtpExtensionIterator(RtpExtensionProfile profile, std::span<const uint8_t> block)
      : profile_(profile), block_(block) {}
  // The next element, or nullopt at the end.
  std::optional<RtpExtensionElement> next();

 private:
  RtpExtensionProfile profile_;
  std::span<const uint8_t> block_;
  size_t offset_ = 0;
};

class RtpView {
 public:
  static std::optional<RtpView> parse(std::span<const uint8_t> packet,
                                      RtpParseError* error = nullptr);

  uint8_t version() const { return data_[0] >> 6; }
  bool has_padding() const { return (data_[0] & 0x20) != 0; }
  bool has_extension() const { return (data_[0] & 0x10) != 0; }
  uint8_t csrc_count() const { return data_[0] & 0x0F; }
  bool marker() const { return (data_[1] & 0x80) != 0; }
  uint8_t payload_type() const { return data_[1] & 0x7F; }
  uint16_t sequence_number() const;
  uint32_t timestamp() const;
  uint32_t ssrc() const;
  uint32_t csrc(size_t index) const;  // index < csrc_count()

  // The extension block (after the 4-byte extension header) and its profile.
  RtpExtensionProfile extension_profile() const { return extension_profile_; }
  uint16_t extension_profile_id() const { return extension_profile_id_; }
  std::span<const uint8_t> extension_block() const {
    return data_.subspan(extension_offset_, extension_size_);
  }
  RtpExtensionIterator extensions() const {
    return RtpExtensionIterator(extension_profile_, extension_block());
  }
  // The first element with `id` (one- or two-byte profile only).
  std::optional<std::span<const uint8_t>> find_extension(uint8_t id) const;

  size_t header_size() const { return payload_offset_; }
  std::span<const uint8_t> payload() const { return data_.subspan(payload_offset_, payload_size_); }
  uint8_t padding_size() const { return padding_size_; }
  std::span<const uint8_t> bytes() const { return data_; }

 protected:
  explicit RtpView(std::span<const uint8_t> data) : data_(data) {}

  std::span<const uint8_t> data_;
  uint16_t extension_offset_ = 0;  // start of the element block
  uint32_t extension_size_ = 0;
  uint16_t extension_profile_id_ = 0;
  RtpExtensionProfile extension_profile_ = RtpExtensionProfile::kNone;
  uint8_t padding_size_ = 0;
  size_t payload_offset_ = 0;
  size_t payload_size_ = 0;
};

// A view over a packet the caller owns and may rewrite in place.
class MutableRtpView : public RtpView {
 public:
  static std::optional<MutableRtpView> parse(std::span<uint8_t> packet,
                                             RtpParseError* error = nullptr);

  void set_marker(bool marker);
  void set_payload_type(uint8_t payload_type);  // 7 bits
  void set_sequence_number(uint16_t sequence_number);
  void set_timestamp(uint32_t timestamp);
  void set_ssrc(uint32_t ssrc);
  // Rewrites the value of an existing one-byte-profile element of the same
  // size (no resize on the packet path). False when absent or sized differently.
  bool set_one_byte_extension(uint8_t id, std::span<const uint8_t> value);
  std::span<uint8_t> mutable_payload();

 private:
  explicit MutableRtpView(const RtpView& view) : RtpView(view) {}
  uint8_t* mutable_data() const { return const_cast<uint8_t*>(data_.data()); }
};

// RFC 4588: an RTX payload starts with the original sequence number.
struct RtxPayload {
  uint16_t original_sequence_number = 0;
  std::span<const uint8_t> original_payload;
};
std::optional<RtxPayload> decapsulate_rtx(const RtpView& rtx_packet);

// Rewrites an RTX packet in place into the original packet: SSRC and payload
// type restored, sequence number taken from the payload, the payload moved two
// bytes down (padding dropped). Returns the new packet size.
std::optional<size_t> restore_rtx_in_place(std::span<uint8_t> packet, uint32_t original_ssrc,
                                           uint8_t original_payload_type);

}  // namespace atrium::media
