#include "base/error.hpp"

#include <array>
#include <boost/json.hpp>

namespace atrium {

namespace {
// Indexed by Errc; keep in the enum's order.
constexpr std::array<ErrcInfo, 26> kTable{{
    {"M_FORBIDDEN", 403},
    {"M_UNKNOWN_TOKEN", 401},
    {"M_MISSING_TOKEN", 401},
    {"M_BAD_JSON", 400},
    {"M_NOT_JSON", 400},
    {"M_NOT_FOUND", 404},
    {"M_LIMIT_EXCEEDED", 429},
    {"M_UNRECOGNIZED", 404},
    {"M_UNKNOWN", 500},
    {"M_TOO_LARGE", 413},
    {"M_USER_IN_USE", 400},
    {"M_INVALID_USERNAME", 400},
    {"M_ROOM_IN_USE", 400},
    {"M_INVALID_PARAM", 400},
    {"M_INVALID_ROOM_STATE", 400},
    {"M_UNSUPPORTED_ROOM_VERSION", 400},
    {"M_BAD_STATE", 400},
    {"M_GUEST_ACCESS_FORBIDDEN", 403},
    {"M_MISSING_PARAM", 400},
    {"M_EXCLUSIVE", 400},
    {"M_USER_DEACTIVATED", 403},
    {"M_WEAK_PASSWORD", 400},
    {"M_THREEPID_DENIED", 403},
    {"M_UNAUTHORIZED", 401},
    {"M_DUPLICATE_ANNOTATION", 400},
    {"M_UNRECOGNIZED", 405},
}};
static_assert(kTable.size() == static_cast<size_t>(Errc::method_not_allowed) + 1);
}  // namespace

const ErrcInfo& errc_info(Errc e) {
  return kTable[static_cast<size_t>(e)];
}

std::string MatrixError::to_json() const {
  boost::json::object o = extra;
  o["errcode"] = code();
  o["error"] = what();
  if (retry_after_ms) o["retry_after_ms"] = *retry_after_ms;
  return boost::json::serialize(o);
}

}  // namespace atrium
