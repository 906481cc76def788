#pragma once
// One Matrix error type: an errcode from the table in error.cpp, its HTTP
// status, and a message for the client. Thrown on the control plane only and
// turned into a JSON reply in exactly one place (net/router).
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace atrium {

enum class Errc {
  forbidden,
  unknown_token,
  missing_token,
  bad_json,
  not_json,
  not_found,
  limit_exceeded,
  unrecognized,
  unknown,
  too_large,
  user_in_use,
  invalid_username,
  room_in_use,
  invalid_param,
  invalid_room_state,
  unsupported_room_version,
  bad_state,
  guest_access_forbidden,
  missing_param,
  exclusive,
  user_deactivated,
  weak_password,
  threepid_denied,
  unauthorized,
  duplicate_annotation,
  method_not_allowed,
};

struct ErrcInfo {
  std::string_view code;  // "M_FORBIDDEN"
  int http_status;
};

const ErrcInfo& errc_info(Errc e);

class MatrixError : public std::runtime_error {
 public:
  MatrixError(Errc errc, std::string message)
      : std::runtime_error(std::move(message)), errc_(errc), status_(errc_info(errc).http_status) {}
  MatrixError(Errc errc, int http_status, std::string message)
      : std::runtime_error(std::move(message)), errc_(errc), status_(http_status) {}

  Errc errc() const { return errc_; }
  std::string_view code() const { return errc_info(errc_).code; }
  int http_status() const { return status_; }

  // M_LIMIT_EXCEEDED carries how long the client should wait.
  std::optional<int64_t> retry_after_ms;
  // Extra top-level fields some errors carry (e.g. MSC4140's max_delay).
  boost::json::object extra;

  // Body of the error reply: {"errcode":..,"error":..[,"retry_after_ms":..]}
  std::string to_json() const;

 private:
  Errc errc_;
  int status_;
};

inline MatrixError limit_exceeded(int64_t retry_after_ms) {
  MatrixError e(Errc::limit_exceeded, "Too many requests");
  e.retry_after_ms = retry_after_ms;
  return e;
}

}  // namespace atrium
