#pragma once
// A minimal WebRTC client made of Atrium's own media pieces, for tests and
// benchmarks that talk to a MediaServer over loopback UDP: one ICE check as
// the controlling agent (nominating), a DTLS client, SRTP sessions from the
// exported keys. Single-threaded; every call blocks up to its timeout.
#include <poll.h>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "media/dtls.hpp"
#include "media/srtp.hpp"
#include "media/stun.hpp"
#include "media/udp_socket.hpp"

namespace atrium::testing {

class LoopbackMediaClient {
 public:
  using Clock = std::chrono::steady_clock;
  using Datagram = std::vector<uint8_t>;

  LoopbackMediaClient(std::string server_ufrag, std::string server_pwd, uint16_t server_port,
                      std::shared_ptr<media::DtlsCertificate> certificate,
                      std::string local_ufrag = "client")
      : server_ufrag_(std::move(server_ufrag)),
        server_pwd_(std::move(server_pwd)),
        local_ufrag_(std::move(local_ufrag)),
        certificate_(std::move(certificate)) {
    std::string error;
    socket_ = media::UdpSocket::bind("127.0.0.1", 0, false, &error);
    server_ = *media::parse_ip("127.0.0.1", server_port);
  }

  media::UdpSocket& socket() { return *socket_; }
  const media::TransportAddress& server() const { return server_; }

  // One binding request nominating the pair; the response, or empty.
  Datagram check(const std::string& ufrag = "") {
    media::stun::TransactionId id{};
    ++checks_;
    for (size_t i = 0; i < id.size(); ++i)
      id[i] = static_cast<uint8_t>(i * 7 + checks_);
    media::stun::MessageBuilder builder(
        media::stun::message_type(media::stun::kMethodBinding, media::stun::MessageClass::kRequest),
        id);
    builder
        .add_string(media::stun::attr::kUsername,
                    (ufrag.empty() ? server_ufrag_ : ufrag) + ":" + local_ufrag_)
        .add_u32(media::stun::attr::kPriority, 1853824767)
        .add_u64(media::stun::attr::kIceControlling, 42)
        .add_attribute(media::stun::attr::kUseCandidate, {})
        .add_message_integrity(server_pwd_)
        .add_fingerprint();
    send(std::move(builder).finish());
    return receive_one(std::chrono::milliseconds(1000));
  }

  void send(std::span<const uint8_t> datagram) {
    socket_->queue_send(server_, datagram);
    socket_->flush();
  }

  // The next datagram within `timeout` (queued ones first), or empty.
  Datagram receive_one(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (inbox_.empty() && Clock::now() < deadline) {
      pollfd fd{socket_->fd(), POLLIN, 0};
      poll(&fd, 1, 10);
      socket_->receive_all(
          [&](std::span<uint8_t> buffer, size_t length, const media::TransportAddress&) {
            inbox_.emplace_back(buffer.begin(), buffer.begin() + static_cast<long>(length));
          });
    }
    if (inbox_.empty()) return {};
    Datagram first = std::move(inbox_.front());
    inbox_.pop_front();
    return first;
  }

  // Starts DTLS (as the client unless told otherwise) expecting the peer's fingerprint.
  void start_dtls(const std::string& server_fingerprint,
                  media::DtlsRole role = media::DtlsRole::kClient) {
    dtls_ = std::make_unique<media::DtlsTransport>(
        certificate_,
        media::DtlsConfig{.role = role,
                          .remote_fingerprint_algorithm = "sha-256",
                          .remote_fingerprint = server_fingerprint},
        media::DtlsTransport::Callbacks{
            .send_datagram = [this](std::span<const uint8_t> d) { send(d); },
            .on_connected =
                [this](const std::optional<media::DtlsSrtpKeys>& keys) {
                  connected_ = true;
                  if (!keys) return;
                  srtp_send_ =
                      media::SrtpSession::create(keys->profile, keys->local_key, keys->local_salt);
                  srtp_receive_ = media::SrtpSession::create(keys->profile, keys->remote_key,
                                                             keys->remote_salt);
                },
            .on_application_data =
                [this](std::span<const uint8_t> d) {
                  application_.emplace_back(d.begin(), d.end());
                },
            .on_failed = {},
            .on_closed = {},
        });
    dtls_->start(Clock::now());
  }

  // Feeds DTLS until done() or the timeout; other datagrams land in `other`.
  template <typename Done>
  bool pump(Done done, std::chrono::milliseconds timeout, std::vector<Datagram>* other = nullptr) {
    auto deadline = Clock::now() + timeout;
    while (!done() && Clock::now() < deadline) {
      Datagram datagram = receive_one(std::chrono::milliseconds(20));
      if (datagram.empty()) {
        if (auto next = dtls_->next_timeout(Clock::now()); next && *next <= Clock::now())
          dtls_->handle_timeout(Clock::now());
        continue;
      }
      if (datagram[0] >= 20 && datagram[0] <= 63)
        dtls_->handle_datagram(datagram, Clock::now());
      else if (other)
        other->push_back(std::move(datagram));
    }
    return done();
  }

  bool connect(const std::string& server_fingerprint, std::chrono::milliseconds timeout) {
    if (check().empty()) return false;
    start_dtls(server_fingerprint);
    return pump([this] { return connected_; }, timeout);
  }

  bool connected() const { return connected_; }
  media::DtlsTransport& dtls() { return *dtls_; }
  media::SrtpSession* srtp_send() { return srtp_send_.get(); }
  media::SrtpSession* srtp_receive() { return srtp_receive_.get(); }
  // DTLS application data (SCTP packets) received so far; the caller drains it.
  std::vector<Datagram>& application() { return application_; }

 private:
  std::string server_ufrag_, server_pwd_, local_ufrag_;
  std::shared_ptr<media::DtlsCertificate> certificate_;
  std::unique_ptr<media::UdpSocket> socket_;
  media::TransportAddress server_;
  std::deque<Datagram> inbox_;
  int checks_ = 0;
  std::unique_ptr<media::DtlsTransport> dtls_;
  bool connected_ = false;
  std::unique_ptr<media::SrtpSession> srtp_send_, srtp_receive_;
  std::vector<Datagram> application_;
};

}  // namespace atrium::testing
