#include "homeserver/routes/helpers.hpp"

#include <charconv>

#include "base/error.hpp"
#include "matrix/json.hpp"

namespace atrium::homeserver::routes {

net::Response ok_json(const json::value& value) {
  return net::Response::json(200, json::serialize(value));
}

JsonCompletion reply_json(net::Respond respond) {
  return [respond = std::move(respond)](std::exception_ptr e, json::object value) {
    if (e) return respond(net::error_response(e));
    respond(ok_json(value));
  };
}

Completion<net::Response> reply_response(net::Respond respond) {
  return [respond = std::move(respond)](std::exception_ptr e, net::Response response) {
    if (e) return respond(net::error_response(e));
    respond(std::move(response));
  };
}

json::object body_object(const net::Request& request, bool allow_empty) {
  return matrix::parse_request_object(request.body, allow_empty);
}

std::optional<int64_t> int_param(const net::Request& request, std::string_view name) {
  auto v = request.query_param(name);
  if (!v) return std::nullopt;
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size())
    throw MatrixError(Errc::invalid_param,
                      "Query parameter '" + std::string(name) + "' must be an integer");
  return out;
}

net::Handler authed(Homeserver& hs, AuthedHandler handler) {
  return [&hs, handler = std::move(handler)](net::Request& request, net::Respond respond) {
    Requester who = hs.accounts.authenticate(request);
    handler(who, request, std::move(respond));
  };
}

}  // namespace atrium::homeserver::routes
