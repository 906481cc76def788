// Relations: GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]].
#include "base/error.hpp"
#include "homeserver/routes/helpers.hpp"
#include "homeserver/routes/routes.hpp"

namespace atrium::homeserver::routes {

namespace {

std::optional<std::string> text_param(const net::Request& req, std::string_view name) {
  auto v = req.query_param(name);
  return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
}

std::optional<std::string> path_param(const net::Request& req, std::string_view name) {
  auto it = req.params.find(name);
  if (it == req.params.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

RelationsRequest relations_request(const net::Request& req) {
  RelationsRequest q;
  q.rel_type = path_param(req, "relType");
  q.event_type = path_param(req, "eventType");
  q.from = text_param(req, "from");
  q.to = text_param(req, "to");
  q.limit = int_param(req, "limit");
  if (auto dir = req.query_param("dir")) {
    if (*dir != "b" && *dir != "f") throw MatrixError(Errc::invalid_param, "dir must be b or f");
    q.backwards = *dir == "b";
  }
  // MSC3981's unstable name too, which matrix-js-sdk may send.
  for (std::string_view name : {"recurse", "org.matrix.msc3981.recurse"}) {
    if (auto v = req.query_param(name)) {
      if (*v != "true" && *v != "false")
        throw MatrixError(Errc::invalid_param, "recurse must be true or false");
      q.recurse = *v == "true";
    }
  }
  return q;
}

}  // namespace

void add_relation_routes(net::Router& router, Homeserver& hs) {
  const std::string base = "/_matrix/client/v1/rooms/{roomId}/relations/{eventId}";
  auto handler = [&hs](const Requester& who, net::Request& req, net::Respond respond) {
    respond(ok_json(
        hs.relations.list(who, req.param("roomId"), req.param("eventId"), relations_request(req))));
  };
  for (const std::string& pattern : {base, base + "/{relType}", base + "/{relType}/{eventType}"})
    router.add(net::Method::get, pattern, authed(hs, handler));
}

}  // namespace atrium::homeserver::routes
