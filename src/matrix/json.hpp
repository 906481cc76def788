#pragma once
// Request-body parsing and typed field access. Every failure is a MatrixError
// with the errcode a client expects (M_NOT_JSON, M_BAD_JSON, M_TOO_LARGE).
#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace atrium::matrix {

namespace json = boost::json;

// Parses a request body that must be a JSON object. Empty body -> {} when
// allow_empty. Not JSON (or invalid UTF-8, or nesting deeper than 64) ->
// M_NOT_JSON; valid JSON but not an object -> M_BAD_JSON.
json::object parse_request_object(std::string_view body, bool allow_empty = false);

// Field accessors: nullopt/nullptr when absent (or null); M_BAD_JSON naming
// the field ("'timeout' must be an integer") when present with the wrong type.
// Integers are JSON integers within int64 (1.0 is not an integer). The
// require_* forms also fail with M_BAD_JSON ("missing field 'type'") when
// absent, so callers can use them on any object.
std::optional<std::string> get_string(const json::object& o, std::string_view key);
std::optional<int64_t> get_int(const json::object& o, std::string_view key);
std::optional<bool> get_bool(const json::object& o, std::string_view key);
const json::object* get_object(const json::object& o, std::string_view key);
const json::array* get_array(const json::object& o, std::string_view key);

std::string require_string(const json::object& o, std::string_view key);
int64_t require_int(const json::object& o, std::string_view key);
const json::object& require_object(const json::object& o, std::string_view key);

}  // namespace atrium::matrix
