#include "media/dcep.hpp"

#include <algorithm>
#include <limits>

#include "media/byte_io.hpp"

namespace atrium::media::dcep {
namespace {

void set(ParseError* error, ParseError value) {
  if (error) *error = value;
}

// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF): labels
// and protocols reach JavaScript as strings.
bool is_utf8(std::span<const uint8_t> s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t b = s[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t extra = 0;
    uint32_t min = 0;
    uint32_t cp = 0;
    if ((b & 0xE0) == 0xC0) {
      extra = 1, min = 0x80, cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      extra = 2, min = 0x800, cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      extra = 3, min = 0x10000, cp = b & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const uint8_t c = s[i + k];
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace

std::optional<PayloadType> classify_ppid(uint32_t ppid) {
  using Role = PayloadType::Role;
  switch (ppid) {
    case kPpidDcep:
      return PayloadType{Role::kControl, MessageKind::kBinary};
    case kPpidString:
      return PayloadType{Role::kComplete, MessageKind::kString};
    case kPpidBinary:
      return PayloadType{Role::kComplete, MessageKind::kBinary};
    case kPpidStringPartial:
      return PayloadType{Role::kPartial, MessageKind::kString};
    case kPpidBinaryPartial:
      return PayloadType{Role::kPartial, MessageKind::kBinary};
    case kPpidStringEmpty:
      return PayloadType{Role::kEmpty, MessageKind::kString};
    case kPpidBinaryEmpty:
      return PayloadType{Role::kEmpty, MessageKind::kBinary};
    default:
      return std::nullopt;
  }
}

uint32_t ppid_for(MessageKind kind, bool empty) {
  if (kind == MessageKind::kString) return empty ? kPpidStringEmpty : kPpidString;
  return empty ? kPpidBinaryEmpty : kPpidBinary;
}

uint8_t OpenMessage::channel_type() const {
  uint8_t type = kChannelReliable;
  if (reliability.policy == Reliability::Policy::kMaxRetransmits) {
    type = kChannelPartialReliableRexmit;
  } else if (reliability.policy == Reliability::Policy::kMaxLifetime) {
    type = kChannelPartialReliableTimed;
  }
  return ordered ? type : static_cast<uint8_t>(type | kChannelUnorderedBit);
}

std::optional<uint8_t> message_type(std::span<const uint8_t> payload) {
  if (payload.empty()) return std::nullopt;
  return payload[0];
}

std::optional<OpenMessage> parse_open(std::span<const uint8_t> payload, ParseError* error) {
  set(error, ParseError::kNone);
  if (payload.empty()) return set(error, ParseError::kEmpty), std::nullopt;
  if (payload[0] != kMessageOpen) return set(error, ParseError::kUnknownMessageType), std::nullopt;
  if (payload.size() < kOpenHeaderSize) return set(error, ParseError::kTooShort), std::nullopt;

  const uint8_t* p = payload.data();
  const uint8_t channel_type = p[1];
  const size_t label_length = read_u16(p + 8);
  const size_t protocol_length = read_u16(p + 10);
  const size_t total = kOpenHeaderSize + label_length + protocol_length;
  if (payload.size() < total) return set(error, ParseError::kTooShort), std::nullopt;
  if (payload.size() > total) return set(error, ParseError::kTrailingBytes), std::nullopt;

  OpenMessage open;
  open.ordered = (channel_type & kChannelUnorderedBit) == 0;
  const uint32_t parameter = read_u32(p + 4);
  switch (channel_type & ~kChannelUnorderedBit) {
    case kChannelReliable:
      break;  // the reliability parameter is ignored for reliable channels
    case kChannelPartialReliableRexmit:
      open.reliability = Reliability::max_retransmits(parameter);
      break;
    case kChannelPartialReliableTimed:
      open.reliability = Reliability::max_lifetime_ms(parameter);
      break;
    default:
      return set(error, ParseError::kUnknownChannelType), std::nullopt;
  }
  open.priority = read_u16(p + 2);

  const auto label = payload.subspan(kOpenHeaderSize, label_length);
  const auto protocol = payload.subspan(kOpenHeaderSize + label_length, protocol_length);
  if (!is_utf8(label) || !is_utf8(protocol)) {
    return set(error, ParseError::kBadUtf8), std::nullopt;
  }
  open.label.assign(label.begin(), label.end());
  open.protocol.assign(protocol.begin(), protocol.end());
  return open;
}

bool parse_ack(std::span<const uint8_t> payload, ParseError* error) {
  set(error, ParseError::kNone);
  if (payload.empty()) return set(error, ParseError::kEmpty), false;
  if (payload[0] != kMessageAck) return set(error, ParseError::kUnknownMessageType), false;
  if (payload.size() != 1) return set(error, ParseError::kTrailingBytes), false;
  return true;
}

std::optional<std::vector<uint8_t>> build_open(const OpenMessage& open) {
  constexpr size_t kMaxString = std::numeric_limits<uint16_t>::max();
  if (open.label.size() > kMaxString || open.protocol.size() > kMaxString) return std::nullopt;
  std::vector<uint8_t> out(kOpenHeaderSize + open.label.size() + open.protocol.size());
  out[0] = kMessageOpen;
  out[1] = open.channel_type();
  write_u16(out.data() + 2, open.priority);
  const uint32_t parameter =
      open.reliability.policy == Reliability::Policy::kReliable ? 0 : open.reliability.value;
  write_u32(out.data() + 4, parameter);
  write_u16(out.data() + 8, static_cast<uint16_t>(open.label.size()));
  write_u16(out.data() + 10, static_cast<uint16_t>(open.protocol.size()));
  auto it = out.begin() + kOpenHeaderSize;
  it = std::copy(open.label.begin(), open.label.end(), it);
  std::copy(open.protocol.begin(), open.protocol.end(), it);
  return out;
}

std::vector<uint8_t> build_ack() {
  return {kMessageAck};
}

}  // namespace atrium::media::dcep
