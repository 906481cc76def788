#include "fixture.hpp"

namespace atrium::homeserver::testing {
namespace {

using RoomsTest = HomeserverTest;

TEST_F(RoomsTest, CreateRoomWritesThePresetState) {
  auto alice = make_user("alice");
  auto room = create_room(alice, json::object{{"name", "Hall"},
                                              {"topic", "t"},
                                              {"room_alias_name", "hall"},
                                              {"preset", "public_chat"}});
  auto state = hs_->rooms.get_state(alice, room);
  std::map<std::string, json::object> by_type;
  for (auto& e : state)
    by_type[std::string(e.at("type").as_string())] = e.as_object();
  EXPECT_EQ(by_type["m.room.create"]["content"].at("room_version").as_string(), "11");
  EXPECT_FALSE(by_type["m.room.create"]["content"].as_object().contains("creator"))
      << "v11 create events have no creator";
  EXPECT_EQ(by_type["m.room.join_rules"]["content"].at("join_rule").as_string(), "public");
  EXPECT_EQ(by_type["m.room.name"]["content"].at("name").as_string(), "Hall");
  EXPECT_EQ(by_type["m.room.canonical_alias"]["content"].at("alias").as_string(), "#hall:hs");
  EXPECT_EQ(hs_->rooms.resolve_alias("#hall:hs").at("room_id").as_string(), room);
  auto pl = by_type["m.room.power_levels"]["content"].as_object();
  EXPECT_EQ(pl.at("users").as_object().at(alice.user_id).as_int64(), 100);

  // A taken alias and an unknown room version are refused with their errcodes.
  EXPECT_EQ(errcode_of([&] {
              create_room(alice, json::object{{"room_alias_name", "hall"}});
            }),
            "M_ROOM_IN_USE");
  EXPECT_EQ(errcode_of([&] {
              create_room(alice, json::object{{"room_version", "1"}});
            }),
            "M_UNSUPPORTED_ROOM_VERSION");
}

TEST_F(RoomsTest, RoomVersion10KeepsCreator) {
  auto alice = make_user("alice");
  auto room = create_room(alice, json::object{{"room_version", "10"}});
  auto create = hs_->rooms.get_state_event(alice, room, "m.room.create", "", false);
  EXPECT_EQ(create.at("creator").as_string(), alice.user_id);
}

TEST_F(RoomsTest, InviteOnlyRoomsNeedAnInvite) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto room = create_room(alice);  // private_chat: join_rule invite
  EXPECT_EQ(errcode_of([&] { join(bob, room); }), "M_FORBIDDEN");
  membership(alice, room, "invite", bob.user_id);
  join(bob, room);
  auto joined = hs_->rooms.joined_members(alice, room).at("joined").as_object();
  EXPECT_TRUE(joined.contains(bob.user_id));
}

TEST_F(RoomsTest, PowerLevelsGuardStateAndKicks) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto carol = make_user("carol");
  auto room = create_room(alice, json::object{{"preset", "public_chat"}});
  join(bob, room);
  join(carol, room);
  auto put_name = [&](const Requester& who) {
    await<json::object>([&](auto done) {
      hs_->rooms.put_state(who, room, "m.room.name", "", json::object{{"name", "x"}}, done);
    });
  };
  EXPECT_EQ(errcode_of([&] { put_name(bob); }), "M_FORBIDDEN");
  EXPECT_EQ(errcode_of([&] { membership(bob, room, "kick", carol.user_id); }), "M_FORBIDDEN");
  // Someone else's user-owned state key is refused.
  EXPECT_EQ(errcode_of([&] {
              await<json::object>([&](auto done) {
                hs_->rooms.put_state(bob, room, "m.custom", alice.user_id, {}, done);
              });
            }),
            "M_FORBIDDEN");
  put_name(alice);
  membership(alice, room, "kick", carol.user_id);
  EXPECT_EQ(hs_->rooms.members(alice, room, std::string("leave"), std::nullopt)
                .at("chunk")
                .as_array()
                .size(),
            1u);
  membership(alice, room, "ban", carol.user_id);
  EXPECT_EQ(errcode_of([&] { join(carol, room); }), "M_FORBIDDEN");
  membership(alice, room, "unban", carol.user_id);
  join(carol, room);
}

TEST_F(RoomsTest, SendIsIdempotentPerDeviceAndTransaction) {
  auto alice = make_user("alice");
  auto room = create_room(alice);
  auto first = send_text(alice, room, "hello", "txn1");
  EXPECT_EQ(send_text(alice, room, "hello again", "txn1"), first);
  EXPECT_NE(send_text(alice, room, "hello", "txn2"), first);
  auto event = hs_->rooms.get_event(alice, room, first);
  EXPECT_EQ(event.at("content").at("body").as_string(), "hello");
  EXPECT_EQ(event.at("unsigned").at("transaction_id").as_string(), "txn1");
}

TEST_F(RoomsTest, ConcurrentRetriesOfOneTransactionMakeOneEvent) {
  auto alice = make_user("alice");
  auto room = create_room(alice);
  // Both are queued before either commits: the write job's lookup decides.
  std::vector<std::promise<std::string>> ids(3);
  for (auto& id : ids)
    hs_->rooms.send_event(alice, room, "m.room.message", "same",
                          json::object{{"msgtype", "m.text"}, {"body", "once"}}, 0,
                          [&id](std::exception_ptr e, json::object o) {
                            if (e) return id.set_exception(e);
                            id.set_value(std::string(o.at("event_id").as_string()));
                          });
  auto first = ids[0].get_future().get();
  EXPECT_EQ(ids[1].get_future().get(), first);
  EXPECT_EQ(ids[2].get_future().get(), first);
  auto chunk = hs_->rooms.messages(alice, room, MessagesQuery{}).at("chunk").as_array();
  int copies = 0;
  for (const auto& e : chunk)
    if (e.at("type").as_string() == "m.room.message") ++copies;
  EXPECT_EQ(copies, 1);
}

// A server whose message limit allows kBurst messages, then none for a long time.
template <int kBurst>
class RateLimitedRoomsTest : public HomeserverTest {
 protected:
  void SetUp() override {
    HomeserverTest::SetUp();
    hs_.reset();
    config_.rc_message = {0.001, kBurst};
    hs_ = std::make_unique<Homeserver>(config_, *store_, matrix::SigningKey::generate("t"),
                                       scheduler_);
  }
};
using RateLimitedToOneTest = RateLimitedRoomsTest<1>;
using RateLimitedToTwoTest = RateLimitedRoomsTest<2>;

TEST_F(RateLimitedToOneTest, RetriesAreAnsweredOverTheLimit) {
  auto alice = make_user("alice");
  auto room = create_room(alice);
  auto first = send_text(alice, room, "hello", "txn1");
  EXPECT_EQ(errcode_of([&] { send_text(alice, room, "more", "txn2"); }), "M_LIMIT_EXCEEDED");
  EXPECT_EQ(send_text(alice, room, "hello", "txn1"), first);
}

TEST_F(RateLimitedToTwoTest, RetriesUnderTheLimitDoNotUseItUp) {
  auto alice = make_user("alice");
  auto room = create_room(alice);
  auto first = send_text(alice, room, "hello", "txn1");
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(send_text(alice, room, "hello", "txn1"), first);
  EXPECT_NE(send_text(alice, room, "second", "txn2"), first);
  EXPECT_EQ(errcode_of([&] { send_text(alice, room, "third", "txn3"); }), "M_LIMIT_EXCEEDED");
}

TEST_F(RoomsTest, NonMembersCannotSendOrRead) {
  auto alice = make_user("alice");
  auto eve = make_user("eve");
  auto room = create_room(alice);
  auto id = send_text(alice, room, "secret", "t");
  EXPECT_EQ(errcode_of([&] { send_text(eve, room, "hi", "t"); }), "M_FORBIDDEN");
  EXPECT_EQ(errcode_of([&] { hs_->rooms.get_event(eve, room, id); }), "M_FORBIDDEN");
  EXPECT_EQ(errcode_of([&] { hs_->rooms.messages(eve, room, MessagesQuery{}); }), "M_FORBIDDEN");
}

TEST_F(RoomsTest, RedactionStripsContentAndLinksTheRedaction) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto room = create_room(alice, json::object{{"preset", "public_chat"}});
  join(bob, room);
  auto id = send_text(alice, room, "oops", "t1");
  // Bob (power 0) may not redact Alice's event; Alice may.
  EXPECT_EQ(
      errcode_of([&] {
        await<json::object>([&](auto done) { hs_->rooms.redact(bob, room, id, "r1", {}, done); });
      }),
      "M_FORBIDDEN");
  auto redaction = await<json::object>([&](auto done) {
    hs_->rooms.redact(alice, room, id, "r1", json::object{{"reason", "typo"}}, done);
  });
  auto event = hs_->rooms.get_event(bob, room, id);
  EXPECT_TRUE(event.at("content").as_object().empty());
  EXPECT_EQ(event.at("unsigned").at("redacted_because").at("event_id"), redaction.at("event_id"));
  auto r = hs_->rooms.get_event(bob, room, std::string(redaction.at("event_id").as_string()));
  EXPECT_EQ(r.at("redacts").as_string(), id) << "clients read the top-level redacts";
}

TEST_F(RoomsTest, MessagesPaginateBackwardsWithoutGapsOrDuplicates) {
  auto alice = make_user("alice");
  auto room = create_room(alice);
  std::vector<std::string> sent;
  for (int i = 0; i < 37; ++i)
    sent.push_back(send_text(alice, room, "m" + std::to_string(i), "t" + std::to_string(i)));
  std::vector<std::string> seen;
  MessagesQuery q;
  q.limit = 5;
  q.filter.types = std::vector<std::string>{"m.room.message"};
  for (int page = 0; page < 100; ++page) {
    auto out = hs_->rooms.messages(alice, room, q);
    for (auto& e : out.at("chunk").as_array())
      seen.insert(seen.begin(), std::string(e.at("event_id").as_string()));
    if (!out.contains("end")) break;
    q.from = std::string(out.at("end").as_string());
  }
  EXPECT_EQ(seen, sent);
}

TEST_F(RoomsTest, LeftMembersSeeHistoryUpToTheirLeave) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto room = create_room(alice, json::object{{"preset", "public_chat"}});
  join(bob, room);
  auto before = send_text(alice, room, "before", "t1");
  membership(bob, room, "leave");
  auto after = send_text(alice, room, "after", "t2");
  EXPECT_NO_THROW(hs_->rooms.get_event(bob, room, before));
  EXPECT_EQ(errcode_of([&] { hs_->rooms.get_event(bob, room, after); }), "M_NOT_FOUND");
}

TEST_F(RoomsTest, OversizedEventsAreRefused) {
  auto alice = make_user("alice");
  auto room = create_room(alice);
  EXPECT_EQ(errcode_of([&] { send_text(alice, room, std::string(70000, 'x'), "big"); }),
            "M_TOO_LARGE");
}

}  // namespace
}  // namespace atrium::homeserver::testing
