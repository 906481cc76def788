#include "media/udp_socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace atrium::media {

struct UdpSocket::Batch {
  std::array<std::array<uint8_t, kMaxDatagramSize + kDatagramHeadroom>, kBatch> buffers;
  std::array<sockaddr_storage, kBatch> addresses;
  std::array<iovec, kBatch> iovecs;
  std::array<mmsghdr, kBatch> headers;
};

namespace {

socklen_t to_sockaddr(const TransportAddress& address, sockaddr_storage& storage) {
  std::memset(&storage, 0, sizeof(storage));
  if (address.ipv6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(address.port);
    std::memcpy(&in6->sin6_addr, address.ip.data(), 16);
    return sizeof(sockaddr_in6);
  }
  auto* in = reinterpret_cast<sockaddr_in*>(&storage);
  in->sin_family = AF_INET;
  in->sin_port = htons(address.port);
  std::memcpy(&in->sin_addr, address.ip.data(), 4);
  return sizeof(sockaddr_in);
}

TransportAddress from_sockaddr(const sockaddr_storage& storage) {
  TransportAddress address;
  if (storage.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    address.ipv6 = true;
    std::memcpy(address.ip.data(), &in6->sin6_addr, 16);
    address.port = ntohs(in6->sin6_port);
  } else {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
    std::memcpy(address.ip.data(), &in->sin_addr, 4);
    address.port = ntohs(in->sin_port);
  }
  return address;
}

}  // namespace

std::string to_ip_string(const TransportAddress& address) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(address.ipv6 ? AF_INET6 : AF_INET, address.ip.data(), text, sizeof(text));
  return text;
}

std::optional<TransportAddress> parse_ip(const std::string& ip, uint16_t port) {
  TransportAddress address;
  address.port = port;
  if (inet_pton(AF_INET, ip.c_str(), address.ip.data()) == 1) return address;
  address.ipv6 = true;
  if (inet_pton(AF_INET6, ip.c_str(), address.ip.data()) == 1) return address;
  return std::nullopt;
}

std::unique_ptr<UdpSocket> UdpSocket::bind(const std::string& ip, uint16_t port, bool reuse_port,
                                           std::string* error) {
  auto address = parse_ip(ip, port);
  if (!address) {
    if (error) *error = "not an IP address: " + ip;
    return nullptr;
  }
  std::unique_ptr<UdpSocket> socket(new UdpSocket());
  socket->fd_ =
      ::socket(address->ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (socket->fd_ < 0) {
    if (error) *error = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  int one = 1;
  if (reuse_port) setsockopt(socket->fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  int buffer_size = 4 * 1024 * 1024;  // absorbs bursts while a worker is busy
  setsockopt(socket->fd_, SOL_SOCKET, SO_RCVBUF, &buffer_size, sizeof(buffer_size));
  setsockopt(socket->fd_, SOL_SOCKET, SO_SNDBUF, &buffer_size, sizeof(buffer_size));
  sockaddr_storage storage;
  socklen_t length = to_sockaddr(*address, storage);
  if (::bind(socket->fd_, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    if (error) *error = "bind " + ip + ":" + std::to_string(port) + ": " + std::strerror(errno);
    return nullptr;
  }
  socklen_t bound_length = sizeof(storage);
  getsockname(socket->fd_, reinterpret_cast<sockaddr*>(&storage), &bound_length);
  socket->local_port_ = from_sockaddr(storage).port;
  socket->receive_ = std::make_unique<Batch>();
  socket->send_ = std::make_unique<Batch>();
  return socket;
}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) close(fd_);
}

size_t UdpSocket::receive_all(const OnDatagram& on_datagram) {
  Batch& batch = *receive_;
  size_t total = 0;
  while (true) {
    for (size_t i = 0; i < kBatch; ++i) {
      batch.iovecs[i] = {batch.buffers[i].data(), kMaxDatagramSize};
      batch.headers[i].msg_hdr = {};
      batch.headers[i].msg_hdr.msg_name = &batch.addresses[i];
      batch.headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      batch.headers[i].msg_hdr.msg_iov = &batch.iovecs[i];
      batch.headers[i].msg_hdr.msg_iovlen = 1;
    }
    int count = recvmmsg(fd_, batch.headers.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (count <= 0) break;
    for (int i = 0; i < count; ++i) {
      // A datagram larger than our buffer is truncated: not media we forward.
      if (batch.headers[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
      on_datagram(batch.buffers[i], batch.headers[i].msg_len, from_sockaddr(batch.addresses[i]));
    }
    total += static_cast<size_t>(count);
    flush();
    if (static_cast<size_t>(count) < kBatch) break;
  }
  flush();
  return total;
}

void UdpSocket::queue_send(const TransportAddress& to, std::span<const uint8_t> datagram) {
  if (datagram.size() > kMaxDatagramSize + kDatagramHeadroom) {
    ++send_errors_;
    return;
  }
  if (queued_ == kBatch) flush();
  Batch& batch = *send_;
  std::memcpy(batch.buffers[queued_].data(), datagram.data(), datagram.size());
  batch.iovecs[queued_] = {batch.buffers[queued_].data(), datagram.size()};
  batch.headers[queued_].msg_hdr = {};
  batch.headers[queued_].msg_hdr.msg_name = &batch.addresses[queued_];
  batch.headers[queued_].msg_hdr.msg_namelen = to_sockaddr(to, batch.addresses[queued_]);
  batch.headers[queued_].msg_hdr.msg_iov = &batch.iovecs[queued_];
  batch.headers[queued_].msg_hdr.msg_iovlen = 1;
  ++queued_;
}

void UdpSocket::flush() {
  size_t sent = 0;
  while (sent < queued_) {
    int count = sendmmsg(fd_, send_->headers.data() + sent, static_cast<unsigned>(queued_ - sent),
                         MSG_DONTWAIT);
    if (count <= 0) {
      // A full socket buffer or an unreachable peer: UDP drops, so do we.
      ++send_errors_;
      ++sent;
      continue;
    }
    sent += static_cast<size_t>(count);
  }
  queued_ = 0;
}

}  // namespace atrium::media
