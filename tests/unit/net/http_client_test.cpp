#include "net/http_client.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

#include "net/server.hpp"

namespace atrium::net {
namespace {

struct Result {
  std::string error;
  ClientResponse response;
};

// A real HttpServer on a free loopback port; the client runs on its threads.
class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router.add(Method::get, "/hello", [](Request&, Respond respond) {
      Response r = Response::json(200, R"({"hello":"world"})");
      r.headers.emplace_back("X-Test", "yes");
      respond(std::move(r));
    });
    router.add(Method::post, "/echo", [](Request& req, Respond respond) {
      std::string ct(req.header("content-type").value_or(""));
      respond(Response::json(201, req.body + "|" + ct + "|" + req.target));
    });
    router.add(Method::get, "/slow", [this](Request&, Respond respond) {
      server->scheduler().after(3000, [respond] { respond(Response::json(200, "{}")); });
    });
    router.add(Method::get, "/big", [](Request&, Respond respond) {
      respond(Response::json(200, std::string(300 * 1024, 'x')));
    });
    ServerOptions options;
    options.port = 0;
    options.threads = 2;
    options.shutdown_grace_s = 1;
    server = std::make_unique<HttpServer>(options, router);
    server->listen();
    client = make_http_client(*server);
    runner = std::thread([this] { server->run([] {}); });
    base = "http://127.0.0.1:" + std::to_string(server->bound_port());
  }
  void TearDown() override {
    server->stop();
    runner.join();
    client.reset();
    server.reset();
  }
  Result fetch(ClientRequest req, HttpClient* with = nullptr) {
    std::promise<Result> promise;
    std::atomic<int> calls{0};
    (with ? *with : *client)
        .request(std::move(req), [&](std::string error, ClientResponse response) {
          if (calls++ == 0) promise.set_value({std::move(error), std::move(response)});
        });
    auto future = promise.get_future();
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
      throw std::runtime_error("client never called back");
    return future.get();
  }
  ClientRequest get(const std::string& path) {
    ClientRequest req;
    req.url = base + path;
    return req;
  }

  Router router;
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<HttpClient> client;
  std::thread runner;
  std::string base;
};

TEST_F(HttpClientTest, GetReturnsStatusHeadersAndBody) {
  auto r = fetch(get("/hello"));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(r.response.body, R"({"hello":"world"})");
  bool found = false;
  for (auto& [name, value] : r.response.headers)
    found |= name == "x-test" && value == "yes";
  EXPECT_TRUE(found);
}

TEST_F(HttpClientTest, PostSendsBodyHeadersAndQuery) {
  ClientRequest req = get("/echo?a=1%202");
  req.method = Method::post;
  req.body = R"({"x":1})";
  req.headers = {{"Content-Type", "application/json"}};
  auto r = fetch(req);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.response.status, 201);
  EXPECT_EQ(r.response.body, R"({"x":1}|application/json|/echo?a=1%202)");
}

TEST_F(HttpClientTest, ErrorStatusesAreResponsesNotErrors) {
  auto r = fetch(get("/nope"));
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.response.status, 404);
}

TEST_F(HttpClientTest, TimeoutCoversTheWholeExchange) {
  ClientRequest req = get("/slow");
  req.timeout_ms = 200;
  auto start = std::chrono::steady_clock::now();
  auto r = fetch(req);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  EXPECT_NE(r.error.find("timeout"), std::string::npos) << r.error;
  EXPECT_LT(ms, 2000);
  EXPECT_EQ(r.response.status, 0);
}

TEST_F(HttpClientTest, OversizedResponseIsAnError) {
  ClientRequest req = get("/big");
  req.max_response_bytes = 100 * 1024;
  auto r = fetch(req);
  EXPECT_NE(r.error.find("larger than"), std::string::npos) << r.error;
  req.max_response_bytes = 1 << 20;
  EXPECT_EQ(fetch(req).response.body.size(), 300u * 1024);
}

TEST_F(HttpClientTest, BadUrlsAndRefusedConnectionsAreErrors) {
  for (std::string url : {"", "ftp://x/", "http://", "not a url", "http:///path"}) {
    ClientRequest req;
    req.url = url;
    EXPECT_FALSE(fetch(req).error.empty()) << url;
  }
  // A port nobody listens on (the server's own port + a closed one).
  ClientRequest req;
  req.url = "http://127.0.0.1:1/";
  EXPECT_NE(fetch(req).error.find("connect"), std::string::npos);
}

TEST_F(HttpClientTest, TlsToAPlainServerFailsCleanly) {
  ClientRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(server->bound_port()) + "/hello";
  req.timeout_ms = 3000;
  auto r = fetch(req);
  EXPECT_NE(r.error.find("TLS"), std::string::npos) << r.error;
}

TEST_F(HttpClientTest, ManyConcurrentRequestsEachCallBackOnce) {
  std::atomic<int> ok{0}, calls{0};
  std::promise<void> all;
  constexpr int kCount = 50;
  for (int i = 0; i < kCount; ++i) {
    client->request(get("/hello"), [&](std::string error, ClientResponse r) {
      if (error.empty() && r.status == 200) ok++;
      if (++calls == kCount) all.set_value();
    });
  }
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(calls.load(), kCount);
  EXPECT_EQ(ok.load(), kCount);
}

// TLS against `openssl s_server -www` with a self-signed certificate: the
// verifying client refuses it, the insecure one gets the page.
TEST_F(HttpClientTest, TlsVerifiesPeerUnlessInsecure) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl binary";
  auto dir = std::filesystem::temp_directory_path() / ("atrium-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  std::string gen =
      "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 -keyout " + key +
      " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(gen.c_str()), 0);
  int port = 20000 + (::getpid() % 20000);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    std::string p = std::to_string(port);
    ::execlp("openssl", "openssl", "s_server", "-quiet", "-accept", p.c_str(), "-cert",
             cert.c_str(), "-key", key.c_str(), "-www", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ClientRequest req;
  req.url = "https://localhost:" + std::to_string(port) + "/";
  req.timeout_ms = 2000;
  auto insecure = make_http_client(*server, true);
  Result r;
  for (int i = 0; i < 50; ++i) {  // wait for s_server to listen
    r = fetch(req, insecure.get());
    if (r.error.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.response.status, 200);
  auto verified = fetch(req);
  EXPECT_NE(verified.error.find("TLS"), std::string::npos) << verified.error;
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace atrium::net
