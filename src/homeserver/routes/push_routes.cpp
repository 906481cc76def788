// Push: /pushrules, /notifications, /pushers.
#include "base/error.hpp"
#include "homeserver/routes/helpers.hpp"
#include "homeserver/routes/routes.hpp"

namespace atrium::homeserver::routes {

namespace {
std::optional<std::string> text_param(const net::Request& req, std::string_view name) {
  auto v = req.query_param(name);
  return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
}
}  // namespace

void add_push_routes(net::Router& router, Homeserver& hs) {
  using net::Method;
  const std::string c = kClient;
  auto& rules = hs.push_rules;

  // GET /pushrules/ (all scopes) and /pushrules/global/ (trailing slashes are ignored).
  router.add(Method::get, c + "/pushrules/{scope?}",
             authed(hs, [&rules](const Requester& who, net::Request& req, net::Respond respond) {
               respond(ok_json(rules.get(who, req.param("scope"))));
             }));
  const std::string rule = c + "/pushrules/{scope}/{kind}/{ruleId}";
  router.add(Method::get, rule,
             authed(hs, [&rules](const Requester& who, net::Request& req, net::Respond respond) {
               respond(ok_json(
                   rules.get(who, req.param("scope"), req.param("kind"), req.param("ruleId"))));
             }));
  router.add(Method::put, rule,
             authed(hs, [&rules](const Requester& who, net::Request& req, net::Respond respond) {
               rules.put_rule(who, req.param("scope"), req.param("kind"), req.param("ruleId"),
                              body_object(req), text_param(req, "before"), text_param(req, "after"),
                              reply_json(std::move(respond)));
             }));
  router.add(Method::del, rule,
             authed(hs, [&rules](const Requester& who, net::Request& req, net::Respond respond) {
               rules.delete_rule(who, req.param("scope"), req.param("kind"), req.param("ruleId"),
                                 reply_json(std::move(respond)));
             }));
  router.add(Method::get, rule + "/{attribute}",
             authed(hs, [&rules](const Requester& who, net::Request& req, net::Respond respond) {
               respond(ok_json(rules.get(who, req.param("scope"), req.param("kind"),
                                         req.param("ruleId"), req.param("attribute"))));
             }));
  router.add(Method::put, rule + "/{attribute}",
             authed(hs, [&rules](const Requester& who, net::Request& req, net::Respond respond) {
               rules.put_attribute(who, req.param("scope"), req.param("kind"), req.param("ruleId"),
                                   req.param("attribute"), body_object(req),
                                   reply_json(std::move(respond)));
             }));

  router.add(
      Method::get, c + "/notifications",
      authed(hs, [&hs](const Requester& who, net::Request& req, net::Respond respond) {
        auto only = req.query_param("only");
        respond(ok_json(hs.notifications.list(who, text_param(req, "from"), int_param(req, "limit"),
                                              only && *only == "highlight")));
      }));

  router.add(Method::get, c + "/pushers",
             authed(hs, [&hs](const Requester& who, net::Request&, net::Respond respond) {
               respond(ok_json(hs.pushers.list(who)));
             }));
  router.add(Method::post, c + "/pushers/set",
             authed(hs, [&hs](const Requester& who, net::Request& req, net::Respond respond) {
               hs.pushers.set_pusher(who, body_object(req), reply_json(std::move(respond)));
             }));
}

}  // namespace atrium::homeserver::routes
