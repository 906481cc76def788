#include "matrix/event.hpp"

#include <sodium.h>

#include <algorithm>
#include <initializer_list>
#include <stdexcept>

#include "base/encoding.hpp"
#include "matrix/canonical_json.hpp"

namespace atrium::matrix {

namespace {

// Top-level keys that survive redaction. v11 (MSC2176) stopped protecting
// `origin`, `membership` and `prev_state`.
bool is_preserved_top_level_key(std::string_view key, const RoomVersion& version) {
  static constexpr std::array<std::string_view, 12> kCommon = {
      "event_id", "type",       "room_id", "sender",      "state_key",   "content",
      "hashes",   "signatures", "depth",   "prev_events", "auth_events", "origin_server_ts"};
  if (std::find(kCommon.begin(), kCommon.end(), key) != kCommon.end()) return true;
  return !version.v11_rules && (key == "origin" || key == "membership" || key == "prev_state");
}

json::object redact_content(std::string_view type, const json::object& content,
                            const RoomVersion& version) {
  auto keep = [&content](std::initializer_list<std::string_view> keys) {
    json::object kept;
    for (std::string_view key : keys) {
      auto it = content.find(key);
      if (it != content.end()) kept[key] = it->value();
    }
    return kept;
  };
  const bool v11 = version.v11_rules;
  if (type == "m.room.member") {
    json::object kept = keep({"membership", "join_authorised_via_users_server"});
    // v11 (MSC3821) keeps only the signed part of a third-party invite.
    if (v11) {
      auto tpi = content.find("third_party_invite");
      if (tpi != content.end() && tpi->value().is_object()) {
        auto signed_it = tpi->value().get_object().find("signed");
        if (signed_it != tpi->value().get_object().end()) {
          kept["third_party_invite"] = json::object{{"signed", signed_it->value()}};
        }
      }
    }
    return kept;
  }
  if (type == "m.room.create") return v11 ? content : keep({"creator"});
  if (type == "m.room.join_rules") return keep({"join_rule", "allow"});
  if (type == "m.room.power_levels") {
    if (v11) {
      return keep({"ban", "events", "events_default", "invite", "kick", "redact", "state_default",
                   "users", "users_default"});
    }
    return keep({"ban", "events", "events_default", "kick", "redact", "state_default", "users",
                 "users_default"});
  }
  if (type == "m.room.history_visibility") return keep({"history_visibility"});
  if (type == "m.room.redaction" && v11) return keep({"redacts"});
  return {};
}

// The members a content hash does not cover.
constexpr std::array<std::string_view, 3> kUnhashed = {"unsigned", "signatures", "hashes"};

std::string sha256_base64(std::string_view bytes, bool url_safe) {
  auto digest = sha256(bytes);
  return base64_encode(std::span<const uint8_t>(digest.data(), digest.size()), url_safe);
}

// The canonical JSON of the redacted event without signatures: both what the
// server signs and what the reference hash (the event id) covers, since
// `unsigned` and `age_ts` never survive redaction.
std::string reference_json(const json::object& event, const RoomVersion& version) {
  return canonical_json_without(redact(event, version), {"signatures", "unsigned", "age_ts"});
}

void ensure_sodium() {
  // sodium_init is idempotent and thread-safe; it only fails if the OS RNG is unusable.
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw std::runtime_error("libsodium initialisation failed");
}

}  // namespace

std::string content_hash(const json::object& event) {
  return sha256_base64(canonical_json_without(event, kUnhashed), /*url_safe=*/false);
}

json::object redact(const json::object& event, const RoomVersion& version) {
  json::object redacted;
  for (const auto& kv : event) {
    if (kv.key() == "content" || !is_preserved_top_level_key(kv.key(), version)) continue;
    redacted[kv.key()] = kv.value();
  }
  // Like other servers, always emit a content object, so a PDU missing one
  // still hashes the same everywhere.
  json::object content;
  auto content_it = event.find("content");
  auto type_it = event.find("type");
  if (content_it != event.end() && content_it->value().is_object() && type_it != event.end() &&
      type_it->value().is_string()) {
    content =
        redact_content(type_it->value().get_string(), content_it->value().get_object(), version);
  }
  redacted["content"] = std::move(content);
  return redacted;
}

std::string compute_event_id(const json::object& event, const RoomVersion& version) {
  return "$" + sha256_base64(reference_json(event, version), /*url_safe=*/true);
}

SigningKey SigningKey::generate(std::string key_version) {
  ensure_sodium();
  std::array<uint8_t, crypto_sign_SEEDBYTES> seed{};
  randombytes_buf(seed.data(), seed.size());
  SigningKey key =
      from_seed(std::string_view(reinterpret_cast<const char*>(seed.data()), seed.size()),
                std::move(key_version));
  sodium_memzero(seed.data(), seed.size());
  return key;
}

SigningKey SigningKey::from_seed(std::string_view seed, std::string key_version) {
  static_assert(crypto_sign_SEEDBYTES == 32 && crypto_sign_PUBLICKEYBYTES == 32 &&
                crypto_sign_SECRETKEYBYTES == 64);
  if (seed.size() != crypto_sign_SEEDBYTES) {
    throw std::invalid_argument("ed25519 seed must be 32 bytes");
  }
  ensure_sodium();
  SigningKey key;
  key.version_ = std::move(key_version);
  std::copy(seed.begin(), seed.end(), key.seed_.begin());
  crypto_sign_seed_keypair(key.public_.data(), key.secret_.data(), key.seed_.data());
  return key;
}

std::string SigningKey::public_key_base64() const {
  return base64_encode(public_);
}

std::string SigningKey::sign(std::string_view message) const {
  std::array<uint8_t, crypto_sign_BYTES> signature{};
  crypto_sign_detached(signature.data(), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       secret_.data());
  return base64_encode(signature);
}

bool SigningKey::verify(std::string_view message, std::string_view signature_b64) const {
  auto signature = base64_decode(signature_b64);
  if (!signature || signature->size() != crypto_sign_BYTES) return false;
  return crypto_sign_verify_detached(signature->data(),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), public_.data()) == 0;
}

std::string finalize_event(json::object& event, std::string_view server_name, const SigningKey& key,
                           const RoomVersion& version, size_t* size) {
  const std::string hashed = canonical_json_without(event, kUnhashed);
  event["hashes"] = json::object{{"sha256", sha256_base64(hashed, /*url_safe=*/false)}};
  // "Signing JSON" over the redacted event: only the essential fields are
  // signed, so the signature survives a later redaction. The same bytes give
  // the event id, which the signature added below does not change.
  std::string reference = reference_json(event, version);
  std::string signature = key.sign(reference);

  json::value& signatures = event["signatures"];
  if (!signatures.is_object()) signatures = json::object{};
  json::value& by_server = signatures.get_object()[server_name];
  if (!by_server.is_object()) by_server = json::object{};
  by_server.get_object()[key.key_id()] = signature;
  if (size) {
    // The whole event's text is the hashed text plus the members it left out.
    *size = hashed.size();
    bool first = hashed.size() == 2;  // "{}"
    for (std::string_view name : kUnhashed) {
      auto it = event.find(name);
      if (it == event.end()) continue;
      *size += (first ? 0 : 1) + name.size() + 3 + canonical_json(it->value()).size();
      first = false;
    }
  }
  return "$" + sha256_base64(reference, /*url_safe=*/true);
}

size_t event_size(const json::object& event) {
  return canonical_json(event).size();
}

}  // namespace atrium::matrix
