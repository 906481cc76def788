#include "store/sqlite/reader.hpp"

namespace atrium::store::sqlite {

namespace {

#define EVENT_COLUMNS                                                                          \
  "e.pos, e.event_id, e.room_id, e.type, e.state_key, e.sender, e.origin_server_ts, e.depth, " \
  "e.pdu_json, e.redacted_by, e.txn_device, e.txn_id, e.replaces_state, e.sticky_until"

Event read_event(const Statement& st) {
  Event e;
  e.pos = st.integer(0);
  e.event_id = st.text(1);
  e.room_id = st.text(2);
  e.type = st.text(3);
  e.state_key = st.opt_text(4);
  e.sender = st.text(5);
  e.origin_server_ts = st.integer(6);
  e.depth = st.integer(7);
  e.pdu_json = st.text(8);
  e.redacted_by = st.text(9);
  e.txn_device = st.text(10);
  e.txn_id = st.text(11);
  e.replaces_state = st.text(12);
  e.sticky_until = st.integer(13);
  return e;
}

std::vector<Event> read_events(Statement& st) {
  std::vector<Event> out;
  while (st.step())
    out.push_back(read_event(st));
  return out;
}

Membership read_membership(const Statement& st) {
  return Membership{st.text(0), st.text(1),    st.text(2),
                    st.text(3), st.integer(4), st.integer(5) != 0};
}

Receipt read_receipt(const Statement& st) {
  return Receipt{st.text(0), st.text(1),    st.text(2),   st.text(3),
                 st.text(4), st.integer(5), st.integer(6)};
}

#define DELAYED_COLUMNS                                                              \
  "delay_id, user_id, device_id, room_id, type, state_key, content_json, delay_ms, " \
  "running_since, sticky_duration_ms, status, event_id, error, finalised_ts"

DelayedEvent read_delayed(const Statement& st) {
  DelayedEvent d;
  d.delay_id = st.text(0);
  d.user_id = st.text(1);
  d.device_id = st.text(2);
  d.room_id = st.text(3);
  d.type = st.text(4);
  d.state_key = st.opt_text(5);
  d.content_json = st.text(6);
  d.delay_ms = st.integer(7);
  d.running_since = st.integer(8);
  d.sticky_duration_ms = st.integer(9);
  d.status = st.text(10);
  d.event_id = st.text(11);
  d.error = st.text(12);
  d.finalised_ts = st.integer(13);
  return d;
}

}  // namespace

// The literal `sticky_until > 0` matches the partial index's own condition, so
// the planner can use it without looking at the bound value (a statement whose
// plan depends on a binding is re-prepared on every call).
std::vector<Event> SqliteReader::sticky_events(std::string_view room_id, int64_t after,
                                               int64_t upto, int64_t now) {
  auto st = db_.prepare(
      "SELECT " EVENT_COLUMNS
      " FROM events e WHERE e.room_id = ? AND e.sticky_until > 0 AND e.sticky_until > ? "
      "AND e.pos > ? "
      "AND e.pos <= ? ORDER BY e.pos");
  st.bind_all(room_id, now, after, upto);
  return read_events(st);
}

std::optional<DelayedEvent> SqliteReader::delayed_event(std::string_view delay_id) {
  auto st = db_.prepare("SELECT " DELAYED_COLUMNS " FROM delayed_events WHERE delay_id = ?");
  st.bind_all(delay_id);
  if (!st.step()) return std::nullopt;
  return read_delayed(st);
}

std::vector<DelayedEvent> SqliteReader::delayed_events_of_user(std::string_view user_id,
                                                               std::string_view status) {
  auto st = db_.prepare("SELECT " DELAYED_COLUMNS
                        " FROM delayed_events WHERE user_id = ? AND status = ? "
                        "ORDER BY running_since + delay_ms");
  st.bind_all(user_id, status);
  std::vector<DelayedEvent> out;
  while (st.step())
    out.push_back(read_delayed(st));
  return out;
}

std::vector<DelayedEvent> SqliteReader::scheduled_delayed_events() {
  auto st =
      db_.prepare("SELECT " DELAYED_COLUMNS " FROM delayed_events WHERE status = 'scheduled'");
  std::vector<DelayedEvent> out;
  while (st.step())
    out.push_back(read_delayed(st));
  return out;
}

std::optional<std::string> SqliteReader::openid_token_user(std::string_view token, int64_t now) {
  auto st = db_.prepare("SELECT user_id FROM openid_tokens WHERE token = ? AND expires_ts > ?");
  st.bind_all(token, now);
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

std::optional<std::string> SqliteReader::device_keys(std::string_view user_id,
                                                     std::string_view device_id) {
  auto st = db_.prepare("SELECT keys_json FROM device_keys WHERE user_id = ? AND device_id = ?");
  st.bind_all(user_id, device_id);
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

std::vector<std::pair<std::string, std::string>> SqliteReader::devices_keys(
    std::string_view user_id) {
  auto st = db_.prepare(
      "SELECT device_id, keys_json FROM device_keys WHERE user_id = ? ORDER BY device_id");
  st.bind_all(user_id);
  std::vector<std::pair<std::string, std::string>> out;
  while (st.step())
    out.emplace_back(st.text(0), st.text(1));
  return out;
}

std::vector<std::pair<std::string, int64_t>> SqliteReader::one_time_key_counts(
    std::string_view user_id, std::string_view device_id) {
  auto st = db_.prepare(
      "SELECT algorithm, COUNT(*) FROM one_time_keys WHERE user_id = ? AND device_id = ? "
      "GROUP BY algorithm");
  st.bind_all(user_id, device_id);
  std::vector<std::pair<std::string, int64_t>> out;
  while (st.step())
    out.emplace_back(st.text(0), st.integer(1));
  return out;
}

std::vector<std::string> SqliteReader::unused_fallback_key_algorithms(std::string_view user_id,
                                                                      std::string_view device_id) {
  auto st = db_.prepare(
      "SELECT algorithm FROM fallback_keys WHERE user_id = ? AND device_id = ? AND used = 0 "
      "ORDER BY algorithm");
  st.bind_all(user_id, device_id);
  std::vector<std::string> out;
  while (st.step())
    out.push_back(st.text(0));
  return out;
}

std::optional<std::string> SqliteReader::cross_signing_key(std::string_view user_id,
                                                           std::string_view key_type) {
  auto st =
      db_.prepare("SELECT key_json FROM cross_signing_keys WHERE user_id = ? AND key_type = ?");
  st.bind_all(user_id, key_type);
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

std::vector<std::tuple<std::string, std::string, std::string>> SqliteReader::key_signatures(
    std::string_view target_user, std::string_view target_id) {
  auto st = db_.prepare(
      "SELECT signer_user, signer_key_id, signature FROM key_signatures WHERE target_user = ? "
      "AND target_id = ?");
  st.bind_all(target_user, target_id);
  std::vector<std::tuple<std::string, std::string, std::string>> out;
  while (st.step())
    out.emplace_back(st.text(0), st.text(1), st.text(2));
  return out;
}

std::vector<std::string> SqliteReader::device_list_changes(int64_t after, int64_t upto) {
  auto st =
      db_.prepare("SELECT DISTINCT user_id FROM device_list_changes WHERE pos > ? AND pos <= ?");
  st.bind_all(after, upto);
  std::vector<std::string> out;
  while (st.step())
    out.push_back(st.text(0));
  return out;
}

std::vector<ToDeviceMessage> SqliteReader::to_device_messages(std::string_view user_id,
                                                              std::string_view device_id,
                                                              int64_t after, int64_t upto,
                                                              int limit) {
  auto st = db_.prepare(
      "SELECT pos, sender, type, content_json FROM to_device WHERE user_id = ? AND "
      "device_id = ? AND pos > ? AND pos <= ? ORDER BY pos LIMIT ?");
  st.bind_all(user_id, device_id, after, upto, limit);
  std::vector<ToDeviceMessage> out;
  while (st.step())
    out.push_back({st.integer(0), st.text(1), st.text(2), st.text(3)});
  return out;
}

std::vector<Membership> SqliteReader::membership_changes(int64_t after, int64_t upto) {
  auto st = db_.prepare(
      "SELECT room_id, state_key, json_extract(pdu_json, '$.content.membership'), event_id, pos, "
      "0 FROM events WHERE type = 'm.room.member' AND pos > ? AND pos <= ? ORDER BY pos");
  st.bind_all(after, upto);
  std::vector<Membership> out;
  while (st.step())
    out.push_back(read_membership(st));
  return out;
}

std::optional<User> SqliteReader::user(std::string_view user_id) {
  auto st = db_.prepare(
      "SELECT user_id, password_hash, created_ts, deactivated, admin, displayname, avatar_url "
      "FROM users WHERE user_id = ?");
  st.bind_all(user_id);
  if (!st.step()) return std::nullopt;
  return User{st.text(0),         st.text(1), st.integer(2), st.integer(3) != 0,
              st.integer(4) != 0, st.text(5), st.text(6)};
}

std::optional<TokenOwner> SqliteReader::token_owner(std::string_view access_token) {
  auto st = db_.prepare("SELECT user_id, device_id FROM access_tokens WHERE token = ?");
  st.bind_all(access_token);
  if (!st.step()) return std::nullopt;
  return TokenOwner{st.text(0), st.text(1)};
}

std::vector<Device> SqliteReader::devices(std::string_view user_id) {
  auto st = db_.prepare(
      "SELECT user_id, device_id, display_name, last_seen_ts, last_seen_ip FROM devices "
      "WHERE user_id = ? ORDER BY device_id");
  st.bind_all(user_id);
  std::vector<Device> out;
  while (st.step())
    out.push_back({st.text(0), st.text(1), st.text(2), st.integer(3), st.text(4)});
  return out;
}

std::optional<Device> SqliteReader::device(std::string_view user_id, std::string_view device_id) {
  auto st = db_.prepare(
      "SELECT user_id, device_id, display_name, last_seen_ts, last_seen_ip FROM devices "
      "WHERE user_id = ? AND device_id = ?");
  st.bind_all(user_id, device_id);
  if (!st.step()) return std::nullopt;
  return Device{st.text(0), st.text(1), st.text(2), st.integer(3), st.text(4)};
}

std::optional<std::string> SqliteReader::filter(std::string_view user_id, int64_t filter_id) {
  auto st = db_.prepare("SELECT filter_json FROM filters WHERE user_id = ? AND filter_id = ?");
  st.bind_all(user_id, filter_id);
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

std::optional<Room> SqliteReader::room(std::string_view room_id) {
  auto st =
      db_.prepare("SELECT room_id, room_version, creator, created_ts FROM rooms WHERE room_id = ?");
  st.bind_all(room_id);
  if (!st.step()) return std::nullopt;
  return Room{st.text(0), st.text(1), st.text(2), st.integer(3)};
}

std::optional<std::string> SqliteReader::alias_target(std::string_view alias) {
  auto st = db_.prepare("SELECT room_id FROM room_aliases WHERE alias = ?");
  st.bind_all(alias);
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

std::vector<std::string> SqliteReader::room_aliases(std::string_view room_id) {
  auto st = db_.prepare("SELECT alias FROM room_aliases WHERE room_id = ? ORDER BY alias");
  st.bind_all(room_id);
  std::vector<std::string> out;
  while (st.step())
    out.push_back(st.text(0));
  return out;
}

std::optional<Event> SqliteReader::event(std::string_view event_id) {
  auto st = db_.prepare("SELECT " EVENT_COLUMNS " FROM events e WHERE e.event_id = ?");
  st.bind_all(event_id);
  if (!st.step()) return std::nullopt;
  return read_event(st);
}

std::optional<Event> SqliteReader::current_state_event(std::string_view room_id,
                                                       std::string_view type,
                                                       std::string_view state_key) {
  auto st = db_.prepare("SELECT " EVENT_COLUMNS
                        " FROM current_state c JOIN events e ON e.pos = c.event_pos "
                        "WHERE c.room_id = ? AND c.type = ? AND c.state_key = ?");
  st.bind_all(room_id, type, state_key);
  if (!st.step()) return std::nullopt;
  return read_event(st);
}

std::vector<Event> SqliteReader::current_state(std::string_view room_id) {
  auto st = db_.prepare("SELECT " EVENT_COLUMNS
                        " FROM current_state c JOIN events e ON e.pos = c.event_pos "
                        "WHERE c.room_id = ? ORDER BY e.pos");
  st.bind_all(room_id);
  return read_events(st);
}

std::vector<Event> SqliteReader::state_before(std::string_view room_id, int64_t pos) {
  // For each (type, state_key) the newest state event before `pos`: the room
  // DAG of a single server is linear, so stream order is topological order.
  auto st =
      db_.prepare("SELECT " EVENT_COLUMNS
                  " FROM events e JOIN (SELECT MAX(pos) AS p FROM events WHERE room_id = ?1 AND "
                  "state_key IS NOT NULL AND pos < ?2 GROUP BY type, state_key) s ON e.pos = s.p "
                  "ORDER BY e.pos");
  st.bind_all(room_id, pos);
  return read_events(st);
}

std::vector<Event> SqliteReader::state_changes(std::string_view room_id, int64_t after,
                                               int64_t upto) {
  auto st =
      db_.prepare("SELECT " EVENT_COLUMNS
                  " FROM events e JOIN (SELECT MAX(pos) AS p FROM events WHERE room_id = ?1 AND "
                  "state_key IS NOT NULL AND pos > ?2 AND pos <= ?3 GROUP BY type, state_key) s "
                  "ON e.pos = s.p ORDER BY e.pos");
  st.bind_all(room_id, after, upto);
  return read_events(st);
}

std::vector<Event> SqliteReader::room_events(std::string_view room_id, int64_t after, int64_t upto,
                                             bool newest_first, int limit) {
  if (newest_first) {
    auto st = db_.prepare("SELECT " EVENT_COLUMNS
                          " FROM events e WHERE e.room_id = ? AND e.pos > ? AND e.pos <= ? "
                          "ORDER BY e.pos DESC LIMIT ?");
    st.bind_all(room_id, after, upto, limit);
    return read_events(st);
  }
  auto st = db_.prepare("SELECT " EVENT_COLUMNS
                        " FROM events e WHERE e.room_id = ? AND e.pos > ? AND e.pos <= ? "
                        "ORDER BY e.pos ASC LIMIT ?");
  st.bind_all(room_id, after, upto, limit);
  return read_events(st);
}

std::vector<Event> SqliteReader::room_forward_extremities(std::string_view room_id) {
  // Events are appended by one server in order, so the DAG has one extremity.
  auto st = db_.prepare("SELECT " EVENT_COLUMNS
                        " FROM events e WHERE e.room_id = ? ORDER BY e.pos DESC LIMIT 1");
  st.bind_all(room_id);
  return read_events(st);
}

std::optional<std::string> SqliteReader::txn_event(std::string_view user_id,
                                                   std::string_view device_id,
                                                   std::string_view txn_id) {
  auto st =
      db_.prepare("SELECT event_id FROM txns WHERE user_id = ? AND device_id = ? AND txn_id = ?");
  st.bind_all(user_id, device_id, txn_id);
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

std::vector<Membership> SqliteReader::memberships_of_user(std::string_view user_id) {
  auto st = db_.prepare(
      "SELECT room_id, user_id, membership, event_id, pos, forgotten FROM memberships "
      "WHERE user_id = ? ORDER BY pos");
  st.bind_all(user_id);
  std::vector<Membership> out;
  while (st.step())
    out.push_back(read_membership(st));
  return out;
}

std::vector<Membership> SqliteReader::room_members(std::string_view room_id) {
  auto st = db_.prepare(
      "SELECT room_id, user_id, membership, event_id, pos, forgotten FROM memberships "
      "WHERE room_id = ? ORDER BY pos");
  st.bind_all(room_id);
  std::vector<Membership> out;
  while (st.step())
    out.push_back(read_membership(st));
  return out;
}

std::optional<Membership> SqliteReader::membership(std::string_view room_id,
                                                   std::string_view user_id) {
  auto st = db_.prepare(
      "SELECT room_id, user_id, membership, event_id, pos, forgotten FROM memberships "
      "WHERE room_id = ? AND user_id = ?");
  st.bind_all(room_id, user_id);
  if (!st.step()) return std::nullopt;
  return read_membership(st);
}

std::vector<AccountData> SqliteReader::account_data_changes(std::string_view user_id, int64_t after,
                                                            int64_t upto) {
  auto st = db_.prepare(
      "SELECT room_id, type, content_json, pos FROM account_data WHERE user_id = ? AND pos > ? "
      "AND pos <= ? ORDER BY pos");
  st.bind_all(user_id, after, upto);
  std::vector<AccountData> out;
  while (st.step())
    out.push_back({st.text(0), st.text(1), st.text(2), st.integer(3)});
  return out;
}

std::optional<std::string> SqliteReader::account_data(std::string_view user_id,
                                                      std::string_view room_id,
                                                      std::string_view type) {
  auto st = db_.prepare(
      "SELECT content_json FROM account_data WHERE user_id = ? AND room_id = ? AND type = ?");
  st.bind_all(user_id, room_id, type);
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

std::vector<Receipt> SqliteReader::receipt_changes(std::string_view room_id, int64_t after,
                                                   int64_t upto) {
  auto st = db_.prepare(
      "SELECT room_id, user_id, type, thread_id, event_id, ts, pos FROM receipts "
      "WHERE room_id = ? AND pos > ? AND pos <= ? ORDER BY pos");
  st.bind_all(room_id, after, upto);
  std::vector<Receipt> out;
  while (st.step())
    out.push_back(read_receipt(st));
  return out;
}

std::vector<Receipt> SqliteReader::receipts_of_room(std::string_view room_id) {
  auto st = db_.prepare(
      "SELECT room_id, user_id, type, thread_id, event_id, ts, pos FROM receipts "
      "WHERE room_id = ? ORDER BY pos");
  st.bind_all(room_id);
  std::vector<Receipt> out;
  while (st.step())
    out.push_back(read_receipt(st));
  return out;
}

std::optional<Receipt> SqliteReader::receipt(std::string_view room_id, std::string_view user_id,
                                             std::string_view type) {
  auto st = db_.prepare(
      "SELECT room_id, user_id, type, thread_id, event_id, ts, pos FROM receipts "
      "WHERE room_id = ? AND user_id = ? AND type = ? AND thread_id = ''");
  st.bind_all(room_id, user_id, type);
  if (!st.step()) return std::nullopt;
  return read_receipt(st);
}

int64_t SqliteReader::count_events_after(std::string_view room_id, int64_t after_pos,
                                         std::string_view not_sender,
                                         const std::vector<std::string>& types) {
  int64_t total = 0;
  for (const auto& type : types) {
    auto st = db_.prepare(
        "SELECT COUNT(*) FROM events WHERE room_id = ? AND pos > ? AND sender != ? AND type = ? "
        "AND redacted_by = ''");
    st.bind_all(room_id, after_pos, not_sender, type);
    if (st.step()) total += st.integer(0);
  }
  return total;
}

}  // namespace atrium::store::sqlite
