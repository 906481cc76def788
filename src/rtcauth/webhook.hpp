#pragma once
// LiveKit webhooks (POST /sfu_webhook): the body is a protojson WebhookEvent;
// the Authorization header is a JWT signed with the API secret whose
// `sha256` claim is the standard base64 SHA-256 of the body.
#include <optional>
#include <string>
#include <string_view>

#include "livekit/token.hpp"

namespace atrium::rtcauth {

// The auth service speaks LiveKit's token format.
using livekit::AccessClaims;
using livekit::mint_token;
using livekit::SecretLookup;
using livekit::verify_token;
using livekit::VideoGrant;

struct WebhookEvent {
  std::string event;                 // participant_joined, participant_left, ...
  std::string room_name;             // room.name: the LiveKit room alias
  std::string participant_identity;  // participant.identity
};

struct WebhookResult {
  std::optional<WebhookEvent> event;
  std::string error;  // why it was refused, for logs
};

// Checks the signature and the body hash, then decodes the event. Never throws.
WebhookResult verify_webhook(std::string_view body, std::string_view authorization,
                             const SecretLookup& secrets, int64_t now_s);

// For tests and the simulated SFU: the Authorization header for `body`.
std::string sign_webhook(std::string_view body, std::string_view api_key, std::string_view secret,
                         int64_t now_s);

}  // namespace atrium::rtcauth
