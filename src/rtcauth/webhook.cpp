#include "rtcauth/webhook.hpp"

#include <boost/json.hpp>

#include "base/encoding.hpp"

namespace atrium::rtcauth {

namespace json = boost::json;

namespace {

std::string body_hash(std::string_view body) {
  return base64_encode(sha256(body), false, true);
}

std::string string_at(const json::object& o, std::string_view object_key, std::string_view key) {
  auto it = o.find(object_key);
  if (it == o.end() || !it->value().is_object()) return {};
  auto& inner = it->value().as_object();
  auto v = inner.find(key);
  if (v == inner.end() || !v->value().is_string()) return {};
  return std::string(v->value().as_string());
}

}  // namespace

WebhookResult verify_webhook(std::string_view body, std::string_view authorization,
                             const SecretLookup& secrets, int64_t now_s) {
  auto fail = [](std::string why) { return WebhookResult{std::nullopt, std::move(why)}; };
  // LiveKit sends the bare JWT; accept a "Bearer " prefix too.
  if (authorization.substr(0, 7) == "Bearer ") authorization.remove_prefix(7);
  if (authorization.empty()) return fail("no Authorization header");
  auto verified = verify_token(authorization, secrets, now_s);
  if (!verified.claims) return fail("bad webhook token: " + verified.error);
  if (verified.claims->sha256.empty()) return fail("webhook token has no sha256 claim");
  if (verified.claims->sha256 != body_hash(body))
    return fail("body does not match the sha256 claim");

  json::error_code ec;
  auto value = json::parse(body, ec);
  if (ec || !value.is_object()) return fail("body is not a JSON object");
  auto& o = value.as_object();
  WebhookEvent event;
  if (auto it = o.find("event"); it != o.end() && it->value().is_string())
    event.event = std::string(it->value().as_string());
  if (event.event.empty()) return fail("no event name");
  event.room_name = string_at(o, "room", "name");
  event.participant_identity = string_at(o, "participant", "identity");
  return WebhookResult{std::move(event), {}};
}

std::string sign_webhook(std::string_view body, std::string_view api_key, std::string_view secret,
                         int64_t now_s) {
  AccessClaims claims;
  claims.api_key = std::string(api_key);
  claims.not_before = now_s;
  claims.expires = now_s + 300;
  claims.sha256 = body_hash(body);
  return mint_token(claims, secret);
}

}  // namespace atrium::rtcauth
