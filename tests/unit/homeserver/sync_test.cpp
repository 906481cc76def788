#include "fixture.hpp"

namespace atrium::homeserver::testing {
namespace {

class SyncTest : public HomeserverTest {
 protected:
  json::object sync(const Requester& who, std::optional<std::string> since = std::nullopt,
                    std::optional<std::string> filter = std::nullopt) {
    SyncRequest request;
    request.since = since;
    request.filter = filter;
    return await<json::object>([&](auto done) { hs_->sync.sync(who, request, done); });
  }
  static std::vector<std::string> bodies(const json::object& sync, const std::string& room) {
    std::vector<std::string> out;
    auto* join = sync.at("rooms").at("join").as_object().if_contains(room);
    if (!join) return out;
    for (auto& e : join->at("timeline").at("events").as_array())
      if (e.at("type").as_string() == "m.room.message")
        out.emplace_back(e.at("content").at("body").as_string());
    return out;
  }
};

TEST_F(SyncTest, IncrementalSyncDeliversEachEventOnce) {
  auto alice = make_user("alice");
  auto room = create_room(alice);
  send_text(alice, room, "one", "1");
  auto first = sync(alice);
  EXPECT_EQ(bodies(first, room), std::vector<std::string>{"one"});
  auto token = std::string(first.at("next_batch").as_string());
  send_text(alice, room, "two", "2");
  send_text(alice, room, "three", "3");
  auto second = sync(alice, token);
  EXPECT_EQ(bodies(second, room), (std::vector<std::string>{"two", "three"}));
  auto third = sync(alice, std::string(second.at("next_batch").as_string()));
  EXPECT_TRUE(third.at("rooms").at("join").as_object().empty());
  // Caught up and not willing to wait: still a whole answer, at the same position.
  EXPECT_EQ(third.at("next_batch"), second.at("next_batch"));
  EXPECT_TRUE(third.at("device_one_time_keys_count").is_object());
}

TEST_F(SyncTest, LimitedTimelineCarriesStateAndPrevBatch) {
  auto alice = make_user("alice");
  auto room = create_room(alice);
  auto token = std::string(sync(alice).at("next_batch").as_string());
  await<json::object>([&](auto done) {
    hs_->rooms.put_state(alice, room, "m.room.name", "", json::object{{"name", "renamed"}}, done);
  });
  for (int i = 0; i < 8; ++i)
    send_text(alice, room, std::to_string(i), "t" + std::to_string(i));
  auto out = sync(alice, token, R"({"room":{"timeline":{"limit":3}}})");
  auto& joined = out.at("rooms").at("join").at(room);
  EXPECT_TRUE(joined.at("timeline").at("limited").as_bool());
  EXPECT_EQ(bodies(out, room), (std::vector<std::string>{"5", "6", "7"}));
  bool has_name = false;
  for (auto& e : joined.at("state").at("events").as_array())
    has_name |= e.at("type").as_string() == "m.room.name";
  EXPECT_TRUE(has_name) << "state changes hidden by the gap come in `state`";
  // prev_batch continues exactly before the timeline.
  MessagesQuery q;
  q.from = std::string(joined.at("timeline").at("prev_batch").as_string());
  q.limit = 1;
  auto older = hs_->rooms.messages(alice, room, q);
  EXPECT_EQ(older.at("chunk").at(0).at("content").at("body").as_string(), "4");
}

TEST_F(SyncTest, InvitesAppearForTheInvitee) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto token = std::string(sync(bob).at("next_batch").as_string());
  auto room = create_room(alice, json::object{{"name", "Secret"}});
  membership(alice, room, "invite", bob.user_id);
  auto out = sync(bob, token);
  auto& invite = out.at("rooms").at("invite").at(room).at("invite_state").at("events");
  bool saw_name = false, saw_member = false;
  for (auto& e : invite.as_array()) {
    saw_name |= e.at("type").as_string() == "m.room.name";
    saw_member |=
        e.at("type").as_string() == "m.room.member" && e.at("state_key").as_string() == bob.user_id;
  }
  EXPECT_TRUE(saw_name);
  EXPECT_TRUE(saw_member);
}

TEST_F(SyncTest, LongPollWakesOnNewEventAndTimesOutOtherwise) {
  auto alice = make_user("alice");
  auto room = create_room(alice);
  auto token = std::string(sync(alice).at("next_batch").as_string());

  std::optional<json::object> answer;
  SyncRequest request;
  request.since = token;
  request.timeout_ms = 30000;
  hs_->sync.sync(alice, request, [&](std::exception_ptr e, json::object o) {
    ASSERT_FALSE(e);
    answer = std::move(o);
  });
  scheduler_.drain();
  EXPECT_FALSE(answer) << "nothing new yet: the poll is parked";
  EXPECT_EQ(hs_->notifier.parked(), 1u);
  send_text(alice, room, "wake", "w");
  flush();
  ASSERT_TRUE(answer);
  EXPECT_EQ(bodies(*answer, room), std::vector<std::string>{"wake"});

  // A poll with nothing to say is answered, empty, when its timer fires.
  answer.reset();
  request.since = std::string(sync(alice, token).at("next_batch").as_string());
  hs_->sync.sync(alice, request, [&](std::exception_ptr, json::object o) { answer = o; });
  scheduler_.drain();
  EXPECT_FALSE(answer);
  scheduler_.fire_timers();
  ASSERT_TRUE(answer);
  EXPECT_TRUE(answer->at("rooms").at("join").as_object().empty());
}

TEST_F(SyncTest, ShutdownAnswersParkedPolls) {
  auto alice = make_user("alice");
  auto token = std::string(sync(alice).at("next_batch").as_string());
  bool answered = false;
  SyncRequest request;
  request.since = token;
  request.timeout_ms = 30000;
  hs_->sync.sync(alice, request, [&](std::exception_ptr, json::object) { answered = true; });
  scheduler_.drain();
  EXPECT_FALSE(answered);
  hs_->shutdown();
  scheduler_.drain();
  EXPECT_TRUE(answered);
}

TEST_F(SyncTest, AccountDataAndTyping) {
  auto alice = make_user("alice");
  auto room = create_room(alice);
  auto token = std::string(sync(alice).at("next_batch").as_string());
  await<json::object>([&](auto done) {
    hs_->user_data.put_account_data(alice, alice.user_id, "", "org.example", json::object{{"k", 1}},
                                    done);
  });
  hs_->typing.set_typing(alice, room, alice.user_id, true, 10000);
  auto out = sync(alice, token);
  EXPECT_EQ(out.at("account_data").at("events").at(0).at("type").as_string(), "org.example");
  auto& ephemeral = out.at("rooms").at("join").at(room).at("ephemeral").at("events");
  ASSERT_EQ(ephemeral.as_array().size(), 1u);
  EXPECT_EQ(ephemeral.at(0).at("content").at("user_ids").at(0).as_string(), alice.user_id);
}

}  // namespace
}  // namespace atrium::homeserver::testing
