#include "rtcauth/webhook.hpp"

#include <gtest/gtest.h>

namespace atrium::rtcauth {
namespace {

const std::string kKey = "APIkey";
const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";
constexpr int64_t kNow = 1'800'000'000;
const std::string kBody =
    R"({"event":"participant_left","room":{"name":"ROOM","sid":"RM_1"},"participant":{"identity":"ID","sid":"PA_1"},"id":"EV_1","createdAt":"1800000000"})";

SecretLookup secrets() {
  return [](std::string_view key) -> std::optional<std::string> {
    if (key == kKey) return kSecret;
    return std::nullopt;
  };
}

TEST(Webhook, SignedEventIsAccepted) {
  auto r = verify_webhook(kBody, sign_webhook(kBody, kKey, kSecret, kNow), secrets(), kNow);
  ASSERT_TRUE(r.event) << r.error;
  EXPECT_EQ(r.event->event, "participant_left");
  EXPECT_EQ(r.event->room_name, "ROOM");
  EXPECT_EQ(r.event->participant_identity, "ID");
}

TEST(Webhook, ChangedBodyIsRefused) {
  auto auth = sign_webhook(kBody, kKey, kSecret, kNow);
  std::string changed = kBody;
  changed.replace(changed.find("ID"), 2, "XX");
  auto r = verify_webhook(changed, auth, secrets(), kNow);
  EXPECT_FALSE(r.event);
  EXPECT_EQ(r.error, "body does not match the sha256 claim");
}

TEST(Webhook, WrongSecretMissingHeaderAndExpiryAreRefused) {
  EXPECT_FALSE(verify_webhook(
                   kBody, sign_webhook(kBody, kKey, "x-other-secret-other-secret-other-secr", kNow),
                   secrets(), kNow)
                   .event);
  EXPECT_FALSE(verify_webhook(kBody, "", secrets(), kNow).event);
  EXPECT_FALSE(
      verify_webhook(kBody, sign_webhook(kBody, kKey, kSecret, kNow), secrets(), kNow + 3600)
          .event);
}

TEST(Webhook, TokenWithoutHashIsRefused) {
  AccessClaims c;
  c.api_key = kKey;
  c.expires = kNow + 60;
  auto r = verify_webhook(kBody, mint_token(c, kSecret), secrets(), kNow);
  EXPECT_FALSE(r.event);
}

TEST(Webhook, BearerPrefixIsTolerated) {
  auto r =
      verify_webhook(kBody, "Bearer " + sign_webhook(kBody, kKey, kSecret, kNow), secrets(), kNow);
  EXPECT_TRUE(r.event);
}

}  // namespace
}  // namespace atrium::rtcauth
