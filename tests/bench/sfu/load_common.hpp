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
  // 3: the video track as three simulcast streams (rids q, h, f) at 1/4, 1/2
  // and 1 of `rate`; 1: one stream.
  int simulcast = 1;
  // Offer permessage-deflate on the signal WebSocket, as browsers do.
  bool deflate = false;
  double seconds = 3;
  std::string room = "load";
  uint64_t janus_room = 4242;
  std::string bind_ip = "198.18.0.1";  // Janus: where our clients' sockets live
  // Idle mode: no timed phase; set everything up, wait, print the server's memory.
  bool idle = false;
  double hold = 0;  // --idle: seconds to stay connected after printing (to profile the server)
  // Called by the front ends once the publisher is connected, before any subscriber joins.
  std::function<void()> after_publisher;
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
inline constexpr uint8_t kRidExtensionId = 2;  // simulcast only
// Simulcast stream `layer` (0 q, 1 h, 2 f): SSRC kPublisherSsrc + layer, its
// rid, and its share of the video rate.
inline constexpr const char* kRids[] = {"q", "h", "f"};
inline double layer_share(int layers, int layer) {
  return layers <= 1 ? 1.0 : 1.0 / static_cast<double>(1 << (layers - 1 - layer));
}
// Payload byte (after the VP8 descriptor, the keyframe header and the send
// time) that carries the simulcast layer, so subscribers can tell which they get.
inline constexpr size_t kLayerOffset = 1 + 16 + 8;

// Sends `count` publisher packets (flushed).
class PacketSource {
 public:
  PacketSource(testing::LoopbackMediaClient& client, int layers = 1)
      : client_(client), packet_(1500), layers_(layers) {}
  // `count` packets of simulcast stream `layer` (0 without simulcast).
  void send(int count, int layer = 0);
  // `count` packets of every stream.
  void send_all(int count) {
    for (int layer = 0; layer < layers_; ++layer)
      send(count, layer);
  }
  int layers() const { return layers_; }
  // One audio packet (Opus-shaped: 160-byte payload, payload type 111, mid "1").
  void send_audio();

 private:
  testing::LoopbackMediaClient& client_;
  std::vector<uint8_t> packet_;
  int layers_;
  uint16_t seq_[3] = {};
  uint32_t rtp_ts_[3] = {};
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
                                  std::vector<media::SdpCandidate> candidates = {},
                                  int simulcast = 1);

// The remote's ICE credentials and first UDP candidate in an SDP.
struct RemoteIce {
  std::string ufrag, pwd, address;
  uint16_t port = 0;
};
RemoteIce ice_of(const media::SdpSession& sdp);

// Times the load on connected endpoints and prints the JSON result line.
void run_load(const Options& options, Endpoints& endpoints);

// A process's resident memory in KiB: VmRSS from /proc/PID/status, and PSS
// from /proc/PID/smaps_rollup (-1 if unreadable).
struct Memory {
  long rss_kb = -1, pss_kb = -1;
};
Memory process_memory(int pid);

// Idle mode: the server's memory right after start (`at_start`) and with only
// the publisher connected (`publisher_only`); keeps the connected endpoints
// alive (answering checks, sending nothing) for `settle` seconds, reads the
// server's memory again and prints the JSON line (unless !report: only waits).
void run_idle(const Options& options, Endpoints& endpoints, const Memory& at_start,
              const Memory& publisher_only, double settle, bool report = true);

// Front ends.
Endpoints setup_livekit(const Options& options,
                        const std::shared_ptr<media::DtlsCertificate>& certificate);
Endpoints setup_janus(const Options& options,
                      const std::shared_ptr<media::DtlsCertificate>& certificate);

}  // namespace atrium::bench
