#pragma once
// SRTP protection profiles and the key derivation of RFC 3711 §4.3 (AES-CM PRF,
// key derivation rate 0), as used by DTLS-SRTP (RFC 5764) and RFC 7714.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace atrium::media {

// Values are the DTLS-SRTP protection profile ids (RFC 5764 §4.1.2, RFC 7714 §14.2).
enum class SrtpProfile : uint16_t {
  kAes128CmHmacSha1_80 = 0x0001,
  kAes128CmHmacSha1_32 = 0x0002,
  kAeadAes128Gcm = 0x0007,
};

inline constexpr size_t kSrtpMasterKeyLength = 16;
inline constexpr size_t kSrtpCmMasterSaltLength = 14;
inline constexpr size_t kSrtpGcmMasterSaltLength = 12;
inline constexpr size_t kSrtpHmacKeyLength = 20;

inline bool is_aead(SrtpProfile profile) {
  return profile == SrtpProfile::kAeadAes128Gcm;
}
inline size_t master_salt_length(SrtpProfile profile) {
  return is_aead(profile) ? kSrtpGcmMasterSaltLength : kSrtpCmMasterSaltLength;
}
// Bytes appended to an RTP packet: the HMAC tag (truncated) or the GCM tag.
inline size_t rtp_tag_length(SrtpProfile profile) {
  switch (profile) {
    case SrtpProfile::kAes128CmHmacSha1_80:
      return 10;
    case SrtpProfile::kAes128CmHmacSha1_32:
      return 4;
    case SrtpProfile::kAeadAes128Gcm:
      return 16;
  }
  return 16;
}
// SRTCP always uses the 80-bit tag with the _32 suite (RFC 5764 §4.1.2).
inline size_t rtcp_tag_length(SrtpProfile profile) {
  return is_aead(profile) ? 16 : 10;
}

// The six labels of RFC 3711 §4.3.2.
enum class SrtpLabel : uint8_t {
  kRtpEncryption = 0,
  kRtpAuthentication = 1,
  kRtpSalt = 2,
  kRtcpEncryption = 3,
  kRtcpAuthentication = 4,
  kRtcpSalt = 5,
};

// One direction's keys for RTP or RTCP. auth_key is unused by the AEAD profile;
// only the first 12 salt bytes are used by it.
struct SrtpSessionKeys {
  std::array<uint8_t, kSrtpMasterKeyLength> cipher_key{};
  std::array<uint8_t, kSrtpHmacKeyLength> auth_key{};
  std::array<uint8_t, kSrtpCmMasterSaltLength> salt{};
};

struct SrtpDerivedKeys {
  SrtpSessionKeys rtp;
  SrtpSessionKeys rtcp;
};

// AES-128 in counter mode from a 16-byte initial counter block: writes the
// keystream into out. False only if OpenSSL fails.
bool aes_cm_keystream(std::span<const uint8_t, 16> key, std::span<const uint8_t, 16> iv,
                      std::span<uint8_t> out);

// One PRF output (RFC 3711 §4.3.1, kdr 0): AES-CM keyed by the master key over
// (master_salt XOR (label << 48)) * 2^16. A 12-byte (AEAD) salt is padded with
// zeros to 112 bits, as RFC 7714 §11 and libsrtp do.
bool derive_srtp_key(std::span<const uint8_t> master_key, std::span<const uint8_t> master_salt,
                     SrtpLabel label, std::span<uint8_t> out);

// All session keys of a profile. False on wrong master key/salt lengths.
bool derive_srtp_session_keys(SrtpProfile profile, std::span<const uint8_t> master_key,
                              std::span<const uint8_t> master_salt, SrtpDerivedKeys& out);

}  // namespace atrium::media
