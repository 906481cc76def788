#pragma once
// The auth service's view of our own homeserver, in-process: OpenID tokens
// and memberships read from the store, delayed events managed by the
// homeserver's DelayedEventService. (rtcauth may not depend on homeserver;
// app wires the two.)
#include "homeserver/homeserver.hpp"
#include "rtcauth/matrix_access.hpp"

namespace atrium::app {

class LocalMatrixVerifier final : public rtcauth::MatrixVerifier {
 public:
  explicit LocalMatrixVerifier(homeserver::Homeserver& hs) : hs_(hs) {}
  void userinfo(const std::string& server_name, const std::string& access_token,
                UserInfoCallback done) override;
  // Our store holds every room our users are in (no federation yet), so a
  // room it does not know has no joined member: not_joined.
  void membership(const std::string& room_id, const std::string& user_id,
                  std::function<void(rtcauth::Membership)> done) override;

 private:
  homeserver::Homeserver& hs_;
};

class LocalDelayedEventActions final : public rtcauth::DelayedEventActions {
 public:
  explicit LocalDelayedEventActions(homeserver::Homeserver& hs) : hs_(hs) {}
  // As the user (rate-limited per user, not per address: every job comes
  // from this one process).
  void post(const std::string& user_id, const std::string& delay_id, const std::string& action,
            Callback done) override;

 private:
  homeserver::Homeserver& hs_;
};

}  // namespace atrium::app
