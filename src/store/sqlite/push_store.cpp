#include "store/sqlite/push_store.hpp"

namespace atrium::store::sqlite {

namespace {

#define RELATION_COLUMNS                                                      \
  "r.event_id, r.relates_to, r.room_id, r.rel_type, r.event_type, r.sender, " \
  "r.aggregation_key, r.pos, e.origin_server_ts"

std::vector<Relation> read_relations(Statement& st) {
  std::vector<Relation> out;
  while (st.step())
    out.push_back(Relation{st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.text(5),
                           st.text(6), st.integer(7), st.integer(8)});
  return out;
}

// push_notifications.recipients: "\n<user>\t<highlight 0|1>\t<actions>" per
// notified user, then "\n" (see migration 6).
std::string recipient_needle(std::string_view user_id, bool only_highlight = false) {
  std::string needle;
  needle.reserve(user_id.size() + 4);
  needle += '\n';
  needle += user_id;
  needle += only_highlight ? "\t1\t" : "\t";
  return needle;
}

// The user's entry of one event's recipients, if any.
std::optional<Notification> find_recipient(std::string_view recipients, std::string_view user_id) {
  std::string needle = recipient_needle(user_id);
  size_t at = recipients.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  size_t flag = at + needle.size();
  size_t end = recipients.find('\n', flag);
  if (flag + 2 > recipients.size() || end == std::string_view::npos || end < flag + 2)
    return std::nullopt;
  Notification n;
  n.user_id = std::string(user_id);
  n.highlight = recipients[flag] == '1';
  n.actions_json = std::string(recipients.substr(flag + 2, end - flag - 2));
  return n;
}

// Rows of (pos, room_id, event_id, ts, recipients) to the user's notifications.
std::vector<Notification> read_notifications(Statement& st, std::string_view user_id) {
  std::vector<Notification> out;
  while (st.step()) {
    auto recipients = st.text(4);
    auto n = find_recipient(recipients, user_id);
    if (!n) continue;
    n->pos = st.integer(0);
    n->room_id = st.text(1);
    n->event_id = st.text(2);
    n->ts = st.integer(3);
    out.push_back(std::move(*n));
  }
  return out;
}

#define PUSHER_COLUMNS                                                                   \
  "user_id, app_id, pushkey, kind, app_display_name, device_display_name, profile_tag, " \
  "lang, data_json, pushkey_ts, last_pos"

std::vector<Pusher> read_pushers(Statement& st) {
  std::vector<Pusher> out;
  while (st.step())
    out.push_back(Pusher{st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.text(5),
                         st.text(6), st.text(7), st.text(8), st.integer(9), st.integer(10)});
  return out;
}

}  // namespace

std::vector<Relation> SqlitePushReader::relations(const RelationQuery& q) {
  // The relations tree below the parent, `max_depth` levels deep; filters and
  // the position window apply at every level.
#define RELATION_TREE                                                                        \
  "WITH RECURSIVE tree(event_id, depth) AS (SELECT event_id, 1 FROM relations "              \
  "WHERE relates_to = ?1 UNION SELECT r.event_id, t.depth + 1 FROM relations r JOIN tree t " \
  "ON r.relates_to = t.event_id WHERE t.depth < ?2) SELECT " RELATION_COLUMNS                \
  " FROM tree JOIN relations r ON r.event_id = tree.event_id JOIN events e "                 \
  "ON e.event_id = r.event_id WHERE (?3 IS NULL OR r.rel_type = ?3) AND "                    \
  "(?4 IS NULL OR r.event_type = ?4) AND r.pos > ?5 AND r.pos <= ?6 "
  auto st = q.newest_first ? push_db_.prepare(RELATION_TREE "ORDER BY r.pos DESC LIMIT ?7")
                           : push_db_.prepare(RELATION_TREE "ORDER BY r.pos ASC LIMIT ?7");
#undef RELATION_TREE
  st.bind_all(q.parent_id, q.max_depth, q.rel_type, q.event_type, q.after, q.upto, q.limit);
  return read_relations(st);
}

std::vector<Relation> SqlitePushReader::bundle_relations(std::string_view parent_id) {
  auto st = push_db_.prepare("SELECT " RELATION_COLUMNS
                             " FROM relations r JOIN events e ON e.event_id = r.event_id "
                             "WHERE r.relates_to = ? AND r.rel_type IN ('m.replace', "
                             "'m.reference') ORDER BY r.pos");
  st.bind_all(parent_id);
  return read_relations(st);
}

bool SqlitePushReader::has_annotation(std::string_view parent_id, std::string_view sender,
                                      std::string_view event_type, std::string_view key) {
  auto st = push_db_.prepare(
      "SELECT 1 FROM relations WHERE relates_to = ? AND sender = ? AND event_type = ? AND "
      "aggregation_key = ? AND rel_type = 'm.annotation' LIMIT 1");
  st.bind_all(parent_id, sender, event_type, key);
  return st.step();
}

NotificationCounts SqlitePushReader::notification_counts(std::string_view user_id,
                                                         std::string_view room_id, int64_t after,
                                                         int64_t upto) {
  // The room's events in (after, upto] (events_room_pos), then their notifications by position.
  auto st = push_db_.prepare(
      "SELECT COUNT(*), COALESCE(SUM(instr(n.recipients, ?5) > 0), 0) FROM events e "
      "JOIN push_notifications n ON n.pos = e.pos WHERE e.room_id = ?1 AND e.pos > ?2 "
      "AND e.pos <= ?3 AND instr(n.recipients, ?4) > 0");
  st.bind_all(room_id, after, upto, recipient_needle(user_id), recipient_needle(user_id, true));
  NotificationCounts out;
  if (st.step()) out = {st.integer(0), st.integer(1)};
  return out;
}

bool SqlitePushReader::notifications_dropped(std::string_view room_id, int64_t after,
                                             int64_t upto) {
  // Only a redaction deletes notification rows (delete_notifications_at), and
  // it is appended to the redacted event's room in the same transaction.
  auto st = push_db_.prepare(
      "SELECT 1 FROM events WHERE room_id = ?1 AND pos > ?2 AND pos <= ?3 "
      "AND type = 'm.room.redaction' LIMIT 1");
  st.bind_all(room_id, after, upto);
  return st.step();
}

std::vector<Notification> SqlitePushReader::notifications(std::string_view user_id, int64_t before,
                                                          int limit, bool only_highlight) {
  auto st = push_db_.prepare(
      "SELECT pos, room_id, event_id, ts, recipients FROM push_notifications "
      "WHERE pos < ?1 AND instr(recipients, ?2) > 0 ORDER BY pos DESC LIMIT ?3");
  st.bind_all(before, recipient_needle(user_id, only_highlight), limit);
  return read_notifications(st, user_id);
}

std::vector<Notification> SqlitePushReader::notifications_after(std::string_view user_id,
                                                                int64_t after, int limit) {
  auto st = push_db_.prepare(
      "SELECT pos, room_id, event_id, ts, recipients FROM push_notifications "
      "WHERE pos > ?1 AND instr(recipients, ?2) > 0 ORDER BY pos ASC LIMIT ?3");
  st.bind_all(after, recipient_needle(user_id), limit);
  return read_notifications(st, user_id);
}

std::vector<Pusher> SqlitePushReader::pushers_of_user(std::string_view user_id) {
  auto st = push_db_.prepare("SELECT " PUSHER_COLUMNS
                             " FROM pushers WHERE user_id = ? ORDER BY app_id, pushkey");
  st.bind_all(user_id);
  return read_pushers(st);
}

std::optional<Pusher> SqlitePushReader::pusher(std::string_view user_id, std::string_view app_id,
                                               std::string_view pushkey) {
  auto st = push_db_.prepare("SELECT " PUSHER_COLUMNS
                             " FROM pushers WHERE user_id = ? AND app_id = ? AND pushkey = ?");
  st.bind_all(user_id, app_id, pushkey);
  auto rows = read_pushers(st);
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<Pusher> SqlitePushReader::all_pushers() {
  auto st = push_db_.prepare("SELECT " PUSHER_COLUMNS " FROM pushers");
  return read_pushers(st);
}

void SqlitePushWriter::insert_relation(const Relation& r) {
  push_db_
      .prepare(
          "INSERT OR REPLACE INTO relations (event_id, relates_to, room_id, rel_type, event_type, "
          "sender, aggregation_key, pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .bind_all(r.event_id, r.relates_to, r.room_id, r.rel_type, r.event_type, r.sender, r.key,
                r.pos)
      .exec();
}

void SqlitePushWriter::delete_relation(std::string_view event_id) {
  push_db_.prepare("DELETE FROM relations WHERE event_id = ?").bind_all(event_id).exec();
}

void SqlitePushWriter::insert_notifications(const std::vector<Notification>& rows) {
  for (size_t first = 0; first < rows.size();) {
    const auto& head = rows[first];
    size_t last = first;
    while (last < rows.size() && rows[last].pos == head.pos)
      ++last;
    // Keep the entries of users not in this call, then add this call's.
    std::string recipients = "\n";
    {
      auto st = push_db_.prepare("SELECT recipients FROM push_notifications WHERE pos = ?");
      st.bind_all(head.pos);
      if (st.step()) {
        std::string old = st.text(0);
        for (size_t at = 0; at + 1 < old.size();) {
          size_t end = old.find('\n', at + 1);
          if (end == std::string::npos) break;
          std::string_view entry(old.data() + at + 1, end - at - 1);
          std::string_view user = entry.substr(0, entry.find('\t'));
          bool replaced = false;
          for (size_t i = first; i < last; ++i)
            replaced = replaced || rows[i].user_id == user;
          if (!replaced) (recipients += entry) += '\n';
          at = end;
        }
      }
    }
    for (size_t i = first; i < last; ++i) {
      const auto& n = rows[i];
      ((((recipients += n.user_id) += '\t') += n.highlight ? '1' : '0') += '\t') += n.actions_json;
      recipients += '\n';
    }
    push_db_
        .prepare(
            "INSERT OR REPLACE INTO push_notifications (pos, room_id, event_id, ts, recipients) "
            "VALUES (?, ?, ?, ?, ?)")
        .bind_all(head.pos, head.room_id, head.event_id, head.ts, recipients)
        .exec();
    first = last;
  }
}

void SqlitePushWriter::delete_notifications_at(int64_t pos) {
  push_db_.prepare("DELETE FROM push_notifications WHERE pos = ?").bind_all(pos).exec();
}

void SqlitePushWriter::upsert_pusher(const Pusher& p) {
  push_db_
      .prepare(
          "INSERT INTO pushers (user_id, app_id, pushkey, kind, app_display_name, "
          "device_display_name, profile_tag, lang, data_json, pushkey_ts, last_pos) VALUES "
          "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (app_id, pushkey, user_id) "
          "DO UPDATE SET kind = ?4, app_display_name = ?5, device_display_name = ?6, "
          "profile_tag = ?7, lang = ?8, data_json = ?9, pushkey_ts = ?10")
      .bind_all(p.user_id, p.app_id, p.pushkey, p.kind, p.app_display_name, p.device_display_name,
                p.profile_tag, p.lang, p.data_json, p.pushkey_ts, p.last_pos)
      .exec();
}

void SqlitePushWriter::delete_pusher(std::string_view user_id, std::string_view app_id,
                                     std::string_view pushkey) {
  push_db_.prepare("DELETE FROM pushers WHERE user_id = ? AND app_id = ? AND pushkey = ?")
      .bind_all(user_id, app_id, pushkey)
      .exec();
}

void SqlitePushWriter::delete_pushers_of_others(std::string_view app_id, std::string_view pushkey,
                                                std::string_view keep_user) {
  push_db_.prepare("DELETE FROM pushers WHERE app_id = ? AND pushkey = ? AND user_id != ?")
      .bind_all(app_id, pushkey, keep_user)
      .exec();
}

void SqlitePushWriter::set_pusher_last_pos(std::string_view user_id, std::string_view app_id,
                                           std::string_view pushkey, int64_t pos) {
  push_db_
      .prepare(
          "UPDATE pushers SET last_pos = MAX(last_pos, ?) WHERE user_id = ? AND app_id = ? AND "
          "pushkey = ?")
      .bind_all(pos, user_id, app_id, pushkey)
      .exec();
}

}  // namespace atrium::store::sqlite
