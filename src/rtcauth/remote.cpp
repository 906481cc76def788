#include "rtcauth/remote.hpp"

#include <boost/json.hpp>
#include <cctype>

#include "matrix/ids.hpp"

namespace atrium::rtcauth {

namespace json = boost::json;

namespace {

constexpr auto kDiscoveryTtl = std::chrono::hours(4);
constexpr int64_t kDiscoveryTimeoutMs = 5000;
constexpr int64_t kCallTimeoutMs = 5000;
const std::string kDelayedEvents = "/_matrix/client/unstable/org.matrix.msc4140/delayed_events/";

std::optional<json::object> json_object_of(const net::ClientResponse& r) {
  if (r.status != 200) return std::nullopt;
  json::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

// A server name that already says where to connect: an IP literal or host:port.
bool has_port_or_is_ip(const std::string& name) {
  if (!name.empty() && name.front() == '[') return true;
  if (name.find(':') != std::string::npos) return true;
  bool digits_and_dots = !name.empty();
  for (char c : name)
    digits_and_dots &= std::isdigit(static_cast<unsigned char>(c)) || c == '.';
  return digits_and_dots;
}

bool has_port(const std::string& host) {
  auto colon = host.rfind(':');
  auto bracket = host.rfind(']');
  return colon != std::string::npos && (bracket == std::string::npos || colon > bracket);
}

std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  return url;
}

}  // namespace

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

void HomeserverDiscovery::cached(const std::string& kind, const std::string& server_name,
                                 std::function<void(UrlCallback)> resolve, UrlCallback done) {
  if (auto it = overrides_.find(server_name); it != overrides_.end())
    return done(trim_slash(it->second));
  std::string key = kind + "|" + server_name;
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.expires > std::chrono::steady_clock::now())
      return done(it->second.url);
  }
  resolve([this, key, done = std::move(done)](std::string url) {
    {
      std::lock_guard lock(mutex_);
      cache_[key] = {url, std::chrono::steady_clock::now() + kDiscoveryTtl};
    }
    done(std::move(url));
  });
}

void HomeserverDiscovery::federation_url(const std::string& server_name, UrlCallback done) {
  cached(
      "federation", server_name,
      [this, server_name](UrlCallback found) {
        if (has_port_or_is_ip(server_name)) return found("https://" + server_name);
        net::ClientRequest req;
        req.url = "https://" + server_name + "/.well-known/matrix/server";
        req.timeout_ms = kDiscoveryTimeoutMs;
        req.max_response_bytes = 64 * 1024;
        http_.request(std::move(req), [server_name, found](std::string, net::ClientResponse r) {
          auto body = json_object_of(r);
          if (body) {
            if (auto it = body->find("m.server"); it != body->end() && it->value().is_string()) {
              std::string host(it->value().as_string());
              if (!host.empty()) return found("https://" + host + (has_port(host) ? "" : ":8448"));
            }
          }
          found("https://" + server_name + ":8448");
        });
      },
      std::move(done));
}

void HomeserverDiscovery::client_api_url(const std::string& server_name, UrlCallback done) {
  cached(
      "client", server_name,
      [this, server_name](UrlCallback found) {
        net::ClientRequest req;
        req.url = "https://" + server_name + "/.well-known/matrix/client";
        req.timeout_ms = kDiscoveryTimeoutMs;
        req.max_response_bytes = 64 * 1024;
        http_.request(std::move(req), [server_name, found](std::string, net::ClientResponse r) {
          auto body = json_object_of(r);
          if (body) {
            auto hs = body->find("m.homeserver");
            if (hs != body->end() && hs->value().is_object()) {
              auto& o = hs->value().as_object();
              auto base = o.find("base_url");
              if (base != o.end() && base->value().is_string() &&
                  !base->value().as_string().empty())
                return found(trim_slash(std::string(base->value().as_string())));
            }
          }
          found("https://" + server_name);
        });
      },
      std::move(done));
}

void RemoteVerifier::userinfo(const std::string& server_name, const std::string& access_token,
                              UserInfoCallback done) {
  discovery_.federation_url(
      server_name, [this, access_token, done = std::move(done)](std::string base) {
        net::ClientRequest req;
        req.url = base +
                  "/_matrix/federation/v1/openid/userinfo?access_token=" + url_encode(access_token);
        req.timeout_ms = kCallTimeoutMs;
        req.max_response_bytes = 64 * 1024;
        http_.request(std::move(req), [done, base](std::string error, net::ClientResponse r) {
          if (!error.empty()) return done({}, "userinfo at " + base + ": " + error);
          auto body = json_object_of(r);
          if (!body) return done({}, "userinfo at " + base + ": HTTP " + std::to_string(r.status));
          auto sub = body->find("sub");
          if (sub == body->end() || !sub->value().is_string())
            return done({}, "userinfo at " + base + ": no sub");
          done(std::string(sub->value().as_string()), {});
        });
      });
}

void RemoteDelayedEventActions::post(const std::string& user_id, const std::string& delay_id,
                                     const std::string& action, Callback done) {
  std::string server(matrix::server_name_of(user_id));
  discovery_.client_api_url(
      server, [this, delay_id, action, done = std::move(done)](std::string base) {
        net::ClientRequest req;
        req.method = net::Method::post;
        req.url = base + kDelayedEvents + url_encode(delay_id) + "/" + action;
        req.headers = {{"content-type", "application/json"}};
        req.body = "{}";
        req.timeout_ms = kCallTimeoutMs;
        req.max_response_bytes = 64 * 1024;
        http_.request(std::move(req), [done](std::string error, net::ClientResponse r) {
          done(error.empty() ? r.status : 0, std::move(error));
        });
      });
}

void RoutingDelayedEventActions::post(const std::string& user_id, const std::string& delay_id,
                                      const std::string& action, Callback done) {
  auto& target = local_ && matrix::server_name_of(user_id) == local_server_ ? *local_ : remote_;
  target.post(user_id, delay_id, action, std::move(done));
}

}  // namespace atrium::rtcauth
