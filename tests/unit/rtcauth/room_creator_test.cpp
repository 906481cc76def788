// TwirpRoomCreator: the CreateRoom call lk-jwt-service makes, aimed at the
// SFU named by livekit_url and authorised with roomCreate.
#include "rtcauth/room_creator.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace atrium::rtcauth {
namespace {

class NoClient : public net::HttpClient {
 public:
  void request(net::ClientRequest, net::ClientCallback) override {}
};

TEST(RoomCreator, DerivesTheTwirpUrlFromLivekitUrl) {
  EXPECT_EQ(create_room_url("wss://sfu.example/livekit/sfu"),
            "https://sfu.example/livekit/sfu/twirp/livekit.RoomService/CreateRoom");
  EXPECT_EQ(create_room_url("ws://127.0.0.1:8008/livekit/sfu/"),
            "http://127.0.0.1:8008/livekit/sfu/twirp/livekit.RoomService/CreateRoom");
  EXPECT_EQ(create_room_url("https://sfu.example"),
            "https://sfu.example/twirp/livekit.RoomService/CreateRoom");
  EXPECT_EQ(create_room_url("sfu.example"), "");
}

TEST(RoomCreator, SendsCreateRoomWithARoomCreateToken) {
  const std::string secret = "0123456789abcdef0123456789abcdef-secret";
  NoClient client;
  TwirpRoomCreator creator(client, "wss://sfu.example/livekit/sfu", "APIkey", secret);
  auto request = creator.request_for("alias", 1'800'000'000);
  EXPECT_EQ(request.method, net::Method::post);
  EXPECT_EQ(request.url, "https://sfu.example/livekit/sfu/twirp/livekit.RoomService/CreateRoom");
  auto body = boost::json::parse(request.body).as_object();
  EXPECT_EQ(body.at("name").as_string(), "alias");
  EXPECT_EQ(body.at("empty_timeout").as_int64(), 300);
  EXPECT_EQ(body.at("departure_timeout").as_int64(), 20);
  std::string auth;
  for (const auto& [k, v] : request.headers)
    if (k == "Authorization") auth = v;
  ASSERT_TRUE(auth.starts_with("Bearer "));
  auto verified = verify_token(
      auth.substr(7),
      [&](std::string_view key) -> std::optional<std::string> {
        if (key == "APIkey") return secret;
        return std::nullopt;
      },
      1'800'000'000);
  ASSERT_TRUE(verified.claims) << verified.error;
  ASSERT_TRUE(verified.claims->video);
  EXPECT_TRUE(verified.claims->video->room_create);
  EXPECT_FALSE(verified.claims->video->room_join);
}

}  // namespace
}  // namespace atrium::rtcauth
