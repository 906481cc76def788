#pragma once
// The composition root of the RTC auth role: key pair, outgoing HTTP client,
// homeserver discovery, verifiers, the durable delegated-leave jobs and the
// HTTP endpoints. Our own homeserver, when it runs in this process, is
// reached in-process through `local_*`; every other server over HTTP.
#include <memory>
#include <string>

#include "base/config.hpp"
#include "net/http_client.hpp"
#include "net/server.hpp"
#include "rtcauth/delegation.hpp"
#include "rtcauth/keys.hpp"
#include "rtcauth/remote.hpp"
#include "rtcauth/room_creator.hpp"
#include "rtcauth/service.hpp"

namespace atrium::app {

class AuthRole {
 public:
  AuthRole(const Config& config, net::HttpServer& server, const std::string& public_base,
           rtcauth::MatrixVerifier* local_verifier, rtcauth::DelayedEventActions* local_actions);

  // At /livekit/jwt, and also at the root when the auth role runs alone (a
  // drop-in for lk-jwt-service behind a proxy that strips the prefix).
  void register_routes(net::Router& router, bool also_at_root);
  void start() { delegations_->start(); }
  void shutdown() { delegations_->shutdown(); }
  const std::string& livekit_url() const { return livekit_url_; }

 private:
  rtcauth::ApiKeyPair keys_;
  std::string livekit_url_;
  std::unique_ptr<net::HttpClient> http_;
  rtcauth::HomeserverDiscovery discovery_;
  rtcauth::RemoteVerifier remote_verifier_;
  rtcauth::RemoteDelayedEventActions remote_actions_;
  rtcauth::RoutingVerifier verifier_;
  rtcauth::RoutingDelayedEventActions actions_;
  rtcauth::DelegationStore store_;
  std::shared_ptr<rtcauth::DelegationManager> delegations_;
  rtcauth::TwirpRoomCreator rooms_;
  rtcauth::AuthService service_;
};

// ws(s)://<host of public_base>/livekit/sfu: where the SFU role will listen.
std::string default_livekit_url(const std::string& public_base);

}  // namespace atrium::app
