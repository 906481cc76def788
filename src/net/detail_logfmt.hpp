#pragma once
// Quoting for logfmt values, shared by the net/ sources (internal header).
#include <string>
#include <string_view>

namespace atrium::net::detail {

// `value` as a double-quoted logfmt value: quotes, backslashes and control
// characters are escaped so one record stays on one line.
inline std::string logfmt_quote(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out.push_back('"');
  for (char c : value) {
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
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += '?';
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace atrium::net::detail

namespace atrium::net::detail {

// `value` bare when it needs no quoting (the common case for paths), quoted otherwise.
inline std::string logfmt_value(std::string_view value) {
  bool plain = !value.empty();
  for (char c : value) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) {
      plain = false;
      break;
    }
  }
  return plain ? std::string(value) : logfmt_quote(value);
}

}  // namespace atrium::net::detail
