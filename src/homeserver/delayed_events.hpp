#pragma once
// MSC4140 delayed events: events the server sends for a user after a delay
// unless the user cancels or restarts them first. MatrixRTC members keep a
// delayed "leave" restarted while they are alive, so a crashed client's
// membership ends by itself. Stored durably; timers are re-armed at start,
// and an event never fires before its time.
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/config.hpp"
#include "base/rate_limiter.hpp"
#include "homeserver/common.hpp"
#include "homeserver/rooms.hpp"
#include "net/server.hpp"
#include "store/store.hpp"

namespace atrium::homeserver {

class DelayedEventService {
 public:
  DelayedEventService(const Config& config, store::Store& store, RoomService& rooms,
                      net::Scheduler& scheduler);

  // Arms timers for the events stored as scheduled (those overdue fire now).
  void start();

  // PUT send/state with ?org.matrix.msc4140.delay: answers {"delay_id"}.
  // A retried send (same device and txn_id) answers with the first delay_id.
  void schedule(const Requester& who, const std::string& room_id, const std::string& type,
                std::optional<std::string> state_key, json::object content, int64_t delay_ms,
                int64_t sticky_duration_ms, const std::string& txn_id, JsonCompletion done);

  // cancel | restart | send. `who` is empty when the request has no token
  // (the delay id is the capability); rate-limited per user or per address.
  void manage(const std::optional<Requester>& who, const std::string& remote,
              const std::string& delay_id, const std::string& action, JsonCompletion done);

  json::object list(const Requester& who, const std::optional<std::string>& status,
                    const std::optional<std::string>& delay_id);
  json::object get(const Requester& who, const std::string& delay_id);

 private:
  void arm(const std::string& delay_id, int64_t send_at);
  void disarm(const std::string& delay_id);
  // Sends the event if it is still scheduled and due (or `force`).
  void fire(const std::string& delay_id, bool force, JsonCompletion done);

  const Config& config_;
  store::Store& store_;
  RoomService& rooms_;
  net::Scheduler& scheduler_;
  RateLimiter mgmt_limiter_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<net::Scheduler::Timer>> timers_;
};

}  // namespace atrium::homeserver
