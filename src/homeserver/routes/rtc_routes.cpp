// What MatrixRTC needs from the homeserver beyond rooms: OpenID tokens for
// the RTC auth service, transport (SFU) discovery, delayed events (MSC4140).
#include "base/error.hpp"
#include "homeserver/routes/helpers.hpp"
#include "homeserver/routes/routes.hpp"
#include "matrix/json.hpp"

namespace atrium::homeserver::routes {

json::array rtc_transports_json(const Config& config) {
  json::array out;
  for (const auto& transport : config.rtc_transports) {
    json::object o;
    for (const auto& [k, v] : transport)
      o[k] = v;
    out.push_back(std::move(o));
  }
  return out;
}

void add_rtc_routes(net::Router& router, Homeserver& hs) {
  using net::Method;
  const std::string c = kClient;
  const std::string delayed = "/_matrix/client/unstable/org.matrix.msc4140/delayed_events";

  router.add(Method::post, c + "/user/{userId}/openid/request_token",
             authed(hs, [&hs](const Requester& who, net::Request& req, net::Respond respond) {
               body_object(req, true);
               hs.accounts.request_openid_token(who, req.param("userId"),
                                                reply_json(std::move(respond)));
             }));
  router.add(Method::get, "/_matrix/federation/v1/openid/userinfo",
             [&hs](net::Request& req, net::Respond respond) {
               auto token = req.query_param("access_token");
               if (!token) throw MatrixError(Errc::unknown_token, "Missing access_token");
               respond(ok_json(hs.accounts.openid_userinfo(std::string(*token))));
             });
  router.add(Method::get, "/_matrix/client/unstable/org.matrix.msc4143/rtc/transports",
             authed(hs, [&hs](const Requester&, net::Request&, net::Respond respond) {
               respond(ok_json(json::object{{"rtc_transports", rtc_transports_json(hs.config)}}));
             }));

  router.add(Method::post, delayed + "/{delayId}/{action}",
             [&hs](net::Request& req, net::Respond respond) {
               auto who = hs.accounts.authenticate_if_present(req);
               hs.delayed.manage(who, req.remote_address, req.param("delayId"), req.param("action"),
                                 reply_json(std::move(respond)));
             });
  // The older form, with the action in the body.
  router.add(Method::post, delayed + "/{delayId}", [&hs](net::Request& req, net::Respond respond) {
    auto who = hs.accounts.authenticate_if_present(req);
    auto body = body_object(req);
    hs.delayed.manage(who, req.remote_address, req.param("delayId"),
                      matrix::require_string(body, "action"), reply_json(std::move(respond)));
  });
  router.add(Method::get, delayed,
             authed(hs, [&hs](const Requester& who, net::Request& req, net::Respond respond) {
               std::optional<std::string> status, delay_id;
               if (auto s = req.query_param("status")) status = std::string(*s);
               if (auto d = req.query_param("delay_id")) delay_id = std::string(*d);
               respond(ok_json(hs.delayed.list(who, status, delay_id)));
             }));
  router.add(Method::get, delayed + "/{delayId}",
             authed(hs, [&hs](const Requester& who, net::Request& req, net::Respond respond) {
               respond(ok_json(hs.delayed.get(who, req.param("delayId"))));
             }));
}

}  // namespace atrium::homeserver::routes
