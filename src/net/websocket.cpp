// The server side of a WebSocket (Beast), in its own translation unit so that
// its coroutines compile apart from the HTTP session's.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <deque>
#include <exception>

#include "net/detail_logfmt.hpp"
#include "net/detail_websocket.hpp"

namespace atrium::net::detail {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using Clock = std::chrono::steady_clock;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// A close we start must finish by then, even if a write to a client that
// stopped reading never completes (Beast would wait for it forever).
constexpr auto kCloseDeadline = std::chrono::seconds(10);
// Bytes taken from the socket per read step, so an oversized message is
// noticed after at most this much beyond the limit.
constexpr size_t kReadChunk = 64 * 1024;

// What the application holds. Weak, so a handle kept after the connection
// ended (or after the server was destroyed) keeps no socket alive and its
// sends are dropped.
class Handle final : public WebSocket {
 public:
  Handle(std::weak_ptr<WebSocket> session, std::string remote)
      : session_(std::move(session)), remote_(std::move(remote)) {}
  void send_binary(std::string bytes) override {
    if (auto session = session_.lock()) session->send_binary(std::move(bytes));
  }
  void send_text(std::string text) override {
    if (auto session = session_.lock()) session->send_text(std::move(text));
  }
  void close(uint16_t code, std::string reason) override {
    if (auto session = session_.lock()) session->close(code, std::move(reason));
  }
  const std::string& remote_address() const override { return remote_; }

 private:
  std::weak_ptr<WebSocket> session_;
  const std::string remote_;
};

class Session final : public ServerWebSocket, public std::enable_shared_from_this<Session> {
 public:
  Session(beast::tcp_stream stream, std::string remote, std::string path,
          const WebSocketOptions& options, std::shared_ptr<spdlog::logger> logger)
      : ws_(std::move(stream)),
        strand_(ws_.get_executor()),
        close_deadline_(strand_),
        remote_(std::move(remote)),
        path_(std::move(path)),
        options_(options),
        logger_(std::move(logger)) {}

  void send_binary(std::string bytes) override { enqueue(std::move(bytes), true); }
  void send_text(std::string text) override { enqueue(std::move(text), false); }

  void close(uint16_t code, std::string reason) override {
    asio::post(strand_, [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
      self->begin_close(code, std::move(reason), false);
    });
  }

  const std::string& remote_address() const override { return remote_; }

  void going_away() override {
    asio::post(strand_, [self = shared_from_this()] {
      self->shutting_down_ = true;  // also covers a handshake still in progress
      self->begin_close(close_code::going_away, "server shutting down", true);
    });
  }

  void abandon() override {
    beast::error_code ignored;
    ws_.next_layer().socket().close(ignored);
    if (!notified_) {
      logger_->info("msg=\"websocket abandoned at shutdown\" path={} remote={}",
                    logfmt_value(path_), remote_);
    }
    notify_closed(close_code::going_away);
  }

  asio::awaitable<void> serve(const http::request<http::string_body>& upgrade,
                              WebSocketOpened opened) override {
    ws_.next_layer().expires_never();  // the websocket stream has its own timeouts
    auto timeout = websocket::stream_base::timeout::suggested(beast::role_type::server);
    if (options_.ping_interval_s > 0) {
      // Beast pings after half the idle timeout without incoming data.
      timeout.idle_timeout = std::chrono::seconds(2 * options_.ping_interval_s);
      timeout.keep_alive_pings = true;
    }
    ws_.set_option(timeout);
    websocket::permessage_deflate deflate;
    deflate.server_enable = options_.permessage_deflate;  // used only when the client offers it
    ws_.set_option(deflate);
    // The size limit is enforced in the read loop: Beast's own check fails
    // the connection through a teardown that, in Boost 1.81, closes the
    // socket without draining, so the client's close reply meets a reset.
    ws_.read_message_max(0);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(http::field::server, "atrium"); }));

    auto [accept_ec] = co_await ws_.async_accept(upgrade, kTuple);
    if (accept_ec) {
      state_ = State::closed;
      logger_->info("msg=\"websocket handshake failed\" path={} remote={} error={}",
                    logfmt_value(path_), remote_, logfmt_quote(accept_ec.message()));
      close_socket();
      co_return;
    }
    state_ = State::open;
    const auto opened_at = Clock::now();
    logger_->info("msg=\"websocket opened\" path={} remote={}", logfmt_value(path_), remote_);
    try {
      handler_ = opened(std::make_shared<Handle>(weak_from_this(), remote_));
    } catch (...) {
      report_exception("websocket opened callback");
      begin_close(close_code::internal_error, "internal error", true);
    }
    if (shutting_down_) begin_close(close_code::going_away, "server shutting down", true);

    beast::flat_buffer buffer;
    uint16_t code = close_code::abnormal;
    beast::error_code read_ec;
    for (;;) {
      auto [ec, n] = co_await ws_.async_read_some(buffer, kReadChunk, kTuple);
      if (ec) {
        read_ec = ec;
        code = code_for(ec);
        break;
      }
      if (state_ != State::open) {
        buffer.consume(buffer.size());  // closing: the rest is discarded
        continue;
      }
      if (buffer.size() > options_.max_message_bytes) {
        logger_->info("msg=\"websocket message too big\" path={} remote={} limit={}",
                      logfmt_value(path_), remote_, options_.max_message_bytes);
        buffer.consume(buffer.size());
        begin_close(close_code::too_big, "message too big", true);
        continue;
      }
      if (!ws_.is_message_done()) continue;
      ++messages_in_;
      if (handler_.on_message) {
        const auto data = buffer.cdata();
        try {
          handler_.on_message(std::string_view(static_cast<const char*>(data.data()), data.size()),
                              ws_.got_binary());
        } catch (...) {
          report_exception("websocket message handler");
          begin_close(close_code::internal_error, "internal error", true);
        }
      }
      buffer.consume(buffer.size());
    }

    state_ = State::closed;
    close_deadline_.cancel();
    drop_backlog();
    const double seconds = std::chrono::duration<double>(Clock::now() - opened_at).count();
    logger_->info(
        "msg=\"websocket closed\" path={} remote={} code={} by={} error={} seconds={:.1f} in={} "
        "out={}",
        logfmt_value(path_), remote_, code, initiator(read_ec),
        logfmt_quote(clean_close(read_ec) ? "-" : read_ec.message()), seconds, messages_in_,
        messages_out_);
    notify_closed(code);
    close_socket();
  }

 private:
  enum class State { handshake, open, closing, closed };
  struct Outgoing {
    std::string payload;
    bool binary;
  };

  void enqueue(std::string payload, bool binary) {
    asio::post(strand_, [self = shared_from_this(), payload = std::move(payload),
                         binary]() mutable { self->push(std::move(payload), binary); });
  }

  // On the strand from here on.
  void push(std::string payload, bool binary) {
    if (state_ != State::open) return;  // closing or closed: dropped by contract
    if (queue_.size() >= options_.max_queued_messages ||
        queued_bytes_ + payload.size() > options_.max_queued_bytes) {
      logger_->warn(
          "msg=\"websocket send queue full, closing\" path={} remote={} queued={} "
          "queued_bytes={}",
          logfmt_value(path_), remote_, queue_.size(), queued_bytes_);
      begin_close(close_code::policy_violation, "send queue full", true);
      return;
    }
    queued_bytes_ += payload.size();
    queue_.push_back(Outgoing{std::move(payload), binary});
    start_writing();
  }

  void begin_close(uint16_t code, std::string reason, bool discard_backlog) {
    if (state_ != State::open) return;
    state_ = State::closing;
    sent_close_code_ = code;
    pending_close_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
    if (discard_backlog) drop_backlog();
    close_deadline_.expires_after(kCloseDeadline);
    close_deadline_.async_wait([self = shared_from_this()](const beast::error_code& ec) {
      if (ec || self->state_ == State::closed) return;
      self->logger_->info("msg=\"websocket close timed out\" path={} remote={}",
                          logfmt_value(self->path_), self->remote_);
      self->close_socket();  // fails the pending read, which ends serve()
    });
    start_writing();
  }

  void start_writing() {
    if (writing_) return;
    writing_ = true;
    asio::co_spawn(strand_, write_loop(shared_from_this()), asio::detached);
  }

  // The only writer: one async_write at a time, then the close frame if one
  // is pending, so queued messages go out before it.
  asio::awaitable<void> write_loop([[maybe_unused]] std::shared_ptr<Session> self) {
    while (!queue_.empty() && state_ != State::closed) {
      Outgoing next = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= next.payload.size();
      ws_.binary(next.binary);
      auto [ec, n] = co_await ws_.async_write(asio::buffer(next.payload), kTuple);
      if (ec) {
        drop_backlog();  // the read loop sees the broken connection and reports it
        break;
      }
      ++messages_out_;
    }
    if (pending_close_ && state_ == State::closing) {
      websocket::close_reason reason = *pending_close_;
      pending_close_.reset();
      auto [ec] = co_await ws_.async_close(reason, kTuple);
      if (ec && state_ != State::closed) close_socket();
    }
    writing_ = false;
  }

  uint16_t code_for(const beast::error_code& ec) const {
    if (sent_close_code_) return *sent_close_code_;
    if (ec == websocket::error::closed) {
      const auto received = ws_.reason().code;
      return received == websocket::close_code::none ? 1005 : received;  // 1005: no status
    }
    return close_code::abnormal;
  }

  // A finished close handshake: Beast ends the pending read with `closed`,
  // or aborts it when our own close completed first.
  bool clean_close(const beast::error_code& ec) const {
    return ec == websocket::error::closed ||
           (sent_close_code_ && ec == asio::error::operation_aborted);
  }

  // Who ended the connection, for the log.
  std::string_view initiator(const beast::error_code& ec) const {
    if (sent_close_code_) return "server";
    if (ec == websocket::error::closed) return "client";
    if (ec == beast::error::timeout) return "timeout";
    return "network";
  }

  void drop_backlog() {
    queue_.clear();
    queued_bytes_ = 0;
  }

  void close_socket() {
    beast::error_code ignored;
    ws_.next_layer().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    ws_.next_layer().socket().close(ignored);
  }

  void notify_closed(uint16_t code) {
    if (notified_) return;
    notified_ = true;
    // Released here: the handler's captures often hold this WebSocket.
    WebSocketHandler handler = std::move(handler_);
    handler_ = {};
    if (!handler.on_close) return;
    try {
      handler.on_close(code);
    } catch (...) {
      report_exception("websocket close handler");
    }
  }

  void report_exception(std::string_view where) {
    std::string what = "non-standard exception";
    try {
      throw;
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    logger_->error("msg=\"{} threw\" path={} remote={} what={}", where, logfmt_value(path_),
                   remote_, logfmt_quote(what));
  }

  websocket::stream<beast::tcp_stream> ws_;
  asio::any_io_executor strand_;
  asio::steady_timer close_deadline_;
  const std::string remote_;
  const std::string path_;
  const WebSocketOptions options_;
  std::shared_ptr<spdlog::logger> logger_;

  State state_ = State::handshake;
  bool shutting_down_ = false;
  bool writing_ = false;
  bool notified_ = false;
  WebSocketHandler handler_;
  std::deque<Outgoing> queue_;
  size_t queued_bytes_ = 0;
  std::optional<websocket::close_reason> pending_close_;
  std::optional<uint16_t> sent_close_code_;
  uint64_t messages_in_ = 0;
  uint64_t messages_out_ = 0;
};

}  // namespace

std::shared_ptr<ServerWebSocket> make_server_websocket(beast::tcp_stream stream, std::string remote,
                                                       std::string path,
                                                       const WebSocketOptions& options,
                                                       std::shared_ptr<spdlog::logger> logger) {
  return std::make_shared<Session>(std::move(stream), std::move(remote), std::move(path), options,
                                   std::move(logger));
}

}  // namespace atrium::net::detail
