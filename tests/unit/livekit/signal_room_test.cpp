// SignalRoom's signalling behaviour with fake WebSockets: what a joining
// client is told, what the others hear, grants, pings, leaves and duplicate
// identities. Media is not connected here (the e2e tests do that).
#include "livekit/signal_room.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <future>
#include <mutex>
#include <set>
#include <thread>

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
    events.room_started = [this](const lk::Room&) { ++started_; };
    events.room_finished = [this](const lk::Room&) { ++finished_; };
    events.track_unpublished = [this](const lk::Room&, const lk::ParticipantInfo&,
                                      const lk::TrackInfo& t) { unpublished_.push_back(t.sid()); };
    events_ = events;
    on_loop([&] { room_ = std::make_unique<SignalRoom>("room1", *media_, 0, events); });
  }
  // A fresh room with `config`.
  void recreate(SignalRoomConfig config) {
    on_loop([&] {
      room_.reset();
      room_ = std::make_unique<SignalRoom>("room1", *media_, 0, events_, std::move(config));
    });
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
    parameters.api_key = kKey;
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

  static SecretLookup secrets() {
    return [](std::string_view key) -> std::optional<std::string> {
      if (key == kKey) return std::string(kSecret);
      return std::nullopt;
    };
  }

  static constexpr char kKey[] = "APIkey";
  static constexpr char kSecret[] = "0123456789abcdef0123456789abcdef-secret";
  std::unique_ptr<media::MediaServer> media_;
  std::unique_ptr<SignalRoom> room_;
  RoomEvents events_;
  std::vector<std::string> joined_, left_, unpublished_;
  int started_ = 0, finished_ = 0;
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

TEST_F(SignalRoomTest, RefreshTokensCarryTheParticipantsClaims) {
  SignalRoomConfig config;
  config.secrets = secrets();
  config.token_refresh_interval = std::chrono::milliseconds(200);
  recreate(config);
  auto alice = std::make_shared<FakeSocket>();
  std::string sid = join("alice", alice);
  // One at once, at join.
  auto tokens = alice->of(lk::SignalResponse::kRefreshToken);
  ASSERT_EQ(tokens.size(), 1u);
  int64_t now = std::time(nullptr);
  auto verified = verify_token(tokens[0].refresh_token(), secrets(), now);
  ASSERT_TRUE(verified.claims) << verified.error;
  EXPECT_EQ(verified.claims->api_key, kKey);
  EXPECT_EQ(verified.claims->identity, "alice");
  EXPECT_EQ(verified.claims->name, "alice name");
  ASSERT_TRUE(verified.claims->video);
  EXPECT_EQ(verified.claims->video->room, "room1");
  EXPECT_TRUE(verified.claims->video->room_join);
  EXPECT_GE(verified.claims->expires, now + 590);
  // Then at the interval (the room's timer runs by itself).
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_GE(alice->of(lk::SignalResponse::kRefreshToken).size(), 2u);
  // A key the server no longer knows: no token.
  auto bob = std::make_shared<FakeSocket>();
  JoinParameters parameters;
  parameters.api_key = "gone";
  parameters.identity = "bob";
  parameters.grant = default_grant();
  on_loop([&] { room_->join(parameters, bob); });
  EXPECT_TRUE(bob->of(lk::SignalResponse::kRefreshToken).empty());
}

TEST_F(SignalRoomTest, PermissionChangesReachEveryoneAndRevokeTracks) {
  SignalRoomConfig config;
  config.secrets = secrets();
  recreate(config);
  auto alice = std::make_shared<FakeSocket>();
  auto bob = std::make_shared<FakeSocket>();
  std::string sid = join("alice", alice);
  join("bob", bob);
  lk::SignalRequest request;
  request.mutable_add_track()->set_cid("mic");
  request.mutable_add_track()->set_type(lk::AUDIO);
  request.mutable_add_track()->set_source(lk::MICROPHONE);
  handle(sid, request);
  auto published = alice->of(lk::SignalResponse::kTrackPublished);
  ASSERT_EQ(published.size(), 1u);
  std::string track_sid = published[0].track_published().track().sid();

  lk::ParticipantPermission permission;
  permission.set_can_subscribe(true);
  permission.set_can_publish(false);
  permission.set_can_publish_data(true);
  std::optional<lk::ParticipantInfo> info;
  on_loop([&] { info = room_->set_permission("alice", permission); });
  ASSERT_TRUE(info);
  EXPECT_FALSE(info->permission().can_publish());
  EXPECT_TRUE(info->permission().can_publish_data());
  // Its pending microphone is unpublished, and it is told.
  auto unpublished = alice->of(lk::SignalResponse::kTrackUnpublished);
  ASSERT_EQ(unpublished.size(), 1u);
  EXPECT_EQ(unpublished[0].track_unpublished().track_sid(), track_sid);
  // It and Bob see the new permission.
  for (auto* socket : {alice.get(), bob.get()}) {
    bool seen = false;
    for (auto& update : socket->of(lk::SignalResponse::kUpdate))
      for (auto& p : update.update().participants())
        seen |= p.identity() == "alice" && p.has_permission() && !p.permission().can_publish();
    EXPECT_TRUE(seen);
  }
  // A refreshed token with the new grants.
  auto tokens = alice->of(lk::SignalResponse::kRefreshToken);
  ASSERT_EQ(tokens.size(), 2u);
  auto verified = verify_token(tokens.back().refresh_token(), secrets(), std::time(nullptr));
  ASSERT_TRUE(verified.claims);
  EXPECT_FALSE(verified.claims->video->may_publish());
  EXPECT_TRUE(verified.claims->video->may_publish_data());
  // Publishing is now refused.
  request.mutable_add_track()->set_cid("mic2");
  handle(sid, request);
  EXPECT_EQ(alice->of(lk::SignalResponse::kTrackPublished).size(), 1u);
  // The same permission again changes nothing (no new update, no token).
  size_t updates = alice->of(lk::SignalResponse::kUpdate).size();
  on_loop([&] { info = room_->set_permission("alice", permission); });
  EXPECT_EQ(alice->of(lk::SignalResponse::kUpdate).size(), updates);
  EXPECT_EQ(alice->of(lk::SignalResponse::kRefreshToken).size(), 2u);
  // Sources restrict: camera only.
  permission.set_can_publish(true);
  permission.add_can_publish_sources(lk::CAMERA);
  on_loop([&] { info = room_->set_permission("alice", permission); });
  ASSERT_TRUE(info);
  ASSERT_EQ(info->permission().can_publish_sources_size(), 1);
  handle(sid, request);
  EXPECT_EQ(alice->of(lk::SignalResponse::kTrackPublished).size(), 1u);  // mic refused
  on_loop([&] { EXPECT_FALSE(room_->set_permission("nobody", permission)); });
}

TEST_F(SignalRoomTest, BecomingHiddenLooksLikeALeaveToTheOthers) {
  auto alice = std::make_shared<FakeSocket>();
  auto bob = std::make_shared<FakeSocket>();
  join("alice", alice);
  join("bob", bob);
  lk::ParticipantPermission permission;
  permission.set_can_subscribe(true);
  permission.set_can_publish(true);
  permission.set_can_publish_data(true);
  permission.set_hidden(true);
  on_loop([&] { room_->set_permission("alice", permission); });
  auto last_of_alice = [&](FakeSocket& socket) {
    std::optional<lk::ParticipantInfo> last;
    for (auto& update : socket.of(lk::SignalResponse::kUpdate))
      for (auto& p : update.update().participants())
        if (p.identity() == "alice") last = p;
    return last;
  };
  auto seen = last_of_alice(*bob);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->state(), lk::ParticipantInfo::DISCONNECTED);
  uint32_t hidden_version = seen->version();
  // Alice herself still sees her own (hidden) info.
  auto own = last_of_alice(*alice);
  ASSERT_TRUE(own);
  EXPECT_TRUE(own->permission().hidden());
  EXPECT_NE(own->state(), lk::ParticipantInfo::DISCONNECTED);
  // Visible again: back for Bob, with a newer version.
  permission.set_hidden(false);
  on_loop([&] { room_->set_permission("alice", permission); });
  seen = last_of_alice(*bob);
  ASSERT_TRUE(seen);
  EXPECT_NE(seen->state(), lk::ParticipantInfo::DISCONNECTED);
  EXPECT_GT(seen->version(), hidden_version);
}

TEST_F(SignalRoomTest, RoomMetadataAndCreateRoomSettings) {
  auto alice = std::make_shared<FakeSocket>();
  join("alice", alice);
  on_loop([&] { room_->set_metadata("{\"topic\":\"x\"}"); });
  auto updates = alice->of(lk::SignalResponse::kRoomUpdate);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].room_update().room().metadata(), "{\"topic\":\"x\"}");
  EXPECT_EQ(updates[0].room_update().room().name(), "room1");

  lk::CreateRoomRequest request;
  request.set_name("room1");
  request.set_empty_timeout(7);
  request.set_max_participants(2);
  on_loop([&] { room_->apply(request); });
  on_loop([&] {
    EXPECT_EQ(room_->info().empty_timeout(), 7u);
    EXPECT_EQ(room_->info().departure_timeout(), 20u);  // not given: unchanged
    EXPECT_EQ(room_->info().max_participants(), 2u);
    EXPECT_EQ(room_->info().metadata(), "{\"topic\":\"x\"}");
  });
  // No new RoomUpdate: the metadata did not change.
  EXPECT_EQ(alice->of(lk::SignalResponse::kRoomUpdate).size(), 1u);
  // New joins see it all in their JoinResponse.
  auto bob = std::make_shared<FakeSocket>();
  join("bob", bob);
  auto joins = bob->of(lk::SignalResponse::kJoin);
  ASSERT_EQ(joins.size(), 1u);
  EXPECT_EQ(joins[0].join().room().metadata(), "{\"topic\":\"x\"}");
  EXPECT_EQ(joins[0].join().room().max_participants(), 2u);
  EXPECT_EQ(joins[0].join().room().num_participants(), 2u);
}

TEST_F(SignalRoomTest, MaxParticipantsAdmitsPresentIdentitiesOnly) {
  SignalRoomConfig config;
  config.defaults.max_participants = 2;
  recreate(config);
  EXPECT_TRUE(room_->admits("alice"));
  join("alice", std::make_shared<FakeSocket>());
  join("bob", std::make_shared<FakeSocket>());
  EXPECT_FALSE(room_->admits("carol"));
  EXPECT_TRUE(room_->admits("alice"));  // a second session replaces the first
  lk::CreateRoomRequest more;
  more.set_max_participants(3);
  on_loop([&] { room_->apply(more); });
  EXPECT_TRUE(room_->admits("carol"));
}

TEST_F(SignalRoomTest, EmptyAndDepartureTimeoutsCloseTheRoomOnce) {
  SignalRoomConfig config;
  config.defaults.empty_timeout = 30;
  config.defaults.departure_timeout = 5;
  bool allow = false;
  int asked = 0;
  config.on_expired = [&](SignalRoom&) {
    ++asked;
    return allow;
  };
  recreate(config);
  auto t0 = std::chrono::steady_clock::now();
  on_loop([&] {
    EXPECT_FALSE(room_->expired(t0 + std::chrono::seconds(29)));
    EXPECT_TRUE(room_->expired(t0 + std::chrono::seconds(31)));
  });
  // Someone joins: never expired while present.
  auto alice = std::make_shared<FakeSocket>();
  std::string sid = join("alice", alice);
  on_loop([&] { EXPECT_FALSE(room_->expired(t0 + std::chrono::hours(1))); });
  on_loop([&] { room_->leave(sid, false, lk::CLIENT_INITIATED); });
  auto left_at = std::chrono::steady_clock::now();
  on_loop([&] {
    // After the last leave: the departure timeout, not the empty one.
    EXPECT_FALSE(room_->expired(left_at + std::chrono::seconds(4)));
    EXPECT_TRUE(room_->expired(left_at + std::chrono::seconds(6)));
    // The owner may keep it (a join on its way).
    room_->tick(left_at + std::chrono::seconds(6));
    EXPECT_FALSE(room_->closed());
  });
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(finished_, 0);  // the last leave alone does not finish the room
  allow = true;
  on_loop([&] {
    room_->tick(left_at + std::chrono::seconds(7));
    EXPECT_TRUE(room_->closed());
    room_->tick(left_at + std::chrono::seconds(8));
    room_->close(lk::ROOM_DELETED);
  });
  EXPECT_EQ(started_, 2);  // the fixture's room and this one
  EXPECT_EQ(finished_, 1);
}

TEST_F(SignalRoomTest, CloseDisconnectsEveryone) {
  auto alice = std::make_shared<FakeSocket>();
  join("alice", alice);
  on_loop([&] { room_->close(lk::ROOM_DELETED); });
  auto leaves = alice->of(lk::SignalResponse::kLeave);
  ASSERT_EQ(leaves.size(), 1u);
  EXPECT_EQ(leaves[0].leave().reason(), lk::ROOM_DELETED);
  EXPECT_TRUE(alice->close_code());
  EXPECT_EQ(finished_, 1);
}

TEST_F(SignalRoomTest, ConnectionQualityListsItselfAndVisibleOthers) {
  auto alice = std::make_shared<FakeSocket>();
  auto bob = std::make_shared<FakeSocket>();
  auto rec = std::make_shared<FakeSocket>();
  std::string alice_sid = join("alice", alice);
  std::string bob_sid = join("bob", bob);
  VideoGrant hidden = default_grant();
  hidden.hidden = true;
  std::string rec_sid = join("recorder", rec, hidden);
  on_loop([&] { room_->send_connection_quality(); });
  auto updates = alice->of(lk::SignalResponse::kConnectionQuality);
  ASSERT_EQ(updates.size(), 1u);
  std::set<std::string> sids;
  for (const auto& info : updates[0].connection_quality().updates()) {
    sids.insert(info.participant_sid());
    EXPECT_EQ(info.quality(), lk::EXCELLENT);  // no media, nothing lost
    EXPECT_GT(info.score(), 4.0f);
  }
  EXPECT_EQ(sids, (std::set<std::string>{alice_sid, bob_sid}));
  // The hidden one sees itself too.
  auto own = rec->of(lk::SignalResponse::kConnectionQuality);
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0].connection_quality().updates_size(), 3);
}

TEST_F(SignalRoomTest, UpdateSubscriptionsNeedsAParticipant) {
  auto alice = std::make_shared<FakeSocket>();
  join("alice", alice);
  on_loop([&] {
    EXPECT_TRUE(room_->update_subscriptions("alice", {"TR_unknown"}, true));
    EXPECT_FALSE(room_->update_subscriptions("nobody", {"TR_unknown"}, true));
  });
}

}  // namespace
}  // namespace atrium::livekit
