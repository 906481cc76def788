#pragma once
// GET /sync: initial and incremental sync with filters, long-polling on the
// Notifier until something the user would see commits.
#include <optional>
#include <string>

#include "homeserver/common.hpp"
#include "homeserver/filter.hpp"
#include "homeserver/notifier.hpp"
#include "homeserver/tokens.hpp"
#include "homeserver/unread_counts.hpp"
#include "homeserver/user_data.hpp"
#include "store/store.hpp"

namespace atrium::homeserver {

struct SyncRequest {
  std::optional<std::string> since;
  std::optional<std::string> filter;  // inline JSON or a filter id
  bool full_state = false;
  int64_t timeout_ms = 0;
};

class SyncService {
 public:
  SyncService(store::Store& store, Notifier& notifier, TypingService& typing)
      : store_(store), notifier_(notifier), typing_(typing) {}

  // Validates the request (throws MatrixError), then answers through `done`,
  // possibly after waiting up to timeout_ms for news.
  void sync(const Requester& who, const SyncRequest& request, JsonCompletion done);

 private:
  struct Result {
    json::object body;
    bool has_updates = false;
    int64_t bound = 0;
    int64_t typing = 0;
    int64_t delivered_to_device = 0;
  };
  Result compute(const Requester& who, const std::optional<StreamToken>& since,
                 const SyncFilter& filter, bool full_state);
  void wait_and_compute(const Requester& who, std::optional<StreamToken> since, SyncFilter filter,
                        bool full_state, int64_t deadline_ms, bool timed_out, JsonCompletion done);
  SyncFilter load_filter(const Requester& who, const std::optional<std::string>& filter);

  store::Store& store_;
  Notifier& notifier_;
  TypingService& typing_;
  UnreadCounts unread_;  // kept between syncs: a woken poll counts only what is new
};

}  // namespace atrium::homeserver
