#pragma once
// The workload and measurements shared by sfu_load's signalling front ends
// (LiveKit towards Atrium, VideoRoom towards Janus): a set-up publisher and
// subscribers on the loopback media client, the synthetic VP8 packets, the
// timed phase, and the JSON line with what arrived.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "media/dtls.hpp"
#include "media/sdp.hpp"
#include "support/loopback_media_client.hpp"

namespace atrium::bench {

struct Options {
  std::string url;  // LiveKit: ws://host:port/prefix; Janus: ws://host:port
  bool janus = false;
  std::string key, secret;  // LiveKit only
  int server_pid = 0;
  int subscribers = 50;
  double rate = 2000;
  bool audio = true;  // also an Opus-shaped audio track at 50 packets/s
  double seconds = 3;
  std::string room = "load";
  uint64_t janus_room = 4242;
  std::string bind_ip = "198.18.0.1";  // Janus: where our clients' sockets live
};

[[noreturn]] void fail(const std::string& why);

// The process's user+system CPU time, from /proc/<pid>/stat.
double process_cpu_seconds(int pid);

// The publisher's packets: SSRC, payload type and the a=extmap id of the mid
// extension (0: none), and the mid itself.
inline constexpr uint32_t kPublisherSsrc = 0x1234abcd;
inline constexpr uint32_t kAudioSsrc = 0x5678abcd;
inline constexpr double kAudioRate = 50;  // 20 ms frames
inline constexpr uint8_t kMidExtensionId = 1;

// Sends `count` publisher packets (flushed).
class PacketSource {
 public:
  explicit PacketSource(testing::LoopbackMediaClient& client) : client_(client), packet_(1500) {}
  void send(int count);
  // One audio packet (Opus-shaped: 160-byte payload, payload type 111, mid "1").
  void send_audio();

 private:
  testing::LoopbackMediaClient& client_;
  std::vector<uint8_t> packet_;
  uint16_t seq_ = 0;
  uint32_t rtp_ts_ = 0;
  uint16_t audio_seq_ = 0;
  uint32_t audio_ts_ = 0;
};

// Connected clients, ready for the timed phase; close() ends the signalling.
struct Endpoints {
  std::unique_ptr<testing::LoopbackMediaClient> publisher;
  std::unique_ptr<PacketSource> source;  // on the publisher
  std::vector<std::unique_ptr<testing::LoopbackMediaClient>> subscribers;
  std::function<void()> close;
};

// The publisher's sendonly offer: VP8 (mid "0") and, with audio, Opus (mid
// "1"); the mid extension, our SSRCs.
media::SdpSession publisher_offer(const std::string& ufrag, const std::string& pwd,
                                  const std::string& fingerprint, bool audio,
                                  std::vector<media::SdpCandidate> candidates = {});

// The remote's ICE credentials and first UDP candidate in an SDP.
struct RemoteIce {
  std::string ufrag, pwd, address;
  uint16_t port = 0;
};
RemoteIce ice_of(const media::SdpSession& sdp);

// Times the load on connected endpoints and prints the JSON result line.
void run_load(const Options& options, Endpoints& endpoints);

// Front ends.
Endpoints setup_livekit(const Options& options,
                        const std::shared_ptr<media::DtlsCertificate>& certificate);
Endpoints setup_janus(const Options& options,
                      const std::shared_ptr<media::DtlsCertificate>& certificate);

}  // namespace atrium::bench
