#include "rtcauth/delegation_store.hpp"

namespace atrium::rtcauth {

DelegationStore::DelegationStore(const std::string& path) : db_(path) {
  db_.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;");
  db_.exec(R"(CREATE TABLE IF NOT EXISTS delegations (
    room TEXT NOT NULL,
    identity TEXT NOT NULL,
    user_id TEXT NOT NULL,
    delay_id TEXT NOT NULL,
    delay_timeout_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (room, identity)))");
}

void DelegationStore::put(const DelegationRecord& r) {
  std::lock_guard lock(mutex_);
  db_.prepare(
         "INSERT OR REPLACE INTO delegations (room, identity, user_id, delay_id, "
         "delay_timeout_ms, state, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind_all(r.room, r.identity, r.user_id, r.delay_id, r.delay_timeout_ms, r.state,
                r.created_ms)
      .exec();
}

void DelegationStore::set_state(const DelegationRecord& r, const std::string& state) {
  std::lock_guard lock(mutex_);
  db_.prepare("UPDATE delegations SET state = ? WHERE room = ? AND identity = ? AND delay_id = ?")
      .bind_all(state, r.room, r.identity, r.delay_id)
      .exec();
}

void DelegationStore::remove(const DelegationRecord& r) {
  std::lock_guard lock(mutex_);
  db_.prepare("DELETE FROM delegations WHERE room = ? AND identity = ? AND delay_id = ?")
      .bind_all(r.room, r.identity, r.delay_id)
      .exec();
}

std::vector<DelegationRecord> DelegationStore::all() {
  std::lock_guard lock(mutex_);
  std::vector<DelegationRecord> out;
  auto st = db_.prepare(
      "SELECT room, identity, user_id, delay_id, delay_timeout_ms, state, created_ms "
      "FROM delegations ORDER BY created_ms");
  while (st.step()) {
    out.push_back(
        {st.text(0), st.text(1), st.text(2), st.text(3), st.integer(4), st.text(5), st.integer(6)});
  }
  return out;
}

}  // namespace atrium::rtcauth
