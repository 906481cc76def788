#pragma once
// LiveKit access tokens: HS256 JWTs whose issuer is the API key and whose
// subject is the participant identity, carrying LiveKit's claim grants.
// Minted by the auth service; verified by the SFU (and by the webhook
// receiver, where the JWT signs the body's SHA-256). Only HS256, no `kid`:
// the issuer selects the secret.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atrium::livekit {

// LiveKit's VideoGrant (protocol auth/grants.go). Optional fields keep the
// difference between "absent" and "false", which LiveKit gives meaning to.
struct VideoGrant {
  std::string room;
  bool room_join = false;
  bool room_create = false;
  bool room_list = false;
  bool room_record = false;
  bool room_admin = false;
  bool hidden = false;
  bool recorder = false;
  std::optional<bool> can_publish;
  std::optional<bool> can_subscribe;
  std::optional<bool> can_publish_data;
  std::optional<bool> can_update_own_metadata;
  std::vector<std::string> can_publish_sources;  // camera, microphone, screen_share, ...

  // Effective permissions, with LiveKit's defaults for absent fields.
  bool may_publish() const { return can_publish.value_or(true); }
  bool may_subscribe() const { return can_subscribe.value_or(true); }
  bool may_publish_data() const { return can_publish_data.value_or(may_publish()); }
  bool may_update_own_metadata() const { return can_update_own_metadata.value_or(false); }
  // Empty list: every source allowed.
  bool may_publish_source(std::string_view source) const;
};

struct AccessClaims {
  std::string api_key;   // iss
  std::string identity;  // sub
  std::string name;
  std::string metadata;
  std::string sha256;      // webhooks: base64 SHA-256 of the body
  int64_t not_before = 0;  // nbf, seconds; 0 = absent
  int64_t expires = 0;     // exp, seconds
  std::optional<VideoGrant> video;
};

// Returns the secret for an API key, or nullopt if the key is unknown.
using SecretLookup = std::function<std::optional<std::string>(std::string_view api_key)>;

// LiveKit allows a minute of clock skew on exp and nbf.
inline constexpr int64_t kClockLeewaySeconds = 60;

// Signs `claims` as an HS256 JWT with `secret`. `claims.api_key` is the issuer.
std::string mint_token(const AccessClaims& claims, std::string_view secret);

struct VerifyResult {
  std::optional<AccessClaims> claims;  // set on success
  std::string error;                   // why not, for logs
};

// Verifies signature (constant-time), alg (HS256 only), exp (required) and
// nbf against `now_s`, and parses the grants. Never throws on bad input.
VerifyResult verify_token(std::string_view token, const SecretLookup& secrets, int64_t now_s);

// Claims as the JSON object LiveKit uses (exposed for `atrium verify-token`).
std::string claims_to_json(const AccessClaims& claims);

}  // namespace atrium::livekit
