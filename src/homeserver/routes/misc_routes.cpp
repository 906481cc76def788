// /versions, /capabilities, /health, .well-known, push rules defaults, TURN.
#include <string>

#include "base/error.hpp"
#include "homeserver/routes/helpers.hpp"
#include "homeserver/routes/routes.hpp"
#include "matrix/room_version.hpp"

namespace atrium::homeserver::routes {

namespace {

json::object versions_body() {
  json::array versions;
  for (const char* v : {"r0.6.1", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8",
                        "v1.9", "v1.10", "v1.11", "v1.12"})
    versions.emplace_back(v);
  json::object unstable{{"org.matrix.msc4140", true},   // delayed events
                        {"org.matrix.msc4354", true},   // sticky events
                        {"org.matrix.msc3757", true},   // owned state keys (room versions)
                        {"org.matrix.msc4143", true}};  // RTC transport discovery
  return json::object{{"versions", std::move(versions)},
                      {"unstable_features", std::move(unstable)}};
}

json::object capabilities_body() {
  json::object available;
  for (const auto& v : matrix::supported_room_versions())
    available[v.id] = v.owned_state_keys ? "unstable" : "stable";
  return json::object{
      {"capabilities",
       json::object{
           {"m.change_password", json::object{{"enabled", true}}},
           {"m.room_versions", json::object{{"default", std::string(matrix::kDefaultRoomVersion)},
                                            {"available", std::move(available)}}},
           {"m.set_displayname", json::object{{"enabled", true}}},
           {"m.set_avatar_url", json::object{{"enabled", true}}},
           {"m.3pid_changes", json::object{{"enabled", false}}},
           {"m.get_login_token", json::object{{"enabled", false}}},
       }}};
}

}  // namespace

void add_misc_routes(net::Router& router, Homeserver& hs) {
  using net::Method;
  router.add(Method::get, "/health", [](net::Request&, net::Respond respond) {
    net::Response r;
    r.content_type = "text/plain";
    r.body = "OK";
    respond(std::move(r));
  });
  router.add(Method::get, "/_matrix/client/versions",
             [](net::Request&, net::Respond respond) { respond(ok_json(versions_body())); });
  router.add(Method::get, "/.well-known/matrix/client",
             [&hs](net::Request& req, net::Respond respond) {
               // Without public_baseurl, the address the client reached us at is the
               // best guess (listen may be 0.0.0.0 or port 0).
               std::string base = hs.config.public_baseurl;
               if (base.empty()) {
                 auto host = req.header("host");
                 bool usable =
                     host && !host->empty() && host->size() < 256 &&
                     host->find_first_not_of(
                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
                         std::string_view::npos;
                 base = "http://" + (usable ? std::string(*host) : hs.config.listen);
               }
               json::object body{{"m.homeserver", json::object{{"base_url", base}}}};
               // Older MatrixRTC clients still discover the SFU here.
               if (!hs.config.rtc_transports.empty())
                 body["org.matrix.msc4143.rtc_foci"] = rtc_transports_json(hs.config);
               respond(ok_json(body));
             });
  router.add(Method::get, "/.well-known/matrix/server", [&hs](net::Request&, net::Respond respond) {
    // Other servers (and a separate auth service) reach our federation
    // endpoints where clients reach us: public_baseurl's host and port when
    // set, else the listener's port.
    std::string server = hs.config.server_name;
    if (server.find(':') == std::string::npos && server.front() != '[') {
      auto public_url = url_authority(hs.config.public_baseurl);
      if (public_url && (public_url->scheme == "http" || public_url->scheme == "https"))
        server = public_url->host + ":" + public_url->port;
      else
        server += ":" + std::to_string(hs.config.listen_port());
    }
    respond(ok_json(json::object{{"m.server", server}}));
  });
  router.add(Method::get, std::string(kClient) + "/capabilities",
             authed(hs, [](const Requester&, net::Request&, net::Respond respond) {
               respond(ok_json(capabilities_body()));
             }));
  // No TURN server is configured: an empty answer tells clients so.
  router.add(Method::get, std::string(kClient) + "/voip/turnServer",
             authed(hs, [](const Requester&, net::Request&, net::Respond respond) {
               respond(ok_json(json::object{}));
             }));
  // Push rules live in push_routes.cpp.
}

}  // namespace atrium::homeserver::routes
