#include "rtcauth/requests.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"

namespace atrium::rtcauth {
namespace {

// Element Call's /get_token body (src/livekit/auth/openID.ts).
const std::string kOpenId =
    R"("openid_token":{"access_token":"tok","token_type":"Bearer","matrix_server_name":"hs","expires_in":3600})";
const std::string kMember =
    R"("member":{"id":"m1","claimed_user_id":"@u:hs","claimed_device_id":"DEV"})";
const std::string kGetToken =
    R"({"room_id":"!r:hs","slot_id":"m.call#ROOM",)" + kOpenId + "," + kMember;
const std::string kDelay =
    R"("delay_id":"d1","delay_timeout":10000,"delay_cs_api_url":"https://hs")";

std::string errcode_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const MatrixError& e) {
    return std::string(e.code()) + " " + std::to_string(e.http_status());
  }
  return "no error";
}

TEST(Requests, GetTokenWithoutDelay) {
  auto r = parse_token_request(kGetToken + "}");
  EXPECT_EQ(r.room_id, "!r:hs");
  EXPECT_EQ(r.slot_id, "m.call#ROOM");
  EXPECT_EQ(r.openid_token.access_token, "tok");
  EXPECT_EQ(r.openid_token.matrix_server_name, "hs");
  EXPECT_EQ(r.openid_token.expires_in, 3600);
  EXPECT_EQ(r.member.claimed_user_id, "@u:hs");
  EXPECT_FALSE(r.delay.requested());
}

TEST(Requests, GetTokenWithDelay) {
  auto r = parse_token_request(kGetToken + "," + kDelay + "}");
  EXPECT_TRUE(r.delay.requested());
  EXPECT_EQ(r.delay.delay_id, "d1");
  EXPECT_EQ(r.delay.timeout_ms, 10000);
}

TEST(Requests, UnknownFieldsAreNotJson) {
  EXPECT_EQ(errcode_of([] { parse_token_request(kGetToken + R"(,"extra":1})"); }),
            "M_NOT_JSON 400");
  // Nested too, as Go's DisallowUnknownFields does.
  std::string nested =
      R"({"room_id":"!r:hs","slot_id":"s",)" + kOpenId +
      R"(,"member":{"id":"m","claimed_user_id":"@u:hs","claimed_device_id":"D","x":true}})";
  EXPECT_EQ(errcode_of([&] { parse_token_request(nested); }), "M_NOT_JSON 400");
  // The legacy endpoint does not know member.
  EXPECT_EQ(errcode_of([] {
              parse_legacy_token_request(R"({"room":"!r:hs",)" + kOpenId + "," + kMember + "}");
            }),
            "M_NOT_JSON 400");
}

TEST(Requests, WrongTypesAndNonJsonAreNotJson) {
  EXPECT_EQ(errcode_of([] { parse_token_request(""); }), "M_NOT_JSON 400");
  EXPECT_EQ(errcode_of([] { parse_token_request("{"); }), "M_NOT_JSON 400");
  EXPECT_EQ(errcode_of([] { parse_token_request("[]"); }), "M_NOT_JSON 400");
  EXPECT_EQ(errcode_of([] { parse_token_request(R"({"room_id":5})"); }), "M_NOT_JSON 400");
  EXPECT_EQ(errcode_of([] { parse_token_request(kGetToken + R"(,"delay_timeout":1.5})"); }),
            "M_NOT_JSON 400");
  EXPECT_EQ(errcode_of([] { parse_token_request(kGetToken + R"(,"delay_timeout":"10"})"); }),
            "M_NOT_JSON 400");
}

TEST(Requests, MissingFieldsAreBadJson) {
  EXPECT_EQ(errcode_of([] { parse_token_request("{}"); }), "M_BAD_JSON 400");
  EXPECT_EQ(errcode_of([] { parse_token_request("null"); }), "M_BAD_JSON 400");
  EXPECT_EQ(errcode_of([] {
              parse_token_request(R"({"room_id":"!r:hs",)" + kOpenId + "," + kMember + "}");
            }),
            "M_BAD_JSON 400");
  EXPECT_EQ(errcode_of([] {
              parse_token_request(R"({"room_id":"!r:hs","slot_id":"s",)" + kOpenId + "}");
            }),
            "M_BAD_JSON 400");
  EXPECT_EQ(errcode_of([] {
              parse_token_request(
                  R"({"room_id":"!r:hs","slot_id":"s","openid_token":{"access_token":"t"},)" +
                  kMember + "}");
            }),
            "M_BAD_JSON 400");
  EXPECT_EQ(errcode_of([] { parse_legacy_token_request(R"({"openid_token":{}})"); }),
            "M_BAD_JSON 400");
}

TEST(Requests, DelayFieldsComeTogether) {
  EXPECT_EQ(errcode_of([] { parse_token_request(kGetToken + R"(,"delay_id":"d1"})"); }),
            "M_BAD_JSON 400");
  EXPECT_EQ(errcode_of([] {
              parse_token_request(kGetToken + R"(,"delay_id":"d1","delay_timeout":1000})");
            }),
            "M_BAD_JSON 400");
  EXPECT_EQ(errcode_of([] { parse_token_request(kGetToken + R"(,"delay_timeout":1000})"); }),
            "M_BAD_JSON 400");
  EXPECT_EQ(errcode_of([] {
              parse_legacy_token_request(R"({"room":"!r:hs","device_id":"D",)" + kOpenId +
                                         R"(,"delay_id":"d"})");
            }),
            "M_BAD_JSON 400");
  // Nulls are absent.
  auto r = parse_token_request(kGetToken + R"(,"delay_id":null,"delay_timeout":null})");
  EXPECT_FALSE(r.delay.requested());
}

TEST(Requests, DelegateNeedsTheDelayFields) {
  EXPECT_EQ(errcode_of([] { parse_delegate_request(kGetToken + "}"); }), "M_BAD_JSON 400");
  auto r = parse_delegate_request(kGetToken + "," + kDelay + "}");
  EXPECT_EQ(r.delay.timeout_ms, 10000);
}

TEST(Requests, LegacyShape) {
  auto r = parse_legacy_token_request(R"({"room":"!r:hs","device_id":"DEV",)" + kOpenId + "," +
                                      kDelay + "}");
  EXPECT_EQ(r.room, "!r:hs");
  EXPECT_EQ(r.device_id, "DEV");
  EXPECT_TRUE(r.delay.requested());
}

}  // namespace
}  // namespace atrium::rtcauth
