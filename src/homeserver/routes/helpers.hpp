#pragma once
// Small pieces every route file uses.
#include <optional>
#include <string>

#include "homeserver/common.hpp"
#include "homeserver/homeserver.hpp"
#include "net/http.hpp"

namespace atrium::homeserver::routes {

inline constexpr const char* kClient = "/_matrix/client/v3";

// Completion that answers 200 with the JSON object, or the error.
JsonCompletion reply_json(net::Respond respond);
// Completion for services that shape the whole response themselves.
Completion<net::Response> reply_response(net::Respond respond);
net::Response ok_json(const json::value& value);

// Request body as a JSON object (M_NOT_JSON / M_BAD_JSON otherwise).
json::object body_object(const net::Request& request, bool allow_empty = false);
// Integer query parameter; M_INVALID_PARAM when present but not an integer.
std::optional<int64_t> int_param(const net::Request& request, std::string_view name);

using AuthedHandler = std::function<void(const Requester&, net::Request&, net::Respond)>;
// Wraps a handler so it runs only for a valid access token.
net::Handler authed(Homeserver& hs, AuthedHandler handler);

}  // namespace atrium::homeserver::routes
