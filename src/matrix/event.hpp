#pragma once
// The PDU format of room versions 10 and 11: content hashes, redaction,
// reference-hash event ids, ed25519 signatures, the size limit.
#include <boost/json.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "matrix/room_version.hpp"

namespace atrium::matrix {

namespace json = boost::json;

inline constexpr size_t kMaxEventBytes = 65536;

// Base64 (standard, unpadded) SHA-256 of the canonical JSON of the event
// without `unsigned`, `signatures` and `hashes`.
std::string content_hash(const json::object& event);

// The redaction algorithm of the room version: keeps only the allowed
// top-level keys and the allowed content keys for the event type.
json::object redact(const json::object& event, const RoomVersion& version);

// "$" + URL-safe unpadded base64 of the SHA-256 of the canonical JSON of the
// redacted event without `signatures`, `unsigned` and `age_ts`.
std::string compute_event_id(const json::object& event, const RoomVersion& version);

// An ed25519 server signing key (libsodium).
class SigningKey {
 public:
  static SigningKey generate(std::string key_version);
  // seed: 32 bytes. key_version: e.g. "a_AbCd" (key id is "ed25519:" + version).
  static SigningKey from_seed(std::string_view seed, std::string key_version);

  std::string key_id() const { return "ed25519:" + version_; }
  const std::string& version() const { return version_; }
  std::string seed() const { return std::string(seed_.begin(), seed_.end()); }
  std::string public_key_base64() const;  // standard unpadded
  // Base64 (standard, unpadded) signature of the bytes.
  std::string sign(std::string_view message) const;
  bool verify(std::string_view message, std::string_view signature_b64) const;

 private:
  std::string version_;
  std::array<uint8_t, 32> seed_{};
  std::array<uint8_t, 32> public_{};
  std::array<uint8_t, 64> secret_{};
};

// Completes a locally built PDU (room_id, sender, type, content, [state_key],
// origin_server_ts, depth, prev_events, auth_events already set): adds
// hashes.sha256 and signatures.{server}.{key_id}, and returns its event id
// (which is not stored in the PDU for these room versions). When `size` is
// given it receives event_size(event) of the result, counted from the text
// already encoded for the hash.
std::string finalize_event(json::object& event, std::string_view server_name, const SigningKey& key,
                           const RoomVersion& version, size_t* size = nullptr);

// Bytes of the canonical JSON of the event as sent over federation.
size_t event_size(const json::object& event);

}  // namespace atrium::matrix
