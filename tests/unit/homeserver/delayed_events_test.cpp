#include "fixture.hpp"

namespace atrium::homeserver::testing {
namespace {

class DelayedEventsTest : public HomeserverTest {
 protected:
  const std::string kType = "org.matrix.msc3401.call.member";

  std::string schedule_leave(const Requester& who, const std::string& room, int64_t delay) {
    auto out = await<json::object>([&](auto done) {
      hs_->delayed.schedule(who, room, kType, key(who), json::object{}, delay, 0, "", done);
    });
    return std::string(out.at("delay_id").as_string());
  }
  std::string key(const Requester& who) {
    return "_" + who.user_id + "_" + who.device_id + "_m.call";
  }
  void manage(const std::string& id, const std::string& action) {
    await<json::object>(
        [&](auto done) { hs_->delayed.manage(std::nullopt, "127.0.0.1", id, action, done); });
  }
  std::optional<json::object> member_state(const Requester& who, const std::string& room) {
    try {
      return hs_->rooms.get_state_event(who, room, kType, key(who), false);
    } catch (const MatrixError&) {
      return std::nullopt;
    }
  }
  // Fires the timers and waits until the writes they queued have landed.
  void fire() {
    flush();  // timers are armed by after-commit hooks, which run after `done`
    scheduler_.fire_timers();
    flush();
  }
};

TEST_F(DelayedEventsTest, FiresWhenDueAndNotBefore) {
  auto alice = make_user("alice");
  auto room = create_room(alice);
  auto id = schedule_leave(alice, room, 60000);
  EXPECT_EQ(hs_->delayed.list(alice, std::nullopt, std::nullopt).at("scheduled").as_array().size(),
            1u);
  fire();  // the timer fires long before the delay passed: nothing is sent
  EXPECT_FALSE(member_state(alice, room));
  manage(id, "send");
  ASSERT_TRUE(member_state(alice, room));
  EXPECT_TRUE(member_state(alice, room)->empty());
  EXPECT_EQ(errcode_of([&] { manage(id, "send"); }), "M_NOT_FOUND") << "already sent";
  auto finalised = hs_->delayed.list(alice, std::string("finalised"), std::nullopt);
  EXPECT_EQ(finalised.at("finalised").at(0).at("outcome").as_string(), "send");
}

TEST_F(DelayedEventsTest, RefusedWhenSentLeavesNoEventBehind) {
  auto alice = make_user("alice");
  auto room = create_room(alice);
  auto target = send_text(alice, room, "hi", "t1");
  // Two identical reactions: the second is refused as a duplicate annotation,
  // a check that runs after the event row was written.
  json::object reaction{
      {"m.relates_to", {{"rel_type", "m.annotation"}, {"event_id", target}, {"key", "+1"}}}};
  auto schedule = [&] {
    auto out = await<json::object>([&](auto done) {
      hs_->delayed.schedule(alice, room, "m.reaction", std::nullopt, reaction, 60000, 0, "", done);
    });
    return std::string(out.at("delay_id").as_string());
  };
  auto first = schedule();
  auto second = schedule();
  manage(first, "send");
  auto events = [&] { return store_->read()->room_events(room, 0, INT64_MAX, false, 1000); };
  const auto before = events();
  manage(second, "send");
  const auto after = events();
  ASSERT_EQ(after.size(), before.size()) << "the refused reaction stayed in the room";
  EXPECT_EQ(after.back().event_id, before.back().event_id);
  auto finalised = hs_->delayed.list(alice, std::string("finalised"), std::nullopt);
  bool refused = false;
  for (const auto& d : finalised.at("finalised").as_array())
    if (d.at("delayed_event").at("delay_id").as_string() == second)
      refused = d.at("error").at("errcode").as_string() == "M_DUPLICATE_ANNOTATION";
  EXPECT_TRUE(refused) << json::serialize(finalised);
  // The room goes on: a later message is appended after the first reaction.
  send_text(alice, room, "still here", "t2");
  EXPECT_EQ(events().size(), before.size() + 1);
}

TEST_F(DelayedEventsTest, ShortDelayFiresFromItsTimer) {
  auto alice = make_user("alice");
  auto room = create_room(alice);
  schedule_leave(alice, room, 0);
  scheduler_.drain();
  fire();
  EXPECT_TRUE(member_state(alice, room));
}

TEST_F(DelayedEventsTest, CancelRestartAndUnknownIds) {
  auto alice = make_user("alice");
  auto room = create_room(alice);
  auto id = schedule_leave(alice, room, 60000);
  manage(id, "restart");
  manage(id, "cancel");
  EXPECT_EQ(errcode_of([&] { manage(id, "restart"); }), "M_NOT_FOUND");
  EXPECT_EQ(errcode_of([&] { manage("syd_nope", "cancel"); }), "M_NOT_FOUND");
  EXPECT_EQ(errcode_of([&] { manage(id, "explode"); }), "M_INVALID_PARAM");
}

TEST_F(DelayedEventsTest, LimitsOnDelayAndCount) {
  config_.max_delayed_events_per_user = 2;
  auto alice = make_user("alice");
  auto room = create_room(alice);
  try {
    schedule_leave(alice, room, config_.max_event_delay_ms + 1);
    FAIL() << "expected max delay error";
  } catch (const MatrixError& e) {
    EXPECT_EQ(e.code(), "M_UNKNOWN");
    EXPECT_EQ(e.http_status(), 400);
    EXPECT_EQ(e.extra.at("org.matrix.msc4140.errcode").as_string(), "M_MAX_DELAY_EXCEEDED");
  }
  schedule_leave(alice, room, 1000);
  schedule_leave(alice, room, 1000);
  EXPECT_EQ(errcode_of([&] { schedule_leave(alice, room, 1000); }), "M_LIMIT_EXCEEDED");
}

TEST_F(DelayedEventsTest, AnotherUsersWriteCancelsPendingState) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto room = create_room(alice, json::object{{"preset", "public_chat"}});
  join(bob, room);
  // Bob schedules state under a key alice then writes (alice has the power to).
  auto out = await<json::object>([&](auto done) {
    hs_->delayed.schedule(bob, room, "org.example.shared", std::string("k"), {}, 60000, 0, "",
                          done);
  });
  auto id = std::string(out.at("delay_id").as_string());
  await<json::object>([&](auto done) {
    hs_->rooms.put_state(alice, room, "org.example.shared", "k", json::object{{"v", 1}}, done);
  });
  EXPECT_EQ(errcode_of([&] { manage(id, "send"); }), "M_NOT_FOUND") << "cancelled by the write";
}

TEST_F(DelayedEventsTest, SurvivesARestart) {
  auto alice = make_user("alice");
  auto room = create_room(alice);
  schedule_leave(alice, room, 0);
  // Restart before any timer ran: a new service re-arms it from the store.
  flush();  // the old service's after-commit hooks are done with it
  hs_.reset();
  scheduler_.timers.clear();
  hs_ =
      std::make_unique<Homeserver>(config_, *store_, matrix::SigningKey::generate("t"), scheduler_);
  fire();
  EXPECT_TRUE(member_state(alice, room));
}

}  // namespace
}  // namespace atrium::homeserver::testing
