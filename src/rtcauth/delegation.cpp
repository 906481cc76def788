#include "rtcauth/delegation.hpp"

#include <algorithm>
#include <chrono>

#include "base/log.hpp"

namespace atrium::rtcauth {

namespace {

constexpr int kMaxSendAttempts = 8;  // ~1 + 2 + ... + 30 s: then the homeserver's own timer wins

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t backoff_ms(int failures, int64_t cap) {
  int64_t delay = 1000LL << std::min(failures, 5);
  return std::max<int64_t>(1, std::min(delay, cap));
}

bool success(int status) {
  return status >= 200 && status < 300;
}

}  // namespace

int64_t connect_wait_ms(int64_t delay_timeout_ms) {
  return std::min<int64_t>(3600 * 1000, delay_timeout_ms);
}

DelegationManager::DelegationManager(DelegationStore& store, DelayedEventActions& actions,
                                     net::Scheduler& scheduler)
    : store_(store), actions_(actions), scheduler_(scheduler) {}

void DelegationManager::start() {
  auto records = store_.all();
  std::vector<std::pair<Key, Job>> started;
  {
    std::lock_guard lock(mutex_);
    for (auto& r : records) {
      Key key{r.room, r.identity};
      Job job;
      job.record = std::move(r);
      job.generation = next_generation_++;
      jobs_[key] = job;
      started.emplace_back(key, job);
    }
  }
  if (!records.empty())
    log::get("rtcauth")->info("msg=\"resuming delegated leaves\" jobs={}", records.size());
  for (auto& [key, job] : started)
    run(key, job);
}

void DelegationManager::add(DelegationRecord record) {
  record.created_ms = wall_ms();
  store_.put(record);
  Key key{record.room, record.identity};
  Job job;
  {
    std::lock_guard lock(mutex_);
    if (auto it = jobs_.find(key); it != jobs_.end() && it->second.timer)
      it->second.timer->cancel();
    job.record = std::move(record);
    job.generation = next_generation_++;
    jobs_[key] = job;
  }
  log::get("rtcauth")->info(
      "msg=\"delegated leave\" room={} identity={} delay_id={} timeout_ms={} state={}", key.first,
      key.second, job.record.delay_id, job.record.delay_timeout_ms, job.record.state);
  run(key, job);
}

void DelegationManager::run(const Key& key, const Job& job) {
  const auto& r = job.record;
  if (r.state == "connected") return restart(key, job.generation);
  if (r.state == "leaving") return send_leave(key, job.generation);
  int64_t left = r.created_ms + connect_wait_ms(r.delay_timeout_ms) - wall_ms();
  arm(key, job.generation, std::max<int64_t>(left, 0), &DelegationManager::wait_expired);
}

void DelegationManager::arm(const Key& key, uint64_t generation, int64_t delay_ms,
                            void (DelegationManager::*step)(const Key&, uint64_t)) {
  std::weak_ptr<DelegationManager> weak = weak_from_this();
  auto timer = scheduler_.after(delay_ms, [weak, key, generation, step] {
    if (auto self = weak.lock()) ((*self).*step)(key, generation);
  });
  std::lock_guard lock(mutex_);
  if (auto* job = current(key, generation); job && !stopped_)
    job->timer = timer;
  else
    timer->cancel();
}

DelegationManager::Job* DelegationManager::current(const Key& key, uint64_t generation) {
  auto it = jobs_.find(key);
  if (it == jobs_.end() || it->second.generation != generation) return nullptr;
  return &it->second;
}

void DelegationManager::wait_expired(const Key& key, uint64_t generation) {
  // The participant never connected: the delayed leave stays the client's.
  finish(key, generation, "participant never connected");
}

void DelegationManager::restart(const Key& key, uint64_t generation) {
  DelegationRecord record;
  {
    std::lock_guard lock(mutex_);
    auto* job = current(key, generation);
    if (!job || stopped_ || job->record.state != "connected") return;
    record = job->record;
  }
  std::weak_ptr<DelegationManager> weak = weak_from_this();
  actions_.post(
      record.user_id, record.delay_id, "restart",
      [weak, key, generation, timeout = record.delay_timeout_ms](int status, std::string error) {
        auto self = weak.lock();
        if (!self) return;
        if (status == 404)
          return self->finish(key, generation, "delayed event is gone (404 on restart)");
        int64_t next = restart_interval_ms(timeout);
        {
          std::lock_guard lock(self->mutex_);
          auto* job = self->current(key, generation);
          if (!job || job->record.state != "connected") return;
          if (success(status)) {
            job->failures = 0;
          } else {
            log::get("rtcauth")->warn("msg=\"restart failed\" delay_id={} status={} error=\"{}\"",
                                      job->record.delay_id, status, error);
            next = backoff_ms(job->failures++, next);
          }
        }
        self->arm(key, generation, next, &DelegationManager::restart);
      });
}

void DelegationManager::send_leave(const Key& key, uint64_t generation) {
  DelegationRecord record;
  {
    std::lock_guard lock(mutex_);
    auto* job = current(key, generation);
    if (!job || stopped_) return;
    record = job->record;
  }
  std::weak_ptr<DelegationManager> weak = weak_from_this();
  actions_.post(
      record.user_id, record.delay_id, "send",
      [weak, key, generation](int status, std::string error) {
        auto self = weak.lock();
        if (!self) return;
        // 404: already sent or cancelled, which is what we wanted.
        if (success(status) || status == 404) return self->finish(key, generation, "leave sent");
        int failures = 0;
        {
          std::lock_guard lock(self->mutex_);
          auto* job = self->current(key, generation);
          if (!job) return;
          failures = job->failures++;
          log::get("rtcauth")->warn(
              "msg=\"sending leave failed\" delay_id={} status={} error=\"{}\" attempt={}",
              job->record.delay_id, status, error, failures + 1);
        }
        if (failures + 1 >= kMaxSendAttempts) {
          return self->finish(key, generation,
                              "gave up sending the leave; the homeserver's timer will");
        }
        self->arm(key, generation, backoff_ms(failures, 30000), &DelegationManager::send_leave);
      });
}

void DelegationManager::finish(const Key& key, uint64_t generation, const char* why) {
  DelegationRecord record;
  {
    std::lock_guard lock(mutex_);
    auto* job = current(key, generation);
    if (!job) return;
    record = job->record;
    if (job->timer) job->timer->cancel();
    jobs_.erase(key);
  }
  store_.remove(record);
  log::get("rtcauth")->info("msg=\"delegated leave done\" delay_id={} why=\"{}\"", record.delay_id,
                            why);
}

void DelegationManager::on_sfu_event(const WebhookEvent& event) {
  Key key{event.room_name, event.participant_identity};
  std::string next_state;
  if (event.event == "participant_joined")
    next_state = "connected";
  else if (event.event == "participant_left" || event.event == "participant_connection_aborted")
    next_state = "leaving";
  else
    return;

  Job job;
  {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(key);
    if (it == jobs_.end() || stopped_) return;
    auto& state = it->second.record.state;
    // joined only moves a waiting job; left moves waiting or connected ones.
    if (state == next_state || state == "leaving" ||
        (next_state == "connected" && state != "waiting"))
      return;
    state = next_state;
    it->second.failures = 0;
    if (it->second.timer) it->second.timer->cancel();
    it->second.timer.reset();
    job = it->second;
  }
  store_.set_state(job.record, next_state);
  log::get("rtcauth")->info("msg=\"sfu event\" event={} delay_id={}", event.event,
                            job.record.delay_id);
  run(key, job);
}

void DelegationManager::shutdown() {
  std::lock_guard lock(mutex_);
  stopped_ = true;
  for (auto& [key, job] : jobs_) {
    if (job.timer) job.timer->cancel();
  }
}

size_t DelegationManager::job_count() {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

}  // namespace atrium::rtcauth
