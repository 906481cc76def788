// Pushers: /pushers/set validation, delivery in the Push Gateway API format
// through a fake HttpClient, retry with exponential backoff on the manual
// scheduler, giving up after a day, removal on "rejected".
#include <chrono>
#include <deque>
#include <thread>

#include "fixture.hpp"

namespace atrium::homeserver::testing {
namespace {

class FakeHttpClient : public net::HttpClient {
 public:
  void request(net::ClientRequest request, net::ClientCallback done) override {
    std::lock_guard lock(mutex_);
    pending_.push_back({std::move(request), std::move(done)});
    ++total_;
  }
  size_t total() {
    std::lock_guard lock(mutex_);
    return total_;
  }
  size_t pending() {
    std::lock_guard lock(mutex_);
    return pending_.size();
  }
  json::object body_of_oldest() {
    std::lock_guard lock(mutex_);
    return json::parse(pending_.front().first.body).as_object();
  }
  std::string url_of_oldest() {
    std::lock_guard lock(mutex_);
    return pending_.front().first.url;
  }
  // Answers the oldest pending request.
  void answer(int status, std::string body = "{}", std::string error = "") {
    std::pair<net::ClientRequest, net::ClientCallback> next;
    {
      std::lock_guard lock(mutex_);
      next = std::move(pending_.front());
      pending_.pop_front();
    }
    net::ClientResponse response;
    response.status = status;
    response.body = std::move(body);
    next.second(error, response);
  }

 private:
  std::mutex mutex_;
  std::deque<std::pair<net::ClientRequest, net::ClientCallback>> pending_;
  size_t total_ = 0;
};

class PushersTest : public HomeserverTest {
 protected:
  void SetUp() override {
    HomeserverTest::SetUp();
    hs_->set_http_client(&client_);
    hs_->pushers.set_clock([this] { return clock_.load(); });
    alice_ = make_user("alice");
    bob_ = make_user("bob");
    room_ = create_room(alice_, {{"preset", "public_chat"}});
    join(bob_, room_);
  }

  json::object pusher_body(const std::string& url = "http://127.0.0.1:9/_matrix/push/v1/notify",
                           const std::string& pushkey = "key1") {
    return json::object{{"kind", "http"},
                        {"app_id", "io.atrium.test"},
                        {"pushkey", pushkey},
                        {"app_display_name", "Test"},
                        {"device_display_name", "Phone"},
                        {"lang", "en"},
                        {"data", {{"url", url}, {"extra", "x"}}}};
  }
  void set_pusher(const Requester& who, json::object body) {
    await<json::object>([&](auto done) { hs_->pushers.set_pusher(who, body, done); });
  }
  std::string set_pusher_error(const Requester& who, json::object body) {
    return errcode_of([&] { set_pusher(who, body); });
  }
  // Drains the scheduler until `pred` holds (the store's writer thread runs
  // on its own, so completions arrive a little later).
  template <typename P>
  bool eventually(P pred) {
    for (int i = 0; i < 1000; ++i) {
      scheduler_.drain();
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }
  int64_t last_pos() {
    auto p = store_->read()->pusher(bob_.user_id, "io.atrium.test", "key1");
    return p ? p->last_pos : -1;
  }
  std::vector<int64_t> timer_delays() {
    std::lock_guard lock(scheduler_.mutex);
    std::vector<int64_t> out;
    for (auto& t : scheduler_.timers)
      if (!t.timer->cancelled) out.push_back(t.delay);
    return out;
  }

  FakeHttpClient client_;
  std::atomic<int64_t> clock_{1000000};
  Requester alice_, bob_;
  std::string room_;
};

TEST_F(PushersTest, SetValidatesAndListsPushers) {
  auto bad_url = [&](const std::string& url) { return set_pusher_error(bob_, pusher_body(url)); };
  EXPECT_EQ(bad_url("ftp://gw/_matrix/push/v1/notify"), "M_INVALID_PARAM");
  EXPECT_EQ(bad_url("gw.example/_matrix/push/v1/notify"), "M_INVALID_PARAM");
  EXPECT_EQ(bad_url("https://gw.example/other"), "M_INVALID_PARAM");
  EXPECT_EQ(bad_url("https:///_matrix/push/v1/notify"), "M_INVALID_PARAM");
  auto body = pusher_body();
  body.erase("app_id");
  EXPECT_EQ(set_pusher_error(bob_, body), "M_MISSING_PARAM");
  body = pusher_body();
  body["kind"] = "email";
  EXPECT_EQ(set_pusher_error(bob_, body), "M_INVALID_PARAM");
  body = pusher_body();
  body.erase("data");
  EXPECT_EQ(set_pusher_error(bob_, body), "M_MISSING_PARAM");
  body = pusher_body();
  body["data"].as_object()["format"] = "full";
  EXPECT_EQ(set_pusher_error(bob_, body), "M_INVALID_PARAM");
  body = pusher_body();
  body["pushkey"] = 5;
  EXPECT_EQ(set_pusher_error(bob_, body), "M_BAD_JSON");
  EXPECT_TRUE(hs_->pushers.list(bob_).at("pushers").as_array().empty());

  set_pusher(bob_, pusher_body("https://gw.example:8443/_matrix/push/v1/notify"));
  auto listed = hs_->pushers.list(bob_).at("pushers").as_array();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].at("pushkey").as_string(), "key1");
  EXPECT_EQ(listed[0].at("data").at("url").as_string(),
            "https://gw.example:8443/_matrix/push/v1/notify");

  // Another user taking the same app id + pushkey removes bob's unless append.
  set_pusher(alice_, pusher_body());
  EXPECT_TRUE(hs_->pushers.list(bob_).at("pushers").as_array().empty());
  auto appended = pusher_body();
  appended["append"] = true;
  set_pusher(bob_, appended);
  EXPECT_EQ(hs_->pushers.list(alice_).at("pushers").as_array().size(), 1u);
  EXPECT_EQ(hs_->pushers.list(bob_).at("pushers").as_array().size(), 1u);

  // kind null deletes.
  auto removal = pusher_body();
  removal["kind"] = nullptr;
  set_pusher(bob_, removal);
  EXPECT_TRUE(hs_->pushers.list(bob_).at("pushers").as_array().empty());
}

TEST_F(PushersTest, DeliversInPushGatewayFormatAndRetriesWithBackoff) {
  set_pusher(bob_, pusher_body());
  auto event_id = send_text(alice_, room_, "hello bob", "m1");
  ASSERT_TRUE(eventually([&] { return client_.pending() == 1; }));
  EXPECT_EQ(client_.url_of_oldest(), "http://127.0.0.1:9/_matrix/push/v1/notify");
  auto n = client_.body_of_oldest().at("notification").as_object();
  EXPECT_EQ(n.at("event_id").as_string(), event_id);
  EXPECT_EQ(n.at("room_id").as_string(), room_);
  EXPECT_EQ(n.at("type").as_string(), "m.room.message");
  EXPECT_EQ(n.at("sender").as_string(), alice_.user_id);
  EXPECT_EQ(n.at("content").at("body").as_string(), "hello bob");
  EXPECT_EQ(n.at("counts").at("unread").as_int64(), 1);
  const auto& device = n.at("devices").at(0).as_object();
  EXPECT_EQ(device.at("app_id").as_string(), "io.atrium.test");
  EXPECT_EQ(device.at("pushkey").as_string(), "key1");
  EXPECT_FALSE(device.at("data").as_object().contains("url"));
  EXPECT_EQ(device.at("data").at("extra").as_string(), "x");
  // Two members: .m.rule.room_one_to_one sets a sound, so the push is urgent.
  EXPECT_EQ(device.at("tweaks").at("sound").as_string(), "default");
  EXPECT_EQ(n.at("prio").as_string(), "high");

  // Failures back off 1 s, 2 s, 4 s; sends are never held up meanwhile.
  client_.answer(500);
  ASSERT_TRUE(eventually([&] { return timer_delays() == std::vector<int64_t>{1000}; }));
  auto second = send_text(alice_, room_, "second", "m2");
  EXPECT_EQ(client_.pending(), 0u);
  scheduler_.fire_timers();
  ASSERT_TRUE(eventually([&] { return client_.pending() == 1; }));
  client_.answer(0, "", "connection refused");
  ASSERT_TRUE(eventually([&] { return timer_delays() == std::vector<int64_t>{2000}; }));
  scheduler_.fire_timers();
  ASSERT_TRUE(eventually([&] { return client_.pending() == 1; }));
  client_.answer(503);
  ASSERT_TRUE(eventually([&] { return timer_delays() == std::vector<int64_t>{4000}; }));
  scheduler_.fire_timers();
  ASSERT_TRUE(eventually([&] { return client_.pending() == 1; }));
  EXPECT_EQ(client_.body_of_oldest().at("notification").at("event_id").as_string(), event_id);

  // Success moves on to the next notification, in order, backoff reset.
  client_.answer(200, R"({"rejected": []})");
  ASSERT_TRUE(eventually([&] { return client_.pending() == 1; }));
  EXPECT_EQ(client_.body_of_oldest().at("notification").at("event_id").as_string(), second);
  client_.answer(500);
  ASSERT_TRUE(eventually([&] { return timer_delays() == std::vector<int64_t>{1000}; }));

  // After a day of failures the notification is skipped.
  clock_ += PusherService::kGiveUpAfterMs;
  scheduler_.fire_timers();
  ASSERT_TRUE(eventually([&] { return client_.pending() == 1; }));
  client_.answer(500);
  auto row = store_->read()->notifications_after(bob_.user_id, 0, 10);
  ASSERT_EQ(row.size(), 2u);
  ASSERT_TRUE(eventually([&] { return last_pos() == row[1].pos; }));
  EXPECT_TRUE(timer_delays().empty());
  EXPECT_EQ(client_.pending(), 0u);
}

TEST_F(PushersTest, BackoffIsCappedAtAnHour) {
  set_pusher(bob_, pusher_body());
  send_text(alice_, room_, "hello", "m1");
  std::vector<int64_t> seen;
  for (int i = 0; i < 14; ++i) {
    ASSERT_TRUE(eventually([&] { return client_.pending() == 1; }));
    client_.answer(500);
    ASSERT_TRUE(eventually([&] { return timer_delays().size() == 1; }));
    seen.push_back(timer_delays()[0]);
    scheduler_.fire_timers();
  }
  EXPECT_EQ(seen[0], 1000);
  EXPECT_EQ(seen[11], 2048000);
  EXPECT_EQ(seen[12], PusherService::kMaxRetryMs);
  EXPECT_EQ(seen[13], PusherService::kMaxRetryMs);
}

TEST_F(PushersTest, RejectedPushkeyRemovesThePusher) {
  set_pusher(bob_, pusher_body());
  send_text(alice_, room_, "hello", "m1");
  ASSERT_TRUE(eventually([&] { return client_.pending() == 1; }));
  client_.answer(200, R"({"rejected": ["key1"]})");
  ASSERT_TRUE(eventually([&] { return hs_->pushers.list(bob_).at("pushers").as_array().empty(); }));
  send_text(alice_, room_, "again", "m2");
  scheduler_.drain();
  EXPECT_EQ(client_.total(), 1u);
}

TEST_F(PushersTest, EventIdOnlyFormatAndOnlyNewNotifications) {
  send_text(alice_, room_, "before the pusher", "m0");  // not pushed
  auto body = pusher_body();
  body["data"].as_object()["format"] = "event_id_only";
  set_pusher(bob_, body);
  auto event_id = send_text(alice_, room_, "hello", "m1");
  ASSERT_TRUE(eventually([&] { return client_.pending() == 1; }));
  auto n = client_.body_of_oldest().at("notification").as_object();
  EXPECT_EQ(n.at("event_id").as_string(), event_id);
  EXPECT_FALSE(n.contains("content"));
  EXPECT_FALSE(n.contains("sender"));
  EXPECT_EQ(n.at("counts").at("unread").as_int64(), 2);
}

}  // namespace
}  // namespace atrium::homeserver::testing
