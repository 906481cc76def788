#pragma once
// Delegated delayed leave (lk-jwt-service's delayedEventManager): while a
// participant is connected to the SFU, keep restarting its Matrix delayed
// leave (at 80 % of its timeout); when the SFU reports it left or its
// connection aborted, send the leave at once. Jobs are keyed by (LiveKit
// room, identity); a newer job for the same key replaces the older one.
// Every state change is stored before it takes effect (DelegationStore).
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "net/server.hpp"
#include "rtcauth/delegation_store.hpp"
#include "rtcauth/matrix_access.hpp"
#include "rtcauth/webhook.hpp"

namespace atrium::rtcauth {

class DelegationManager : public std::enable_shared_from_this<DelegationManager> {
 public:
  DelegationManager(DelegationStore& store, DelayedEventActions& actions,
                    net::Scheduler& scheduler);

  // Resumes the stored jobs (a `leaving` job sends its leave now).
  void start();
  // Stores and starts a job. `record.state` is `waiting` (token requests:
  // the participant has not connected yet) or `connected` (explicit
  // delegation by a client that is already on the SFU).
  void add(DelegationRecord record);
  // participant_joined / participant_left / participant_connection_aborted.
  void on_sfu_event(const WebhookEvent& event);
  // Cancels the timers; stored jobs resume at the next start.
  void shutdown();

  size_t job_count();

 private:
  using Key = std::pair<std::string, std::string>;  // room, identity
  struct Job {
    DelegationRecord record;
    uint64_t generation = 0;  // tells a replaced job's callbacks apart
    int failures = 0;
    std::shared_ptr<net::Scheduler::Timer> timer;
  };

  void run(const Key& key, const Job& job);  // acts on the job's current state
  void restart(const Key& key, uint64_t generation);
  void send_leave(const Key& key, uint64_t generation);
  void arm(const Key& key, uint64_t generation, int64_t delay_ms,
           void (DelegationManager::*step)(const Key&, uint64_t));
  void wait_expired(const Key& key, uint64_t generation);
  // The job if it is still the one with `generation` (lock held by caller).
  Job* current(const Key& key, uint64_t generation);
  void finish(const Key& key, uint64_t generation, const char* why);

  DelegationStore& store_;
  DelayedEventActions& actions_;
  net::Scheduler& scheduler_;
  std::mutex mutex_;
  std::map<Key, Job> jobs_;
  uint64_t next_generation_ = 1;
  bool stopped_ = false;
};

// How long a job waits for the participant to connect: min(1 h, timeout).
int64_t connect_wait_ms(int64_t delay_timeout_ms);
// When the next restart is due after a successful one: 80 % of the timeout.
inline int64_t restart_interval_ms(int64_t delay_timeout_ms) {
  return delay_timeout_ms * 8 / 10;
}

}  // namespace atrium::rtcauth
