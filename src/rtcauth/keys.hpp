#pragma once
// The LiveKit API key pair shared by the auth service and the SFU.
#include <string>

#include "base/config.hpp"

namespace atrium::rtcauth {

struct ApiKeyPair {
  std::string key;
  std::string secret;
};

inline constexpr size_t kMinSecretBytes = 32;  // LiveKit refuses shorter secrets

// From rtc_auth.livekit_key/livekit_secret (or their *_file forms); with
// none configured, from <data_dir>/rtc_auth_key.json, created (0600) with a
// random pair on first use so that `atrium serve` works with no setup.
// Throws std::runtime_error naming the key on a half-configured pair, an
// unreadable file or a secret shorter than 32 bytes.
ApiKeyPair load_api_key_pair(const RtcAuthConfig& config, const std::string& data_dir);

}  // namespace atrium::rtcauth
