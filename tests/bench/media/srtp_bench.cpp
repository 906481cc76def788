// SRTP protect/unprotect of a 1200-byte RTP payload: ours (OpenSSL EVP, reused
// contexts) against Debian's libsrtp2 (NSS backend) in the same run. One
// benchmark iteration is one packet, so the time column is ns per packet.
//
// Protect copies the plaintext into the work buffer every iteration (both
// sides pay it). Unprotect needs fresh indices (both sides keep a replay
// window): it decrypts a ring of 256 packets protected outside the timed
// region, refilled with timing paused once per 256 packets.
#include <benchmark/benchmark.h>
#include <srtp2/srtp.h>

#include <array>
#include <cstring>
#include <vector>

#include "media/byte_io.hpp"
#include "media/srtp.hpp"

namespace {

using atrium::media::SrtpError;
using atrium::media::SrtpProfile;
using atrium::media::SrtpSession;

constexpr size_t kPayloadSize = 1200;
constexpr size_t kHeaderSize = 12;
constexpr size_t kCapacity = kHeaderSize + kPayloadSize + 64;
constexpr size_t kRingSize = 256;
constexpr uint32_t kSsrc = 0x12345678;

const std::array<uint8_t, 16> kMasterKey = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
const std::array<uint8_t, 14> kMasterSalt = {21, 22, 23, 24, 25, 26, 27,
                                             28, 29, 30, 31, 32, 33, 34};

size_t salt_length(SrtpProfile profile) {
  return atrium::media::master_salt_length(profile);
}

void write_packet(uint8_t* buffer, uint16_t seq) {
  buffer[0] = 0x80;
  buffer[1] = 111;
  atrium::media::write_u16(buffer + 2, seq);
  atrium::media::write_u32(buffer + 4, seq * 960u);
  atrium::media::write_u32(buffer + 8, kSsrc);
  for (size_t i = 0; i < kPayloadSize; ++i)
    buffer[kHeaderSize + i] = static_cast<uint8_t>(i * 7);
}

std::unique_ptr<SrtpSession> ours(SrtpProfile profile) {
  return SrtpSession::create(profile, kMasterKey,
                             std::span(kMasterSalt).first(salt_length(profile)));
}

struct Libsrtp {
  srtp_t session = nullptr;
  Libsrtp(SrtpProfile profile, bool outbound) {
    static const bool initialized = srtp_init() == srtp_err_status_ok;
    (void)initialized;
    srtp_policy_t policy{};
    if (profile == SrtpProfile::kAeadAes128Gcm) {
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    } else {
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
    }
    std::array<uint8_t, 30> key{};
    std::memcpy(key.data(), kMasterKey.data(), 16);
    std::memcpy(key.data() + 16, kMasterSalt.data(), salt_length(profile));
    policy.key = key.data();
    policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    policy.window_size = 128;
    if (srtp_create(&session, &policy) != srtp_err_status_ok) session = nullptr;
  }
  ~Libsrtp() {
    if (session) srtp_dealloc(session);
  }
};

void BM_OursProtect(benchmark::State& state, SrtpProfile profile) {
  auto session = ours(profile);
  std::array<uint8_t, kCapacity> plain{}, work{};
  write_packet(plain.data(), 0);
  uint16_t seq = 0;
  for (auto _ : state) {
    std::memcpy(work.data(), plain.data(), kHeaderSize + kPayloadSize);
    atrium::media::write_u16(work.data() + 2, seq++);
    size_t length = kHeaderSize + kPayloadSize;
    if (session->protect_rtp(work, length) != SrtpError::kOk) state.SkipWithError("protect");
    benchmark::DoNotOptimize(work.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * kPayloadSize);
}

void BM_LibsrtpProtect(benchmark::State& state, SrtpProfile profile) {
  Libsrtp session(profile, true);
  std::array<uint8_t, kCapacity> plain{}, work{};
  write_packet(plain.data(), 0);
  uint16_t seq = 0;
  for (auto _ : state) {
    std::memcpy(work.data(), plain.data(), kHeaderSize + kPayloadSize);
    atrium::media::write_u16(work.data() + 2, seq++);
    int length = static_cast<int>(kHeaderSize + kPayloadSize);
    if (srtp_protect(session.session, work.data(), &length) != srtp_err_status_ok) {
      state.SkipWithError("protect");
    }
    benchmark::DoNotOptimize(work.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * kPayloadSize);
}

// A ring of protected packets with consecutive sequence numbers.
struct Ring {
  std::vector<std::array<uint8_t, kCapacity>> packets{kRingSize};
  std::array<size_t, kRingSize> lengths{};
  uint16_t next_seq = 0;
};

template <typename Protect>
void refill(Ring& ring, Protect&& protect) {
  for (size_t i = 0; i < kRingSize; ++i) {
    write_packet(ring.packets[i].data(), ring.next_seq++);
    ring.lengths[i] = protect(ring.packets[i], kHeaderSize + kPayloadSize);
  }
}

void BM_OursUnprotect(benchmark::State& state, SrtpProfile profile) {
  auto sender = ours(profile);
  auto receiver = ours(profile);
  Ring ring;
  auto protect = [&](std::array<uint8_t, kCapacity>& packet, size_t length) {
    (void)sender->protect_rtp(packet, length);
    return length;
  };
  refill(ring, protect);
  size_t slot = 0;
  for (auto _ : state) {
    if (slot == kRingSize) {
      state.PauseTiming();
      refill(ring, protect);
      slot = 0;
      state.ResumeTiming();
    }
    size_t length = ring.lengths[slot];
    if (receiver->unprotect_rtp(ring.packets[slot], length) != SrtpError::kOk) {
      state.SkipWithError("unprotect");
    }
    ++slot;
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * kPayloadSize);
}

void BM_LibsrtpUnprotect(benchmark::State& state, SrtpProfile profile) {
  Libsrtp sender(profile, true);
  Libsrtp receiver(profile, false);
  Ring ring;
  auto protect = [&](std::array<uint8_t, kCapacity>& packet, size_t length) {
    int size = static_cast<int>(length);
    (void)srtp_protect(sender.session, packet.data(), &size);
    return static_cast<size_t>(size);
  };
  refill(ring, protect);
  size_t slot = 0;
  for (auto _ : state) {
    if (slot == kRingSize) {
      state.PauseTiming();
      refill(ring, protect);
      slot = 0;
      state.ResumeTiming();
    }
    int length = static_cast<int>(ring.lengths[slot]);
    if (srtp_unprotect(receiver.session, ring.packets[slot].data(), &length) !=
        srtp_err_status_ok) {
      state.SkipWithError("unprotect");
    }
    ++slot;
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * kPayloadSize);
}

BENCHMARK_CAPTURE(BM_OursProtect, gcm, SrtpProfile::kAeadAes128Gcm);
BENCHMARK_CAPTURE(BM_LibsrtpProtect, gcm, SrtpProfile::kAeadAes128Gcm);
BENCHMARK_CAPTURE(BM_OursUnprotect, gcm, SrtpProfile::kAeadAes128Gcm);
BENCHMARK_CAPTURE(BM_LibsrtpUnprotect, gcm, SrtpProfile::kAeadAes128Gcm);
BENCHMARK_CAPTURE(BM_OursProtect, cm_sha1_80, SrtpProfile::kAes128CmHmacSha1_80);
BENCHMARK_CAPTURE(BM_LibsrtpProtect, cm_sha1_80, SrtpProfile::kAes128CmHmacSha1_80);
BENCHMARK_CAPTURE(BM_OursUnprotect, cm_sha1_80, SrtpProfile::kAes128CmHmacSha1_80);
BENCHMARK_CAPTURE(BM_LibsrtpUnprotect, cm_sha1_80, SrtpProfile::kAes128CmHmacSha1_80);

}  // namespace

BENCHMARK_MAIN();
