#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <thread>

#include "store/store.hpp"

namespace atrium::store {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("atrium-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    path_ = (dir_ / "hs.db").string();
    store_ = open_sqlite_store(path_);
  }
  void TearDown() override {
    if (store_) store_->close();
    std::filesystem::remove_all(dir_);
  }

  // Runs a job and waits for its durable completion; returns its error.
  std::exception_ptr write(Store::Job job) {
    std::promise<std::exception_ptr> done;
    store_->write(std::move(job), [&](std::exception_ptr e) { done.set_value(e); });
    return done.get_future().get();
  }

  Event state_event(const std::string& room, const std::string& type, const std::string& key,
                    const std::string& id, const std::string& content = "{}") {
    Event e;
    e.event_id = id;
    e.room_id = room;
    e.type = type;
    e.state_key = key;
    e.sender = "@a:hs";
    e.pdu_json = R"({"content":)" + content + "}";
    return e;
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteStoreTest, WritesAreVisibleAndSurviveReopen) {
  ASSERT_FALSE(write([](Writer& w) {
    w.insert_user(User{"@a:hs", "hash", 1, false, false, "A", ""});
    w.insert_token("tok", "@a:hs", "DEV");
  }));
  EXPECT_EQ(store_->read()->user("@a:hs")->displayname, "A");
  store_->close();
  store_ = open_sqlite_store(path_);
  auto owner = store_->read()->token_owner("tok");
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->device_id, "DEV");
}

TEST_F(SqliteStoreTest, FailingJobRollsBackAloneInItsBatch) {
  // Queue several jobs at once so they share one transaction.
  std::vector<std::promise<std::exception_ptr>> results(3);
  store_->write([](Writer& w) { w.insert_user(User{"@1:hs"}); },
                [&](std::exception_ptr e) { results[0].set_value(e); });
  store_->write(
      [](Writer& w) {
        w.insert_user(User{"@2:hs"});
        throw std::runtime_error("boom");
      },
      [&](std::exception_ptr e) { results[1].set_value(e); });
  store_->write([](Writer& w) { w.insert_user(User{"@3:hs"}); },
                [&](std::exception_ptr e) { results[2].set_value(e); });
  EXPECT_FALSE(results[0].get_future().get());
  EXPECT_TRUE(results[1].get_future().get());
  EXPECT_FALSE(results[2].get_future().get());
  auto r = store_->read();
  EXPECT_TRUE(r->user("@1:hs"));
  EXPECT_FALSE(r->user("@2:hs"));
  EXPECT_TRUE(r->user("@3:hs"));
}

TEST_F(SqliteStoreTest, AfterCommitHooksRunOnlyForCommittedJobs) {
  std::atomic<int> ran{0};
  write([&](Writer& w) { w.after_commit([&] { ran += 1; }); });
  write([&](Writer& w) {
    w.after_commit([&] { ran += 10; });
    throw std::runtime_error("rolled back");
  });
  EXPECT_EQ(ran.load(), 1);
}

TEST_F(SqliteStoreTest, PositionsIncreaseAndStateQueriesFollowThem) {
  const std::string room = "!r:hs";
  ASSERT_FALSE(write([&](Writer& w) {
    w.insert_room(Room{room, "11", "@a:hs", 1});
    auto e1 = state_event(room, "m.room.create", "", "$1");
    auto e2 = state_event(room, "m.room.name", "", "$2", R"({"name":"one"})");
    auto e3 = state_event(room, "m.room.name", "", "$3", R"({"name":"two"})");
    w.insert_event(e1);
    w.insert_event(e2);
    w.insert_event(e3);
    EXPECT_LT(e1.pos, e2.pos);
    EXPECT_LT(e2.pos, e3.pos);
  }));
  auto r = store_->read();
  auto name = r->current_state_event(room, "m.room.name", "");
  ASSERT_TRUE(name);
  EXPECT_EQ(name->event_id, "$3");
  auto e3 = r->event("$3");
  ASSERT_TRUE(e3);
  EXPECT_EQ(store_->committed_pos(), e3->pos);
  // State before $3 has the first name; changes after $1 collapse to the latest.
  auto before = r->state_before(room, e3->pos);
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(before[1].event_id, "$2");
  auto changes = r->state_changes(room, r->event("$1")->pos, e3->pos);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].event_id, "$3");
  // Timeline windows.
  auto newest = r->room_events(room, 0, e3->pos, true, 2);
  ASSERT_EQ(newest.size(), 2u);
  EXPECT_EQ(newest[0].event_id, "$3");
  EXPECT_EQ(r->room_forward_extremities(room).at(0).event_id, "$3");
}

TEST_F(SqliteStoreTest, MembershipRowsFollowMemberEvents) {
  const std::string room = "!r:hs";
  ASSERT_FALSE(write([&](Writer& w) {
    auto join = state_event(room, "m.room.member", "@b:hs", "$j", R"({"membership":"join"})");
    w.insert_event(join);
    auto leave = state_event(room, "m.room.member", "@b:hs", "$l", R"({"membership":"leave"})");
    w.insert_event(leave);
  }));
  auto m = store_->read()->membership(room, "@b:hs");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->membership, "leave");
  EXPECT_EQ(m->event_id, "$l");
  ASSERT_FALSE(write([&](Writer& w) { w.set_forgotten(room, "@b:hs"); }));
  EXPECT_TRUE(store_->read()->membership(room, "@b:hs")->forgotten);
}

TEST_F(SqliteStoreTest, ConcurrentWritersAllCommit) {
  constexpr int kThreads = 8, kPerThread = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::promise<std::exception_ptr> done;
        store_->write(
            [&, t, i](Writer& w) {
              w.put_account_data("@u" + std::to_string(t) + ":hs", "", "k" + std::to_string(i),
                                 "{}");
            },
            [&](std::exception_ptr e) { done.set_value(e); });
        if (done.get_future().get()) ++failures;
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->committed_pos(), kThreads * kPerThread);
  EXPECT_EQ(store_->read()->account_data_changes("@u3:hs", 0, INT64_MAX).size(),
            static_cast<size_t>(kPerThread));
}

TEST_F(SqliteStoreTest, NotificationsOfOneEventAreStoredTogether) {
  auto message = [](const std::string& id, int64_t ts) {
    Event e;
    e.event_id = id;
    e.room_id = "!r:hs";
    e.type = "m.room.message";
    e.sender = "@s:hs";
    e.origin_server_ts = ts;
    e.pdu_json = "{}";
    return e;
  };
  auto notification = [](const Event& e, const std::string& user, bool highlight) {
    return Notification{user,
                        e.room_id,
                        e.event_id,
                        e.pos,
                        e.origin_server_ts,
                        highlight,
                        highlight ? R"(["notify",{"set_tweak":"highlight"}])" : R"(["notify"])"};
  };
  int64_t first = 0, second = 0;
  ASSERT_FALSE(write([&](Writer& w) {
    auto a = message("$a", 10);
    w.insert_event(a);
    first = a.pos;
    w.insert_notifications({notification(a, "@u:hs", false), notification(a, "@v:hs", true)});
    auto b = message("$b", 20);
    w.insert_event(b);
    second = b.pos;
    w.insert_notifications({notification(b, "@u:hs", true)});
    // A user notified again at the same position replaces their entry.
    w.insert_notifications({notification(b, "@u:hs", false)});
  }));
  {
    auto r = store_->read();
    auto counts = r->notification_counts("@u:hs", "!r:hs", 0, INT64_MAX);
    EXPECT_EQ(counts.notifications, 2);
    EXPECT_EQ(counts.highlights, 0);
    counts = r->notification_counts("@v:hs", "!r:hs", 0, INT64_MAX);
    EXPECT_EQ(counts.notifications, 1);
    EXPECT_EQ(counts.highlights, 1);
    EXPECT_EQ(r->notification_counts("@u:hs", "!r:hs", first, INT64_MAX).notifications, 1);
    EXPECT_EQ(r->notification_counts("@u:hs", "!other:hs", 0, INT64_MAX).notifications, 0);
    // The upper bound is inclusive: only $a is at or below `first`.
    EXPECT_EQ(r->notification_counts("@u:hs", "!r:hs", 0, first).notifications, 1);
    EXPECT_EQ(r->notification_counts("@u:hs", "!r:hs", 0, first - 1).notifications, 0);
    // A user id that is a prefix of another's does not match it.
    EXPECT_EQ(r->notification_counts("@u:h", "!r:hs", 0, INT64_MAX).notifications, 0);

    auto listed = r->notifications("@u:hs", INT64_MAX, 10, false);
    ASSERT_EQ(listed.size(), 2u);
    EXPECT_EQ(listed[0].event_id, "$b");
    EXPECT_EQ(listed[0].pos, second);
    EXPECT_EQ(listed[0].ts, 20);
    EXPECT_EQ(listed[0].actions_json, R"(["notify"])");
    EXPECT_FALSE(listed[0].highlight);
    EXPECT_EQ(listed[1].event_id, "$a");
    auto highlights = r->notifications("@v:hs", INT64_MAX, 10, true);
    ASSERT_EQ(highlights.size(), 1u);
    EXPECT_TRUE(highlights[0].highlight);
    EXPECT_EQ(highlights[0].actions_json, R"(["notify",{"set_tweak":"highlight"}])");
    EXPECT_TRUE(r->notifications("@u:hs", INT64_MAX, 10, true).empty());
    auto after = r->notifications_after("@u:hs", first, 10);
    ASSERT_EQ(after.size(), 1u);
    EXPECT_EQ(after[0].event_id, "$b");
  }

  EXPECT_FALSE(store_->read()->notifications_dropped("!r:hs", 0, second));
  int64_t redaction_pos = 0;
  ASSERT_FALSE(write([&](Writer& w) {
    auto redaction = message("$redacts-a", 30);
    redaction.type = "m.room.redaction";
    w.insert_event(redaction);
    redaction_pos = redaction.pos;
    w.delete_notifications_at(first);
  }));
  auto r = store_->read();
  EXPECT_EQ(r->notification_counts("@v:hs", "!r:hs", 0, INT64_MAX).notifications, 0);
  EXPECT_EQ(r->notification_counts("@u:hs", "!r:hs", 0, INT64_MAX).notifications, 1);
  // A count kept from before the redaction must be recomputed; one from after it need not.
  EXPECT_TRUE(r->notifications_dropped("!r:hs", second, redaction_pos));
  EXPECT_FALSE(r->notifications_dropped("!r:hs", redaction_pos, redaction_pos + 5));
  EXPECT_FALSE(r->notifications_dropped("!other:hs", 0, redaction_pos));
}

}  // namespace
}  // namespace atrium::store
