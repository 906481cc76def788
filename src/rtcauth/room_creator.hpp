#pragma once
// Creates SFU rooms for full-access users as lk-jwt-service does: a LiveKit
// RoomService.CreateRoom Twirp call to the SFU named by the auth service's
// livekit_url (ws -> http, wss -> https), authorised by a short-lived token
// with roomCreate minted from the same key pair. Fire and forget: the token
// request is answered without waiting (an SFU that auto-creates rooms needs
// none of this, and a slow SFU must not hold up joins).
#include <memory>
#include <string>

#include "net/http_client.hpp"
#include "rtcauth/service.hpp"

namespace atrium::rtcauth {

// <livekit_url as http(s)>/twirp/livekit.RoomService/CreateRoom; empty if
// the URL is not ws://, wss://, http:// or https://.
std::string create_room_url(const std::string& livekit_url);

class TwirpRoomCreator final : public RoomCreator {
 public:
  TwirpRoomCreator(net::HttpClient& http, const std::string& livekit_url, std::string api_key,
                   std::string api_secret);
  void create_room(const std::string& room_alias) override;

  // The request create_room() sends (exposed for tests).
  net::ClientRequest request_for(const std::string& room_alias, int64_t now_s) const;

 private:
  net::HttpClient& http_;
  std::string url_;
  std::string api_key_;
  std::string api_secret_;
};

}  // namespace atrium::rtcauth
