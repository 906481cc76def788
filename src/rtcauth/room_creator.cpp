#include "rtcauth/room_creator.hpp"

#include <boost/json.hpp>
#include <chrono>

#include "base/log.hpp"

namespace atrium::rtcauth {

std::string create_room_url(const std::string& livekit_url) {
  std::string url = livekit_url;
  if (url.rfind("wss://", 0) == 0)
    url = "https://" + url.substr(6);
  else if (url.rfind("ws://", 0) == 0)
    url = "http://" + url.substr(5);
  else if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0)
    return {};
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  return url + "/twirp/livekit.RoomService/CreateRoom";
}

TwirpRoomCreator::TwirpRoomCreator(net::HttpClient& http, const std::string& livekit_url,
                                   std::string api_key, std::string api_secret)
    : http_(http),
      url_(create_room_url(livekit_url)),
      api_key_(std::move(api_key)),
      api_secret_(std::move(api_secret)) {}

net::ClientRequest TwirpRoomCreator::request_for(const std::string& room_alias,
                                                 int64_t now_s) const {
  AccessClaims claims;
  claims.api_key = api_key_;
  claims.not_before = now_s;
  claims.expires = now_s + 60;
  VideoGrant grant;
  grant.room = room_alias;
  grant.room_create = true;
  claims.video = grant;
  // lk-jwt-service's values: keep the room 5 min when empty, 20 s after the last leave.
  boost::json::object body{{"name", room_alias}, {"empty_timeout", 300}, {"departure_timeout", 20}};
  net::ClientRequest request;
  request.method = net::Method::post;
  request.url = url_;
  request.headers = {{"Content-Type", "application/json"},
                     {"Authorization", "Bearer " + mint_token(claims, api_secret_)}};
  request.body = boost::json::serialize(body);
  request.timeout_ms = 5000;
  return request;
}

void TwirpRoomCreator::create_room(const std::string& room_alias) {
  auto log = log::get("rtcauth");
  if (url_.empty()) {
    log->warn("msg=\"cannot create SFU room: livekit_url is not ws(s) or http(s)\" room={}",
              room_alias);
    return;
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  http_.request(
      request_for(room_alias, now), [room_alias](std::string error, net::ClientResponse response) {
        auto log = log::get("rtcauth");
        if (!error.empty()) {
          log->warn("msg=\"SFU CreateRoom failed\" room={} error=\"{}\"", room_alias, error);
        } else if (response.status != 200) {
          log->warn("msg=\"SFU CreateRoom refused\" room={} status={} body={}", room_alias,
                    response.status, response.body.substr(0, 200));
        } else {
          log->debug("msg=\"SFU room created\" room={}", room_alias);
        }
      });
}

}  // namespace atrium::rtcauth
