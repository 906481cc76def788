// Differential tests against Debian's libsrtp2 (the oracle): ours protects and
// libsrtp2 unprotects, and the reverse, for every profile, for RTP and RTCP,
// across a sequence-number rollover, with random payloads of several sizes.
#include <gtest/gtest.h>
#include <srtp2/srtp.h>

#include <random>
#include <vector>

#include "media/byte_io.hpp"
#include "media/srtp.hpp"

namespace atrium::media {
namespace {

struct Oracle {
  srtp_t session = nullptr;
  ~Oracle() {
    if (session) srtp_dealloc(session);
  }
};

void set_oracle_policy(SrtpProfile profile, srtp_crypto_policy_t* rtp, srtp_crypto_policy_t* rtcp) {
  switch (profile) {
    case SrtpProfile::kAes128CmHmacSha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtcp);
      break;
    case SrtpProfile::kAes128CmHmacSha1_32:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtcp);  // SRTCP keeps 80 bits
      break;
    case SrtpProfile::kAeadAes128Gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(rtcp);
      break;
  }
}

void make_oracle(Oracle& oracle, SrtpProfile profile, std::vector<uint8_t> key_and_salt,
                 bool outbound) {
  static const bool initialized = srtp_init() == srtp_err_status_ok;
  ASSERT_TRUE(initialized);
  srtp_policy_t policy{};
  set_oracle_policy(profile, &policy.rtp, &policy.rtcp);
  policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
  policy.key = key_and_salt.data();
  policy.window_size = 128;
  ASSERT_EQ(srtp_create(&oracle.session, &policy), srtp_err_status_ok);
}

class SrtpDifferential : public ::testing::TestWithParam<SrtpProfile> {
 protected:
  void SetUp() override {
    profile_ = GetParam();
    master_key_.resize(kSrtpMasterKeyLength);
    master_salt_.resize(master_salt_length(profile_));
    for (auto& byte : master_key_)
      byte = static_cast<uint8_t>(random_());
    for (auto& byte : master_salt_)
      byte = static_cast<uint8_t>(random_());
  }
  std::vector<uint8_t> key_and_salt() const {
    std::vector<uint8_t> both(master_key_);
    both.insert(both.end(), master_salt_.begin(), master_salt_.end());
    return both;
  }
  std::unique_ptr<SrtpSession> ours(SrtpOptions options = {}) const {
    return SrtpSession::create(profile_, master_key_, master_salt_, options);
  }
  // An RTP packet with a CSRC and a one-byte header extension on odd seqs.
  std::vector<uint8_t> rtp_packet(uint16_t seq, uint32_t ssrc, size_t payload) {
    const bool extended = seq % 2 == 1;
    std::vector<uint8_t> packet(12);
    packet[0] = extended ? 0x91 : 0x80;  // V=2, X on odd, CC=1 on odd
    packet[1] = 96;
    write_u16(&packet[2], seq);
    write_u32(&packet[4], seq * 960u);
    write_u32(&packet[8], ssrc);
    if (extended) {
      packet.insert(packet.end(), {0x01, 0x02, 0x03, 0x04});                          // CSRC
      packet.insert(packet.end(), {0xbe, 0xde, 0x00, 0x01, 0x10, 0xff, 0x00, 0x00});  // ext
    }
    for (size_t i = 0; i < payload; ++i)
      packet.push_back(static_cast<uint8_t>(random_()));
    return packet;
  }
  std::vector<uint8_t> rtcp_packet(uint32_t ssrc, size_t words) {
    std::vector<uint8_t> packet(8);
    packet[0] = 0x80;
    packet[1] = 200;  // SR
    write_u16(&packet[2], static_cast<uint16_t>(1 + words));
    write_u32(&packet[4], ssrc);
    for (size_t i = 0; i < words * 4; ++i)
      packet.push_back(static_cast<uint8_t>(random_()));
    return packet;
  }
  size_t random_payload_size() {
    static constexpr size_t kSizes[] = {0, 1, 15, 16, 17, 160, 1200};
    return kSizes[random_() % std::size(kSizes)];
  }

  SrtpProfile profile_{};
  std::vector<uint8_t> master_key_, master_salt_;
  std::mt19937 random_{0x5eed};
};

constexpr uint32_t kSsrcs[] = {0x11223344, 0xcafebabe};

TEST_P(SrtpDifferential, OursProtectsOracleUnprotectsRtpAcrossRollover) {
  auto sender = ours();
  ASSERT_NE(sender, nullptr);
  Oracle oracle;
  make_oracle(oracle, profile_, key_and_salt(), false);
  for (uint32_t step = 0; step < 40; ++step) {
    const uint16_t seq = static_cast<uint16_t>(65520 + step);  // wraps at step 16
    for (uint32_t ssrc : kSsrcs) {
      const auto plain = rtp_packet(seq, ssrc, random_payload_size());
      std::vector<uint8_t> buffer(plain);
      buffer.resize(plain.size() + SRTP_MAX_TRAILER_LEN);
      size_t length = plain.size();
      ASSERT_EQ(sender->protect_rtp(buffer, length), SrtpError::kOk);
      int oracle_length = static_cast<int>(length);
      ASSERT_EQ(srtp_unprotect(oracle.session, buffer.data(), &oracle_length), srtp_err_status_ok)
          << "seq " << seq;
      ASSERT_EQ(std::vector<uint8_t>(buffer.begin(), buffer.begin() + oracle_length), plain);
    }
  }
}

TEST_P(SrtpDifferential, OracleProtectsOursUnprotectsRtpAcrossRollover) {
  auto receiver = ours();
  ASSERT_NE(receiver, nullptr);
  Oracle oracle;
  make_oracle(oracle, profile_, key_and_salt(), true);
  auto twin = ours();  // protects the same packets: the bytes must be identical
  for (uint32_t step = 0; step < 40; ++step) {
    const uint16_t seq = static_cast<uint16_t>(65520 + step);
    for (uint32_t ssrc : kSsrcs) {
      const auto plain = rtp_packet(seq, ssrc, random_payload_size());
      std::vector<uint8_t> buffer(plain), twin_buffer(plain);
      buffer.resize(plain.size() + SRTP_MAX_TRAILER_LEN);
      twin_buffer.resize(buffer.size());
      int oracle_length = static_cast<int>(plain.size());
      ASSERT_EQ(srtp_protect(oracle.session, buffer.data(), &oracle_length), srtp_err_status_ok);
      size_t twin_length = plain.size();
      ASSERT_EQ(twin->protect_rtp(twin_buffer, twin_length), SrtpError::kOk);
      ASSERT_EQ(twin_length, size_t(oracle_length));
      ASSERT_TRUE(std::equal(buffer.begin(), buffer.begin() + oracle_length, twin_buffer.begin()))
          << "seq " << seq;
      size_t length = static_cast<size_t>(oracle_length);
      ASSERT_EQ(receiver->unprotect_rtp(buffer, length), SrtpError::kOk) << "seq " << seq;
      ASSERT_EQ(std::vector<uint8_t>(buffer.begin(), buffer.begin() + length), plain);
    }
  }
}

TEST_P(SrtpDifferential, RtcpBothWays) {
  auto ours_sender = ours();
  auto ours_receiver = ours();
  Oracle oracle_receiver, oracle_sender;
  make_oracle(oracle_receiver, profile_, key_and_salt(), false);
  make_oracle(oracle_sender, profile_, key_and_salt(), true);
  for (int i = 0; i < 30; ++i) {
    for (uint32_t ssrc : kSsrcs) {
      const auto plain = rtcp_packet(ssrc, static_cast<size_t>(random_() % 40));
      std::vector<uint8_t> buffer(plain);
      buffer.resize(plain.size() + SRTP_MAX_TRAILER_LEN + 4);
      size_t length = plain.size();
      ASSERT_EQ(ours_sender->protect_rtcp(buffer, length), SrtpError::kOk);
      int oracle_length = static_cast<int>(length);
      ASSERT_EQ(srtp_unprotect_rtcp(oracle_receiver.session, buffer.data(), &oracle_length),
                srtp_err_status_ok);
      ASSERT_EQ(std::vector<uint8_t>(buffer.begin(), buffer.begin() + oracle_length), plain);

      std::copy(plain.begin(), plain.end(), buffer.begin());
      oracle_length = static_cast<int>(plain.size());
      ASSERT_EQ(srtp_protect_rtcp(oracle_sender.session, buffer.data(), &oracle_length),
                srtp_err_status_ok);
      length = static_cast<size_t>(oracle_length);
      ASSERT_EQ(ours_receiver->unprotect_rtcp(buffer, length), SrtpError::kOk);
      ASSERT_EQ(std::vector<uint8_t>(buffer.begin(), buffer.begin() + length), plain);
    }
  }
}

TEST_P(SrtpDifferential, ReplayAndTamperAreRefused) {
  auto sender = ours();
  auto receiver = ours();
  auto lenient = ours(SrtpOptions{.replay_protection = false});
  const auto plain = rtp_packet(7, kSsrcs[0], 100);
  std::vector<uint8_t> buffer(plain);
  buffer.resize(plain.size() + kSrtpMaxOverhead);
  size_t length = plain.size();
  ASSERT_EQ(sender->protect_rtp(buffer, length), SrtpError::kOk);
  const std::vector<uint8_t> wire(buffer.begin(), buffer.begin() + length);

  auto attempt = [&](SrtpSession& session, std::vector<uint8_t> packet) {
    size_t size = packet.size();
    packet.resize(size + kSrtpMaxOverhead);
    return session.unprotect_rtp(packet, size);
  };
  ASSERT_GT(wire.size(), 40u);
  auto tampered_tag = wire;
  tampered_tag[wire.size() - 1] ^= 0x80;
  auto tampered_payload = wire;
  tampered_payload[40] ^= 0x01;
  EXPECT_EQ(attempt(*receiver, tampered_tag), SrtpError::kAuthFailed);
  EXPECT_EQ(attempt(*receiver, tampered_payload), SrtpError::kAuthFailed);
  EXPECT_EQ(attempt(*receiver, wire), SrtpError::kOk);
  EXPECT_EQ(attempt(*receiver, wire), SrtpError::kReplayed);
  // Replay protection off (the Firefox-probe option): accepted again.
  EXPECT_EQ(attempt(*lenient, wire), SrtpError::kOk);
  EXPECT_EQ(attempt(*lenient, wire), SrtpError::kOk);

  // SRTCP replay and tamper.
  const auto rtcp = rtcp_packet(kSsrcs[1], 6);
  buffer.assign(rtcp.begin(), rtcp.end());
  buffer.resize(rtcp.size() + kSrtpMaxOverhead);
  length = rtcp.size();
  ASSERT_EQ(sender->protect_rtcp(buffer, length), SrtpError::kOk);
  std::vector<uint8_t> srtcp(buffer.begin(), buffer.begin() + length);
  auto rtcp_attempt = [&](std::vector<uint8_t> packet) {
    size_t size = packet.size();
    packet.resize(size + kSrtpMaxOverhead);
    return receiver->unprotect_rtcp(packet, size);
  };
  auto bad = srtcp;
  bad[12] ^= 0x04;
  EXPECT_EQ(rtcp_attempt(bad), SrtpError::kAuthFailed);
  EXPECT_EQ(rtcp_attempt(srtcp), SrtpError::kOk);
  EXPECT_EQ(rtcp_attempt(srtcp), SrtpError::kReplayed);
}

TEST_P(SrtpDifferential, MalformedAndShortBuffersAreErrorsNotCrashes) {
  auto session = ours();
  std::vector<uint8_t> buffer(64, 0);
  size_t length = 11;
  buffer[0] = 0x80;
  EXPECT_EQ(session->protect_rtp(buffer, length), SrtpError::kMalformed);
  length = 12;
  buffer[0] = 0x40;  // version 1
  EXPECT_EQ(session->protect_rtp(buffer, length), SrtpError::kMalformed);
  buffer[0] = 0x90;  // extension header runs past the end
  buffer[14] = 0xff;
  length = 16;
  EXPECT_EQ(session->protect_rtp(buffer, length), SrtpError::kMalformed);
  buffer[0] = 0x80;
  length = 60;  // no room for the tag
  EXPECT_EQ(session->protect_rtp(std::span(buffer).first(62), length), SrtpError::kBufferTooSmall);
  length = 5;
  EXPECT_EQ(session->unprotect_rtp(buffer, length), SrtpError::kMalformed);
  EXPECT_EQ(session->unprotect_rtcp(buffer, length), SrtpError::kMalformed);
  length = 200;  // longer than the buffer
  EXPECT_EQ(session->unprotect_rtp(buffer, length), SrtpError::kMalformed);
}

INSTANTIATE_TEST_SUITE_P(AllProfiles, SrtpDifferential,
                         ::testing::Values(SrtpProfile::kAes128CmHmacSha1_80,
                                           SrtpProfile::kAes128CmHmacSha1_32,
                                           SrtpProfile::kAeadAes128Gcm),
                         [](const auto& info) {
                           switch (info.param) {
                             case SrtpProfile::kAes128CmHmacSha1_80:
                               return "CmSha1_80";
                             case SrtpProfile::kAes128CmHmacSha1_32:
                               return "CmSha1_32";
                             case SrtpProfile::kAeadAes128Gcm:
                               return "Gcm";
                           }
                           return "unknown";
                         });

}  // namespace
}  // namespace atrium::media
