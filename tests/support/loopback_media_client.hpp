#pragma once
// A minimal WebRTC client made of Atrium's own media pieces, for tests and
// benchmarks that talk to a MediaServer over loopback UDP: one ICE check as
// the controlling agent (nominating), a DTLS client, SRTP sessions from the
// exported keys. Single-threaded; every call blocks up to its timeout.
//
// For a full ICE peer (Janus/libnice) the second constructor binds a given
// address and knows its own password: the client then answers the peer's
// connectivity checks (MESSAGE-INTEGRITY with our password, FINGERPRINT,
// 487 Role Conflict while we are controlling with the larger tie-breaker)
// wherever datagrams are read, and ice_connect() repeats its nominating check
// until the peer answers it.
#include <poll.h>

#include <algorithm>
#include <array>
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

  // Binds bind_ip (port 0: the kernel picks) before the remote is known, so
  // the port can go into our SDP; set_remote() before checking. Incoming
  // checks for local_ufrag/local_pwd are answered.
  LoopbackMediaClient(const std::string& bind_ip,
                      std::shared_ptr<media::DtlsCertificate> certificate, std::string local_ufrag,
                      std::string local_pwd)
      : local_ufrag_(std::move(local_ufrag)),
        local_pwd_(std::move(local_pwd)),
        certificate_(std::move(certificate)) {
    std::string error;
    socket_ = media::UdpSocket::bind(bind_ip, 0, false, &error);
    tie_breaker_ = ~uint64_t{0};  // keep the controlling role in a conflict
  }

  void set_remote(std::string ufrag, std::string pwd, const media::TransportAddress& address) {
    server_ufrag_ = std::move(ufrag);
    server_pwd_ = std::move(pwd);
    server_ = address;
  }
  bool bound() const { return socket_ != nullptr; }
  uint16_t local_port() const { return socket_->local_port(); }

  media::UdpSocket& socket() { return *socket_; }
  const media::TransportAddress& server() const { return server_; }

  // One binding request nominating the pair; the response, or empty.
  Datagram check(const std::string& ufrag = "") {
    send_check(ufrag);
    return receive_one(std::chrono::milliseconds(1000));
  }

  // The nominating binding request alone (the answer comes with the next reads).
  void send_check(const std::string& ufrag = "") {
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
        .add_u64(media::stun::attr::kIceControlling, tie_breaker_)
        .add_attribute(media::stun::attr::kUseCandidate, {})
        .add_message_integrity(server_pwd_)
        .add_fingerprint();
    send(std::move(builder).finish());
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
          [&](std::span<uint8_t> buffer, size_t length, const media::TransportAddress& from) {
            if (answer_check(std::span<const uint8_t>(buffer.data(), length), from)) return;
            inbox_.emplace_back(buffer.begin(), buffer.begin() + static_cast<long>(length));
          });
    }
    if (inbox_.empty()) return {};
    Datagram first = std::move(inbox_.front());
    inbox_.pop_front();
    return first;
  }

  // Answers a connectivity check from the peer (only with a local password);
  // true if the datagram was a binding request (answered or dropped).
  bool answer_check(std::span<const uint8_t> datagram, const media::TransportAddress& from) {
    if (local_pwd_.empty() || datagram.size() < 20 || datagram[0] > 1) return false;
    auto request = media::stun::Message::parse(datagram);
    if (!request || request->method() != media::stun::kMethodBinding) return false;
    if (request->message_class() == media::stun::MessageClass::kIndication) return true;
    if (request->message_class() != media::stun::MessageClass::kRequest) return false;
    ++checks_received_;
    if (!request->verify_message_integrity(local_pwd_)) return true;
    auto username = request->username();
    if (!username || username->substr(0, username->find(':')) != local_ufrag_) return true;
    std::array<uint8_t, media::stun::kTransactionIdSize> id{};
    std::copy(request->transaction_id().begin(), request->transaction_id().end(), id.begin());
    auto controlling = request->ice_controlling();
    if (controlling && *controlling <= tie_breaker_) {
      media::stun::MessageBuilder error(
          media::stun::message_type(media::stun::kMethodBinding,
                                    media::stun::MessageClass::kErrorResponse),
          id);
      error.add_error_code(487, "Role Conflict")
          .add_message_integrity(local_pwd_)
          .add_fingerprint();
      socket_->queue_send(from, std::move(error).finish());
      socket_->flush();
      return true;
    }
    media::stun::MessageBuilder response(
        media::stun::message_type(media::stun::kMethodBinding,
                                  media::stun::MessageClass::kSuccessResponse),
        id);
    response.add_xor_mapped_address(from).add_message_integrity(local_pwd_).add_fingerprint();
    socket_->queue_send(from, std::move(response).finish());
    socket_->flush();
    return true;
  }
  int checks_received() const { return checks_received_; }

  // Repeats the nominating check every 50 ms until the peer answers it with
  // success (other datagrams stay queued for pump()); false at the timeout.
  bool ice_connect(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    std::deque<Datagram> kept;
    bool done = false;
    while (!done && Clock::now() < deadline) {
      send_check();
      Datagram reply = receive_one(std::chrono::milliseconds(10));
      auto until = Clock::now() + std::chrono::milliseconds(50);
      while (!done) {
        if (!reply.empty()) {
          auto message = media::stun::Message::parse(reply);
          if (message && message->message_class() == media::stun::MessageClass::kSuccessResponse)
            done = true;
          else if (!message)
            kept.push_back(std::move(reply));
        }
        if (done || Clock::now() >= until) break;
        reply = receive_one(std::chrono::milliseconds(10));
      }
    }
    for (auto it = kept.rbegin(); it != kept.rend(); ++it)
      inbox_.push_front(std::move(*it));
    return done;
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
  std::string server_ufrag_, server_pwd_, local_ufrag_, local_pwd_;
  uint64_t tie_breaker_ = 42;
  int checks_received_ = 0;
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
