#include "matrix/ids.hpp"

#include <algorithm>

namespace atrium::matrix {

namespace {

// The spec caps every identifier, sigil and server name included.
constexpr size_t kMaxIdBytes = 255;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_valid_port(std::string_view port) {
  return !port.empty() && port.size() <= 5 && std::all_of(port.begin(), port.end(), is_digit);
}

// IPv6 literal content as the grammar has it: 2 to 45 of [0-9A-Fa-f:.].
bool is_valid_ipv6_literal(std::string_view s) {
  return s.size() >= 2 && s.size() <= 45 && std::all_of(s.begin(), s.end(), [](char c) {
           return is_hex_digit(c) || c == ':' || c == '.';
         });
}

// Also covers IPv4 dotted quads, which are a subset of the DNS-name characters.
bool is_valid_dns_name(std::string_view s) {
  return !s.empty() && s.size() <= 255 && std::all_of(s.begin(), s.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '.' || c == '-';
  });
}

// Splits "<sigil><local>:<server>" and checks the shared parts: sigil, a
// non-empty local part, a valid server name, the total length.
bool split_sigil_id(std::string_view s, char sigil, std::string_view& local) {
  if (s.size() > kMaxIdBytes || s.size() < 2 || s[0] != sigil) return false;
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 1) return false;
  local = s.substr(1, colon - 1);
  return is_valid_server_name(s.substr(colon + 1));
}

}  // namespace

bool is_valid_server_name(std::string_view s) {
  std::string_view host = s;
  std::string_view port;
  bool has_port = false;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return false;
    if (!is_valid_ipv6_literal(s.substr(1, close - 1))) return false;
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return false;
      has_port = true;
      port = rest.substr(1);
    }
    return !has_port || is_valid_port(port);
  }
  size_t colon = s.find(':');
  if (colon != std::string_view::npos) {
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    has_port = true;
  }
  return is_valid_dns_name(host) && (!has_port || is_valid_port(port));
}

bool is_valid_user_id(std::string_view s) {
  std::string_view local;
  if (!split_sigil_id(s, '@', local)) return false;
  // Historical localparts: any printable ASCII but ':' (already excluded by the split).
  return std::all_of(local.begin(), local.end(), [](char c) { return c >= 0x21 && c <= 0x7E; });
}

bool is_valid_new_localpart(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || is_digit(c) || c == '.' || c == '_' || c == '=' || c == '-' ||
           c == '/' || c == '+';
  });
}

bool is_valid_room_id(std::string_view s) {
  std::string_view local;
  if (!split_sigil_id(s, '!', local)) return false;
  return local.find('\0') == std::string_view::npos;
}

bool is_valid_room_alias(std::string_view s) {
  std::string_view local;
  if (!split_sigil_id(s, '#', local)) return false;
  return local.find('\0') == std::string_view::npos;
}

bool is_valid_event_id(std::string_view s) {
  return s.size() >= 2 && s.size() <= kMaxIdBytes && s[0] == '$' &&
         s.find('\0') == std::string_view::npos;
}

std::string_view server_name_of(std::string_view id) {
  size_t colon = id.find(':');
  return colon == std::string_view::npos ? std::string_view{} : id.substr(colon + 1);
}

std::string_view localpart_of(std::string_view id) {
  if (id.empty()) return {};
  size_t colon = id.find(':');
  return colon == std::string_view::npos ? id.substr(1) : id.substr(1, colon - 1);
}

}  // namespace atrium::matrix
