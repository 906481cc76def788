#pragma once
// Declarative route table: "/_matrix/client/v3/rooms/{roomId}/send/{type}/{txnId}".
// `{name}` captures one path segment (percent-decoded). A trailing `{name?}`
// also matches when that last segment is absent (state keys may be empty).
// No match -> 404 M_UNRECOGNIZED; path matches but not the method -> 405
// M_UNRECOGNIZED; OPTIONS -> 204 (CORS preflight). Every reply gets the CORS
// headers. A handler that throws gets its error turned into a Matrix error.
#include <string>
#include <vector>

#include "net/http.hpp"

namespace atrium::net {

class Router {
 public:
  void add(Method method, std::string pattern, Handler handler);
  // Routes `request` and eventually calls `respond` exactly once.
  void dispatch(Request& request, Respond respond) const;

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
  static bool match(const Route& route, const std::vector<std::string>& segments,
                    std::map<std::string, std::string, std::less<>>& params);
  std::vector<Route> routes_;
};

}  // namespace atrium::net
