#pragma once
// The request bodies of the auth service, decoded as lk-jwt-service decodes
// them (Go's encoding/json with DisallowUnknownFields): a body that is not
// JSON, has an unknown field (at any level) or a field of the wrong type is
// 400 M_NOT_JSON; a missing or empty required field is 400 M_BAD_JSON. A
// null field counts as absent. All failures throw MatrixError.
#include <cstdint>
#include <string>
#include <string_view>

namespace atrium::rtcauth {

struct OpenIdToken {
  std::string access_token;
  std::string token_type;
  std::string matrix_server_name;
  int64_t expires_in = 0;
};

struct RtcMember {
  std::string id;
  std::string claimed_user_id;
  std::string claimed_device_id;
};

// The delayed leave a client hands over (Element Call: delay_id,
// delay_timeout in ms, delay_cs_api_url). All three or none.
struct DelayedLeave {
  std::string delay_id;
  int64_t timeout_ms = 0;
  std::string cs_api_url;  // required on the wire, but never used: see README
  bool requested() const { return !delay_id.empty(); }
};

// POST /get_token, and POST /delegate_delayed_leave (delay fields required).
struct TokenRequest {
  std::string room_id;
  std::string slot_id;
  OpenIdToken openid_token;
  RtcMember member;
  DelayedLeave delay;
};

// POST /sfu/get (legacy): identity "{user}:{device_id}", slot m.call#ROOM.
struct LegacyTokenRequest {
  std::string room;
  std::string device_id;
  OpenIdToken openid_token;
  DelayedLeave delay;
};

TokenRequest parse_token_request(std::string_view body);
TokenRequest parse_delegate_request(std::string_view body);
LegacyTokenRequest parse_legacy_token_request(std::string_view body);

}  // namespace atrium::rtcauth
