#include "app/sfu_role.hpp"

#include <stdexcept>

#include "base/log.hpp"
#include "rtcauth/keys.hpp"

namespace atrium::app {

SfuRole::SfuRole(const Config& config) {
  auto log = log::get("sfu");
  media::MediaServerConfig media;
  media.listen_ip = config.sfu.rtc_ip.empty() ? config.listen_host() : config.sfu.rtc_ip;
  media.udp_port = config.sfu.udp_port;
  media.ice_tcp = config.sfu.ice_tcp;
  media.tcp_port = config.sfu.tcp_port;
  media.announced_ips = config.sfu.node_ips;
  media.workers = static_cast<size_t>(config.sfu.workers);
  if (media.announced_ips.empty() && (media.listen_ip == "0.0.0.0" || media.listen_ip == "::")) {
    throw std::runtime_error(
        "sfu: media listens on all addresses; set sfu.node_ips to the address clients reach "
        "(the node's public IP)");
  }
  std::string error;
  media_ = media::MediaServer::start(media, &error);
  if (!media_) throw std::runtime_error("sfu: cannot open the media ports: " + error);

  // The same key pair as the auth service: in one process they must agree.
  auto keys = rtcauth::load_api_key_pair(config.rtc_auth, config.data_dir);
  livekit::SignalServiceOptions options;
  options.secrets = [keys](std::string_view key) -> std::optional<std::string> {
    if (key == keys.key) return keys.secret;
    return std::nullopt;
  };
  options.auto_create_rooms = config.sfu.auto_create_rooms;
  options.max_participants = static_cast<size_t>(config.sfu.max_participants);
  options.max_joins_per_second = config.sfu.max_joins_per_second;
  options.events.participant_joined = [](const ::livekit::Room& room,
                                         const ::livekit::ParticipantInfo& p) {
    log::get("sfu")->info("msg=\"participant joined\" room={} identity={}", room.name(),
                          p.identity());
  };
  options.events.participant_left = [](const ::livekit::Room& room,
                                       const ::livekit::ParticipantInfo& p, bool aborted) {
    log::get("sfu")->info("msg=\"participant left\" room={} identity={} aborted={}", room.name(),
                          p.identity(), aborted);
  };
  signal_ = std::make_unique<livekit::SignalService>(std::move(options), *media_);
  log->info("msg=\"sfu\" udp={}:{} tcp_port={} workers={} api_key={}", media.listen_ip,
            media_->udp_port(), media_->tcp_port(), media_->worker_count(), keys.key);
}

SfuRole::~SfuRole() {
  signal_.reset();
  media_.reset();
}

void SfuRole::register_routes(net::Router& router, bool also_at_root) {
  signal_->register_routes(router, "/livekit/sfu");
  if (also_at_root) signal_->register_routes(router, "");
}

void SfuRole::shutdown() {
  signal_->shutdown();
}

}  // namespace atrium::app
