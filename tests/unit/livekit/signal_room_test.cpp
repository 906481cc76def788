// SignalRoom's signalling behaviour with fake WebSockets: what a joining
// client is told, what the others hear, grants, pings, leaves and duplicate
// identities. Media is not connected here (the e2e tests do that).
#include "livekit/signal_room.hpp"

#include <gtest/gtest.h>

#include <future>
#include <mutex>

namespace atrium::livekit {
namespace {

namespace lk = ::livekit;

class FakeSocket : public net::WebSocket {
 public:
  void send_binary(std::string bytes) override {
    std::lock_guard lock(mutex_);
    sent_.push_back(std::move(bytes));
  }
  void send_text(std::string text) override { send_binary(std::move(text)); }
  void close(uint16_t code, std::string) override {
    std::lock_guard lock(mutex_);
    close_code_ = code;
  }
  const std::string& remote_address() const override { return address_; }

  std::vector<lk::SignalResponse> responses() {
    std::lock_guard lock(mutex_);
    std::vector<lk::SignalResponse> out;
    for (const auto& bytes : sent_) {
      lk::SignalResponse response;
      EXPECT_TRUE(response.ParseFromString(bytes));
      out.push_back(response);
    }
    return out;
  }
  std::optional<uint16_t> close_code() {
    std::lock_guard lock(mutex_);
    return close_code_;
  }
  // The responses of one kind, in order.
  std::vector<lk::SignalResponse> of(lk::SignalResponse::MessageCase kind) {
    std::vector<lk::SignalResponse> out;
    for (auto& r : responses())
      if (r.message_case() == kind) out.push_back(r);
    return out;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> sent_;
  std::optional<uint16_t> close_code_;
  std::string address_ = "127.0.0.1";
};

class SignalRoomTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    media::MediaServerConfig config;
    config.workers = 1;
    config.ice_tcp = false;
    media_ = media::MediaServer::start(config, &error);
    ASSERT_TRUE(media_) << error;
    RoomEvents events;
    events.participant_joined = [this](const lk::Room&, const lk::ParticipantInfo& p) {
      joined_.push_back(p.identity());
    };
    events.participant_left = [this](const lk::Room&, const lk::ParticipantInfo& p, bool aborted) {
      left_.push_back(p.identity() + (aborted ? " aborted" : ""));
    };
    on_loop([&] { room_ = std::make_unique<SignalRoom>("room1", *media_, 0, events); });
  }
  void TearDown() override {
    on_loop([&] { room_.reset(); });
    media_.reset();
  }

  // Runs fn on the room's worker and waits.
  template <typename Fn>
  void on_loop(Fn fn) {
    std::promise<void> done;
    media_->worker_loop(0).post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  std::string join(const std::string& identity, std::shared_ptr<FakeSocket> socket,
                   VideoGrant grant = default_grant()) {
    JoinParameters parameters;
    parameters.identity = identity;
    parameters.name = identity + " name";
    parameters.grant = grant;
    std::string sid;
    on_loop([&] { sid = room_->join(parameters, socket); });
    return sid;
  }

  static VideoGrant default_grant() {
    VideoGrant grant;
    grant.room = "room1";
    grant.room_join = true;
    return grant;
  }

  void handle(const std::string& sid, const lk::SignalRequest& request) {
    on_loop([&] { room_->handle(sid, request); });
  }

  std::unique_ptr<media::MediaServer> media_;
  std::unique_ptr<SignalRoom> room_;
  std::vector<std::string> joined_, left_;
};

TEST_F(SignalRoomTest, JoinResponseComesFirstAndSaysWhatClientsNeed) {
  auto socket = std::make_shared<FakeSocket>();
  std::string sid = join("alice", socket);
  EXPECT_EQ(sid.rfind("PA_", 0), 0u);
  auto responses = socket->responses();
  ASSERT_FALSE(responses.empty());
  ASSERT_TRUE(responses[0].has_join());
  const lk::JoinResponse& join = responses[0].join();
  EXPECT_EQ(join.room().name(), "room1");
  EXPECT_EQ(join.room().sid().rfind("RM_", 0), 0u);
  EXPECT_EQ(join.participant().sid(), sid);
  EXPECT_EQ(join.participant().identity(), "alice");
  EXPECT_EQ(join.participant().name(), "alice name");
  EXPECT_TRUE(join.participant().permission().can_publish());
  EXPECT_FALSE(join.server_info().version().empty());
  EXPECT_FALSE(join.server_version().empty());
  EXPECT_TRUE(join.subscriber_primary());
  EXPECT_GT(join.ping_interval(), 0);
  EXPECT_GT(join.ping_timeout(), join.ping_interval());
  EXPECT_EQ(join.client_configuration().resume_connection(), lk::DISABLED);
  // Then the subscriber connection's first offer (data channels).
  auto offers = socket->of(lk::SignalResponse::kOffer);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_NE(offers[0].offer().sdp().find("m=application"), std::string::npos);
  EXPECT_EQ(offers[0].offer().type(), "offer");
  EXPECT_EQ(joined_, (std::vector<std::string>{"alice"}));
}

TEST_F(SignalRoomTest, OthersAreToldAboutJoinsAndLeaves) {
  auto alice = std::make_shared<FakeSocket>();
  auto bob = std::make_shared<FakeSocket>();
  std::string alice_sid = join("alice", alice);
  std::string bob_sid = join("bob", bob);
  // Bob's join lists Alice; Alice hears about Bob.
  auto bob_join = bob->of(lk::SignalResponse::kJoin);
  ASSERT_EQ(bob_join.size(), 1u);
  ASSERT_EQ(bob_join[0].join().other_participants_size(), 1);
  EXPECT_EQ(bob_join[0].join().other_participants(0).identity(), "alice");
  bool told = false;
  for (auto& update : alice->of(lk::SignalResponse::kUpdate))
    for (auto& p : update.update().participants())
      told |= p.identity() == "bob";
  EXPECT_TRUE(told);

  lk::SignalRequest leave;
  leave.mutable_leave()->set_reason(lk::CLIENT_INITIATED);
  handle(bob_sid, leave);
  bool disconnected = false;
  uint32_t last_version = 0;
  for (auto& update : alice->of(lk::SignalResponse::kUpdate)) {
    for (auto& p : update.update().participants()) {
      if (p.identity() != "bob") continue;
      EXPECT_GT(p.version(), last_version);  // versions only grow
      last_version = p.version();
      disconnected |= p.state() == lk::ParticipantInfo::DISCONNECTED;
    }
  }
  EXPECT_TRUE(disconnected);
  EXPECT_EQ(left_, (std::vector<std::string>{"bob"}));
  on_loop([&] { EXPECT_EQ(room_->participant_count(), 1u); });
}

TEST_F(SignalRoomTest, AbortedConnectionIsReported) {
  auto alice = std::make_shared<FakeSocket>();
  std::string sid = join("alice", alice);
  on_loop([&] { room_->leave(sid, true, lk::SIGNAL_CLOSE); });
  EXPECT_EQ(left_, (std::vector<std::string>{"alice aborted"}));
}

TEST_F(SignalRoomTest, DuplicateIdentityReplacesTheOldSession) {
  auto first = std::make_shared<FakeSocket>();
  auto second = std::make_shared<FakeSocket>();
  std::string first_sid = join("alice", first);
  std::string second_sid = join("alice", second);
  EXPECT_NE(first_sid, second_sid);
  auto leaves = first->of(lk::SignalResponse::kLeave);
  ASSERT_EQ(leaves.size(), 1u);
  EXPECT_EQ(leaves[0].leave().reason(), lk::DUPLICATE_IDENTITY);
  EXPECT_TRUE(first->close_code());
  on_loop([&] { EXPECT_EQ(room_->participant_count(), 1u); });
  auto joins = second->of(lk::SignalResponse::kJoin);
  ASSERT_EQ(joins.size(), 1u);
  EXPECT_EQ(joins[0].join().other_participants_size(), 0);
}

TEST_F(SignalRoomTest, AddTrackIsAnsweredAndGrantsAreEnforced) {
  auto alice = std::make_shared<FakeSocket>();
  std::string sid = join("alice", alice);
  lk::SignalRequest request;
  auto& add = *request.mutable_add_track();
  add.set_cid("local-video-1");
  add.set_type(lk::VIDEO);
  add.set_source(lk::CAMERA);
  add.set_width(640);
  add.set_height(480);
  add.mutable_layers()->Add()->set_quality(lk::LOW);
  add.mutable_layers()->Add()->set_quality(lk::MEDIUM);
  add.add_simulcast_codecs()->set_codec("vp8");
  handle(sid, request);
  auto published = alice->of(lk::SignalResponse::kTrackPublished);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].track_published().cid(), "local-video-1");
  const auto& track = published[0].track_published().track();
  EXPECT_EQ(track.sid().rfind("TR_", 0), 0u);
  EXPECT_TRUE(track.simulcast());
  ASSERT_EQ(track.codecs_size(), 1);
  EXPECT_EQ(track.codecs(0).mime_type(), "video/vp8");  // clients split at '/'
  // The same cid again is refused.
  handle(sid, request);
  EXPECT_EQ(alice->of(lk::SignalResponse::kTrackPublished).size(), 1u);

  // No canPublish: NOT_ALLOWED, nothing published.
  auto bob = std::make_shared<FakeSocket>();
  VideoGrant grant = default_grant();
  grant.can_publish = false;
  std::string bob_sid = join("bob", bob, grant);
  handle(bob_sid, request);
  EXPECT_TRUE(bob->of(lk::SignalResponse::kTrackPublished).empty());
  auto refused = bob->of(lk::SignalResponse::kRequestResponse);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].request_response().reason(), lk::RequestResponse::NOT_ALLOWED);

  // canPublishSources restricts: camera allowed, microphone not.
  auto carol = std::make_shared<FakeSocket>();
  grant = default_grant();
  grant.can_publish_sources = {"camera"};
  std::string carol_sid = join("carol", carol, grant);
  lk::SignalRequest mic;
  mic.mutable_add_track()->set_cid("mic");
  mic.mutable_add_track()->set_type(lk::AUDIO);
  mic.mutable_add_track()->set_source(lk::MICROPHONE);
  handle(carol_sid, mic);
  EXPECT_TRUE(carol->of(lk::SignalResponse::kTrackPublished).empty());
  handle(carol_sid, request);
  EXPECT_EQ(carol->of(lk::SignalResponse::kTrackPublished).size(), 1u);
}

TEST_F(SignalRoomTest, PingsAreAnswered) {
  auto alice = std::make_shared<FakeSocket>();
  std::string sid = join("alice", alice);
  lk::SignalRequest ping;
  ping.mutable_ping_req()->set_timestamp(12345);
  handle(sid, ping);
  lk::SignalRequest legacy;
  legacy.set_ping(777);
  handle(sid, legacy);
  auto pongs = alice->of(lk::SignalResponse::kPongResp);
  ASSERT_EQ(pongs.size(), 1u);
  EXPECT_EQ(pongs[0].pong_resp().last_ping_timestamp(), 12345);
  EXPECT_GT(pongs[0].pong_resp().timestamp(), 0);
  auto legacy_pongs = alice->of(lk::SignalResponse::kPong);
  ASSERT_EQ(legacy_pongs.size(), 1u);
  EXPECT_EQ(legacy_pongs[0].pong(), 777);
}

TEST_F(SignalRoomTest, MetadataUpdatesNeedTheGrant) {
  auto alice = std::make_shared<FakeSocket>();
  std::string sid = join("alice", alice);
  lk::SignalRequest request;
  request.mutable_update_metadata()->set_metadata("hello");
  request.mutable_update_metadata()->set_request_id(5);
  handle(sid, request);
  auto refused = alice->of(lk::SignalResponse::kRequestResponse);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].request_response().request_id(), 5u);
  EXPECT_EQ(refused[0].request_response().reason(), lk::RequestResponse::NOT_ALLOWED);

  auto bob = std::make_shared<FakeSocket>();
  VideoGrant grant = default_grant();
  grant.can_update_own_metadata = true;
  std::string bob_sid = join("bob", bob, grant);
  handle(bob_sid, request);
  on_loop([&] { EXPECT_EQ(room_->participant("bob")->metadata(), "hello"); });
}

}  // namespace
}  // namespace atrium::livekit
