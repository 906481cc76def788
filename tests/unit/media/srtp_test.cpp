// SRTP against the RFC vectors: RFC 3711 B.2 (AES-CM keystream), B.3 (key
// derivation), RFC 7714 §16/§17 (GCM packets); plus ROC estimation, the replay
// window and tamper detection.
#include "media/srtp.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "media/srtp_kdf.hpp"

namespace atrium::media {
namespace {

std::vector<uint8_t> unhex(std::string_view text) {
  std::vector<uint8_t> out;
  int high = -1;
  for (char ch : text) {
    int nibble;
    if (ch >= '0' && ch <= '9')
      nibble = ch - '0';
    else if (ch >= 'a' && ch <= 'f')
      nibble = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F')
      nibble = ch - 'A' + 10;
    else
      continue;  // spaces between groups
    if (high < 0) {
      high = nibble;
    } else {
      out.push_back(static_cast<uint8_t>(high << 4 | nibble));
      high = -1;
    }
  }
  return out;
}

// RFC 3711 B.3.
const auto kB3MasterKey = unhex("E1F97A0D3E018BE0D64FA32C06DE4139");
const auto kB3MasterSalt = unhex("0EC675AD498AFEEBB6960B3AABE6");

TEST(SrtpKdf, Rfc3711B3CipherKey) {
  std::vector<uint8_t> key(16);
  ASSERT_TRUE(derive_srtp_key(kB3MasterKey, kB3MasterSalt, SrtpLabel::kRtpEncryption, key));
  EXPECT_EQ(key, unhex("C61E7A93744F39EE10734AFE3FF7A087"));
}

TEST(SrtpKdf, Rfc3711B3Salt) {
  std::vector<uint8_t> salt(14);
  ASSERT_TRUE(derive_srtp_key(kB3MasterKey, kB3MasterSalt, SrtpLabel::kRtpSalt, salt));
  EXPECT_EQ(salt, unhex("30CBBC08863D8C85D49DB34A9AE1"));
}

TEST(SrtpKdf, Rfc3711B3AuthKey) {
  std::vector<uint8_t> auth(20);
  ASSERT_TRUE(derive_srtp_key(kB3MasterKey, kB3MasterSalt, SrtpLabel::kRtpAuthentication, auth));
  EXPECT_EQ(auth, unhex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
}

TEST(SrtpKdf, SessionKeysMatchTheSingleLabels) {
  SrtpDerivedKeys keys;
  ASSERT_TRUE(derive_srtp_session_keys(SrtpProfile::kAes128CmHmacSha1_80, kB3MasterKey,
                                       kB3MasterSalt, keys));
  EXPECT_EQ(std::vector<uint8_t>(keys.rtp.cipher_key.begin(), keys.rtp.cipher_key.end()),
            unhex("C61E7A93744F39EE10734AFE3FF7A087"));
  EXPECT_EQ(std::vector<uint8_t>(keys.rtp.salt.begin(), keys.rtp.salt.end()),
            unhex("30CBBC08863D8C85D49DB34A9AE1"));
  EXPECT_NE(keys.rtcp.cipher_key, keys.rtp.cipher_key);
}

TEST(SrtpKdf, RefusesWrongLengths) {
  SrtpDerivedKeys keys;
  EXPECT_FALSE(derive_srtp_session_keys(SrtpProfile::kAeadAes128Gcm, kB3MasterKey, kB3MasterSalt,
                                        keys));  // GCM wants 12 salt bytes
  EXPECT_FALSE(derive_srtp_session_keys(SrtpProfile::kAes128CmHmacSha1_80,
                                        std::span(kB3MasterKey).first(15), kB3MasterSalt, keys));
  EXPECT_EQ(SrtpSession::create(SrtpProfile::kAeadAes128Gcm, kB3MasterKey, kB3MasterSalt), nullptr);
}

TEST(SrtpKdf, Rfc3711B2Keystream) {
  const auto key = unhex("2B7E151628AED2A6ABF7158809CF4F3C");
  const auto iv = unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000");
  std::vector<uint8_t> stream(48);
  ASSERT_TRUE(aes_cm_keystream(std::span<const uint8_t, 16>(key.data(), 16),
                               std::span<const uint8_t, 16>(iv.data(), 16), stream));
  EXPECT_EQ(stream, unhex("E03EAD0935C95E80E166B16DD92B4EB4"
                          "D23513162B02D0F72A43A2FE4A5F97AB"
                          "41E95B3BB0A2E8DD477901E4FCA894C0"));
}

TEST(Srtp, Rfc3711B2KeystreamThroughThePacketPath) {
  // Session salt F0..FD, SSRC 0, index 0: the payload XOR is the B.2 keystream.
  SrtpDerivedKeys keys;
  const auto key = unhex("2B7E151628AED2A6ABF7158809CF4F3C");
  const auto salt = unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD");
  std::copy(key.begin(), key.end(), keys.rtp.cipher_key.begin());
  std::copy(salt.begin(), salt.end(), keys.rtp.salt.begin());
  auto session = SrtpSession::create_from_session_keys(SrtpProfile::kAes128CmHmacSha1_80, keys);
  ASSERT_NE(session, nullptr);
  std::vector<uint8_t> packet(12 + 48 + kSrtpMaxOverhead, 0);
  packet[0] = 0x80;
  size_t length = 60;
  ASSERT_EQ(session->protect_rtp(packet, length), SrtpError::kOk);
  EXPECT_EQ(length, 70u);
  EXPECT_EQ(std::vector<uint8_t>(packet.begin() + 12, packet.begin() + 60),
            unhex("E03EAD0935C95E80E166B16DD92B4EB4"
                  "D23513162B02D0F72A43A2FE4A5F97AB"
                  "41E95B3BB0A2E8DD477901E4FCA894C0"));
}

// RFC 7714 §16/§17: session key and salt given directly.
SrtpDerivedKeys rfc7714_keys() {
  SrtpDerivedKeys keys;
  const auto key = unhex("000102030405060708090a0b0c0d0e0f");
  const auto salt = unhex("517569642070726f2071756f");
  for (SrtpSessionKeys* k : {&keys.rtp, &keys.rtcp}) {
    std::copy(key.begin(), key.end(), k->cipher_key.begin());
    std::copy(salt.begin(), salt.end(), k->salt.begin());
  }
  return keys;
}

const auto kRfc7714RtpPlain = unhex(
    "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976"
    "69736120 696e2070 61727465 73207472 6573");
const auto kRfc7714RtpProtected = unhex(
    "8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5"
    "0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce");
const auto kRfc7714RtcpPlain = unhex(
    "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61"
    "deadbeef deadbeef deadbeef deadbeef deadbeef");
const auto kRfc7714RtcpProtected = unhex(
    "81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d"
    "c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872"
    "45d9eade 800005d4");

TEST(Srtp, Rfc7714RtpVector) {
  auto sender = SrtpSession::create_from_session_keys(SrtpProfile::kAeadAes128Gcm, rfc7714_keys());
  auto receiver =
      SrtpSession::create_from_session_keys(SrtpProfile::kAeadAes128Gcm, rfc7714_keys());
  std::vector<uint8_t> buffer(kRfc7714RtpPlain);
  buffer.resize(buffer.size() + kSrtpMaxOverhead);
  size_t length = kRfc7714RtpPlain.size();
  ASSERT_EQ(sender->protect_rtp(buffer, length), SrtpError::kOk);
  EXPECT_EQ(std::vector<uint8_t>(buffer.begin(), buffer.begin() + length), kRfc7714RtpProtected);
  ASSERT_EQ(receiver->unprotect_rtp(buffer, length), SrtpError::kOk);
  EXPECT_EQ(std::vector<uint8_t>(buffer.begin(), buffer.begin() + length), kRfc7714RtpPlain);
}

TEST(Srtp, Rfc7714RtcpVector) {
  auto sender = SrtpSession::create_from_session_keys(SrtpProfile::kAeadAes128Gcm, rfc7714_keys());
  auto receiver =
      SrtpSession::create_from_session_keys(SrtpProfile::kAeadAes128Gcm, rfc7714_keys());
  sender->set_next_srtcp_index(0x4d617273, 0x5d4);
  std::vector<uint8_t> buffer(kRfc7714RtcpPlain);
  buffer.resize(buffer.size() + kSrtpMaxOverhead);
  size_t length = kRfc7714RtcpPlain.size();
  ASSERT_EQ(sender->protect_rtcp(buffer, length), SrtpError::kOk);
  EXPECT_EQ(std::vector<uint8_t>(buffer.begin(), buffer.begin() + length), kRfc7714RtcpProtected);
  ASSERT_EQ(receiver->unprotect_rtcp(buffer, length), SrtpError::kOk);
  EXPECT_EQ(std::vector<uint8_t>(buffer.begin(), buffer.begin() + length), kRfc7714RtcpPlain);
}

TEST(Srtp, Rfc7714TamperedPacketsAreRefused) {
  for (size_t flip : {size_t{1}, size_t{20}, kRfc7714RtpProtected.size() - 1}) {
    auto receiver =
        SrtpSession::create_from_session_keys(SrtpProfile::kAeadAes128Gcm, rfc7714_keys());
    std::vector<uint8_t> buffer(kRfc7714RtpProtected);
    buffer[flip] ^= 0x01;
    size_t length = buffer.size();
    EXPECT_EQ(receiver->unprotect_rtp(buffer, length), SrtpError::kAuthFailed) << flip;
  }
}

TEST(SrtpIndex, EstimatesAcrossTheWrap) {
  EXPECT_EQ(estimate_srtp_index(100, 101), 101);
  EXPECT_EQ(estimate_srtp_index(65535, 0), 65536);  // ROC + 1
  EXPECT_EQ(estimate_srtp_index(65530, 3), 65539);
  EXPECT_EQ(estimate_srtp_index(65536 + 2, 65534), 65534);  // late, ROC - 1
  EXPECT_EQ(estimate_srtp_index(5, 65530), -1);             // would need ROC -1
  EXPECT_EQ(estimate_srtp_index((7ull << 16) | 40000, 39000), (7ll << 16) | 39000);
}

TEST(ReplayWindowTest, RefusesRepeatsAndTooOld) {
  ReplayWindow window;
  EXPECT_EQ(window.check(1000), SrtpError::kOk);
  window.accept(1000);
  EXPECT_EQ(window.check(1000), SrtpError::kReplayed);
  EXPECT_EQ(window.check(999), SrtpError::kOk);
  window.accept(999);
  EXPECT_EQ(window.check(999), SrtpError::kReplayed);
  window.accept(1100);  // shift by 100: crosses the 64-bit word
  EXPECT_EQ(window.check(1000), SrtpError::kReplayed);
  EXPECT_EQ(window.check(999), SrtpError::kReplayed);
  EXPECT_EQ(window.check(1001), SrtpError::kOk);
  EXPECT_EQ(window.check(1100 - 128), SrtpError::kTooOld);
  EXPECT_EQ(window.check(1100 - 127), SrtpError::kOk);
  window.accept(5000);
  EXPECT_EQ(window.check(1100), SrtpError::kTooOld);
  EXPECT_EQ(window.check(4999), SrtpError::kOk);
}

std::vector<uint8_t> protect_rtp_packet(SrtpSession& sender, uint16_t seq) {
  std::vector<uint8_t> packet(12 + 50 + kSrtpMaxOverhead, 0xab);
  packet[0] = 0x80;
  packet[1] = 96;
  packet[2] = static_cast<uint8_t>(seq >> 8);
  packet[3] = static_cast<uint8_t>(seq);
  packet[8] = 0x42;  // SSRC 0x42000000
  size_t length = 62;
  EXPECT_EQ(sender.protect_rtp(packet, length), SrtpError::kOk);
  packet.resize(length);
  return packet;
}

TEST(Srtp, ReorderedPacketsAcrossTheWrapAreAccepted) {
  const auto key = unhex("000102030405060708090a0b0c0d0e0f");
  const auto salt = unhex("101112131415161718191a1b1c1d");
  auto sender = SrtpSession::create(SrtpProfile::kAes128CmHmacSha1_80, key, salt);
  auto receiver = SrtpSession::create(SrtpProfile::kAes128CmHmacSha1_80, key, salt);
  std::vector<std::vector<uint8_t>> wire;
  for (uint16_t seq : {65534, 65535, 0, 1})
    wire.push_back(protect_rtp_packet(*sender, seq));
  // Arrival order 65534, 0 (ROC 1), 65535 (late: ROC 0), 1.
  for (size_t i : {0, 2, 1, 3}) {
    std::vector<uint8_t> buffer = wire[i];
    size_t length = buffer.size();
    EXPECT_EQ(receiver->unprotect_rtp(buffer, length), SrtpError::kOk) << i;
    EXPECT_EQ(length, 62u);
  }
}

TEST(Srtp, SrtcpIndexExhaustionAsksForRekey) {
  const auto key = unhex("000102030405060708090a0b0c0d0e0f");
  const auto salt = unhex("101112131415161718191a");
  auto sender = SrtpSession::create(SrtpProfile::kAeadAes128Gcm, key, std::span(salt).first(12));
  ASSERT_NE(sender, nullptr);
  sender->set_next_srtcp_index(7, 0x7fffffff);
  std::vector<uint8_t> packet = {0x80, 201, 0, 1, 0, 0, 0, 7};
  packet.resize(8 + kSrtpMaxOverhead);
  size_t length = 8;
  EXPECT_EQ(sender->protect_rtcp(packet, length), SrtpError::kOk);
  length = 8;
  EXPECT_EQ(sender->protect_rtcp(packet, length), SrtpError::kIndexExhausted);
}

TEST(Srtp, RandomBytesAreRefusedWithoutCrashing) {
  const auto key = unhex("000102030405060708090a0b0c0d0e0f");
  const auto salt = unhex("101112131415161718191a1b1c1d");
  for (SrtpProfile profile : {SrtpProfile::kAes128CmHmacSha1_80, SrtpProfile::kAeadAes128Gcm}) {
    auto receiver =
        SrtpSession::create(profile, key, std::span(salt).first(master_salt_length(profile)));
    uint32_t state = 12345;
    for (int round = 0; round < 3000; ++round) {
      std::vector<uint8_t> buffer(static_cast<size_t>(round % 120));
      for (auto& byte : buffer) {
        state = state * 1103515245u + 12345u;
        byte = static_cast<uint8_t>(state >> 16);
      }
      if (!buffer.empty()) buffer[0] = static_cast<uint8_t>(0x80 | (buffer[0] & 0x3f));
      size_t length = buffer.size();
      EXPECT_NE(receiver->unprotect_rtp(buffer, length), SrtpError::kOk);
      length = buffer.size();
      EXPECT_NE(receiver->unprotect_rtcp(buffer, length), SrtpError::kOk);
    }
  }
}

}  // namespace
}  // namespace atrium::media
