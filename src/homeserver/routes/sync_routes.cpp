// /sync, filters, account data, typing, receipts, read markers.
#include "base/error.hpp"
#include "homeserver/routes/helpers.hpp"
#include "homeserver/routes/routes.hpp"

namespace atrium::homeserver::routes {

void add_sync_routes(net::Router& router, Homeserver& hs) {
  using net::Method;
  const std::string c = kClient;
  auto& data = hs.user_data;

  router.add(Method::get, c + "/sync",
             authed(hs, [&hs](const Requester& who, net::Request& req, net::Respond respond) {
               SyncRequest sr;
               if (auto since = req.query_param("since")) sr.since = std::string(*since);
               if (auto filter = req.query_param("filter")) sr.filter = std::string(*filter);
               auto full = req.query_param("full_state").value_or("false");
               if (full != "true" && full != "false")
                 throw MatrixError(Errc::invalid_param, "full_state must be true or false");
               sr.full_state = full == "true";
               sr.timeout_ms = int_param(req, "timeout").value_or(0);
               hs.sync.sync(who, sr, reply_json(std::move(respond)));
             }));

  router.add(Method::post, c + "/user/{userId}/filter",
             authed(hs, [&data](const Requester& who, net::Request& req, net::Respond respond) {
               data.create_filter(who, req.param("userId"), body_object(req),
                                  reply_json(std::move(respond)));
             }));
  router.add(Method::get, c + "/user/{userId}/filter/{filterId}",
             authed(hs, [&data](const Requester& who, net::Request& req, net::Respond respond) {
               respond(ok_json(data.get_filter(who, req.param("userId"), req.param("filterId"))));
             }));

  router.add(Method::put, c + "/user/{userId}/account_data/{type}",
             authed(hs, [&data](const Requester& who, net::Request& req, net::Respond respond) {
               data.put_account_data(who, req.param("userId"), "", req.param("type"),
                                     body_object(req), reply_json(std::move(respond)));
             }));
  router.add(
      Method::get, c + "/user/{userId}/account_data/{type}",
      authed(hs, [&data](const Requester& who, net::Request& req, net::Respond respond) {
        respond(ok_json(data.get_account_data(who, req.param("userId"), "", req.param("type"))));
      }));
  router.add(Method::put, c + "/user/{userId}/rooms/{roomId}/account_data/{type}",
             authed(hs, [&data](const Requester& who, net::Request& req, net::Respond respond) {
               data.put_account_data(who, req.param("userId"), req.param("roomId"),
                                     req.param("type"), body_object(req),
                                     reply_json(std::move(respond)));
             }));
  router.add(Method::get, c + "/user/{userId}/rooms/{roomId}/account_data/{type}",
             authed(hs, [&data](const Requester& who, net::Request& req, net::Respond respond) {
               respond(ok_json(data.get_account_data(who, req.param("userId"), req.param("roomId"),
                                                     req.param("type"))));
             }));

  router.add(Method::put, c + "/rooms/{roomId}/typing/{userId}",
             authed(hs, [&hs](const Requester& who, net::Request& req, net::Respond respond) {
               auto body = body_object(req);
               auto typing = body.if_contains("typing");
               if (!typing || !typing->is_bool())
                 throw MatrixError(Errc::bad_json, "'typing' must be a boolean");
               int64_t timeout = 30000;
               if (auto* t = body.if_contains("timeout"); t && t->is_int64())
                 timeout = t->as_int64();
               hs.typing.set_typing(who, req.param("roomId"), req.param("userId"),
                                    typing->as_bool(), timeout);
               respond(ok_json(json::object{}));
             }));
  router.add(Method::post, c + "/rooms/{roomId}/receipt/{receiptType}/{eventId}",
             authed(hs, [&data](const Requester& who, net::Request& req, net::Respond respond) {
               data.post_receipt(who, req.param("roomId"), req.param("receiptType"),
                                 req.param("eventId"), body_object(req, true),
                                 reply_json(std::move(respond)));
             }));
  router.add(Method::post, c + "/rooms/{roomId}/read_markers",
             authed(hs, [&data](const Requester& who, net::Request& req, net::Respond respond) {
               data.post_read_markers(who, req.param("roomId"), body_object(req),
                                      reply_json(std::move(respond)));
             }));
}

}  // namespace atrium::homeserver::routes
