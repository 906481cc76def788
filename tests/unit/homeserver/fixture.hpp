#pragma once
// A homeserver on a real SQLite store in a temp folder, with a scheduler the
// test drives by hand, and helpers that wait for a service's completion.
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <mutex>

#include "base/error.hpp"
#include "homeserver/homeserver.hpp"

namespace atrium::homeserver::testing {

class ManualScheduler : public net::Scheduler {
 public:
  struct ManualTimer : Timer {
    void cancel() override { cancelled = true; }
    std::atomic<bool> cancelled{false};
  };
  void post(std::function<void()> fn) override {
    std::lock_guard lock(mutex);
    posted.push_back(std::move(fn));
  }
  std::shared_ptr<Timer> after(int64_t delay_ms, std::function<void()> fn) override {
    auto t = std::make_shared<ManualTimer>();
    std::lock_guard lock(mutex);
    timers.push_back({delay_ms, t, std::move(fn)});
    return t;
  }
  // Runs posted work until none is left.
  void drain() {
    for (;;) {
      std::vector<std::function<void()>> now;
      {
        std::lock_guard lock(mutex);
        now.swap(posted);
      }
      if (now.empty()) return;
      for (auto& fn : now)
        fn();
    }
  }
  // Fires every timer not cancelled (as if their time had come).
  void fire_timers() {
    std::vector<Pending> due;
    {
      std::lock_guard lock(mutex);
      due.swap(timers);
    }
    for (auto& p : due)
      if (!p.timer->cancelled) p.fn();
    drain();
  }
  struct Pending {
    int64_t delay;
    std::shared_ptr<ManualTimer> timer;
    std::function<void()> fn;
  };
  std::mutex mutex;
  std::vector<std::function<void()>> posted;
  std::vector<Pending> timers;
};

class HomeserverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("atrium-hs-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    config_.server_name = "hs";
    config_.rc_message = {0, 0};
    store_ = store::open_sqlite_store((dir_ / "hs.db").string());
    hs_ = std::make_unique<Homeserver>(config_, *store_, matrix::SigningKey::generate("t"),
                                       scheduler_);
  }
  void TearDown() override {
    // Stop the writer first: its after-commit hooks call into the services.
    store_->close();
    hs_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Calls a service with a completion and waits for it; rethrows its error.
  template <typename T, typename F>
  T await(F&& call) {
    std::promise<T> result;
    call([&](std::exception_ptr e, T value) {
      if (e)
        result.set_exception(e);
      else
        result.set_value(std::move(value));
    });
    return result.get_future().get();
  }

  // Waits until every write queued so far has committed and run its
  // after-commit hooks (a later batch starts only after the earlier one's
  // hooks), then runs what they posted.
  void flush() {
    await<json::object>([&](auto done) {
      store_->write([](store::Writer&) {}, [done](std::exception_ptr e) { done(e, {}); });
    });
    scheduler_.drain();
  }

  Requester make_user(const std::string& localpart) {
    auto body = json::object{{"username", localpart},
                             {"password", "pw"},
                             {"auth", json::object{{"type", "m.login.dummy"}}}};
    auto response = await<net::Response>(
        [&](auto done) { hs_->accounts.register_user(body, "127.0.0.1", done); });
    EXPECT_EQ(response.status, 200) << response.body;
    auto o = json::parse(response.body).as_object();
    return Requester{std::string(o.at("user_id").as_string()),
                     std::string(o.at("device_id").as_string()),
                     std::string(o.at("access_token").as_string())};
  }

  std::string create_room(const Requester& who, json::object body = {}) {
    auto out = await<json::object>([&](auto done) { hs_->rooms.create_room(who, body, done); });
    return std::string(out.at("room_id").as_string());
  }

  std::string send_text(const Requester& who, const std::string& room, const std::string& body,
                        const std::string& txn) {
    auto out = await<json::object>([&](auto done) {
      hs_->rooms.send_event(who, room, "m.room.message", txn,
                            json::object{{"msgtype", "m.text"}, {"body", body}}, 0, done);
    });
    return std::string(out.at("event_id").as_string());
  }

  void membership(const Requester& who, const std::string& room, const std::string& action,
                  const std::string& target = {}) {
    json::object body;
    if (!target.empty()) body["user_id"] = target;
    await<json::object>(
        [&](auto done) { hs_->rooms.change_membership(who, room, action, body, done); });
  }

  void join(const Requester& who, const std::string& room) {
    await<json::object>([&](auto done) { hs_->rooms.join(who, room, {}, done); });
  }

  std::filesystem::path dir_;
  Config config_;
  ManualScheduler scheduler_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Homeserver> hs_;
};

// The errcode of the MatrixError `fn` throws, or "" if it throws none.
template <typename F>
std::string errcode_of(F&& fn) {
  try {
    fn();
  } catch (const MatrixError& e) {
    return std::string(e.code());
  }
  return "";
}

}  // namespace atrium::homeserver::testing
