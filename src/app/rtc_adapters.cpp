#include "app/rtc_adapters.hpp"

#include "base/error.hpp"

namespace atrium::app {

namespace {

void report(const std::exception_ptr& e, const rtcauth::DelayedEventActions::Callback& done) {
  try {
    std::rethrow_exception(e);
  } catch (const MatrixError& error) {
    done(error.http_status(), error.what());
  } catch (const std::exception& error) {
    done(500, error.what());
  } catch (...) {
    done(500, "unknown error");
  }
}

}  // namespace

void LocalMatrixVerifier::userinfo(const std::string&, const std::string& access_token,
                                   UserInfoCallback done) {
  std::string user_id, error;
  try {
    auto info = hs_.accounts.openid_userinfo(access_token);
    user_id = std::string(info.at("sub").as_string());
  } catch (const std::exception& e) {
    error = e.what();
  }
  done(std::move(user_id), std::move(error));
}

void LocalMatrixVerifier::membership(const std::string& room_id, const std::string& user_id,
                                     std::function<void(rtcauth::Membership)> done) {
  auto m = hs_.store.read()->membership(room_id, user_id);
  done(m && m->membership == "join" ? rtcauth::Membership::joined
                                    : rtcauth::Membership::not_joined);
}

void LocalDelayedEventActions::post(const std::string& user_id, const std::string& delay_id,
                                    const std::string& action, Callback done) {
  try {
    homeserver::Requester who{user_id, "", ""};
    hs_.delayed.manage(who, "in-process", delay_id, action,
                       [done](std::exception_ptr e, boost::json::object) {
                         if (e) return report(e, done);
                         done(200, "");
                       });
  } catch (...) {
    report(std::current_exception(), done);
  }
}

}  // namespace atrium::app
