// RoomService's Twirp handling without HTTP: authentication, LiveKit's grant
// checks, Twirp error codes and statuses, JSON and protobuf bodies.
#include "livekit/room_service.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <ctime>

#include "livekit/proto/livekit_room.pb.h"

namespace atrium::livekit {
namespace {

namespace lk = ::livekit;

const std::string kKey = "APIkey";
const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";

class RoomServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    media::MediaServerConfig config;
    config.workers = 1;
    config.ice_tcp = false;
    media_ = media::MediaServer::start(config, &error);
    ASSERT_TRUE(media_) << error;
    SignalServiceOptions options;
    options.secrets = secrets();
    signal_ = std::make_unique<SignalService>(options, *media_);
    service_ = std::make_unique<RoomService>(*signal_, secrets());
  }
  void TearDown() override {
    service_.reset();
    signal_.reset();
    media_.reset();
  }

  static SecretLookup secrets() {
    return [](std::string_view key) -> std::optional<std::string> {
      if (key == kKey) return kSecret;
      return std::nullopt;
    };
  }

  static std::string token(VideoGrant grant, const std::string& secret = kSecret) {
    AccessClaims claims;
    claims.api_key = kKey;
    claims.identity = "admin";
    claims.expires = std::time(nullptr) + 60;
    claims.video = std::move(grant);
    return mint_token(claims, secret);
  }
  static VideoGrant create() {
    VideoGrant g;
    g.room_create = true;
    return g;
  }
  static VideoGrant admin(const std::string& room) {
    VideoGrant g;
    g.room_admin = true;
    g.room = room;
    return g;
  }

  net::Response call(const std::string& method, const std::string& body,
                     std::optional<std::string> bearer,
                     const std::string& type = "application/json") {
    net::Request request;
    request.body = body;
    request.headers.emplace_back("content-type", type);
    if (bearer) request.headers.emplace_back("authorization", "Bearer " + *bearer);
    return service_->call(method, request);
  }
  static std::string code(const net::Response& r) {
    auto v = boost::json::parse(r.body);
    return std::string(v.at("code").as_string());
  }

  std::unique_ptr<media::MediaServer> media_;
  std::unique_ptr<SignalService> signal_;
  std::unique_ptr<RoomService> service_;
};

TEST_F(RoomServiceTest, RefusesMissingOrBadTokens) {
  auto r = call("ListRooms", "{}", std::nullopt);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(code(r), "unauthenticated");
  r = call("ListRooms", "{}", token(create(), "another-secret-another-secret-another"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(code(r), "unauthenticated");
}

TEST_F(RoomServiceTest, ChecksGrantsAsLiveKitDoes) {
  VideoGrant join;
  join.room_join = true;
  join.room = "r";
  EXPECT_EQ(call("CreateRoom", R"({"name":"r"})", token(join)).status, 403);
  EXPECT_EQ(code(call("ListRooms", "{}", token(create()))), "permission_denied");
  EXPECT_EQ(call("DeleteRoom", R"({"room":"r"})", token(admin("r"))).status, 403);
  // roomAdmin only counts for the room it names.
  ASSERT_EQ(call("CreateRoom", R"({"name":"r"})", token(create())).status, 200);
  EXPECT_EQ(call("ListParticipants", R"({"room":"r"})", token(admin("other"))).status, 403);
  EXPECT_EQ(call("ListParticipants", R"({"room":"r"})", token(admin("r"))).status, 200);
  EXPECT_EQ(call("ListParticipants", R"({"room":"r"})", token(join)).status, 403);
}

TEST_F(RoomServiceTest, CreatesListsAndDeletesRooms) {
  // camelCase and proto names both parse; unknown fields are ignored.
  auto r =
      call("CreateRoom", R"({"name":"r1","emptyTimeout":60,"futureField":true})", token(create()));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  auto room = boost::json::parse(r.body).as_object();
  EXPECT_EQ(room.at("name").as_string(), "r1");
  EXPECT_TRUE(room.at("sid").as_string().starts_with("RM_"));

  VideoGrant list;
  list.room_list = true;
  r = call("ListRooms", "", token(list));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(boost::json::parse(r.body).at("rooms").as_array().size(), 1u);
  r = call("ListRooms", R"({"names":["other"]})", token(list));
  EXPECT_EQ(boost::json::parse(r.body).at("rooms").as_array().size(), 0u);

  EXPECT_EQ(call("DeleteRoom", R"({"room":"r1"})", token(create())).status, 200);
  r = call("DeleteRoom", R"({"room":"r1"})", token(create()));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(code(r), "not_found");
}

TEST_F(RoomServiceTest, SpeaksProtobuf) {
  lk::CreateRoomRequest in;
  in.set_name("pb");
  auto r = call("CreateRoom", in.SerializeAsString(), token(create()), "application/protobuf");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/protobuf");
  lk::Room room;
  ASSERT_TRUE(room.ParseFromString(r.body));
  EXPECT_EQ(room.name(), "pb");
}

TEST_F(RoomServiceTest, ReportsBadRequests) {
  auto r = call("CreateRoom", "{not json", token(create()));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(code(r), "malformed");
  r = call("CreateRoom", "{}", token(create()));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(code(r), "invalid_argument");
  r = call("Nope", "{}", token(create()));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(code(r), "bad_route");
  r = call("ListParticipants", R"({"room":"absent"})", token(admin("absent")));
  EXPECT_EQ(r.status, 404);
  ASSERT_EQ(call("CreateRoom", R"({"name":"r"})", token(create())).status, 200);
  r = call("RemoveParticipant", R"({"room":"r","identity":"ghost"})", token(admin("r")));
  EXPECT_EQ(r.status, 404);
  r = call("GetParticipant", R"({"room":"r","identity":"ghost"})", token(admin("r")));
  EXPECT_EQ(r.status, 404);
  r = call("UpdateParticipant", R"({"room":"r","identity":"x","permission":{"canPublish":false}})",
           token(admin("r")));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(code(r), "not_found");
  r = call("UpdateSubscriptions", R"({"room":"r","identity":"x","trackSids":["TR_x"]})",
           token(admin("r")));
  EXPECT_EQ(r.status, 404);
  r = call("UpdateRoomMetadata", R"({"room":"absent","metadata":"m"})", token(admin("absent")));
  EXPECT_EQ(r.status, 404);
  r = call("PerformRpc", R"({"room":"r"})", token(admin("r")));
  EXPECT_EQ(r.status, 501);
  EXPECT_EQ(code(r), "unimplemented");
}

TEST(TwirpError, HasTwirpShape) {
  auto r = twirp_error("permission_denied", "no \"grant\"");
  EXPECT_EQ(r.status, 403);
  auto v = boost::json::parse(r.body).as_object();
  EXPECT_EQ(v.at("code").as_string(), "permission_denied");
  EXPECT_EQ(v.at("msg").as_string(), "no \"grant\"");
  EXPECT_EQ(twirp_error("internal", "x").status, 500);
}

}  // namespace
}  // namespace atrium::livekit
