#pragma once
// Durable delegated-leave jobs: one SQLite file of the auth role
// (<data_dir>/rtcauth.db), one row per (LiveKit room, identity), written
// before the request that created or moved a job is answered, so a restart
// loses none. Small and rare writes: a single connection under a mutex.
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "store/sqlite/db.hpp"

namespace atrium::rtcauth {

struct DelegationRecord {
  std::string room;      // LiveKit room alias
  std::string identity;  // LiveKit participant identity
  std::string user_id;   // whose delayed event it is (selects the homeserver)
  std::string delay_id;
  int64_t delay_timeout_ms = 0;
  // waiting: for the participant to connect; connected: restarting the
  // delayed event; leaving: the participant left, the leave is being sent.
  std::string state = "waiting";
  int64_t created_ms = 0;  // wall clock, bounds the wait for the connection
};

class DelegationStore {
 public:
  explicit DelegationStore(const std::string& path);

  // Inserts or replaces the job for (room, identity).
  void put(const DelegationRecord& record);
  void set_state(const DelegationRecord& record, const std::string& state);
  // Removes the job only if it is still the one with this delay id.
  void remove(const DelegationRecord& record);
  std::vector<DelegationRecord> all();

 private:
  std::mutex mutex_;
  store::sqlite::Connection db_;
};

}  // namespace atrium::rtcauth
