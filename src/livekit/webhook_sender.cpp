#include "livekit/webhook_sender.hpp"

#include <google/protobuf/util/json_util.h>

#include <chrono>

#include "base/encoding.hpp"
#include "base/log.hpp"
#include "livekit/ids.hpp"

namespace atrium::livekit {

namespace lk = ::livekit;

namespace {

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

lk::WebhookEvent make_event(std::string name, const lk::Room& room) {
  lk::WebhookEvent event;
  event.set_event(std::move(name));
  *event.mutable_room() = room;
  return event;
}

}  // namespace

WebhookSender::WebhookSender(WebhookSenderOptions options, std::shared_ptr<net::HttpClient> http,
                             net::Scheduler& scheduler)
    : options_(std::move(options)), http_(std::move(http)), scheduler_(scheduler) {}

std::string WebhookSender::encode(const lk::WebhookEvent& event) {
  google::protobuf::util::JsonPrintOptions options;
  // LiveKit sends protojson with proto field names ("created_at").
  options.preserve_proto_field_names = true;
  std::string body;
  (void)google::protobuf::util::MessageToJsonString(event, &body, options);
  return body;
}

std::string WebhookSender::sign(std::string_view body, std::string_view api_key,
                                std::string_view api_secret, int64_t now) {
  AccessClaims claims;
  claims.api_key = std::string(api_key);
  claims.not_before = now;
  claims.expires = now + 300;
  claims.sha256 = base64_encode(sha256(body), false, true);
  return mint_token(claims, api_secret);
}

RoomEvents WebhookSender::events() {
  // Weak: the rooms may outlive the sender at shutdown.
  std::weak_ptr<WebhookSender> weak = shared_from_this();
  auto post = [weak](lk::WebhookEvent event) {
    if (auto self = weak.lock()) self->send(std::move(event));
  };
  RoomEvents events;
  events.room_started = [post](const lk::Room& room) { post(make_event("room_started", room)); };
  events.room_finished = [post](const lk::Room& room) { post(make_event("room_finished", room)); };
  events.participant_joined = [post](const lk::Room& room, const lk::ParticipantInfo& p) {
    auto event = make_event("participant_joined", room);
    *event.mutable_participant() = p;
    post(std::move(event));
  };
  // A dropped connection is reported as LiveKit does, so that receivers (the
  // auth service's delegated leaves) can tell it from a clean leave.
  events.participant_left = [post](const lk::Room& room, const lk::ParticipantInfo& p,
                                   bool aborted) {
    auto event = make_event(aborted ? "participant_connection_aborted" : "participant_left", room);
    *event.mutable_participant() = p;
    post(std::move(event));
  };
  events.track_published = [post](const lk::Room& room, const lk::ParticipantInfo& p,
                                  const lk::TrackInfo& track) {
    auto event = make_event("track_published", room);
    *event.mutable_participant() = p;
    *event.mutable_track() = track;
    post(std::move(event));
  };
  events.track_unpublished = [post](const lk::Room& room, const lk::ParticipantInfo& p,
                                    const lk::TrackInfo& track) {
    auto event = make_event("track_unpublished", room);
    *event.mutable_participant() = p;
    *event.mutable_track() = track;
    post(std::move(event));
  };
  return events;
}

void WebhookSender::send(lk::WebhookEvent event) {
  if (options_.urls.empty()) return;
  if (event.id().empty()) event.set_id(make_id("EV_"));
  if (event.created_at() == 0) event.set_created_at(now_s());
  std::string body = encode(event);
  std::lock_guard lock(mutex_);
  if (stopped_) return;
  for (const auto& url : options_.urls) {
    QueueKey key{url, event.room().name()};
    auto& queue = queues_[key];
    if (queue.events.size() >= options_.max_queued) {
      log::get("sfu")->warn("msg=\"webhook queue full, event dropped\" url={} event={}", url,
                            event.event());
      continue;
    }
    queue.events.push_back(Pending{body, 0});
    if (!queue.busy) start_next(key);
  }
}

void WebhookSender::start_next(const QueueKey& key) {
  auto it = queues_.find(key);
  if (it == queues_.end()) return;
  if (it->second.events.empty()) {
    queues_.erase(it);  // idle rooms cost nothing
    return;
  }
  it->second.busy = true;
  auto& front = it->second.events.front();
  ++front.attempts;
  // Off the caller's thread (a media worker): the client may resolve and connect.
  scheduler_.post(
      [self = shared_from_this(), key, body = front.body] { self->attempt(key, body); });
}

void WebhookSender::attempt(QueueKey key, std::string body) {
  net::ClientRequest request;
  request.method = net::Method::post;
  request.url = key.first;
  request.timeout_ms = options_.timeout_ms;
  request.headers = {{"Content-Type", "application/webhook+json"},
                     {"Authorization", sign(body, options_.api_key, options_.api_secret, now_s())}};
  request.body = std::move(body);
  http_->request(std::move(request), [self = shared_from_this(), key](
                                         std::string error, net::ClientResponse response) {
    if (!error.empty()) return self->done(key, false, error);
    // A 4xx will not get better by retrying (e.g. a refused signature).
    if (response.status >= 500) {
      return self->done(key, false, "status " + std::to_string(response.status));
    }
    if (response.status >= 300) {
      log::get("sfu")->warn("msg=\"webhook refused\" url={} status={}", key.first, response.status);
    }
    self->done(key, true, {});
  });
}

void WebhookSender::done(const QueueKey& key, bool ok, const std::string& why) {
  std::lock_guard lock(mutex_);
  if (stopped_) return;
  auto it = queues_.find(key);
  if (it == queues_.end() || it->second.events.empty()) return;
  auto& front = it->second.events.front();
  if (!ok && front.attempts < options_.max_attempts) {
    int64_t delay = options_.retry_delay_ms << (front.attempts - 1);
    ++front.attempts;
    std::weak_ptr<WebhookSender> weak = shared_from_this();
    scheduler_.after(delay, [weak, key, body = front.body] {
      if (auto self = weak.lock()) self->attempt(key, body);
    });
    return;
  }
  if (!ok) {
    log::get("sfu")->warn("msg=\"webhook not delivered\" url={} room={} error=\"{}\"", key.first,
                          key.second, why);
  }
  it->second.events.pop_front();
  it->second.busy = false;
  start_next(key);
}

void WebhookSender::shutdown() {
  std::lock_guard lock(mutex_);
  stopped_ = true;
  queues_.clear();
}

}  // namespace atrium::livekit
