#include "http_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace hs_bench {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// Decodes a chunked body starting at `pos`. Returns the end offset of the message,
// or npos when more bytes are needed.
size_t decode_chunked(const std::string& buf, size_t pos, std::string& body) {
  body.clear();
  for (;;) {
    size_t line_end = buf.find("\r\n", pos);
    if (line_end == std::string::npos) return std::string::npos;
    size_t size = std::stoul(buf.substr(pos, line_end - pos), nullptr, 16);
    pos = line_end + 2;
    if (size == 0) {
      // No trailers from our server: the terminating empty line follows.
      if (buf.size() < pos + 2) return std::string::npos;
      return pos + 2;
    }
    if (buf.size() < pos + size + 2) return std::string::npos;
    body.append(buf, pos, size);
    pos += size + 2;
  }
}

}  // namespace

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string url_encode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

void ResponseParser::feed(const char* data, size_t size) {
  // Drop what was already handed out before growing the buffer.
  if (consumed_ > 0 && consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ > 65536) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(data, size);
}

std::optional<HttpResponse> ResponseParser::next() {
  size_t head_end = buffer_.find("\r\n\r\n", consumed_);
  if (head_end == std::string::npos) return std::nullopt;
  std::string_view head(buffer_.data() + consumed_, head_end - consumed_);

  size_t status_line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, status_line_end);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/")
    throw std::runtime_error("bad HTTP status line: " + std::string(status_line));
  HttpResponse response;
  response.status = std::stoi(std::string(status_line.substr(9, 3)));

  std::optional<size_t> content_length;
  bool chunked = false;
  size_t line_start = status_line_end == std::string_view::npos ? head.size() : status_line_end + 2;
  while (line_start < head.size()) {
    size_t line_end = head.find("\r\n", line_start);
    if (line_end == std::string_view::npos) line_end = head.size();
    std::string_view line = head.substr(line_start, line_end - line_start);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = trim(line.substr(0, colon));
      std::string_view value = trim(line.substr(colon + 1));
      if (iequals(name, "content-length")) content_length = std::stoul(std::string(value));
      if (iequals(name, "transfer-encoding") && value.find("chunked") != std::string_view::npos)
        chunked = true;
    }
    line_start = line_end + 2;
  }

  size_t body_start = head_end + 4;
  size_t message_end;
  if (chunked) {
    message_end = decode_chunked(buffer_, body_start, response.body);
    if (message_end == std::string::npos) return std::nullopt;
  } else if (content_length) {
    if (buffer_.size() < body_start + *content_length) return std::nullopt;
    response.body.assign(buffer_, body_start, *content_length);
    message_end = body_start + *content_length;
  } else if (response.status == 204 || response.status == 304 || response.status / 100 == 1) {
    message_end = body_start;
  } else {
    throw std::runtime_error("response without Content-Length or chunked body");
  }
  consumed_ = message_end;
  return response;
}

HttpConnection::HttpConnection(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int saved = errno;
    ::close(fd_);
    errno = saved;
    throw_errno("connect to 127.0.0.1:" + std::to_string(port));
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK) != 0) throw_errno("fcntl");
}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) ::close(fd_);
}

HttpConnection::HttpConnection(HttpConnection&& other) noexcept
    : fd_(other.fd_), parser_(std::move(other.parser_)) {
  other.fd_ = -1;
}

void HttpConnection::send(const HttpRequest& request) {
  std::string wire;
  wire.reserve(256 + request.target.size() + request.body.size());
  wire.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\n");
  wire.append("Host: 127.0.0.1\r\n");
  if (!request.token.empty())
    wire.append("Authorization: Bearer ").append(request.token).append("\r\n");
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    wire.append("Content-Type: application/json\r\n");
    wire.append("Content-Length: ").append(std::to_string(request.body.size())).append("\r\n");
  }
  wire.append("\r\n").append(request.body);

  size_t sent = 0;
  while (sent < wire.size()) {
    ssize_t n = ::send(fd_, wire.data() + sent, wire.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, 1000);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      throw_errno("send");
    }
  }
}

bool HttpConnection::read_available() {
  char chunk[65536];
  for (;;) {
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      parser_.feed(chunk, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof chunk) return true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // Drained for now, or closed by the peer (0) / failed.
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}

HttpResponse HttpConnection::round_trip(const HttpRequest& request) {
  send(request);
  for (;;) {
    if (auto response = next_response()) return std::move(*response);
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, 60000);
    if (ready == 0) throw std::runtime_error("no response within 60 s to " + request.target);
    if (!read_available()) {
      if (auto response = next_response()) return std::move(*response);
      throw std::runtime_error("connection closed while waiting for " + request.target);
    }
  }
}

Epoll::Epoll() {
  fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd_ < 0) throw_errno("epoll_create1");
}

Epoll::~Epoll() {
  if (fd_ >= 0) ::close(fd_);
}

void Epoll::add(int fd, uint64_t key) {
  epoll_event event{};
  event.events = EPOLLIN | EPOLLRDHUP;
  event.data.u64 = key;
  if (::epoll_ctl(fd_, EPOLL_CTL_ADD, fd, &event) != 0) throw_errno("epoll_ctl ADD");
}

void Epoll::remove(int fd) {
  ::epoll_ctl(fd_, EPOLL_CTL_DEL, fd, nullptr);
}

const std::vector<uint64_t>& Epoll::wait(int timeout_ms) {
  epoll_event events[256];
  ready_.clear();
  int n;
  do {
    n = ::epoll_wait(fd_, events, 256, timeout_ms);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("epoll_wait");
  for (int i = 0; i < n; ++i)
    ready_.push_back(events[i].data.u64);
  return ready_;
}

}  // namespace hs_bench
