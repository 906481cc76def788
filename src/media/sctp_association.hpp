#pragma once
// WebRTC data channels (RFC 8831): one SCTP association, run by usrsctp over
// an AF_CONN socket whose packets travel as DTLS application data, plus the
// DCEP handshake (RFC 8832) that names and configures each channel.
//
// Threading contract
// ------------------
// usrsctp is one process-wide stack, initialised once (never torn down) with
// usrsctp_init_nothreads: it starts no threads of its own. Its timers advance
// only through SctpAssociation::handle_timers(), which the owner calls every
// ~10 ms from ONE thread (any thread, shared by every association), passing
// the real time elapsed: usrsctp also reads the real clock (retransmission
// decisions compare send times with it), so simulated time alone stalls it.
// - send_packet may be invoked from any thread that calls into usrsctp: the
//   thread calling this association's methods, and the handle_timers thread
//   (retransmissions, heartbeats). It must not call back into the association;
//   it hands the packet to DTLS (or posts it to the owner's worker).
// - Every other callback is invoked only from inside this association's own
//   methods (start, handle_packet, send_message, open_channel, close_channel,
//   poll), i.e. on the owner's thread. usrsctp's receive callback, which may
//   fire on any thread, only queues under a small mutex; the queue is drained
//   when usrsctp has returned, so a callback may safely call send_message,
//   open_channel or close_channel (they are reentrant), but must not destroy
//   the association.
// - All methods of one association must be called from one thread at a time
//   (the owner's worker). Events raised by timers alone (association failure,
//   abandoned partially reliable messages) wait for the next call; the owner
//   calls poll() on its tick to pick them up.
// - Destruction is safe against the other threads: the destructor closes the
//   socket (sending an ABORT), unregisters the association from the lookup
//   the C callbacks go through and waits for an in-flight send_packet, so no
//   callback reaches a freed object. The usrsctp address is an opaque id, never
//   the object pointer.
//
// Messages are sent atomically (SCTP_EXPLICIT_EOR off): send_message accepts
// a whole message or refuses it with kWouldBlock; the send buffer holds several
// messages of the maximum size. Received partial deliveries are reassembled up
// to MSG_EOR, so on_message always sees whole messages (up to max_message_size;
// a larger one is dropped).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "media/dcep.hpp"

struct socket;  // usrsctp's

namespace atrium::media {

struct DataChannelInfo {
  uint16_t stream_id = 0;
  std::string label;
  std::string protocol;
  bool ordered = true;
  std::optional<uint32_t> max_retransmits;
  std::optional<uint32_t> max_packet_lifetime_ms;
  uint16_t priority = 256;
};

enum class SctpState : uint8_t { kNew, kConnecting, kConnected, kClosed, kFailed };

enum class SendResult : uint8_t {
  kOk,
  kWouldBlock,     // the send buffer is full; retry after on_writable
  kTooBig,         // larger than the peer's max-message-size
  kUnknownStream,  // no open channel on this stream (or it is closing)
  kNotConnected,   // the association is not (or no longer) up
  kError,          // usrsctp refused for another reason
};

struct SctpConfig {
  uint16_t local_port = 5000;               // our a=sctp-port
  uint16_t remote_port = 5000;              // the peer's a=sctp-port
  size_t max_message_size = 262144;         // the largest message we accept
  size_t remote_max_message_size = 262144;  // the peer's a=max-message-size
  bool dtls_client = false;  // RFC 8832: the DTLS client opens even streams, the server odd
  // Outbound streams requested, inbound streams accepted. usrsctp allocates
  // ~110 bytes per stream and association up front (out and in), whether used
  // or not; Chrome's own limit is 1024.
  uint16_t streams = 1024;
};

struct SctpCallbacks {
  // An SCTP packet for DTLS to send as application data. See the threading contract.
  std::function<void(std::span<const uint8_t>)> send_packet;
  // The peer opened a channel (its DATA_CHANNEL_OPEN has been answered with an ACK).
  std::function<void(const DataChannelInfo&)> on_channel_open;
  // The peer acknowledged a channel we opened (optional).
  std::function<void(uint16_t stream)> on_channel_acked;
  // A whole message; empty messages arrive with size 0.
  std::function<void(uint16_t stream, MessageKind, std::span<const uint8_t>)> on_message;
  // The peer reset its side of the stream: the channel is gone, the id free.
  std::function<void(uint16_t stream)> on_channel_closed;
  std::function<void(SctpState)> on_state;
  // Room in the send buffer again after a kWouldBlock (optional).
  std::function<void()> on_writable;
};

class SctpAssociation {
 public:
  SctpAssociation(const SctpConfig& config, SctpCallbacks callbacks);
  ~SctpAssociation();
  SctpAssociation(const SctpAssociation&) = delete;
  SctpAssociation& operator=(const SctpAssociation&) = delete;

  // Sends our INIT. Call it once DTLS is up, before handle_packet: packets
  // that arrive earlier are dropped. Both peers call it (as browsers do); SCTP resolves the
  // simultaneous open. False if the socket could not be set up or connect failed.
  bool start();
  // An SCTP packet that arrived as DTLS application data. Garbage is dropped.
  void handle_packet(std::span<const uint8_t> packet);
  // Delivers events that usrsctp raised outside our calls (timers).
  void poll();

  SendResult send_message(uint16_t stream, MessageKind kind, std::span<const uint8_t> data);
  // Picks a free stream id of our parity, sends DATA_CHANNEL_OPEN and returns
  // the id; the channel is usable at once (ordered until the peer's ACK).
  // nullopt when not connected, no stream id is free, or usrsctp refused.
  std::optional<uint16_t> open_channel(const std::string& label, const std::string& protocol,
                                       bool ordered, dcep::Reliability reliability,
                                       uint16_t priority = 256);
  // Resets our outgoing stream; on_channel_closed follows when the peer
  // resets its side. False for an unknown stream.
  bool close_channel(uint16_t stream);

  SctpState state() const { return state_; }
  std::optional<DataChannelInfo> channel(uint16_t stream) const;
  // Negotiated outbound stream count (0 before the association is up).
  uint16_t outbound_streams() const { return outbound_streams_; }

  // Advances usrsctp's timers. Call every ~10 ms from one thread for all associations.
  static void handle_timers(uint32_t elapsed_ms);

 private:
  struct Channel {
    DataChannelInfo info;
    bool opened_locally = false;
    bool acked = false;    // the peer has sent its ACK or any message
    bool closing = false;  // we have reset (or are resetting) our outgoing stream
  };
  struct FreeDeleter {
    void operator()(void* p) const;
  };
  // Something usrsctp handed us, queued until usrsctp has returned.
  struct Inbound {
    enum class Type : uint8_t { kData, kNotification, kWritable };
    Type type = Type::kData;
    uint16_t stream = 0;
    uint32_t ppid = 0;  // host order
    bool end_of_record = true;
    std::unique_ptr<uint8_t, FreeDeleter> bytes;
    size_t size = 0;
  };
  struct Reassembly {
    std::vector<uint8_t> bytes;   // SCTP partial delivery, until MSG_EOR
    bool oversized = false;       // drop until MSG_EOR
    std::vector<uint8_t> legacy;  // deprecated PPID 52/54 parts, until the final 51/53
    bool legacy_oversized = false;
  };

  friend struct SctpGlue;  // usrsctp's C callbacks, in the .cpp

  bool configure_socket(uint32_t buffer);
  void enqueue(Inbound inbound);
  void drain();
  void handle_data(Inbound& inbound);
  void handle_message(uint16_t stream, uint32_t ppid, std::span<const uint8_t> payload);
  void handle_dcep(uint16_t stream, std::span<const uint8_t> payload);
  void handle_notification(std::span<const uint8_t> bytes);
  void handle_stream_reset(std::span<const uint8_t> bytes);
  void set_state(SctpState state);
  void reset_pending_streams();
  SendResult send_raw(uint16_t stream, uint32_t ppid, bool unordered, dcep::Reliability reliability,
                      std::span<const uint8_t> data);

  const SctpConfig config_;
  const SctpCallbacks callbacks_;
  const uintptr_t id_;  // the usrsctp AF_CONN address: an opaque key, not `this`
  struct socket* socket_ = nullptr;

  // Owner-thread state.
  SctpState state_ = SctpState::kNew;
  uint16_t outbound_streams_ = 0;
  std::map<uint16_t, Channel> channels_;
  std::map<uint16_t, Reassembly> reassembly_;
  std::set<uint16_t> pending_resets_;  // outgoing resets not yet handed to usrsctp
  std::set<uint16_t> resetting_;       // outgoing resets in flight: ids not reusable yet
  bool draining_ = false;

  // Filled by usrsctp's callbacks on any thread.
  std::mutex inbound_mutex_;
  std::vector<Inbound> inbound_;
  std::atomic<bool> blocked_{false};  // a send returned kWouldBlock: report on_writable
  // Held while send_packet runs, so the destructor can wait for it.
  std::mutex output_mutex_;
};

}  // namespace atrium::media
