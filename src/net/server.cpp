// All of Asio and Beast lives in this one translation unit: instantiating their
// coroutine machinery is slow to compile, so nothing else in the tree pays for it.
#include "net/server.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <chrono>
#include <csignal>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/log.hpp"
#include "net/client_address.hpp"
#include "net/detail_io_context.hpp"
#include "net/detail_logfmt.hpp"
#include "net/detail_websocket.hpp"

namespace atrium::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kHeaderLimit = 16 * 1024;
constexpr auto kWriteTimeout = std::chrono::seconds(30);
// After an error reply the client may still be sending; reading (and
// discarding) for a moment before closing keeps the kernel from answering
// with a reset that would destroy the reply before the client reads it.
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 4 << 20;
constexpr auto kDrainPoll = std::chrono::milliseconds(20);

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

Method to_method(http::verb verb) {
  switch (verb) {
    case http::verb::get:
      return Method::get;
    case http::verb::head:
      return Method::head;
    case http::verb::post:
      return Method::post;
    case http::verb::put:
      return Method::put;
    case http::verb::delete_:
      return Method::del;
    case http::verb::options:
      return Method::options;
    case http::verb::patch:
      return Method::patch;
    default:
      return Method::other;
  }
}

Response error_reply(int status, std::string_view errcode, std::string_view message) {
  // errcode and message are fixed strings here, so no JSON escaping is needed.
  std::string body = "{\"errcode\":\"";
  body += errcode;
  body += "\",\"error\":\"";
  body += message;
  body += "\"}";
  return Response::json(status, std::move(body));
}

bool is_http_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

http::response<http::string_body> to_beast(Response response, unsigned version, bool head,
                                           bool keep_alive) {
  http::response<http::string_body> message;
  message.version(version);
  int status = response.status;
  if (status < 100 || status > 999) status = 500;
  message.result(static_cast<unsigned>(status));
  message.set(http::field::server, "atrium");
  if (!response.content_type.empty()) message.set(http::field::content_type, response.content_type);
  for (auto& [name, value] : response.headers)
    message.insert(name, value);
  message.keep_alive(keep_alive);
  const bool bodiless = status < 200 || status == 204 || status == 304;
  if (bodiless) {
    // No body and no Content-Length for these statuses.
  } else if (head) {
    message.content_length(response.body.size());
  } else {
    message.body() = std::move(response.body);
    message.prepare_payload();
  }
  return message;
}

bool is_websocket_upgrade(const http::request<http::string_body>& message) {
  return message.method() == http::verb::get &&
         beast::iequals(message[http::field::upgrade], "websocket");
}

// One accepted TCP connection. Only its session coroutine touches it, plus
// the shutdown path, which does so on the same strand.
struct Connection {
  explicit Connection(tcp::socket socket)
      : stream(std::move(socket)), executor(stream.get_executor()) {}
  beast::tcp_stream stream;              // moved into `websocket` on upgrade
  const asio::any_io_executor executor;  // the connection's strand
  bool idle = false;                     // waiting for the first byte of the next request
  std::shared_ptr<detail::ServerWebSocket> websocket;  // set once upgraded
};

// State that must outlive the Impl: coroutine frames destroyed together with
// the io_context still unregister themselves here.
struct Tracker {
  std::mutex mutex;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections;
  std::atomic<int> in_flight{0};

  std::vector<std::shared_ptr<Connection>> live() {
    std::lock_guard lock(mutex);
    std::vector<std::shared_ptr<Connection>> out;
    for (auto& [raw, weak] : connections) {
      if (auto conn = weak.lock()) out.push_back(std::move(conn));
    }
    return out;
  }
};

class Registration {
 public:
  Registration(std::shared_ptr<Tracker> tracker, const std::shared_ptr<Connection>& conn)
      : tracker_(std::move(tracker)), conn_(conn.get()) {
    std::lock_guard lock(tracker_->mutex);
    tracker_->connections.emplace(conn_, conn);
  }
  ~Registration() {
    std::lock_guard lock(tracker_->mutex);
    tracker_->connections.erase(conn_);
  }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

 private:
  std::shared_ptr<Tracker> tracker_;
  Connection* conn_;
};

// Counts a dispatched request until its response has been written.
class InFlight {
 public:
  explicit InFlight(std::shared_ptr<Tracker> tracker) : tracker_(std::move(tracker)) {
    ++tracker_->in_flight;
  }
  ~InFlight() { release(); }
  void release() {
    if (tracker_) --tracker_->in_flight;
    tracker_.reset();
  }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  std::shared_ptr<Tracker> tracker_;
};

// Where a handler's answer lands. The Respond callback holds it weakly (a
// service may keep a parked callback longer than the server lives), hops onto
// the connection's strand, stores the response and wakes the coroutine by
// cancelling a timer that would otherwise never expire.
struct ReplySlot {
  explicit ReplySlot(const asio::any_io_executor& strand)
      : wake(strand, asio::steady_timer::time_point::max()) {}
  asio::steady_timer wake;
  std::optional<Response> response;
};

Respond make_respond(const std::shared_ptr<ReplySlot>& slot) {
  return [weak = std::weak_ptr<ReplySlot>(slot)](Response response) {
    auto slot = weak.lock();
    if (!slot) return;  // the connection is gone
    auto executor = slot->wake.get_executor();
    asio::dispatch(executor, [slot = std::move(slot), response = std::move(response)]() mutable {
      if (slot->response) return;  // first answer wins
      slot->response = std::move(response);
      slot->wake.cancel();
    });
  };
}

// Scheduler::Timer over a steady_timer. A phase flag decides, exactly once,
// whether the callback runs or is cancelled, so cancel() from any thread is
// race-free; the Asio timer is then cancelled too, to free the callback early.
class AsioTimer final : public Scheduler::Timer {
 public:
  enum Phase : int { kPending, kRunning, kCancelled };

  AsioTimer(std::shared_ptr<std::atomic<int>> phase, std::weak_ptr<asio::steady_timer> timer)
      : phase_(std::move(phase)), timer_(std::move(timer)) {}

  void cancel() override {
    int expected = kPending;
    if (!phase_->compare_exchange_strong(expected, kCancelled)) return;
    if (auto timer = timer_.lock()) {
      asio::post(timer->get_executor(), [timer] { timer->cancel(); });
    }
  }

 private:
  std::shared_ptr<std::atomic<int>> phase_;
  std::weak_ptr<asio::steady_timer> timer_;  // weak: the handle may outlive the server
};

}  // namespace

struct HttpServer::Impl final : Scheduler {
  Impl(ServerOptions opts, const Router& r)
      : options(std::move(opts)),
        trusted_proxies(parse_trusted_proxies(options.trusted_proxies)),
        router(r),
        control(asio::make_strand(ioc)),
        acceptor(control),
        logger(log::get("http")) {}

  // Declared first so that it is destroyed last: its destructor destroys the
  // coroutine frames that still reference the members below.
  asio::io_context ioc;
  ServerOptions options;
  std::vector<asio::ip::address> trusted_proxies;
  const Router& router;
  // Serialises the acceptor, the signal set and the shutdown sequence.
  asio::strand<asio::io_context::executor_type> control;
  tcp::acceptor acceptor;
  std::optional<asio::signal_set> signals;
  std::shared_ptr<Tracker> tracker = std::make_shared<Tracker>();
  std::atomic<bool> stopping{false};
  std::atomic<uint16_t> port{0};
  std::function<void()> on_signal;
  std::shared_ptr<spdlog::logger> logger;

  // --- Scheduler ---
  void post(std::function<void()> fn) override {
    asio::post(ioc, [this, fn = std::move(fn)] { run_guarded(fn, "posted task"); });
  }

  std::shared_ptr<Timer> after(int64_t delay_ms, std::function<void()> fn) override {
    auto timer = std::make_shared<asio::steady_timer>(ioc);
    auto phase = std::make_shared<std::atomic<int>>(AsioTimer::kPending);
    timer->expires_after(std::chrono::milliseconds(std::max<int64_t>(delay_ms, 0)));
    // The completion handler owns the timer; the handle only observes it.
    timer->async_wait([this, timer, phase, fn = std::move(fn)](const beast::error_code& ec) {
      int expected = AsioTimer::kPending;
      if (ec || !phase->compare_exchange_strong(expected, AsioTimer::kRunning)) return;
      run_guarded(fn, "timer");
    });
    return std::make_shared<AsioTimer>(std::move(phase), timer);
  }

  void run_guarded(const std::function<void()>& fn, std::string_view what) {
    try {
      fn();
    } catch (const std::exception& e) {
      logger->error("msg=\"{} threw\" what={}", what, detail::logfmt_quote(e.what()));
    } catch (...) {
      logger->error("msg=\"{} threw\" what=\"non-standard exception\"", what);
    }
  }

  // --- listening ---
  void listen() {
    const std::string where = options.host + ":" + std::to_string(options.port);
    auto fail = [&](const std::string& reason) {
      beast::error_code ignored;
      acceptor.close(ignored);
      throw std::runtime_error("cannot listen on " + where + ": " + reason);
    };
    std::string host = options.host;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    beast::error_code ec;
    asio::ip::address address;
    if (host == "localhost") {
      address = asio::ip::address_v4::loopback();
    } else {
      address = asio::ip::make_address(host, ec);
      if (ec) fail("not a numeric IP address or \"localhost\"");
    }
    const tcp::endpoint endpoint(address, options.port);
    if (acceptor.is_open()) acceptor.close(ec);
    acceptor.open(endpoint.protocol(), ec);
    if (ec) fail(ec.message());
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (ec) fail(ec.message());
    acceptor.bind(endpoint, ec);
    if (ec) fail(ec.message());
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) fail(ec.message());
    const auto local = acceptor.local_endpoint(ec);
    if (ec) fail(ec.message());
    port = local.port();
    logger->info("msg=\"listening\" addr={}",
                 detail::logfmt_value(host + ":" + std::to_string(port)));
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc), kTuple);
      if (stopping || !acceptor.is_open()) co_return;
      if (ec) {
        // Typically EMFILE: back off instead of spinning.
        logger->warn("msg=\"accept failed\" error={}", detail::logfmt_quote(ec.message()));
        asio::steady_timer pause(control, std::chrono::milliseconds(100));
        co_await pause.async_wait(kTuple);
        continue;
      }
      auto conn = std::make_shared<Connection>(std::move(socket));
      auto executor = conn->stream.get_executor();
      asio::co_spawn(executor, session(std::move(conn)), asio::detached);
    }
  }

  // --- one connection ---
  asio::awaitable<void> session(std::shared_ptr<Connection> conn) {
    Registration registration(tracker, conn);
    beast::error_code ec;
    auto address = conn->stream.socket().remote_endpoint(ec).address();
    // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; per-address
    // limits and logs want the plain IPv4 form.
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    const std::string remote = ec ? std::string("-") : address.to_string();
    try {
      co_await serve(*conn, remote);
    } catch (const std::exception& e) {
      logger->error("msg=\"connection failed\" remote={} what={}", remote,
                    detail::logfmt_quote(e.what()));
    }
    if (!conn->websocket) {  // an upgraded stream closes itself
      conn->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      conn->stream.socket().close(ec);
    }
  }

  asio::awaitable<void> serve(Connection& conn, const std::string& remote) {
    beast::flat_buffer buffer;
    for (;;) {
      if (buffer.size() == 0) {
        // Between requests: the idle deadline applies, and shutdown may close us.
        if (stopping) co_return;
        conn.idle = true;
        conn.stream.expires_after(std::chrono::seconds(options.idle_timeout_s));
        auto [ec, n] = co_await conn.stream.async_read_some(buffer.prepare(8192), kTuple);
        conn.idle = false;
        if (ec) co_return;
        buffer.commit(n);
      }

      conn.stream.expires_after(std::chrono::seconds(options.header_timeout_s));
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(options.max_body_bytes);
      auto [ec, n] = co_await http::async_read_header(conn.stream, buffer, parser, kTuple);
      if (!ec && !parser.is_done()) {
        const auto& head = parser.get();
        if (head.version() >= 11 && beast::iequals(head[http::field::expect], "100-continue")) {
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          std::tie(ec, n) =
              co_await asio::async_write(conn.stream, asio::buffer(kContinue), kTuple);
        }
        if (!ec) std::tie(ec, n) = co_await http::async_read(conn.stream, buffer, parser, kTuple);
      }
      if (ec == http::error::body_limit) {
        co_await reject(conn, remote, 413, "M_TOO_LARGE", "Request body too large");
        co_return;
      }
      if (ec == http::error::header_limit) {
        co_await reject(conn, remote, 431, "M_TOO_LARGE", "Request headers too large");
        co_return;
      }
      if (ec && is_http_parse_error(ec)) {
        co_await reject(conn, remote, 400, "M_UNRECOGNIZED", "Malformed HTTP request");
        co_return;
      }
      if (ec) co_return;  // closed by the peer, reset, or timed out

      if (!co_await answer(conn, parser.get(), remote)) co_return;
    }
  }

  // Dispatches one complete request and writes the reply. Returns whether the
  // connection stays open for another request.
  asio::awaitable<bool> answer(Connection& conn, http::request<http::string_body>& message,
                               const std::string& remote) {
    const auto started = Clock::now();
    conn.stream.expires_never();

    Request request;
    request.method = to_method(message.method());
    request.target = std::string(message.target());
    request.remote_address = remote;

    auto slot = std::make_shared<ReplySlot>(conn.stream.get_executor());
    Respond respond = make_respond(slot);
    std::optional<InFlight> in_flight;
    std::optional<UpgradeDecision> upgrade;

    auto url = boost::urls::parse_origin_form(request.target);
    if (!url) {
      Response bad = error_reply(400, "M_UNRECOGNIZED", "Malformed request target");
      Router::add_cors_headers(bad);
      respond(std::move(bad));
    } else {
      request.path = std::string(url->encoded_path());
      for (auto param : url->params()) {
        request.query.emplace(std::move(param.key), std::move(param.value));
      }
      request.headers.reserve(std::distance(message.begin(), message.end()));
      for (const auto& field : message) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        request.headers.emplace_back(std::move(name), std::string(field.value()));
      }
      request.remote_address =
          client_address(remote, request.header("x-forwarded-for"), trusted_proxies);
      request.body = std::move(message.body());
      in_flight.emplace(tracker);
      try {
        if (is_websocket_upgrade(message)) upgrade = router.upgrade(request);
        if (!upgrade) {
          router.dispatch(request, respond);
        } else if (upgrade->reject) {
          respond(std::move(*upgrade->reject));  // the router added the CORS headers
        }
      } catch (...) {
        // The router catches handler errors itself; this is a last resort.
        Response error = error_response_from_current_exception();
        Router::add_cors_headers(error);
        respond(std::move(error));
      }
    }

    if (upgrade && !upgrade->reject) {
      // The WebSocket counts as in flight, so shutdown waits for its close.
      co_await serve_websocket(conn, message, request.path, std::move(upgrade->opened),
                               request.remote_address);
      co_return false;
    }

    // The response may already be here (synchronous handler); otherwise the
    // Respond callback wakes us from whatever thread it runs on.
    while (!slot->response) {
      co_await slot->wake.async_wait(kTuple);
    }
    Response response = std::move(*slot->response);
    slot.reset();

    // A refused upgrade closes: the client will not reuse that connection.
    const bool keep_alive = message.keep_alive() && !stopping && !upgrade;
    const int status = response.status;
    auto reply = to_beast(std::move(response), message.version(), request.method == Method::head,
                          keep_alive);
    conn.stream.expires_after(kWriteTimeout);
    auto [ec, n] = co_await http::async_write(conn.stream, reply, kTuple);
    if (in_flight) in_flight->release();

    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    const std::string_view method = request.method == Method::other
                                        ? std::string_view(message.method_string())
                                        : method_name(request.method);
    if (upgrade) {
      logger->info("msg=\"websocket upgrade rejected\" path={} status={} ms={:.1f} remote={}",
                   detail::logfmt_value(request.path), status, ms, request.remote_address);
    } else {
      // Every request logs this line: its values go straight into the record.
      const std::string_view path = request.path.empty() ? "-" : std::string_view(request.path);
      logger->info("msg=\"request\" method={} path={} status={} ms={:.1f} remote={}",
                   detail::LogfmtValue{method}, detail::LogfmtValue{path}, status, ms,
                   request.remote_address);
    }
    co_return !ec && keep_alive;
  }

  // Hands the TCP stream over to a WebSocket session and runs it to the end.
  asio::awaitable<void> serve_websocket(Connection& conn,
                                        const http::request<http::string_body>& message,
                                        const std::string& path, WebSocketOpened opened,
                                        const std::string& remote) {
    conn.websocket = detail::make_server_websocket(std::move(conn.stream), remote, path,
                                                   options.websocket, logger);
    // Published before this check: a shutdown that begins after it finds the
    // session through the tracker instead.
    if (stopping) conn.websocket->going_away();
    co_await conn.websocket->serve(message, std::move(opened));
  }

  // Replies with an error before any dispatch (the request could not be read
  // in full), then closes the connection.
  asio::awaitable<void> reject(Connection& conn, const std::string& remote, int status,
                               std::string_view errcode, std::string_view message) {
    Response response = error_reply(status, errcode, message);
    Router::add_cors_headers(response);
    auto reply = to_beast(std::move(response), 11, false, false);
    conn.stream.expires_after(kWriteTimeout);
    auto [ec, n] = co_await http::async_write(conn.stream, reply, kTuple);
    logger->info("msg=\"request rejected\" status={} reason={} remote={}", status,
                 detail::logfmt_quote(message), remote);
    if (ec) co_return;
    conn.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    conn.stream.expires_after(kLingerTimeout);
    std::vector<char> scratch(16 * 1024);
    for (size_t drained = 0; drained < kLingerBytes;) {
      auto [read_ec, got] = co_await conn.stream.async_read_some(asio::buffer(scratch), kTuple);
      if (read_ec) break;
      drained += got;
    }
  }

  // --- shutdown ---
  // Runs on the control strand.
  void begin_shutdown(bool from_signal) {
    if (stopping.exchange(true)) {
      if (from_signal) {
        logger->warn("msg=\"second signal, stopping now\" in_flight={}", tracker->in_flight.load());
        ioc.stop();
      }
      return;
    }
    logger->info("msg=\"shutting down\" in_flight={}", tracker->in_flight.load());
    if (auto notify = std::move(on_signal)) run_guarded(notify, "shutdown callback");
    beast::error_code ec;
    acceptor.close(ec);
    // Idle keep-alive connections are closed right away; a busy one closes
    // itself after its reply, because `stopping` turns keep-alive off.
    close_idle_connections();
    asio::co_spawn(control, drain(), asio::detached);
  }

  void close_idle_connections() {
    for (auto& conn : tracker->live()) {
      asio::post(conn->executor, [conn] {
        if (conn->websocket) {
          conn->websocket->going_away();  // close 1001, counted in flight until done
        } else if (conn->idle) {
          conn->stream.cancel();
        }
      });
    }
  }

  asio::awaitable<void> drain() {
    const auto deadline = Clock::now() + std::chrono::seconds(options.shutdown_grace_s);
    asio::steady_timer poll(control);
    while (tracker->in_flight.load() > 0 && Clock::now() < deadline) {
      poll.expires_after(kDrainPoll);
      co_await poll.async_wait(kTuple);
    }
    if (int left = tracker->in_flight.load(); left > 0) {
      logger->warn("msg=\"grace period over, dropping requests\" in_flight={}", left);
    }
    ioc.stop();
  }

  void arm_signals() {
    signals->async_wait(
        asio::bind_executor(control, [this](const beast::error_code& ec, int signal_number) {
          if (ec) return;
          logger->info("msg=\"signal received\" signal={}", signal_number);
          begin_shutdown(true);
          if (signals) arm_signals();
        }));
  }

  void run(std::function<void()> callback) {
    if (!acceptor.is_open()) listen();
    on_signal = std::move(callback);
    signals.emplace(ioc, SIGINT, SIGTERM);
    arm_signals();
    asio::co_spawn(control, accept_loop(), asio::detached);

    auto worker = [this] {
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {
          logger->error("msg=\"io thread caught exception\" what={}",
                        detail::logfmt_quote(e.what()));
        }
      }
    };
    std::vector<std::thread> extra;
    for (int i = 1; i < std::max(options.threads, 1); ++i)
      extra.emplace_back(worker);
    worker();
    for (auto& thread : extra)
      thread.join();

    // No I/O thread runs now, so these objects can be touched directly.
    beast::error_code ec;
    signals->cancel(ec);
    signals->clear(ec);
    signals.reset();
    acceptor.close(ec);
    // Connections still open (grace period exceeded, forced stop) are closed
    // now rather than when the server is destroyed.
    for (auto& conn : tracker->live()) {
      if (conn->websocket) {
        conn->websocket->abandon();  // reports on_close(1001) if it has not run
      } else {
        conn->stream.socket().close(ec);
      }
    }
    logger->info("msg=\"stopped\"");
  }
};

HttpServer::HttpServer(ServerOptions options, const Router& router)
    : impl_(std::make_unique<Impl>(std::move(options), router)) {}

HttpServer::~HttpServer() = default;

void HttpServer::listen() {
  impl_->listen();
}

uint16_t HttpServer::bound_port() const {
  return impl_->port.load();
}

Scheduler& HttpServer::scheduler() {
  return *impl_;
}

void HttpServer::run(std::function<void()> on_signal) {
  impl_->run(std::move(on_signal));
}

asio::io_context& detail::IoContextAccess::of(HttpServer& server) {
  return server.impl_->ioc;
}

void HttpServer::stop() {
  Impl* impl = impl_.get();
  asio::post(impl->control, [impl] { impl->begin_shutdown(false); });
}

}  // namespace atrium::net
