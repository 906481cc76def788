#include "livekit/room_service.hpp"

#include <google/protobuf/util/json_util.h>

#include <boost/json.hpp>
#include <ctime>

#include "base/log.hpp"
#include "livekit/proto/livekit_room.pb.h"

namespace atrium::livekit {

namespace lk = ::livekit;

namespace {

// Thrown inside call() and turned into a Twirp error reply.
struct TwirpFailure {
  std::string code;
  std::string msg;
};

int status_for(std::string_view code) {
  if (code == "unauthenticated") return 401;
  if (code == "permission_denied") return 403;
  if (code == "not_found" || code == "bad_route") return 404;
  if (code == "invalid_argument" || code == "malformed") return 400;
  if (code == "unimplemented") return 501;
  return 500;
}

bool is_protobuf(const net::Request& request) {
  auto type = request.header("content-type").value_or("");
  return type.starts_with("application/protobuf") || type.starts_with("application/x-protobuf");
}

void decode(const net::Request& request, google::protobuf::Message& message) {
  if (is_protobuf(request)) {
    if (!message.ParseFromString(request.body))
      throw TwirpFailure{"malformed", "the body is not a valid protobuf message"};
    return;
  }
  if (request.body.empty()) return;  // Twirp clients may send nothing for an empty message
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(request.body, &message, options);
  if (!status.ok())
    throw TwirpFailure{"malformed", "the body is not valid JSON for " +
                                        message.GetDescriptor()->name() + ": " +
                                        std::string(status.message())};
}

net::Response encode(const net::Request& request, const google::protobuf::Message& message) {
  net::Response response;
  if (is_protobuf(request)) {
    response.content_type = "application/protobuf";
    response.body = message.SerializeAsString();
    return response;
  }
  google::protobuf::util::JsonPrintOptions options;
  // Twirp's default (and what the Go and JS SDKs read): every field, proto names.
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &response.body, options);
  response.content_type = "application/json";
  return response;
}

AccessClaims authenticate(const net::Request& request, const SecretLookup& secrets) {
  auto header = request.header("authorization");
  if (!header || !header->starts_with("Bearer "))
    throw TwirpFailure{"unauthenticated", "missing Authorization: Bearer <token>"};
  auto verified =
      verify_token(header->substr(7), secrets, static_cast<int64_t>(std::time(nullptr)));
  if (!verified.claims) throw TwirpFailure{"unauthenticated", "invalid token: " + verified.error};
  return std::move(*verified.claims);
}

void require(bool granted, std::string_view what) {
  if (!granted) throw TwirpFailure{"permission_denied", "permissions denied: " + std::string(what)};
}

// LiveKit's EnsureAdminPermission: roomAdmin, for exactly this room.
void require_admin(const AccessClaims& claims, const std::string& room) {
  if (room.empty()) throw TwirpFailure{"invalid_argument", "room is required"};
  require(claims.video && claims.video->room_admin && claims.video->room == room,
          "the token does not grant roomAdmin for this room");
}

}  // namespace

net::Response twirp_error(std::string_view code, std::string_view msg) {
  boost::json::object body{{"code", code}, {"msg", msg}};
  return net::Response::json(status_for(code), boost::json::serialize(body));
}

RoomService::RoomService(SignalService& signal, SecretLookup secrets)
    : signal_(signal), secrets_(std::move(secrets)) {}

void RoomService::register_routes(net::Router& router, const std::string& prefix) {
  router.add(net::Method::post, prefix + std::string(kRoomServicePath) + "{method}",
             [this](net::Request& request, net::Respond respond) {
               // Waits on a media worker, never on this I/O thread's own work.
               respond(call(request.param("method"), request));
             });
}

net::Response RoomService::call(const std::string& method, const net::Request& request) const {
  try {
    auto claims = authenticate(request, secrets_);
    const auto& grant = claims.video;
    auto find_room = [&](const std::string& name) {
      auto room = signal_.room(name, false);
      if (!room) throw TwirpFailure{"not_found", "requested room does not exist"};
      return room;
    };

    if (method == "CreateRoom") {
      lk::CreateRoomRequest in;
      decode(request, in);
      require(grant && grant->room_create, "the token does not grant roomCreate");
      if (in.name().empty()) throw TwirpFailure{"invalid_argument", "name is required"};
      // As LiveKit: an existing room is returned, with the settings given
      // (timeouts, max_participants, metadata) applied to it.
      auto info = signal_.create_room(in);
      log::get("sfu")->info("msg=\"CreateRoom\" room={} sid={} by={}", in.name(), info.sid(),
                            claims.api_key);
      return encode(request, info);
    }
    if (method == "ListRooms") {
      lk::ListRoomsRequest in;
      decode(request, in);
      require(grant && grant->room_list, "the token does not grant roomList");
      lk::ListRoomsResponse out;
      for (auto& room : signal_.rooms()) {
        auto info = signal_.on_room(room, [](SignalRoom& r) { return r.info(); });
        if (in.names_size() > 0 &&
            std::find(in.names().begin(), in.names().end(), info.name()) == in.names().end())
          continue;
        *out.add_rooms() = std::move(info);
      }
      return encode(request, out);
    }
    if (method == "DeleteRoom") {
      lk::DeleteRoomRequest in;
      decode(request, in);
      require(grant && grant->room_create, "the token does not grant roomCreate");
      if (in.room().empty()) throw TwirpFailure{"invalid_argument", "room is required"};
      if (!signal_.delete_room(in.room()))
        throw TwirpFailure{"not_found", "requested room does not exist"};
      return encode(request, lk::DeleteRoomResponse());
    }
    if (method == "ListParticipants") {
      lk::ListParticipantsRequest in;
      decode(request, in);
      require_admin(claims, in.room());
      auto room = find_room(in.room());
      lk::ListParticipantsResponse out;
      for (auto& p : signal_.on_room(room, [](SignalRoom& r) { return r.participants(); }))
        *out.add_participants() = std::move(p);
      return encode(request, out);
    }
    if (method == "GetParticipant" || method == "RemoveParticipant") {
      lk::RoomParticipantIdentity in;
      decode(request, in);
      require_admin(claims, in.room());
      auto room = find_room(in.room());
      if (method == "GetParticipant") {
        auto p = signal_.on_room(room, [&](SignalRoom& r) { return r.participant(in.identity()); });
        if (!p) throw TwirpFailure{"not_found", "participant not found"};
        return encode(request, *p);
      }
      if (!signal_.on_room(room, [&](SignalRoom& r) { return r.remove(in.identity()); }))
        throw TwirpFailure{"not_found", "participant not found"};
      return encode(request, lk::RemoveParticipantResponse());
    }
    if (method == "MutePublishedTrack") {
      lk::MuteRoomTrackRequest in;
      decode(request, in);
      require_admin(claims, in.room());
      auto room = find_room(in.room());
      auto track = signal_.on_room(room, [&](SignalRoom& r) {
        return r.mute_track(in.identity(), in.track_sid(), in.muted());
      });
      if (!track) throw TwirpFailure{"not_found", "participant or track not found"};
      lk::MuteRoomTrackResponse out;
      *out.mutable_track() = std::move(*track);
      return encode(request, out);
    }
    if (method == "UpdateParticipant") {
      lk::UpdateParticipantRequest in;
      decode(request, in);
      require_admin(claims, in.room());
      auto room = find_room(in.room());
      // As LiveKit: empty name or metadata means "unchanged".
      std::optional<std::string> name, metadata;
      if (!in.name().empty()) name = in.name();
      if (!in.metadata().empty()) metadata = in.metadata();
      std::map<std::string, std::string> attributes(in.attributes().begin(), in.attributes().end());
      auto p = signal_.on_room(room, [&](SignalRoom& r) {
        auto info = r.update_participant(in.identity(), name, metadata, attributes);
        if (info && in.has_permission()) info = r.set_permission(in.identity(), in.permission());
        return info;
      });
      if (!p) throw TwirpFailure{"not_found", "participant not found"};
      return encode(request, *p);
    }
    if (method == "UpdateSubscriptions") {
      lk::UpdateSubscriptionsRequest in;
      decode(request, in);
      require_admin(claims, in.room());
      auto room = find_room(in.room());
      std::vector<std::string> track_sids(in.track_sids().begin(), in.track_sids().end());
      for (const auto& tracks : in.participant_tracks())
        track_sids.insert(track_sids.end(), tracks.track_sids().begin(), tracks.track_sids().end());
      if (!signal_.on_room(room, [&](SignalRoom& r) {
            return r.update_subscriptions(in.identity(), track_sids, in.subscribe());
          }))
        throw TwirpFailure{"not_found", "participant not found"};
      return encode(request, lk::UpdateSubscriptionsResponse());
    }
    if (method == "UpdateRoomMetadata") {
      lk::UpdateRoomMetadataRequest in;
      decode(request, in);
      require_admin(claims, in.room());
      auto room = find_room(in.room());
      auto info = signal_.on_room(room, [&](SignalRoom& r) {
        r.set_metadata(in.metadata());
        return r.info();
      });
      return encode(request, info);
    }
    if (method == "SendData") {
      lk::SendDataRequest in;
      decode(request, in);
      require_admin(claims, in.room());
      auto room = find_room(in.room());
      lk::DataPacket packet;
      packet.set_kind(in.kind());
      auto* user = packet.mutable_user();
      user->set_payload(in.data());
      user->set_nonce(in.nonce());
      if (in.has_topic()) user->set_topic(in.topic());
      for (const auto& sid : in.destination_sids())
        user->add_destination_sids(sid);
      for (const auto& identity : in.destination_identities()) {
        user->add_destination_identities(identity);
        packet.add_destination_identities(identity);
      }
      signal_.on_room(room, [&](SignalRoom& r) { r.send_server_data(packet); });
      return encode(request, lk::SendDataResponse());
    }
    if (method == "ForwardParticipant" || method == "MoveParticipant" || method == "PerformRpc")
      throw TwirpFailure{"unimplemented", method + " is not supported"};
    throw TwirpFailure{"bad_route", "no such method: livekit.RoomService/" + method};
  } catch (const TwirpFailure& failure) {
    return twirp_error(failure.code, failure.msg);
  } catch (const std::exception& e) {
    log::get("sfu")->warn("msg=\"room service failed\" method={} error=\"{}\"", method, e.what());
    return twirp_error("internal", "internal error");
  }
}

}  // namespace atrium::livekit
