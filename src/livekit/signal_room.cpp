#include "livekit/signal_room.hpp"

#include <algorithm>
#include <chrono>

#include "base/log.hpp"
#include "livekit/ids.hpp"

namespace atrium::livekit {

namespace lk = ::livekit;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using SteadyClock = std::chrono::steady_clock;

const char* source_name(lk::TrackSource source) {
  switch (source) {
    case lk::CAMERA:
      return "camera";
    case lk::MICROPHONE:
      return "microphone";
    case lk::SCREEN_SHARE:
      return "screen_share";
    case lk::SCREEN_SHARE_AUDIO:
      return "screen_share_audio";
    default:
      return "unknown";
  }
}

lk::ParticipantPermission permission_of(const VideoGrant& grant) {
  lk::ParticipantPermission permission;
  permission.set_can_subscribe(grant.may_subscribe());
  permission.set_can_publish(grant.may_publish());
  permission.set_can_publish_data(grant.may_publish_data());
  permission.set_hidden(grant.hidden);
  permission.set_recorder(grant.recorder);
  permission.set_can_update_metadata(grant.may_update_own_metadata());
  for (const auto& source : grant.can_publish_sources) {
    if (source == "camera") permission.add_can_publish_sources(lk::CAMERA);
    if (source == "microphone") permission.add_can_publish_sources(lk::MICROPHONE);
    if (source == "screen_share") permission.add_can_publish_sources(lk::SCREEN_SHARE);
    if (source == "screen_share_audio") permission.add_can_publish_sources(lk::SCREEN_SHARE_AUDIO);
  }
  return permission;
}

std::vector<std::string> source_names(const google::protobuf::RepeatedField<int>& sources) {
  std::vector<std::string> names;
  for (int source : sources) {
    const char* name = source_name(static_cast<lk::TrackSource>(source));
    if (std::string_view(name) != "unknown") names.emplace_back(name);
  }
  return names;
}

// The simulcast rid of a layer as livekit-client names them (q, h, f).
std::string rid_of(lk::VideoQuality quality) {
  switch (quality) {
    case lk::LOW:
      return "q";
    case lk::MEDIUM:
      return "h";
    default:
      return "f";
  }
}

}  // namespace

SignalRoom::SignalRoom(std::string name, media::MediaServer& media, size_t worker,
                       RoomEvents events, SignalRoomConfig config)
    : events_(std::move(events)), config_(std::move(config)) {
  info_.set_sid(make_id("RM_"));
  info_.set_name(name);
  info_.set_empty_timeout(config_.defaults.empty_timeout);
  info_.set_departure_timeout(config_.defaults.departure_timeout);
  info_.set_max_participants(config_.defaults.max_participants);
  info_.set_metadata(config_.defaults.metadata);
  max_participants_ = config_.defaults.max_participants;
  info_.set_creation_time(now_ms() / 1000);
  info_.set_creation_time_ms(now_ms());
  created_ = SteadyClock::now();
  last_quality_ = created_;
  room_ = std::make_unique<sfu::Room>(std::move(name), media, worker, *this);
  sif_trailer_ = make_id("");  // opaque to clients; we never inject frames
  // The timers live on the room's worker.
  if (loop().in_loop_thread()) {
    start();
  } else {
    loop().post([this, alive = std::weak_ptr<bool>(alive_)] {
      if (alive.lock()) start();
    });
  }
}

SignalRoom::~SignalRoom() {
  if (tick_id_) loop().cancel(tick_id_);
  room_.reset();
}

void SignalRoom::start() {
  if (started_ || closed_) return;
  started_ = true;
  // Fine enough for the shortest interval, at most once a second.
  auto shortest = std::min(config_.token_refresh_interval, config_.connection_quality_interval);
  auto period = std::clamp<std::chrono::milliseconds>(shortest / 4, std::chrono::milliseconds(50),
                                                      std::chrono::milliseconds(1000));
  tick_id_ = loop().every(period, [this, alive = std::weak_ptr<bool>(alive_)](auto) {
    if (alive.lock()) tick(SteadyClock::now());
  });
  if (events_.room_started) events_.room_started(info_);
}

bool SignalRoom::admits(const std::string& identity) const {
  std::lock_guard lock(snapshot_mutex_);
  if (max_participants_ == 0 || identities_.count(identity)) return true;
  return identities_.size() < max_participants_;
}

void SignalRoom::note_participants() {
  uint32_t visible = 0;
  std::set<std::string> identities;
  for (const auto& [sid, p] : participants_) {
    identities.insert(p.info.identity());
    if (!p.grant.hidden) ++visible;
  }
  info_.set_num_participants(visible);
  std::lock_guard lock(snapshot_mutex_);
  identities_ = std::move(identities);
}

void SignalRoom::tick(SteadyClock::time_point now) {
  if (closed_) return;
  for (auto& [sid, p] : participants_)
    if (now >= p.next_refresh) send_refresh_token(p);
  if (now - last_quality_ >= config_.connection_quality_interval) {
    last_quality_ = now;
    send_connection_quality();
  }
  if (expired(now)) {
    // The owner may keep it (a join is on its way); else it closes now.
    if (!config_.on_expired || config_.on_expired(*this)) close(lk::ROOM_CLOSED);
  }
}

bool SignalRoom::expired(SteadyClock::time_point now) const {
  if (closed_ || !participants_.empty()) return false;
  // As LiveKit: once someone has come and gone, the departure timeout;
  // before anyone came, the empty timeout from the room's creation.
  if (last_left_) return now - *last_left_ >= std::chrono::seconds(info_.departure_timeout());
  return now - created_ >= std::chrono::seconds(info_.empty_timeout());
}

void SignalRoom::close(lk::DisconnectReason reason) {
  if (closed_) return;
  close_all(reason);
  closed_ = true;
  if (tick_id_) {
    loop().cancel(tick_id_);
    tick_id_ = 0;
  }
  if (started_ && events_.room_finished) events_.room_finished(info_);
}

void SignalRoom::apply(const lk::CreateRoomRequest& request) {
  // As LiveKit's room allocator: only the values given replace ours.
  if (request.empty_timeout() > 0) info_.set_empty_timeout(request.empty_timeout());
  if (request.departure_timeout() > 0) info_.set_departure_timeout(request.departure_timeout());
  if (request.max_participants() > 0) {
    info_.set_max_participants(request.max_participants());
    std::lock_guard lock(snapshot_mutex_);
    max_participants_ = request.max_participants();
  }
  if (!request.metadata().empty() && request.metadata() != info_.metadata())
    set_metadata(request.metadata());
}

void SignalRoom::set_metadata(const std::string& metadata) {
  info_.set_metadata(metadata);
  lk::SignalResponse response;
  *response.mutable_room_update()->mutable_room() = info_;
  for (auto& [sid, p] : participants_)
    send(p, response);
}

void SignalRoom::send_refresh_token(Participant& p) {
  p.next_refresh = SteadyClock::now() + config_.token_refresh_interval;
  if (!config_.secrets || p.api_key.empty()) return;
  auto secret = config_.secrets(p.api_key);
  if (!secret) return;  // the key is gone: the client keeps the token it has
  AccessClaims claims;
  claims.api_key = p.api_key;
  claims.identity = p.info.identity();
  claims.name = p.info.name();
  claims.metadata = p.info.metadata();
  claims.video = p.grant;
  // LiveKit's refreshed tokens are valid 10 min (and refreshed every 5).
  int64_t lifetime = std::max<int64_t>(
      600,
      2 * std::chrono::duration_cast<std::chrono::seconds>(config_.token_refresh_interval).count());
  int64_t now = now_ms() / 1000;
  claims.not_before = now;
  claims.expires = now + lifetime;
  lk::SignalResponse response;
  response.set_refresh_token(mint_token(claims, *secret));
  send(p, response);
}

void SignalRoom::send_connection_quality() {
  std::map<std::string, QualityResult> results;
  for (auto& [sid, p] : participants_) {
    bool expects_media = false;
    for (const auto& track : p.info.tracks())
      expects_media |= !track.muted();
    auto stats = room_->connection_stats(sid);
    results[sid] = stats ? p.quality.update(*stats, expects_media) : p.quality.current();
  }
  for (auto& [sid, p] : participants_) {
    lk::SignalResponse response;
    auto& update = *response.mutable_connection_quality();
    // Itself and everyone it can see.
    for (const auto& [other_sid, other] : participants_) {
      if (other_sid != sid && other.grant.hidden) continue;
      auto& info = *update.add_updates();
      info.set_participant_sid(other_sid);
      info.set_quality(results[other_sid].quality);
      info.set_score(results[other_sid].mos);
    }
    send(p, response);
  }
}

void SignalRoom::send(Participant& p, const lk::SignalResponse& response) {
  if (p.socket) p.socket->send_binary(response.SerializeAsString());
}

void SignalRoom::bump(Participant& p) {
  p.info.set_version(p.info.version() + 1);
}

void SignalRoom::broadcast_update(const Participant& changed) {
  if (changed.grant.hidden) {
    // Hidden participants (recorders) are not announced; they still see themselves.
    lk::SignalResponse self;
    *self.mutable_update()->add_participants() = changed.info;
    send(const_cast<Participant&>(changed), self);
    return;
  }
  lk::SignalResponse response;
  *response.mutable_update()->add_participants() = changed.info;
  for (auto& [sid, p] : participants_)
    send(p, response);
}

std::string SignalRoom::join(const JoinParameters& parameters,
                             std::shared_ptr<net::WebSocket> socket) {
  if (Participant* old = find_by_identity(parameters.identity)) {
    lk::SignalResponse leave;
    leave.mutable_leave()->set_reason(lk::DUPLICATE_IDENTITY);
    leave.mutable_leave()->set_action(lk::LeaveRequest::DISCONNECT);
    send(*old, leave);
    if (old->socket) old->socket->close(1000, "duplicate identity");
    leave_participant_now(old->info.sid(), lk::DUPLICATE_IDENTITY);
  }
  last_left_.reset();
  Participant p;
  p.grant = parameters.grant;
  p.api_key = parameters.api_key;
  p.auto_subscribe = parameters.auto_subscribe;
  p.socket = std::move(socket);
  p.info.set_sid(make_id("PA_"));
  p.info.set_identity(parameters.identity);
  p.info.set_name(parameters.name);
  p.info.set_metadata(parameters.metadata);
  p.info.set_state(lk::ParticipantInfo::JOINED);
  p.info.set_joined_at(now_ms() / 1000);
  p.info.set_joined_at_ms(now_ms());
  p.info.set_version(1);
  p.info.set_client_protocol(parameters.client_protocol);
  for (const auto& [key, value] : parameters.attributes)
    (*p.info.mutable_attributes())[key] = value;
  *p.info.mutable_permission() = permission_of(parameters.grant);
  std::string sid = p.info.sid();

  lk::SignalResponse response;
  lk::JoinResponse& join = *response.mutable_join();
  info_.set_num_participants(static_cast<uint32_t>(participants_.size() + 1));
  *join.mutable_room() = info_;
  *join.mutable_participant() = p.info;
  for (const auto& [other_sid, other] : participants_)
    if (!other.grant.hidden) *join.add_other_participants() = other.info;
  join.set_server_version(kServerVersion);
  join.mutable_server_info()->set_version(kServerVersion);
  join.mutable_server_info()->set_protocol(kServerProtocol);
  join.mutable_server_info()->set_node_id("atrium");
  join.set_subscriber_primary(p.grant.may_subscribe());
  join.set_ping_interval(5);
  join.set_ping_timeout(15);
  // No session resume: a dropped connection rejoins in full, cleanly.
  join.mutable_client_configuration()->set_resume_connection(lk::DISABLED);
  join.set_sif_trailer(sif_trailer_);
  auto [it, inserted] = participants_.emplace(sid, std::move(p));
  note_participants();
  send(it->second, response);

  sfu::ParticipantOptions options;
  options.can_subscribe = it->second.grant.may_subscribe();
  options.auto_subscribe = it->second.auto_subscribe;
  room_->add_participant(sid, options);
  if (events_.participant_joined) events_.participant_joined(info_, it->second.info);
  broadcast_update(it->second);
  // As LiveKit, a fresh token at once (the client's may be about to expire),
  // then every token_refresh_interval.
  send_refresh_token(it->second);
  return sid;
}

void SignalRoom::handle(const std::string& sid, const lk::SignalRequest& request) {
  auto it = participants_.find(sid);
  if (it == participants_.end()) return;
  Participant& p = it->second;
  switch (request.message_case()) {
    case lk::SignalRequest::kOffer: {
      auto result = room_->handle_publisher_offer(sid, request.offer().sdp());
      if (!result.error.empty()) {
        log::get("sfu")->warn("msg=\"publisher offer refused\" participant={} reason=\"{}\"", sid,
                              result.error);
        lk::SignalResponse leave;
        leave.mutable_leave()->set_reason(lk::STATE_MISMATCH);
        leave.mutable_leave()->set_action(lk::LeaveRequest::RECONNECT);
        send(p, leave);
        return;
      }
      lk::SignalResponse response;
      response.mutable_answer()->set_type("answer");
      response.mutable_answer()->set_sdp(result.answer);
      response.mutable_answer()->set_id(request.offer().id());
      send(p, response);
      return;
    }
    case lk::SignalRequest::kAnswer: {
      std::string error =
          room_->handle_subscriber_answer(sid, request.answer().sdp(), request.answer().id());
      if (!error.empty())
        log::get("sfu")->warn("msg=\"subscriber answer refused\" participant={} reason=\"{}\"", sid,
                              error);
      return;
    }
    case lk::SignalRequest::kTrickle:
      // We are ICE-lite: the client's checks tell us its addresses.
      return;
    case lk::SignalRequest::kAddTrack:
      handle_add_track(p, request.add_track());
      return;
    case lk::SignalRequest::kMute:
      handle_mute(p, request.mute());
      return;
    case lk::SignalRequest::kSubscription:
      handle_subscription(p, request.subscription());
      return;
    case lk::SignalRequest::kTrackSetting:
      handle_track_settings(p, request.track_setting());
      return;
    case lk::SignalRequest::kLeave:
      leave(sid, false, lk::CLIENT_INITIATED);
      return;
    case lk::SignalRequest::kPing: {
      lk::SignalResponse response;
      response.set_pong(request.ping());
      send(p, response);
      return;
    }
    case lk::SignalRequest::kPingReq: {
      lk::SignalResponse response;
      response.mutable_pong_resp()->set_last_ping_timestamp(request.ping_req().timestamp());
      response.mutable_pong_resp()->set_timestamp(now_ms());
      send(p, response);
      return;
    }
    case lk::SignalRequest::kUpdateMetadata:
      handle_metadata(p, request.update_metadata());
      return;
    default:
      // update_layers, subscription_permission, sync_state, simulate,
      // update_audio/video_track: accepted, nothing to do.
      return;
  }
}

void SignalRoom::handle_add_track(Participant& p, const lk::AddTrackRequest& request) {
  bool video = request.type() == lk::VIDEO;
  if (!p.grant.may_publish() || !p.grant.may_publish_source(source_name(request.source()))) {
    lk::SignalResponse response;
    auto& refused = *response.mutable_request_response();
    refused.set_reason(lk::RequestResponse::NOT_ALLOWED);
    refused.set_message("not allowed to publish this source");
    *refused.mutable_add_track() = request;
    send(p, response);
    return;
  }
  if (request.cid().empty() || p.pending.count(request.cid())) {
    refuse(p, 0, lk::RequestResponse::INVALID_REQUEST, "add_track needs a new cid");
    return;
  }
  lk::TrackInfo track;
  track.set_sid(make_id(video ? "TR_V" : "TR_A"));
  track.set_type(request.type());
  track.set_name(request.name());
  track.set_muted(request.muted());
  track.set_width(request.width());
  track.set_height(request.height());
  track.set_source(request.source());
  track.set_disable_dtx(request.disable_dtx());
  track.set_stereo(request.stereo());
  track.set_disable_red(request.disable_red() || request.encryption() != lk::Encryption::NONE);
  track.set_encryption(request.encryption());
  track.set_stream(request.stream());
  std::vector<std::string> rids;
  for (const auto& layer : request.layers()) {
    *track.add_layers() = layer;
    rids.push_back(layer.rid().empty() ? rid_of(layer.quality()) : layer.rid());
  }
  track.set_simulcast(request.layers_size() > 1);
  for (const auto& codec : request.simulcast_codecs()) {
    auto& info = *track.add_codecs();
    // Clients split the mime type at '/': "vp8" from the request becomes "video/vp8".
    std::string mime = codec.codec();
    if (mime.find('/') == std::string::npos) mime = (video ? "video/" : "audio/") + mime;
    info.set_mime_type(mime);
    info.set_cid(codec.cid());
    for (const auto& layer : codec.layers())
      *info.add_layers() = layer;
  }
  sfu::TrackAnnouncement announced;
  announced.sid = track.sid();
  announced.cid = request.cid();
  announced.video = video;
  announced.muted = request.muted();
  announced.encrypted = request.encryption() != lk::Encryption::NONE;
  announced.rids = video ? rids : std::vector<std::string>{};
  // The codec the client asked for leads our answer, as LiveKit's does:
  // livekit-client no longer reorders its offer. Audio: RED unless disabled.
  if (video && request.simulcast_codecs_size() > 0) {
    std::string codec = request.simulcast_codecs(0).codec();
    if (auto slash = codec.find('/'); slash != std::string::npos) codec = codec.substr(slash + 1);
    announced.codec = codec;
  } else if (!video) {
    announced.codec = request.disable_red() || announced.encrypted ? "opus" : "red";
  }
  room_->announce_track(p.info.sid(), announced);
  p.pending[request.cid()] = track;
  lk::SignalResponse response;
  response.mutable_track_published()->set_cid(request.cid());
  *response.mutable_track_published()->mutable_track() = track;
  send(p, response);
}

void SignalRoom::on_track_started(const std::string& sid, const std::string& track_sid,
                                  const std::string& mime_type) {
  auto it = participants_.find(sid);
  if (it == participants_.end()) return;
  Participant& p = it->second;
  for (auto pending = p.pending.begin(); pending != p.pending.end(); ++pending) {
    if (pending->second.sid() != track_sid) continue;
    lk::TrackInfo track = pending->second;
    track.set_mime_type(mime_type);
    p.pending.erase(pending);
    *p.info.add_tracks() = track;
    p.info.set_is_publisher(true);
    bump(p);
    broadcast_update(p);
    if (events_.track_published) events_.track_published(info_, p.info, track);
    for (auto& [other_sid, other] : participants_) {
      if (other_sid != sid && other.auto_subscribe && other.grant.may_subscribe())
        room_->subscribe(other_sid, track_sid, true);
    }
    return;
  }
}

lk::TrackInfo* SignalRoom::find_track(Participant& p, const std::string& track_sid) {
  for (auto& track : *p.info.mutable_tracks())
    if (track.sid() == track_sid) return &track;
  return nullptr;
}

void SignalRoom::handle_mute(Participant& p, const lk::MuteTrackRequest& request) {
  lk::TrackInfo* track = find_track(p, request.sid());
  if (!track) {
    for (auto& [cid, pending] : p.pending)
      if (pending.sid() == request.sid()) pending.set_muted(request.muted());
    return;
  }
  if (track->muted() == request.muted()) return;
  track->set_muted(request.muted());
  room_->set_track_muted(p.info.sid(), request.sid(), request.muted());
  bump(p);
  broadcast_update(p);
}

void SignalRoom::handle_subscription(Participant& p, const lk::UpdateSubscription& request) {
  if (!p.grant.may_subscribe()) return;
  for (const auto& track_sid : request.track_sids())
    room_->subscribe(p.info.sid(), track_sid, request.subscribe());
  for (const auto& tracks : request.participant_tracks())
    for (const auto& track_sid : tracks.track_sids())
      room_->subscribe(p.info.sid(), track_sid, request.subscribe());
}

void SignalRoom::handle_track_settings(Participant& p, const lk::UpdateTrackSettings& request) {
  for (const auto& track_sid : request.track_sids()) {
    int layer = 2;
    if (request.disabled()) {
      layer = -1;
    } else {
      // Of the layers the publisher announced, the smallest that covers the
      // rendered size, else the largest; else the quality asked for. Layers
      // are named by quality (LOW 0, MEDIUM 1, HIGH 2), the SFU's layer index:
      // simulcast lists them low to high, SVC (VP9) high to low.
      const lk::TrackInfo* track = nullptr;
      for (auto& [sid, owner] : participants_)
        for (const auto& t : owner.info.tracks())
          if (t.sid() == track_sid) track = &t;
      if (track && request.width() > 0 && track->layers_size() > 0) {
        int covering = -1, largest = -1;
        uint32_t covering_width = UINT32_MAX, largest_width = 0;
        for (const auto& l : track->layers()) {
          const int quality = std::min<int>(l.quality(), 2);
          if (l.width() >= request.width() && l.height() >= request.height() &&
              l.width() < covering_width) {
            covering = quality;
            covering_width = l.width();
          }
          if (l.width() >= largest_width) {
            largest = quality;
            largest_width = l.width();
          }
        }
        layer = covering >= 0 ? covering : largest;
      } else {
        layer = request.quality() == lk::LOW ? 0 : request.quality() == lk::MEDIUM ? 1 : 2;
      }
    }
    room_->set_max_layer(p.info.sid(), track_sid, layer);
  }
}

void SignalRoom::handle_metadata(Participant& p, const lk::UpdateParticipantMetadata& request) {
  if (!p.grant.may_update_own_metadata()) {
    refuse(p, request.request_id(), lk::RequestResponse::NOT_ALLOWED,
           "not allowed to update metadata");
    return;
  }
  if (!request.name().empty()) p.info.set_name(request.name());
  if (!request.metadata().empty()) p.info.set_metadata(request.metadata());
  for (const auto& [key, value] : request.attributes()) {
    if (value.empty())
      p.info.mutable_attributes()->erase(key);
    else
      (*p.info.mutable_attributes())[key] = value;
  }
  bump(p);
  broadcast_update(p);
  // Name and metadata are claims of its token.
  if (!request.name().empty() || !request.metadata().empty()) send_refresh_token(p);
}

void SignalRoom::refuse(Participant& p, uint32_t request_id, lk::RequestResponse::Reason reason,
                        const std::string& message) {
  lk::SignalResponse response;
  response.mutable_request_response()->set_request_id(request_id);
  response.mutable_request_response()->set_reason(reason);
  response.mutable_request_response()->set_message(message);
  send(p, response);
}

void SignalRoom::leave(const std::string& sid, bool aborted, lk::DisconnectReason reason) {
  auto it = participants_.find(sid);
  if (it == participants_.end()) return;
  if (!aborted && it->second.socket) {
    lk::SignalResponse response;
    response.mutable_leave()->set_reason(reason);
    response.mutable_leave()->set_action(lk::LeaveRequest::DISCONNECT);
    send(it->second, response);
  }
  leave_participant_now(sid, reason, aborted);
}

void SignalRoom::leave_participant_now(const std::string& sid, lk::DisconnectReason reason,
                                       bool aborted) {
  auto it = participants_.find(sid);
  if (it == participants_.end()) return;
  Participant p = std::move(it->second);
  participants_.erase(it);
  note_participants();
  // The most common deployment failure (media ports unreachable, wrong
  // node_ips) shows here: the client gave up before its media came up.
  if (p.info.state() != lk::ParticipantInfo::ACTIVE && p.socket)
    log::get("sfu")->warn(
        "msg=\"left before its media connection came up; check that clients reach the media "
        "ports (sfu.udp_port, sfu.tcp_port) at an address in sfu.node_ips\" participant={} "
        "identity={}",
        sid, p.info.identity());
  if (participants_.empty()) last_left_ = SteadyClock::now();
  room_->remove_participant(sid);
  p.info.set_state(lk::ParticipantInfo::DISCONNECTED);
  p.info.set_disconnect_reason(reason);
  bump(p);
  if (!p.grant.hidden) {
    lk::SignalResponse response;
    *response.mutable_update()->add_participants() = p.info;
    for (auto& [other_sid, other] : participants_)
      send(other, response);
  }
  for (const auto& track : p.info.tracks())
    if (events_.track_unpublished) events_.track_unpublished(info_, p.info, track);
  if (events_.participant_left) events_.participant_left(info_, p.info, aborted);
  // room_finished waits for the room to close (departure timeout, DeleteRoom).
}

SignalRoom::Participant* SignalRoom::find_by_identity(const std::string& identity) {
  for (auto& [sid, p] : participants_)
    if (p.info.identity() == identity) return &p;
  return nullptr;
}

bool SignalRoom::remove(const std::string& identity) {
  Participant* p = find_by_identity(identity);
  if (!p) return false;
  std::string sid = p->info.sid();
  auto socket = p->socket;
  leave(sid, false, lk::PARTICIPANT_REMOVED);
  if (socket) socket->close(1000, "removed");
  return true;
}

void SignalRoom::close_all(lk::DisconnectReason reason) {
  std::vector<std::string> sids;
  for (const auto& [sid, p] : participants_)
    sids.push_back(sid);
  for (const auto& sid : sids) {
    auto socket = participants_[sid].socket;
    leave(sid, false, reason);
    if (socket) socket->close(1000, "room closed");
  }
}

std::vector<lk::ParticipantInfo> SignalRoom::participants() const {
  std::vector<lk::ParticipantInfo> out;
  for (const auto& [sid, p] : participants_)
    out.push_back(p.info);
  return out;
}

std::optional<lk::ParticipantInfo> SignalRoom::participant(const std::string& identity) const {
  for (const auto& [sid, p] : participants_)
    if (p.info.identity() == identity) return p.info;
  return std::nullopt;
}

std::optional<lk::TrackInfo> SignalRoom::mute_track(const std::string& identity,
                                                    const std::string& track_sid, bool muted) {
  Participant* p = find_by_identity(identity);
  if (!p) return std::nullopt;
  lk::TrackInfo* track = find_track(*p, track_sid);
  if (!track) return std::nullopt;
  lk::MuteTrackRequest request;
  request.set_sid(track_sid);
  request.set_muted(muted);
  handle_mute(*p, request);
  // Tell the publisher too: its client mutes the local track.
  lk::SignalResponse response;
  *response.mutable_mute() = request;
  send(*p, response);
  return *track;
}

std::optional<lk::ParticipantInfo> SignalRoom::update_participant(
    const std::string& identity, const std::optional<std::string>& name,
    const std::optional<std::string>& metadata,
    const std::map<std::string, std::string>& attributes) {
  Participant* p = find_by_identity(identity);
  if (!p) return std::nullopt;
  if (name) p->info.set_name(*name);
  if (metadata) p->info.set_metadata(*metadata);
  for (const auto& [key, value] : attributes) {
    if (value.empty())
      p->info.mutable_attributes()->erase(key);
    else
      (*p->info.mutable_attributes())[key] = value;
  }
  bump(*p);
  broadcast_update(*p);
  if (name || metadata) send_refresh_token(*p);
  return p->info;
}

void SignalRoom::unpublish(Participant& p, const std::string& track_sid) {
  room_->unpublish_track(p.info.sid(), track_sid);
  auto& tracks = *p.info.mutable_tracks();
  for (int i = 0; i < tracks.size(); ++i) {
    if (tracks[i].sid() != track_sid) continue;
    lk::TrackInfo track = tracks[i];
    tracks.DeleteSubrange(i, 1);
    if (events_.track_unpublished) events_.track_unpublished(info_, p.info, track);
    break;
  }
  for (auto it = p.pending.begin(); it != p.pending.end();) {
    it = it->second.sid() == track_sid ? p.pending.erase(it) : std::next(it);
  }
  p.info.set_is_publisher(p.info.tracks_size() > 0);
  // The publisher's client stops sending it (LocalTrackUnpublished).
  lk::SignalResponse response;
  response.mutable_track_unpublished()->set_track_sid(track_sid);
  send(p, response);
}

bool SignalRoom::update_subscriptions(const std::string& identity,
                                      const std::vector<std::string>& track_sids, bool subscribe) {
  Participant* p = find_by_identity(identity);
  if (!p) return false;
  if (!p->grant.may_subscribe()) return true;  // as LiveKit: nothing to do
  for (const auto& track_sid : track_sids)
    room_->subscribe(p->info.sid(), track_sid, subscribe);
  return true;
}

std::optional<lk::ParticipantInfo> SignalRoom::set_permission(
    const std::string& identity, const lk::ParticipantPermission& permission) {
  Participant* p = find_by_identity(identity);
  if (!p) return std::nullopt;
  // LiveKit's VideoGrant.UpdateFromPermission.
  VideoGrant grant = p->grant;
  grant.can_publish = permission.can_publish();
  grant.can_publish_data = permission.can_publish_data();
  grant.can_subscribe = permission.can_subscribe();
  grant.can_update_own_metadata = permission.can_update_metadata();
  grant.can_publish_sources = source_names(permission.can_publish_sources());
  grant.hidden = permission.hidden();
  grant.recorder = permission.recorder();
  if (permission_of(grant).SerializeAsString() == permission_of(p->grant).SerializeAsString())
    return p->info;  // nothing changes
  bool could_subscribe = p->grant.may_subscribe();
  bool was_hidden = p->grant.hidden;
  p->grant = grant;
  *p->info.mutable_permission() = permission_of(grant);
  const std::string sid = p->info.sid();
  log::get("sfu")->info(
      "msg=\"permission changed\" room={} identity={} publish={} subscribe={} data={}",
      info_.name(), identity, grant.may_publish(), grant.may_subscribe(), grant.may_publish_data());

  // Tracks it may no longer publish are unpublished, pending ones too.
  std::vector<std::string> revoked;
  for (const auto& track : p->info.tracks())
    if (!grant.may_publish_source(source_name(track.source()))) revoked.push_back(track.sid());
  for (const auto& [cid, track] : p->pending)
    if (!grant.may_publish_source(source_name(track.source()))) revoked.push_back(track.sid());
  for (const auto& track_sid : revoked)
    unpublish(*p, track_sid);

  // Subscriptions follow canSubscribe.
  if (could_subscribe != grant.may_subscribe()) {
    // Joined without it: the subscriber connection opens now.
    if (grant.may_subscribe()) room_->enable_subscriber(sid);
    for (const auto& [owner, track_sid] : room_->started_tracks()) {
      if (owner == sid) continue;
      if (!grant.may_subscribe())
        room_->subscribe(sid, track_sid, false);
      else if (p->auto_subscribe)
        room_->subscribe(sid, track_sid, true);
    }
  }
  bump(*p);
  if (grant.hidden && !was_hidden) {
    // Hidden from now on: the others see it go (as if it had left).
    lk::SignalResponse gone;
    auto& info = *gone.mutable_update()->add_participants();
    info = p->info;
    info.set_state(lk::ParticipantInfo::DISCONNECTED);
    for (auto& [other_sid, other] : participants_)
      if (other_sid != sid) send(other, gone);
    bump(*p);
  }
  broadcast_update(*p);  // the participant too: its client reads its new permission
  send_refresh_token(*p);
  return p->info;
}

void SignalRoom::on_subscriber_offer(const std::string& sid, const std::string& sdp, uint32_t id) {
  auto it = participants_.find(sid);
  if (it == participants_.end()) return;
  lk::SignalResponse response;
  response.mutable_offer()->set_type("offer");
  response.mutable_offer()->set_sdp(sdp);
  response.mutable_offer()->set_id(id);
  send(it->second, response);
}

void SignalRoom::on_data(const std::string& sid, const std::string& label, media::MessageKind,
                         std::span<const uint8_t> data) {
  auto it = participants_.find(sid);
  if (it == participants_.end()) return;
  Participant& p = it->second;
  if (!p.grant.may_publish_data()) return;
  lk::DataPacket packet;
  if (!packet.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    log::get("sfu")->warn("msg=\"undecodable data packet dropped\" participant={}", sid);
    return;
  }
  // Reliable packets carry a sequence per sender session: a repeat is a
  // retransmission after a reconnect, already delivered.
  if (label == "_reliable" && packet.sequence() != 0) {
    if (packet.sequence() <= p.last_reliable_sequence) return;
    p.last_reliable_sequence = packet.sequence();
  }
  relay_data(&p, std::move(packet), label);
}

void SignalRoom::relay_data(Participant* from, lk::DataPacket packet, const std::string& label) {
  // The server, not the sender, says who sent it.
  std::string identity = from && !from->grant.hidden ? from->info.identity() : std::string();
  std::string sid = from && !from->grant.hidden ? from->info.sid() : std::string();
  packet.set_participant_identity(identity);
  packet.set_participant_sid(sid);
  packet.set_kind(label == "_lossy" ? lk::DataPacket::LOSSY : lk::DataPacket::RELIABLE);
  std::vector<std::string> destinations(packet.destination_identities().begin(),
                                        packet.destination_identities().end());
  if (packet.has_user()) {
    auto& user = *packet.mutable_user();
    user.set_participant_identity(identity);
    user.set_participant_sid(sid);
    for (const auto& d : user.destination_identities())
      if (std::find(destinations.begin(), destinations.end(), d) == destinations.end())
        destinations.push_back(d);
  }
  std::string bytes = packet.SerializeAsString();
  std::span<const uint8_t> view(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  for (auto& [other_sid, other] : participants_) {
    if (from && other_sid == from->info.sid()) continue;
    if (!destinations.empty() && std::find(destinations.begin(), destinations.end(),
                                           other.info.identity()) == destinations.end())
      continue;
    room_->send_data(other_sid, label == "_lossy" ? "_lossy" : "_reliable",
                     media::MessageKind::kBinary, view);
  }
}

void SignalRoom::send_server_data(lk::DataPacket packet) {
  relay_data(nullptr, std::move(packet),
             packet.kind() == lk::DataPacket::LOSSY ? "_lossy" : "_reliable");
}

void SignalRoom::on_connection_state(const std::string& sid, bool publisher,
                                     media::TransportState state) {
  auto it = participants_.find(sid);
  if (it == participants_.end()) return;
  Participant& p = it->second;
  // The subscriber connection is the primary one: when it is up, the
  // participant is active (publisher-only participants: the publisher).
  bool primary = !publisher || !p.grant.may_subscribe();
  if (primary && state == media::TransportState::kConnected &&
      p.info.state() != lk::ParticipantInfo::ACTIVE) {
    p.info.set_state(lk::ParticipantInfo::ACTIVE);
    bump(p);
    broadcast_update(p);
  }
  if (state == media::TransportState::kFailed)
    log::get("sfu")->warn(
        "msg=\"connection failed: no ICE check or DTLS handshake completed in time; check that "
        "clients reach the media ports (sfu.udp_port, sfu.tcp_port) at an address in "
        "sfu.node_ips\" participant={} connection={}",
        sid, publisher ? "publisher" : "subscriber");
}

void SignalRoom::on_speakers(const std::vector<sfu::SpeakerLevel>& speakers) {
  lk::SignalResponse response;
  auto& changed = *response.mutable_speakers_changed();
  for (const auto& speaker : speakers) {
    auto& info = *changed.add_speakers();
    info.set_sid(speaker.participant_sid);
    info.set_level(speaker.level);
    info.set_active(speaker.active);
  }
  for (auto& [sid, p] : participants_)
    send(p, response);
}

}  // namespace atrium::livekit
