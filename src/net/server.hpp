#pragma once
// The HTTP/1.1 listener (Boost.Beast over Asio, one coroutine per connection).
// All Asio lives in net/; services only see http.hpp and Scheduler.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/router.hpp"

namespace atrium::net {

namespace detail {
struct IoContextAccess;  // net/detail_io_context.hpp
}

// Timers and deferred work for services that must not see Asio.
class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual void post(std::function<void()> fn) = 0;
  // Runs fn after `delay_ms` unless the returned handle's cancel() is called first.
  class Timer {
   public:
    virtual ~Timer() = default;
    virtual void cancel() = 0;
  };
  virtual std::shared_ptr<Timer> after(int64_t delay_ms, std::function<void()> fn) = 0;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8008;
  int threads = 1;
  uint64_t max_body_bytes = 1 << 20;
  int idle_timeout_s = 75;    // keep-alive read deadline
  int header_timeout_s = 30;  // deadline for a complete request once bytes arrive
  int shutdown_grace_s = 10;  // in-flight requests and WebSocket closes get this long on stop
  WebSocketOptions websocket;
  // IP addresses of reverse proxies whose X-Forwarded-For is believed (see
  // client_address.hpp); empty: the TCP peer is the client.
  std::vector<std::string> trusted_proxies;
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, const Router& router);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds (throws std::runtime_error with a clear message if it cannot).
  void listen();
  uint16_t bound_port() const;
  Scheduler& scheduler();

  // Runs the I/O threads until stop() completes. `on_signal` is called once on
  // the first SIGINT/SIGTERM (services answer parked long-polls there); then
  // the server stops accepting, closes open WebSockets with 1001, waits for
  // in-flight requests and those closes up to the grace period, and returns.
  // Every WebSocket's on_close has run by then.
  void run(std::function<void()> on_signal);
  // Requests the same shutdown as a signal would (thread-safe).
  void stop();

 private:
  friend struct detail::IoContextAccess;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace atrium::net
