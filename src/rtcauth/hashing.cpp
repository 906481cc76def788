#include "rtcauth/hashing.hpp"

#include <cstdint>

#include "base/encoding.hpp"

namespace atrium::rtcauth {

namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_u_escape(std::string& out, uint32_t code) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4)
    out += kHex[(code >> shift) & 0xF];
}

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid (overlongs,
// surrogates and values above U+10FFFF are invalid, as in Go).
size_t utf8_sequence_length(std::string_view s, size_t i, uint32_t& code) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t b0 = byte(i);
  size_t len;
  uint32_t min;
  if (b0 >= 0xC2 && b0 <= 0xDF)
    len = 2, code = b0 & 0x1F, min = 0x80;
  else if (b0 >= 0xE0 && b0 <= 0xEF)
    len = 3, code = b0 & 0x0F, min = 0x800;
  else if (b0 >= 0xF0 && b0 <= 0xF4)
    len = 4, code = b0 & 0x07, min = 0x10000;
  else
    return 0;
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return len;
}

void append_go_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '<':
        case '>':
        case '&':
          append_u_escape(out, c);
          break;
        default:
          if (c < 0x20)
            append_u_escape(out, c);
          else
            out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    uint32_t code = 0;
    size_t len = utf8_sequence_length(s, i, code);
    if (len == 0) {
      out += "\\ufffd";
      ++i;
    } else if (code == 0x2028 || code == 0x2029) {
      append_u_escape(out, code);
      i += len;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  out += '"';
}

std::string hash_of(const std::vector<std::string>& items) {
  auto digest = sha256(go_json_string_array(items));
  return base64_encode(digest, false, false);
}

}  // namespace

std::string go_json_string_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    append_go_json_string(out, items[i]);
  }
  out += ']';
  return out;
}

std::string livekit_room_alias(std::string_view room_id, std::string_view slot_id) {
  return hash_of({std::string(room_id), std::string(slot_id)});
}

std::string livekit_identity(std::string_view user_id, std::string_view device_id,
                             std::string_view member_id) {
  return hash_of({std::string(user_id), std::string(device_id), std::string(member_id)});
}

std::string legacy_livekit_identity(std::string_view user_id, std::string_view device_id) {
  return std::string(user_id) + ":" + std::string(device_id);
}

}  // namespace atrium::rtcauth
