#include "livekit/token.hpp"

#include <gtest/gtest.h>

#include "base/encoding.hpp"

namespace atrium::livekit {
namespace {

const std::string kKey = "APIkey";
const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";
constexpr int64_t kNow = 1'800'000'000;

SecretLookup secrets() {
  return [](std::string_view key) -> std::optional<std::string> {
    if (key == kKey) return kSecret;
    return std::nullopt;
  };
}

AccessClaims sample_claims() {
  AccessClaims c;
  c.api_key = kKey;
  c.identity = "alice-identity";
  c.not_before = kNow;
  c.expires = kNow + 600;
  VideoGrant v;
  v.room = "room-alias";
  v.room_join = true;
  v.can_publish = false;
  v.can_subscribe = true;
  v.can_update_own_metadata = true;
  c.video = v;
  return c;
}

std::string b64url(std::string_view s) {
  return base64_encode(s, true, false);
}

TEST(Jwt, MintedTokenVerifiesWithItsGrants) {
  auto token = mint_token(sample_claims(), kSecret);
  auto r = verify_token(token, secrets(), kNow + 10);
  ASSERT_TRUE(r.claims) << r.error;
  EXPECT_EQ(r.claims->api_key, kKey);
  EXPECT_EQ(r.claims->identity, "alice-identity");
  EXPECT_EQ(r.claims->expires, kNow + 600);
  ASSERT_TRUE(r.claims->video);
  EXPECT_EQ(r.claims->video->room, "room-alias");
  EXPECT_TRUE(r.claims->video->room_join);
  EXPECT_FALSE(r.claims->video->room_create);
  EXPECT_FALSE(r.claims->video->may_publish());
  EXPECT_FALSE(r.claims->video->may_publish_data());  // follows canPublish when absent
  EXPECT_TRUE(r.claims->video->may_subscribe());
  EXPECT_TRUE(r.claims->video->may_update_own_metadata());
}

TEST(Jwt, HeaderIsHs256WithoutKid) {
  auto token = mint_token(sample_claims(), kSecret);
  auto header = base64_decode(token.substr(0, token.find('.')));
  ASSERT_TRUE(header);
  EXPECT_EQ(std::string(header->begin(), header->end()), R"({"alg":"HS256","typ":"JWT"})");
}

TEST(Jwt, TamperedSignatureIsRefused) {
  auto token = mint_token(sample_claims(), kSecret);
  token.back() = token.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_token(token, secrets(), kNow).claims);
}

TEST(Jwt, TamperedPayloadIsRefused) {
  auto token = mint_token(sample_claims(), kSecret);
  auto first = token.find('.');
  auto second = token.find('.', first + 1);
  auto c = sample_claims();
  c.video->can_publish = true;
  auto forged = mint_token(c, kSecret);
  auto forged_payload =
      forged.substr(forged.find('.') + 1, forged.rfind('.') - forged.find('.') - 1);
  std::string spliced = token.substr(0, first + 1) + forged_payload + token.substr(second);
  auto r = verify_token(spliced, secrets(), kNow);
  EXPECT_FALSE(r.claims);
  EXPECT_EQ(r.error, "bad signature");
}

TEST(Jwt, WrongSecretAndUnknownKeyAreRefused) {
  auto token = mint_token(sample_claims(), "another-secret-another-secret-another");
  EXPECT_EQ(verify_token(token, secrets(), kNow).error, "bad signature");
  auto c = sample_claims();
  c.api_key = "otherkey";
  EXPECT_EQ(verify_token(mint_token(c, kSecret), secrets(), kNow).error, "unknown API key");
}

TEST(Jwt, ExpiryAndNotBeforeHonourTheLeeway) {
  auto token = mint_token(sample_claims(), kSecret);
  EXPECT_TRUE(verify_token(token, secrets(), kNow + 600 + kClockLeewaySeconds).claims);
  EXPECT_EQ(verify_token(token, secrets(), kNow + 601 + kClockLeewaySeconds).error,
            "token expired");
  EXPECT_TRUE(verify_token(token, secrets(), kNow - kClockLeewaySeconds).claims);
  EXPECT_EQ(verify_token(token, secrets(), kNow - kClockLeewaySeconds - 1).error,
            "token not yet valid");
}

TEST(Jwt, MissingExpIsRefused) {
  auto c = sample_claims();
  c.expires = 0;
  EXPECT_EQ(verify_token(mint_token(c, kSecret), secrets(), kNow).error, "missing exp");
}

TEST(Jwt, AlgNoneAndOtherAlgorithmsAreRefused) {
  std::string payload = b64url(R"({"iss":"APIkey","sub":"x","exp":1900000000})");
  EXPECT_EQ(verify_token(b64url(R"({"alg":"none"})") + "." + payload + ".", secrets(), kNow).error,
            "alg must be HS256");
  // Same payload signed correctly, but the header claims HS512.
  auto token = mint_token(sample_claims(), kSecret);
  std::string hs512 = b64url(R"({"alg":"HS512","typ":"JWT"})") + token.substr(token.find('.'));
  EXPECT_EQ(verify_token(hs512, secrets(), kNow).error, "alg must be HS256");
}

TEST(Jwt, MalformedTokensAreRefusedWithoutThrowing) {
  for (std::string bad : {"", ".", "..", "a.b", "a.b.c.d", "!!!.e30.", "e30.e30.e30",
                          "e30=.e30.AAAA", "W10.e30.", "eyJhbGciOiJIUzI1NiJ9.W10.AA"}) {
    auto r = verify_token(bad, secrets(), kNow);
    EXPECT_FALSE(r.claims) << bad;
    EXPECT_FALSE(r.error.empty()) << bad;
  }
}

TEST(Jwt, GrantsOfWrongTypeAreRefused) {
  std::string header = b64url(R"({"alg":"HS256","typ":"JWT"})");
  std::string payload = b64url(R"({"iss":"APIkey","exp":1800000600,"video":{"roomJoin":"yes"}})");
  // Sign by minting a token and replacing its payload is not possible, so
  // go through the public API: a bad grant type fails before the signature.
  auto r = verify_token(header + "." + payload + ".AAAA", secrets(), kNow);
  EXPECT_FALSE(r.claims);
  EXPECT_NE(r.error.find("roomJoin"), std::string::npos);
}

TEST(Jwt, PublishSourcesRestrictPublishing) {
  VideoGrant v;
  EXPECT_TRUE(v.may_publish_source("camera"));
  v.can_publish_sources = {"microphone"};
  EXPECT_FALSE(v.may_publish_source("camera"));
  EXPECT_TRUE(v.may_publish_source("microphone"));
  v.can_publish = false;
  EXPECT_FALSE(v.may_publish_source("microphone"));
}

}  // namespace
}  // namespace atrium::livekit
