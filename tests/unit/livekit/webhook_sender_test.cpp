// WebhookSender: the signature receivers verify (JWT with the body's
// SHA-256), the event names, and delivery in order per room with retries,
// over a fake HTTP client and scheduler.
#include "livekit/webhook_sender.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <ctime>

#include "base/encoding.hpp"

namespace atrium::livekit {
namespace {

namespace lk = ::livekit;

const std::string kKey = "APIkey";
const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";

SecretLookup secrets() {
  return [](std::string_view key) -> std::optional<std::string> {
    if (key == kKey) return kSecret;
    return std::nullopt;
  };
}

class FakeClient : public net::HttpClient {
 public:
  void request(net::ClientRequest request, net::ClientCallback done) override {
    calls.emplace_back(std::move(request), std::move(done));
  }
  std::vector<std::pair<net::ClientRequest, net::ClientCallback>> calls;
};

class FakeScheduler : public net::Scheduler {
 public:
  void post(std::function<void()> fn) override { fn(); }
  struct NoTimer : Timer {
    void cancel() override {}
  };
  std::shared_ptr<Timer> after(int64_t delay_ms, std::function<void()> fn) override {
    delays.push_back(delay_ms);
    timers.push_back(std::move(fn));
    return std::make_shared<NoTimer>();
  }
  std::vector<int64_t> delays;
  std::vector<std::function<void()>> timers;
};

std::string header(const net::ClientRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

std::string event_name(const net::ClientRequest& r) {
  return std::string(boost::json::parse(r.body).at("event").as_string());
}

TEST(WebhookSign, CarriesTheBodyHashAndExpiresInFiveMinutes) {
  int64_t now = std::time(nullptr);
  std::string body = R"({"event":"room_started"})";
  auto jwt = WebhookSender::sign(body, kKey, kSecret, now);
  auto verified = verify_token(jwt, secrets(), now);
  ASSERT_TRUE(verified.claims) << verified.error;
  EXPECT_EQ(verified.claims->api_key, kKey);
  EXPECT_EQ(verified.claims->sha256, base64_encode(sha256(body), false, true));
  EXPECT_EQ(verified.claims->expires, now + 300);
  EXPECT_FALSE(verify_token(jwt, secrets(), now + 400).claims) << "expired after 5 min";
}

TEST(WebhookEncode, IsProtojsonWithProtoNames) {
  lk::WebhookEvent event;
  event.set_event("participant_joined");
  event.set_id("EV_x");
  event.set_created_at(1700000000);
  event.mutable_room()->set_name("r");
  event.mutable_participant()->set_identity("alice");
  auto v = boost::json::parse(WebhookSender::encode(event)).as_object();
  EXPECT_EQ(v.at("event").as_string(), "participant_joined");
  EXPECT_EQ(v.at("created_at").as_string(), "1700000000");
  EXPECT_EQ(v.at("room").at("name").as_string(), "r");
  EXPECT_EQ(v.at("participant").at("identity").as_string(), "alice");
}

class WebhookSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WebhookSenderOptions options;
    options.urls = {"http://hooks.example/a"};
    options.api_key = kKey;
    options.api_secret = kSecret;
    options.max_attempts = 3;
    client_ = std::make_shared<FakeClient>();
    sender_ = std::make_shared<WebhookSender>(options, client_, scheduler_);
    events_ = sender_->events();
    room_.set_name("r");
    alice_.set_identity("alice");
  }
  // Unanswered requests hold callbacks that keep the sender alive: drop them.
  void TearDown() override {
    client_->calls.clear();
    scheduler_.timers.clear();
  }
  void reply(size_t call, int status, std::string error = {}) {
    net::ClientResponse response;
    response.status = status;
    client_->calls.at(call).second(std::move(error), response);
  }

  FakeScheduler scheduler_;
  std::shared_ptr<FakeClient> client_;
  std::shared_ptr<WebhookSender> sender_;
  RoomEvents events_;
  lk::Room room_;
  lk::ParticipantInfo alice_;
};

TEST_F(WebhookSenderTest, SignsEachRequestAsLiveKitDoes) {
  events_.participant_joined(room_, alice_);
  ASSERT_EQ(client_->calls.size(), 1u);
  const auto& request = client_->calls[0].first;
  EXPECT_EQ(request.url, "http://hooks.example/a");
  EXPECT_EQ(request.method, net::Method::post);
  EXPECT_EQ(header(request, "Content-Type"), "application/webhook+json");
  auto auth = header(request, "Authorization");
  EXPECT_FALSE(auth.starts_with("Bearer ")) << "LiveKit sends the bare JWT";
  auto verified = verify_token(auth, secrets(), std::time(nullptr));
  ASSERT_TRUE(verified.claims) << verified.error;
  EXPECT_EQ(verified.claims->sha256, base64_encode(sha256(request.body), false, true));
  auto v = boost::json::parse(request.body).as_object();
  EXPECT_EQ(v.at("event").as_string(), "participant_joined");
  EXPECT_TRUE(v.at("id").as_string().starts_with("EV_"));
  EXPECT_EQ(v.at("participant").at("identity").as_string(), "alice");
}

TEST_F(WebhookSenderTest, NamesAbortedLeavesAsLiveKitDoes) {
  events_.participant_left(room_, alice_, true);
  reply(0, 200);
  events_.participant_left(room_, alice_, false);
  ASSERT_EQ(client_->calls.size(), 2u);
  EXPECT_EQ(event_name(client_->calls[0].first), "participant_connection_aborted");
  EXPECT_EQ(event_name(client_->calls[1].first), "participant_left");
}

TEST_F(WebhookSenderTest, SendsInOrderPerRoomAndRetries) {
  events_.room_started(room_);
  events_.participant_joined(room_, alice_);
  lk::Room other;
  other.set_name("other");
  events_.room_started(other);
  // One in flight per room; other rooms do not wait.
  ASSERT_EQ(client_->calls.size(), 2u);
  EXPECT_EQ(client_->calls[1].first.body.find("\"other\"") != std::string::npos, true);

  reply(0, 503);  // retried after a delay, same body
  ASSERT_EQ(scheduler_.timers.size(), 1u);
  EXPECT_EQ(scheduler_.delays[0], 500);
  scheduler_.timers[0]();
  ASSERT_EQ(client_->calls.size(), 3u);
  EXPECT_EQ(client_->calls[2].first.body, client_->calls[0].first.body);
  reply(2, 0, "connection refused");
  scheduler_.timers.at(1)();
  EXPECT_EQ(scheduler_.delays[1], 1000);
  ASSERT_EQ(client_->calls.size(), 4u);
  reply(3, 200);
  // Then the room's next event.
  ASSERT_EQ(client_->calls.size(), 5u);
  EXPECT_EQ(event_name(client_->calls[4].first), "participant_joined");
}

TEST_F(WebhookSenderTest, GivesUpAfterMaxAttemptsAndDoesNotRetryRefusals) {
  events_.room_started(room_);
  events_.room_finished(room_);
  reply(0, 401);  // a refusal will not get better
  ASSERT_EQ(client_->calls.size(), 2u);
  EXPECT_TRUE(scheduler_.timers.empty());
  reply(1, 500);
  scheduler_.timers.at(0)();
  reply(2, 500);
  scheduler_.timers.at(1)();
  reply(3, 500);  // third attempt: dropped
  EXPECT_EQ(scheduler_.timers.size(), 2u);
  events_.room_started(room_);
  EXPECT_EQ(client_->calls.size(), 5u) << "the queue moves on";
}

}  // namespace
}  // namespace atrium::livekit
