#pragma once
// One peer's WebRTC transport on a shared UDP port: ICE-lite, DTLS, SRTP and
// (when negotiated) SCTP data channels, demultiplexed by first byte
// (RFC 7983). It owns no socket: the media server feeds it datagrams on the
// worker it is pinned to and gives it a function to send with. Every method
// runs on that worker's thread.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "media/dcep.hpp"
#include "media/dtls.hpp"
#include "media/ice_lite.hpp"
#include "media/srtp.hpp"

namespace atrium::media {

class EventLoop;
class SctpAssociation;
struct DataChannelInfo;

struct WebRtcTransportConfig {
  std::string local_ufrag;
  std::string local_password;
  std::string remote_ufrag;  // empty: accept any
  // The peer's DTLS parameters. An offerer learns them from the answer:
  // leave remote_fingerprint empty and call set_remote_dtls() later.
  DtlsRole dtls_role = DtlsRole::kServer;
  std::string remote_fingerprint_algorithm = "sha-256";
  std::string remote_fingerprint;
  bool data_channels = false;
  uint16_t sctp_local_port = 5000;
  uint16_t sctp_remote_port = 5000;
  size_t max_message_size = 262144;        // ours (a=max-message-size we announce)
  size_t remote_max_message_size = 65536;  // the peer's (RFC 8841 default)
  uint16_t sctp_streams = 1024;            // see SctpConfig::streams
  SrtpOptions srtp;
  std::chrono::milliseconds ice_connect_timeout{30'000};
  std::chrono::milliseconds ice_consent_timeout{30'000};
};

enum class TransportState : uint8_t {
  kNew,
  kConnecting,
  kConnected,
  kDisconnected,
  kFailed,
  kClosed
};
const char* to_string(TransportState state);

struct TransportCounters {
  std::atomic<uint64_t> rtp_in{0}, rtp_out{0}, rtcp_in{0}, rtcp_out{0};
  std::atomic<uint64_t> data_in{0}, data_out{0};
  std::atomic<uint64_t> dropped{0};  // failed SRTP, unknown first byte, before keys
};

class WebRtcTransport {
 public:
  using Clock = std::chrono::steady_clock;
  using SendDatagram = std::function<void(const TransportAddress&, std::span<const uint8_t>)>;

  struct Callbacks {
    // A decrypted RTP packet in a buffer with room to grow (for re-protecting).
    std::function<void(std::span<uint8_t> buffer, size_t length)> on_rtp;
    // A decrypted RTCP compound packet.
    std::function<void(std::span<uint8_t> buffer, size_t length)> on_rtcp;
    std::function<void(TransportState)> on_state;
    // A validated remote address (the media server routes it here from now on).
    std::function<void(const TransportAddress&)> on_address;
    // Data channels (RFC 8831).
    std::function<void(const DataChannelInfo&)> on_channel_open;
    std::function<void(uint16_t stream, MessageKind, std::span<const uint8_t>)> on_message;
  };

  WebRtcTransport(std::shared_ptr<const DtlsCertificate> certificate, WebRtcTransportConfig config,
                  Callbacks callbacks, Clock::time_point now);
  ~WebRtcTransport();
  WebRtcTransport(const WebRtcTransport&) = delete;
  WebRtcTransport& operator=(const WebRtcTransport&) = delete;

  const std::string& local_ufrag() const { return config_.local_ufrag; }
  // Completes the DTLS parameters once the peer's answer is known; DTLS
  // packets that arrive before are dropped (the peer retransmits).
  void set_remote_dtls(DtlsRole role, std::string fingerprint_algorithm, std::string fingerprint);
  // Pins the transport to a worker; called once, on that worker.
  void attach(EventLoop* loop, SendDatagram send);
  EventLoop* loop() const { return loop_; }
  // Remote addresses ICE has validated, oldest first.
  const std::vector<TransportAddress>& addresses() const { return addresses_; }

  void handle_datagram(std::span<uint8_t> buffer, size_t length, const TransportAddress& from,
                       Clock::time_point now);
  void tick(Clock::time_point now);
  void close();

  // Protects in place (buffer needs kSrtpMaxOverhead spare bytes) and sends.
  bool send_rtp(std::span<uint8_t> buffer, size_t length);
  bool send_rtcp(std::span<uint8_t> buffer, size_t length);
  // Sends on a data channel the peer opened (or we opened).
  bool send_message(uint16_t stream, MessageKind kind, std::span<const uint8_t> data);
  // The same, by channel label (the first channel with that label).
  bool send_message(const std::string& label, MessageKind kind, std::span<const uint8_t> data);
  // Opens a channel of ours as soon as SCTP is up (at once if it is).
  void open_data_channel(std::string label, bool ordered, dcep::Reliability reliability);
  // The label of an open channel, empty if unknown.
  std::string channel_label(uint16_t stream) const;

  TransportState state() const { return state_.load(); }
  IceState ice_state() const { return ice_.state(); }
  DtlsState dtls_state() const { return dtls_ ? dtls_->state() : DtlsState::kNew; }
  const TransportCounters& counters() const { return counters_; }
  const std::string& failure_reason() const { return failure_; }

 private:
  void on_dtls_connected(const std::optional<DtlsSrtpKeys>& keys);
  void start_sctp();
  void send_sctp_packet(std::span<const uint8_t> packet);
  void send_datagram(std::span<const uint8_t> datagram);
  void make_dtls();
  void update_state();
  void set_state(TransportState state);

  std::shared_ptr<const DtlsCertificate> certificate_;
  WebRtcTransportConfig config_;
  Callbacks callbacks_;
  IceLiteAgent ice_;
  std::unique_ptr<DtlsTransport> dtls_;  // null until the remote fingerprint is known
  std::unique_ptr<SrtpSession> srtp_send_, srtp_receive_;
  std::unique_ptr<SctpAssociation> sctp_;
  struct PendingChannel {
    std::string label;
    bool ordered;
    dcep::Reliability reliability;
  };
  std::vector<PendingChannel> pending_channels_;
  std::vector<std::pair<std::string, uint16_t>> channels_;  // label -> stream, few entries
  void open_pending_channels();
  EventLoop* loop_ = nullptr;
  SendDatagram send_;
  std::vector<TransportAddress> addresses_;    // validated by ICE
  std::optional<TransportAddress> dtls_peer_;  // where DTLS came from before a selection
  std::atomic<TransportState> state_{TransportState::kNew};
  bool dtls_started_ = false;
  std::string failure_;
  TransportCounters counters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards posted SCTP work
};

}  // namespace atrium::media
