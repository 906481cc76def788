#pragma once
// The composition root of the SFU role: the media server (UDP + ICE-TCP
// workers), the LiveKit signal service over it, and its HTTP routes.
#include <memory>
#include <string>

#include "base/config.hpp"
#include "livekit/signal_service.hpp"
#include "media/media_server.hpp"
#include "net/router.hpp"

namespace atrium::app {

class SfuRole {
 public:
  // Throws std::runtime_error with a clear message if the media ports
  // cannot be opened or the announced address is missing.
  explicit SfuRole(const Config& config);
  ~SfuRole();

  // At /livekit/sfu, and at the root too when the SFU runs alone (LiveKit's
  // own paths: clients append /rtc to the URL they are given).
  void register_routes(net::Router& router, bool also_at_root);
  void shutdown();
  uint16_t udp_port() const { return media_->udp_port(); }
  uint16_t tcp_port() const { return media_->tcp_port(); }
  livekit::SignalService& signal() { return *signal_; }

 private:
  std::unique_ptr<media::MediaServer> media_;
  std::unique_ptr<livekit::SignalService> signal_;
};

}  // namespace atrium::app
