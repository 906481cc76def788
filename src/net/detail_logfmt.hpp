#pragma once
// Quoting for logfmt values, shared by the net/ sources (internal header).
#include <fmt/format.h>

#include <iterator>
#include <string>
#include <string_view>

namespace atrium::net::detail {

// Writes `value` double-quoted: quotes, backslashes and control characters
// are escaped so one record stays on one line.
template <typename Out>
Out write_logfmt_quoted(Out out, std::string_view value) {
  *out++ = '"';
  for (char c : value) {
    switch (c) {
      case '"':
        *out++ = '\\';
        *out++ = '"';
        break;
      case '\\':
        *out++ = '\\';
        *out++ = '\\';
        break;
      case '\n':
        *out++ = '\\';
        *out++ = 'n';
        break;
      case '\r':
        *out++ = '\\';
        *out++ = 'r';
        break;
      case '\t':
        *out++ = '\\';
        *out++ = 't';
        break;
      default:
        *out++ = static_cast<unsigned char>(c) < 0x20 ? '?' : c;
    }
  }
  *out++ = '"';
  return out;
}

// Whether `value` can be written bare (the common case for paths).
inline bool is_plain_logfmt(std::string_view value) {
  if (value.empty()) return false;
  for (char c : value)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) return false;
  return true;
}

// `value` as a double-quoted logfmt value.
inline std::string logfmt_quote(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  write_logfmt_quoted(std::back_inserter(out), value);
  return out;
}

// `value` bare when it needs no quoting, quoted otherwise.
inline std::string logfmt_value(std::string_view value) {
  return is_plain_logfmt(value) ? std::string(value) : logfmt_quote(value);
}

// logfmt_value as a format argument: written straight into the record, for
// lines logged on every request (no temporary string).
struct LogfmtValue {
  std::string_view value;
};

}  // namespace atrium::net::detail

template <>
struct fmt::formatter<atrium::net::detail::LogfmtValue> {
  constexpr auto parse(format_parse_context& ctx) { return ctx.begin(); }
  template <typename Context>
  auto format(const atrium::net::detail::LogfmtValue& v, Context& ctx) const {
    if (atrium::net::detail::is_plain_logfmt(v.value))
      return std::copy(v.value.begin(), v.value.end(), ctx.out());
    return atrium::net::detail::write_logfmt_quoted(ctx.out(), v.value);
  }
};
