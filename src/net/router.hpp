#pragma once
// Declarative route table: "/_matrix/client/v3/rooms/{roomId}/send/{type}/{txnId}".
// `{name}` captures one path segment (percent-decoded). A trailing `{name?}`
// also matches when that last segment is absent (state keys may be empty).
// No match -> 404 M_UNRECOGNIZED; path matches but not the method -> 405
// M_UNRECOGNIZED; OPTIONS -> 204 (CORS preflight). Every reply gets the CORS
// headers. A handler that throws gets its error turned into a Matrix error.
// WebSocket routes answer upgrade requests (see upgrade()); a plain GET to one
// gets 400 unless a GET handler is registered for the same path.
#include <optional>
#include <string>
#include <vector>

#include "net/http.hpp"
#include "net/websocket.hpp"

namespace atrium::net {

class Router {
 public:
  void add(Method method, std::string pattern, Handler handler);
  void add_websocket(std::string pattern, UpgradeHandler handler);
  // Routes `request` and eventually calls `respond` exactly once.
  void dispatch(Request& request, Respond respond) const;
  // For a WebSocket upgrade request: the decision of the matching WebSocket
  // route (a rejection carries the CORS headers), or nullopt when no
  // WebSocket route matches and the request should go to dispatch().
  std::optional<UpgradeDecision> upgrade(Request& request) const;

  static void add_cors_headers(Response& response);

 private:
  struct Segment {
    std::string text;  // literal, or capture name
    bool capture = false;
    bool optional = false;
  };
  struct Route {
    Method method;
    std::vector<Segment> segments;
    Handler handler;
  };
  struct WebSocketRoute {
    std::vector<Segment> segments;
    UpgradeHandler handler;
  };
  static std::vector<Segment> parse_pattern(const std::string& pattern);
  static bool match(const std::vector<Segment>& pattern, const std::vector<std::string>& segments,
                    std::map<std::string, std::string, std::less<>>& params);
  static bool match(const Route& route, const std::vector<std::string>& segments,
                    std::map<std::string, std::string, std::less<>>& params);
  std::vector<Route> routes_;
  std::vector<WebSocketRoute> websocket_routes_;
};

}  // namespace atrium::net
