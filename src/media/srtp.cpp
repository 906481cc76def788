#include "media/srtp.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>

#include "media/byte_io.hpp"

namespace atrium::media {
namespace {

constexpr size_t kRtpFixedHeader = 12;
constexpr size_t kRtcpFixedHeader = 8;
constexpr size_t kSrtcpIndexLength = 4;
constexpr size_t kGcmTagLength = 16;
constexpr uint32_t kSrtcpEncryptedBit = 0x80000000u;
constexpr uint32_t kMaxSrtcpIndex = 0x7fffffffu;

// Process-wide algorithm objects: fetching is costly and they are immutable.
const EVP_CIPHER* aes_128_ctr() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr);
  return cipher;
}
const EVP_CIPHER* aes_128_gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  return cipher;
}
EVP_MAC* hmac() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;

// Header length including CSRCs and the extension block, or 0 if malformed.
size_t rtp_header_length(const uint8_t* packet, size_t length) {
  if (length < kRtpFixedHeader || (packet[0] >> 6) != 2) return 0;
  size_t header = kRtpFixedHeader + 4 * size_t(packet[0] & 0x0f);
  if (packet[0] & 0x10) {
    if (length < header + 4) return 0;
    header += 4 + 4 * size_t(read_u16(packet + header + 2));
  }
  return header <= length ? header : 0;
}

bool is_rtcp_header(const uint8_t* packet, size_t length) {
  return length >= kRtcpFixedHeader && (packet[0] >> 6) == 2;
}

// RFC 3711 §4.1.1: (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16).
std::array<uint8_t, 16> aes_cm_iv(const std::array<uint8_t, 14>& salt, uint32_t ssrc,
                                  uint64_t index) {
  std::array<uint8_t, 16> iv{};
  std::copy(salt.begin(), salt.end(), iv.begin());
  uint8_t mix[16] = {};
  write_u32(mix + 4, ssrc);
  write_u16(mix + 8, static_cast<uint16_t>(index >> 32));
  write_u32(mix + 10, static_cast<uint32_t>(index));
  for (size_t i = 0; i < 16; ++i)
    iv[i] ^= mix[i];
  return iv;
}

// RFC 7714 §8.1 (RTP: 00 00 | SSRC | ROC | SEQ) and §9.1 (RTCP: 00 00 | SSRC |
// 00 00 | index), XORed with the 12-byte salt.
std::array<uint8_t, 12> gcm_iv(const std::array<uint8_t, 14>& salt, uint32_t ssrc, uint32_t word,
                               uint16_t low) {
  std::array<uint8_t, 12> iv{};
  write_u32(iv.data() + 2, ssrc);
  write_u32(iv.data() + 6, word);
  write_u16(iv.data() + 10, low);
  for (size_t i = 0; i < 12; ++i)
    iv[i] ^= salt[i];
  return iv;
}

bool ctr_crypt(EVP_CIPHER_CTX* ctx, const std::array<uint8_t, 16>& iv, uint8_t* data, size_t size) {
  int written = 0;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv.data()) != 1) return false;
  return size == 0 || EVP_EncryptUpdate(ctx, data, &written, data, static_cast<int>(size)) == 1;
}

bool hmac_sha1(EVP_MAC_CTX* ctx, const uint8_t* data, size_t size, const uint8_t* trailer,
               size_t trailer_size, uint8_t (&out)[20]) {
  size_t written = 0;
  return EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 && EVP_MAC_update(ctx, data, size) == 1 &&
         (trailer_size == 0 || EVP_MAC_update(ctx, trailer, trailer_size) == 1) &&
         EVP_MAC_final(ctx, out, &written, sizeof(out)) == 1 && written == sizeof(out);
}

// The tag through OSSL_PARAM directly: EVP_CIPHER_CTX_ctrl would translate
// to the same call with extra work on every packet.
bool gcm_tag_param(EVP_CIPHER_CTX* ctx, uint8_t* tag, bool get) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kGcmTagLength),
      OSSL_PARAM_construct_end()};
  return get ? EVP_CIPHER_CTX_get_params(ctx, params) == 1
             : EVP_CIPHER_CTX_set_params(ctx, params) == 1;
}

bool gcm_seal(EVP_CIPHER_CTX* ctx, const std::array<uint8_t, 12>& iv, const uint8_t* aad,
              size_t aad_size, const uint8_t* aad_tail, size_t aad_tail_size, uint8_t* data,
              size_t size, uint8_t* tag_out) {
  int written = 0;
  return EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv.data()) == 1 &&
         EVP_EncryptUpdate(ctx, nullptr, &written, aad, static_cast<int>(aad_size)) == 1 &&
         (aad_tail_size == 0 || EVP_EncryptUpdate(ctx, nullptr, &written, aad_tail,
                                                  static_cast<int>(aad_tail_size)) == 1) &&
         (size == 0 || EVP_EncryptUpdate(ctx, data, &written, data, static_cast<int>(size)) == 1) &&
         EVP_EncryptFinal_ex(ctx, data + size, &written) == 1 &&
         gcm_tag_param(ctx, tag_out, /*get=*/true);
}

// kAuthFailed on a bad tag; data is decrypted in place either way.
SrtpError gcm_open(EVP_CIPHER_CTX* ctx, const std::array<uint8_t, 12>& iv, const uint8_t* aad,
                   size_t aad_size, const uint8_t* aad_tail, size_t aad_tail_size, uint8_t* data,
                   size_t size, uint8_t* tag) {
  int written = 0;
  bool ok =
      EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, iv.data()) == 1 &&
      EVP_DecryptUpdate(ctx, nullptr, &written, aad, static_cast<int>(aad_size)) == 1 &&
      (aad_tail_size == 0 ||
       EVP_DecryptUpdate(ctx, nullptr, &written, aad_tail, static_cast<int>(aad_tail_size)) == 1) &&
      (size == 0 || EVP_DecryptUpdate(ctx, data, &written, data, static_cast<int>(size)) == 1) &&
      gcm_tag_param(ctx, tag, /*get=*/false);
  if (!ok) return SrtpError::kCryptoFailure;
  return EVP_DecryptFinal_ex(ctx, data + size, &written) == 1 ? SrtpError::kOk
                                                              : SrtpError::kAuthFailed;
}

}  // namespace

const char* to_string(SrtpError error) {
  switch (error) {
    case SrtpError::kOk:
      return "ok";
    case SrtpError::kMalformed:
      return "malformed packet";
    case SrtpError::kBufferTooSmall:
      return "buffer too small for the tag";
    case SrtpError::kAuthFailed:
      return "authentication failed";
    case SrtpError::kReplayed:
      return "replayed packet";
    case SrtpError::kTooOld:
      return "packet older than the replay window";
    case SrtpError::kIndexExhausted:
      return "SRTCP index exhausted";
    case SrtpError::kTooManyStreams:
      return "too many SSRCs";
    case SrtpError::kCryptoFailure:
      return "crypto library failure";
  }
  return "unknown";
}

SrtpError ReplayWindow::check(uint64_t index) const {
  if (!started_ || index > highest_) return SrtpError::kOk;
  const uint64_t behind = highest_ - index;
  if (behind >= kSrtpReplayWindowSize) return SrtpError::kTooOld;
  const uint64_t word = bits_[behind / 64];
  return (word >> (behind % 64)) & 1 ? SrtpError::kReplayed : SrtpError::kOk;
}

void ReplayWindow::accept(uint64_t index) {
  if (!started_) {
    started_ = true;
    highest_ = index;
    bits_[0] = 1;
    bits_[1] = 0;
    return;
  }
  if (index > highest_) {
    const uint64_t shift = index - highest_;
    if (shift >= 128) {
      bits_[0] = bits_[1] = 0;
    } else if (shift >= 64) {
      bits_[1] = bits_[0] << (shift - 64);
      bits_[0] = 0;
    } else {
      bits_[1] = (bits_[1] << shift) | (bits_[0] >> (64 - shift));
      bits_[0] <<= shift;
    }
    bits_[0] |= 1;
    highest_ = index;
    return;
  }
  const uint64_t behind = highest_ - index;
  if (behind < kSrtpReplayWindowSize) bits_[behind / 64] |= uint64_t{1} << (behind % 64);
}

int64_t estimate_srtp_index(uint64_t highest_index, uint16_t seq) {
  const int64_t roc = static_cast<int64_t>(highest_index >> 16);
  const uint32_t s_l = static_cast<uint16_t>(highest_index);
  int64_t v = roc;
  if (s_l < 32768) {
    if (seq > s_l + 32768) v = roc - 1;  // a late packet from before the wrap
  } else if (s_l - 32768 > seq) {
    v = roc + 1;  // the sequence number wrapped
  }
  if (v < 0) return -1;
  return (v << 16) | seq;
}

struct SrtpSession::Crypto {
  // Each cipher context (~1 KiB) is keyed on first use: with DTLS-SRTP a
  // session works one way only, and an idle peer needs none of them.
  CipherCtx rtp_encrypt, rtp_decrypt, rtcp_encrypt, rtcp_decrypt;
  MacCtx rtp_mac, rtcp_mac;
  const EVP_CIPHER* cipher = nullptr;
  std::array<uint8_t, kSrtpMasterKeyLength> rtp_key{}, rtcp_key{};
  std::array<uint8_t, 14> rtp_salt{}, rtcp_salt{};

  // nullptr if OpenSSL cannot set the context up.
  EVP_CIPHER_CTX* keyed(CipherCtx& ctx, const std::array<uint8_t, kSrtpMasterKeyLength>& key,
                        bool encrypt) {
    if (ctx) return ctx.get();
    CipherCtx made(EVP_CIPHER_CTX_new());
    // The IV is set per packet; GCM keeps its default 12-byte IV length.
    if (!made ||
        (encrypt ? EVP_EncryptInit_ex(made.get(), cipher, nullptr, key.data(), nullptr)
                 : EVP_DecryptInit_ex(made.get(), cipher, nullptr, key.data(), nullptr)) != 1) {
      return nullptr;
    }
    ctx = std::move(made);
    return ctx.get();
  }
  EVP_CIPHER_CTX* rtp_encryptor() { return keyed(rtp_encrypt, rtp_key, true); }
  EVP_CIPHER_CTX* rtp_decryptor() { return keyed(rtp_decrypt, rtp_key, false); }
  EVP_CIPHER_CTX* rtcp_encryptor() { return keyed(rtcp_encrypt, rtcp_key, true); }
  EVP_CIPHER_CTX* rtcp_decryptor() { return keyed(rtcp_decrypt, rtcp_key, false); }

  ~Crypto() {
    OPENSSL_cleanse(rtp_key.data(), rtp_key.size());
    OPENSSL_cleanse(rtcp_key.data(), rtcp_key.size());
    OPENSSL_cleanse(rtp_salt.data(), rtp_salt.size());
    OPENSSL_cleanse(rtcp_salt.data(), rtcp_salt.size());
  }
};

SrtpSession::SrtpSession(SrtpProfile profile, SrtpOptions options)
    : profile_(profile), options_(options), crypto_(std::make_unique<Crypto>()) {}

SrtpSession::~SrtpSession() = default;

std::unique_ptr<SrtpSession> SrtpSession::create(SrtpProfile profile,
                                                 std::span<const uint8_t> master_key,
                                                 std::span<const uint8_t> master_salt,
                                                 SrtpOptions options) {
  SrtpDerivedKeys keys;
  if (!derive_srtp_session_keys(profile, master_key, master_salt, keys)) return nullptr;
  auto session = create_from_session_keys(profile, keys, options);
  OPENSSL_cleanse(&keys, sizeof(keys));
  return session;
}

std::unique_ptr<SrtpSession> SrtpSession::create_from_session_keys(SrtpProfile profile,
                                                                   const SrtpDerivedKeys& keys,
                                                                   SrtpOptions options) {
  std::unique_ptr<SrtpSession> session(new SrtpSession(profile, options));
  if (!session->init(keys)) return nullptr;
  return session;
}

bool SrtpSession::init(const SrtpDerivedKeys& keys) {
  Crypto& c = *crypto_;
  c.rtp_salt = keys.rtp.salt;
  c.rtcp_salt = keys.rtcp.salt;
  c.cipher = is_aead(profile_) ? aes_128_gcm() : aes_128_ctr();
  if (c.cipher == nullptr) return false;
  c.rtp_key = keys.rtp.cipher_key;
  c.rtcp_key = keys.rtcp.cipher_key;
  if (is_aead(profile_)) return true;
  auto mac_keyed = [&](MacCtx& ctx, const SrtpSessionKeys& k) {
    if (hmac() == nullptr) return false;
    ctx.reset(EVP_MAC_CTX_new(hmac()));
    char digest[] = "SHA1";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    return ctx && EVP_MAC_init(ctx.get(), k.auth_key.data(), k.auth_key.size(), params) == 1;
  };
  return mac_keyed(c.rtp_mac, keys.rtp) && mac_keyed(c.rtcp_mac, keys.rtcp);
}

template <typename Map>
typename Map::mapped_type* SrtpSession::find_or_add(Map& streams, uint32_t ssrc) {
  auto it = streams.find(ssrc);
  if (it != streams.end()) return &it->second;
  if (streams.size() >= kSrtpMaxStreams) return nullptr;
  return &streams[ssrc];
}

SrtpError SrtpSession::protect_rtp(std::span<uint8_t> buffer, size_t& length) {
  uint8_t* packet = buffer.data();
  const size_t tag_length = rtp_tag_length(profile_);
  if (length > buffer.size()) return SrtpError::kMalformed;
  const size_t header = rtp_header_length(packet, length);
  if (header == 0) return SrtpError::kMalformed;
  if (buffer.size() - length < tag_length) return SrtpError::kBufferTooSmall;
  const uint16_t seq = read_u16(packet + 2);
  const uint32_t ssrc = read_u32(packet + 8);
  SendRtpStream* stream = find_or_add(send_rtp_, ssrc);
  if (stream == nullptr) return SrtpError::kTooManyStreams;

  uint64_t index = seq;
  if (stream->started) {
    const int64_t estimate = estimate_srtp_index(stream->highest_index, seq);
    if (estimate < 0) return SrtpError::kTooOld;
    index = static_cast<uint64_t>(estimate);
  }
  const uint32_t roc = static_cast<uint32_t>(index >> 16);
  Crypto& c = *crypto_;
  EVP_CIPHER_CTX* cipher = c.rtp_encryptor();
  if (cipher == nullptr) return SrtpError::kCryptoFailure;
  if (is_aead(profile_)) {
    if (!gcm_seal(cipher, gcm_iv(c.rtp_salt, ssrc, roc, seq), packet, header, nullptr, 0,
                  packet + header, length - header, packet + length)) {
      return SrtpError::kCryptoFailure;
    }
  } else {
    uint8_t roc_bytes[4];
    write_u32(roc_bytes, roc);
    uint8_t mac[20];
    if (!ctr_crypt(cipher, aes_cm_iv(c.rtp_salt, ssrc, index), packet + header, length - header) ||
        !hmac_sha1(c.rtp_mac.get(), packet, length, roc_bytes, 4, mac)) {
      return SrtpError::kCryptoFailure;
    }
    std::copy(mac, mac + tag_length, packet + length);
  }
  if (!stream->started || index > stream->highest_index) stream->highest_index = index;
  stream->started = true;
  length += tag_length;
  return SrtpError::kOk;
}

SrtpError SrtpSession::unprotect_rtp(std::span<uint8_t> buffer, size_t& length) {
  uint8_t* packet = buffer.data();
  const size_t tag_length = rtp_tag_length(profile_);
  if (length > buffer.size() || length < kRtpFixedHeader + tag_length) {
    return SrtpError::kMalformed;
  }
  const size_t payload_end = length - tag_length;
  const size_t header = rtp_header_length(packet, payload_end);
  if (header == 0) return SrtpError::kMalformed;
  const uint16_t seq = read_u16(packet + 2);
  const uint32_t ssrc = read_u32(packet + 8);

  auto found = receive_rtp_.find(ssrc);
  ReplayWindow* window = found == receive_rtp_.end() ? nullptr : &found->second;
  uint64_t index = seq;  // the first packet of a stream sets ROC 0 (RFC 3711 §3.3.1)
  if (window != nullptr) {
    const int64_t estimate = estimate_srtp_index(window->highest(), seq);
    if (estimate < 0) return SrtpError::kTooOld;
    index = static_cast<uint64_t>(estimate);
    if (options_.replay_protection) {
      if (SrtpError replay = window->check(index); replay != SrtpError::kOk) return replay;
    }
  } else if (receive_rtp_.size() >= kSrtpMaxStreams) {
    return SrtpError::kTooManyStreams;
  }

  const uint32_t roc = static_cast<uint32_t>(index >> 16);
  Crypto& c = *crypto_;
  EVP_CIPHER_CTX* cipher = c.rtp_decryptor();
  if (cipher == nullptr) return SrtpError::kCryptoFailure;
  if (is_aead(profile_)) {
    SrtpError opened = gcm_open(cipher, gcm_iv(c.rtp_salt, ssrc, roc, seq), packet, header, nullptr,
                                0, packet + header, payload_end - header, packet + payload_end);
    if (opened != SrtpError::kOk) return opened;
  } else {
    uint8_t roc_bytes[4];
    write_u32(roc_bytes, roc);
    uint8_t mac[20];
    if (!hmac_sha1(c.rtp_mac.get(), packet, payload_end, roc_bytes, 4, mac)) {
      return SrtpError::kCryptoFailure;
    }
    // Verify before decrypting: a forged packet leaves the buffer untouched.
    if (CRYPTO_memcmp(mac, packet + payload_end, tag_length) != 0) return SrtpError::kAuthFailed;
    if (!ctr_crypt(cipher, aes_cm_iv(c.rtp_salt, ssrc, index), packet + header,
                   payload_end - header)) {
      return SrtpError::kCryptoFailure;
    }
  }
  // Only authenticated packets create state or move the window.
  if (window == nullptr) window = &receive_rtp_[ssrc];
  window->accept(index);
  length = payload_end;
  return SrtpError::kOk;
}

void SrtpSession::set_next_srtcp_index(uint32_t ssrc, uint32_t index) {
  if (SendRtcpStream* stream = find_or_add(send_rtcp_, ssrc)) stream->next_index = index;
}

SrtpError SrtpSession::protect_rtcp(std::span<uint8_t> buffer, size_t& length) {
  uint8_t* packet = buffer.data();
  const size_t tag_length = rtcp_tag_length(profile_);
  if (length > buffer.size() || !is_rtcp_header(packet, length)) return SrtpError::kMalformed;
  if (buffer.size() - length < tag_length + kSrtcpIndexLength) return SrtpError::kBufferTooSmall;
  const uint32_t ssrc = read_u32(packet + 4);
  SendRtcpStream* stream = find_or_add(send_rtcp_, ssrc);
  if (stream == nullptr) return SrtpError::kTooManyStreams;
  if (stream->next_index > kMaxSrtcpIndex) return SrtpError::kIndexExhausted;
  const uint32_t index = stream->next_index;
  uint8_t e_and_index[4];
  write_u32(e_and_index, kSrtcpEncryptedBit | index);

  Crypto& c = *crypto_;
  EVP_CIPHER_CTX* cipher = c.rtcp_encryptor();
  if (cipher == nullptr) return SrtpError::kCryptoFailure;
  uint8_t* body = packet + kRtcpFixedHeader;
  const size_t body_size = length - kRtcpFixedHeader;
  if (is_aead(profile_)) {
    // Layout (RFC 7714 §9): header | ciphertext | tag | E+index.
    if (!gcm_seal(cipher, gcm_iv(c.rtcp_salt, ssrc, index >> 16, uint16_t(index)), packet,
                  kRtcpFixedHeader, e_and_index, 4, body, body_size, packet + length)) {
      return SrtpError::kCryptoFailure;
    }
    std::copy(e_and_index, e_and_index + 4, packet + length + kGcmTagLength);
  } else {
    // Layout (RFC 3711 §3.4): header | ciphertext | E+index | tag over all before it.
    uint8_t mac[20];
    if (!ctr_crypt(cipher, aes_cm_iv(c.rtcp_salt, ssrc, index), body, body_size)) {
      return SrtpError::kCryptoFailure;
    }
    std::copy(e_and_index, e_and_index + 4, packet + length);
    if (!hmac_sha1(c.rtcp_mac.get(), packet, length + 4, nullptr, 0, mac)) {
      return SrtpError::kCryptoFailure;
    }
    std::copy(mac, mac + tag_length, packet + length + 4);
  }
  stream->next_index = index + 1;
  length += tag_length + kSrtcpIndexLength;
  return SrtpError::kOk;
}

SrtpError SrtpSession::unprotect_rtcp(std::span<uint8_t> buffer, size_t& length) {
  uint8_t* packet = buffer.data();
  const size_t tag_length = rtcp_tag_length(profile_);
  if (length > buffer.size() || length < kRtcpFixedHeader + kSrtcpIndexLength + tag_length ||
      !is_rtcp_header(packet, length)) {
    return SrtpError::kMalformed;
  }
  const uint32_t ssrc = read_u32(packet + 4);
  const size_t plain_end = length - tag_length - kSrtcpIndexLength;
  // The E+index word sits after the tag for GCM and before it for AES-CM.
  uint8_t* e_and_index = is_aead(profile_) ? packet + length - 4 : packet + plain_end;
  const uint32_t word = read_u32(e_and_index);
  const bool encrypted = (word & kSrtcpEncryptedBit) != 0;
  const uint32_t index = word & kMaxSrtcpIndex;

  auto found = receive_rtcp_.find(ssrc);
  ReplayWindow* window = found == receive_rtcp_.end() ? nullptr : &found->second;
  if (window != nullptr && options_.replay_protection) {
    if (SrtpError replay = window->check(index); replay != SrtpError::kOk) return replay;
  } else if (window == nullptr && receive_rtcp_.size() >= kSrtpMaxStreams) {
    return SrtpError::kTooManyStreams;
  }

  Crypto& c = *crypto_;
  EVP_CIPHER_CTX* cipher = c.rtcp_decryptor();
  if (cipher == nullptr) return SrtpError::kCryptoFailure;
  uint8_t* body = packet + kRtcpFixedHeader;
  if (is_aead(profile_)) {
    const auto iv = gcm_iv(c.rtcp_salt, ssrc, index >> 16, uint16_t(index));
    // Unencrypted SRTCP (E = 0) authenticates the whole packet as AAD.
    const size_t aad_size = encrypted ? kRtcpFixedHeader : plain_end;
    const size_t cipher_size = encrypted ? plain_end - kRtcpFixedHeader : 0;
    SrtpError opened =
        gcm_open(cipher, iv, packet, aad_size, e_and_index, 4,
                 encrypted ? body : packet + plain_end, cipher_size, packet + plain_end);
    if (opened != SrtpError::kOk) return opened;
  } else {
    uint8_t mac[20];
    if (!hmac_sha1(c.rtcp_mac.get(), packet, plain_end + 4, nullptr, 0, mac)) {
      return SrtpError::kCryptoFailure;
    }
    if (CRYPTO_memcmp(mac, packet + plain_end + 4, tag_length) != 0) {
      return SrtpError::kAuthFailed;
    }
    if (encrypted && !ctr_crypt(cipher, aes_cm_iv(c.rtcp_salt, ssrc, index), body,
                                plain_end - kRtcpFixedHeader)) {
      return SrtpError::kCryptoFailure;
    }
  }
  if (window == nullptr) window = &receive_rtcp_[ssrc];
  window->accept(index);
  length = plain_end;
  return SrtpError::kOk;
}

}  // namespace atrium::media
