#pragma once
// Canonical JSON as the Matrix spec defines it (appendix "Canonical JSON"):
// keys sorted by code point, no insignificant whitespace, shortest escapes
// (only ", \\ and control characters escaped; \b \f \n \r \t short forms,
// others as \u00XX lowercase), UTF-8 output, integers only in
// [-(2^53)+1, 2^53-1], no floats.
#include <boost/json.hpp>

#include <string>

namespace atrium::matrix {

// Throws MatrixError(Errc::bad_json) for floats or out-of-range integers.
std::string canonical_json(const boost::json::value& v);

// True when v can be canonically encoded (no floats, integers in range).
bool is_canonical_encodable(const boost::json::value& v);

}  // namespace atrium::matrix
