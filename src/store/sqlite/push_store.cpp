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

#define NOTIFICATION_COLUMNS "user_id, room_id, event_id, pos, ts, highlight, actions_json"

std::vector<Notification> read_notifications(Statement& st) {
  std::vector<Notification> out;
  while (st.step())
    out.push_back(Notification{st.text(0), st.text(1), st.text(2), st.integer(3), st.integer(4),
                               st.integer(5) != 0, st.text(6)});
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
                                                         std::string_view room_id, int64_t after) {
  auto st = push_db_.prepare(
      "SELECT COUNT(*), COALESCE(SUM(highlight), 0) FROM notifications "
      "WHERE user_id = ? AND room_id = ? AND pos > ?");
  st.bind_all(user_id, room_id, after);
  NotificationCounts out;
  if (st.step()) out = {st.integer(0), st.integer(1)};
  return out;
}

std::vector<Notification> SqlitePushReader::notifications(std::string_view user_id, int64_t before,
                                                          int limit, bool only_highlight) {
  auto st = push_db_.prepare("SELECT " NOTIFICATION_COLUMNS
                             " FROM notifications WHERE user_id = ? AND pos < ? AND "
                             "highlight >= ? ORDER BY pos DESC LIMIT ?");
  st.bind_all(user_id, before, only_highlight ? 1 : 0, limit);
  return read_notifications(st);
}

std::vector<Notification> SqlitePushReader::notifications_after(std::string_view user_id,
                                                                int64_t after, int limit) {
  auto st = push_db_.prepare("SELECT " NOTIFICATION_COLUMNS
                             " FROM notifications WHERE user_id = ? AND pos > ? "
                             "ORDER BY pos ASC LIMIT ?");
  st.bind_all(user_id, after, limit);
  return read_notifications(st);
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

void SqlitePushWriter::insert_notification(const Notification& n) {
  push_db_
      .prepare(
          "INSERT OR REPLACE INTO notifications (user_id, room_id, event_id, pos, ts, highlight, "
          "actions_json) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind_all(n.user_id, n.room_id, n.event_id, n.pos, n.ts, n.highlight, n.actions_json)
      .exec();
}

void SqlitePushWriter::delete_notifications_at(int64_t pos) {
  push_db_.prepare("DELETE FROM notifications WHERE pos = ?").bind_all(pos).exec();
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
