#pragma once
// Wakes parked /sync long-polls when something they would see commits.
// Writers call notify() with the users concerned after the commit is
// durable; a waiter is woken at most once, on the scheduler's threads.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/server.hpp"

namespace atrium::homeserver {

class Notifier {
 public:
  explicit Notifier(net::Scheduler& scheduler) : scheduler_(scheduler) {}

  class Waiter;
  // Parks `wake` for `user_id` until notify() names the user, `timeout_ms`
  // passes (wake(true)), or shutdown() is called. The handle cancels it.
  using Wake = std::function<void(bool timed_out)>;
  std::shared_ptr<Waiter> wait(const std::string& user_id, int64_t timeout_ms, Wake wake);
  void notify(const std::vector<std::string>& user_ids);
  void notify(const std::string& user_id) { notify(std::vector<std::string>{user_id}); }
  // Wakes every waiter now and makes later waits return at once.
  void shutdown();
  size_t parked() const;
  bool shutting_down() const;

 private:
  void fire(const std::shared_ptr<Waiter>& waiter, bool timed_out);

  net::Scheduler& scheduler_;
  mutable std::mutex mutex_;
  std::unordered_multimap<std::string, std::shared_ptr<Waiter>> waiters_;
  bool shut_down_ = false;
};

class Notifier::Waiter {
 public:
  void cancel();

 private:
  friend class Notifier;
  std::mutex mutex_;
  bool fired_ = false;
  std::string user_id_;
  Wake wake_;
  std::shared_ptr<net::Scheduler::Timer> timer_;
  Notifier* owner_ = nullptr;
};

}  // namespace atrium::homeserver
