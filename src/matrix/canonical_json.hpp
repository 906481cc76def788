#pragma once
// Canonical JSON as the Matrix spec defines it (appendix "Canonical JSON"):
// keys sorted by code point, no insignificant whitespace, shortest escapes
// (only ", \\ and control characters escaped; \b \f \n \r \t short forms,
// others as \u00XX lowercase), UTF-8 output, integers only in
// [-(2^53)+1, 2^53-1], no floats.
#include <boost/json.hpp>

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace atrium::matrix {

// Throws MatrixError(Errc::bad_json) for floats or out-of-range integers.
std::string canonical_json(const boost::json::value& v);

// canonical_json(o) without o's top-level members named in `skip`: the forms
// that are hashed and signed leave a few keys out, and copying the object
// just to erase them cost more than encoding it.
std::string canonical_json_without(const boost::json::object& o,
                                   std::span<const std::string_view> skip);
inline std::string canonical_json_without(const boost::json::object& o,
                                          std::initializer_list<std::string_view> skip) {
  return canonical_json_without(o, std::span<const std::string_view>(skip.begin(), skip.size()));
}

// True when v can be canonically encoded (no floats, integers in range).
bool is_canonical_encodable(const boost::json::value& v);

}  // namespace atrium::matrix
