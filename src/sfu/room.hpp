#pragma once
// A room of the SFU: its participants, their published tracks and their
// subscriptions, on one media worker. Everything in a room (transports,
// forwarding, RTCP, data channels) runs on that worker's thread, so fan-out
// never crosses threads; the signalling layer talks to a room only by posting
// work onto loop() and hears back through the RoomObserver, called on the
// same thread.
//
// A participant has two WebRTC connections, as LiveKit's two-PeerConnection
// mode has: the client offers on its publisher connection (we answer), and we
// offer on its subscriber connection (it answers), one section per track it
// receives plus the data channels.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "media/dcep.hpp"
#include "media/media_server.hpp"
#include "media/sdp_answer.hpp"
#include "media/sdp_offer.hpp"
#include "sfu/down_track.hpp"
#include "sfu/retransmission_buffer.hpp"
#include "sfu/speaker_detector.hpp"

namespace atrium::sfu {

// What the signalling layer announced for a track it is about to publish.
struct TrackAnnouncement {
  std::string sid;  // server-assigned (TR_...)
  std::string cid;  // the client's track id: its SDP msid track id
  bool video = false;
  bool muted = false;
  bool encrypted = false;
  std::vector<std::string> rids;  // simulcast layers, low to high ("q", "h", "f")
  // The encoding the client wants to send ("vp9", "h264", "red", "opus"):
  // put first in our answer, since the answer's order picks the send codec.
  // Empty: the offer's order.
  std::string codec;
};

struct SpeakerLevel {
  std::string participant_sid;
  float level = 0;  // 0..1
  bool active = false;
};

// Calls from the room to the signalling layer, on the room's worker thread.
class RoomObserver {
 public:
  virtual ~RoomObserver() = default;
  // A new offer for the participant's subscriber connection; `id` increases.
  virtual void on_subscriber_offer(const std::string& participant, const std::string& sdp,
                                   uint32_t id) = 0;
  // Media of an announced track started flowing: the track is now published.
  virtual void on_track_started(const std::string& participant, const std::string& track_sid,
                                const std::string& mime_type) = 0;
  // A data-channel message the participant sent on its publisher connection.
  virtual void on_data(const std::string& participant, const std::string& label,
                       media::MessageKind kind, std::span<const uint8_t> data) = 0;
  // A connection of the participant changed state (publisher or subscriber).
  virtual void on_connection_state(const std::string& participant, bool publisher,
                                   media::TransportState state) = 0;
  // Active speakers changed (loudest first).
  virtual void on_speakers(const std::vector<SpeakerLevel>& speakers) = 0;
};

struct ParticipantOptions {
  bool can_subscribe = true;
  // Subscribe at join to every track already flowing (LiveKit's auto_subscribe);
  // later tracks are the signalling layer's call.
  bool auto_subscribe = true;
};

struct OfferAnswer {
  std::string answer;  // the SDP, empty on error
  std::string error;
};

// One participant's connection as its RTCP shows it, for connection quality.
// Counters are cumulative since the participant joined (the caller diffs).
struct ConnectionStats {
  // Publisher leg: RTP we received from the participant (all its streams).
  uint64_t packets_expected = 0;
  uint64_t packets_lost = 0;
  double jitter_ms = 0;  // the largest of its streams, now
  // Subscriber leg: what the participant's receiver reports say of our streams.
  uint64_t subscriber_packets_expected = 0;  // from extended highest sequence numbers
  uint64_t subscriber_packets_lost = 0;      // cumulative lost as reported
  std::optional<double> rtt_ms;              // from LSR/DLSR of its newest report
  bool publishing = false;                   // media flows on its publisher connection
  bool subscribing = false;                  // it receives at least one stream
};

struct RoomStats {
  uint64_t packets_in = 0;
  uint64_t packets_out = 0;
  uint64_t nacks_answered = 0;
  uint64_t nacks_sent = 0;  // sequence numbers asked of publishers
  uint64_t keyframe_requests = 0;
};

class Room {
 public:
  using Clock = std::chrono::steady_clock;

  Room(std::string name, media::MediaServer& media, size_t worker, RoomObserver& observer);
  ~Room();  // on the room's worker
  Room(const Room&) = delete;
  Room& operator=(const Room&) = delete;

  const std::string& name() const { return name_; }
  media::EventLoop& loop() { return media_.worker_loop(worker_); }

  // --- everything below runs on loop() ---
  void add_participant(const std::string& sid, const ParticipantOptions& options);
  void remove_participant(const std::string& sid);
  // A participant that joined without canSubscribe gets it: opens its
  // subscriber connection (data channels, then tracks) with a first offer.
  void enable_subscriber(const std::string& sid);
  bool has_participant(const std::string& sid) const { return participants_.count(sid) != 0; }
  size_t participant_count() const { return participants_.size(); }

  // The client's offer on its publisher connection.
  OfferAnswer handle_publisher_offer(const std::string& sid, const std::string& offer);
  // The client's answer on its subscriber connection (to offer `id`).
  std::string handle_subscriber_answer(const std::string& sid, const std::string& answer,
                                       uint32_t id);
  void announce_track(const std::string& sid, const TrackAnnouncement& track);
  void unpublish_track(const std::string& sid, const std::string& track_sid);
  void set_track_muted(const std::string& sid, const std::string& track_sid, bool muted);

  // (Un)subscribes a participant to a published track.
  void subscribe(const std::string& subscriber, const std::string& track_sid, bool subscribe);
  // Adaptive stream: the largest layer the subscriber wants (-1 = disabled).
  void set_max_layer(const std::string& subscriber, const std::string& track_sid, int layer);

  // Sends a data-channel message to a participant on its subscriber connection.
  bool send_data(const std::string& sid, const std::string& label, media::MessageKind kind,
                 std::span<const uint8_t> data);

  // Tracks whose media flows, by owner.
  std::vector<std::pair<std::string, std::string>> started_tracks() const;
  const RoomStats& stats() const { return stats_; }
  // nullopt for an unknown participant.
  std::optional<ConnectionStats> connection_stats(const std::string& sid) const;

 private:
  struct Participant;
  struct PublishedTrack;
  struct Subscription;

  void on_publisher_rtp(Participant& p, std::span<uint8_t> buffer, size_t length);
  void on_publisher_rtcp(Participant& p, std::span<uint8_t> buffer, size_t length);
  void on_subscriber_rtcp(Participant& p, std::span<uint8_t> buffer, size_t length);
  void forward(PublishedTrack& track, int layer, const media::RtpView& packet,
               const PacketInfo& info);
  void send_to_subscriber(Subscription& subscription, std::span<uint8_t> out, size_t length);
  void request_keyframe(PublishedTrack& track, int layer);
  void bind_tracks(Participant& p);
  void start_track(PublishedTrack& track);
  void open_subscriber(Participant& participant);
  void renegotiate(Participant& subscriber);
  void choose_payload_type(Subscription& subscription, const std::vector<int>& accepted);
  void drop_subscription(Subscription& subscription);
  void tick(Clock::time_point now);
  void allocate_bandwidth(Participant& subscriber, uint64_t estimate_bps, Clock::time_point now);
  // RTCP per leg (room_rtcp.cpp): receive statistics and TWCC of the
  // publisher leg, what we sent on the subscriber leg, and the reports.
  void record_transport_cc(Participant& p, const media::RtpView& packet, Clock::time_point now);
  void record_stream_packet(Participant& p, const PublishedTrack& track,
                            const media::RtpView& packet, Clock::time_point now);
  bool send_counted(Subscription& subscription, std::span<uint8_t> out, size_t length);
  void send_reports(Clock::time_point now);
  void send_publisher_nacks(Participant& p, Clock::time_point now);
  void send_receiver_reports(Participant& publisher, Clock::time_point now);
  void send_sender_report(Subscription& subscription, Clock::time_point now);
  std::shared_ptr<media::WebRtcTransport> make_transport(Participant& p, bool publisher,
                                                         media::WebRtcTransportConfig config);

  std::string name_;
  media::MediaServer& media_;
  size_t worker_;
  RoomObserver& observer_;
  uint64_t tick_id_ = 0;
  uint64_t tick_count_ = 0;  // ticks so far (slot of the layer-rate window)
  std::map<std::string, std::unique_ptr<Participant>> participants_;
  std::unordered_map<std::string, PublishedTrack*> tracks_;  // by sid
  SpeakerDetector speakers_;
  uint64_t next_speaker_key_ = 1;
  RoomStats stats_;
  std::vector<uint8_t> scratch_;  // one forwarded copy at a time
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace atrium::sfu
