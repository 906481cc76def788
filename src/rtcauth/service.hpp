#pragma once
// The RTC auth service: Matrix OpenID token in, LiveKit access token out
// (lk-jwt-service's endpoints, JSON and errors), plus the membership check
// MSC4195 requires and delegated delayed leaves.
//   POST {prefix}/get_token, {prefix}/sfu/get (legacy),
//        {prefix}/delegate_delayed_leave, {prefix}/sfu_webhook
//   GET|HEAD {prefix}/healthz
#include <cstdint>
#include <string>
#include <vector>

#include "livekit/token.hpp"
#include "net/router.hpp"
#include "rtcauth/delegation.hpp"
#include "rtcauth/matrix_access.hpp"
#include "rtcauth/requests.hpp"
#include "rtcauth/webhook.hpp"

namespace atrium::rtcauth {

// Creates SFU rooms for full-access users (the SFU refuses to auto-create
// rooms for anyone else). TwirpRoomCreator (room_creator.hpp) asks the SFU;
// LoggingRoomCreator only logs (tests).
class RoomCreator {
 public:
  virtual ~RoomCreator() = default;
  // LiveKit CreateRoom{name, empty_timeout 300 s, departure_timeout 20 s}.
  virtual void create_room(const std::string& room_alias) = 0;
};

class LoggingRoomCreator final : public RoomCreator {
 public:
  void create_room(const std::string& room_alias) override;
};

struct AuthServiceOptions {
  std::string server_name;  // ours: always full access
  std::vector<std::string> full_access_homeservers;
  std::string livekit_url;
  std::string api_key;
  std::string api_secret;
  int64_t token_lifetime_s = 600;
};

class AuthService {
 public:
  AuthService(AuthServiceOptions options, MatrixVerifier& verifier, DelegationManager& delegations,
              RoomCreator& rooms);

  // Mounts the endpoints under `prefix` ("/livekit/jwt", or "" for the root).
  void register_routes(net::Router& router, const std::string& prefix);

  bool is_full_access(const std::string& server_name) const;
  std::optional<std::string> secret_for(std::string_view api_key) const;

 private:
  // What a token request resolves to once the user is known.
  struct Grant {
    std::string matrix_room;
    std::string room_alias;
    std::string identity;
    DelayedLeave delay;
    bool delegate_only = false;  // /delegate_delayed_leave: no token
  };
  using Respond = net::Respond;

  void handle_get_token(net::Request& req, Respond respond);
  void handle_legacy(net::Request& req, Respond respond);
  void handle_delegate(net::Request& req, Respond respond);
  void handle_webhook(net::Request& req, Respond respond);

  // Checks the OpenID token (and claimed user), then membership; then
  // `make_grant(user_id)` says what to grant and `finish` answers.
  void authorise(const OpenIdToken& token, const std::string& claimed_user_id,
                 const std::string& matrix_room,
                 std::function<Grant(const std::string&)> make_grant, Respond respond);
  void finish(const std::string& user_id, const std::string& server_name, Grant grant,
              Respond respond);
  std::string mint(const std::string& room_alias, const std::string& identity,
                   bool can_publish) const;

  AuthServiceOptions options_;
  MatrixVerifier& verifier_;
  DelegationManager& delegations_;
  RoomCreator& rooms_;
};

}  // namespace atrium::rtcauth
