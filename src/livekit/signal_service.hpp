#pragma once
// The SFU's LiveKit-facing HTTP side: WebSocket signalling at <prefix>/rtc
// (the two-PeerConnection mode), <prefix>/rtc/validate, and the /rtc/v1 paths
// answered with a plain 404 so that current livekit-client and rtc-node fall
// back to /rtc. Rooms are created on first join (unless disabled) or by
// CreateRoom and kept on one media worker each, chosen round robin; a room
// closes (room_finished) when its empty or departure timeout passes, or when
// deleted. Text (protojson) frames from a client switch its replies to JSON
// text frames, binary frames back to protobuf, as LiveKit's WSSignalConnection.
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "livekit/signal_room.hpp"
#include "livekit/token.hpp"
#include "media/media_server.hpp"
#include "net/router.hpp"

namespace atrium::livekit {

struct SignalServiceOptions {
  SecretLookup secrets;  // API key -> secret
  bool auto_create_rooms = true;
  // New rooms' settings (CreateRoom overrides them per room), intervals; its
  // secrets default to `secrets` above.
  SignalRoomConfig room;
  // Joins accepted per second over all rooms before new ones get 503.
  double max_joins_per_second = 50;
  RoomEvents events;
};

class SignalService {
 public:
  SignalService(SignalServiceOptions options, media::MediaServer& media);
  ~SignalService();

  // <prefix>/rtc, <prefix>/rtc/validate, <prefix>/rtc/v1, <prefix>/rtc/v1/validate.
  void register_routes(net::Router& router, const std::string& prefix);

  // The room, created when asked to; nullptr if absent (and not created).
  std::shared_ptr<SignalRoom> room(const std::string& name, bool create);
  // CreateRoom: the room (created, or the existing one with the request's
  // settings applied) as it is now.
  ::livekit::Room create_room(const ::livekit::CreateRoomRequest& request);
  std::vector<std::shared_ptr<SignalRoom>> rooms() const;
  // Closes the room's participants and forgets it.
  bool delete_room(const std::string& name);
  // Runs fn on the room's worker and waits for it (the Twirp API uses this).
  template <typename Fn>
  auto on_room(const std::shared_ptr<SignalRoom>& room, Fn fn) -> decltype(fn(*room));
  // Closes every room (server shutdown).
  void shutdown();

 private:
  struct Session;
  struct Verified {
    AccessClaims claims;
    int status = 200;
    std::string error;
  };
  Verified verify(const net::Request& request) const;
  net::UpgradeDecision upgrade(net::Request& request);
  bool take_join_slot();
  // room() with mutex_ held.
  std::shared_ptr<SignalRoom> room_locked(const std::string& name, bool create);
  // room(name, create) for a join about to be posted to the room's worker:
  // counted as pending until release_join(), so that forget_expired() does
  // not drop the room under it (the join would land in a forgotten room).
  std::shared_ptr<SignalRoom> claim_for_join(const std::string& name, bool create);
  void release_join(const std::string& name);
  // SignalRoomConfig::on_expired: forgets the room unless a join is on its way.
  bool forget_expired(SignalRoom& room);

  SignalServiceOptions options_;
  media::MediaServer& media_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<SignalRoom>> rooms_;
  std::map<std::string, size_t> pending_joins_;  // by room name, under mutex_
  std::atomic<size_t> next_worker_{0};
  std::mutex rate_mutex_;
  double join_tokens_ = 0;
  std::chrono::steady_clock::time_point join_refill_ = std::chrono::steady_clock::now();
};

template <typename Fn>
auto SignalService::on_room(const std::shared_ptr<SignalRoom>& room, Fn fn) -> decltype(fn(*room)) {
  using Result = decltype(fn(*room));
  std::promise<Result> promise;
  auto future = promise.get_future();
  room->loop().post([&] {
    if constexpr (std::is_void_v<Result>) {
      fn(*room);
      promise.set_value();
    } else {
      promise.set_value(fn(*room));
    }
  });
  return future.get();
}

}  // namespace atrium::livekit
