#include "rtcauth/requests.hpp"

#include <boost/json.hpp>
#include <functional>
#include <initializer_list>
#include <utility>

#include "base/error.hpp"

namespace atrium::rtcauth {

namespace json = boost::json;

namespace {

MatrixError not_json(const std::string& why) {
  return MatrixError(Errc::not_json, why);
}
MatrixError bad_json(const std::string& why) {
  return MatrixError(Errc::bad_json, why);
}

// One known field of an object and where its value goes.
struct Field {
  std::string_view name;
  std::function<void(const json::value&, const std::string& path)> read;
};

void decode_object(const json::value& value, const std::string& path,
                   std::initializer_list<Field> fields) {
  if (value.is_null()) return;  // Go leaves the struct zero
  if (!value.is_object()) throw not_json("'" + path + "' must be an object");
  for (const auto& [key, v] : value.as_object()) {
    const Field* field = nullptr;
    for (const auto& f : fields) {
      if (f.name == key) field = &f;
    }
    std::string where = path.empty() ? std::string(key) : path + "." + std::string(key);
    if (!field) throw not_json("unknown field '" + where + "'");
    if (!v.is_null()) field->read(v, where);
  }
}

Field string_field(std::string_view name, std::string& out) {
  return {name, [&out](const json::value& v, const std::string& path) {
            if (!v.is_string()) throw not_json("'" + path + "' must be a string");
            out = std::string(v.as_string());
          }};
}

// Go's int: a JSON integer within int64 (1.5 and 1e3 do not decode).
Field int_field(std::string_view name, int64_t& out) {
  return {name, [&out](const json::value& v, const std::string& path) {
            if (v.is_int64())
              out = v.as_int64();
            else if (v.is_uint64() && v.as_uint64() <= static_cast<uint64_t>(INT64_MAX))
              out = static_cast<int64_t>(v.as_uint64());
            else
              throw not_json("'" + path + "' must be an integer");
          }};
}

Field openid_field(OpenIdToken& t) {
  return {"openid_token", [&t](const json::value& v, const std::string& path) {
            decode_object(v, path,
                          {string_field("access_token", t.access_token),
                           string_field("token_type", t.token_type),
                           string_field("matrix_server_name", t.matrix_server_name),
                           int_field("expires_in", t.expires_in)});
          }};
}

Field member_field(RtcMember& m) {
  return {"member", [&m](const json::value& v, const std::string& path) {
            decode_object(
                v, path,
                {string_field("id", m.id), string_field("claimed_user_id", m.claimed_user_id),
                 string_field("claimed_device_id", m.claimed_device_id)});
          }};
}

json::value parse_body(std::string_view body) {
  if (body.empty()) throw not_json("request body is empty");
  json::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  auto value = json::parse(body, ec, {}, opts);
  if (ec) throw not_json("request body is not valid JSON");
  return value;
}

void check_openid(const OpenIdToken& t) {
  if (t.access_token.empty() || t.matrix_server_name.empty())
    throw bad_json(
        "The request body `openid_token` is missing `access_token` or `matrix_server_name`");
}

// All three delay fields, or none (lk-jwt-service's rule).
void check_delay_all_or_none(const DelayedLeave& d) {
  bool all = !d.delay_id.empty() && d.timeout_ms > 0 && !d.cs_api_url.empty();
  bool any = !d.delay_id.empty() || d.timeout_ms > 0 || !d.cs_api_url.empty();
  if (any && !all)
    throw bad_json("The request body is missing `delay_id`, `delay_timeout` or `delay_cs_api_url`");
}

TokenRequest decode_token_request(std::string_view body) {
  TokenRequest r;
  decode_object(
      parse_body(body), "",
      {string_field("room_id", r.room_id), string_field("slot_id", r.slot_id),
       openid_field(r.openid_token), member_field(r.member),
       string_field("delay_id", r.delay.delay_id), int_field("delay_timeout", r.delay.timeout_ms),
       string_field("delay_cs_api_url", r.delay.cs_api_url)});
  if (r.room_id.empty() || r.slot_id.empty())
    throw bad_json("The request body is missing `room_id` or `slot_id`");
  if (r.member.id.empty() || r.member.claimed_user_id.empty() || r.member.claimed_device_id.empty())
    throw bad_json(
        "The request body `member` is missing `id`, `claimed_user_id` or `claimed_device_id`");
  check_openid(r.openid_token);
  return r;
}

}  // namespace

TokenRequest parse_token_request(std::string_view body) {
  auto r = decode_token_request(body);
  check_delay_all_or_none(r.delay);
  return r;
}

TokenRequest parse_delegate_request(std::string_view body) {
  auto r = decode_token_request(body);
  if (r.delay.delay_id.empty() || r.delay.timeout_ms <= 0 || r.delay.cs_api_url.empty())
    throw bad_json("The request body is missing `delay_id`, `delay_timeout` or `delay_cs_api_url`");
  return r;
}

LegacyTokenRequest parse_legacy_token_request(std::string_view body) {
  LegacyTokenRequest r;
  decode_object(parse_body(body), "",
                {string_field("room", r.room), string_field("device_id", r.device_id),
                 openid_field(r.openid_token), string_field("delay_id", r.delay.delay_id),
                 int_field("delay_timeout", r.delay.timeout_ms),
                 string_field("delay_cs_api_url", r.delay.cs_api_url)});
  if (r.room.empty()) throw bad_json("Missing room parameter");
  check_openid(r.openid_token);
  check_delay_all_or_none(r.delay);
  return r;
}

}  // namespace atrium::rtcauth
