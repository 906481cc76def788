#include "matrix/canonical_json.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <vector>

#include "base/error.hpp"

namespace atrium::matrix {

namespace json = boost::json;

namespace {

// The spec limits integers to the range a double represents exactly.
constexpr int64_t kMaxCanonicalInt = (int64_t{1} << 53) - 1;
constexpr int64_t kMinCanonicalInt = -kMaxCanonicalInt;

// Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

bool is_encodable_string(std::string_view s) {
  return is_valid_utf8(s);
}

bool needs_escape(unsigned char c) {
  return c < 0x20 || c == '"' || c == '\\';
}

void append_string(std::string& out, std::string_view s) {
  if (!is_encodable_string(s)) throw MatrixError(Errc::bad_json, "String is not valid UTF-8");
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;  // start of the characters not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (!needs_escape(c)) continue;
    // Runs that need no escaping (nearly everything) are copied at once.
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
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
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0x0F];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

// The decimal digits of an integer in the canonical range, or a throw.
template <typename Int>
std::string_view integer_text(Int i, char (&buffer)[24]) {
  bool in_range;
  if constexpr (std::is_signed_v<Int>)
    in_range = i >= kMinCanonicalInt && i <= kMaxCanonicalInt;
  else
    in_range = i <= static_cast<uint64_t>(kMaxCanonicalInt);
  if (!in_range) throw MatrixError(Errc::bad_json, "Integer out of the canonical JSON range");
  auto result = std::to_chars(buffer, buffer + sizeof buffer, i);
  return std::string_view(buffer, static_cast<size_t>(result.ptr - buffer));
}

bool is_skipped(std::string_view key, std::span<const std::string_view> skip) {
  return std::find(skip.begin(), skip.end(), key) != skip.end();
}

void append_value(std::string& out, const json::value& v);

// Members in code-point order of their keys. std::string_view compares bytes
// as unsigned char, and UTF-8 byte order is code-point order. Small objects
// (nearly all of an event) are sorted on the stack.
void append_object(std::string& out, const json::object& o,
                   std::span<const std::string_view> skip = {}) {
  constexpr size_t kSmall = 16;
  const json::key_value_pair* small[kSmall];
  std::vector<const json::key_value_pair*> large;
  const json::key_value_pair** members = small;
  if (o.size() > kSmall) {
    large.resize(o.size());
    members = large.data();
  }
  size_t n = 0;
  for (const auto& kv : o)
    if (skip.empty() || !is_skipped(kv.key(), skip)) members[n++] = &kv;
  std::sort(members, members + n, [](const auto* a, const auto* b) { return a->key() < b->key(); });
  out += '{';
  for (size_t i = 0; i < n; ++i) {
    if (i != 0) out += ',';
    append_string(out, members[i]->key());
    out += ':';
    append_value(out, members[i]->value());
  }
  out += '}';
}

void append_value(std::string& out, const json::value& v) {
  char digits[24];
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      return;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case json::kind::int64:
      out += integer_text(v.get_int64(), digits);
      return;
    case json::kind::uint64:
      out += integer_text(v.get_uint64(), digits);
      return;
    case json::kind::double_:
      throw MatrixError(Errc::bad_json, "Floats are not allowed in canonical JSON");
    case json::kind::string:
      append_string(out, v.get_string());
      return;
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out += ',';
        first = false;
        append_value(out, item);
      }
      out += ']';
      return;
    }
    case json::kind::object:
      append_object(out, v.get_object());
      return;
  }
}

}  // namespace

std::string canonical_json(const json::value& v) {
  std::string out;
  out.reserve(256);
  append_value(out, v);
  return out;
}

std::string canonical_json_without(const json::object& o, std::span<const std::string_view> skip) {
  std::string out;
  out.reserve(256);
  append_object(out, o, skip);
  return out;
}

bool is_canonical_encodable(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
    case json::kind::bool_:
      return true;
    case json::kind::int64: {
      int64_t i = v.get_int64();
      return i >= kMinCanonicalInt && i <= kMaxCanonicalInt;
    }
    case json::kind::uint64:
      return v.get_uint64() <= static_cast<uint64_t>(kMaxCanonicalInt);
    case json::kind::double_:
      return false;
    case json::kind::string:
      return is_encodable_string(v.get_string());
    case json::kind::array:
      return std::all_of(v.get_array().begin(), v.get_array().end(),
                         [](const json::value& item) { return is_canonical_encodable(item); });
    case json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (!is_encodable_string(kv.key()) || !is_canonical_encodable(kv.value())) return false;
      }
      return true;
  }
  return false;
}

}  // namespace atrium::matrix
