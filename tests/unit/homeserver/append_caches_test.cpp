#include "homeserver/append_caches.hpp"

#include "fixture.hpp"

namespace atrium::homeserver::testing {
namespace {

using AppendCachesTest = HomeserverTest;

store::Event stored(std::string event_id, std::string pdu_json) {
  store::Event e;
  e.event_id = std::move(event_id);
  e.pdu_json = std::move(pdu_json);
  return e;
}

TEST(ParsedPduCache, ParsesOnceAndAgainWhenThePduChanges) {
  ParsedPduCache cache;
  auto original = stored("$a", R"({"type":"m.room.power_levels","content":{"invite":100}})");
  auto first = cache.parsed(original);
  EXPECT_EQ(first->at("content").at("invite").as_int64(), 100);
  EXPECT_EQ(cache.parsed(original), first) << "the same row is not parsed again";

  // A redaction rewrites the stored PDU under the same event id.
  auto redacted = stored("$a", R"({"type":"m.room.power_levels","content":{}})");
  auto after = cache.parsed(redacted);
  EXPECT_NE(after, first);
  EXPECT_TRUE(after->at("content").as_object().empty());
  EXPECT_EQ(first->at("content").at("invite").as_int64(), 100) << "held copies stay valid";
}

TEST(ParsedPduCache, StaysWithinItsBounds) {
  ParsedPduCache cache(2);
  for (int i = 0; i < 5; ++i)
    cache.parsed(stored("$" + std::to_string(i), R"({"content":{}})"));
  EXPECT_LE(cache.size(), 2u);
  ParsedPduCache small(100, /*max_bytes=*/30);  // two PDUs of 14 bytes
  for (int i = 0; i < 5; ++i)
    small.parsed(stored("$" + std::to_string(i), R"({"content":{}})"));
  EXPECT_LE(small.size(), 2u);
}

// The rules of an entry, driven directly: positions are made up, the
// memberships come from a real room.
TEST_F(AppendCachesTest, MembersAreReusedOnlyFromTheRoomsPreviousNewestEvent) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto room = create_room(alice, json::object{{"preset", "public_chat"}});
  join(bob, room);
  auto other = create_room(alice);
  auto big = create_room(bob, json::object{{"preset", "public_chat"}});
  join(alice, big);

  RoomMembersCache cache(/*max_rows=*/3);
  auto r = store_->read();
  auto event = [&](const std::string& room_id, const std::string& type, int64_t pos) {
    store::Event e;
    e.room_id = room_id;
    e.type = type;
    e.pos = pos;
    return e;
  };
  auto first = cache.after_insert(*r, event(room, "m.room.message", 100), 99);
  ASSERT_EQ(first->all.size(), 2u);
  EXPECT_EQ(first->joined_or_invited.size(), 2u);
  EXPECT_EQ(cache.after_insert(*r, event(room, "m.room.message", 101), 100), first);
  // The newest event is not the one the entry was written for (an append that
  // rolled back, or positions reused after a failed commit): read again.
  EXPECT_NE(cache.after_insert(*r, event(room, "m.room.message", 103), 102), first);
  auto now = cache.after_insert(*r, event(room, "m.room.message", 104), 103);
  // A member event always reads again.
  EXPECT_NE(cache.after_insert(*r, event(room, "m.room.member", 105), 104), now);
  now = cache.after_insert(*r, event(room, "m.room.message", 106), 105);
  // Forgetting drops the room.
  cache.forget(room);
  EXPECT_NE(cache.after_insert(*r, event(room, "m.room.message", 107), 106), now);
  now = cache.after_insert(*r, event(room, "m.room.message", 108), 107);
  // Past the bound (2 + 1 rows held, then 2 more) everything is dropped.
  cache.after_insert(*r, event(other, "m.room.message", 109), 0);
  cache.after_insert(*r, event(other, "m.room.message", 110), 109);
  EXPECT_EQ(cache.after_insert(*r, event(room, "m.room.message", 111), 108), now);
  cache.after_insert(*r, event(big, "m.room.message", 112), 0);
  EXPECT_NE(cache.after_insert(*r, event(room, "m.room.message", 113), 111), now);
}

// The rules of RoomStateCache, driven directly like the members' above. A
// fresh ParsedPduCache per call tells a read (a new object) from a hit.
TEST_F(AppendCachesTest, StateIsReusedOnlyFromTheRoomsPreviousNewestEvent) {
  auto alice = make_user("alice");
  auto room = create_room(alice);
  RoomStateCache cache;
  auto r = store_->read();
  auto newest = r->room_forward_extremities(room).at(0).pos;
  auto lookup = [&](int64_t pos, const std::string& type) {
    ParsedPduCache pdus;
    auto ref = cache.lookup(*r, room, pos, type, "", pdus);
    return ref ? ref->pdu : nullptr;
  };
  auto inserted = [&](int64_t pos, int64_t previous, const std::string& type,
                      std::optional<std::string> state_key = std::nullopt) {
    store::Event e;
    e.room_id = room;
    e.type = type;
    e.state_key = std::move(state_key);
    e.pos = pos;
    cache.after_insert(e, previous);
  };
  auto create = lookup(newest, "m.room.create");
  auto power = lookup(newest, "m.room.power_levels");
  ASSERT_TRUE(create && power);
  EXPECT_EQ(create->at("type").as_string(), "m.room.create");
  EXPECT_EQ(lookup(newest, "m.room.create"), create);
  EXPECT_FALSE(lookup(newest, "m.room.third_party_invite"));

  inserted(newest + 1, newest, "m.room.message");  // carried on
  EXPECT_EQ(lookup(newest + 1, "m.room.create"), create);
  inserted(newest + 2, newest + 1, "m.room.power_levels", "");  // drops its own key only
  EXPECT_EQ(lookup(newest + 2, "m.room.create"), create);
  power = lookup(newest + 2, "m.room.power_levels");
  EXPECT_EQ(lookup(newest + 2, "m.room.power_levels"), power);
  inserted(newest + 3, newest + 2, "m.room.redaction");  // drops everything
  EXPECT_NE(lookup(newest + 3, "m.room.create"), create);
  create = lookup(newest + 3, "m.room.create");
  // Not the newest event the entry knows (rolled back, or a position reused).
  inserted(newest + 5, newest + 4, "m.room.message");
  EXPECT_NE(lookup(newest + 5, "m.room.create"), create);
  create = lookup(newest + 5, "m.room.create");
  EXPECT_NE(lookup(newest + 4, "m.room.create"), create);

  // Past its byte bound the cache starts over.
  RoomStateCache small(/*max_rooms=*/10, /*max_bytes=*/1);
  ParsedPduCache pdus;
  auto first = small.lookup(*r, room, newest, "m.room.create", "", pdus);
  EXPECT_EQ(small.lookup(*r, room, newest, "m.room.create", "", pdus)->pdu, first->pdu);
  small.lookup(*r, room, newest, "m.room.power_levels", "", pdus);
  ParsedPduCache fresh;
  EXPECT_NE(small.lookup(*r, room, newest, "m.room.create", "", fresh)->pdu, first->pdu);
}

TEST_F(AppendCachesTest, JoinsLeavesAndKicksChangeWhoIsWoken) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto carol = make_user("carol");
  auto room = create_room(alice, json::object{{"preset", "public_chat"}});
  send_text(alice, room, "before", "t0");

  auto woken_by = [&](const Requester& user, auto&& action) {
    bool woken = false;
    auto waiter = hs_->notifier.wait(user.user_id, 30000, [&](bool timed_out) {
      if (!timed_out) woken = true;
    });
    action();
    flush();
    waiter->cancel();
    return woken;
  };
  EXPECT_FALSE(woken_by(bob, [&] { send_text(alice, room, "not yet", "t1"); }));
  join(bob, room);
  EXPECT_TRUE(woken_by(bob, [&] { send_text(alice, room, "joined", "t2"); }));
  EXPECT_TRUE(woken_by(carol, [&] { membership(alice, room, "invite", carol.user_id); }));
  EXPECT_TRUE(woken_by(carol, [&] { send_text(alice, room, "invited", "t3"); }));
  // The kicked user hears of the kick, and then of nothing more.
  EXPECT_TRUE(woken_by(bob, [&] { membership(alice, room, "kick", bob.user_id); }));
  EXPECT_FALSE(woken_by(bob, [&] { send_text(alice, room, "gone", "t4"); }));
  EXPECT_TRUE(woken_by(carol, [&] { send_text(alice, room, "still invited", "t5"); }));

  // Push rules saw the same members: bob was notified only of the two
  // messages sent while he was in the room.
  auto listed = hs_->notifications.list(bob, std::nullopt, std::nullopt, false);
  EXPECT_EQ(listed.at("notifications").as_array().size(), 2u);
}

TEST_F(AppendCachesTest, AJoinThatRolledBackIsNotRemembered) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto room = create_room(alice, json::object{{"preset", "public_chat"}});
  send_text(alice, room, "first", "t0");

  // Bob's join is appended (and its memberships read) in a job that then fails.
  auto failed = await<json::object>([&](auto done) {
    store_->write(
        [&](store::Writer& w) {
          auto r = w.room(room);
          hs_->rooms.append(w, *r,
                            json::object{{"type", "m.room.member"},
                                         {"state_key", bob.user_id},
                                         {"sender", bob.user_id},
                                         {"content", json::object{{"membership", "join"}}}});
          throw std::runtime_error("refused after the append");
        },
        [done](std::exception_ptr e) {
          done(nullptr, json::object{{"failed", e != nullptr}});
        });
  });
  ASSERT_TRUE(failed.at("failed").as_bool());

  bool woken = false;
  auto waiter = hs_->notifier.wait(bob.user_id, 30000, [&](bool timed_out) {
    if (!timed_out) woken = true;
  });
  send_text(alice, room, "bob is not here", "t1");
  flush();
  waiter->cancel();
  EXPECT_FALSE(woken);
  auto listed = hs_->notifications.list(bob, std::nullopt, std::nullopt, false);
  EXPECT_TRUE(listed.at("notifications").as_array().empty());
  EXPECT_EQ(errcode_of([&] { send_text(bob, room, "let me in", "b0"); }), "M_FORBIDDEN");
}

TEST_F(AppendCachesTest, APowerLevelChangeThatRolledBackIsNotRemembered) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto carol = make_user("carol");
  auto room = create_room(alice, json::object{{"preset", "public_chat"}});
  join(bob, room);

  // Lower the invite level (50 in a public room) to bob's, send a message
  // under it (its auth reads the new power levels), then fail: none of it
  // happened.
  auto failed = await<json::object>([&](auto done) {
    store_->write(
        [&](store::Writer& w) {
          auto r = w.room(room);
          auto power = w.current_state_event(room, "m.room.power_levels", "");
          auto content = json::parse(power->pdu_json).at("content").as_object();
          content["invite"] = 0;
          hs_->rooms.append(w, *r,
                            json::object{{"type", "m.room.power_levels"},
                                         {"state_key", ""},
                                         {"sender", alice.user_id},
                                         {"content", std::move(content)}});
          hs_->rooms.append(w, *r,
                            json::object{{"type", "m.room.message"},
                                         {"sender", alice.user_id},
                                         {"content", json::object{{"body", "under new rules"}}}});
          throw std::runtime_error("refused after the appends");
        },
        [done](std::exception_ptr e) {
          done(nullptr, json::object{{"failed", e != nullptr}});
        });
  });
  ASSERT_TRUE(failed.at("failed").as_bool());
  EXPECT_EQ(errcode_of([&] { membership(bob, room, "invite", carol.user_id); }), "M_FORBIDDEN");
  membership(alice, room, "invite", carol.user_id);
  join(carol, room);
}

TEST_F(AppendCachesTest, ARedactedAuthEventIsReadAgain) {
  // Room version 10 redacts power_levels.invite: once the power levels are
  // redacted, inviting falls back to level 0.
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto carol = make_user("carol");
  auto room = create_room(
      alice, json::object{{"preset", "public_chat"},
                          {"room_version", "10"},
                          {"power_level_content_override", json::object{{"invite", 100}}}});
  join(bob, room);
  EXPECT_EQ(errcode_of([&] { membership(bob, room, "invite", carol.user_id); }), "M_FORBIDDEN");

  auto power_levels = store_->read()->current_state_event(room, "m.room.power_levels", "");
  ASSERT_TRUE(power_levels);
  await<json::object>([&](auto done) {
    hs_->rooms.redact(alice, room, power_levels->event_id, "r0", json::object{}, done);
  });
  membership(bob, room, "invite", carol.user_id);
  auto members = hs_->rooms.members(alice, room, std::string("invite"), std::nullopt);
  EXPECT_EQ(members.at("chunk").as_array().size(), 1u);
}

}  // namespace
}  // namespace atrium::homeserver::testing
