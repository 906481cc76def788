#pragma once
// DTLS 1.2 for DTLS-SRTP (RFC 5764) and SCTP-over-DTLS (RFC 8261), on OpenSSL
// with a memory BIO for input and a datagram-preserving BIO for output, so the
// transport owns no socket: the caller feeds received datagrams and the clock,
// and gets datagrams to send through a callback.
//
// The peer's certificate is accepted only if it matches the a=fingerprint of
// its SDP (RFC 8122); a mismatch aborts the handshake with an alert and the
// transport fails, so no SRTP keys ever exist for such a peer.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "media/srtp_kdf.hpp"

struct ssl_ctx_st;
struct ssl_st;
struct x509_st;
struct evp_pkey_st;

namespace atrium::media {

// A self-signed ECDSA P-256 certificate and the SSL_CTX built on it. One per
// process (or per worker) is enough: every transport shares it.
class DtlsCertificate {
 public:
  // Valid from an hour ago for `lifetime`. nullptr if OpenSSL fails.
  static std::shared_ptr<DtlsCertificate> generate(
      std::chrono::hours lifetime = std::chrono::hours(24 * 30));
  ~DtlsCertificate();
  DtlsCertificate(const DtlsCertificate&) = delete;
  DtlsCertificate& operator=(const DtlsCertificate&) = delete;

  // "sha-256" and upper-case colon-separated hex, as a=fingerprint writes it.
  const std::string& fingerprint_algorithm() const { return algorithm_; }
  const std::string& fingerprint() const { return fingerprint_; }

  ssl_ctx_st* context() const { return context_; }

 private:
  DtlsCertificate() = default;
  x509_st* certificate_ = nullptr;
  evp_pkey_st* key_ = nullptr;
  ssl_ctx_st* context_ = nullptr;
  std::string algorithm_ = "sha-256";
  std::string fingerprint_;
};

// The fingerprint of a DER certificate with a named hash ("sha-1", "sha-256",
// "sha-384", "sha-512"); nullopt for an unknown hash.
std::optional<std::string> certificate_fingerprint(x509_st* certificate,
                                                   std::string_view algorithm);

enum class DtlsRole : uint8_t { kClient, kServer };
enum class DtlsState : uint8_t { kNew, kConnecting, kConnected, kFailed, kClosed };
const char* to_string(DtlsState state);

// The exported SRTP master keys, already split into our and the peer's half.
struct DtlsSrtpKeys {
  SrtpProfile profile = SrtpProfile::kAeadAes128Gcm;
  std::vector<uint8_t> local_key, local_salt;    // protect what we send
  std::vector<uint8_t> remote_key, remote_salt;  // unprotect what we receive
};

struct DtlsConfig {
  DtlsRole role = DtlsRole::kServer;
  // The peer's a=fingerprint (algorithm and value); required.
  std::string remote_fingerprint_algorithm;
  std::string remote_fingerprint;
  size_t mtu = 1200;  // largest datagram we emit
  std::chrono::milliseconds initial_retransmit{100};
  std::chrono::milliseconds max_retransmit{4000};
  std::chrono::milliseconds handshake_timeout{30'000};
};

class DtlsTransport {
 public:
  using Clock = std::chrono::steady_clock;
  struct Callbacks {
    std::function<void(std::span<const uint8_t>)> send_datagram;
    // keys is empty when the peer negotiated no SRTP profile (data channels only).
    std::function<void(const std::optional<DtlsSrtpKeys>& keys)> on_connected;
    std::function<void(std::span<const uint8_t>)> on_application_data;
    std::function<void(const std::string& reason)> on_failed;
    std::function<void()> on_closed;  // the peer sent close_notify
  };

  DtlsTransport(std::shared_ptr<const DtlsCertificate> certificate, DtlsConfig config,
                Callbacks callbacks);
  ~DtlsTransport();
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  // Begins the handshake (the client sends its ClientHello now).
  void start(Clock::time_point now);
  // A datagram whose first byte is 20..63 (RFC 7983).
  void handle_datagram(std::span<const uint8_t> datagram, Clock::time_point now);
  // Retransmissions and the handshake deadline; call at next_timeout().
  void handle_timeout(Clock::time_point now);
  std::optional<Clock::time_point> next_timeout(Clock::time_point now) const;

  // Application data (SCTP packets) once connected; false if not connected
  // or OpenSSL refused the write.
  bool send_application_data(std::span<const uint8_t> data);
  // Sends close_notify; the state becomes kClosed.
  void close();

  DtlsState state() const { return state_; }
  DtlsRole role() const { return config_.role; }
  const std::string& failure_reason() const { return failure_; }

 private:
  friend struct DtlsAccess;
  void drive_handshake();
  void read_application_data();
  bool take_buffers();
  void release_buffers();
  void fail(std::string reason);
  std::optional<DtlsSrtpKeys> export_keys();
  bool peer_fingerprint_matches();

  std::shared_ptr<const DtlsCertificate> certificate_;
  DtlsConfig config_;
  Callbacks callbacks_;
  ssl_st* ssl_ = nullptr;
  DtlsState state_ = DtlsState::kNew;
  Clock::time_point deadline_{};
  std::string failure_;
  bool fingerprint_mismatch_ = false;
  int buffer_users_ = 0;  // entry points on the stack holding the record buffers
};

}  // namespace atrium::media
