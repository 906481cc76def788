// WebSocket upgrades on a real HttpServer, driven by a synchronous Beast
// client (a different code path from the server's coroutines).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "net/server.hpp"
#include "net/websocket.hpp"

namespace atrium::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using ClientSocket = websocket::stream<tcp::socket>;

// What the server side saw, shared with the test thread.
struct Observed {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::pair<std::string, bool>> messages;  // payload, binary
  std::shared_ptr<WebSocket> socket;
  int close_calls = 0;
  uint16_t close_code = 0;
  std::optional<std::string> access_token;
  std::optional<std::string> authorization;
  std::string remote;

  template <class Predicate>
  bool wait_for(Predicate predicate) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 5s, predicate);
  }
};

class WebSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add_websocket("/ws/echo", [this](Request& request) {
      {
        std::lock_guard lock(observed_.mutex);
        if (auto token = request.query_param("access_token")) observed_.access_token = *token;
        if (auto auth = request.header("authorization")) observed_.authorization = *auth;
      }
      if (request.query_param("access_token") == "bad") {
        Response response;
        response.status = 401;
        response.content_type = "text/plain";
        response.body = "invalid token";
        return UpgradeDecision::refuse(std::move(response));
      }
      return UpgradeDecision::accept(
          [this](std::shared_ptr<WebSocket> socket) { return attach(std::move(socket)); });
    });
  }

  WebSocketHandler attach(std::shared_ptr<WebSocket> socket) {
    {
      std::lock_guard lock(observed_.mutex);
      observed_.socket = socket;
      observed_.remote = socket->remote_address();
    }
    observed_.changed.notify_all();
    WebSocketHandler handler;
    // Weak: the handler is owned by the socket it talks to.
    std::weak_ptr<WebSocket> weak = socket;
    handler.on_message = [this, weak](std::string_view payload, bool binary) {
      {
        std::lock_guard lock(observed_.mutex);
        observed_.messages.emplace_back(std::string(payload), binary);
      }
      observed_.changed.notify_all();
      auto socket = weak.lock();
      if (!socket) return;
      if (payload == "close-me") {
        socket->close(4000, "bye");
        socket->send_text("dropped: sent after close");
      } else if (binary) {
        socket->send_binary(std::string(payload));
      } else {
        socket->send_text(std::string(payload));
      }
    };
    handler.on_close = [this](uint16_t code) {
      {
        std::lock_guard lock(observed_.mutex);
        ++observed_.close_calls;
        observed_.close_code = code;
      }
      observed_.changed.notify_all();
    };
    return handler;
  }

  void TearDown() override {
    if (server_) server_->stop();
    if (runner_.joinable()) runner_.join();
  }

  void start(ServerOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    options.shutdown_grace_s = std::min(options.shutdown_grace_s, 5);
    server_ = std::make_unique<HttpServer>(options, router_);
    server_->listen();
    port_ = server_->bound_port();
    ASSERT_NE(port_, 0);
    runner_ = std::thread([this] { server_->run({}); });
  }

  // Connects and completes the handshake; returns the server's 101 response.
  websocket::response_type connect(ClientSocket& ws, const std::string& target,
                                   const std::string& authorization = {}, bool deflate = false) {
    ws.next_layer().connect(tcp::endpoint(asio::ip::address_v4::loopback(), port_));
    if (deflate) {
      websocket::permessage_deflate offer;
      offer.client_enable = true;
      ws.set_option(offer);
    }
    ws.set_option(websocket::stream_base::decorator([authorization](websocket::request_type& req) {
      if (!authorization.empty()) req.set(http::field::authorization, authorization);
    }));
    websocket::response_type response;
    ws.handshake(response, "127.0.0.1:" + std::to_string(port_), target);
    return response;
  }

  // Raw HTTP, for requests the server must answer without upgrading.
  http::response<http::string_body> http_get(const std::string& target, bool upgrade) {
    tcp::socket socket(ioc_);
    socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port_));
    http::request<http::empty_body> request(http::verb::get, target, 11);
    request.set(http::field::host, "127.0.0.1");
    if (upgrade) {
      request.set(http::field::upgrade, "websocket");
      request.set(http::field::connection, "Upgrade");
      request.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
      request.set(http::field::sec_websocket_version, "13");
    }
    http::write(socket, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    return response;
  }

  std::shared_ptr<WebSocket> wait_for_socket() {
    EXPECT_TRUE(observed_.wait_for([this] { return observed_.socket != nullptr; }));
    std::lock_guard lock(observed_.mutex);
    return observed_.socket;
  }

  static std::string read_message(ClientSocket& ws, bool* binary = nullptr) {
    beast::flat_buffer buffer;
    ws.read(buffer);
    if (binary) *binary = ws.got_binary();
    return beast::buffers_to_string(buffer.data());
  }

  // Reads until the server closes; returns the close code it sent.
  static uint16_t read_until_closed(ClientSocket& ws) {
    beast::flat_buffer buffer;
    beast::error_code ec;
    for (;;) {
      ws.read(buffer, ec);
      if (ec) break;
      buffer.consume(buffer.size());
    }
    EXPECT_EQ(ec, websocket::error::closed) << ec.message();
    return ws.reason().code;
  }

  Router router_;
  std::unique_ptr<HttpServer> server_;
  std::thread runner_;
  uint16_t port_ = 0;
  Observed observed_;
  asio::io_context ioc_;
};

TEST_F(WebSocketTest, EchoesBinaryAndTextMessages) {
  start();
  ClientSocket ws(ioc_);
  connect(ws, "/ws/echo");

  const std::string bytes("\x00\x01\xff\x7f protobuf", 13);
  ws.binary(true);
  ws.write(asio::buffer(bytes));
  bool binary = false;
  EXPECT_EQ(read_message(ws, &binary), bytes);
  EXPECT_TRUE(binary);

  ws.text(true);
  ws.write(asio::buffer(std::string("hello")));
  EXPECT_EQ(read_message(ws, &binary), "hello");
  EXPECT_FALSE(binary);

  std::lock_guard lock(observed_.mutex);
  ASSERT_EQ(observed_.messages.size(), 2u);
  EXPECT_TRUE(observed_.messages[0].second);
  EXPECT_FALSE(observed_.messages[1].second);
  EXPECT_EQ(observed_.remote, "127.0.0.1");
}

TEST_F(WebSocketTest, RejectedUpgradeGetsHttpResponseWithCors) {
  start();
  auto response = http_get("/ws/echo?access_token=bad", true);
  EXPECT_EQ(response.result_int(), 401);
  EXPECT_EQ(response.body(), "invalid token");
  EXPECT_EQ(response[http::field::content_type], "text/plain");
  EXPECT_EQ(response[http::field::access_control_allow_origin], "*");
  std::lock_guard lock(observed_.mutex);
  EXPECT_EQ(observed_.socket, nullptr);
}

TEST_F(WebSocketTest, ClientHandshakeSeesRejection) {
  start();
  ClientSocket ws(ioc_);
  try {
    connect(ws, "/ws/echo?access_token=bad");
    FAIL() << "handshake should have been declined";
  } catch (const beast::system_error& e) {
    EXPECT_EQ(e.code(), websocket::error::upgrade_declined);
  }
}

TEST_F(WebSocketTest, PlainGetToWebSocketRouteIs400) {
  start();
  auto response = http_get("/ws/echo", false);
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_EQ(response.body(), "websocket upgrade required");
  EXPECT_EQ(response[http::field::access_control_allow_origin], "*");
}

TEST_F(WebSocketTest, UpgradeToUnknownPathIs404) {
  start();
  auto response = http_get("/ws/nowhere", true);
  EXPECT_EQ(response.result_int(), 404);
}

TEST_F(WebSocketTest, UpgradeHandlerSeesQueryAndAuthorization) {
  start();
  ClientSocket ws(ioc_);
  connect(ws, "/ws/echo?access_token=tok%2Ben", "Bearer secret");
  std::lock_guard lock(observed_.mutex);
  EXPECT_EQ(observed_.access_token, "tok+en");
  EXPECT_EQ(observed_.authorization, "Bearer secret");
}

TEST_F(WebSocketTest, ServerSendsFromAnotherThread) {
  start();
  ClientSocket ws(ioc_);
  connect(ws, "/ws/echo");
  auto socket = wait_for_socket();
  ASSERT_NE(socket, nullptr);
  std::thread sender([socket] {
    for (int i = 0; i < 100; ++i)
      socket->send_text("message " + std::to_string(i));
  });
  sender.join();
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(read_message(ws), "message " + std::to_string(i));  // in order
  }
}

TEST_F(WebSocketTest, ClientCloseCallsOnCloseOnce) {
  start();
  ClientSocket ws(ioc_);
  connect(ws, "/ws/echo");
  ws.close(websocket::close_reason(websocket::close_code::normal, "done"));
  ASSERT_TRUE(observed_.wait_for([this] { return observed_.close_calls > 0; }));
  std::this_thread::sleep_for(50ms);
  std::lock_guard lock(observed_.mutex);
  EXPECT_EQ(observed_.close_calls, 1);
  EXPECT_EQ(observed_.close_code, 1000);
}

TEST_F(WebSocketTest, ServerCloseReachesClient) {
  start();
  ClientSocket ws(ioc_);
  connect(ws, "/ws/echo");
  ws.text(true);
  ws.write(asio::buffer(std::string("close-me")));
  EXPECT_EQ(read_until_closed(ws), 4000);  // the send after close() never arrives
  EXPECT_EQ(ws.reason().reason, "bye");
  ASSERT_TRUE(observed_.wait_for([this] { return observed_.close_calls > 0; }));
  std::lock_guard lock(observed_.mutex);
  EXPECT_EQ(observed_.close_code, 4000);
  observed_.socket->send_text("after the end");  // dropped, no crash
}

TEST_F(WebSocketTest, OversizedMessageClosesWith1009) {
  ServerOptions options;
  options.websocket.max_message_bytes = 1024;
  start(options);
  ClientSocket ws(ioc_);
  connect(ws, "/ws/echo");
  ws.binary(true);
  ws.write(asio::buffer(std::string(1000, 'a')));  // under the limit: echoed
  EXPECT_EQ(read_message(ws).size(), 1000u);
  ws.write(asio::buffer(std::string(4096, 'b')));
  EXPECT_EQ(read_until_closed(ws), 1009);
  ASSERT_TRUE(observed_.wait_for([this] { return observed_.close_calls > 0; }));
  std::lock_guard lock(observed_.mutex);
  EXPECT_EQ(observed_.close_code, 1009);
}

TEST_F(WebSocketTest, OversizedCompressedMessageClosesWith1009) {
  ServerOptions options;
  options.websocket.max_message_bytes = 1024;
  options.websocket.permessage_deflate = true;
  start(options);
  ClientSocket ws(ioc_);
  connect(ws, "/ws/echo", {}, true);
  ws.text(true);
  ws.write(asio::buffer(std::string(200000, 'c')));  // tiny on the wire, large inflated
  EXPECT_EQ(read_until_closed(ws), 1009);
}

TEST_F(WebSocketTest, SlowClientOverflowClosesWith1008) {
  ServerOptions options;
  options.websocket.max_queued_messages = 8;
  start(options);
  ClientSocket ws(ioc_);
  connect(ws, "/ws/echo");
  auto socket = wait_for_socket();
  ASSERT_NE(socket, nullptr);
  // Far faster than the writes can drain into a client that is not reading.
  for (int i = 0; i < 1000; ++i)
    socket->send_binary(std::string(16 * 1024, 'x'));
  EXPECT_EQ(read_until_closed(ws), 1008);
  ASSERT_TRUE(observed_.wait_for([this] { return observed_.close_calls > 0; }));
  std::lock_guard lock(observed_.mutex);
  EXPECT_EQ(observed_.close_code, 1008);
}

TEST_F(WebSocketTest, StopClosesOpenSocketsWith1001) {
  start();
  ClientSocket ws(ioc_);
  connect(ws, "/ws/echo");
  ASSERT_NE(wait_for_socket(), nullptr);
  server_->stop();
  EXPECT_EQ(read_until_closed(ws), 1001);
  runner_.join();  // no hang: the closed socket no longer counts as in flight
  std::lock_guard lock(observed_.mutex);
  EXPECT_EQ(observed_.close_calls, 1);
  EXPECT_EQ(observed_.close_code, 1001);
}

TEST_F(WebSocketTest, StopWithUnresponsiveClientStillReportsClose) {
  ServerOptions options;
  options.shutdown_grace_s = 1;
  start(options);
  ClientSocket ws(ioc_);
  connect(ws, "/ws/echo");
  ASSERT_NE(wait_for_socket(), nullptr);
  // The client never reads, so it never answers the close frame; the server
  // gives up after its close deadline or the grace period.
  const auto started = std::chrono::steady_clock::now();
  server_->stop();
  runner_.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4s);
  std::lock_guard lock(observed_.mutex);
  EXPECT_EQ(observed_.close_calls, 1);
  EXPECT_EQ(observed_.close_code, 1001);
}

TEST_F(WebSocketTest, PermessageDeflateDeclinedByDefault) {
  start();
  ClientSocket ws(ioc_);
  auto response = connect(ws, "/ws/echo", {}, true);
  EXPECT_EQ(std::string(response[http::field::sec_websocket_extensions]).find("permessage-deflate"),
            std::string::npos);
  ws.text(true);
  ws.write(asio::buffer(std::string("plain")));
  EXPECT_EQ(read_message(ws), "plain");
}

TEST_F(WebSocketTest, PermessageDeflateNegotiatedWhenEnabledAndOffered) {
  ServerOptions options;
  options.websocket.permessage_deflate = true;
  start(options);
  ClientSocket ws(ioc_);
  auto response = connect(ws, "/ws/echo", {}, true);
  EXPECT_NE(std::string(response[http::field::sec_websocket_extensions]).find("permessage-deflate"),
            std::string::npos);
  const std::string repetitive(20000, 'z');
  ws.text(true);
  ws.write(asio::buffer(repetitive));
  EXPECT_EQ(read_message(ws), repetitive);
}

TEST_F(WebSocketTest, NoDeflateWhenNotOffered) {
  start();
  ClientSocket ws(ioc_);
  auto response = connect(ws, "/ws/echo");
  EXPECT_EQ(response[http::field::sec_websocket_extensions], "");
}

TEST_F(WebSocketTest, ServerPingsAnIdleClient) {
  ServerOptions options;
  options.websocket.ping_interval_s = 1;
  start(options);
  ClientSocket ws(ioc_);
  connect(ws, "/ws/echo");
  auto socket = wait_for_socket();
  ASSERT_NE(socket, nullptr);
  std::atomic<int> pings{0};
  ws.control_callback([&pings](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::ping) ++pings;
  });
  std::thread wake([socket] {
    std::this_thread::sleep_for(1500ms);
    socket->send_text("wake up");
  });
  EXPECT_EQ(read_message(ws), "wake up");  // Beast answers the ping inside read
  wake.join();
  EXPECT_GE(pings.load(), 1);
}

// Router-level behaviour of WebSocket routes, without a server.
Response dispatch_now(const Router& router, Method method, const std::string& path) {
  Request request;
  request.method = method;
  request.path = path;
  std::optional<Response> reply;
  router.dispatch(request, [&reply](Response response) { reply = std::move(response); });
  return reply.value();
}

TEST(WebSocketRouteTest, OtherMethodsAre405AllowingGet) {
  Router router;
  router.add_websocket("/rtc", [](Request&) { return UpgradeDecision::accept(nullptr); });
  Response response = dispatch_now(router, Method::post, "/rtc");
  EXPECT_EQ(response.status, 405);
  bool allows_get = false;
  for (const auto& [name, value] : response.headers)
    allows_get |= name == "Allow" && value == "GET";
  EXPECT_TRUE(allows_get);
}

TEST(WebSocketRouteTest, PlainGetGoesToAGetHandlerOnTheSamePath) {
  Router router;
  router.add_websocket("/rtc", [](Request&) { return UpgradeDecision::accept(nullptr); });
  router.add(Method::get, "/rtc",
             [](Request&, Respond respond) { respond(Response::json(200, "{}")); });
  EXPECT_EQ(dispatch_now(router, Method::get, "/rtc").status, 200);
}

TEST(WebSocketRouteTest, UpgradeCapturesParamsAndTurnsThrowsIntoRejections) {
  Router router;
  router.add_websocket("/rooms/{room}/rtc", [](Request& request) -> UpgradeDecision {
    if (request.param("room") == "boom") throw std::runtime_error("boom");
    return UpgradeDecision::accept([](std::shared_ptr<WebSocket>) { return WebSocketHandler{}; });
  });
  Request request;
  request.path = "/rooms/a%20b/rtc";
  auto accepted = router.upgrade(request);
  ASSERT_TRUE(accepted.has_value());
  EXPECT_FALSE(accepted->reject.has_value());
  EXPECT_EQ(request.param("room"), "a b");

  Request failing;
  failing.path = "/rooms/boom/rtc";
  auto rejected = router.upgrade(failing);
  ASSERT_TRUE(rejected.has_value());
  ASSERT_TRUE(rejected->reject.has_value());
  EXPECT_EQ(rejected->reject->status, 500);
  bool cors = false;
  for (const auto& [name, value] : rejected->reject->headers)
    cors |= name == "Access-Control-Allow-Origin";
  EXPECT_TRUE(cors);

  Request elsewhere;
  elsewhere.path = "/other";
  EXPECT_FALSE(router.upgrade(elsewhere).has_value());
}

}  // namespace
}  // namespace atrium::net
