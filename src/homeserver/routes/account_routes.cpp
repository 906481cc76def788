// Registration, login, logout, whoami, devices, profiles, password.
#include "base/error.hpp"
#include "homeserver/routes/helpers.hpp"
#include "homeserver/routes/routes.hpp"
#include "matrix/ids.hpp"
#include "matrix/json.hpp"

namespace atrium::homeserver::routes {

void add_account_routes(net::Router& router, Homeserver& hs) {
  using net::Method;
  const std::string c = kClient;

  router.add(Method::get, c + "/login", [](net::Request&, net::Respond respond) {
    respond(
        ok_json(json::object{{"flows", json::array{json::object{{"type", "m.login.password"}}}}}));
  });
  router.add(Method::post, c + "/login", [&hs](net::Request& req, net::Respond respond) {
    hs.accounts.login(body_object(req), req.remote_address, reply_json(std::move(respond)));
  });
  router.add(Method::post, c + "/register", [&hs](net::Request& req, net::Respond respond) {
    if (auto kind = req.query_param("kind"); kind && *kind != "user")
      throw MatrixError(Errc::guest_access_forbidden, "Guest access is disabled");
    hs.accounts.register_user(body_object(req, true), req.remote_address,
                              reply_response(std::move(respond)));
  });
  router.add(Method::get, c + "/register/available",
             [&hs](net::Request& req, net::Respond respond) {
               auto username = req.query_param("username");
               if (!username) throw MatrixError(Errc::missing_param, "Missing 'username'");
               hs.accounts.check_username_available(std::string(*username));
               respond(ok_json(json::object{{"available", true}}));
             });
  router.add(Method::get, c + "/account/whoami",
             authed(hs, [](const Requester& who, net::Request&, net::Respond respond) {
               respond(ok_json(json::object{
                   {"user_id", who.user_id}, {"device_id", who.device_id}, {"is_guest", false}}));
             }));
  router.add(Method::post, c + "/logout",
             authed(hs, [&hs](const Requester& who, net::Request&, net::Respond respond) {
               hs.accounts.logout(who, reply_json(std::move(respond)));
             }));
  router.add(Method::post, c + "/logout/all",
             authed(hs, [&hs](const Requester& who, net::Request&, net::Respond respond) {
               hs.accounts.logout_all(who, reply_json(std::move(respond)));
             }));
  router.add(Method::post, c + "/account/password",
             authed(hs, [&hs](const Requester& who, net::Request& req, net::Respond respond) {
               hs.accounts.change_password(who, body_object(req),
                                           reply_response(std::move(respond)));
             }));

  router.add(Method::get, c + "/devices",
             authed(hs, [&hs](const Requester& who, net::Request&, net::Respond respond) {
               respond(ok_json(hs.accounts.list_devices(who)));
             }));
  router.add(Method::get, c + "/devices/{deviceId}",
             authed(hs, [&hs](const Requester& who, net::Request& req, net::Respond respond) {
               respond(ok_json(hs.accounts.get_device(who, req.param("deviceId"))));
             }));
  router.add(Method::put, c + "/devices/{deviceId}",
             authed(hs, [&hs](const Requester& who, net::Request& req, net::Respond respond) {
               hs.accounts.update_device(who, req.param("deviceId"), body_object(req),
                                         reply_json(std::move(respond)));
             }));
  router.add(Method::del, c + "/devices/{deviceId}",
             authed(hs, [&hs](const Requester& who, net::Request& req, net::Respond respond) {
               hs.accounts.delete_devices(who, {req.param("deviceId")}, body_object(req, true),
                                          reply_response(std::move(respond)));
             }));
  router.add(Method::post, c + "/delete_devices",
             authed(hs, [&hs](const Requester& who, net::Request& req, net::Respond respond) {
               auto body = body_object(req);
               const json::array* list = matrix::get_array(body, "devices");
               if (!list) throw MatrixError(Errc::bad_json, "missing field 'devices'");
               std::vector<std::string> ids;
               for (const auto& v : *list) {
                 if (!v.is_string()) throw MatrixError(Errc::bad_json, "devices must be strings");
                 ids.emplace_back(v.as_string());
               }
               hs.accounts.delete_devices(who, std::move(ids), std::move(body),
                                          reply_response(std::move(respond)));
             }));

  router.add(Method::get, c + "/profile/{userId}", [&hs](net::Request& req, net::Respond respond) {
    hs.accounts.authenticate(req);
    respond(ok_json(hs.user_data.get_profile(req.param("userId"))));
  });
  router.add(
      Method::get, c + "/profile/{userId}/{field}", [&hs](net::Request& req, net::Respond respond) {
        hs.accounts.authenticate(req);
        respond(ok_json(hs.user_data.get_profile_field(req.param("userId"), req.param("field"))));
      });
  router.add(Method::put, c + "/profile/{userId}/{field}",
             authed(hs, [&hs](const Requester& who, net::Request& req, net::Respond respond) {
               hs.user_data.set_profile_field(who, req.param("userId"), req.param("field"),
                                              body_object(req), reply_json(std::move(respond)));
             }));
}

}  // namespace atrium::homeserver::routes
