#include "homeserver/notifier.hpp"

namespace atrium::homeserver {

std::shared_ptr<Notifier::Waiter> Notifier::wait(const std::string& user_id, int64_t timeout_ms,
                                                 Wake wake) {
  auto waiter = std::make_shared<Waiter>();
  waiter->user_id_ = user_id;
  waiter->wake_ = std::move(wake);
  waiter->owner_ = this;
  {
    std::lock_guard lock(mutex_);
    if (!shut_down_) {
      waiters_.emplace(user_id, waiter);
      std::weak_ptr<Waiter> weak = waiter;
      waiter->timer_ = scheduler_.after(timeout_ms, [this, weak] {
        if (auto w = weak.lock()) fire(w, true);
      });
      return waiter;
    }
  }
  fire(waiter, false);
  return waiter;
}

void Notifier::fire(const std::shared_ptr<Waiter>& waiter, bool timed_out) {
  Wake wake;
  {
    std::lock_guard lock(waiter->mutex_);
    if (waiter->fired_) return;
    waiter->fired_ = true;
    wake = std::move(waiter->wake_);
  }
  {
    std::lock_guard lock(mutex_);
    auto [begin, end] = waiters_.equal_range(waiter->user_id_);
    for (auto it = begin; it != end; ++it) {
      if (it->second == waiter) {
        waiters_.erase(it);
        break;
      }
    }
  }
  if (waiter->timer_) waiter->timer_->cancel();
  scheduler_.post([wake = std::move(wake), timed_out] { wake(timed_out); });
}

void Notifier::notify(const std::vector<std::string>& user_ids) {
  std::vector<std::shared_ptr<Waiter>> due;
  {
    std::lock_guard lock(mutex_);
    for (const auto& user : user_ids) {
      auto [begin, end] = waiters_.equal_range(user);
      for (auto it = begin; it != end; ++it)
        due.push_back(it->second);
    }
  }
  for (auto& w : due)
    fire(w, false);
}

void Notifier::shutdown() {
  std::vector<std::shared_ptr<Waiter>> all;
  {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
    for (auto& [user, w] : waiters_)
      all.push_back(w);
  }
  for (auto& w : all)
    fire(w, false);
}

bool Notifier::shutting_down() const {
  std::lock_guard lock(mutex_);
  return shut_down_;
}

size_t Notifier::parked() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

void Notifier::Waiter::cancel() {
  {
    std::lock_guard lock(mutex_);
    if (fired_) return;
    fired_ = true;
    wake_ = nullptr;
  }
  if (timer_) timer_->cancel();
  std::lock_guard lock(owner_->mutex_);
  auto [begin, end] = owner_->waiters_.equal_range(user_id_);
  for (auto it = begin; it != end; ++it) {
    if (it->second.get() == this) {
      owner_->waiters_.erase(it);
      break;
    }
  }
}

}  // namespace atrium::homeserver
