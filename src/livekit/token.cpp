#include "livekit/token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cmath>

#include "base/encoding.hpp"

namespace atrium::livekit {

namespace json = boost::json;

namespace {

std::string hmac_sha256(std::string_view secret, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string b64url(std::string_view bytes) {
  return base64_encode(bytes, true, false);
}

// Strict base64url without padding, as JWS requires.
std::optional<std::string> b64url_decode(std::string_view s) {
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return std::nullopt;
  }
  if (s.size() % 4 == 1) return std::nullopt;
  auto bytes = base64_decode(s);
  if (!bytes) return std::nullopt;
  return std::string(bytes->begin(), bytes->end());
}

std::optional<json::object> parse_object(std::string_view text) {
  json::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  auto value = json::parse(text, ec, {}, opts);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

struct BadClaim {
  std::string what;
};

// Numeric date: JWT allows any JSON number; LiveKit SDKs write integers.
int64_t numeric_date(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return 0;
  const auto& v = it->value();
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64()) return static_cast<int64_t>(std::min<uint64_t>(v.as_uint64(), INT64_MAX));
  if (v.is_double() && std::isfinite(v.as_double()) && std::fabs(v.as_double()) < 9e18)
    return static_cast<int64_t>(v.as_double());
  throw BadClaim{std::string(key) + " must be a number"};
}

std::string string_claim(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return {};
  if (!it->value().is_string()) throw BadClaim{std::string(key) + " must be a string"};
  return std::string(it->value().as_string());
}

std::optional<bool> bool_claim(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  if (!it->value().is_bool()) throw BadClaim{"video." + std::string(key) + " must be a boolean"};
  return it->value().as_bool();
}

VideoGrant parse_video(const json::object& v) {
  VideoGrant g;
  g.room = string_claim(v, "room");
  g.room_join = bool_claim(v, "roomJoin").value_or(false);
  g.room_create = bool_claim(v, "roomCreate").value_or(false);
  g.room_list = bool_claim(v, "roomList").value_or(false);
  g.room_record = bool_claim(v, "roomRecord").value_or(false);
  g.room_admin = bool_claim(v, "roomAdmin").value_or(false);
  g.hidden = bool_claim(v, "hidden").value_or(false);
  g.recorder = bool_claim(v, "recorder").value_or(false);
  g.can_publish = bool_claim(v, "canPublish");
  g.can_subscribe = bool_claim(v, "canSubscribe");
  g.can_publish_data = bool_claim(v, "canPublishData");
  g.can_update_own_metadata = bool_claim(v, "canUpdateOwnMetadata");
  if (auto it = v.find("canPublishSources"); it != v.end() && !it->value().is_null()) {
    if (!it->value().is_array()) throw BadClaim{"video.canPublishSources must be a list"};
    for (const auto& s : it->value().as_array()) {
      if (!s.is_string()) throw BadClaim{"video.canPublishSources must hold strings"};
      g.can_publish_sources.emplace_back(s.as_string());
    }
  }
  return g;
}

json::object video_to_json(const VideoGrant& g) {
  json::object v;
  // Go's omitempty: false booleans and empty strings are left out.
  if (!g.room.empty()) v["room"] = g.room;
  if (g.room_join) v["roomJoin"] = true;
  if (g.room_create) v["roomCreate"] = true;
  if (g.room_list) v["roomList"] = true;
  if (g.room_record) v["roomRecord"] = true;
  if (g.room_admin) v["roomAdmin"] = true;
  if (g.hidden) v["hidden"] = true;
  if (g.recorder) v["recorder"] = true;
  if (g.can_publish) v["canPublish"] = *g.can_publish;
  if (g.can_subscribe) v["canSubscribe"] = *g.can_subscribe;
  if (g.can_publish_data) v["canPublishData"] = *g.can_publish_data;
  if (g.can_update_own_metadata) v["canUpdateOwnMetadata"] = *g.can_update_own_metadata;
  if (!g.can_publish_sources.empty()) {
    json::array sources;
    for (const auto& s : g.can_publish_sources)
      sources.emplace_back(s);
    v["canPublishSources"] = std::move(sources);
  }
  return v;
}

json::object claims_object(const AccessClaims& c) {
  json::object o;
  if (!c.api_key.empty()) o["iss"] = c.api_key;
  if (!c.identity.empty()) o["sub"] = c.identity;
  if (c.not_before) o["nbf"] = c.not_before;
  o["exp"] = c.expires;
  if (!c.name.empty()) o["name"] = c.name;
  if (!c.metadata.empty()) o["metadata"] = c.metadata;
  if (!c.sha256.empty()) o["sha256"] = c.sha256;
  if (c.video) o["video"] = video_to_json(*c.video);
  return o;
}

}  // namespace

bool VideoGrant::may_publish_source(std::string_view source) const {
  if (!may_publish()) return false;
  if (can_publish_sources.empty()) return true;
  return std::find(can_publish_sources.begin(), can_publish_sources.end(), source) !=
         can_publish_sources.end();
}

std::string mint_token(const AccessClaims& claims, std::string_view secret) {
  std::string signing_input = b64url(R"({"alg":"HS256","typ":"JWT"})") + "." +
                              b64url(json::serialize(claims_object(claims)));
  return signing_input + "." + b64url(hmac_sha256(secret, signing_input));
}

std::string claims_to_json(const AccessClaims& claims) {
  return json::serialize(claims_object(claims));
}

VerifyResult verify_token(std::string_view token, const SecretLookup& secrets, int64_t now_s) {
  auto fail = [](std::string why) { return VerifyResult{std::nullopt, std::move(why)}; };
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return fail("not a JWS compact token");
  auto header_text = b64url_decode(token.substr(0, dot1));
  auto payload_text = b64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = b64url_decode(token.substr(dot2 + 1));
  if (!header_text || !payload_text || !signature) return fail("bad base64url");
  auto header = parse_object(*header_text);
  if (!header) return fail("header is not a JSON object");
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->value().is_string() || alg->value().as_string() != "HS256")
    return fail("alg must be HS256");
  if (header->contains("crit")) return fail("unsupported critical header");
  auto payload = parse_object(*payload_text);
  if (!payload) return fail("payload is not a JSON object");

  AccessClaims c;
  try {
    c.api_key = string_claim(*payload, "iss");
    c.identity = string_claim(*payload, "sub");
    c.name = string_claim(*payload, "name");
    c.metadata = string_claim(*payload, "metadata");
    c.sha256 = string_claim(*payload, "sha256");
    c.not_before = numeric_date(*payload, "nbf");
    c.expires = numeric_date(*payload, "exp");
    if (auto it = payload->find("video"); it != payload->end() && !it->value().is_null()) {
      if (!it->value().is_object()) return fail("video must be an object");
      c.video = parse_video(it->value().as_object());
    }
  } catch (const BadClaim& bad) {
    return fail(bad.what);
  }
  if (c.api_key.empty()) return fail("missing iss (API key)");
  auto secret = secrets(c.api_key);
  if (!secret) return fail("unknown API key");
  std::string expected = hmac_sha256(*secret, token.substr(0, dot2));
  if (signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0)
    return fail("bad signature");
  // Times are checked only once the signature holds, so they can be trusted.
  if (c.expires == 0) return fail("missing exp");
  if (now_s > c.expires + kClockLeewaySeconds) return fail("token expired");
  if (c.not_before && now_s + kClockLeewaySeconds < c.not_before)
    return fail("token not yet valid");
  return VerifyResult{std::move(c), {}};
}

}  // namespace atrium::livekit
