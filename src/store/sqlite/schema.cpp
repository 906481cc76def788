#include "store/sqlite/schema.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace atrium::store::sqlite {

namespace {

// Numbered migrations. Never edit one that has shipped: append a new one.
const std::vector<const char*> kMigrations = {
    // 1: accounts, rooms, events, state, memberships, account data, receipts.
    R"sql(
CREATE TABLE users (
  user_id TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL DEFAULT '',
  created_ts INTEGER NOT NULL,
  deactivated INTEGER NOT NULL DEFAULT 0,
  admin INTEGER NOT NULL DEFAULT 0,
  displayname TEXT NOT NULL DEFAULT '',
  avatar_url TEXT NOT NULL DEFAULT ''
);
CREATE TABLE devices (
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  display_name TEXT NOT NULL DEFAULT '',
  last_seen_ts INTEGER NOT NULL DEFAULT 0,
  last_seen_ip TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (user_id, device_id)
);
CREATE TABLE access_tokens (
  token TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL
);
CREATE INDEX access_tokens_device ON access_tokens (user_id, device_id);
CREATE TABLE filters (
  filter_id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id TEXT NOT NULL,
  filter_json TEXT NOT NULL
);
CREATE TABLE rooms (
  room_id TEXT PRIMARY KEY,
  room_version TEXT NOT NULL,
  creator TEXT NOT NULL,
  created_ts INTEGER NOT NULL
);
CREATE TABLE room_aliases (
  alias TEXT PRIMARY KEY,
  room_id TEXT NOT NULL,
  creator TEXT NOT NULL
);
CREATE INDEX room_aliases_room ON room_aliases (room_id);
CREATE TABLE events (
  pos INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  room_id TEXT NOT NULL,
  type TEXT NOT NULL,
  state_key TEXT,
  sender TEXT NOT NULL,
  origin_server_ts INTEGER NOT NULL,
  depth INTEGER NOT NULL,
  pdu_json TEXT NOT NULL,
  redacted_by TEXT NOT NULL DEFAULT '',
  txn_device TEXT NOT NULL DEFAULT '',
  txn_id TEXT NOT NULL DEFAULT '',
  replaces_state TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_room_pos ON events (room_id, pos);
CREATE INDEX events_room_state ON events (room_id, type, state_key, pos) WHERE state_key IS NOT NULL;
CREATE TABLE current_state (
  room_id TEXT NOT NULL,
  type TEXT NOT NULL,
  state_key TEXT NOT NULL,
  event_pos INTEGER NOT NULL,
  PRIMARY KEY (room_id, type, state_key)
);
CREATE TABLE memberships (
  room_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  membership TEXT NOT NULL,
  event_id TEXT NOT NULL,
  pos INTEGER NOT NULL,
  forgotten INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (room_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);
CREATE TABLE txns (
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  txn_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  PRIMARY KEY (user_id, device_id, txn_id)
);
CREATE TABLE account_data (
  user_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  type TEXT NOT NULL,
  content_json TEXT NOT NULL,
  pos INTEGER NOT NULL,
  PRIMARY KEY (user_id, room_id, type)
);
CREATE INDEX account_data_pos ON account_data (user_id, pos);
CREATE TABLE receipts (
  room_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  type TEXT NOT NULL,
  thread_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  ts INTEGER NOT NULL,
  pos INTEGER NOT NULL,
  PRIMARY KEY (room_id, user_id, type, thread_id)
);
CREATE INDEX receipts_room_pos ON receipts (room_id, pos);
)sql",
    // 2: MatrixRTC primitives: sticky events, delayed events, OpenID tokens.
    R"sql(
ALTER TABLE events ADD COLUMN sticky_until INTEGER NOT NULL DEFAULT 0;
CREATE INDEX events_sticky ON events (room_id, sticky_until) WHERE sticky_until > 0;
CREATE TABLE delayed_events (
  delay_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  type TEXT NOT NULL,
  state_key TEXT,
  content_json TEXT NOT NULL,
  delay_ms INTEGER NOT NULL,
  running_since INTEGER NOT NULL,
  sticky_duration_ms INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL,
  event_id TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  finalised_ts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX delayed_events_user ON delayed_events (user_id, status);
CREATE INDEX delayed_events_state ON delayed_events (room_id, type, state_key) WHERE status = 'scheduled';
CREATE TABLE openid_tokens (
  token TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  expires_ts INTEGER NOT NULL
);
)sql",
    // 3: end-to-end encryption plumbing: to-device messages, device and
    // one-time keys, cross-signing, device list changes.
    R"sql(
CREATE TABLE device_keys (
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  keys_json TEXT NOT NULL,
  PRIMARY KEY (user_id, device_id)
);
CREATE TABLE one_time_keys (
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  algorithm TEXT NOT NULL,
  key_id TEXT NOT NULL,
  key_json TEXT NOT NULL,
  PRIMARY KEY (user_id, device_id, key_id)
);
CREATE INDEX one_time_keys_alg ON one_time_keys (user_id, device_id, algorithm);
CREATE TABLE fallback_keys (
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  algorithm TEXT NOT NULL,
  key_id TEXT NOT NULL,
  key_json TEXT NOT NULL,
  used INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, device_id, algorithm)
);
CREATE TABLE cross_signing_keys (
  user_id TEXT NOT NULL,
  key_type TEXT NOT NULL,
  key_json TEXT NOT NULL,
  PRIMARY KEY (user_id, key_type)
);
CREATE TABLE key_signatures (
  signer_user TEXT NOT NULL,
  signer_key_id TEXT NOT NULL,
  target_user TEXT NOT NULL,
  target_id TEXT NOT NULL,
  signature TEXT NOT NULL,
  PRIMARY KEY (target_user, target_id, signer_user, signer_key_id)
);
CREATE TABLE device_list_changes (
  pos INTEGER PRIMARY KEY,
  user_id TEXT NOT NULL
);
CREATE TABLE to_device (
  pos INTEGER PRIMARY KEY,
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  sender TEXT NOT NULL,
  type TEXT NOT NULL,
  content_json TEXT NOT NULL
);
CREATE INDEX to_device_inbox ON to_device (user_id, device_id, pos);
CREATE INDEX events_members ON events (pos) WHERE type = 'm.room.member';
)sql",
    // 4: relations (annotations, references, replacements).
    R"sql(
CREATE TABLE relations (
  event_id TEXT PRIMARY KEY,
  relates_to TEXT NOT NULL,
  room_id TEXT NOT NULL,
  rel_type TEXT NOT NULL,
  event_type TEXT NOT NULL,
  sender TEXT NOT NULL,
  aggregation_key TEXT NOT NULL DEFAULT '',
  pos INTEGER NOT NULL
);
CREATE INDEX relations_parent ON relations (relates_to, pos);
CREATE INDEX relations_annotation ON relations (relates_to, sender, event_type, aggregation_key)
  WHERE rel_type = 'm.annotation';
)sql",
    // 5: push rules (kept in account data), notification counts, pushers.
    R"sql(
CREATE TABLE notifications (
  user_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  pos INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  highlight INTEGER NOT NULL,
  actions_json TEXT NOT NULL,
  PRIMARY KEY (user_id, pos)
);
CREATE INDEX notifications_room ON notifications (user_id, room_id, pos);
CREATE INDEX notifications_pos ON notifications (pos);
CREATE TABLE pushers (
  user_id TEXT NOT NULL,
  app_id TEXT NOT NULL,
  pushkey TEXT NOT NULL,
  kind TEXT NOT NULL,
  app_display_name TEXT NOT NULL,
  device_display_name TEXT NOT NULL,
  profile_tag TEXT NOT NULL DEFAULT '',
  lang TEXT NOT NULL,
  data_json TEXT NOT NULL,
  pushkey_ts INTEGER NOT NULL,
  last_pos INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, pushkey, user_id)
);
CREATE INDEX pushers_user ON pushers (user_id);
)sql",
    // 6: notifications as one row per event instead of one per recipient
    // and event: a message to a room of N wrote N rows into three indexes,
    // each on a different page. `recipients` holds "\n<user>\t<0|1
    // highlight>\t<actions json>" per notified user, then "\n" (user ids and
    // serialized JSON hold neither tab nor newline), so a user's rows are
    // found with instr(); counts go through events_room_pos.
    R"sql(
CREATE TABLE push_notifications (
  pos INTEGER PRIMARY KEY,
  room_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  ts INTEGER NOT NULL,
  recipients TEXT NOT NULL
);
INSERT INTO push_notifications (pos, room_id, event_id, ts, recipients)
  SELECT pos, MIN(room_id), MIN(event_id), MIN(ts),
         group_concat(char(10) || user_id || char(9) || highlight || char(9) || actions_json, '')
           || char(10)
  FROM notifications GROUP BY pos;
DROP TABLE notifications;
)sql",
};

}  // namespace

void migrate(Connection& db) {
  int64_t version = 0;
  {
    auto st = db.prepare("PRAGMA user_version");
    if (st.step()) version = st.integer(0);
  }
  if (version > static_cast<int64_t>(kMigrations.size()))
    throw std::runtime_error("database schema version " + std::to_string(version) +
                             " is newer than this atrium (" + std::to_string(kMigrations.size()) +
                             "); refusing to open it");
  for (size_t i = static_cast<size_t>(version); i < kMigrations.size(); ++i) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(kMigrations[i]);
      db.exec("PRAGMA user_version = " + std::to_string(i + 1));
      db.exec("COMMIT");
    } catch (...) {
      db.exec("ROLLBACK");
      throw;
    }
  }
}

}  // namespace atrium::store::sqlite
