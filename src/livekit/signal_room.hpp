#pragma once
// One LiveKit room: what the signal protocol says about it (participants with
// their ParticipantInfo and versions, tracks with their TrackInfo, who gets
// which update) on top of the sfu::Room that moves the media. It lives on the
// room's media worker: every method runs on sfu_room().loop(), the sessions
// post their requests there, and replies go out through the sessions'
// thread-safe WebSockets.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "livekit/proto/livekit_models.pb.h"
#include "livekit/proto/livekit_rtc.pb.h"
#include "livekit/token.hpp"
#include "net/websocket.hpp"
#include "sfu/room.hpp"

namespace atrium::livekit {

// Reports for webhooks and logs, on the room's worker.
struct RoomEvents {
  std::function<void(const ::livekit::Room&)> room_started;
  std::function<void(const ::livekit::Room&)> room_finished;
  std::function<void(const ::livekit::Room&, const ::livekit::ParticipantInfo&)> participant_joined;
  // aborted: the connection dropped without a leave.
  std::function<void(const ::livekit::Room&, const ::livekit::ParticipantInfo&, bool aborted)>
      participant_left;
  std::function<void(const ::livekit::Room&, const ::livekit::ParticipantInfo&,
                     const ::livekit::TrackInfo&)>
      track_published;
  std::function<void(const ::livekit::Room&, const ::livekit::ParticipantInfo&,
                     const ::livekit::TrackInfo&)>
      track_unpublished;
};

// What a session knows when it joins: the verified token and the query.
struct JoinParameters {
  std::string identity;
  std::string name;
  std::string metadata;
  VideoGrant grant;
  std::map<std::string, std::string> attributes;
  bool auto_subscribe = true;
  int client_protocol = 0;
};

class SignalRoom : public sfu::RoomObserver {
 public:
  SignalRoom(std::string name, media::MediaServer& media, size_t worker, RoomEvents events);
  ~SignalRoom() override;

  sfu::Room& sfu_room() { return *room_; }
  media::EventLoop& loop() { return room_->loop(); }
  const ::livekit::Room& info() const { return info_; }

  // --- on loop() ---
  // Sends the JoinResponse and announces the participant; returns its sid.
  // A participant with the same identity is replaced (DUPLICATE_IDENTITY).
  std::string join(const JoinParameters& parameters, std::shared_ptr<net::WebSocket> socket);
  void handle(const std::string& sid, const ::livekit::SignalRequest& request);
  // The participant's signal connection is gone. aborted: without a leave.
  void leave(const std::string& sid, bool aborted, ::livekit::DisconnectReason reason);
  // Removes a participant from outside (RoomService.RemoveParticipant).
  bool remove(const std::string& identity);
  // Server-side data (RoomService.SendData): from nobody, to all or some.
  void send_server_data(::livekit::DataPacket packet);
  // Mutes a track from outside (RoomService.MutePublishedTrack).
  std::optional<::livekit::TrackInfo> mute_track(const std::string& identity,
                                                 const std::string& track_sid, bool muted);
  std::optional<::livekit::ParticipantInfo> update_participant(
      const std::string& identity, const std::optional<std::string>& name,
      const std::optional<std::string>& metadata,
      const std::map<std::string, std::string>& attributes);
  // Closes every participant (DeleteRoom, shutdown).
  void close_all(::livekit::DisconnectReason reason);

  std::vector<::livekit::ParticipantInfo> participants() const;
  std::optional<::livekit::ParticipantInfo> participant(const std::string& identity) const;
  size_t participant_count() const { return participants_.size(); }
  bool empty() const { return participants_.empty(); }

  // sfu::RoomObserver
  void on_subscriber_offer(const std::string& participant, const std::string& sdp,
                           uint32_t id) override;
  void on_track_started(const std::string& participant, const std::string& track_sid,
                        const std::string& mime_type) override;
  void on_data(const std::string& participant, const std::string& label, media::MessageKind kind,
               std::span<const uint8_t> data) override;
  void on_connection_state(const std::string& participant, bool publisher,
                           media::TransportState state) override;
  void on_speakers(const std::vector<sfu::SpeakerLevel>& speakers) override;

 private:
  struct Participant {
    ::livekit::ParticipantInfo info;
    VideoGrant grant;
    bool auto_subscribe = true;
    std::shared_ptr<net::WebSocket> socket;
    std::map<std::string, ::livekit::TrackInfo> pending;  // by cid, until media flows
    uint32_t last_reliable_sequence = 0;
  };

  void send(Participant& p, const ::livekit::SignalResponse& response);
  void leave_participant_now(const std::string& sid, ::livekit::DisconnectReason reason,
                             bool aborted = false);
  void broadcast_update(const Participant& changed);
  void bump(Participant& p);
  void handle_add_track(Participant& p, const ::livekit::AddTrackRequest& request);
  void handle_mute(Participant& p, const ::livekit::MuteTrackRequest& request);
  void handle_subscription(Participant& p, const ::livekit::UpdateSubscription& request);
  void handle_track_settings(Participant& p, const ::livekit::UpdateTrackSettings& request);
  void handle_metadata(Participant& p, const ::livekit::UpdateParticipantMetadata& request);
  void refuse(Participant& p, uint32_t request_id, ::livekit::RequestResponse::Reason reason,
              const std::string& message);
  Participant* find_by_identity(const std::string& identity);
  ::livekit::TrackInfo* find_track(Participant& p, const std::string& track_sid);
  void relay_data(Participant* from, ::livekit::DataPacket packet, const std::string& label);

  RoomEvents events_;
  ::livekit::Room info_;
  std::unique_ptr<sfu::Room> room_;
  std::map<std::string, Participant> participants_;  // by sid
  std::string sif_trailer_;
};

}  // namespace atrium::livekit
