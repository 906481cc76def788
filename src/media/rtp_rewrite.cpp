#include "media/rtp_rewrite.hpp"

#include <cstring>

#include "media/rtp.hpp"

namespace atrium::media {

std::optional<size_t> replace_header_extensions(std::span<uint8_t> buffer, size_t length,
                                                std::span<const OneByteExtension> elements) {
  if (length > buffer.size()) return std::nullopt;
  auto packet = RtpView::parse(buffer.first(length));
  if (!packet) return std::nullopt;
  size_t block = 0;  // element bytes
  for (const auto& element : elements) {
    if (element.id == 0 || element.id > 14 || element.value.empty() || element.value.size() > 16)
      return std::nullopt;
    block += 1 + element.value.size();
  }
  size_t padded = (block + 3) / 4 * 4;
  size_t new_header = 12 + (elements.empty() ? 0 : 4 + padded);
  size_t old_header = packet->header_size();
  size_t rest = length - old_header;  // payload and padding
  size_t new_length = new_header + rest;
  if (new_length > buffer.size()) return std::nullopt;
  std::memmove(buffer.data() + new_header, buffer.data() + old_header, rest);
  buffer[0] = static_cast<uint8_t>((buffer[0] & 0xE0) | (elements.empty() ? 0 : 0x10));  // CC=0
  if (!elements.empty()) {
    uint8_t* out = buffer.data() + 12;
    out[0] = 0xBE;
    out[1] = 0xDE;
    out[2] = static_cast<uint8_t>((padded / 4) >> 8);
    out[3] = static_cast<uint8_t>(padded / 4);
    size_t at = 4;
    for (const auto& element : elements) {
      out[at++] = static_cast<uint8_t>((element.id << 4) | (element.value.size() - 1));
      std::memcpy(out + at, element.value.data(), element.value.size());
      at += element.value.size();
    }
    std::memset(out + at, 0, 4 + padded - at);
  }
  return new_length;
}

std::array<uint8_t, 3> abs_send_time(std::chrono::steady_clock::time_point now) {
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  // seconds * 2^18, keep 24 bits
  uint64_t fixed = (static_cast<uint64_t>(micros) << 18) / 1'000'000;
  return {static_cast<uint8_t>(fixed >> 16), static_cast<uint8_t>(fixed >> 8),
          static_cast<uint8_t>(fixed)};
}

}  // namespace atrium::media
