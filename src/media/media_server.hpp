#pragma once
// The UDP side of the SFU: one port for every peer, a worker (event loop +
// socket) per core. All workers bind the same port with SO_REUSEPORT, so the
// kernel hashes each remote address to one worker's socket, always the same
// one. A transport is pinned to the worker that receives its first ICE check
// (found by ICE username in a locked registry, once per new address); later
// packets from an address ICE validated are routed by a per-worker map that
// only its own thread touches. Packets for a transport pinned elsewhere (a
// second candidate pair hashed to another socket) are handed over by post().
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "media/dtls.hpp"
#include "media/event_loop.hpp"
#include "media/sdp.hpp"
#include "media/udp_socket.hpp"
#include "media/webrtc_transport.hpp"

namespace atrium::media {

struct MediaServerConfig {
  std::string listen_ip = "127.0.0.1";
  uint16_t udp_port = 0;  // 0 picks a free port
  // ICE over TCP (RFC 6544, passive candidates) for networks that block UDP.
  bool ice_tcp = true;
  uint16_t tcp_port = 0;  // 0 picks a free port
  // Addresses written into candidates; empty: the listen address (which must
  // then not be a wildcard).
  std::vector<std::string> announced_ips;
  size_t workers = 0;  // 0: one per core
  // A transport nobody connects to is dropped after this long.
  std::chrono::milliseconds unclaimed_timeout{30'000};
};

struct MediaServerStats {
  uint64_t datagrams_in = 0;
  uint64_t unroutable = 0;   // from unknown addresses, not a known ICE username
  uint64_t handed_over = 0;  // arrived on another worker's socket
  size_t transports = 0;
  uint64_t tcp_connections = 0;  // accepted so far
};

class MediaServer {
 public:
  static std::unique_ptr<MediaServer> start(const MediaServerConfig& config, std::string* error);
  ~MediaServer();  // stops the workers; transports are closed on their threads
  MediaServer(const MediaServer&) = delete;
  MediaServer& operator=(const MediaServer&) = delete;

  uint16_t udp_port() const { return port_; }
  uint16_t tcp_port() const { return tcp_port_; }  // 0 when ICE-TCP is off
  size_t worker_count() const { return workers_.size(); }
  const std::shared_ptr<DtlsCertificate>& certificate() const { return certificate_; }
  // Host candidates for an SDP answer: UDP first, then passive TCP.
  std::vector<SdpCandidate> candidates(bool udp = true, bool tcp = true) const;

  // Makes the transport reachable under its local ICE ufrag. Without a
  // worker it gets pinned to the one its first check reaches; with one (a
  // room keeps all its transports on one worker, so fan-out stays on one
  // thread) packets reaching other workers are handed over to it.
  void add(std::shared_ptr<WebRtcTransport> transport, std::optional<size_t> worker = {});
  // The event loop of worker i (post work for its transports there).
  EventLoop& worker_loop(size_t index);
  // Closes and forgets a transport; safe from any thread, idempotent.
  void remove(const std::string& local_ufrag);

  std::vector<std::shared_ptr<WebRtcTransport>> transports() const;
  MediaServerStats stats() const;
  // CPU time used by each worker thread so far.
  std::vector<std::chrono::nanoseconds> worker_cpu_times() const;

 private:
  struct Worker;
  struct Entry {
    std::shared_ptr<WebRtcTransport> transport;
    Worker* owner = nullptr;  // set once, under registry_mutex_
    std::chrono::steady_clock::time_point added;
  };
  MediaServer() = default;
  struct TcpConnection;
  void accept_tcp(Worker& worker);
  void read_tcp(Worker& worker, TcpConnection& connection);
  void adopt_tcp(Worker& worker, std::unique_ptr<TcpConnection> connection);
  void close_tcp(Worker& worker, const TransportAddress& remote);
  void on_datagram(Worker& worker, std::span<uint8_t> buffer, size_t length,
                   const TransportAddress& from);
  void tick(Worker& worker, std::chrono::steady_clock::time_point now);
  void drop_on_worker(Worker& worker, const std::string& ufrag);

  MediaServerConfig config_;
  uint16_t port_ = 0;
  uint16_t tcp_port_ = 0;
  std::shared_ptr<DtlsCertificate> certificate_;
  std::vector<std::unique_ptr<Worker>> workers_;
  mutable std::mutex registry_mutex_;
  std::unordered_map<std::string, Entry> registry_;
  std::atomic<uint64_t> datagrams_in_{0}, unroutable_{0}, handed_over_{0}, tcp_accepted_{0};
};

}  // namespace atrium::media
