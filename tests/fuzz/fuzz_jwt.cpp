// The auth service's parsers see attacker-controlled input: JWTs (the SFU's
// access tokens, webhook signatures), webhook bodies and token requests.
// verify_token/verify_webhook must never throw; the request parsers may only
// throw MatrixError. Anything else, a crash or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "livekit/token.hpp"
#include "rtcauth/requests.hpp"
#include "rtcauth/webhook.hpp"

namespace {

const std::string kSecret = "fuzz-secret-fuzz-secret-fuzz-secret-42";

std::optional<std::string> lookup(std::string_view key) {
  if (key == "APIfuzz") return kSecret;
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  using namespace atrium::rtcauth;
  using namespace atrium::livekit;
  auto claims = verify_token(input, lookup, 1'800'000'000);
  if (claims.claims) (void)claims_to_json(*claims.claims);

  // Split at the first newline: "<authorization>\n<body>" for the webhook.
  auto nl = input.find('\n');
  std::string_view auth = input.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view{} : input.substr(nl + 1);
  (void)verify_webhook(body, auth, lookup, 1'800'000'000);

  try {
    (void)parse_token_request(input);
  } catch (const atrium::MatrixError&) {
  }
  try {
    (void)parse_legacy_token_request(input);
  } catch (const atrium::MatrixError&) {
  }
  try {
    (void)parse_delegate_request(input);
  } catch (const atrium::MatrixError&) {
  }
  return 0;
}
