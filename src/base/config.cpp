#include "base/config.hpp"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <stdexcept>

namespace atrium {

namespace {

std::pair<std::string, std::string> split_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size())
    throw std::runtime_error("listen: expected host:port, got '" + listen + "'");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return {host, listen.substr(colon + 1)};
}

template <typename T>
void read(const YAML::Node& node, const char* key, T& out) {
  if (auto v = node[key]) {
    try {
      out = v.as<T>();
    } catch (const YAML::Exception&) {
      throw std::runtime_error(std::string("config: bad value for '") + key + "'");
    }
  }
}

void read_rtc_auth(const YAML::Node& node, RtcAuthConfig& out) {
  if (!node.IsMap()) throw std::runtime_error("config: 'rtc_auth' must be a map");
  static const char* kKnown[] = {
      "livekit_url",      "livekit_key",         "livekit_secret",
      "livekit_key_file", "livekit_secret_file", "full_access_homeservers",
      "token_lifetime_s", "homeserver_urls",     "insecure_skip_verify_tls"};
  for (const auto& kv : node) {
    auto key = kv.first.as<std::string>();
    bool known = false;
    for (auto* k : kKnown)
      known |= key == k;
    if (!known) throw std::runtime_error("config: unknown key 'rtc_auth." + key + "'");
  }
  read(node, "livekit_url", out.livekit_url);
  read(node, "livekit_key", out.livekit_key);
  read(node, "livekit_secret", out.livekit_secret);
  read(node, "livekit_key_file", out.livekit_key_file);
  read(node, "livekit_secret_file", out.livekit_secret_file);
  read(node, "full_access_homeservers", out.full_access_homeservers);
  read(node, "token_lifetime_s", out.token_lifetime_s);
  read(node, "homeserver_urls", out.homeserver_urls);
  read(node, "insecure_skip_verify_tls", out.insecure_skip_verify_tls);
}

void read_sfu(const YAML::Node& node, SfuConfig& out) {
  if (!node.IsMap()) throw std::runtime_error("config: 'sfu' must be a map");
  static const char* kKnown[] = {"rtc_ip",
                                 "ice_tcp",
                                 "udp_port",
                                 "tcp_port",
                                 "node_ips",
                                 "workers",
                                 "auto_create_rooms",
                                 "max_participants",
                                 "max_joins_per_second",
                                 "webhook_urls",
                                 "empty_timeout",
                                 "departure_timeout",
                                 "token_refresh_interval_ms",
                                 "connection_quality_interval_ms"};
  for (const auto& kv : node) {
    auto key = kv.first.as<std::string>();
    bool known = false;
    for (auto* k : kKnown)
      known |= key == k;
    if (!known) throw std::runtime_error("config: unknown key 'sfu." + key + "'");
  }
  read(node, "rtc_ip", out.rtc_ip);
  read(node, "udp_port", out.udp_port);
  read(node, "tcp_port", out.tcp_port);
  read(node, "ice_tcp", out.ice_tcp);
  read(node, "node_ips", out.node_ips);
  read(node, "workers", out.workers);
  read(node, "auto_create_rooms", out.auto_create_rooms);
  read(node, "max_participants", out.max_participants);
  read(node, "max_joins_per_second", out.max_joins_per_second);
  read(node, "webhook_urls", out.webhook_urls);
  read(node, "empty_timeout", out.empty_timeout);
  read(node, "departure_timeout", out.departure_timeout);
  read(node, "token_refresh_interval_ms", out.token_refresh_interval_ms);
  read(node, "connection_quality_interval_ms", out.connection_quality_interval_ms);
}

void read_rate(const YAML::Node& node, const char* key, RateLimit& out) {
  if (auto v = node[key]) {
    if (!v.IsMap()) throw std::runtime_error(std::string("config: '") + key + "' must be a map");
    read(v, "per_second", out.per_second);
    read(v, "burst", out.burst);
  }
}

}  // namespace

std::string Config::listen_host() const {
  return split_listen(listen).first;
}

uint16_t Config::listen_port() const {
  auto port = split_listen(listen).second;
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || p != port.data() + port.size() || value > 65535)
    throw std::runtime_error("listen: bad port '" + port + "'");
  return static_cast<uint16_t>(value);
}

bool Config::listens_on_loopback() const {
  auto host = listen_host();
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::optional<UrlAuthority> url_authority(std::string_view url) {
  UrlAuthority out;
  std::string_view rest = url;
  if (auto scheme = rest.find("://"); scheme != std::string_view::npos) {
    for (char ch : rest.substr(0, scheme))
      out.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    rest.remove_prefix(scheme + 3);
  }
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  std::string_view host = rest;
  std::string_view port;
  if (host.starts_with('[')) {
    auto close = host.find(']');
    if (close != std::string_view::npos && close + 1 < host.size() && host[close + 1] == ':')
      port = host.substr(close + 2);
    host = host.substr(0, close == std::string_view::npos ? host.size() : close + 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty()) return std::nullopt;
  out.host = std::string(host);
  if (!port.empty())
    out.port = std::string(port);
  else if (out.scheme == "https")
    out.port = "443";
  else if (out.scheme == "http")
    out.port = "80";
  return out;
}

bool Config::public_url_is_loopback() const {
  if (public_baseurl.empty()) return true;
  auto authority = url_authority(public_baseurl);
  if (!authority) return false;
  std::string_view host = authority->host;
  if (host.starts_with('[')) host = host.substr(1, host.find(']') - 1);
  bool ipv4 = host.find_first_not_of("0123456789.") == std::string_view::npos;
  return host == "localhost" || host == "::1" || (ipv4 && host.starts_with("127."));
}

Config load_config_file(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw std::runtime_error("config: cannot read '" + path + "'");
  } catch (const YAML::Exception& e) {
    throw std::runtime_error("config: '" + path + "' is not valid YAML: " + e.what());
  }
  Config c;
  if (root.IsNull()) return c;
  if (!root.IsMap()) throw std::runtime_error("config: top level of '" + path + "' must be a map");
  static const char* kKnown[] = {"server_name",
                                 "listen",
                                 "data_dir",
                                 "public_baseurl",
                                 "enable_registration",
                                 "http_threads",
                                 "log_level",
                                 "max_request_body",
                                 "trusted_proxies",
                                 "rate_limits",
                                 "max_event_delay_ms",
                                 "max_delayed_events_per_user",
                                 "openid_token_lifetime_ms",
                                 "rtc_transports",
                                 "rtc_auth",
                                 "sfu",
                                 "web"};
  for (const auto& kv : root) {
    auto key = kv.first.as<std::string>();
    bool known = false;
    for (auto* k : kKnown)
      known |= key == k;
    if (!known) throw std::runtime_error("config: unknown key '" + key + "'");
  }
  read(root, "server_name", c.server_name);
  read(root, "listen", c.listen);
  read(root, "data_dir", c.data_dir);
  read(root, "public_baseurl", c.public_baseurl);
  if (root["enable_registration"]) {
    bool v = false;
    read(root, "enable_registration", v);
    c.enable_registration = v;
  }
  read(root, "http_threads", c.http_threads);
  read(root, "log_level", c.log_level);
  read(root, "max_request_body", c.max_request_body);
  read(root, "trusted_proxies", c.trusted_proxies);
  read(root, "max_event_delay_ms", c.max_event_delay_ms);
  read(root, "max_delayed_events_per_user", c.max_delayed_events_per_user);
  read(root, "openid_token_lifetime_ms", c.openid_token_lifetime_ms);
  if (auto list = root["rtc_transports"]) {
    if (!list.IsSequence()) throw std::runtime_error("config: 'rtc_transports' must be a list");
    for (const auto& item : list) {
      if (!item.IsMap())
        throw std::runtime_error("config: each rtc_transports entry must be a map");
      std::map<std::string, std::string> transport;
      for (const auto& kv : item) {
        if (!kv.second.IsScalar())
          throw std::runtime_error("config: rtc_transports values must be strings");
        transport[kv.first.as<std::string>()] = kv.second.as<std::string>();
      }
      if (!transport.count("type"))
        throw std::runtime_error("config: each rtc_transports entry needs a 'type'");
      if (transport["type"] == "livekit" && !transport.count("livekit_service_url"))
        throw std::runtime_error("config: a livekit rtc_transport needs 'livekit_service_url'");
      c.rtc_transports.push_back(std::move(transport));
    }
  }
  if (auto auth = root["rtc_auth"]) read_rtc_auth(auth, c.rtc_auth);
  if (auto sfu = root["sfu"]) read_sfu(sfu, c.sfu);
  if (auto web = root["web"]) {
    if (!web.IsMap()) throw std::runtime_error("config: 'web' must be a map");
    for (const auto& kv : web) {
      if (kv.first.as<std::string>() != "root")
        throw std::runtime_error("config: unknown key 'web." + kv.first.as<std::string>() + "'");
    }
    read(web, "root", c.web.root);
  }
  if (auto rl = root["rate_limits"]) {
    read_rate(rl, "login", c.rc_login);
    read_rate(rl, "registration", c.rc_registration);
    read_rate(rl, "message", c.rc_message);
    read_rate(rl, "delayed_event_mgmt", c.rc_delayed_event_mgmt);
  }
  return c;
}

void validate_config(const Config& c) {
  if (c.server_name.empty()) throw std::runtime_error("config: server_name must not be empty");
  for (char ch : c.server_name) {
    if (!(isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == ':' ||
          ch == '[' || ch == ']'))
      throw std::runtime_error("config: server_name '" + c.server_name +
                               "' is not a valid server name");
  }
  (void)c.listen_port();
  if (c.data_dir.empty()) throw std::runtime_error("config: data_dir must not be empty");
  if (c.http_threads < 1 || c.http_threads > 64)
    throw std::runtime_error("config: http_threads must be between 1 and 64");
  // "warning" too: it is how the log lines spell the level.
  static const char* kLevels[] = {"trace",   "debug", "info",     "warn",
                                  "warning", "error", "critical", "off"};
  bool ok = false;
  for (auto* l : kLevels)
    ok |= c.log_level == l;
  if (!ok)
    throw std::runtime_error("config: log_level must be one of trace, debug, info, warn, error");
  if (c.max_request_body < 65536)
    throw std::runtime_error("config: max_request_body must be >= 65536");
  if (c.max_event_delay_ms < 1000)
    throw std::runtime_error("config: max_event_delay_ms must be at least 1000");
  if (c.max_delayed_events_per_user < 1)
    throw std::runtime_error("config: max_delayed_events_per_user must be at least 1");
  if (c.openid_token_lifetime_ms < 1000)
    throw std::runtime_error("config: openid_token_lifetime_ms must be at least 1000");
  if (c.sfu.workers < 0 || c.sfu.workers > 256)
    throw std::runtime_error("config: sfu.workers must be between 0 and 256");
  if (c.sfu.max_participants < 0)
    throw std::runtime_error("config: sfu.max_participants must not be negative");
  if (c.sfu.empty_timeout < 0 || c.sfu.departure_timeout < 0)
    throw std::runtime_error(
        "config: sfu.empty_timeout and sfu.departure_timeout must not be negative");
  if (c.sfu.token_refresh_interval_ms < 100 || c.sfu.connection_quality_interval_ms < 100)
    throw std::runtime_error(
        "config: sfu.token_refresh_interval_ms and sfu.connection_quality_interval_ms must be at "
        "least 100");
  if (c.rtc_auth.token_lifetime_s < 30 || c.rtc_auth.token_lifetime_s > 86400)
    throw std::runtime_error("config: rtc_auth.token_lifetime_s must be between 30 and 86400");
  const auto& skip = c.rtc_auth.insecure_skip_verify_tls;
  if (!skip.empty() && skip != "YES_I_KNOW_WHAT_I_AM_DOING")
    throw std::runtime_error(
        "config: rtc_auth.insecure_skip_verify_tls must be empty or YES_I_KNOW_WHAT_I_AM_DOING");
}

}  // namespace atrium
