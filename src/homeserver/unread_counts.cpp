#include "homeserver/unread_counts.hpp"

namespace atrium::homeserver {

store::NotificationCounts UnreadCounts::count(store::Reader& r, const std::string& user_id,
                                              const std::string& room_id, int64_t after,
                                              int64_t upto) {
  std::string key = user_id + '\n' + room_id;
  std::optional<Entry> kept;
  {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(key); it != entries_.end()) kept = it->second;
  }
  Entry fresh{after, upto, {}};
  // Rows are only ever added at new positions or deleted by a redaction, so a
  // kept count for the same start extends with the events after it.
  if (kept && kept->after == after && kept->upto <= upto &&
      !r.notifications_dropped(room_id, kept->upto, upto)) {
    auto added = kept->upto == upto ? store::NotificationCounts{}
                                    : r.notification_counts(user_id, room_id, kept->upto, upto);
    fresh.counts = {kept->counts.notifications + added.notifications,
                    kept->counts.highlights + added.highlights};
  } else {
    fresh.counts = r.notification_counts(user_id, room_id, after, upto);
  }
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  // Keep the furthest answer: two polls of one user may finish out of order.
  if (it != entries_.end()) {
    if (it->second.after != after || it->second.upto <= upto) it->second = fresh;
  } else {
    if (entries_.size() >= max_entries_) entries_.clear();
    entries_.emplace(std::move(key), fresh);
  }
  return fresh.counts;
}

size_t UnreadCounts::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace atrium::homeserver
