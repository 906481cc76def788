#pragma once
// What the auth service needs from homeservers, as interfaces: checking an
// OpenID token and a room membership, and managing a delayed event. Our own
// homeserver answers in-process (an adapter in src/app: rtcauth does not
// depend on the homeserver library); others over HTTP (remote.hpp).
#include <functional>
#include <string>

namespace atrium::rtcauth {

enum class Membership { joined, not_joined, unknown };

class MatrixVerifier {
 public:
  virtual ~MatrixVerifier() = default;
  // The user id (`sub`) an OpenID token of `server_name` belongs to, or an
  // empty user id and the reason.
  using UserInfoCallback = std::function<void(std::string user_id, std::string error)>;
  virtual void userinfo(const std::string& server_name, const std::string& access_token,
                        UserInfoCallback done) = 0;
  // Whether `user_id` is joined to `room_id`; `unknown` when this verifier
  // cannot know (a room that is not on our server).
  virtual void membership(const std::string& room_id, const std::string& user_id,
                          std::function<void(Membership)> done) = 0;
};

class DelayedEventActions {
 public:
  virtual ~DelayedEventActions() = default;
  // POST .../org.matrix.msc4140/delayed_events/{delay_id}/{action} on the
  // homeserver of `user_id` (action: restart or send). `status` is the HTTP
  // status, or 0 with `error` when there was no answer.
  using Callback = std::function<void(int status, std::string error)>;
  virtual void post(const std::string& user_id, const std::string& delay_id,
                    const std::string& action, Callback done) = 0;
};

// Our own server in-process (if any), every other server through `remote`.
class RoutingVerifier final : public MatrixVerifier {
 public:
  RoutingVerifier(std::string local_server, MatrixVerifier* local, MatrixVerifier& remote)
      : local_server_(std::move(local_server)), local_(local), remote_(remote) {}
  void userinfo(const std::string& server_name, const std::string& access_token,
                UserInfoCallback done) override {
    auto& target = local_ && server_name == local_server_ ? *local_ : remote_;
    target.userinfo(server_name, access_token, std::move(done));
  }
  // Rooms are only known to the local homeserver (it does not federate).
  void membership(const std::string& room_id, const std::string& user_id,
                  std::function<void(Membership)> done) override {
    auto& target = local_ ? *local_ : remote_;
    target.membership(room_id, user_id, std::move(done));
  }

 private:
  std::string local_server_;
  MatrixVerifier* local_;
  MatrixVerifier& remote_;
};

class RoutingDelayedEventActions final : public DelayedEventActions {
 public:
  RoutingDelayedEventActions(std::string local_server, DelayedEventActions* local,
                             DelayedEventActions& remote)
      : local_server_(std::move(local_server)), local_(local), remote_(remote) {}
  void post(const std::string& user_id, const std::string& delay_id, const std::string& action,
            Callback done) override;

 private:
  std::string local_server_;
  DelayedEventActions* local_;
  DelayedEventActions& remote_;
};

}  // namespace atrium::rtcauth
