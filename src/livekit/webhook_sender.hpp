#pragma once
// LiveKit webhooks from the SFU: each room event becomes a protojson
// WebhookEvent POSTed to every configured URL with Content-Type
// application/webhook+json and `Authorization: <JWT>` (no "Bearer"), an HS256
// token whose issuer is the API key and whose `sha256` claim is the standard
// base64 SHA-256 of the body (what LiveKit's WebhookReceiver verifies).
// Events are queued off the media workers and sent by the HTTP client, one
// at a time per (URL, room) so a receiver sees a room's events in order, with
// a few retries on network errors and 5xx.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "livekit/proto/livekit_webhook.pb.h"
#include "livekit/signal_room.hpp"
#include "net/http_client.hpp"
#include "net/server.hpp"

namespace atrium::livekit {

struct WebhookSenderOptions {
  std::vector<std::string> urls;
  std::string api_key;
  std::string api_secret;
  int max_attempts = 4;
  int64_t retry_delay_ms = 500;  // doubles per attempt
  int64_t timeout_ms = 5000;
  size_t max_queued = 1000;  // per (URL, room); beyond it events are dropped
};

class WebhookSender : public std::enable_shared_from_this<WebhookSender> {
 public:
  WebhookSender(WebhookSenderOptions options, std::shared_ptr<net::HttpClient> http,
                net::Scheduler& scheduler);

  // Callbacks for SignalServiceOptions.events: they only queue, never block.
  RoomEvents events();
  // Queues `event` for every URL (fills in id and created_at when empty).
  void send(::livekit::WebhookEvent event);
  // Stops sending; queued events are dropped.
  void shutdown();

  // The request body and its Authorization header (exposed for tests).
  static std::string encode(const ::livekit::WebhookEvent& event);
  static std::string sign(std::string_view body, std::string_view api_key,
                          std::string_view api_secret, int64_t now_s);

 private:
  struct Pending {
    std::string body;
    int attempts = 0;
  };
  struct Queue {
    std::deque<Pending> events;
    bool busy = false;
  };
  using QueueKey = std::pair<std::string, std::string>;  // url, room

  void start_next(const QueueKey& key);  // with mutex_ held
  void attempt(QueueKey key, std::string body);
  void done(const QueueKey& key, bool ok, const std::string& why);

  WebhookSenderOptions options_;
  std::shared_ptr<net::HttpClient> http_;
  net::Scheduler& scheduler_;
  std::mutex mutex_;
  std::map<QueueKey, Queue> queues_;
  bool stopped_ = false;
};

}  // namespace atrium::livekit
