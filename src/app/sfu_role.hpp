#pragma once
// The composition root of the SFU role: the media server (UDP + ICE-TCP
// workers), the LiveKit signal service over it, the RoomService (Twirp) API,
// the webhook sender, and their HTTP routes.
#include <memory>
#include <string>
#include <vector>

#include "base/config.hpp"
#include "livekit/room_service.hpp"
#include "livekit/signal_service.hpp"
#include "livekit/webhook_sender.hpp"
#include "media/media_server.hpp"
#include "net/http_client.hpp"
#include "net/router.hpp"
#include "net/server.hpp"

namespace atrium::app {

class SfuRole {
 public:
  // Throws std::runtime_error with a clear message if the media ports
  // cannot be opened or the announced address is missing.
  // `extra_webhook_urls` are added to config.sfu.webhook_urls (the auth
  // service's own receiver when it runs in this process).
  SfuRole(const Config& config, net::HttpServer& server,
          std::vector<std::string> extra_webhook_urls = {});
  ~SfuRole();

  // At /livekit/sfu, and at the root too when the SFU runs alone (LiveKit's
  // own paths: clients append /rtc to the URL they are given). The Twirp
  // RoomService is at /livekit/sfu/twirp and /twirp in every mode.
  void register_routes(net::Router& router, bool also_at_root);
  void shutdown();
  uint16_t udp_port() const { return media_->udp_port(); }
  uint16_t tcp_port() const { return media_->tcp_port(); }
  livekit::SignalService& signal() { return *signal_; }

 private:
  std::unique_ptr<media::MediaServer> media_;
  std::unique_ptr<livekit::SignalService> signal_;
  std::unique_ptr<livekit::RoomService> room_service_;
  std::shared_ptr<livekit::WebhookSender> webhooks_;
};

}  // namespace atrium::app
