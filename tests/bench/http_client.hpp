#pragma once
// Minimal HTTP/1.1 client for the load tool: keep-alive connections on
// non-blocking sockets, driven by an epoll loop the caller owns. Only what
// talking to our own server needs: Content-Length and chunked bodies.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hs_bench {

// Monotonic clock in nanoseconds; every latency in the tool is a difference of two of these.
int64_t now_ns();

// Percent-encodes everything outside the URL "unreserved" set (room ids carry '!' and ':').
std::string url_encode(std::string_view text);

struct HttpResponse {
  int status = 0;
  std::string body;
};

// Incremental response parser: feed bytes as they arrive, take complete responses.
class ResponseParser {
 public:
  void feed(const char* data, size_t size);
  // A complete response if the buffer holds one; throws std::runtime_error on malformed input.
  std::optional<HttpResponse> next();

 private:
  std::string buffer_;
  size_t consumed_ = 0;  // bytes of buffer_ already returned as responses
};

struct HttpRequest {
  std::string method;
  std::string target;  // path and query, already encoded
  std::string token;   // access token; empty: no Authorization header
  std::string body;    // JSON; empty: no body
};

class HttpConnection {
 public:
  // Connects to 127.0.0.1:port (blocking), then switches to non-blocking with TCP_NODELAY.
  explicit HttpConnection(uint16_t port);
  ~HttpConnection();
  HttpConnection(HttpConnection&& other) noexcept;
  HttpConnection& operator=(HttpConnection&&) = delete;
  HttpConnection(const HttpConnection&) = delete;

  int fd() const { return fd_; }
  // Writes the whole request; waits for buffer space only if the kernel's is full.
  void send(const HttpRequest& request);
  // Reads everything available now. False once the peer has closed the connection.
  bool read_available();
  std::optional<HttpResponse> next_response() { return parser_.next(); }
  // Blocking round trip, for setup.
  HttpResponse round_trip(const HttpRequest& request);

 private:
  int fd_ = -1;
  ResponseParser parser_;
};

// Thin epoll wrapper: level-triggered read readiness, one 64-bit key per fd.
class Epoll {
 public:
  Epoll();
  ~Epoll();
  Epoll(const Epoll&) = delete;
  Epoll& operator=(const Epoll&) = delete;

  void add(int fd, uint64_t key);
  void remove(int fd);
  // Keys of the fds readable within timeout_ms (empty on timeout).
  const std::vector<uint64_t>& wait(int timeout_ms);

 private:
  int fd_ = -1;
  std::vector<uint64_t> ready_;
};

}  // namespace hs_bench
