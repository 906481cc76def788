// Notifications: push rules evaluated on append, unread counts in /sync reset
// by read receipts, GET /notifications, redaction.
#include "homeserver/notifications.hpp"
#include "fixture.hpp"

namespace atrium::homeserver::testing {
namespace {

class NotificationsTest : public HomeserverTest {
 protected:
  std::string send(const Requester& who, const std::string& room, const std::string& type,
                   json::object content) {
    auto out = await<json::object>([&](auto done) {
      hs_->rooms.send_event(who, room, type, "n" + std::to_string(++txn_), content, 0, done);
    });
    return std::string(out.at("event_id").as_string());
  }
  std::string ring(const Requester& who, const std::string& room) {
    return send(who, room, "org.matrix.msc4075.rtc.notification",
                {{"m.mentions", {{"user_ids", json::array{}}, {"room", true}}},
                 {"notification_type", "ring"},
                 {"sender_ts", 1750000000000},
                 {"lifetime", 30000}});
  }
  void read(const Requester& who, const std::string& room, const std::string& event_id,
            const std::string& type = "m.read") {
    await<json::object>(
        [&](auto done) { hs_->user_data.post_receipt(who, room, type, event_id, {}, done); });
  }
  std::pair<int64_t, int64_t> counts(const Requester& who, const std::string& room) {
    // Through one kept UnreadCounts, as /sync does: later calls extend earlier counts.
    auto c =
        unread_notifications(*store_->read(), room, who.user_id, store_->committed_pos(), unread_);
    return {c.at("notification_count").as_int64(), c.at("highlight_count").as_int64()};
  }
  int txn_ = 0;
  UnreadCounts unread_;
};

TEST_F(NotificationsTest, RoomMentionHighlightsOnlyWithPowerAndReceiptsReset) {
  auto alice = make_user("alice");  // room creator: power 100
  auto bob = make_user("bob");
  auto carol = make_user("carol");
  auto room = create_room(alice, {{"preset", "public_chat"}});
  join(bob, room);
  join(carol, room);

  auto call = ring(alice, room);
  EXPECT_EQ(counts(bob, room), std::make_pair(int64_t{1}, int64_t{1}));
  EXPECT_EQ(counts(carol, room), std::make_pair(int64_t{1}, int64_t{1}));
  EXPECT_EQ(counts(alice, room), std::make_pair(int64_t{0}, int64_t{0}));  // not the sender

  // Bob (power 0 < notifications.room 50) rings: no rule matches, nobody is notified.
  ring(bob, room);
  EXPECT_EQ(counts(alice, room), std::make_pair(int64_t{0}, int64_t{0}));

  // Intentional user mention by anyone highlights the named user only.
  send(bob, room, "m.room.message",
       {{"msgtype", "m.text"}, {"body", "hi"}, {"m.mentions", {{"user_ids", {carol.user_id}}}}});
  EXPECT_EQ(counts(carol, room), std::make_pair(int64_t{2}, int64_t{2}));
  EXPECT_EQ(counts(alice, room), std::make_pair(int64_t{1}, int64_t{0}));
  auto last = send_text(alice, room, "plain", "x");
  EXPECT_EQ(counts(bob, room), std::make_pair(int64_t{2}, int64_t{1}));

  // The counts show in /sync.
  auto body = await<json::object>([&](auto done) { hs_->sync.sync(bob, SyncRequest{}, done); });
  auto unread = body.at("rooms").at("join").at(room).at("unread_notifications");
  EXPECT_EQ(unread.at("notification_count").as_int64(), 2);
  EXPECT_EQ(unread.at("highlight_count").as_int64(), 1);

  // A receipt at the ring: only what came after counts.
  read(bob, room, call);
  EXPECT_EQ(counts(bob, room), std::make_pair(int64_t{1}, int64_t{0}));
  read(bob, room, last, "m.read.private");
  EXPECT_EQ(counts(bob, room), std::make_pair(int64_t{0}, int64_t{0}));
  EXPECT_EQ(unread_notification_total(*store_->read(), carol.user_id), 3);
}

TEST_F(NotificationsTest, RedactedEventsStopCountingAndSilentEventsNeverCount) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto room = create_room(alice, {{"preset", "public_chat"}});
  join(bob, room);
  auto msg = send_text(alice, room, "oops", "m");
  send(alice, room, "m.reaction",
       {{"m.relates_to", {{"rel_type", "m.annotation"}, {"event_id", msg}, {"key", "🖐️"}}}});
  send(alice, room, "m.room.message", {{"msgtype", "m.notice"}, {"body", "bot"}});
  EXPECT_EQ(counts(bob, room), std::make_pair(int64_t{1}, int64_t{0}));
  await<json::object>([&](auto done) { hs_->rooms.redact(alice, room, msg, "r1", {}, done); });
  EXPECT_EQ(counts(bob, room), std::make_pair(int64_t{0}, int64_t{0}));
}

TEST_F(NotificationsTest, KeptCountsExtendLikeFreshOnes) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto room = create_room(alice, {{"preset", "public_chat"}});
  join(bob, room);
  auto fresh = [&] {
    UnreadCounts once;
    auto c =
        unread_notifications(*store_->read(), room, bob.user_id, store_->committed_pos(), once);
    return std::make_pair(c.at("notification_count").as_int64(),
                          c.at("highlight_count").as_int64());
  };
  std::vector<std::string> sent;
  for (int i = 0; i < 4; ++i) {
    sent.push_back(send_text(alice, room, "hello " + std::to_string(i), "k" + std::to_string(i)));
    EXPECT_EQ(counts(bob, room), fresh());
  }
  EXPECT_EQ(counts(bob, room), std::make_pair(int64_t{4}, int64_t{0}));
  // An older bound than the kept one is answered exactly and does not move it back.
  auto r = store_->read();
  auto early = unread_notifications(*r, room, bob.user_id, r->event(sent[1])->pos, unread_);
  EXPECT_EQ(early.at("notification_count").as_int64(), 2);
  EXPECT_EQ(counts(bob, room), std::make_pair(int64_t{4}, int64_t{0}));
  // Redacting an event counted long ago drops it from the kept count.
  await<json::object>([&](auto done) { hs_->rooms.redact(alice, room, sent[0], "r1", {}, done); });
  EXPECT_EQ(counts(bob, room), std::make_pair(int64_t{3}, int64_t{0}));
  // Reading moves the start: counted afresh from the receipt.
  read(bob, room, sent[2]);
  EXPECT_EQ(counts(bob, room), std::make_pair(int64_t{1}, int64_t{0}));
  EXPECT_EQ(counts(bob, room), fresh());
}

TEST_F(NotificationsTest, InviteNotifiesTheInvitee) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto room = create_room(alice, {{"preset", "public_chat"}});
  membership(alice, room, "invite", bob.user_id);
  EXPECT_EQ(counts(bob, room).first, 1);
  join(bob, room);  // once joined, the invite is old news
  EXPECT_EQ(counts(bob, room).first, 0);
}

TEST_F(NotificationsTest, ListsNotificationsNewestFirstWithReadFlagsAndPaging) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto room = create_room(alice, {{"preset", "public_chat"}});
  join(bob, room);
  auto first = send_text(alice, room, "one", "1");
  auto second = ring(alice, room);
  auto third = send_text(alice, room, "three", "3");
  read(bob, room, first);

  auto all = hs_->notifications.list(bob, std::nullopt, std::nullopt, false);
  const auto& list = all.at("notifications").as_array();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].at("event").at("event_id").as_string(), third);
  EXPECT_FALSE(list[0].at("read").as_bool());
  EXPECT_EQ(list[2].at("event").at("event_id").as_string(), first);
  EXPECT_TRUE(list[2].at("read").as_bool());
  EXPECT_EQ(list[1].at("room_id").as_string(), room);
  EXPECT_TRUE(list[1].at("actions").is_array());
  EXPECT_FALSE(all.contains("next_token"));

  auto highlights = hs_->notifications.list(bob, std::nullopt, std::nullopt, true);
  ASSERT_EQ(highlights.at("notifications").as_array().size(), 1u);
  EXPECT_EQ(highlights.at("notifications").at(0).at("event").at("event_id").as_string(), second);

  auto page = hs_->notifications.list(bob, std::nullopt, 2, false);
  ASSERT_EQ(page.at("notifications").as_array().size(), 2u);
  auto next = std::string(page.at("next_token").as_string());
  auto rest = hs_->notifications.list(bob, next, 2, false);
  ASSERT_EQ(rest.at("notifications").as_array().size(), 1u);
  EXPECT_EQ(rest.at("notifications").at(0).at("event").at("event_id").as_string(), first);

  EXPECT_EQ(errcode_of([&] { hs_->notifications.list(bob, "abc", std::nullopt, false); }),
            "M_INVALID_PARAM");
  EXPECT_EQ(errcode_of([&] { hs_->notifications.list(bob, std::nullopt, 0, false); }),
            "M_INVALID_PARAM");
}

}  // namespace
}  // namespace atrium::homeserver::testing
