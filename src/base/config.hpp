#pragma once
// Server configuration: read from a YAML file, then overridden by command-line
// flags. Every key and its default is documented in the README.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atrium {

struct RateLimit {
  double per_second = 0;  // 0 disables the limit
  double burst = 0;
};

// The RTC auth service (what lk-jwt-service does): YAML map `rtc_auth`.
struct RtcAuthConfig {
  // The SFU WebSocket URL handed to clients. Empty: ws(s)://<public base>/livekit/sfu.
  std::string livekit_url;
  // LiveKit API key and secret (>= 32 bytes), inline or read from files.
  // None at all: a pair is generated once and kept in <data_dir>/rtc_auth_key.json.
  std::string livekit_key;
  std::string livekit_secret;
  std::string livekit_key_file;
  std::string livekit_secret_file;
  // Servers whose users may publish and get SFU rooms created ("*": all).
  // Our own server_name is always full access.
  std::vector<std::string> full_access_homeservers;
  int64_t token_lifetime_s = 600;
  // Server name -> base URL for its federation and client APIs, instead of
  // discovering them through .well-known.
  std::map<std::string, std::string> homeserver_urls;
  // Outbound TLS without certificate checks: only with the value
  // YES_I_KNOW_WHAT_I_AM_DOING (as lk-jwt-service asks).
  std::string insecure_skip_verify_tls;
};

// The SFU (the MatrixRTC focus, speaking LiveKit's protocol): YAML map `sfu`.
struct SfuConfig {
  // UDP (and ICE-TCP) for media: one port each for every peer.
  std::string rtc_ip;        // bind address; empty: the HTTP listen host
  uint16_t udp_port = 7882;  // 0 picks a free port (tests)
  uint16_t tcp_port = 7881;
  bool ice_tcp = true;  // ICE over TCP (RFC 6544) for networks that block UDP
  // Addresses written into ICE candidates (the node's public IPs behind NAT).
  // Empty: the bind address, which must then not be 0.0.0.0.
  std::vector<std::string> node_ips;
  int workers = 0;  // media threads; 0: one per core
  bool auto_create_rooms = true;
  int max_participants = 0;  // per room; 0: no limit (CreateRoom may set one per room)
  // Rooms close when nobody joined them for empty_timeout seconds, or
  // departure_timeout seconds after their last participant left (LiveKit's
  // defaults; CreateRoom may set others per room).
  int empty_timeout = 300;
  int departure_timeout = 20;
  double max_joins_per_second = 50;
  // Refreshed access tokens are sent at join and then at this interval.
  int64_t token_refresh_interval_ms = 5 * 60 * 1000;
  // ConnectionQualityUpdate to every participant at this interval.
  int64_t connection_quality_interval_ms = 5000;
  // Webhook receivers (LiveKit's signed WebhookEvent POSTs).
  std::vector<std::string> webhook_urls;
};

// The web apps `atrium serve` hosts at /apps/: YAML map `web`.
struct WebConfig {
  // Folder of the bundled apps. Empty: <folder of the binary>/../web
  // (build/web for build/bin/atrium, where scripts/build puts them).
  std::string root;
};

struct Config {
  std::string server_name = "localhost";
  std::string listen = "127.0.0.1:8008";  // host:port of the HTTP listener
  std::string data_dir = "./atrium-data";
  std::string public_baseurl;  // empty: http://<listen>
  // Open registration with m.login.dummy. Unset: on only when listening on loopback.
  std::optional<bool> enable_registration;
  int http_threads = 1;
  std::string log_level = "info";
  int64_t max_request_body = 1 << 20;  // bytes, except media
  // Reverse proxies (IP addresses) whose X-Forwarded-For names the client,
  // for per-address rate limits and logs. Empty: the TCP peer is the client.
  std::vector<std::string> trusted_proxies;

  // MatrixRTC: delayed events (MSC4140), OpenID, transport discovery (MSC4143).
  int64_t max_event_delay_ms = 24 * 3600 * 1000;
  int max_delayed_events_per_user = 100;
  int64_t openid_token_lifetime_ms = 3600 * 1000;
  // Each transport is a flat map, e.g. {type: livekit, livekit_service_url: ...}.
  std::vector<std::map<std::string, std::string>> rtc_transports;

  RtcAuthConfig rtc_auth;
  SfuConfig sfu;
  WebConfig web;

  RateLimit rc_login{0.5, 10};
  RateLimit rc_registration{0.5, 10};
  RateLimit rc_message{50, 200};
  // Delayed-event management, per user (or per address without a token):
  // a member restarts its delayed leave every few seconds.
  RateLimit rc_delayed_event_mgmt{1, 20};

  // Host and port parsed from `listen`.
  std::string listen_host() const;
  uint16_t listen_port() const;
  bool listens_on_loopback() const;
  // Whether public_baseurl (when set) names a loopback host.
  bool public_url_is_loopback() const;
  // Open registration by default only for a server nobody else can reach:
  // loopback listener and no public URL elsewhere (a reverse proxy in front
  // of a loopback listener would otherwise open it to everyone).
  bool registration_enabled() const {
    return enable_registration.value_or(listens_on_loopback() && public_url_is_loopback());
  }
};

// Throws std::runtime_error with a message naming the key on bad input.
Config load_config_file(const std::string& path);

// The parts of a URL such as public_baseurl that name the server: scheme
// (lower-case, empty without "://"), host as written (IPv6 in brackets) and
// port (explicit, else 443/80 for https/http, else empty). Nothing when no
// host is left after the scheme, user info and path are removed.
struct UrlAuthority {
  std::string scheme;
  std::string host;
  std::string port;
};
std::optional<UrlAuthority> url_authority(std::string_view url);
// Checks cross-field consistency; throws std::runtime_error on a bad value.
void validate_config(const Config& config);

}  // namespace atrium
