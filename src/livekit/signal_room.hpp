#pragma once
// One LiveKit room: what the signal protocol says about it (participants with
// their ParticipantInfo and versions, tracks with their TrackInfo, who gets
// which update) on top of the sfu::Room that moves the media. It lives on the
// room's media worker: every method runs on sfu_room().loop(), the sessions
// post their requests there, and replies go out through the sessions'
// thread-safe WebSockets.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "livekit/connection_quality.hpp"
#include "livekit/proto/livekit_models.pb.h"
#include "livekit/proto/livekit_room.pb.h"
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

// A room's settings, as CreateRoom sets them. LiveKit's defaults: a room
// nobody joins closes after 5 min (empty_timeout), a room closes 20 s after
// its last participant left (departure_timeout), no participant limit.
struct RoomSettings {
  uint32_t empty_timeout = 300;     // s
  uint32_t departure_timeout = 20;  // s
  uint32_t max_participants = 0;    // 0: no limit
  std::string metadata;
};

class SignalRoom;

struct SignalRoomConfig {
  RoomSettings defaults;
  // Signs the refreshed tokens sent to participants, with the key their
  // token was verified with. Unset: no refresh_token is sent.
  SecretLookup secrets;
  // LiveKit sends a fresh token at join and every 5 min (valid 10 min).
  std::chrono::milliseconds token_refresh_interval{std::chrono::minutes(5)};
  std::chrono::milliseconds connection_quality_interval{std::chrono::seconds(5)};
  // Asked on the room's worker when the room's timeouts say it should close:
  // true lets it close (its owner forgot it), false keeps it (a join is on its
  // way). Unset: the room closes.
  std::function<bool(SignalRoom&)> on_expired;
};

// What a session knows when it joins: the verified token and the query.
struct JoinParameters {
  std::string api_key;  // the token's issuer: refreshed tokens are signed with its secret
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
  SignalRoom(std::string name, media::MediaServer& media, size_t worker, RoomEvents events,
             SignalRoomConfig config = {});
  ~SignalRoom() override;

  sfu::Room& sfu_room() { return *room_; }
  media::EventLoop& loop() { return room_->loop(); }
  const ::livekit::Room& info() const { return info_; }

  // --- from any thread ---
  // Whether a join by `identity` fits under max_participants (a second
  // session of a present identity replaces the first, so it always fits).
  bool admits(const std::string& identity) const;

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
  // Closes the room for good: its participants get a leave, room_finished is
  // reported, its timers stop. Joins are then refused.
  void close(::livekit::DisconnectReason reason);
  bool closed() const { return closed_; }
  // CreateRoom on this room: empty_timeout, departure_timeout,
  // max_participants and metadata replace ours when set (non-zero, non-empty).
  void apply(const ::livekit::CreateRoomRequest& request);
  // UpdateRoomMetadata: sets it and sends every participant a RoomUpdate.
  void set_metadata(const std::string& metadata);
  // UpdateSubscriptions: false if there is no such participant.
  bool update_subscriptions(const std::string& identity, const std::vector<std::string>& track_sids,
                            bool subscribe);
  // UpdateParticipant's permission: the participant's grants change as
  // LiveKit's UpdateFromPermission does; tracks it may no longer publish are
  // unpublished, subscriptions follow canSubscribe; everyone hears of it and
  // the participant gets a refreshed token. nullopt: no such participant.
  std::optional<::livekit::ParticipantInfo> set_permission(
      const std::string& identity, const ::livekit::ParticipantPermission& permission);
  // The room's timeouts: whether it should close now (no participants, and
  // the empty or departure timeout passed).
  bool expired(std::chrono::steady_clock::time_point now) const;
  // The room's periodic work (token refresh, connection quality, expiry);
  // runs every second by itself, exposed for tests.
  void tick(std::chrono::steady_clock::time_point now);
  // Connection quality of everyone now (exposed for tests).
  void send_connection_quality();

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
    std::string api_key;
    std::chrono::steady_clock::time_point next_refresh;
    ConnectionScorer quality;
    bool auto_subscribe = true;
    std::shared_ptr<net::WebSocket> socket;
    std::map<std::string, ::livekit::TrackInfo> pending;  // by cid, until media flows
    uint32_t last_reliable_sequence = 0;
  };

  void start();
  void send(Participant& p, const ::livekit::SignalResponse& response);
  void send_refresh_token(Participant& p);
  void unpublish(Participant& p, const std::string& track_sid);
  void note_participants();
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
  SignalRoomConfig config_;
  ::livekit::Room info_;
  std::unique_ptr<sfu::Room> room_;
  std::map<std::string, Participant> participants_;  // by sid
  std::string sif_trailer_;
  std::chrono::steady_clock::time_point created_;
  std::optional<std::chrono::steady_clock::time_point> last_left_;  // set once someone left
  std::chrono::steady_clock::time_point last_quality_;
  uint64_t tick_id_ = 0;
  bool started_ = false;
  bool closed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // Read from other threads (admits): the identities present and the limit.
  mutable std::mutex snapshot_mutex_;
  std::set<std::string> identities_;
  uint32_t max_participants_ = 0;
};

}  // namespace atrium::livekit
