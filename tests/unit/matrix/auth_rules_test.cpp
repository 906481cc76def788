#include "matrix/auth_rules.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "matrix/event.hpp"
#include "room_fixture.hpp"

namespace atrium::matrix {
namespace {

using testing::kAlice;
using testing::kBob;
using testing::kCarol;
using testing::kDave;
using testing::TestRoom;

// Rules shared by every supported version run against all four.
class AuthRules : public ::testing::TestWithParam<std::string_view> {
 protected:
  TestRoom room{GetParam()};
};

INSTANTIATE_TEST_SUITE_P(AllVersions, AuthRules,
                         ::testing::Values("10", "11", "org.matrix.msc3757.10",
                                           "org.matrix.msc3757.11"),
                         [](const auto& info) {
                           std::string name(info.param);
                           std::replace(name.begin(), name.end(), '.', '_');
                           return name;
                         });

TEST_P(AuthRules, CreateEvent) {
  EXPECT_TRUE(room.check(room.create_event()).allowed);

  json::object with_prev = room.create_event();
  with_prev["prev_events"] = json::array{"$x"};
  EXPECT_FALSE(room.check(with_prev).allowed);

  json::object foreign_room = room.create_event();
  foreign_room["room_id"] = "!room:elsewhere.org";
  EXPECT_FALSE(room.check(foreign_room).allowed);

  json::object unknown_version = room.create_event();
  unknown_version["content"].as_object()["room_version"] = "999";
  EXPECT_FALSE(room.check(unknown_version).allowed);
}

TEST_P(AuthRules, NothingButCreateWithoutACreateEvent) {
  EXPECT_FALSE(room.check(room.member(kAlice, kAlice, "join")).allowed);
}

TEST_P(AuthRules, FirstJoinOnlyByTheCreator) {
  ASSERT_TRUE(room.send(room.create_event()).allowed);
  // Bob cannot be first in: without join rules the room is invite-only.
  EXPECT_FALSE(room.check(room.member(kBob, kBob, "join")).allowed);
  // The creator's join must follow the create event directly.
  json::object late_join = room.member(kAlice, kAlice, "join");
  late_join["prev_events"] = json::array{"$something_else"};
  EXPECT_FALSE(room.check(late_join).allowed);
  // "The only previous event": a second prev event disqualifies it too.
  json::object two_prev = room.member(kAlice, kAlice, "join");
  two_prev["prev_events"].as_array().emplace_back("$something_else");
  EXPECT_FALSE(room.check(two_prev).allowed);
  EXPECT_TRUE(room.send(room.member(kAlice, kAlice, "join")).allowed);
}

TEST_P(AuthRules, PublicRoomLetsAnyoneJoin) {
  room.set_up("public");
  EXPECT_TRUE(room.check(room.member(kBob, kBob, "join")).allowed);
  // But nobody can join on someone else's behalf.
  EXPECT_FALSE(room.check(room.member(kBob, kCarol, "join")).allowed);
}

TEST_P(AuthRules, InviteRoomNeedsAnInvite) {
  room.set_up("invite");
  EXPECT_FALSE(room.check(room.member(kBob, kBob, "join")).allowed);
  ASSERT_TRUE(room.send(room.member(kAlice, kBob, "invite")).allowed);
  EXPECT_TRUE(room.check(room.member(kBob, kBob, "join")).allowed);
  // Rejecting the invite is a self-leave.
  EXPECT_TRUE(room.check(room.member(kBob, kBob, "leave")).allowed);
}

TEST_P(AuthRules, Invites) {
  room.set_up("invite", R"({"users": {"@alice:example.org": 100}, "invite": 50})");
  // Carol is not in the room.
  EXPECT_FALSE(room.check(room.member(kCarol, kBob, "invite")).allowed);
  room.join(kBob);
  // Bob is joined but below the invite level of 50.
  AuthResult low = room.check(room.member(kBob, kCarol, "invite"));
  EXPECT_FALSE(low.allowed);
  EXPECT_FALSE(low.reason.empty());
  // Alice cannot invite someone already joined.
  EXPECT_FALSE(room.check(room.member(kAlice, kBob, "invite")).allowed);
  EXPECT_TRUE(room.check(room.member(kAlice, kCarol, "invite")).allowed);
}

TEST_P(AuthRules, ThirdPartyInvitesAreRefused) {
  room.set_up("invite");
  json::object extra =
      json::parse(
          R"({"third_party_invite": {"display_name": "c", "signed": {"mxid": "@carol:example.org",
          "token": "t", "signatures": {}}}})")
          .as_object();
  AuthResult result = room.check(room.member(kAlice, kCarol, "invite", extra));
  EXPECT_FALSE(result.allowed);
  EXPECT_EQ(result.reason, "third party invites not supported");
}

TEST_P(AuthRules, KickNeedsPowerAboveTheTarget) {
  room.set_up("public",
              R"({"users": {"@alice:example.org": 100, "@carol:example.org": 50}, "kick": 50})");
  room.join(kBob);
  room.join(kCarol);
  // Bob (0) cannot kick Carol (50).
  EXPECT_FALSE(room.check(room.member(kBob, kCarol, "leave")).allowed);
  // Carol (50, the kick level) can kick Bob (0) but not Alice (100).
  EXPECT_TRUE(room.check(room.member(kCarol, kBob, "leave")).allowed);
  EXPECT_FALSE(room.check(room.member(kCarol, kAlice, "leave")).allowed);
  // Alice outranks everyone.
  EXPECT_TRUE(room.check(room.member(kAlice, kCarol, "leave")).allowed);
}

TEST_P(AuthRules, FormerMembersCannotKickOrBan) {
  room.set_up("public", R"({"users": {"@alice:example.org": 100, "@carol:example.org": 90}})");
  room.join(kBob);
  room.join(kCarol);
  ASSERT_TRUE(room.send(room.member(kCarol, kCarol, "leave")).allowed);
  EXPECT_FALSE(room.check(room.member(kCarol, kBob, "leave")).allowed);
  EXPECT_FALSE(room.check(room.member(kCarol, kBob, "ban")).allowed);
  EXPECT_FALSE(room.check(room.member(kCarol, kBob, "invite")).allowed);
}

TEST_P(AuthRules, KickNeedsTheKickLevel) {
  room.set_up("public", R"({"users": {"@alice:example.org": 100, "@carol:example.org": 40},
                            "kick": 50})");
  room.join(kBob);
  room.join(kCarol);
  // Carol outranks Bob but is below the kick level.
  EXPECT_FALSE(room.check(room.member(kCarol, kBob, "leave")).allowed);
}

TEST_P(AuthRules, BanAndUnban) {
  room.set_up("public", R"({"users": {"@alice:example.org": 100, "@carol:example.org": 60},
                            "kick": 50, "ban": 70})");
  room.join(kBob);
  room.join(kCarol);
  // Carol is above kick but below ban.
  EXPECT_FALSE(room.check(room.member(kCarol, kBob, "ban")).allowed);
  ASSERT_TRUE(room.send(room.member(kAlice, kBob, "ban")).allowed);
  // Banned users can neither rejoin nor leave by themselves, nor be invited.
  EXPECT_FALSE(room.check(room.member(kBob, kBob, "join")).allowed);
  EXPECT_FALSE(room.check(room.member(kBob, kBob, "leave")).allowed);
  EXPECT_FALSE(room.check(room.member(kAlice, kBob, "invite")).allowed);
  // Unbanning needs the ban level, not just the kick level.
  EXPECT_FALSE(room.check(room.member(kCarol, kBob, "leave")).allowed);
  ASSERT_TRUE(room.send(room.member(kAlice, kBob, "leave")).allowed);
  EXPECT_TRUE(room.check(room.member(kBob, kBob, "join")).allowed);
}

TEST_P(AuthRules, CannotBanAnEqual) {
  room.set_up("public", R"({"users": {"@alice:example.org": 100, "@bob:example.org": 100}})");
  room.join(kBob);
  EXPECT_FALSE(room.check(room.member(kBob, kAlice, "ban")).allowed);
  // A non-member cannot ban at all.
  EXPECT_FALSE(room.check(room.member(kCarol, kBob, "ban")).allowed);
}

TEST_P(AuthRules, Knocking) {
  room.set_up("knock");
  ASSERT_TRUE(room.send(room.member(kBob, kBob, "knock")).allowed);
  EXPECT_FALSE(room.check(room.member(kBob, kBob, "join")).allowed);
  EXPECT_FALSE(room.check(room.member(kCarol, kBob, "knock")).allowed);
  // Retracting the knock is a self-leave.
  EXPECT_TRUE(room.check(room.member(kBob, kBob, "leave")).allowed);
  ASSERT_TRUE(room.send(room.member(kAlice, kBob, "invite")).allowed);
  EXPECT_FALSE(room.check(room.member(kBob, kBob, "knock")).allowed);  // already invited
  EXPECT_TRUE(room.check(room.member(kBob, kBob, "join")).allowed);

  TestRoom public_room(GetParam());
  public_room.set_up("public");
  EXPECT_FALSE(public_room.check(public_room.member(kBob, kBob, "knock")).allowed);
}

TEST_P(AuthRules, RestrictedJoins) {
  room.set_up("restricted", R"({"users": {"@alice:example.org": 100}, "invite": 50})");
  room.join(kCarol);  // invited, so allowed despite the restriction
  EXPECT_FALSE(room.check(room.member(kBob, kBob, "join")).allowed);
  auto via = [](std::string_view user) {
    return json::object{{"join_authorised_via_users_server", user}};
  };
  EXPECT_TRUE(room.check(room.member(kBob, kBob, "join", via(kAlice))).allowed);
  // Carol is joined but cannot invite; Dave is not joined at all.
  EXPECT_FALSE(room.check(room.member(kBob, kBob, "join", via(kCarol))).allowed);
  EXPECT_FALSE(room.check(room.member(kBob, kBob, "join", via(kDave))).allowed);
  EXPECT_FALSE(room.check(room.member(kBob, kBob, "join", via("not a user"))).allowed);
}

TEST_P(AuthRules, RestrictedJoinAuthoriserMustBeJoined) {
  // Dave could invite, but he is not in the room.
  room.set_up("restricted", R"({"users": {"@alice:example.org": 100, "@dave:remote.org": 100}})");
  json::object via_dave{{"join_authorised_via_users_server", kDave}};
  EXPECT_FALSE(room.check(room.member(kBob, kBob, "join", via_dave)).allowed);
}

TEST_P(AuthRules, UnknownMembershipAndMalformedMemberEvents) {
  room.set_up("public");
  EXPECT_FALSE(room.check(room.member(kBob, kBob, "dance")).allowed);
  EXPECT_FALSE(room.check(room.make("m.room.member", kBob, json::object{}, kBob)).allowed);
  EXPECT_FALSE(
      room.check(room.make("m.room.member", kBob, json::object{{"membership", "join"}})).allowed);
  EXPECT_FALSE(room.check(room.member(kBob, "not-a-user", "join")).allowed);
}

TEST_P(AuthRules, NonMembersCannotSendAnything) {
  room.set_up("public", R"({"users": {"@alice:example.org": 100}, "state_default": 0})");
  json::object topic = room.make("m.room.topic", kCarol, json::object{{"topic", "x"}}, "");
  EXPECT_FALSE(room.check(topic).allowed);
  EXPECT_FALSE(
      room.check(room.make("m.room.message", kCarol, json::object{{"body", "hi"}})).allowed);
  room.join(kCarol);
  EXPECT_TRUE(
      room.check(room.make("m.room.topic", kCarol, json::object{{"topic", "x"}}, "")).allowed);
  ASSERT_TRUE(room.send(room.member(kCarol, kCarol, "leave")).allowed);
  EXPECT_FALSE(
      room.check(room.make("m.room.message", kCarol, json::object{{"body", "hi"}})).allowed);
}

TEST_P(AuthRules, EventPowerLevels) {
  room.set_up("public", R"({"users": {"@alice:example.org": 100},
                            "events": {"m.room.name": 0, "m.reaction": 10}})");
  room.join(kBob);
  // state_default is 50 when the power levels leave it out.
  EXPECT_FALSE(
      room.check(room.make("m.room.topic", kBob, json::object{{"topic", "x"}}, "")).allowed);
  EXPECT_TRUE(room.check(room.make("m.room.name", kBob, json::object{{"name", "x"}}, "")).allowed);
  EXPECT_TRUE(room.check(room.make("m.room.message", kBob, json::object{{"body", "x"}})).allowed);
  EXPECT_FALSE(room.check(room.make("m.reaction", kBob, json::object{})).allowed);
  EXPECT_TRUE(
      room.check(room.make("m.room.topic", kAlice, json::object{{"topic", "x"}}, "")).allowed);
}

TEST_P(AuthRules, StateKeyOfAnotherUserIsRefused) {
  room.set_up("public", R"({"users": {"@alice:example.org": 100}, "state_default": 0})");
  room.join(kBob);
  EXPECT_TRUE(room.check(room.make("org.example.status", kBob, json::object{}, kBob)).allowed);
  EXPECT_FALSE(room.check(room.make("org.example.status", kBob, json::object{}, kCarol)).allowed);
  // Equal power does not let Bob overwrite Alice's key in any version.
  EXPECT_FALSE(room.check(room.make("org.example.status", kBob, json::object{}, kAlice)).allowed);
  EXPECT_TRUE(room.check(room.make("org.example.status", kBob, json::object{}, "plain")).allowed);
}

TEST_P(AuthRules, RedactionsAreAuthorizedLikeOtherEvents) {
  room.set_up("public");
  room.join(kBob);
  // Bob may send a redaction of Alice's event; whether it applies is decided later.
  json::object redaction =
      room.make("m.room.redaction", kBob, json::object{{"redacts", "$alice_event"}});
  redaction["redacts"] = "$alice_event";
  EXPECT_TRUE(room.check(redaction).allowed);

  TestRoom strict(GetParam());
  strict.set_up("public",
                R"({"users": {"@alice:example.org": 100}, "events": {"m.room.redaction": 50}})");
  strict.join(kBob);
  EXPECT_FALSE(
      strict.check(strict.make("m.room.redaction", kBob, json::object{{"redacts", "$e"}})).allowed);
}

TEST_P(AuthRules, UnfederatedRoomRefusesRemoteSenders) {
  json::object create = room.create_event();
  create["content"].as_object()["m.federate"] = false;
  room.accept(create);
  ASSERT_TRUE(room.send(room.member(kAlice, kAlice, "join")).allowed);
  ASSERT_TRUE(room.send(room.join_rules(kAlice, "public")).allowed);
  EXPECT_FALSE(room.check(room.member(kDave, kDave, "join")).allowed);
  EXPECT_TRUE(room.check(room.member(kBob, kBob, "join")).allowed);
}

TEST_P(AuthRules, EventForAnotherRoomIsRefused) {
  room.set_up("public");
  json::object message = room.make("m.room.message", kAlice, json::object{{"body", "x"}});
  message["room_id"] = "!other:example.org";
  EXPECT_FALSE(room.check(message).allowed);
}

TEST_P(AuthRules, MalformedEventsAreRefusedNotThrown) {
  room.set_up("public");
  json::object no_sender = room.make("m.room.message", kAlice, json::object{});
  no_sender.erase("sender");
  EXPECT_FALSE(room.check(no_sender).allowed);
  json::object no_content = room.make("m.room.message", kAlice, json::object{});
  no_content["content"] = "text";
  EXPECT_FALSE(room.check(no_content).allowed);
  json::object no_type = room.make("m.room.message", kAlice, json::object{});
  no_type["type"] = 5;
  EXPECT_FALSE(room.check(no_type).allowed);
}

// v10 names the creator in content.creator; v11 uses the create event's sender.
TEST(AuthRulesCreator, V10UsesContentCreator) {
  TestRoom room("10");
  ASSERT_TRUE(room.send(room.create_event(kAlice, kBob)).allowed);
  EXPECT_EQ(room_creator(room.state(), room.version()), kBob);
  EXPECT_EQ(user_power_level(room.state(), kBob, room.version()), 100);
  EXPECT_EQ(user_power_level(room.state(), kAlice, room.version()), 0);
  EXPECT_FALSE(room.check(room.member(kAlice, kAlice, "join")).allowed);
  EXPECT_TRUE(room.check(room.member(kBob, kBob, "join")).allowed);

  json::object no_creator = room.create_event();
  no_creator["content"].as_object().erase("creator");
  EXPECT_FALSE(room.check(no_creator).allowed);
}

TEST(AuthRulesCreator, V11UsesSender) {
  TestRoom room("11");
  json::object create = room.create_event();
  // A stray creator field means nothing in v11.
  create["content"].as_object()["creator"] = kBob;
  ASSERT_TRUE(room.send(create).allowed);
  EXPECT_EQ(room_creator(room.state(), room.version()), kAlice);
  EXPECT_EQ(user_power_level(room.state(), kAlice, room.version()), 100);
  EXPECT_EQ(user_power_level(room.state(), kBob, room.version()), 0);
  EXPECT_FALSE(room.check(room.member(kBob, kBob, "join")).allowed);
  EXPECT_TRUE(room.check(room.member(kAlice, kAlice, "join")).allowed);
}

TEST(AuthRulesCreator, V11CreateNeedsNoCreator) {
  TestRoom room("11");
  json::object create = room.create_event();
  EXPECT_FALSE(create.at("content").as_object().contains("creator"));
  EXPECT_TRUE(room.check(create).allowed);
}

// MSC3757: "@user:server_suffix" keys belong to that user.
class OwnedStateKeys : public ::testing::Test {
 protected:
  static void set_up(TestRoom& room) {
    room.set_up("public", R"({"users": {"@alice:example.org": 100}, "state_default": 0})");
    room.join(kBob);
    room.join(kCarol);
  }
  static json::object call_member(TestRoom& room, std::string_view sender,
                                  std::string_view state_key) {
    return room.make("org.matrix.msc3401.call.member", sender, json::object{}, state_key);
  }
};

TEST_F(OwnedStateKeys, SuffixedKeysOnlyInMsc3757Versions) {
  for (std::string_view version : {"10", "11"}) {
    TestRoom room(version);
    set_up(room);
    EXPECT_FALSE(room.check(call_member(room, kBob, "@bob:example.org_DEVICE")).allowed) << version;
    EXPECT_TRUE(room.check(call_member(room, kBob, kBob)).allowed) << version;
    // Not even higher power overrides ownership in these versions.
    EXPECT_FALSE(room.check(call_member(room, kAlice, kBob)).allowed) << version;
  }
  for (std::string_view version : {"org.matrix.msc3757.10", "org.matrix.msc3757.11"}) {
    TestRoom room(version);
    set_up(room);
    EXPECT_TRUE(room.check(call_member(room, kBob, "@bob:example.org_DEVICE")).allowed) << version;
    EXPECT_TRUE(room.check(call_member(room, kBob, "@bob:example.org_m.call_")).allowed) << version;
    EXPECT_TRUE(room.check(call_member(room, kBob, kBob)).allowed) << version;
  }
}

TEST_F(OwnedStateKeys, OthersNeedStrictlyHigherPower) {
  TestRoom room("org.matrix.msc3757.11");
  set_up(room);
  // Carol has the same power as Bob.
  EXPECT_FALSE(room.check(call_member(room, kCarol, "@bob:example.org_DEVICE")).allowed);
  EXPECT_FALSE(room.check(call_member(room, kCarol, kBob)).allowed);
  // Alice outranks Bob.
  EXPECT_TRUE(room.check(call_member(room, kAlice, "@bob:example.org_DEVICE")).allowed);
  EXPECT_TRUE(room.check(call_member(room, kAlice, kBob)).allowed);
  // But nobody outranks Alice.
  EXPECT_FALSE(room.check(call_member(room, kBob, "@alice:example.org_DEVICE")).allowed);
}

TEST_F(OwnedStateKeys, MalformedOwnerKeysAreRefused) {
  TestRoom room("org.matrix.msc3757.10");
  set_up(room);
  EXPECT_FALSE(room.check(call_member(room, kBob, "@bob")).allowed);
  EXPECT_FALSE(room.check(call_member(room, kBob, "@bob_DEVICE")).allowed);
  EXPECT_FALSE(room.check(call_member(room, kBob, "@:example.org_DEVICE")).allowed);
  // A plain prefix match is not ownership: this key names @bob:example.org.evil.com.
  EXPECT_FALSE(room.check(call_member(room, kBob, "@bob:example.org.evil.com_x")).allowed);
  // Size limits: suffix up to 256 bytes including '_', unowned keys up to 255.
  std::string owned = std::string(kBob) + "_" + std::string(255, 'x');
  EXPECT_TRUE(room.check(call_member(room, kBob, owned)).allowed);
  EXPECT_FALSE(room.check(call_member(room, kBob, owned + "x")).allowed);
  EXPECT_TRUE(room.check(call_member(room, kBob, std::string(255, 'k'))).allowed);
  EXPECT_FALSE(room.check(call_member(room, kBob, std::string(256, 'k'))).allowed);
}

TEST(AuthTypes, SelectsTheAuthEventsOfTheSpec) {
  TestRoom room("11");
  EXPECT_TRUE(auth_types_for_event(room.create_event()).empty());

  json::object message = room.make("m.room.message", kBob, json::object{});
  std::vector<StateKey> expected = {
      {"m.room.create", ""}, {"m.room.power_levels", ""}, {"m.room.member", std::string(kBob)}};
  EXPECT_EQ(auth_types_for_event(message), expected);

  std::vector<StateKey> invite = auth_types_for_event(room.member(kAlice, kBob, "invite"));
  expected = {{"m.room.create", ""},
              {"m.room.power_levels", ""},
              {"m.room.member", std::string(kAlice)},
              {"m.room.member", std::string(kBob)},
              {"m.room.join_rules", ""}};
  EXPECT_EQ(invite, expected);

  // A self-join has no duplicate member entry; restricted joins add the authoriser.
  std::vector<StateKey> join = auth_types_for_event(
      room.member(kBob, kBob, "join", json::object{{"join_authorised_via_users_server", kAlice}}));
  expected = {{"m.room.create", ""},
              {"m.room.power_levels", ""},
              {"m.room.member", std::string(kBob)},
              {"m.room.join_rules", ""},
              {"m.room.member", std::string(kAlice)}};
  EXPECT_EQ(join, expected);

  // Leaves do not depend on the join rules.
  std::vector<StateKey> leave = auth_types_for_event(room.member(kBob, kBob, "leave"));
  EXPECT_EQ(leave.size(), 3u);

  json::object tpi =
      json::parse(R"({"third_party_invite": {"signed": {"token": "tok"}}})").as_object();
  std::vector<StateKey> third_party =
      auth_types_for_event(room.member(kAlice, kBob, "invite", tpi));
  EXPECT_NE(std::find(third_party.begin(), third_party.end(),
                      StateKey{"m.room.third_party_invite", "tok"}),
            third_party.end());
}

}  // namespace
}  // namespace atrium::matrix
