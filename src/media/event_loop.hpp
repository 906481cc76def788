#pragma once
// A media worker's event loop: one thread, epoll for sockets, an eventfd for
// work posted from other threads, and periodic ticks. Everything a peer does
// (ICE, DTLS, SRTP, forwarding) runs on the loop it is pinned to, so the
// packet path takes no locks; only post() does, and it is for control work.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace atrium::media {

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using Task = std::function<void()>;

  EventLoop();
  ~EventLoop();  // stops and joins
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Calls on_readable on the loop thread whenever fd is readable (and
  // on_writable, if given, while write interest is on). Call before start()
  // or from the loop thread; unwatch before closing the fd.
  void watch(int fd, std::function<void()> on_readable, std::function<void()> on_writable = {});
  void set_write_interest(int fd, bool on);
  void unwatch(int fd);
  // Runs fn on the loop thread every period (first call after one period).
  // Before start() or on the loop thread; the id cancels it (on the loop thread).
  uint64_t every(std::chrono::milliseconds period, std::function<void(Clock::time_point)> fn);
  void cancel(uint64_t periodic_id);
  // Runs task on the loop thread soon; callable from any thread.
  void post(Task task);

  void start(std::string name);
  void stop();
  // CPU time the loop thread has used (benchmarks: cost per packet).
  std::chrono::nanoseconds cpu_time();
  bool in_loop_thread() const { return std::this_thread::get_id() == thread_id_.load(); }

 private:
  struct Periodic {
    uint64_t id = 0;
    std::chrono::milliseconds period;
    Clock::time_point next;
    std::function<void(Clock::time_point)> fn;
  };
  void run();
  void drain_posted();

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  struct Watch {
    std::function<void()> on_readable, on_writable;
  };
  std::unordered_map<int, Watch> watched_;
  std::vector<Periodic> periodic_;
  uint64_t next_periodic_id_ = 1;
  std::mutex posted_mutex_;
  std::vector<Task> posted_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::thread::id> thread_id_{};
  std::thread thread_;
};

}  // namespace atrium::media
