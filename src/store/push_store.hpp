#pragma once
// Storage for relations (annotations, references, replacements, threads),
// push notifications and pushers. A separate pair of interfaces that
// store::Reader and store::Writer inherit, so that a backend implements them
// in files of their own.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atrium::store {

// An event that relates to another through content["m.relates_to"].
struct Relation {
  std::string event_id;    // the relating event
  std::string relates_to;  // the event it relates to (its parent)
  std::string room_id;
  std::string rel_type;    // m.annotation, m.reference, m.replace, m.thread, ...
  std::string event_type;  // type of the relating event
  std::string sender;
  std::string key;               // the annotation key (m.annotation only)
  int64_t pos = 0;               // stream position of the relating event
  int64_t origin_server_ts = 0;  // filled by reads
};

// Which relations of a parent to list, by position of the relating event.
struct RelationQuery {
  std::string parent_id;
  std::optional<std::string> rel_type;
  std::optional<std::string> event_type;
  int64_t after = 0;  // positions (after, upto]
  int64_t upto = INT64_MAX;
  bool newest_first = true;
  int limit = 50;
  int max_depth = 1;  // > 1: also relations of relations, that many levels down
};

// A notification for one user about one event (push rules said "notify").
struct Notification {
  std::string user_id;
  std::string room_id;
  std::string event_id;
  int64_t pos = 0;  // the event's stream position
  int64_t ts = 0;
  bool highlight = false;
  std::string actions_json;
};

struct NotificationCounts {
  int64_t notifications = 0;
  int64_t highlights = 0;
};

// An HTTP pusher: where to deliver a user's notifications.
struct Pusher {
  std::string user_id;
  std::string app_id;
  std::string pushkey;
  std::string kind;  // "http"
  std::string app_display_name;
  std::string device_display_name;
  std::string profile_tag;
  std::string lang;
  std::string data_json;   // includes "url" and optionally "format"
  int64_t pushkey_ts = 0;  // ms, when set
  int64_t last_pos = 0;    // notifications up to this position are delivered (or given up)
};

class PushReader {
 public:
  virtual ~PushReader() = default;

  // Relations of `query.parent_id` (and, with max_depth > 1, of its
  // relations), ordered by position.
  virtual std::vector<Relation> relations(const RelationQuery& query) = 0;
  // The m.replace and m.reference relations of one event, oldest first
  // (bundled aggregations: one indexed query per formatted event).
  virtual std::vector<Relation> bundle_relations(std::string_view parent_id) = 0;
  virtual bool has_annotation(std::string_view parent_id, std::string_view sender,
                              std::string_view event_type, std::string_view key) = 0;

  // Notifications of a user in a room at positions (after, upto].
  virtual NotificationCounts notification_counts(std::string_view user_id, std::string_view room_id,
                                                 int64_t after, int64_t upto) = 0;
  // Whether a redaction at a position in (after, upto] may have dropped
  // notifications of the room (a count kept from before it is stale).
  virtual bool notifications_dropped(std::string_view room_id, int64_t after, int64_t upto) = 0;
  // Newest first, positions < before.
  virtual std::vector<Notification> notifications(std::string_view user_id, int64_t before,
                                                  int limit, bool only_highlight) = 0;
  // Oldest first, positions > after (for pushers).
  virtual std::vector<Notification> notifications_after(std::string_view user_id, int64_t after,
                                                        int limit) = 0;

  virtual std::vector<Pusher> pushers_of_user(std::string_view user_id) = 0;
  virtual std::optional<Pusher> pusher(std::string_view user_id, std::string_view app_id,
                                       std::string_view pushkey) = 0;
  virtual std::vector<Pusher> all_pushers() = 0;
};

class PushWriter {
 public:
  virtual ~PushWriter() = default;

  virtual void insert_relation(const Relation& relation) = 0;
  // A relating event was redacted: it no longer counts.
  virtual void delete_relation(std::string_view event_id) = 0;

  // The notifications of one event (all rows share its position), stored
  // together: one row per event, not one per recipient, keeps a send to a big
  // room to a page or so of writes. A user already notified at that position
  // is replaced.
  virtual void insert_notifications(const std::vector<Notification>& rows) = 0;
  // The event at `pos` was redacted: its notifications no longer count.
  virtual void delete_notifications_at(int64_t pos) = 0;

  // Inserts, or updates everything but last_pos of, (user, app_id, pushkey).
  virtual void upsert_pusher(const Pusher& pusher) = 0;
  virtual void delete_pusher(std::string_view user_id, std::string_view app_id,
                             std::string_view pushkey) = 0;
  // Removes the pushers with this app id and pushkey of users other than `keep_user`.
  virtual void delete_pushers_of_others(std::string_view app_id, std::string_view pushkey,
                                        std::string_view keep_user) = 0;
  virtual void set_pusher_last_pos(std::string_view user_id, std::string_view app_id,
                                   std::string_view pushkey, int64_t pos) = 0;
};

}  // namespace atrium::store
