#include "media/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <pthread.h>
#include <algorithm>
#include <ctime>
#include <stdexcept>

namespace atrium::media {

EventLoop::EventLoop() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) throw std::runtime_error("event loop: epoll/eventfd failed");
  watch(wake_fd_, [this] {
    uint64_t count;
    while (read(wake_fd_, &count, sizeof(count)) > 0) {
    }
    drain_posted();
  });
}

EventLoop::~EventLoop() {
  stop();
  close(wake_fd_);
  close(epoll_fd_);
}

void EventLoop::watch(int fd, std::function<void()> on_readable,
                      std::function<void()> on_writable) {
  watched_[fd] = Watch{std::move(on_readable), std::move(on_writable)};
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0)
    throw std::runtime_error("event loop: epoll_ctl failed");
}

void EventLoop::set_write_interest(int fd, bool on) {
  epoll_event event{};
  event.events = EPOLLIN | (on ? EPOLLOUT : 0u);
  event.data.fd = fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event);
}

void EventLoop::unwatch(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  watched_.erase(fd);
}

uint64_t EventLoop::every(std::chrono::milliseconds period,
                          std::function<void(Clock::time_point)> fn) {
  uint64_t id = next_periodic_id_++;
  periodic_.push_back({id, period, Clock::now() + period, std::move(fn)});
  return id;
}

void EventLoop::cancel(uint64_t periodic_id) {
  // Cleared, not erased: run() may be iterating; it drops empty entries.
  for (auto& p : periodic_)
    if (p.id == periodic_id) p.fn = nullptr;
}

void EventLoop::post(Task task) {
  {
    std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(task));
  }
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

void EventLoop::drain_posted() {
  std::vector<Task> tasks;
  {
    std::lock_guard lock(posted_mutex_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks)
    task();
}

void EventLoop::start(std::string name) {
  thread_ = std::thread([this, name = std::move(name)] {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    thread_id_ = std::this_thread::get_id();
    run();
  });
}

std::chrono::nanoseconds EventLoop::cpu_time() {
  clockid_t clock;
  timespec now{};
  if (!thread_.joinable() || pthread_getcpuclockid(thread_.native_handle(), &clock) != 0 ||
      clock_gettime(clock, &now) != 0)
    return std::chrono::nanoseconds(0);
  return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

void EventLoop::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  post([] {});
  thread_.join();
  drain_posted();  // tasks posted during shutdown still run (they free things)
}

void EventLoop::run() {
  epoll_event events[64];
  while (!stopping_) {
    auto now = Clock::now();
    int timeout_ms = 1000;
    // By index: a callback may add timers (push_back) or cancel them.
    for (size_t i = 0; i < periodic_.size(); ++i) {
      if (!periodic_[i].fn) continue;
      if (periodic_[i].next <= now) {
        auto fn = periodic_[i].fn;  // a copy: the vector may grow during the call
        fn(now);
        periodic_[i].next = std::max(periodic_[i].next + periodic_[i].period, now);
      }
      auto wait = std::chrono::ceil<std::chrono::milliseconds>(periodic_[i].next - now).count();
      timeout_ms = std::min<int>(timeout_ms, static_cast<int>(std::max<int64_t>(wait, 0)));
    }
    std::erase_if(periodic_, [](const Periodic& p) { return !p.fn; });
    int ready = epoll_wait(epoll_fd_, events, 64, timeout_ms);
    for (int i = 0; i < ready; ++i) {
      // Look up each time: a callback may unwatch (and close) another fd.
      auto it = watched_.find(events[i].data.fd);
      if (it == watched_.end()) continue;
      if (events[i].events & EPOLLOUT) {
        if (auto on_writable = it->second.on_writable) on_writable();
        it = watched_.find(events[i].data.fd);
        if (it == watched_.end()) continue;
      }
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        auto on_readable = it->second.on_readable;  // a copy: it may unwatch itself
        on_readable();
      }
    }
  }
}

}  // namespace atrium::media
