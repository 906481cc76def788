#pragma once
// SRTP and SRTCP (RFC 3711, RFC 7714) on OpenSSL EVP, in place on caller
// buffers. The ciphers and the HMAC are fetched once per process; every
// session keeps its own EVP contexts keyed once and only re-IVs them per
// packet, so the packet path neither allocates (except the first packet of a
// new SSRC) nor throws.
//
// Replay protection. RFC 3711 §3.3.2 asks receivers to refuse packets already
// seen or older than the window. LiveKit turns it off entirely because Firefox
// sends bandwidth probes as copies of old media packets on the media SSRC
// (not on RTX), which a replay check drops. We keep it on by default (a
// 128-packet window: a replayed packet is never forwarded twice to hundreds of
// subscribers), and make it a per-session option so the SFU can switch it off
// for a peer whose probes it wants to count as bandwidth. ROC tracking runs
// either way.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>

#include "media/srtp_kdf.hpp"

namespace atrium::media {

enum class SrtpError : uint8_t {
  kOk = 0,
  kMalformed,       // not an RTP/RTCP packet (version, lengths)
  kBufferTooSmall,  // no room for the tag (and SRTCP index) after the packet
  kAuthFailed,      // tag mismatch
  kReplayed,        // already received within the window
  kTooOld,          // older than the replay window, or before index 0
  kIndexExhausted,  // SRTCP index would wrap (2^31 packets): rekey
  kTooManyStreams,  // more SSRCs than a session tracks
  kCryptoFailure,   // OpenSSL reported an error
};
const char* to_string(SrtpError error);

// Largest overhead protect adds to a packet (GCM SRTCP: tag + E/index).
inline constexpr size_t kSrtpMaxOverhead = 20;
// Packets behind the highest received index that are still accepted once.
inline constexpr uint64_t kSrtpReplayWindowSize = 128;
// Per-session SSRC limit: bounds memory against a peer spraying SSRCs.
inline constexpr size_t kSrtpMaxStreams = 1024;

struct SrtpOptions {
  bool replay_protection = true;
};

// A 128-packet sliding window over 48-bit (SRTP) or 31-bit (SRTCP) indices.
class ReplayWindow {
 public:
  // kOk if index is new, kReplayed or kTooOld otherwise.
  SrtpError check(uint64_t index) const;
  // Records index as received (call after authentication).
  void accept(uint64_t index);
  bool empty() const { return !started_; }
  uint64_t highest() const { return highest_; }

 private:
  bool started_ = false;
  uint64_t highest_ = 0;
  uint64_t bits_[2] = {0, 0};  // bit i of the 128: highest_ - i was received
};

// RFC 3711 §3.3.1: the 48-bit index of sequence number seq given the highest
// index seen so far (ROC << 16 | s_l). -1 when the guess would need ROC - 1 < 0.
int64_t estimate_srtp_index(uint64_t highest_index, uint16_t seq);

// One set of keys. With DTLS-SRTP a peer needs two: one built from the local
// write key (protect) and one from the remote write key (unprotect). Send and
// receive state are kept apart, so using one session both ways (tests) works.
// Not thread-safe: a session lives on its peer's media worker.
class SrtpSession {
 public:
  // Keys from the DTLS-SRTP exporter (or SDES). nullptr on wrong lengths or
  // if OpenSSL cannot set up the contexts.
  static std::unique_ptr<SrtpSession> create(SrtpProfile profile,
                                             std::span<const uint8_t> master_key,
                                             std::span<const uint8_t> master_salt,
                                             SrtpOptions options = {});
  // Session keys given directly (the RFC 7714 vectors skip the KDF).
  static std::unique_ptr<SrtpSession> create_from_session_keys(SrtpProfile profile,
                                                               const SrtpDerivedKeys& keys,
                                                               SrtpOptions options = {});
  ~SrtpSession();
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  // Each call works in place on buffer[0, length) and updates length; buffer
  // must have room for the overhead (kSrtpMaxOverhead is always enough).
  SrtpError protect_rtp(std::span<uint8_t> buffer, size_t& length);
  SrtpError unprotect_rtp(std::span<uint8_t> buffer, size_t& length);
  SrtpError protect_rtcp(std::span<uint8_t> buffer, size_t& length);
  SrtpError unprotect_rtcp(std::span<uint8_t> buffer, size_t& length);

  SrtpProfile profile() const { return profile_; }
  // Next SRTCP index protect_rtcp will use for ssrc (tests pin RFC vectors).
  void set_next_srtcp_index(uint32_t ssrc, uint32_t index);

 private:
  struct Crypto;  // the EVP contexts, kept out of this header
  struct SendRtpStream {
    uint64_t highest_index = 0;
    bool started = false;
  };
  struct SendRtcpStream {
    uint32_t next_index = 0;
  };

  SrtpSession(SrtpProfile profile, SrtpOptions options);
  bool init(const SrtpDerivedKeys& keys);
  template <typename Map>
  typename Map::mapped_type* find_or_add(Map& streams, uint32_t ssrc);

  SrtpProfile profile_;
  SrtpOptions options_;
  std::unique_ptr<Crypto> crypto_;
  std::unordered_map<uint32_t, SendRtpStream> send_rtp_;
  std::unordered_map<uint32_t, SendRtcpStream> send_rtcp_;
  std::unordered_map<uint32_t, ReplayWindow> receive_rtp_;
  std::unordered_map<uint32_t, ReplayWindow> receive_rtcp_;
};

}  // namespace atrium::media
