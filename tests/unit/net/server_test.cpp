#include "net/server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace atrium::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A deliberately dumb blocking HTTP/1.1 client over POSIX sockets, so the
// test exercises the server's parser rather than sharing Beast with it.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    timeval timeout{5, 0};  // a broken server fails the test instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      int error = errno;
      ::close(fd_);
      throw std::runtime_error(std::string("connect failed: ") + std::strerror(error));
    }
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  // Reads one response. `head` says the request was HEAD (no body follows).
  Reply read_response(bool head = false) {
    size_t end;
    while ((end = buffered_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) throw std::runtime_error("connection closed before a response header");
    }
    std::string head_text = buffered_.substr(0, end);
    buffered_.erase(0, end + 4);

    Reply reply;
    size_t line_end = head_text.find("\r\n");
    std::string status_line = head_text.substr(0, line_end);
    if (status_line.rfind("HTTP/1.", 0) != 0) throw std::runtime_error("bad status line");
    reply.status = std::stoi(status_line.substr(9, 3));
    while (line_end != std::string::npos) {
      size_t start = line_end + 2;
      line_end = head_text.find("\r\n", start);
      std::string line = head_text.substr(start, line_end - start);
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t value_start = line.find_first_not_of(' ', colon + 1);
      reply.headers[name] = value_start == std::string::npos ? "" : line.substr(value_start);
    }
    if (head || reply.status < 200 || reply.status == 204 || reply.status == 304) return reply;
    if (reply.headers.count("content-length")) {
      size_t length = std::stoul(reply.headers["content-length"]);
      while (buffered_.size() < length) {
        if (!fill()) throw std::runtime_error("connection closed inside a body");
      }
      reply.body = buffered_.substr(0, length);
      buffered_.erase(0, length);
    } else {
      while (fill()) {
      }
      reply.body = std::move(buffered_);
      buffered_.clear();
    }
    return reply;
  }

  // True when the server closed the connection (no more bytes).
  bool closed_by_server() {
    if (!buffered_.empty()) return false;
    char byte;
    ssize_t n = ::recv(fd_, &byte, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  bool fill() {
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffered_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffered_;
};

std::string get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra_headers) +
         "\r\n";
}

std::string errcode(const Reply& reply) {
  return std::string(boost::json::parse(reply.body).at("errcode").as_string());
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add(Method::get, "/sync",
                [](Request&, Respond respond) { respond(Response::json(200, R"({"ok":true})")); });
    router_.add(Method::get, "/async", [this](Request&, Respond respond) {
      server_->scheduler().after(50, [respond] { respond(Response::json(200, R"({"late":1})")); });
    });
    router_.add(Method::get, "/slow", [this](Request&, Respond respond) {
      slow_started_ = true;
      server_->scheduler().after(300, [respond] { respond(Response::json(200, R"({"slow":1})")); });
    });
    router_.add(Method::get, "/thread", [this](Request&, Respond respond) {
      std::lock_guard lock(threads_mutex_);
      threads_.emplace_back([respond] {
        std::this_thread::sleep_for(20ms);
        respond(Response::json(200, R"({"thread":1})"));
      });
    });
    router_.add(Method::get, "/query", [](Request& request, Respond respond) {
      Response r;
      r.content_type = "text/plain";
      r.body = std::string(request.query_param("q").value_or("<none>")) + "|" +
               std::string(request.header("x-custom").value_or("<none>")) + "|" +
               request.remote_address;
      respond(std::move(r));
    });
    router_.add(Method::post, "/echo", [](Request& request, Respond respond) {
      Response r;
      r.content_type = "application/octet-stream";
      r.body = request.body;
      respond(std::move(r));
    });
  }

  void TearDown() override {
    if (server_) server_->stop();
    if (runner_.joinable()) runner_.join();
    std::lock_guard lock(threads_mutex_);
    for (auto& thread : threads_)
      thread.join();
  }

  void start(ServerOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    server_ = std::make_unique<HttpServer>(options, router_);
    server_->listen();
    port_ = server_->bound_port();
    ASSERT_NE(port_, 0);
    runner_ = std::thread([this] { server_->run([this] { ++signalled_; }); });
  }

  static ServerOptions small_limits() {
    ServerOptions options;
    options.max_body_bytes = 1024;
    options.shutdown_grace_s = 5;
    return options;
  }

  Router router_;
  std::unique_ptr<HttpServer> server_;
  std::thread runner_;
  uint16_t port_ = 0;
  std::atomic<bool> slow_started_{false};
  std::atomic<int> signalled_{0};
  std::mutex threads_mutex_;
  std::vector<std::thread> threads_;
};

TEST_F(ServerTest, SyncAndAsyncOnOneKeepAliveConnection) {
  start(small_limits());
  Client client(port_);
  client.send(get("/sync"));
  Reply first = client.read_response();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, R"({"ok":true})");
  EXPECT_EQ(first.header("content-type"), "application/json");
  EXPECT_EQ(first.header("server"), "atrium");
  EXPECT_EQ(first.header("access-control-allow-origin"), "*");

  auto before = Clock::now();
  client.send(get("/async"));
  Reply second = client.read_response();
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, R"({"late":1})");
  EXPECT_GE(Clock::now() - before, 45ms);

  client.send(get("/thread"));
  Reply third = client.read_response();
  EXPECT_EQ(third.status, 200);
  EXPECT_EQ(third.body, R"({"thread":1})");
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start(small_limits());
  Client client(port_);
  client.send(get("/async") + get("/sync"));
  EXPECT_EQ(client.read_response().body, R"({"late":1})");
  EXPECT_EQ(client.read_response().body, R"({"ok":true})");
}

TEST_F(ServerTest, QueryHeadersAndRemoteAddress) {
  start(small_limits());
  Client client(port_);
  client.send(get("/query?q=a%20b+c&access_token=secret", "X-Custom: Hello\r\n"));
  Reply reply = client.read_response();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "a b c|Hello|127.0.0.1");
}

TEST_F(ServerTest, ForwardedForIsIgnoredWithoutTrustedProxies) {
  start(small_limits());
  Client client(port_);
  client.send(get("/query", "X-Forwarded-For: 198.51.100.9\r\n"));
  EXPECT_EQ(client.read_response().body, "<none>|<none>|127.0.0.1");
}

TEST_F(ServerTest, ForwardedForFromATrustedProxyNamesTheClient) {
  auto options = small_limits();
  options.trusted_proxies = {"127.0.0.1"};
  start(options);
  Client client(port_);
  client.send(get("/query", "X-Forwarded-For: 1.1.1.1, 198.51.100.9\r\n"));
  EXPECT_EQ(client.read_response().body, "<none>|<none>|198.51.100.9");
}

TEST_F(ServerTest, BadQueryEncodingIs400AndKeepsTheConnection) {
  start(small_limits());
  Client client(port_);
  client.send(get("/sync?q=%zz"));
  Reply bad = client.read_response();
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(errcode(bad), "M_UNRECOGNIZED");
  EXPECT_EQ(bad.header("access-control-allow-origin"), "*");
  client.send(get("/sync"));
  EXPECT_EQ(client.read_response().status, 200);
}

TEST_F(ServerTest, UnknownRouteIs404) {
  start(small_limits());
  Client client(port_);
  client.send(get("/nothing/here"));
  Reply reply = client.read_response();
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(errcode(reply), "M_UNRECOGNIZED");
}

TEST_F(ServerTest, HeadHasLengthButNoBody) {
  start(small_limits());
  Client client(port_);
  client.send("HEAD /sync HTTP/1.1\r\nHost: test\r\n\r\n");
  Reply head = client.read_response(/*head=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), "11");
  // The next response must start right away: no stray body bytes in between.
  client.send(get("/sync"));
  EXPECT_EQ(client.read_response().body, R"({"ok":true})");
}

TEST_F(ServerTest, OptionsPreflight) {
  start(small_limits());
  Client client(port_);
  client.send("OPTIONS /anything HTTP/1.1\r\nHost: test\r\n\r\n");
  Reply reply = client.read_response();
  EXPECT_EQ(reply.status, 204);
  EXPECT_EQ(reply.header("access-control-allow-methods"), "GET, HEAD, POST, PUT, DELETE, OPTIONS");
}

TEST_F(ServerTest, BodyWithinLimitIsEchoed) {
  start(small_limits());
  Client client(port_);
  std::string body(1000, 'x');
  client.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n" + body);
  Reply reply = client.read_response();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, body);
}

TEST_F(ServerTest, LargeBodyIs413) {
  start(small_limits());
  Client client(port_);
  std::string body(5000, 'x');
  client.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5000\r\n\r\n" + body);
  Reply reply = client.read_response();
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(errcode(reply), "M_TOO_LARGE");
  EXPECT_EQ(reply.header("connection"), "close");
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(ServerTest, LargeChunkedBodyIs413) {
  start(small_limits());
  Client client(port_);
  std::string chunk(600, 'y');
  client.send("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n");
  client.send("258\r\n" + chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n");  // 2 x 600 bytes
  Reply reply = client.read_response();
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(errcode(reply), "M_TOO_LARGE");
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(ServerTest, ExpectContinue) {
  start(small_limits());
  Client client(port_);
  client.send(
      "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(client.read_response().status, 100);
  client.send("hello");
  Reply reply = client.read_response();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "hello");
}

TEST_F(ServerTest, MalformedRequestIs400AndCloses) {
  start(small_limits());
  Client client(port_);
  client.send("THIS IS NOT HTTP\r\n\r\n");
  Reply reply = client.read_response();
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(errcode(reply), "M_UNRECOGNIZED");
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(ServerTest, OversizedHeaderIsRejected) {
  start(small_limits());
  Client client(port_);
  client.send(get("/sync", "X-Big: " + std::string(20000, 'a') + "\r\n"));
  Reply reply = client.read_response();
  EXPECT_EQ(reply.status, 431);
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(ServerTest, IdleAndHeaderTimeoutsCloseTheConnection) {
  ServerOptions options = small_limits();
  options.idle_timeout_s = 1;
  options.header_timeout_s = 1;
  start(options);
  auto before = Clock::now();
  Client idle(port_);
  Client partial(port_);
  partial.send("GET /sync HTTP/1.1\r\n");
  EXPECT_TRUE(idle.closed_by_server());
  EXPECT_TRUE(partial.closed_by_server());
  EXPECT_LT(Clock::now() - before, 4s);
}

TEST_F(ServerTest, SchedulerPostAfterAndCancel) {
  start(small_limits());
  std::atomic<int> posted{0}, fired{0}, cancelled{0};
  server_->scheduler().post([&] { ++posted; });
  auto keep = server_->scheduler().after(20, [&] { ++fired; });
  auto drop = server_->scheduler().after(100, [&] { ++cancelled; });
  drop->cancel();
  drop->cancel();  // idempotent
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(posted, 1);
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(cancelled, 0);
  keep->cancel();  // after firing: harmless
}

TEST_F(ServerTest, StopLetsInFlightRequestsFinish) {
  start(small_limits());
  Client busy(port_);
  Client idle(port_);
  idle.send(get("/sync"));
  EXPECT_EQ(idle.read_response().status, 200);

  busy.send(get("/slow"));
  for (int i = 0; i < 200 && !slow_started_; ++i)
    std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(slow_started_);

  auto stop_requested = Clock::now();
  server_->stop();
  // The idle keep-alive connection is closed; the busy one still gets its answer.
  EXPECT_TRUE(idle.closed_by_server());
  Reply reply = busy.read_response();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"slow":1})");
  EXPECT_EQ(reply.header("connection"), "close");
  EXPECT_TRUE(busy.closed_by_server());

  runner_.join();
  EXPECT_LT(Clock::now() - stop_requested, 3s);
  EXPECT_EQ(signalled_, 1);
  EXPECT_THROW(Client late(port_), std::runtime_error);  // no longer accepting
}

TEST_F(ServerTest, GracePeriodBoundsTheWait) {
  ServerOptions options = small_limits();
  options.shutdown_grace_s = 0;
  start(options);
  Client busy(port_);
  busy.send(get("/slow"));
  for (int i = 0; i < 200 && !slow_started_; ++i)
    std::this_thread::sleep_for(5ms);
  auto stop_requested = Clock::now();
  server_->stop();
  runner_.join();
  EXPECT_LT(Clock::now() - stop_requested, 250ms);
  EXPECT_TRUE(busy.closed_by_server());
}

TEST_F(ServerTest, CallbacksOutlivingTheServerAreHarmless) {
  Respond parked;
  std::atomic<bool> parked_ready{false};
  router_.add(Method::get, "/park", [&](Request&, Respond respond) {
    parked = std::move(respond);
    parked_ready = true;
  });
  ServerOptions options = small_limits();
  options.shutdown_grace_s = 0;  // the parked request is never answered in time
  start(options);
  Client client(port_);
  client.send(get("/park"));
  for (int i = 0; i < 200 && !parked_ready; ++i)
    std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(parked_ready);
  auto timer = server_->scheduler().after(60'000, [] {});

  server_->stop();
  runner_.join();
  server_.reset();
  // A service answering a parked request, or cancelling a timer, after the
  // server is gone must not touch freed Asio objects (ASan checks this).
  parked(Response::json(200, "{}"));
  timer->cancel();
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(ServerTest, SigtermStopsTheServer) {
  start(small_limits());
  Client client(port_);  // once a request is answered, run() has installed its signal set
  client.send(get("/sync"));
  EXPECT_EQ(client.read_response().status, 200);
  std::raise(SIGTERM);
  runner_.join();
  EXPECT_EQ(signalled_, 1);
}

TEST_F(ServerTest, ListenFailuresAreClear) {
  start(small_limits());
  ServerOptions taken;
  taken.port = port_;
  HttpServer second(taken, router_);
  try {
    second.listen();
    FAIL() << "expected listen() to fail";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen on 127.0.0.1:" + std::to_string(port_)),
              std::string::npos)
        << e.what();
  }
  ServerOptions bad_host;
  bad_host.host = "not an address";
  HttpServer third(bad_host, router_);
  EXPECT_THROW(third.listen(), std::runtime_error);
}

}  // namespace
}  // namespace atrium::net
