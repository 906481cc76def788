#pragma once
// A non-blocking UDP socket that reads and writes in batches (recvmmsg and
// sendmmsg): one system call per burst instead of one per packet. Several
// sockets may share a port (SO_REUSEPORT): the kernel then hashes each remote
// address to one of them, which is how a worker per core shares one port.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "media/stun.hpp"

namespace atrium::media {

inline constexpr size_t kMaxDatagramSize = 1500;
// Room kept after a received packet so SRTP protect can grow it in place.
inline constexpr size_t kDatagramHeadroom = 64;

class UdpSocket {
 public:
  static constexpr size_t kBatch = 32;

  // Binds ip:port (port 0 picks one). nullopt with `error` set on failure.
  static std::unique_ptr<UdpSocket> bind(const std::string& ip, uint16_t port, bool reuse_port,
                                         std::string* error);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  int fd() const { return fd_; }
  uint16_t local_port() const { return local_port_; }

  // Reads every datagram waiting (in batches) and hands each to on_datagram
  // with a mutable buffer of kMaxDatagramSize + kDatagramHeadroom bytes of
  // which the first `length` are the datagram. Queued sends are flushed after
  // every batch. Returns the number of datagrams read.
  using OnDatagram =
      std::function<void(std::span<uint8_t> buffer, size_t length, const TransportAddress& from)>;
  size_t receive_all(const OnDatagram& on_datagram);

  // Copies the datagram into the send batch; sent at the next flush (or
  // when the batch is full). Oversized datagrams are dropped.
  void queue_send(const TransportAddress& to, std::span<const uint8_t> datagram);
  void flush();

  uint64_t send_errors() const { return send_errors_; }

 private:
  UdpSocket() = default;
  struct Batch;
  int fd_ = -1;
  uint16_t local_port_ = 0;
  std::unique_ptr<Batch> receive_, send_;
  size_t queued_ = 0;
  uint64_t send_errors_ = 0;
};

// "127.0.0.1" or "::1" from an address (no port).
std::string to_ip_string(const TransportAddress& address);
std::optional<TransportAddress> parse_ip(const std::string& ip, uint16_t port);

}  // namespace atrium::media
