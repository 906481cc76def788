#include "media/media_server.hpp"

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
    return static_cast<size_t>(h);
  }
};

// Bound on addresses a worker hands to other workers: spoofed sources with a
// guessed username must not grow it without limit.
constexpr size_t kMaxForeignRoutes = 4096;

}  // namespace

struct MediaServer::Worker {
  size_t index = 0;
  EventLoop loop;
  std::unique_ptr<UdpSocket> socket;
  bool in_batch = false;
  std::unordered_map<TransportAddress, WebRtcTransport*, AddressHash> routes;
  std::unordered_map<TransportAddress, Worker*, AddressHash> foreign_routes;
  std::unordered_map<std::string, std::shared_ptr<WebRtcTransport>> owned;
  std::chrono::steady_clock::time_point last_tick = std::chrono::steady_clock::now();

  void send(const TransportAddress& to, std::span<const uint8_t> datagram) {
    socket->queue_send(to, datagram);
    if (!in_batch) socket->flush();
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

std::vector<SdpCandidate> MediaServer::candidates() const {
  std::vector<std::string> ips = config_.announced_ips;
  if (ips.empty()) ips.push_back(config_.listen_ip);
  std::vector<SdpCandidate> candidates;
  uint32_t index = 0;
  for (const auto& ip : ips) {
    SdpCandidate candidate;
    candidate.foundation = std::to_string(index + 1);
    candidate.component = 1;
    candidate.transport = "udp";
    // Host type preference 126, local preference falling per address.
    candidate.priority = (126u << 24) | ((65535u - index) << 8) | 255u;
    candidate.address = ip;
    candidate.port = port_;
    candidate.type = "host";
    candidates.push_back(candidate);
    ++index;
  }
  return candidates;
}

void MediaServer::add(std::shared_ptr<WebRtcTransport> transport) {
  std::string ufrag = transport->local_ufrag();
  std::lock_guard lock(registry_mutex_);
  registry_[ufrag] = Entry{std::move(transport), nullptr, std::chrono::steady_clock::now()};
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
  if (it == worker.owned.end()) return;
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
        if (!it->second.owner && now - it->second.added > config_.unclaimed_timeout) {
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

MediaServerStats MediaServer::stats() const {
  MediaServerStats stats;
  stats.datagrams_in = datagrams_in_.load();
  stats.unroutable = unroutable_.load();
  stats.handed_over = handed_over_.load();
  std::lock_guard lock(registry_mutex_);
  stats.transports = registry_.size();
  return stats;
}

}  // namespace atrium::media
