#pragma once
// Base64 (standard and URL-safe, unpadded as Matrix uses them) and hex.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace atrium {

std::string base64_encode(std::span<const uint8_t> data, bool url_safe = false, bool pad = false);
inline std::string base64_encode(std::string_view s, bool url_safe = false, bool pad = false) {
  return base64_encode({reinterpret_cast<const uint8_t*>(s.data()), s.size()}, url_safe, pad);
}
// Accepts both alphabets, with or without padding. nullopt on bad input.
std::optional<std::vector<uint8_t>> base64_decode(std::string_view s);

std::string hex_encode(std::span<const uint8_t> data);

// SHA-256 of bytes.
std::array<uint8_t, 32> sha256(std::string_view data);

}  // namespace atrium
