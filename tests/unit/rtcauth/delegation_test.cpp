#include "rtcauth/delegation.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

namespace atrium::rtcauth {
namespace {

// Timers fire only when the test says so.
class ManualScheduler final : public net::Scheduler {
 public:
  struct Entry {
    int64_t delay_ms;
    std::function<void()> fn;
    std::shared_ptr<bool> cancelled = std::make_shared<bool>(false);
  };
  class Handle final : public Timer {
   public:
    explicit Handle(std::shared_ptr<bool> c) : cancelled_(std::move(c)) {}
    void cancel() override { *cancelled_ = true; }

   private:
    std::shared_ptr<bool> cancelled_;
  };
  void post(std::function<void()> fn) override { fn(); }
  std::shared_ptr<Timer> after(int64_t delay_ms, std::function<void()> fn) override {
    entries.push_back({delay_ms, std::move(fn)});
    return std::make_shared<Handle>(entries.back().cancelled);
  }
  // Runs the pending (uncancelled) timers once; returns their delays.
  std::vector<int64_t> fire_all() {
    auto now = std::move(entries);
    entries.clear();
    std::vector<int64_t> delays;
    for (auto& e : now) {
      if (*e.cancelled) continue;
      delays.push_back(e.delay_ms);
      e.fn();
    }
    return delays;
  }
  size_t pending() const {
    size_t n = 0;
    for (auto& e : entries)
      n += !*e.cancelled;
    return n;
  }
  std::vector<Entry> entries;
};

class RecordingActions final : public DelayedEventActions {
 public:
  void post(const std::string& user_id, const std::string& delay_id, const std::string& action,
            Callback done) override {
    calls.push_back(user_id + " " + delay_id + " " + action);
    done(next_status, next_status ? "" : "no answer");
  }
  std::vector<std::string> calls;
  int next_status = 200;
};

class DelegationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("rtcauth-test-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    reopen();
  }
  void TearDown() override {
    manager.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
  void reopen() {
    if (manager) manager->shutdown();
    manager.reset();
    store.reset();
    store = std::make_unique<DelegationStore>((dir / "rtcauth.db").string());
    manager = std::make_shared<DelegationManager>(*store, actions, scheduler);
    manager->start();
  }
  DelegationRecord record(const std::string& state = "waiting") {
    DelegationRecord r;
    r.room = "ROOM";
    r.identity = "ID";
    r.user_id = "@u:hs";
    r.delay_id = "d1";
    r.delay_timeout_ms = 10000;
    r.state = state;
    return r;
  }
  void webhook(const std::string& event) { manager->on_sfu_event({event, "ROOM", "ID"}); }

  std::filesystem::path dir;
  ManualScheduler scheduler;
  RecordingActions actions;
  std::unique_ptr<DelegationStore> store;
  std::shared_ptr<DelegationManager> manager;
};

TEST_F(DelegationTest, RestartsWhileConnectedAndSendsOnLeave) {
  manager->add(record());
  EXPECT_TRUE(actions.calls.empty());  // waiting for the participant
  webhook("participant_joined");
  ASSERT_EQ(actions.calls, std::vector<std::string>{"@u:hs d1 restart"});
  // Next restart at 80 % of the timeout.
  EXPECT_EQ(scheduler.fire_all(), std::vector<int64_t>{8000});
  EXPECT_EQ(actions.calls.size(), 2u);
  webhook("participant_left");
  EXPECT_EQ(actions.calls.back(), "@u:hs d1 send");
  EXPECT_EQ(manager->job_count(), 0u);
  EXPECT_EQ(scheduler.pending(), 0u);
  EXPECT_TRUE(store->all().empty());
}

TEST_F(DelegationTest, ConnectionAbortedSendsTooAnd404OnSendIsSuccess) {
  manager->add(record("connected"));
  actions.next_status = 404;
  webhook("participant_connection_aborted");
  EXPECT_EQ(actions.calls.back(), "@u:hs d1 send");
  EXPECT_EQ(manager->job_count(), 0u);
}

TEST_F(DelegationTest, WaitingJobExpiresWhenNobodyConnects) {
  manager->add(record());
  auto fired = scheduler.fire_all();  // after min(1 h, timeout), less the time since add()
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_GT(fired[0], 9000);
  EXPECT_LE(fired[0], 10000);
  EXPECT_EQ(manager->job_count(), 0u);
  EXPECT_TRUE(actions.calls.empty());
}

TEST_F(DelegationTest, RestartNotFoundEndsTheJob) {
  actions.next_status = 404;
  manager->add(record("connected"));
  EXPECT_EQ(manager->job_count(), 0u);
}

TEST_F(DelegationTest, FailedRestartIsRetriedSooner) {
  actions.next_status = 0;
  manager->add(record("connected"));
  EXPECT_EQ(scheduler.fire_all(), std::vector<int64_t>{1000});
  EXPECT_EQ(scheduler.fire_all(), std::vector<int64_t>{2000});
  actions.next_status = 200;
  EXPECT_EQ(scheduler.fire_all(), std::vector<int64_t>{4000});
  EXPECT_EQ(scheduler.fire_all(), std::vector<int64_t>{8000});
}

TEST_F(DelegationTest, NewerJobReplacesTheOlder) {
  manager->add(record("connected"));
  auto newer = record("connected");
  newer.delay_id = "d2";
  manager->add(newer);
  EXPECT_EQ(manager->job_count(), 1u);
  scheduler.fire_all();
  EXPECT_EQ(actions.calls.back(), "@u:hs d2 restart");
  webhook("participant_left");
  EXPECT_EQ(actions.calls.back(), "@u:hs d2 send");
}

TEST_F(DelegationTest, EventsForOtherParticipantsAreIgnored) {
  manager->add(record("connected"));
  manager->on_sfu_event({"participant_left", "ROOM", "someone-else"});
  manager->on_sfu_event({"room_finished", "ROOM", "ID"});
  EXPECT_EQ(manager->job_count(), 1u);
}

TEST_F(DelegationTest, JobsSurviveARestart) {
  manager->add(record());
  webhook("participant_joined");
  actions.calls.clear();
  reopen();
  // The resumed connected job restarts at once and keeps going.
  EXPECT_EQ(actions.calls, std::vector<std::string>{"@u:hs d1 restart"});
  EXPECT_EQ(manager->job_count(), 1u);
  webhook("participant_left");
  EXPECT_EQ(actions.calls.back(), "@u:hs d1 send");
  reopen();
  EXPECT_EQ(manager->job_count(), 0u);
}

TEST_F(DelegationTest, PendingLeaveIsSentAfterARestart) {
  manager->add(record("connected"));
  actions.next_status = 0;  // the homeserver does not answer
  webhook("participant_left");
  EXPECT_EQ(manager->job_count(), 1u);
  actions.next_status = 200;
  actions.calls.clear();
  reopen();
  EXPECT_EQ(actions.calls, std::vector<std::string>{"@u:hs d1 send"});
  EXPECT_EQ(manager->job_count(), 0u);
}

}  // namespace
}  // namespace atrium::rtcauth
