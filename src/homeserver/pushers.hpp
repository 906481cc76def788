#pragma once
// HTTP pushers: POST /pushers/set, GET /pushers, and delivery of each
// pusher's notifications to its push gateway in the Push Gateway API format.
//
// Delivery never blocks an event send: the write job only stores the
// notification rows; after the commit the pushers of the notified users are
// woken on the scheduler. Each pusher delivers its notifications one at a
// time, in order, from its durable `last_pos` (so deliveries survive a
// restart: on start every pusher resumes where it was). A failed delivery
// (transport error or non-2xx) is retried after 1 s, 2 s, 4 s, ... capped at
// 1 h; once a notification has failed for a day it is skipped. A gateway
// answering {"rejected": [our pushkey]} removes the pusher.
//
// Choices: data.url must be http:// or https:// (plain http is accepted for
// gateways on a private network) with the path /_matrix/push/v1/notify;
// only kind "http" is supported (kind null deletes).
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "homeserver/common.hpp"
#include "net/http_client.hpp"
#include "net/server.hpp"
#include "store/store.hpp"

namespace atrium::homeserver {

class PusherService {
 public:
  PusherService(store::Store& store, net::Scheduler& scheduler);
  ~PusherService();

  // The outgoing HTTP client; until it is set, notifications wait in the store.
  // Setting it resumes every pusher.
  void set_http_client(net::HttpClient* client);

  void set_pusher(const Requester& who, json::object body, JsonCompletion done);
  json::object list(const Requester& who);

  // New notifications for these users are committed: deliver them.
  void poke(const std::vector<std::string>& user_ids);

  // Tests: the wall clock deciding when a failing notification is given up.
  void set_clock(std::function<int64_t()> now) { now_ = std::move(now); }

  static constexpr int64_t kFirstRetryMs = 1000;
  static constexpr int64_t kMaxRetryMs = 3600 * 1000;
  static constexpr int64_t kGiveUpAfterMs = 24 * 3600 * 1000;
  static constexpr int64_t kRequestTimeoutMs = 10000;

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // user, app_id, pushkey
  struct Delivery {
    bool busy = false;   // a delivery, retry wait or last_pos write is in progress
    bool again = false;  // poked while busy
    int64_t retry_ms = 0;
    int64_t failing_since = 0;  // ms; 0 while the current notification has not failed
    std::shared_ptr<net::Scheduler::Timer> timer;
  };

  void kick(const Key& key);
  void deliver_next(const Key& key);
  void on_response(const Key& key, int64_t pos, const std::string& error,
                   const net::ClientResponse& response);
  void advance(const Key& key, int64_t pos);
  void release(const Key& key);
  void forget(const Key& key);
  // Runs `fn` on the scheduler unless the service is gone.
  void later(std::function<void()> fn);

  store::Store& store_;
  net::Scheduler& scheduler_;
  std::atomic<net::HttpClient*> client_{nullptr};
  std::function<int64_t()> now_;
  std::mutex mutex_;
  std::map<Key, Delivery> deliveries_;
  // Callbacks of the HTTP client, timers and store jobs check this first.
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
};

// The Push Gateway API body for one notification of `pusher` (null when the
// event is gone).
json::object push_gateway_body(store::Reader& r, const store::Pusher& pusher,
                               const store::Notification& notification);

}  // namespace atrium::homeserver
