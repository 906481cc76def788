#include "matrix/json.hpp"

#include <limits>

#include "base/error.hpp"

namespace atrium::matrix {

namespace {

// Nesting limit for request bodies; deeper input is refused as not JSON.
constexpr size_t kMaxRequestDepth = 64;

// nullptr when the key is absent or null: the spec treats both as "not given".
const json::value* find_present(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

[[noreturn]] void throw_wrong_type(std::string_view key, std::string_view what) {
  throw MatrixError(Errc::bad_json, "'" + std::string(key) + "' must be " + std::string(what));
}

[[noreturn]] void throw_missing(std::string_view key) {
  throw MatrixError(Errc::bad_json, "missing field '" + std::string(key) + "'");
}

}  // namespace

json::object parse_request_object(std::string_view body, bool allow_empty) {
  if (body.empty() && allow_empty) return {};
  json::parse_options options;
  options.max_depth = kMaxRequestDepth;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, {}, options);
  if (ec) throw MatrixError(Errc::not_json, "Content not JSON.");
  if (!v.is_object()) throw MatrixError(Errc::bad_json, "Content must be a JSON object.");
  return std::move(v.get_object());
}

std::optional<std::string> get_string(const json::object& o, std::string_view key) {
  const json::value* v = find_present(o, key);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw_wrong_type(key, "a string");
  return std::string(v->get_string());
}

std::optional<int64_t> get_int(const json::object& o, std::string_view key) {
  const json::value* v = find_present(o, key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() &&
      v->get_uint64() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return static_cast<int64_t>(v->get_uint64());
  }
  throw_wrong_type(key, "an integer");
}

std::optional<bool> get_bool(const json::object& o, std::string_view key) {
  const json::value* v = find_present(o, key);
  if (!v) return std::nullopt;
  if (!v->is_bool()) throw_wrong_type(key, "a boolean");
  return v->get_bool();
}

const json::object* get_object(const json::object& o, std::string_view key) {
  const json::value* v = find_present(o, key);
  if (!v) return nullptr;
  if (!v->is_object()) throw_wrong_type(key, "an object");
  return &v->get_object();
}

const json::array* get_array(const json::object& o, std::string_view key) {
  const json::value* v = find_present(o, key);
  if (!v) return nullptr;
  if (!v->is_array()) throw_wrong_type(key, "an array");
  return &v->get_array();
}

std::string require_string(const json::object& o, std::string_view key) {
  auto s = get_string(o, key);
  if (!s) throw_missing(key);
  return std::move(*s);
}

int64_t require_int(const json::object& o, std::string_view key) {
  auto i = get_int(o, key);
  if (!i) throw_missing(key);
  return *i;
}

const json::object& require_object(const json::object& o, std::string_view key) {
  const json::object* obj = get_object(o, key);
  if (!obj) throw_missing(key);
  return *obj;
}

}  // namespace atrium::matrix
