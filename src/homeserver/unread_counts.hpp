#pragma once
// Unread notification counts per (user, room), kept between syncs. Counting
// from the read receipt on every sync costs O(unread events x room members)
// (each event's recipients are one string, see store::PushWriter); with the
// last answer kept, a woken poll counts only the events since that answer.
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "store/store.hpp"

namespace atrium::homeserver {

class UnreadCounts {
 public:
  explicit UnreadCounts(size_t max_entries = 65536) : max_entries_(max_entries) {}

  // The user's notifications in the room at positions (after, upto], read
  // through `r`, whose snapshot must hold every event up to `upto`.
  store::NotificationCounts count(store::Reader& r, const std::string& user_id,
                                  const std::string& room_id, int64_t after, int64_t upto);

  size_t size() const;

 private:
  struct Entry {
    int64_t after = 0;
    int64_t upto = 0;
    store::NotificationCounts counts;
  };

  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;  // key: user id, '\n', room id
  size_t max_entries_;
};

}  // namespace atrium::homeserver
