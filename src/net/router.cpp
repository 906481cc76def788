#include "net/router.hpp"

#include <atomic>
#include <boost/url/pct_string_view.hpp>
#include <stdexcept>

#include "base/error.hpp"
#include "base/log.hpp"
#include "net/detail_logfmt.hpp"

namespace atrium::net {

namespace {

constexpr std::pair<std::string_view, std::string_view> kCorsHeaders[] = {
    {"Access-Control-Allow-Origin", "*"},
    {"Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS"},
    {"Access-Control-Allow-Headers", "X-Requested-With, Content-Type, Authorization, Date"},
    {"Access-Control-Expose-Headers", "Retry-After"},
};

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool has_header(const Response& response, std::string_view name) {
  for (const auto& header : response.headers) {
    if (equals_ignore_case(header.first, name)) return true;
  }
  return false;
}

// Splits "/a/b%2Fc/" into {"a", "b/c"}: split first, then decode, so an
// encoded slash stays inside its segment (event IDs may contain '/'). One
// trailing slash is ignored. Returns false on an invalid percent-encoding.
bool split_path(std::string_view path, std::vector<std::string>& segments) {
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  if (path.empty()) return true;
  std::vector<std::string_view> raw;
  for (;;) {
    size_t slash = path.find('/');
    raw.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  if (raw.size() > 1 && raw.back().empty()) raw.pop_back();
  segments.reserve(raw.size());
  for (std::string_view segment : raw) {
    auto encoded = boost::urls::make_pct_string_view(segment);
    if (!encoded) return false;
    segments.push_back(encoded->decode());
  }
  return true;
}

// Wraps the server's callback so that it fires at most once and always
// carries the CORS headers, whichever thread the handler answers from.
Respond respond_once(Respond respond, const Request& request) {
  struct State {
    Respond respond;
    std::atomic<bool> fired{false};
    Method method;
    std::string path;
  };
  auto state = std::make_shared<State>();
  state->respond = std::move(respond);
  state->method = request.method;
  state->path = request.path;
  return [state](Response response) {
    if (state->fired.exchange(true)) {
      log::get("http")->warn("msg=\"respond called twice; ignored\" method={} path={} status={}",
                             method_name(state->method), detail::logfmt_quote(state->path),
                             response.status);
      return;
    }
    Router::add_cors_headers(response);
    // Moved out so the callback's captures are released once it has fired.
    Respond deliver = std::move(state->respond);
    deliver(std::move(response));
  };
}

Response unrecognized(int status) {
  MatrixError error(status == 405 ? Errc::method_not_allowed : Errc::unrecognized, status,
                    "Unrecognized request");
  return Response::json(status, error.to_json());
}

}  // namespace

std::vector<Router::Segment> Router::parse_pattern(const std::string& pattern) {
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route pattern must start with '/': " + pattern);
  }
  std::vector<Segment> segments;
  std::string_view rest(pattern);
  rest.remove_prefix(1);
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view text = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (!segments.empty() && segments.back().optional) {
      throw std::invalid_argument("optional capture must be last: " + pattern);
    }
    Segment segment;
    if (text.size() >= 2 && text.front() == '{' && text.back() == '}') {
      text = text.substr(1, text.size() - 2);
      segment.capture = true;
      if (!text.empty() && text.back() == '?') {
        segment.optional = true;
        text.remove_suffix(1);
      }
      if (text.empty()) throw std::invalid_argument("unnamed capture in route: " + pattern);
    } else if (text.empty()) {
      throw std::invalid_argument("empty segment in route: " + pattern);
    }
    segment.text = std::string(text);
    segments.push_back(std::move(segment));
  }
  return segments;
}

void Router::add(Method method, std::string pattern, Handler handler) {
  routes_.push_back(Route{method, parse_pattern(pattern), std::move(handler)});
}

void Router::add_websocket(std::string pattern, UpgradeHandler handler) {
  websocket_routes_.push_back(WebSocketRoute{parse_pattern(pattern), std::move(handler)});
}

bool Router::match(const Route& route, const std::vector<std::string>& segments,
                   std::map<std::string, std::string, std::less<>>& params) {
  return match(route.segments, segments, params);
}

bool Router::match(const std::vector<Segment>& pattern_segments,
                   const std::vector<std::string>& segments,
                   std::map<std::string, std::string, std::less<>>& params) {
  const size_t n = pattern_segments.size();
  const bool optional_last = n > 0 && pattern_segments.back().optional;
  if (segments.size() != n && !(optional_last && segments.size() + 1 == n)) return false;
  for (size_t i = 0; i < n; ++i) {
    const Segment& pattern = pattern_segments[i];
    if (i == segments.size()) {  // only reachable for the absent optional capture
      params[pattern.text] = "";
      break;
    }
    const std::string& actual = segments[i];
    if (!pattern.capture) {
      if (actual != pattern.text) return false;
    } else {
      if (actual.empty() && !pattern.optional) return false;
      params[pattern.text] = actual;
    }
  }
  return true;
}

void Router::dispatch(Request& request, Respond respond) const {
  Respond reply = respond_once(std::move(respond), request);

  if (request.method == Method::options) {
    Response preflight;
    preflight.status = 204;
    preflight.content_type.clear();
    reply(std::move(preflight));
    return;
  }

  const Route* chosen = nullptr;
  try {
    std::vector<std::string> segments;
    if (!split_path(request.path, segments)) {
      throw MatrixError(Errc::unrecognized, 400, "bad path");
    }
    std::map<std::string, std::string, std::less<>> params;
    std::string allowed;
    const Route* get_route = nullptr;  // HEAD is served by the GET handler
    std::map<std::string, std::string, std::less<>> get_params;
    for (const Route& route : routes_) {
      params.clear();
      if (!match(route, segments, params)) continue;
      if (route.method == request.method) {
        chosen = &route;
        request.params = std::move(params);
        break;
      }
      if (request.method == Method::head && route.method == Method::get && !get_route) {
        get_route = &route;
        get_params = params;
      }
      if (!allowed.empty()) allowed += ", ";
      allowed += method_name(route.method);
    }
    if (!chosen && get_route) {
      chosen = get_route;
      request.params = std::move(get_params);
    }
    if (!chosen) {
      std::map<std::string, std::string, std::less<>> ignored;
      for (const WebSocketRoute& route : websocket_routes_) {
        if (!match(route.segments, segments, ignored)) continue;
        if (request.method == Method::get || request.method == Method::head) {
          Response response;
          response.status = 400;
          response.content_type = "text/plain";
          response.body = "websocket upgrade required";
          reply(std::move(response));
          return;
        }
        if (!allowed.empty()) allowed += ", ";
        allowed += method_name(Method::get);
        break;
      }
      if (allowed.empty()) {
        reply(unrecognized(404));
      } else {
        Response response = unrecognized(405);
        response.headers.emplace_back("Allow", std::move(allowed));
        reply(std::move(response));
      }
      return;
    }
  } catch (...) {
    reply(error_response_from_current_exception());
    return;
  }

  try {
    chosen->handler(request, reply);
  } catch (...) {
    reply(error_response_from_current_exception());
  }
}

std::optional<UpgradeDecision> Router::upgrade(Request& request) const {
  std::vector<std::string> segments;
  if (!split_path(request.path, segments)) return std::nullopt;
  std::map<std::string, std::string, std::less<>> params;
  for (const WebSocketRoute& route : websocket_routes_) {
    params.clear();
    if (!match(route.segments, segments, params)) continue;
    request.params = std::move(params);
    UpgradeDecision decision;
    try {
      decision = route.handler(request);
      if (!decision.reject && !decision.opened) {
        throw std::logic_error("upgrade handler neither rejected nor accepted");
      }
    } catch (...) {
      decision = UpgradeDecision::refuse(error_response_from_current_exception());
    }
    if (decision.reject) add_cors_headers(*decision.reject);
    return decision;
  }
  return std::nullopt;
}

void Router::add_cors_headers(Response& response) {
  for (const auto& [name, value] : kCorsHeaders) {
    if (!has_header(response, name)) response.headers.emplace_back(name, value);
  }
}

}  // namespace atrium::net
