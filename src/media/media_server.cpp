#include "media/media_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "media/sctp_association.hpp"
#include "media/stun.hpp"

namespace atrium::media {

namespace {

struct AddressHash {
  size_t operator()(const TransportAddress& a) const {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    size_t n = a.ipv6 ? 16 : 4;
    for (size_t i = 0; i < n; ++i)
      h = (h ^ a.ip[i]) * 1099511628211ull;
    h = (h ^ a.port) * 1099511628211ull;
    h = (h ^ (a.tcp ? 1u : 0u)) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};

// Bound on addresses a worker hands to other workers: spoofed sources with a
// guessed username must not grow it without limit.
constexpr size_t kMaxForeignRoutes = 4096;
// ICE-TCP limits: unanswered bytes queued per connection, and how long a
// connection may stay without a valid ICE check.
constexpr size_t kMaxTcpWriteBuffer = 1 << 20;
constexpr auto kTcpClaimTimeout = std::chrono::seconds(10);

int listen_tcp(const std::string& ip, uint16_t port, bool reuse_port, uint16_t* bound,
               std::string* error) {
  auto address = parse_ip(ip, port);
  if (!address) {
    *error = "not an IP address: " + ip;
    return -1;
  }
  int fd =
      socket(address->ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("tcp socket: ") + std::strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  sockaddr_storage storage{};
  socklen_t length;
  if (address->ipv6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, address->ip.data(), 16);
    length = sizeof(sockaddr_in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, address->ip.data(), 4);
    length = sizeof(sockaddr_in);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 || listen(fd, 128) != 0) {
    *error = "tcp bind " + ip + ":" + std::to_string(port) + ": " + std::strerror(errno);
    close(fd);
    return -1;
  }
  socklen_t bound_length = sizeof(storage);
  getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &bound_length);
  *bound =
      ntohs(storage.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  return fd;
}

// The workers share their ports through SO_REUSEPORT, which would also let
// another process of the same user (a second server started by mistake) join
// them, and the kernel would then split each peer's packets between the two.
// A bind without it fails while anyone holds the port: a clear error instead.
bool ports_free(const MediaServerConfig& config, std::string* error) {
  if (config.udp_port != 0) {
    std::string why;
    if (!UdpSocket::bind(config.listen_ip, config.udp_port, /*reuse_port=*/false, &why)) {
      *error = "udp port " + std::to_string(config.udp_port) + " is not free (" + why +
               "); is another server running?";
      return false;
    }
  }
  if (config.ice_tcp && config.tcp_port != 0) {
    std::string why;
    uint16_t bound = 0;
    int probe = listen_tcp(config.listen_ip, config.tcp_port, /*reuse_port=*/false, &bound, &why);
    if (probe < 0) {
      *error = "tcp port " + std::to_string(config.tcp_port) + " is not free (" + why +
               "); is another server running?";
      return false;
    }
    close(probe);
  }
  return true;
}

}  // namespace

// One ICE-TCP connection: RFC 4571 framing (a 16-bit length before every
// STUN, DTLS, RTP or RTCP packet) over a non-blocking socket.
struct MediaServer::TcpConnection {
  int fd = -1;
  TransportAddress remote;
  std::vector<uint8_t> input, output;
  bool claimed = false;  // a valid ICE check arrived
  std::chrono::steady_clock::time_point accepted = std::chrono::steady_clock::now();
  ~TcpConnection() {
    if (fd >= 0) close(fd);
  }
  // Writes as much as the socket takes; false if the connection broke.
  bool flush() {
    size_t written = 0;
    while (written < output.size()) {
      ssize_t n = ::send(fd, output.data() + written, output.size() - written, MSG_NOSIGNAL);
      if (n > 0) {
        written += static_cast<size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        break;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        return false;
      }
    }
    output.erase(output.begin(), output.begin() + static_cast<long>(written));
    return true;
  }
};

struct MediaServer::Worker {
  size_t index = 0;
  EventLoop loop;
  std::unique_ptr<UdpSocket> socket;
  int tcp_listener = -1;
  std::unordered_map<TransportAddress, std::unique_ptr<TcpConnection>, AddressHash> tcp;
  bool in_batch = false;
  std::unordered_map<TransportAddress, WebRtcTransport*, AddressHash> routes;
  std::unordered_map<TransportAddress, Worker*, AddressHash> foreign_routes;
  std::unordered_map<std::string, std::shared_ptr<WebRtcTransport>> owned;
  std::chrono::steady_clock::time_point last_tick = std::chrono::steady_clock::now();

  Worker() = default;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() {  // after the loop stopped (~MediaServer) or never started
    if (tcp_listener >= 0) close(tcp_listener);
  }

  void send(const TransportAddress& to, std::span<const uint8_t> datagram) {
    if (to.tcp) {
      send_tcp(to, datagram);
      return;
    }
    socket->queue_send(to, datagram);
    if (!in_batch) socket->flush();
  }
  void send_tcp(const TransportAddress& to, std::span<const uint8_t> datagram) {
    auto it = tcp.find(to);
    if (it == tcp.end() || datagram.size() > 0xFFFF) return;
    TcpConnection& connection = *it->second;
    // Whole frames or nothing: a partial frame would desynchronise the stream.
    if (connection.output.size() + datagram.size() + 2 > kMaxTcpWriteBuffer) return;
    bool was_empty = connection.output.empty();
    connection.output.push_back(static_cast<uint8_t>(datagram.size() >> 8));
    connection.output.push_back(static_cast<uint8_t>(datagram.size()));
    connection.output.insert(connection.output.end(), datagram.begin(), datagram.end());
    if (was_empty) {
      connection.flush();  // a broken connection is noticed by its next read
      if (!connection.output.empty()) loop.set_write_interest(connection.fd, true);
    }
  }
  void sync_routes(WebRtcTransport* transport) {
    for (const auto& address : transport->addresses())
      routes[address] = transport;
  }
};

std::unique_ptr<MediaServer> MediaServer::start(const MediaServerConfig& config,
                                                std::string* error) {
  std::unique_ptr<MediaServer> server(new MediaServer());
  server->config_ = config;
  server->certificate_ = DtlsCertificate::generate();
  if (!server->certificate_) {
    if (error) *error = "cannot generate the DTLS certificate";
    return nullptr;
  }
  std::string busy;
  if (!ports_free(config, &busy)) {
    if (error) *error = busy;
    return nullptr;
  }
  size_t count =
      config.workers ? config.workers : std::max(1u, std::thread::hardware_concurrency());
  uint16_t port = config.udp_port;
  for (size_t i = 0; i < count; ++i) {
    auto worker = std::make_unique<Worker>();
    worker->index = i;
    worker->socket = UdpSocket::bind(config.listen_ip, port, /*reuse_port=*/true, error);
    if (!worker->socket) return nullptr;
    port = worker->socket->local_port();  // the others join the port the first got
    server->workers_.push_back(std::move(worker));
  }
  server->port_ = port;
  if (config.ice_tcp) {
    uint16_t tcp_port = config.tcp_port;
    for (auto& worker : server->workers_) {
      std::string why;
      worker->tcp_listener =
          listen_tcp(config.listen_ip, tcp_port, /*reuse_port=*/true, &tcp_port, &why);
      if (worker->tcp_listener < 0) {
        if (error) *error = why;
        return nullptr;
      }
    }
    server->tcp_port_ = tcp_port;
  }
  for (auto& worker_ptr : server->workers_) {
    Worker* worker = worker_ptr.get();
    MediaServer* self = server.get();
    worker->loop.watch(worker->socket->fd(), [self, worker] {
      worker->in_batch = true;
      worker->socket->receive_all(
          [&](std::span<uint8_t> buffer, size_t length, const TransportAddress& from) {
            self->on_datagram(*worker, buffer, length, from);
          });
      worker->in_batch = false;
    });
    if (worker->tcp_listener >= 0) {
      worker->loop.watch(worker->tcp_listener, [self, worker] { self->accept_tcp(*worker); });
    }
    worker->loop.every(std::chrono::milliseconds(10),
                       [self, worker](auto now) { self->tick(*worker, now); });
    worker->loop.start("media-" + std::to_string(worker->index));
  }
  return server;
}

MediaServer::~MediaServer() {
  for (auto& worker : workers_)
    worker->loop.stop();
  for (auto& worker : workers_) {
    for (auto& [ufrag, transport] : worker->owned)
      transport->close();
    worker->owned.clear();
  }
  registry_.clear();
}

std::vector<SdpCandidate> MediaServer::candidates(bool udp, bool tcp) const {
  std::vector<std::string> ips = config_.announced_ips;
  if (ips.empty()) ips.push_back(config_.listen_ip);
  std::vector<SdpCandidate> candidates;
  uint32_t index = 0;
  auto add = [&](const std::string& ip, bool is_tcp) {
    SdpCandidate candidate;
    candidate.foundation = std::to_string(index + 1);
    candidate.component = 1;
    candidate.transport = is_tcp ? "tcp" : "udp";
    // Host type preference 126; TCP's local preference sits below every
    // UDP address so that a peer uses TCP only when UDP does not work.
    uint32_t local = (is_tcp ? 32767u : 65535u) - index;
    candidate.priority = (126u << 24) | (local << 8) | 255u;
    candidate.address = ip;
    candidate.port = is_tcp ? tcp_port_ : port_;
    candidate.type = "host";
    if (is_tcp) candidate.extensions.push_back({"tcptype", "passive"});
    candidates.push_back(candidate);
    ++index;
  };
  if (udp)
    for (const auto& ip : ips)
      add(ip, false);
  if (tcp && tcp_port_)
    for (const auto& ip : ips)
      add(ip, true);
  return candidates;
}

void MediaServer::accept_tcp(Worker& worker) {
  while (true) {
    sockaddr_storage storage{};
    socklen_t length = sizeof(storage);
    int fd = accept4(worker.tcp_listener, reinterpret_cast<sockaddr*>(&storage), &length,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto connection = std::make_unique<TcpConnection>();
    connection->fd = fd;
    if (storage.ss_family == AF_INET6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
      connection->remote.ipv6 = true;
      std::memcpy(connection->remote.ip.data(), &in6->sin6_addr, 16);
      connection->remote.port = ntohs(in6->sin6_port);
    } else {
      auto* in = reinterpret_cast<sockaddr_in*>(&storage);
      std::memcpy(connection->remote.ip.data(), &in->sin_addr, 4);
      connection->remote.port = ntohs(in->sin_port);
    }
    connection->remote.tcp = true;
    tcp_accepted_.fetch_add(1, std::memory_order_relaxed);
    adopt_tcp(worker, std::move(connection));
  }
}

void MediaServer::adopt_tcp(Worker& worker, std::unique_ptr<TcpConnection> connection) {
  TransportAddress remote = connection->remote;
  int fd = connection->fd;
  worker.tcp[remote] = std::move(connection);
  Worker* self = &worker;
  worker.loop.watch(
      fd,
      [this, self, remote] {
        auto it = self->tcp.find(remote);
        if (it != self->tcp.end()) read_tcp(*self, *it->second);
      },
      [this, self, remote] {
        auto it = self->tcp.find(remote);
        if (it == self->tcp.end()) return;
        if (!it->second->flush()) {
          close_tcp(*self, remote);
          return;
        }
        if (it->second->output.empty()) self->loop.set_write_interest(it->second->fd, false);
      });
  // Bytes that came before a hand-over are still waiting in `input`.
  auto it = worker.tcp.find(remote);
  if (!it->second->input.empty()) read_tcp(worker, *it->second);
}

void MediaServer::close_tcp(Worker& worker, const TransportAddress& remote) {
  auto it = worker.tcp.find(remote);
  if (it == worker.tcp.end()) return;
  worker.loop.unwatch(it->second->fd);
  worker.routes.erase(remote);
  worker.tcp.erase(it);  // closes the fd
}

void MediaServer::read_tcp(Worker& worker, TcpConnection& connection) {
  TransportAddress remote = connection.remote;
  uint8_t chunk[16 * 1024];
  bool broken = false;
  while (true) {
    ssize_t n = recv(connection.fd, chunk, sizeof(chunk), 0);
    if (n > 0) {
      connection.input.insert(connection.input.end(), chunk, chunk + n);
      if (connection.input.size() > 4 * 65538) break;  // parse before reading more
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) broken = true;
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  // Every complete frame goes the way a UDP datagram from `remote` would.
  std::array<uint8_t, kMaxDatagramSize + kDatagramHeadroom> frame;
  size_t offset = 0;
  while (connection.input.size() - offset >= 2) {
    size_t length =
        (static_cast<size_t>(connection.input[offset]) << 8) | connection.input[offset + 1];
    if (connection.input.size() - offset - 2 < length) break;
    const uint8_t* start = connection.input.data() + offset + 2;
    offset += 2 + length;
    if (length == 0 || length > kMaxDatagramSize) continue;  // not media we take
    std::memcpy(frame.data(), start, length);
    bool was_claimed = connection.claimed;
    if (!was_claimed && worker.routes.count(remote) == 0 && frame[0] <= 3) {
      // The first check decides which worker owns the connection.
      auto message = stun::Message::parse(std::span<const uint8_t>(frame.data(), length));
      auto username = message ? message->username() : std::nullopt;
      if (username) {
        std::string ufrag(username->substr(0, username->find(':')));
        Worker* owner = nullptr;
        {
          std::lock_guard lock(registry_mutex_);
          auto entry = registry_.find(ufrag);
          if (entry != registry_.end()) {
            if (!entry->second.owner) entry->second.owner = &worker;
            owner = entry->second.owner;
          }
        }
        if (owner && owner != &worker) {
          // Move the whole connection, unread frames included, to the owner.
          auto it = worker.tcp.find(remote);
          auto moved = std::move(it->second);
          moved->input.erase(moved->input.begin(),
                             moved->input.begin() + static_cast<long>(offset - 2 - length));
          worker.loop.unwatch(moved->fd);
          worker.tcp.erase(it);
          handed_over_.fetch_add(1, std::memory_order_relaxed);
          owner->loop.post([this, owner, raw = moved.release()] {
            adopt_tcp(*owner, std::unique_ptr<TcpConnection>(raw));
          });
          return;
        }
      }
    }
    bool routed_before = worker.routes.count(remote) != 0;
    on_datagram(worker, frame, length, remote);
    if (!routed_before && worker.routes.count(remote) != 0) connection.claimed = true;
    // on_datagram may not close this connection: it is still ours here.
  }
  connection.input.erase(connection.input.begin(),
                         connection.input.begin() + static_cast<long>(offset));
  if (broken) close_tcp(worker, remote);
}

void MediaServer::add(std::shared_ptr<WebRtcTransport> transport, std::optional<size_t> worker) {
  std::string ufrag = transport->local_ufrag();
  Worker* owner = worker ? workers_[*worker % workers_.size()].get() : nullptr;
  std::lock_guard lock(registry_mutex_);
  registry_[ufrag] = Entry{std::move(transport), owner, std::chrono::steady_clock::now()};
}

EventLoop& MediaServer::worker_loop(size_t index) {
  return workers_[index % workers_.size()]->loop;
}

void MediaServer::remove(const std::string& local_ufrag) {
  std::shared_ptr<WebRtcTransport> unowned;
  {
    std::lock_guard lock(registry_mutex_);
    auto it = registry_.find(local_ufrag);
    if (it == registry_.end()) return;
    if (Worker* owner = it->second.owner) {
      owner->loop.post([this, owner, local_ufrag] { drop_on_worker(*owner, local_ufrag); });
      return;
    }
    unowned = std::move(it->second.transport);
    registry_.erase(it);
  }
  unowned->close();
}

void MediaServer::drop_on_worker(Worker& worker, const std::string& ufrag) {
  auto it = worker.owned.find(ufrag);
  if (it == worker.owned.end()) {
    // Pinned to this worker but never reached by a check.
    std::shared_ptr<WebRtcTransport> never_attached;
    {
      std::lock_guard lock(registry_mutex_);
      auto entry = registry_.find(ufrag);
      if (entry == registry_.end()) return;
      never_attached = std::move(entry->second.transport);
      registry_.erase(entry);
    }
    never_attached->close();
    return;
  }
  WebRtcTransport* transport = it->second.get();
  std::erase_if(worker.routes, [&](const auto& route) { return route.second == transport; });
  transport->close();
  std::shared_ptr<WebRtcTransport> keep = std::move(it->second);
  worker.owned.erase(it);
  {
    std::lock_guard lock(registry_mutex_);
    registry_.erase(ufrag);
  }
  // keep dies here, on its worker, after every map forgot it.
}

void MediaServer::on_datagram(Worker& worker, std::span<uint8_t> buffer, size_t length,
                              const TransportAddress& from) {
  datagrams_in_.fetch_add(1, std::memory_order_relaxed);
  auto now = std::chrono::steady_clock::now();
  if (auto route = worker.routes.find(from); route != worker.routes.end()) {
    route->second->handle_datagram(buffer, length, from, now);
    return;
  }
  auto hand_over = [&](Worker* owner) {
    handed_over_.fetch_add(1, std::memory_order_relaxed);
    std::vector<uint8_t> copy(buffer.begin(), buffer.begin() + static_cast<long>(length));
    owner->loop.post([this, owner, from, copy = std::move(copy)]() mutable {
      copy.resize(copy.size() + kDatagramHeadroom);
      size_t size = copy.size() - kDatagramHeadroom;
      if (auto route = owner->routes.find(from); route != owner->routes.end()) {
        route->second->handle_datagram(copy, size, from, std::chrono::steady_clock::now());
        return;
      }
      // Not validated yet on the owner: only an ICE check can get it there.
      on_datagram(*owner, copy, size, from);
    });
  };
  if (auto foreign = worker.foreign_routes.find(from); foreign != worker.foreign_routes.end()) {
    hand_over(foreign->second);
    return;
  }
  // Unknown address: only a binding request naming a known ufrag gets in.
  if (length == 0 || buffer[0] > 3) {
    unroutable_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  auto message = stun::Message::parse(buffer.first(length));
  auto username = message ? message->username() : std::nullopt;
  if (!username) {
    unroutable_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::string ufrag(username->substr(0, username->find(':')));
  std::shared_ptr<WebRtcTransport> transport;
  Worker* owner = nullptr;
  {
    std::lock_guard lock(registry_mutex_);
    auto it = registry_.find(ufrag);
    if (it == registry_.end()) {
      unroutable_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (!it->second.owner) it->second.owner = &worker;
    owner = it->second.owner;
    transport = it->second.transport;
  }
  if (owner != &worker) {
    if (worker.foreign_routes.size() < kMaxForeignRoutes) worker.foreign_routes[from] = owner;
    hand_over(owner);
    return;
  }
  if (!transport->loop()) {
    Worker* self = &worker;
    transport->attach(&worker.loop,
                      [self](const TransportAddress& to, std::span<const uint8_t> datagram) {
                        self->send(to, datagram);
                      });
    worker.owned[ufrag] = transport;
  }
  transport->handle_datagram(buffer, length, from, now);
  worker.sync_routes(transport.get());
}

void MediaServer::tick(Worker& worker, std::chrono::steady_clock::time_point now) {
  std::vector<std::string> finished;
  for (auto& [ufrag, transport] : worker.owned) {
    transport->tick(now);
    auto state = transport->state();
    if (state == TransportState::kFailed || state == TransportState::kClosed)
      finished.push_back(ufrag);
  }
  for (const auto& ufrag : finished)
    drop_on_worker(worker, ufrag);
  if (worker.index == 0) {
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - worker.last_tick);
    SctpAssociation::handle_timers(static_cast<uint32_t>(elapsed.count()));
    // Transports nobody ever checked against.
    std::vector<std::shared_ptr<WebRtcTransport>> expired;
    {
      std::lock_guard lock(registry_mutex_);
      for (auto it = registry_.begin(); it != registry_.end();) {
        bool never_checked = !it->second.owner || !it->second.transport->loop();
        if (never_checked && now - it->second.added > config_.unclaimed_timeout) {
          expired.push_back(std::move(it->second.transport));
          it = registry_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& transport : expired)
      transport->close();
  }
  std::vector<TransportAddress> idle;
  for (const auto& [remote, connection] : worker.tcp)
    if (!connection->claimed && now - connection->accepted > kTcpClaimTimeout)
      idle.push_back(remote);
  for (const auto& remote : idle)
    close_tcp(worker, remote);
  worker.last_tick = now;
  if (!worker.socket) return;
  worker.socket->flush();
}

std::vector<std::shared_ptr<WebRtcTransport>> MediaServer::transports() const {
  std::lock_guard lock(registry_mutex_);
  std::vector<std::shared_ptr<WebRtcTransport>> out;
  for (const auto& [ufrag, entry] : registry_)
    out.push_back(entry.transport);
  return out;
}

std::vector<std::chrono::nanoseconds> MediaServer::worker_cpu_times() const {
  std::vector<std::chrono::nanoseconds> times;
  for (const auto& worker : workers_)
    times.push_back(worker->loop.cpu_time());
  return times;
}

MediaServerStats MediaServer::stats() const {
  MediaServerStats stats;
  stats.datagrams_in = datagrams_in_.load();
  stats.unroutable = unroutable_.load();
  stats.handed_over = handed_over_.load();
  stats.tcp_connections = tcp_accepted_.load();
  std::lock_guard lock(registry_mutex_);
  stats.transports = registry_.size();
  return stats;
}

}  // namespace atrium::media
