#pragma once
// Notifications: when an event is appended, every recipient's push rules are
// evaluated inside the same write job (a few rules per member, no I/O), and
// the recipients the rules say to notify are stored with the event (one row
// per event, see store::PushWriter::insert_notifications). They give
// /sync's unread_notifications, GET /notifications and the pushers' queue.
//
// Recipients: the room's joined members except the sender, and the target of
// an invite. Counts are rows after the user's read receipt (m.read or
// m.read.private, whichever is later) and after their current membership
// began (an invite stops counting once joined); a redacted event's rows are
// dropped.
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "homeserver/common.hpp"
#include "homeserver/push_rules.hpp"
#include "homeserver/pushers.hpp"
#include "homeserver/unread_counts.hpp"
#include "store/store.hpp"

namespace atrium::homeserver {

class NotificationService {
 public:
  NotificationService(store::Store& store, PushRuleService& rules, PusherService& pushers)
      : store_(store), rules_(rules), pushers_(pushers) {}

  // RoomService's append hook: evaluates and stores, then (after the
  // commit) hands the notified users to the pushers.
  void on_appended(store::Writer& w, const store::Room& room, const store::Event& event,
                   const json::object& pdu, const std::vector<store::Membership>& members);

  // GET /notifications: newest first; `from` is a previous next_token.
  json::object list(const Requester& who, const std::optional<std::string>& from,
                    std::optional<int64_t> limit, bool only_highlight);

 private:
  // The member's display name in the room, cached by member event id.
  std::string display_name(store::Reader& r, const std::string& room_id,
                           const store::Membership& member);

  store::Store& store_;
  PushRuleService& rules_;
  PusherService& pushers_;
  std::mutex names_mutex_;
  std::unordered_map<std::string, std::string> names_;  // member event id -> display name
};

// The stream position up to which the user has read the room (0: never).
int64_t read_up_to(store::Reader& r, const std::string& room_id, const std::string& user_id);
// /sync's {"notification_count", "highlight_count"} for one room, counting
// events up to position `upto` (the sync's bound) through `counts`.
json::object unread_notifications(store::Reader& r, const std::string& room_id,
                                  const std::string& user_id, int64_t upto, UnreadCounts& counts);
// Unread notifications across the user's joined rooms (push badges).
int64_t unread_notification_total(store::Reader& r, const std::string& user_id);

}  // namespace atrium::homeserver
