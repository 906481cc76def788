#include "app/auth_role.hpp"

#include <filesystem>

#include "base/log.hpp"

namespace atrium::app {

std::string default_livekit_url(const std::string& public_base) {
  std::string url = public_base;
  if (url.rfind("https://", 0) == 0)
    url = "wss://" + url.substr(8);
  else if (url.rfind("http://", 0) == 0)
    url = "ws://" + url.substr(7);
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  return url + "/livekit/sfu";
}

AuthRole::AuthRole(const Config& config, net::HttpServer& server, const std::string& public_base,
                   rtcauth::MatrixVerifier* local_verifier,
                   rtcauth::DelayedEventActions* local_actions)
    : keys_(rtcauth::load_api_key_pair(config.rtc_auth, config.data_dir)),
      livekit_url_(config.rtc_auth.livekit_url.empty() ? default_livekit_url(public_base)
                                                       : config.rtc_auth.livekit_url),
      http_(net::make_http_client(server, !config.rtc_auth.insecure_skip_verify_tls.empty())),
      discovery_(*http_, config.rtc_auth.homeserver_urls),
      remote_verifier_(*http_, discovery_),
      remote_actions_(*http_, discovery_),
      verifier_(config.server_name, local_verifier, remote_verifier_),
      actions_(config.server_name, local_actions, remote_actions_),
      store_((std::filesystem::path(config.data_dir) / "rtcauth.db").string()),
      delegations_(
          std::make_shared<rtcauth::DelegationManager>(store_, actions_, server.scheduler())),
      rooms_(*http_, livekit_url_, keys_.key, keys_.secret),
      service_(
          rtcauth::AuthServiceOptions{config.server_name, config.rtc_auth.full_access_homeservers,
                                      livekit_url_, keys_.key, keys_.secret,
                                      config.rtc_auth.token_lifetime_s},
          verifier_, *delegations_, rooms_) {
  if (!config.rtc_auth.insecure_skip_verify_tls.empty())
    log::get("rtcauth")->warn("msg=\"outbound TLS certificates are NOT verified\"");
  log::get("rtcauth")->info(
      "msg=\"auth service\" api_key={} livekit_url={} in_process_homeserver={}", keys_.key,
      livekit_url_, local_verifier ? "yes" : "no");
}

void AuthRole::register_routes(net::Router& router, bool also_at_root) {
  service_.register_routes(router, "/livekit/jwt");
  if (also_at_root) service_.register_routes(router, "");
}

}  // namespace atrium::app
