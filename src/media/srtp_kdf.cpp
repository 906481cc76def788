#include "media/srtp_kdf.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>

namespace atrium::media {
namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

const EVP_CIPHER* aes_128_ctr() {
  // Fetched once for the process; key derivation is rare, so a fresh context
  // per call is fine here (the packet path keeps its own).
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr);
  return cipher;
}

}  // namespace

bool aes_cm_keystream(std::span<const uint8_t, 16> key, std::span<const uint8_t, 16> iv,
                      std::span<uint8_t> out) {
  if (aes_128_ctr() == nullptr) return false;
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), aes_128_ctr(), nullptr, key.data(), iv.data()) != 1) {
    return false;
  }
  // Counter mode keystream = encryption of zeros.
  std::fill(out.begin(), out.end(), uint8_t{0});
  int written = 0;
  return EVP_EncryptUpdate(ctx.get(), out.data(), &written, out.data(),
                           static_cast<int>(out.size())) == 1 &&
         static_cast<size_t>(written) == out.size();
}

bool derive_srtp_key(std::span<const uint8_t> master_key, std::span<const uint8_t> master_salt,
                     SrtpLabel label, std::span<uint8_t> out) {
  if (master_key.size() != kSrtpMasterKeyLength || master_salt.size() > kSrtpCmMasterSaltLength) {
    return false;
  }
  std::array<uint8_t, 16> iv{};
  std::copy(master_salt.begin(), master_salt.end(), iv.begin());
  // key_id = label || r (48 bits, r = 0 at kdr 0) aligned right in 112 bits:
  // the label lands on byte 7.
  iv[7] ^= static_cast<uint8_t>(label);
  return aes_cm_keystream(std::span<const uint8_t, 16>(master_key.data(), 16), iv, out);
}

bool derive_srtp_session_keys(SrtpProfile profile, std::span<const uint8_t> master_key,
                              std::span<const uint8_t> master_salt, SrtpDerivedKeys& out) {
  if (master_key.size() != kSrtpMasterKeyLength ||
      master_salt.size() != master_salt_length(profile)) {
    return false;
  }
  const size_t salt_length = master_salt_length(profile);
  out = SrtpDerivedKeys{};
  bool ok =
      derive_srtp_key(master_key, master_salt, SrtpLabel::kRtpEncryption, out.rtp.cipher_key) &&
      derive_srtp_key(master_key, master_salt, SrtpLabel::kRtpSalt,
                      std::span(out.rtp.salt).first(salt_length)) &&
      derive_srtp_key(master_key, master_salt, SrtpLabel::kRtcpEncryption, out.rtcp.cipher_key) &&
      derive_srtp_key(master_key, master_salt, SrtpLabel::kRtcpSalt,
                      std::span(out.rtcp.salt).first(salt_length));
  if (ok && !is_aead(profile)) {
    ok =
        derive_srtp_key(master_key, master_salt, SrtpLabel::kRtpAuthentication, out.rtp.auth_key) &&
        derive_srtp_key(master_key, master_salt, SrtpLabel::kRtcpAuthentication, out.rtcp.auth_key);
  }
  if (!ok) OPENSSL_cleanse(&out, sizeof(out));
  return ok;
}

}  // namespace atrium::media
