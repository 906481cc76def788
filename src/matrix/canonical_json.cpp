#include "matrix/canonical_json.hpp"

#include <algorithm>
#include <cstdint>
#include <string_view>
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

void append_string(std::string& out, std::string_view s) {
  if (!is_encodable_string(s)) throw MatrixError(Errc::bad_json, "String is not valid UTF-8");
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
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
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0x0F];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

// Members in code-point order of their keys. std::string_view compares bytes
// as unsigned char, and UTF-8 byte order is code-point order.
std::vector<const json::key_value_pair*> sorted_members(const json::object& o) {
  std::vector<const json::key_value_pair*> members;
  members.reserve(o.size());
  for (const auto& kv : o)
    members.push_back(&kv);
  std::sort(members.begin(), members.end(),
            [](const auto* a, const auto* b) { return a->key() < b->key(); });
  return members;
}

void append_value(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      return;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case json::kind::int64: {
      int64_t i = v.get_int64();
      if (i < kMinCanonicalInt || i > kMaxCanonicalInt) {
        throw MatrixError(Errc::bad_json, "Integer out of the canonical JSON range");
      }
      out += std::to_string(i);
      return;
    }
    case json::kind::uint64: {
      uint64_t u = v.get_uint64();
      if (u > static_cast<uint64_t>(kMaxCanonicalInt)) {
        throw MatrixError(Errc::bad_json, "Integer out of the canonical JSON range");
      }
      out += std::to_string(u);
      return;
    }
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
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto* kv : sorted_members(v.get_object())) {
        if (!first) out += ',';
        first = false;
        append_string(out, kv->key());
        out += ':';
        append_value(out, kv->value());
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string canonical_json(const json::value& v) {
  std::string out;
  append_value(out, v);
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
