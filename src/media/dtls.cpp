#include "media/dtls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>

namespace atrium::media {

// Gives the C callbacks below access to the transport's private parts.
struct DtlsAccess {
  static void emit(DtlsTransport& transport, std::span<const uint8_t> datagram) {
    if (transport.callbacks_.send_datagram) transport.callbacks_.send_datagram(datagram);
  }
  static bool check_certificate(DtlsTransport& transport, X509* certificate) {
    auto fingerprint =
        certificate_fingerprint(certificate, transport.config_.remote_fingerprint_algorithm);
    bool matches =
        fingerprint && std::equal(fingerprint->begin(), fingerprint->end(),
                                  transport.config_.remote_fingerprint.begin(),
                                  transport.config_.remote_fingerprint.end(), [](char a, char b) {
                                    return std::toupper(static_cast<unsigned char>(a)) ==
                                           std::toupper(static_cast<unsigned char>(b));
                                  });
    if (!matches) transport.fingerprint_mismatch_ = true;
    return matches;
  }
};

namespace {

std::string openssl_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

// SSL ex_data slot holding the DtlsTransport*.
int transport_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

DtlsTransport* transport_of(SSL* ssl) {
  return static_cast<DtlsTransport*>(SSL_get_ex_data(ssl, transport_index()));
}

// Output BIO: every write is one datagram. A memory BIO would glue a whole
// flight into one buffer and lose the datagram boundaries OpenSSL chose for
// the MTU.
int datagram_bio_write(BIO* bio, const char* data, int length) {
  auto* transport = static_cast<DtlsTransport*>(BIO_get_data(bio));
  if (transport && length > 0) {
    DtlsAccess::emit(*transport,
                     {reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(length)});
  }
  return length;
}

long datagram_bio_ctrl(BIO* /*bio*/, int command, long /*num*/, void* /*ptr*/) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
      return 28;  // IPv4 + UDP headers: DTLS_set_link_mtu subtracts this
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
      return 0;
    default:
      return 0;
  }
}

BIO_METHOD* datagram_bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "atrium-dtls-out");
    BIO_meth_set_write(m, datagram_bio_write);
    BIO_meth_set_ctrl(m, datagram_bio_ctrl);
    BIO_meth_set_create(m, [](BIO* bio) {
      BIO_set_init(bio, 1);
      return 1;
    });
    return m;
  }();
  return method;
}

// The fingerprint is the only trust anchor: a self-signed certificate fails
// OpenSSL's chain check, so the verdict is ours alone, taken on the leaf.
int verify_peer(int /*preverify_ok*/, X509_STORE_CTX* store) {
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  DtlsTransport* transport = ssl ? transport_of(ssl) : nullptr;
  X509* leaf = X509_STORE_CTX_get_current_cert(store);
  if (!transport || !leaf) return 0;
  return DtlsAccess::check_certificate(*transport, leaf) ? 1 : 0;
}

const char kSrtpProfiles[] = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";
const char kCipherList[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA";

}  // namespace

std::optional<std::string> certificate_fingerprint(X509* certificate, std::string_view algorithm) {
  std::string name(algorithm);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const EVP_MD* digest = nullptr;
  if (name == "sha-1")
    digest = EVP_sha1();
  else if (name == "sha-256")
    digest = EVP_sha256();
  else if (name == "sha-384")
    digest = EVP_sha384();
  else if (name == "sha-512")
    digest = EVP_sha512();
  if (!digest || !certificate) return std::nullopt;
  unsigned char bytes[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(certificate, digest, bytes, &length) != 1) return std::nullopt;
  static const char kHex[] = "0123456789ABCDEF";
  std::string text;
  text.reserve(length * 3);
  for (unsigned int i = 0; i < length; ++i) {
    if (i) text.push_back(':');
    text.push_back(kHex[bytes[i] >> 4]);
    text.push_back(kHex[bytes[i] & 0xF]);
  }
  return text;
}

std::shared_ptr<DtlsCertificate> DtlsCertificate::generate(std::chrono::hours lifetime) {
  std::shared_ptr<DtlsCertificate> cert(new DtlsCertificate());
  cert->key_ = EVP_EC_gen("P-256");
  cert->certificate_ = X509_new();
  if (!cert->key_ || !cert->certificate_) return nullptr;
  X509* x = cert->certificate_;
  uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial));
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial >> 1);
  X509_set_version(x, 2);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x),
                  std::chrono::duration_cast<std::chrono::seconds>(lifetime).count());
  X509_NAME* subject = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("atrium"), -1, -1, 0);
  X509_set_issuer_name(x, subject);
  if (X509_set_pubkey(x, cert->key_) != 1 || X509_sign(x, cert->key_, EVP_sha256()) == 0)
    return nullptr;
  auto fingerprint = certificate_fingerprint(x, "sha-256");
  if (!fingerprint) return nullptr;
  cert->fingerprint_ = *fingerprint;

  SSL_CTX* context = SSL_CTX_new(DTLS_method());
  if (!context) return nullptr;
  cert->context_ = context;
  if (SSL_CTX_use_certificate(context, x) != 1 || SSL_CTX_use_PrivateKey(context, cert->key_) != 1)
    return nullptr;
  SSL_CTX_set_min_proto_version(context, DTLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(context, DTLS1_2_VERSION);
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_peer);
  SSL_CTX_set_read_ahead(context, 1);
  SSL_CTX_set_options(context, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_cipher_list(context, kCipherList) != 1) return nullptr;
  // OpenSSL's inverted convention: 0 means success.
  if (SSL_CTX_set_tlsext_use_srtp(context, kSrtpProfiles) != 0) return nullptr;
  return cert;
}

DtlsCertificate::~DtlsCertificate() {
  SSL_CTX_free(context_);
  X509_free(certificate_);
  EVP_PKEY_free(key_);
}

const char* to_string(DtlsState state) {
  switch (state) {
    case DtlsState::kNew:
      return "new";
    case DtlsState::kConnecting:
      return "connecting";
    case DtlsState::kConnected:
      return "connected";
    case DtlsState::kFailed:
      return "failed";
    case DtlsState::kClosed:
      return "closed";
  }
  return "unknown";
}

namespace {
// Retransmission backoff: OpenSSL's default starts at one second, too slow
// for a call that should connect in a round trip or two.
struct TimerLimits {
  unsigned initial_us;
  unsigned max_us;
};
unsigned dtls_timer(SSL* ssl, unsigned previous_us) {
  auto* limits = static_cast<TimerLimits*>(SSL_get_app_data(ssl));
  if (!limits) return previous_us == 0 ? 100'000 : std::min(previous_us * 2, 4'000'000u);
  if (previous_us == 0) return limits->initial_us;
  return std::min(previous_us * 2, limits->max_us);
}
}  // namespace

DtlsTransport::DtlsTransport(std::shared_ptr<const DtlsCertificate> certificate, DtlsConfig config,
                             Callbacks callbacks)
    : certificate_(std::move(certificate)),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)) {
  ssl_ = SSL_new(certificate_->context());
  if (!ssl_) {
    fail("SSL_new: " + openssl_error());
    return;
  }
  SSL_set_ex_data(ssl_, transport_index(), this);
  BIO* input = BIO_new(BIO_s_mem());
  BIO* output = BIO_new(datagram_bio_method());
  BIO_set_mem_eof_return(input, -1);  // empty input means "want read", not EOF
  BIO_set_data(output, this);
  SSL_set_bio(ssl_, input, output);
  DTLS_set_link_mtu(ssl_, static_cast<long>(config_.mtu));
  auto* limits = new TimerLimits{
      static_cast<unsigned>(
          std::chrono::duration_cast<std::chrono::microseconds>(config_.initial_retransmit)
              .count()),
      static_cast<unsigned>(
          std::chrono::duration_cast<std::chrono::microseconds>(config_.max_retransmit).count())};
  SSL_set_app_data(ssl_, limits);
  DTLS_set_timer_cb(ssl_, dtls_timer);
  if (config_.role == DtlsRole::kClient)
    SSL_set_connect_state(ssl_);
  else
    SSL_set_accept_state(ssl_);
}

DtlsTransport::~DtlsTransport() {
  if (ssl_) {
    delete static_cast<TimerLimits*>(SSL_get_app_data(ssl_));
    // No callbacks from here on: the BIO may still be flushed by SSL_free.
    BIO_set_data(SSL_get_wbio(ssl_), nullptr);
    SSL_free(ssl_);
  }
}

void DtlsTransport::start(Clock::time_point now) {
  if (state_ != DtlsState::kNew) return;
  state_ = DtlsState::kConnecting;
  deadline_ = now + config_.handshake_timeout;
  if (config_.remote_fingerprint.empty()) {
    fail("the peer's SDP has no fingerprint");
    return;
  }
  if (config_.role == DtlsRole::kClient) drive_handshake();
}

// OpenSSL keeps a 16 KiB record buffer each way per connection, ~33 KiB, and
// SSL_MODE_RELEASE_BUFFERS does nothing for DTLS. Once connected, every entry
// point takes them for its call and the outermost gives them back after it
// (SSL_free_buffers keeps them while a record is still pending): an idle
// connection holds none. Calls nest when a callback sends (SCTP answers).
bool DtlsTransport::take_buffers() {
  if (state_ == DtlsState::kConnected && SSL_alloc_buffers(ssl_) != 1) return false;
  ++buffer_users_;
  return true;
}

void DtlsTransport::release_buffers() {
  if (--buffer_users_ == 0 && ssl_ && state_ == DtlsState::kConnected) (void)SSL_free_buffers(ssl_);
}

void DtlsTransport::handle_datagram(std::span<const uint8_t> datagram, Clock::time_point now) {
  if (!ssl_ || state_ == DtlsState::kFailed || state_ == DtlsState::kClosed) return;
  if (state_ == DtlsState::kNew) start(now);
  if (state_ == DtlsState::kFailed || !take_buffers()) return;
  BIO_write(SSL_get_rbio(ssl_), datagram.data(), static_cast<int>(datagram.size()));
  if (state_ == DtlsState::kConnecting)
    drive_handshake();
  else if (state_ == DtlsState::kConnected)
    read_application_data();
  // Whatever OpenSSL did not consume (a record it dropped) must not linger
  // and be parsed as the start of the next datagram.
  (void)BIO_reset(SSL_get_rbio(ssl_));
  release_buffers();
}

void DtlsTransport::drive_handshake() {
  ERR_clear_error();
  int result = SSL_do_handshake(ssl_);
  if (result == 1) {
    if (fingerprint_mismatch_ || !peer_fingerprint_matches()) {
      fail("the peer's certificate does not match its SDP fingerprint");
      return;
    }
    state_ = DtlsState::kConnected;
    auto keys = export_keys();
    if (state_ != DtlsState::kConnected) return;  // export failed
    if (callbacks_.on_connected) callbacks_.on_connected(keys);
    read_application_data();  // data that came with the last flight
    return;
  }
  int error = SSL_get_error(ssl_, result);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return;
  if (fingerprint_mismatch_) {
    fail("the peer's certificate does not match its SDP fingerprint");
    return;
  }
  fail("handshake failed: " + openssl_error());
}

void DtlsTransport::read_application_data() {
  uint8_t buffer[16 * 1024 + 256];  // one DTLS record at most
  while (state_ == DtlsState::kConnected) {
    ERR_clear_error();
    int read = SSL_read(ssl_, buffer, sizeof(buffer));
    if (read > 0) {
      if (callbacks_.on_application_data)
        callbacks_.on_application_data({buffer, static_cast<size_t>(read)});
      continue;
    }
    int error = SSL_get_error(ssl_, read);
    if (error == SSL_ERROR_ZERO_RETURN) {
      state_ = DtlsState::kClosed;
      if (callbacks_.on_closed) callbacks_.on_closed();
    } else if (error == SSL_ERROR_SSL) {
      fail("read failed: " + openssl_error());
    }
    // Anything else (SSL_ERROR_SYSCALL from a truncated record) is a datagram
    // DTLS drops: a forged packet must not tear down a working connection.
    ERR_clear_error();
    return;
  }
}

void DtlsTransport::handle_timeout(Clock::time_point now) {
  if (state_ == DtlsState::kConnecting && now >= deadline_) {
    fail("handshake timed out");
    return;
  }
  if (!ssl_ || (state_ != DtlsState::kConnecting && state_ != DtlsState::kConnected)) return;
  if (!take_buffers()) return;
  ERR_clear_error();
  if (DTLSv1_handle_timeout(ssl_) < 0 && state_ == DtlsState::kConnecting)
    fail("handshake gave up after retransmissions: " + openssl_error());
  release_buffers();
}

std::optional<DtlsTransport::Clock::time_point> DtlsTransport::next_timeout(
    Clock::time_point now) const {
  if (!ssl_ || (state_ != DtlsState::kConnecting && state_ != DtlsState::kConnected))
    return std::nullopt;
  std::optional<Clock::time_point> next;
  if (state_ == DtlsState::kConnecting) next = deadline_;
  timeval remaining{};
  if (DTLSv1_get_timeout(ssl_, &remaining) == 1) {
    auto at =
        now + std::chrono::seconds(remaining.tv_sec) + std::chrono::microseconds(remaining.tv_usec);
    if (!next || at < *next) next = at;
  }
  return next;
}

bool DtlsTransport::send_application_data(std::span<const uint8_t> data) {
  if (state_ != DtlsState::kConnected || data.empty() || !take_buffers()) return false;
  ERR_clear_error();
  int written = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
  release_buffers();
  return written == static_cast<int>(data.size());
}

void DtlsTransport::close() {
  if (state_ == DtlsState::kConnected && take_buffers()) {
    ERR_clear_error();
    SSL_shutdown(ssl_);
    release_buffers();
  }
  if (state_ != DtlsState::kFailed) state_ = DtlsState::kClosed;
}

void DtlsTransport::fail(std::string reason) {
  if (state_ == DtlsState::kFailed) return;
  state_ = DtlsState::kFailed;
  failure_ = std::move(reason);
  if (callbacks_.on_failed) callbacks_.on_failed(failure_);
}

bool DtlsTransport::peer_fingerprint_matches() {
  X509* peer = SSL_get0_peer_certificate(ssl_);
  return peer && DtlsAccess::check_certificate(*this, peer);
}

std::optional<DtlsSrtpKeys> DtlsTransport::export_keys() {
  SRTP_PROTECTION_PROFILE* selected = SSL_get_selected_srtp_profile(ssl_);
  if (!selected) return std::nullopt;
  DtlsSrtpKeys keys;
  switch (selected->id) {
    case SRTP_AEAD_AES_128_GCM:
      keys.profile = SrtpProfile::kAeadAes128Gcm;
      break;
    case SRTP_AES128_CM_SHA1_80:
      keys.profile = SrtpProfile::kAes128CmHmacSha1_80;
      break;
    default:
      fail("the peer chose an SRTP profile we did not offer");
      return std::nullopt;
  }
  const size_t key_length = kSrtpMasterKeyLength;
  const size_t salt_length = master_salt_length(keys.profile);
  // RFC 5764 §4.2: client key | server key | client salt | server salt.
  std::vector<uint8_t> material(2 * (key_length + salt_length));
  static const char kLabel[] = "EXTRACTOR-dtls_srtp";
  if (SSL_export_keying_material(ssl_, material.data(), material.size(), kLabel, sizeof(kLabel) - 1,
                                 nullptr, 0, 0) != 1) {
    fail("exporting SRTP keys failed: " + openssl_error());
    return std::nullopt;
  }
  auto at = [&](size_t offset, size_t length) {
    return std::vector<uint8_t>(material.begin() + static_cast<long>(offset),
                                material.begin() + static_cast<long>(offset + length));
  };
  auto client_key = at(0, key_length);
  auto server_key = at(key_length, key_length);
  auto client_salt = at(2 * key_length, salt_length);
  auto server_salt = at(2 * key_length + salt_length, salt_length);
  bool client = config_.role == DtlsRole::kClient;
  keys.local_key = client ? client_key : server_key;
  keys.local_salt = client ? client_salt : server_salt;
  keys.remote_key = client ? server_key : client_key;
  keys.remote_salt = client ? server_salt : client_salt;
  return keys;
}

}  // namespace atrium::media
