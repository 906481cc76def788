#include "app/sfu_role.hpp"

#include <algorithm>
#include <stdexcept>

#include "base/log.hpp"
#include "rtcauth/keys.hpp"

namespace atrium::app {

SfuRole::SfuRole(const Config& config, net::HttpServer& server,
                 std::vector<std::string> extra_webhook_urls) {
  auto log = log::get("sfu");
  media::MediaServerConfig media;
  media.listen_ip = config.sfu.rtc_ip.empty() ? config.listen_host() : config.sfu.rtc_ip;
  // Media sockets bind IP addresses; `listen: localhost:8008` works for HTTP.
  if (media.listen_ip == "localhost") media.listen_ip = "127.0.0.1";
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
  livekit::SecretLookup secrets = [keys](std::string_view key) -> std::optional<std::string> {
    if (key == keys.key) return keys.secret;
    return std::nullopt;
  };
  options.secrets = secrets;
  options.auto_create_rooms = config.sfu.auto_create_rooms;
  options.room.defaults.max_participants = static_cast<uint32_t>(config.sfu.max_participants);
  options.room.defaults.empty_timeout = static_cast<uint32_t>(config.sfu.empty_timeout);
  options.room.defaults.departure_timeout = static_cast<uint32_t>(config.sfu.departure_timeout);
  options.room.token_refresh_interval =
      std::chrono::milliseconds(config.sfu.token_refresh_interval_ms);
  options.room.connection_quality_interval =
      std::chrono::milliseconds(config.sfu.connection_quality_interval_ms);
  options.max_joins_per_second = config.sfu.max_joins_per_second;
  livekit::WebhookSenderOptions hooks;
  hooks.urls = config.sfu.webhook_urls;
  for (auto& url : extra_webhook_urls) {
    if (std::find(hooks.urls.begin(), hooks.urls.end(), url) == hooks.urls.end())
      hooks.urls.push_back(std::move(url));
  }
  hooks.api_key = keys.key;
  hooks.api_secret = keys.secret;
  for (const auto& url : hooks.urls)
    log->info("msg=\"webhook\" url={}", url);
  webhooks_ = std::make_shared<livekit::WebhookSender>(
      hooks, std::shared_ptr<net::HttpClient>(net::make_http_client(server)), server.scheduler());
  options.events = webhooks_->events();
  options.events.participant_joined = [send = options.events.participant_joined](
                                          const ::livekit::Room& room,
                                          const ::livekit::ParticipantInfo& p) {
    log::get("sfu")->info("msg=\"participant joined\" room={} identity={}", room.name(),
                          p.identity());
    send(room, p);
  };
  options.events.participant_left = [send = options.events.participant_left](
                                        const ::livekit::Room& room,
                                        const ::livekit::ParticipantInfo& p, bool aborted) {
    log::get("sfu")->info("msg=\"participant left\" room={} identity={} aborted={}", room.name(),
                          p.identity(), aborted);
    send(room, p, aborted);
  };
  signal_ = std::make_unique<livekit::SignalService>(std::move(options), *media_);
  room_service_ = std::make_unique<livekit::RoomService>(*signal_, secrets);
  log->info("msg=\"sfu\" udp={}:{} tcp_port={} workers={} api_key={}", media.listen_ip,
            media_->udp_port(), media_->tcp_port(), media_->worker_count(), keys.key);
}

SfuRole::~SfuRole() {
  room_service_.reset();
  signal_.reset();
  webhooks_.reset();
  media_.reset();
}

void SfuRole::register_routes(net::Router& router, bool also_at_root) {
  signal_->register_routes(router, "/livekit/sfu");
  room_service_->register_routes(router, "/livekit/sfu");
  // Always at /twirp too: the server SDKs resolve "/twirp/..." against the
  // host URL, which drops any path such as /livekit/sfu. Nothing else lives there.
  room_service_->register_routes(router, "");
  if (also_at_root) signal_->register_routes(router, "");
}

void SfuRole::shutdown() {
  signal_->shutdown();
  // After the rooms' last events: those already queued may still go out.
}

}  // namespace atrium::app
