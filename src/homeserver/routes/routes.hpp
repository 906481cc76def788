#pragma once
// The Client-Server API route table, split by area. Routes are thin: they
// parse the request, call a service, and shape the reply.
#include <boost/json.hpp>

#include "base/config.hpp"
#include "net/router.hpp"

namespace atrium::homeserver {
class Homeserver;
}

namespace atrium::homeserver::routes {

void add_misc_routes(net::Router& router, Homeserver& hs);
void add_account_routes(net::Router& router, Homeserver& hs);
void add_room_routes(net::Router& router, Homeserver& hs);
void add_sync_routes(net::Router& router, Homeserver& hs);
void add_rtc_routes(net::Router& router, Homeserver& hs);
void add_e2ee_routes(net::Router& router, Homeserver& hs);
void add_relation_routes(net::Router& router, Homeserver& hs);
void add_push_routes(net::Router& router, Homeserver& hs);

// The configured RTC transports as JSON (transports endpoint, .well-known).
boost::json::array rtc_transports_json(const Config& config);

}  // namespace atrium::homeserver::routes
