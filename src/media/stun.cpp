#include "media/stun.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstring>

#include "media/byte_io.hpp"

namespace atrium::media::stun {
namespace {

constexpr size_t kIntegritySize = 20;             // HMAC-SHA1
constexpr uint32_t kFingerprintXor = 0x5354554e;  // "STUN"

constexpr std::array<uint32_t, 256> make_crc32_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit)
      c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kCrc32Table = make_crc32_table();

uint32_t crc32_update(uint32_t crc, std::span<const uint8_t> data) {
  for (uint8_t byte : data)
    crc = kCrc32Table[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  return crc;
}

// The header with its length field replaced: integrity and fingerprint are
// computed as if the message ended right after the attribute being computed.
std::array<uint8_t, kHeaderSize> header_with_length(std::span<const uint8_t> message,
                                                    size_t length) {
  std::array<uint8_t, kHeaderSize> header;
  std::memcpy(header.data(), message.data(), kHeaderSize);
  write_u16(header.data() + 2, static_cast<uint16_t>(length));
  return header;
}

// HMAC-SHA1 over `head` then `rest`. The MAC algorithm is fetched once.
bool hmac_sha1(std::string_view key, std::span<const uint8_t> head, std::span<const uint8_t> rest,
               uint8_t (&out)[kIntegritySize]) {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return false;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  if (ctx == nullptr) return false;
  char digest[] = "SHA1";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  size_t written = 0;
  const bool ok = EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                               params) == 1 &&
                  EVP_MAC_update(ctx, head.data(), head.size()) == 1 &&
                  EVP_MAC_update(ctx, rest.data(), rest.size()) == 1 &&
                  EVP_MAC_final(ctx, out, &written, kIntegritySize) == 1 &&
                  written == kIntegritySize;
  EVP_MAC_CTX_free(ctx);
  return ok;
}

// Whether a known attribute has a possible length (fixed sizes, bounded strings).
bool attribute_length_ok(uint16_t type, uint16_t length) {
  switch (type) {
    case attr::kMessageIntegrity:
      return length == kIntegritySize;
    case attr::kFingerprint:
    case attr::kPriority:
      return length == 4;
    case attr::kUseCandidate:
      return length == 0;
    case attr::kIceControlled:
    case attr::kIceControlling:
      return length == 8;
    case attr::kXorMappedAddress:
      return length == 8 || length == 20;
    case attr::kErrorCode:
      return length >= 4;
    case attr::kUsername:
      return length <= 513;  // RFC 5389 15.3
    default:
      return true;
  }
}

}  // namespace

uint32_t crc32(std::span<const uint8_t> data) {
  return crc32_update(0xFFFFFFFFu, data) ^ 0xFFFFFFFFu;
}

std::optional<Message> Message::parse(std::span<const uint8_t> datagram, ParseError* error) {
  auto fail = [error](ParseError e) -> std::optional<Message> {
    if (error) *error = e;
    return std::nullopt;
  };
  if (datagram.size() < kHeaderSize) return fail(ParseError::kTooShort);
  if ((datagram[0] & 0xC0) != 0) return fail(ParseError::kNotStun);
  if (read_u32(datagram.data() + 4) != kMagicCookie) return fail(ParseError::kBadMagicCookie);
  const size_t length = read_u16(datagram.data() + 2);
  if (length != datagram.size() - kHeaderSize || length % 4 != 0) {
    return fail(ParseError::kBadLength);
  }

  Message message(datagram);
  size_t offset = kHeaderSize;
  while (offset < datagram.size()) {
    if (message.fingerprint_offset_ != 0) return fail(ParseError::kAfterFingerprint);
    if (datagram.size() - offset < 4) return fail(ParseError::kTruncatedAttribute);
    const uint16_t type = read_u16(datagram.data() + offset);
    const uint16_t value_length = read_u16(datagram.data() + offset + 2);
    const size_t padded = (size_t{value_length} + 3) & ~size_t{3};
    if (padded > datagram.size() - offset - 4) return fail(ParseError::kTruncatedAttribute);
    if (!attribute_length_ok(type, value_length)) return fail(ParseError::kBadAttributeLength);

    // The message is at most 65555 bytes, so offsets fit in 16 bits.
    const auto here = static_cast<uint16_t>(offset);
    const bool after_integrity = message.integrity_offset_ != 0;
    auto record = [&](uint16_t& slot) {
      if (slot == 0 && !after_integrity) slot = here;
    };
    switch (type) {
      case attr::kUsername:
        record(message.username_offset_);
        break;
      case attr::kMessageIntegrity:
        record(message.integrity_offset_);
        break;
      case attr::kFingerprint:
        message.fingerprint_offset_ = here;
        break;
      case attr::kXorMappedAddress:
        record(message.xor_mapped_offset_);
        break;
      case attr::kPriority:
        record(message.priority_offset_);
        break;
      case attr::kIceControlling:
        record(message.controlling_offset_);
        break;
      case attr::kIceControlled:
        record(message.controlled_offset_);
        break;
      case attr::kErrorCode:
        record(message.error_code_offset_);
        break;
      case attr::kUseCandidate:
        if (!after_integrity) message.use_candidate_ = true;
        break;
      default:
        break;  // unknown attributes are skipped
    }
    offset += 4 + padded;
  }
  if (error) *error = ParseError::kNone;
  return message;
}

std::span<const uint8_t> Message::value_at(uint16_t offset) const {
  return data_.subspan(offset + 4u, read_u16(data_.data() + offset + 2));
}

uint16_t Message::type() const {
  return read_u16(data_.data());
}

uint16_t Message::method() const {
  const uint16_t t = type();
  return static_cast<uint16_t>((t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2));
}

MessageClass Message::message_class() const {
  const uint16_t t = type();
  return static_cast<MessageClass>(((t >> 4) & 1) | ((t >> 7) & 2));
}

std::optional<std::string_view> Message::username() const {
  if (username_offset_ == 0) return std::nullopt;
  auto value = value_at(username_offset_);
  return std::string_view(reinterpret_cast<const char*>(value.data()), value.size());
}

std::optional<uint32_t> Message::priority() const {
  if (priority_offset_ == 0) return std::nullopt;
  return read_u32(value_at(priority_offset_).data());
}

std::optional<uint64_t> Message::ice_controlling() const {
  if (controlling_offset_ == 0) return std::nullopt;
  return read_u64(value_at(controlling_offset_).data());
}

std::optional<uint64_t> Message::ice_controlled() const {
  if (controlled_offset_ == 0) return std::nullopt;
  return read_u64(value_at(controlled_offset_).data());
}

std::optional<TransportAddress> Message::xor_mapped_address() const {
  if (xor_mapped_offset_ == 0) return std::nullopt;
  auto value = value_at(xor_mapped_offset_);
  const uint8_t family = value[1];
  TransportAddress address;
  address.port = static_cast<uint16_t>(read_u16(value.data() + 2) ^ (kMagicCookie >> 16));
  // The address is XORed with the cookie followed by the transaction id.
  const uint8_t* pad = data_.data() + 4;
  if (family == 0x01 && value.size() == 8) {
    for (size_t i = 0; i < 4; ++i)
      address.ip[i] = value[4 + i] ^ pad[i];
  } else if (family == 0x02 && value.size() == 20) {
    address.ipv6 = true;
    for (size_t i = 0; i < 16; ++i)
      address.ip[i] = value[4 + i] ^ pad[i];
  } else {
    return std::nullopt;
  }
  return address;
}

std::optional<ErrorCode> Message::error_code() const {
  if (error_code_offset_ == 0) return std::nullopt;
  auto value = value_at(error_code_offset_);
  ErrorCode result;
  result.code = static_cast<uint16_t>((value[2] & 0x07) * 100 + value[3]);
  result.reason =
      std::string_view(reinterpret_cast<const char*>(value.data() + 4), value.size() - 4);
  return result;
}

bool Message::verify_message_integrity(std::string_view key) const {
  if (integrity_offset_ == 0) return false;
  auto header = header_with_length(data_, integrity_offset_ + 4 + kIntegritySize - kHeaderSize);
  uint8_t expected[kIntegritySize];
  if (!hmac_sha1(key, header, data_.subspan(kHeaderSize, integrity_offset_ - kHeaderSize),
                 expected)) {
    return false;
  }
  return CRYPTO_memcmp(expected, data_.data() + integrity_offset_ + 4, kIntegritySize) == 0;
}

bool Message::verify_fingerprint() const {
  if (fingerprint_offset_ == 0) return false;
  // FINGERPRINT is last, so the length field already covers it.
  const uint32_t crc = crc32(data_.first(fingerprint_offset_)) ^ kFingerprintXor;
  return crc == read_u32(data_.data() + fingerprint_offset_ + 4);
}

MessageBuilder::MessageBuilder(uint16_t type,
                               std::span<const uint8_t, kTransactionIdSize> transaction_id) {
  bytes_.reserve(128);
  bytes_.resize(kHeaderSize);
  write_u16(bytes_.data(), type);
  write_u32(bytes_.data() + 4, kMagicCookie);
  std::copy(transaction_id.begin(), transaction_id.end(), bytes_.begin() + 8);
}

void MessageBuilder::set_length(size_t body_length) {
  write_u16(bytes_.data() + 2, static_cast<uint16_t>(body_length));
}

MessageBuilder& MessageBuilder::add_attribute(uint16_t type, std::span<const uint8_t> value,
                                              uint8_t padding_byte) {
  const size_t offset = bytes_.size();
  const size_t padded = (value.size() + 3) & ~size_t{3};
  bytes_.resize(offset + 4 + padded, padding_byte);
  write_u16(bytes_.data() + offset, type);
  write_u16(bytes_.data() + offset + 2, static_cast<uint16_t>(value.size()));
  std::copy(value.begin(), value.end(), bytes_.begin() + static_cast<ptrdiff_t>(offset + 4));
  set_length(bytes_.size() - kHeaderSize);
  return *this;
}

MessageBuilder& MessageBuilder::add_string(uint16_t type, std::string_view value,
                                           uint8_t padding_byte) {
  return add_attribute(
      type, std::span(reinterpret_cast<const uint8_t*>(value.data()), value.size()), padding_byte);
}

MessageBuilder& MessageBuilder::add_u32(uint16_t type, uint32_t value) {
  uint8_t buffer[4];
  write_u32(buffer, value);
  return add_attribute(type, buffer);
}

MessageBuilder& MessageBuilder::add_u64(uint16_t type, uint64_t value) {
  uint8_t buffer[8];
  write_u64(buffer, value);
  return add_attribute(type, buffer);
}

MessageBuilder& MessageBuilder::add_xor_mapped_address(const TransportAddress& address) {
  uint8_t buffer[20] = {};
  buffer[1] = address.ipv6 ? 0x02 : 0x01;
  write_u16(buffer + 2, static_cast<uint16_t>(address.port ^ (kMagicCookie >> 16)));
  const size_t ip_size = address.ipv6 ? 16 : 4;
  const uint8_t* pad = bytes_.data() + 4;  // cookie then transaction id
  for (size_t i = 0; i < ip_size; ++i)
    buffer[4 + i] = address.ip[i] ^ pad[i];
  return add_attribute(attr::kXorMappedAddress, std::span(buffer, 4 + ip_size));
}

MessageBuilder& MessageBuilder::add_error_code(uint16_t code, std::string_view reason) {
  std::vector<uint8_t> value(4 + reason.size());
  value[2] = static_cast<uint8_t>(code / 100);
  value[3] = static_cast<uint8_t>(code % 100);
  std::copy(reason.begin(), reason.end(), value.begin() + 4);
  return add_attribute(attr::kErrorCode, value);
}

MessageBuilder& MessageBuilder::add_message_integrity(std::string_view key) {
  const size_t offset = bytes_.size();
  auto header = header_with_length(bytes_, offset + 4 + kIntegritySize - kHeaderSize);
  uint8_t mac[kIntegritySize] = {};
  // hmac_sha1 only fails when OpenSSL is broken; the zeroed MAC then fails verification.
  (void)hmac_sha1(key, header, std::span(bytes_).subspan(kHeaderSize), mac);
  return add_attribute(attr::kMessageIntegrity, mac);
}

MessageBuilder& MessageBuilder::add_fingerprint() {
  set_length(bytes_.size() + 8 - kHeaderSize);
  const uint32_t crc = crc32(bytes_) ^ kFingerprintXor;
  return add_u32(attr::kFingerprint, crc);
}

std::vector<uint8_t> build_binding_success(std::span<const uint8_t, kTransactionIdSize> id,
                                           const TransportAddress& mapped,
                                           std::string_view local_password) {
  MessageBuilder builder(kBindingSuccess, id);
  builder.add_xor_mapped_address(mapped).add_message_integrity(local_password).add_fingerprint();
  return std::move(builder).finish();
}

std::vector<uint8_t> build_binding_error(std::span<const uint8_t, kTransactionIdSize> id,
                                         uint16_t code, std::string_view reason,
                                         std::string_view local_password) {
  MessageBuilder builder(kBindingError, id);
  builder.add_error_code(code, reason);
  if (!local_password.empty()) builder.add_message_integrity(local_password);
  builder.add_fingerprint();
  return std::move(builder).finish();
}

}  // namespace atrium::media::stun
