#pragma once
// Talking to other homeservers over HTTP: finding their federation and
// Client-Server API base URLs (.well-known, cached), checking OpenID tokens
// (/_matrix/federation/v1/openid/userinfo) and managing delayed events.
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "net/http_client.hpp"
#include "rtcauth/matrix_access.hpp"

namespace atrium::rtcauth {

class HomeserverDiscovery {
 public:
  // `overrides`: server name -> base URL used for both APIs, skipping
  // discovery (for servers without TLS or .well-known, and for tests).
  HomeserverDiscovery(net::HttpClient& http, std::map<std::string, std::string> overrides)
      : http_(http), overrides_(std::move(overrides)) {}

  using UrlCallback = std::function<void(std::string base_url)>;
  // https://<m.server from .well-known/matrix/server>, else https://<name>:8448
  // (an IP literal or a name with a port is used as is).
  void federation_url(const std::string& server_name, UrlCallback done);
  // homeserver.base_url from .well-known/matrix/client, else https://<name>.
  void client_api_url(const std::string& server_name, UrlCallback done);

 private:
  void cached(const std::string& kind, const std::string& server_name,
              std::function<void(UrlCallback)> resolve, UrlCallback done);

  net::HttpClient& http_;
  std::map<std::string, std::string> overrides_;
  std::mutex mutex_;
  struct Entry {
    std::string url;
    std::chrono::steady_clock::time_point expires;
  };
  std::map<std::string, Entry> cache_;  // "<kind>|<server>"
};

class RemoteVerifier final : public MatrixVerifier {
 public:
  RemoteVerifier(net::HttpClient& http, HomeserverDiscovery& discovery)
      : http_(http), discovery_(discovery) {}
  void userinfo(const std::string& server_name, const std::string& access_token,
                UserInfoCallback done) override;
  // A remote server's rooms cannot be read without federation: unknown.
  void membership(const std::string&, const std::string&,
                  std::function<void(Membership)> done) override {
    done(Membership::unknown);
  }

 private:
  net::HttpClient& http_;
  HomeserverDiscovery& discovery_;
};

class RemoteDelayedEventActions final : public DelayedEventActions {
 public:
  RemoteDelayedEventActions(net::HttpClient& http, HomeserverDiscovery& discovery)
      : http_(http), discovery_(discovery) {}
  // Unauthenticated (the delay id is the capability), 5 s timeout.
  void post(const std::string& user_id, const std::string& delay_id, const std::string& action,
            Callback done) override;

 private:
  net::HttpClient& http_;
  HomeserverDiscovery& discovery_;
};

// Percent-encodes everything but unreserved characters (for path segments
// and query values).
std::string url_encode(std::string_view s);

}  // namespace atrium::rtcauth
