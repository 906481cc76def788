// Rooms: creation, membership, sending, state, history, aliases, redaction.
#include "base/error.hpp"
#include "homeserver/routes/helpers.hpp"
#include "homeserver/routes/routes.hpp"
#include "matrix/ids.hpp"
#include "matrix/json.hpp"

namespace atrium::homeserver::routes {

namespace {
// MSC4354: sticky for at most an hour.
int64_t sticky_duration(const net::Request& req) {
  auto ms = int_param(req, "org.matrix.msc4354.sticky_duration_ms");
  if (!ms) return 0;
  if (*ms < 0) throw MatrixError(Errc::invalid_param, "sticky_duration_ms must not be negative");
  return std::min<int64_t>(*ms, 3600000);
}
}  // namespace

void add_room_routes(net::Router& router, Homeserver& hs) {
  using net::Method;
  const std::string c = kClient;
  auto& rooms = hs.rooms;

  router.add(Method::post, c + "/createRoom",
             authed(hs, [&rooms](const Requester& who, net::Request& req, net::Respond respond) {
               rooms.create_room(who, body_object(req), reply_json(std::move(respond)));
             }));
  router.add(Method::get, c + "/joined_rooms",
             authed(hs, [&rooms](const Requester& who, net::Request&, net::Respond respond) {
               respond(ok_json(rooms.joined_rooms(who)));
             }));

  auto join = [&rooms](const std::string& param) {
    return [&rooms, param](const Requester& who, net::Request& req, net::Respond respond) {
      rooms.join(who, req.param(param), body_object(req, true), reply_json(std::move(respond)));
    };
  };
  router.add(Method::post, c + "/rooms/{roomId}/join", authed(hs, join("roomId")));
  router.add(Method::post, c + "/join/{roomIdOrAlias}", authed(hs, join("roomIdOrAlias")));
  for (const char* action : {"invite", "leave", "kick", "ban", "unban"}) {
    std::string a = action;
    router.add(
        Method::post, c + "/rooms/{roomId}/" + a,
        authed(hs, [&rooms, a](const Requester& who, net::Request& req, net::Respond respond) {
          rooms.change_membership(who, req.param("roomId"), a, body_object(req, true),
                                  reply_json(std::move(respond)));
        }));
  }
  router.add(Method::post, c + "/rooms/{roomId}/forget",
             authed(hs, [&rooms](const Requester& who, net::Request& req, net::Respond respond) {
               rooms.forget(who, req.param("roomId"), reply_json(std::move(respond)));
             }));

  // Both take MSC4140's delay (the server sends it later) and send takes
  // MSC4354's sticky duration.
  router.add(
      Method::put, c + "/rooms/{roomId}/send/{eventType}/{txnId}",
      authed(hs, [&hs, &rooms](const Requester& who, net::Request& req, net::Respond respond) {
        auto body = body_object(req);
        int64_t sticky = sticky_duration(req);
        if (auto delay = int_param(req, "org.matrix.msc4140.delay"))
          return hs.delayed.schedule(who, req.param("roomId"), req.param("eventType"), std::nullopt,
                                     std::move(body), *delay, sticky, req.param("txnId"),
                                     reply_json(std::move(respond)));
        rooms.send_event(who, req.param("roomId"), req.param("eventType"), req.param("txnId"),
                         std::move(body), sticky, reply_json(std::move(respond)));
      }));
  router.add(
      Method::put, c + "/rooms/{roomId}/state/{eventType}/{stateKey?}",
      authed(hs, [&hs, &rooms](const Requester& who, net::Request& req, net::Respond respond) {
        auto body = body_object(req);
        if (auto delay = int_param(req, "org.matrix.msc4140.delay")) {
          if (req.param("eventType") == "m.room.member")
            throw MatrixError(Errc::forbidden, "Membership cannot be delayed");
          return hs.delayed.schedule(who, req.param("roomId"), req.param("eventType"),
                                     req.param("stateKey"), std::move(body), *delay, 0, "",
                                     reply_json(std::move(respond)));
        }
        rooms.put_state(who, req.param("roomId"), req.param("eventType"), req.param("stateKey"),
                        std::move(body), reply_json(std::move(respond)));
      }));
  router.add(Method::get, c + "/rooms/{roomId}/state/{eventType}/{stateKey?}",
             authed(hs, [&rooms](const Requester& who, net::Request& req, net::Respond respond) {
               bool full = req.query_param("format").value_or("content") == "event";
               respond(ok_json(rooms.get_state_event(
                   who, req.param("roomId"), req.param("eventType"), req.param("stateKey"), full)));
             }));
  router.add(Method::get, c + "/rooms/{roomId}/state",
             authed(hs, [&rooms](const Requester& who, net::Request& req, net::Respond respond) {
               respond(ok_json(rooms.get_state(who, req.param("roomId"))));
             }));
  router.add(Method::get, c + "/rooms/{roomId}/event/{eventId}",
             authed(hs, [&rooms](const Requester& who, net::Request& req, net::Respond respond) {
               respond(ok_json(rooms.get_event(who, req.param("roomId"), req.param("eventId"))));
             }));
  router.add(Method::put, c + "/rooms/{roomId}/redact/{eventId}/{txnId}",
             authed(hs, [&rooms](const Requester& who, net::Request& req, net::Respond respond) {
               rooms.redact(who, req.param("roomId"), req.param("eventId"), req.param("txnId"),
                            body_object(req, true), reply_json(std::move(respond)));
             }));
  router.add(Method::get, c + "/rooms/{roomId}/messages",
             authed(hs, [&rooms](const Requester& who, net::Request& req, net::Respond respond) {
               MessagesQuery q;
               if (auto from = req.query_param("from")) q.from = std::string(*from);
               if (auto to = req.query_param("to")) q.to = std::string(*to);
               auto dir = req.query_param("dir").value_or("b");
               if (dir != "b" && dir != "f")
                 throw MatrixError(Errc::invalid_param, "dir must be 'b' or 'f'");
               q.backwards = dir == "b";
               q.limit = static_cast<int>(
                   std::clamp<int64_t>(int_param(req, "limit").value_or(10), 0, 1000));
               if (auto filter = req.query_param("filter"))
                 q.filter = parse_event_filter(matrix::parse_request_object(*filter));
               respond(ok_json(rooms.messages(who, req.param("roomId"), q)));
             }));
  router.add(
      Method::get, c + "/rooms/{roomId}/context/{eventId}",
      authed(hs, [&rooms](const Requester& who, net::Request& req, net::Respond respond) {
        EventFilter filter;
        if (auto f = req.query_param("filter"))
          filter = parse_event_filter(matrix::parse_request_object(*f));
        int limit =
            static_cast<int>(std::clamp<int64_t>(int_param(req, "limit").value_or(10), 0, 100));
        respond(
            ok_json(rooms.context(who, req.param("roomId"), req.param("eventId"), limit, filter)));
      }));
  router.add(
      Method::get, c + "/rooms/{roomId}/members",
      authed(hs, [&rooms](const Requester& who, net::Request& req, net::Respond respond) {
        std::optional<std::string> membership, not_membership;
        if (auto m = req.query_param("membership")) membership = std::string(*m);
        if (auto m = req.query_param("not_membership")) not_membership = std::string(*m);
        respond(ok_json(rooms.members(who, req.param("roomId"), membership, not_membership)));
      }));
  router.add(Method::get, c + "/rooms/{roomId}/joined_members",
             authed(hs, [&rooms](const Requester& who, net::Request& req, net::Respond respond) {
               respond(ok_json(rooms.joined_members(who, req.param("roomId"))));
             }));

  router.add(Method::get, c + "/directory/room/{roomAlias}",
             [&rooms](net::Request& req, net::Respond respond) {
               respond(ok_json(rooms.resolve_alias(req.param("roomAlias"))));
             });
  router.add(Method::put, c + "/directory/room/{roomAlias}",
             authed(hs, [&rooms](const Requester& who, net::Request& req, net::Respond respond) {
               rooms.put_alias(who, req.param("roomAlias"), body_object(req),
                               reply_json(std::move(respond)));
             }));
  router.add(Method::del, c + "/directory/room/{roomAlias}",
             authed(hs, [&rooms](const Requester& who, net::Request& req, net::Respond respond) {
               rooms.delete_alias(who, req.param("roomAlias"), reply_json(std::move(respond)));
             }));
  router.add(Method::get, c + "/rooms/{roomId}/aliases",
             authed(hs, [&rooms](const Requester& who, net::Request& req, net::Respond respond) {
               respond(ok_json(rooms.room_aliases(who, req.param("roomId"))));
             }));
}

}  // namespace atrium::homeserver::routes
