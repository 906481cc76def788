#pragma once
// LiveKit's RoomService over Twirp: POST <prefix>/twirp/livekit.RoomService/<Method>
// with a protojson (application/json) or protobuf (application/protobuf)
// body and `Authorization: Bearer <JWT>`. Grants are checked as LiveKit
// does: CreateRoom/DeleteRoom need roomCreate, ListRooms roomList, and the
// per-room methods roomAdmin for the request's room. Errors are Twirp's JSON
// {"code","msg"}. Rooms are read and changed on their own media worker.
#include <cstdint>
#include <string>

#include "livekit/signal_service.hpp"
#include "livekit/token.hpp"
#include "net/router.hpp"

namespace atrium::livekit {

inline constexpr std::string_view kRoomServicePath = "/twirp/livekit.RoomService/";

class RoomService {
 public:
  RoomService(SignalService& signal, SecretLookup secrets);

  // <prefix>/twirp/livekit.RoomService/{method}
  void register_routes(net::Router& router, const std::string& prefix);

  // One call, answered synchronously (it waits on the room's worker).
  net::Response call(const std::string& method, const net::Request& request) const;

 private:
  SignalService& signal_;
  SecretLookup secrets_;
};

// Twirp's error reply: {"code": code, "msg": msg} with the code's HTTP status.
net::Response twirp_error(std::string_view code, std::string_view msg);

}  // namespace atrium::livekit
