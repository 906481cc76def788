#include <gtest/gtest.h>

#include "matrix/auth_rules.hpp"
#include "room_fixture.hpp"

namespace atrium::matrix {
namespace {

using testing::kAlice;
using testing::kBob;
using testing::kCarol;
using testing::TestRoom;

class PowerLevelsAuth : public ::testing::TestWithParam<std::string_view> {
 protected:
  void SetUp() override {
    room.set_up("public", R"({"users": {"@alice:example.org": 100, "@bob:example.org": 50,
                                        "@carol:example.org": 50},
                              "kick": 75, "ban": 50, "events": {"m.room.name": 100}})");
    room.join(kBob);
    room.join(kCarol);
  }
  // The current content with `patch` applied on top (top-level keys replaced).
  AuthResult check_change(std::string_view sender, std::string_view patch) {
    json::object content = room.state().at({"m.room.power_levels", ""}).at("content").as_object();
    json::value changes = json::parse(patch);
    for (const auto& kv : changes.as_object())
      content[kv.key()] = kv.value();
    return room.check(unhashed_power_levels(sender, std::move(content)));
  }
  // Events with floats cannot be hashed, so swap the content in afterwards;
  // auth does not look at hashes.
  json::object unhashed_power_levels(std::string_view sender, json::object content) {
    json::object event = room.make("m.room.power_levels", sender, json::object{}, "");
    event["content"] = std::move(content);
    return event;
  }

  TestRoom room{GetParam()};
};

INSTANTIATE_TEST_SUITE_P(V10AndV11, PowerLevelsAuth, ::testing::Values("10", "11"));

TEST_P(PowerLevelsAuth, EscalationIsRefused) {
  EXPECT_FALSE(check_change(kBob, R"({"users": {"@alice:example.org": 100,
      "@bob:example.org": 100, "@carol:example.org": 50}})")
                   .allowed);
  // Nor can Bob grant a new user more than he has.
  EXPECT_FALSE(check_change(kBob, R"({"users": {"@alice:example.org": 100,
      "@bob:example.org": 50, "@carol:example.org": 50, "@dave:remote.org": 51}})")
                   .allowed);
  EXPECT_TRUE(check_change(kBob, R"({"users": {"@alice:example.org": 100,
      "@bob:example.org": 50, "@carol:example.org": 50, "@dave:remote.org": 50}})")
                  .allowed);
}

TEST_P(PowerLevelsAuth, CannotTouchUsersAtOrAboveOwnLevel) {
  // Demoting Alice (100) or Carol (50, equal to Bob) is refused.
  EXPECT_FALSE(check_change(kBob, R"({"users": {"@alice:example.org": 0,
      "@bob:example.org": 50, "@carol:example.org": 50}})")
                   .allowed);
  EXPECT_FALSE(check_change(kBob, R"({"users": {"@alice:example.org": 100,
      "@bob:example.org": 50, "@carol:example.org": 0}})")
                   .allowed);
  // Removing an entry is a change too.
  EXPECT_FALSE(check_change(kBob, R"({"users": {"@alice:example.org": 100,
      "@bob:example.org": 50}})")
                   .allowed);
  // Alice may demote Carol.
  EXPECT_TRUE(check_change(kAlice, R"({"users": {"@alice:example.org": 100,
      "@bob:example.org": 50, "@carol:example.org": 0}})")
                  .allowed);
}

TEST_P(PowerLevelsAuth, MayLowerOwnLevel) {
  EXPECT_TRUE(check_change(kBob, R"({"users": {"@alice:example.org": 100,
      "@bob:example.org": 10, "@carol:example.org": 50}})")
                  .allowed);
  EXPECT_TRUE(check_change(kBob, R"({"users": {"@alice:example.org": 100,
      "@carol:example.org": 50}})")
                  .allowed);
}

TEST_P(PowerLevelsAuth, NamedLevelChanges) {
  // ban is at Bob's level: he may lower it or leave it...
  EXPECT_TRUE(check_change(kBob, R"({"ban": 40})").allowed);
  // ...but not raise anything above his level...
  EXPECT_FALSE(check_change(kBob, R"({"ban": 51})").allowed);
  EXPECT_FALSE(check_change(kBob, R"({"state_default": 60})").allowed);
  // ...nor change kick, which is above him, even downwards or by removing it.
  EXPECT_FALSE(check_change(kBob, R"({"kick": 50})").allowed);
  json::object without_kick =
      room.state().at({"m.room.power_levels", ""}).at("content").as_object();
  without_kick.erase("kick");
  EXPECT_FALSE(room.check(room.make("m.room.power_levels", kBob, without_kick, "")).allowed);
  EXPECT_TRUE(room.check(room.make("m.room.power_levels", kAlice, without_kick, "")).allowed);
  // Adding a new one at his level is fine.
  EXPECT_TRUE(check_change(kBob, R"({"invite": 50})").allowed);
  EXPECT_FALSE(check_change(kBob, R"({"redact": 51})").allowed);
}

TEST_P(PowerLevelsAuth, EventAndNotificationLevelChanges) {
  EXPECT_FALSE(check_change(kBob, R"({"events": {"m.room.name": 50}})").allowed);
  EXPECT_FALSE(check_change(kBob, R"({"events": {}})").allowed);
  EXPECT_TRUE(
      check_change(kBob, R"({"events": {"m.room.name": 100, "m.room.topic": 50}})").allowed);
  EXPECT_FALSE(
      check_change(kBob, R"({"events": {"m.room.name": 100, "m.room.topic": 51}})").allowed);
  EXPECT_TRUE(check_change(kBob, R"({"notifications": {"room": 50}})").allowed);
  EXPECT_FALSE(check_change(kBob, R"({"notifications": {"room": 60}})").allowed);
}

TEST_P(PowerLevelsAuth, ValuesMustBeIntegers) {
  for (std::string_view patch :
       {R"({"ban": "50"})", R"({"ban": 50.0})", R"({"users_default": null})", R"({"invite": true})",
        R"({"events": {"m.room.name": "100"}})", R"({"events": []})",
        R"({"notifications": {"room": 1.5}})", R"({"notifications": 5})",
        R"({"users": {"@alice:example.org": "100"}})", R"({"users": []})",
        R"({"users": {"alice": 100, "@alice:example.org": 100}})"}) {
    EXPECT_FALSE(check_change(kAlice, patch).allowed) << patch;
  }
}

TEST_P(PowerLevelsAuth, NeedsTheEventLevelAndMembership) {
  TestRoom other(GetParam());
  other.set_up("public", R"({"users": {"@alice:example.org": 100},
                             "events": {"m.room.power_levels": 100}})");
  other.join(kBob);
  json::object content = other.state().at({"m.room.power_levels", ""}).at("content").as_object();
  EXPECT_FALSE(other.check(other.make("m.room.power_levels", kBob, content, "")).allowed);
  // Carol is not a member.
  EXPECT_FALSE(other.check(other.make("m.room.power_levels", kCarol, content, "")).allowed);
}

TEST(PowerLevelsFirstEvent, IsOnlyShapeChecked) {
  TestRoom room("11");
  ASSERT_TRUE(room.send(room.create_event()).allowed);
  ASSERT_TRUE(room.send(room.member(kAlice, kAlice, "join")).allowed);
  // With no previous power levels, values above the sender's are fine.
  EXPECT_TRUE(
      room.check(room.power_levels(kAlice, R"({"users": {"@bob:example.org": 1000}})")).allowed);
  json::object float_levels = room.power_levels(kAlice, "{}");
  float_levels["content"] = json::parse(R"({"users": {"@bob:example.org": 1e3}})");
  EXPECT_FALSE(room.check(float_levels).allowed);
}

TEST(PowerLevelHelpers, DefaultsWithoutPowerLevelsEvent) {
  TestRoom room("11");
  ASSERT_TRUE(room.send(room.create_event()).allowed);
  EXPECT_EQ(user_power_level(room.state(), kAlice, room.version()), 100);
  EXPECT_EQ(user_power_level(room.state(), kBob, room.version()), 0);
  EXPECT_EQ(event_power_level(room.state(), "m.room.name", true), 0);
  EXPECT_EQ(event_power_level(room.state(), "m.room.message", false), 0);
  EXPECT_EQ(named_power_level(room.state(), "ban"), 50);
  EXPECT_EQ(named_power_level(room.state(), "kick"), 50);
  EXPECT_EQ(named_power_level(room.state(), "redact"), 50);
  EXPECT_EQ(named_power_level(room.state(), "invite"), 0);
  EXPECT_EQ(user_power_level(StateMap{}, kAlice, room.version()), 0);
}

TEST(PowerLevelHelpers, DefaultsWithEmptyPowerLevelsEvent) {
  TestRoom room("11");
  ASSERT_TRUE(room.send(room.create_event()).allowed);
  ASSERT_TRUE(room.send(room.member(kAlice, kAlice, "join")).allowed);
  ASSERT_TRUE(room.send(room.power_levels(kAlice, "{}")).allowed);
  // With state_default now 50, Alice has locked herself out of state changes.
  EXPECT_FALSE(room.check(room.join_rules(kAlice, "public")).allowed);
  // The creator loses the implicit 100 once power levels exist.
  EXPECT_EQ(user_power_level(room.state(), kAlice, room.version()), 0);
  EXPECT_EQ(event_power_level(room.state(), "m.room.name", true), 50);
  EXPECT_EQ(event_power_level(room.state(), "m.room.message", false), 0);
  EXPECT_EQ(named_power_level(room.state(), "ban"), 50);
  EXPECT_EQ(named_power_level(room.state(), "invite"), 0);
}

TEST(PowerLevelHelpers, ExplicitValues) {
  TestRoom room("10");
  room.set_up("public", R"({"users": {"@alice:example.org": 100}, "users_default": 5,
                            "state_default": 20, "events_default": 3, "invite": 7,
                            "events": {"m.room.name": 90, "m.reaction": 1}})");
  EXPECT_EQ(user_power_level(room.state(), kAlice, room.version()), 100);
  EXPECT_EQ(user_power_level(room.state(), kBob, room.version()), 5);
  EXPECT_EQ(event_power_level(room.state(), "m.room.name", true), 90);
  EXPECT_EQ(event_power_level(room.state(), "m.room.topic", true), 20);
  EXPECT_EQ(event_power_level(room.state(), "m.reaction", false), 1);
  EXPECT_EQ(event_power_level(room.state(), "m.room.message", false), 3);
  EXPECT_EQ(named_power_level(room.state(), "invite"), 7);
}

}  // namespace
}  // namespace atrium::matrix
