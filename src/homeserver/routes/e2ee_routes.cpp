// End-to-end encryption key APIs and to-device messaging.
#include "base/error.hpp"
#include "homeserver/routes/helpers.hpp"
#include "homeserver/routes/routes.hpp"
#include "homeserver/tokens.hpp"

namespace atrium::homeserver::routes {

void add_e2ee_routes(net::Router& router, Homeserver& hs) {
  using net::Method;
  const std::string c = kClient;
  auto& e2ee = hs.e2ee;

  router.add(Method::post, c + "/keys/upload",
             authed(hs, [&e2ee](const Requester& who, net::Request& req, net::Respond respond) {
               e2ee.upload_keys(who, body_object(req), reply_json(std::move(respond)));
             }));
  router.add(Method::post, c + "/keys/query",
             authed(hs, [&e2ee](const Requester& who, net::Request& req, net::Respond respond) {
               respond(ok_json(e2ee.query_keys(who, body_object(req))));
             }));
  router.add(Method::post, c + "/keys/claim",
             authed(hs, [&e2ee](const Requester& who, net::Request& req, net::Respond respond) {
               e2ee.claim_keys(who, body_object(req), reply_json(std::move(respond)));
             }));
  router.add(Method::get, c + "/keys/changes",
             authed(hs, [&e2ee](const Requester& who, net::Request& req, net::Respond respond) {
               auto from = req.query_param("from");
               auto to = req.query_param("to");
               if (!from || !to)
                 throw MatrixError(Errc::missing_param, "'from' and 'to' are required");
               respond(ok_json(e2ee.key_changes(who, parse_stream_token(*from).pos,
                                                parse_stream_token(*to).pos)));
             }));
  router.add(Method::post, c + "/keys/device_signing/upload",
             authed(hs, [&e2ee](const Requester& who, net::Request& req, net::Respond respond) {
               e2ee.upload_cross_signing(who, body_object(req), reply_response(std::move(respond)));
             }));
  router.add(Method::post, c + "/keys/signatures/upload",
             authed(hs, [&e2ee](const Requester& who, net::Request& req, net::Respond respond) {
               e2ee.upload_signatures(who, body_object(req), reply_json(std::move(respond)));
             }));
  router.add(Method::put, c + "/sendToDevice/{eventType}/{txnId}",
             authed(hs, [&e2ee](const Requester& who, net::Request& req, net::Respond respond) {
               e2ee.send_to_device(who, req.param("eventType"), req.param("txnId"),
                                   body_object(req), reply_json(std::move(respond)));
             }));
  // No server-side key backup: an empty answer tells clients so.
  router.add(Method::get, c + "/room_keys/version",
             authed(hs, [](const Requester&, net::Request&, net::Respond) {
               throw MatrixError(Errc::not_found, "No current backup version");
             }));
}

}  // namespace atrium::homeserver::routes
