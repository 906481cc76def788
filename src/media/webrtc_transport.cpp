#include "media/webrtc_transport.hpp"

#include "media/event_loop.hpp"
#include "media/rtcp.hpp"
#include "media/sctp_association.hpp"

namespace atrium::media {

const char* to_string(TransportState state) {
  switch (state) {
    case TransportState::kNew:
      return "new";
    case TransportState::kConnecting:
      return "connecting";
    case TransportState::kConnected:
      return "connected";
    case TransportState::kDisconnected:
      return "disconnected";
    case TransportState::kFailed:
      return "failed";
    case TransportState::kClosed:
      return "closed";
  }
  return "unknown";
}

namespace {

IceLiteConfig ice_config(const WebRtcTransportConfig& config) {
  IceLiteConfig ice;
  ice.local_ufrag = config.local_ufrag;
  ice.local_password = config.local_password;
  ice.remote_ufrag = config.remote_ufrag;
  ice.connect_timeout = config.ice_connect_timeout;
  ice.consent_timeout = config.ice_consent_timeout;
  return ice;
}

DtlsConfig dtls_config(const WebRtcTransportConfig& config) {
  DtlsConfig dtls;
  dtls.role = config.dtls_role;
  dtls.remote_fingerprint_algorithm = config.remote_fingerprint_algorithm;
  dtls.remote_fingerprint = config.remote_fingerprint;
  return dtls;
}

// RFC 7983 §7: the first byte tells STUN, DTLS and RTP/RTCP apart.
enum class PacketClass : uint8_t { kStun, kDtls, kRtp, kRtcp, kUnknown };
PacketClass classify(std::span<const uint8_t> packet) {
  if (packet.empty()) return PacketClass::kUnknown;
  uint8_t first = packet[0];
  if (first <= 3) return PacketClass::kStun;
  if (first >= 20 && first <= 63) return PacketClass::kDtls;
  if (first >= 128 && first <= 191) {
    if (packet.size() < 2) return PacketClass::kUnknown;
    uint8_t type = packet[1];  // RFC 5761 §4: RTCP packet types 192..223
    return (type >= 192 && type <= 223) ? PacketClass::kRtcp : PacketClass::kRtp;
  }
  return PacketClass::kUnknown;
}

}  // namespace

WebRtcTransport::WebRtcTransport(std::shared_ptr<const DtlsCertificate> certificate,
                                 WebRtcTransportConfig config, Callbacks callbacks,
                                 Clock::time_point now)
    : certificate_(certificate),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      ice_(ice_config(config_), now) {
  if (!config_.remote_fingerprint.empty()) make_dtls();
}

void WebRtcTransport::make_dtls() {
  dtls_ = std::make_unique<DtlsTransport>(
      certificate_, dtls_config(config_),
      DtlsTransport::Callbacks{
          .send_datagram = [this](std::span<const uint8_t> d) { send_datagram(d); },
          .on_connected =
              [this](const std::optional<DtlsSrtpKeys>& keys) { on_dtls_connected(keys); },
          .on_application_data =
              [this](std::span<const uint8_t> data) {
                if (sctp_) sctp_->handle_packet(data);
              },
          .on_failed =
              [this](const std::string& reason) {
                failure_ = "DTLS: " + reason;
                update_state();
              },
          .on_closed = [this] { update_state(); },
      });
}

void WebRtcTransport::set_remote_dtls(DtlsRole role, std::string fingerprint_algorithm,
                                      std::string fingerprint) {
  if (dtls_) return;  // fixed once set: a renegotiation keeps the DTLS session
  config_.dtls_role = role;
  config_.remote_fingerprint_algorithm = std::move(fingerprint_algorithm);
  config_.remote_fingerprint = std::move(fingerprint);
  make_dtls();
  // ICE may have finished already: the client speaks first.
  if (ice_.selected_pair() && role == DtlsRole::kClient) {
    dtls_started_ = true;
    dtls_->start(Clock::now());
  }
}

WebRtcTransport::~WebRtcTransport() {
  *alive_ = false;
  sctp_.reset();  // before dtls_: its destructor may still emit an ABORT
}

void WebRtcTransport::attach(EventLoop* loop, SendDatagram send) {
  loop_ = loop;
  send_ = std::move(send);
}

void WebRtcTransport::handle_datagram(std::span<uint8_t> buffer, size_t length,
                                      const TransportAddress& from, Clock::time_point now) {
  std::span<uint8_t> packet = buffer.first(length);
  switch (classify(packet)) {
    case PacketClass::kStun: {
      IceResult result = ice_.handle_binding_request(packet, from, now);
      if (result.response && send_) send_(from, *result.response);
      for (const IceEvent& event : result.events) {
        if (event.kind == IceEvent::Kind::kPairValidated) {
          bool known = false;
          for (const auto& a : addresses_)
            known |= a == event.remote;
          if (!known) {
            addresses_.push_back(event.remote);
            if (callbacks_.on_address) callbacks_.on_address(event.remote);
          }
        }
      }
      if (!result.events.empty()) update_state();
      // The DTLS client speaks first, once ICE has chosen where to.
      if (dtls_ && !dtls_started_ && ice_.selected_pair()) {
        dtls_started_ = true;
        dtls_->start(now);
      }
      return;
    }
    case PacketClass::kDtls: {
      // Only from an address ICE has validated: nobody else gets to handshake.
      bool known = false;
      for (const auto& a : addresses_)
        known |= a == from;
      if (!known || !dtls_) {
        ++counters_.dropped;
        return;
      }
      if (!ice_.selected_pair()) dtls_peer_ = from;
      dtls_started_ = true;
      dtls_->handle_datagram(packet, now);
      update_state();
      return;
    }
    case PacketClass::kRtp: {
      if (!srtp_receive_ || srtp_receive_->unprotect_rtp(buffer, length) != SrtpError::kOk) {
        ++counters_.dropped;
        return;
      }
      counters_.rtp_in.fetch_add(1, std::memory_order_relaxed);
      if (callbacks_.on_rtp) callbacks_.on_rtp(buffer, length);
      return;
    }
    case PacketClass::kRtcp: {
      if (!srtp_receive_ || srtp_receive_->unprotect_rtcp(buffer, length) != SrtpError::kOk ||
          !rtcp::is_valid_compound(buffer.first(length))) {
        ++counters_.dropped;
        return;
      }
      counters_.rtcp_in.fetch_add(1, std::memory_order_relaxed);
      if (callbacks_.on_rtcp) callbacks_.on_rtcp(buffer, length);
      return;
    }
    case PacketClass::kUnknown:
      ++counters_.dropped;
      return;
  }
}

void WebRtcTransport::on_dtls_connected(const std::optional<DtlsSrtpKeys>& keys) {
  if (keys) {
    srtp_send_ =
        SrtpSession::create(keys->profile, keys->local_key, keys->local_salt, config_.srtp);
    srtp_receive_ =
        SrtpSession::create(keys->profile, keys->remote_key, keys->remote_salt, config_.srtp);
    if (!srtp_send_ || !srtp_receive_) {
      failure_ = "SRTP: cannot set up the sessions";
      srtp_send_.reset();
      srtp_receive_.reset();
    }
  }
  if (config_.data_channels) start_sctp();
  update_state();
}

void WebRtcTransport::start_sctp() {
  SctpConfig config;
  config.local_port = config_.sctp_local_port;
  config.remote_port = config_.sctp_remote_port;
  config.max_message_size = config_.max_message_size;
  config.remote_max_message_size = config_.remote_max_message_size;
  config.dtls_client = config_.dtls_role == DtlsRole::kClient;
  config.streams = config_.sctp_streams;
  SctpCallbacks callbacks;
  callbacks.send_packet = [this,
                           alive = std::weak_ptr<bool>(alive_)](std::span<const uint8_t> packet) {
    // usrsctp may call this from the timer thread of another worker.
    if (!loop_ || loop_->in_loop_thread()) {
      send_sctp_packet(packet);
      return;
    }
    loop_->post([this, alive, copy = std::vector<uint8_t>(packet.begin(), packet.end())] {
      if (auto guard = alive.lock(); guard && *guard) send_sctp_packet(copy);
    });
  };
  callbacks.on_channel_open = [this](const DataChannelInfo& info) {
    channels_.emplace_back(info.label, info.stream_id);
    if (callbacks_.on_channel_open) callbacks_.on_channel_open(info);
  };
  callbacks.on_channel_closed = [this](uint16_t stream) {
    std::erase_if(channels_, [&](const auto& channel) { return channel.second == stream; });
  };
  callbacks.on_state = [this](SctpState state) {
    if (state == SctpState::kConnected) open_pending_channels();
  };
  callbacks.on_message = [this](uint16_t stream, MessageKind kind, std::span<const uint8_t> data) {
    counters_.data_in.fetch_add(1, std::memory_order_relaxed);
    if (callbacks_.on_message) callbacks_.on_message(stream, kind, data);
  };
  sctp_ = std::make_unique<SctpAssociation>(config, std::move(callbacks));
  if (!sctp_->start()) failure_ = "SCTP: cannot start the association";
}

void WebRtcTransport::send_sctp_packet(std::span<const uint8_t> packet) {
  if (dtls_) dtls_->send_application_data(packet);
}

void WebRtcTransport::send_datagram(std::span<const uint8_t> datagram) {
  if (!send_) return;
  if (auto selected = ice_.selected_pair()) {
    send_(*selected, datagram);
  } else if (dtls_peer_) {
    send_(*dtls_peer_, datagram);
  } else if (!addresses_.empty()) {
    send_(addresses_.back(), datagram);
  }
}

bool WebRtcTransport::send_rtp(std::span<uint8_t> buffer, size_t length) {
  if (!srtp_send_ || state() != TransportState::kConnected) return false;
  if (srtp_send_->protect_rtp(buffer, length) != SrtpError::kOk) return false;
  counters_.rtp_out.fetch_add(1, std::memory_order_relaxed);
  send_datagram(buffer.first(length));
  return true;
}

bool WebRtcTransport::send_rtcp(std::span<uint8_t> buffer, size_t length) {
  if (!srtp_send_ || state() != TransportState::kConnected) return false;
  if (srtp_send_->protect_rtcp(buffer, length) != SrtpError::kOk) return false;
  counters_.rtcp_out.fetch_add(1, std::memory_order_relaxed);
  send_datagram(buffer.first(length));
  return true;
}

void WebRtcTransport::open_data_channel(std::string label, bool ordered,
                                        dcep::Reliability reliability) {
  pending_channels_.push_back({std::move(label), ordered, reliability});
  if (sctp_ && sctp_->state() == SctpState::kConnected) open_pending_channels();
}

void WebRtcTransport::open_pending_channels() {
  for (auto& pending : pending_channels_) {
    if (auto stream = sctp_->open_channel(pending.label, "", pending.ordered, pending.reliability))
      channels_.emplace_back(pending.label, *stream);
  }
  pending_channels_.clear();
}

std::string WebRtcTransport::channel_label(uint16_t stream) const {
  for (const auto& [label, id] : channels_)
    if (id == stream) return label;
  return {};
}

bool WebRtcTransport::send_message(const std::string& label, MessageKind kind,
                                   std::span<const uint8_t> data) {
  for (const auto& [name, stream] : channels_)
    if (name == label) return send_message(stream, kind, data);
  return false;
}

bool WebRtcTransport::send_message(uint16_t stream, MessageKind kind,
                                   std::span<const uint8_t> data) {
  if (!sctp_) return false;
  if (sctp_->send_message(stream, kind, data) != SendResult::kOk) return false;
  counters_.data_out.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void WebRtcTransport::tick(Clock::time_point now) {
  if (ice_.tick(now)) update_state();
  if (auto next = dtls_ ? dtls_->next_timeout(now) : std::nullopt; next && *next <= now) {
    dtls_->handle_timeout(now);
    update_state();
  }
  if (sctp_) sctp_->poll();
}

void WebRtcTransport::close() {
  if (sctp_) sctp_.reset();
  if (dtls_) dtls_->close();
  if (state() != TransportState::kFailed) set_state(TransportState::kClosed);
}

void WebRtcTransport::update_state() {
  TransportState current = state();
  if (current == TransportState::kClosed || current == TransportState::kFailed) return;
  TransportState next = TransportState::kConnecting;
  if (ice_.state() == IceState::kFailed) {
    if (failure_.empty()) failure_ = "ICE: no nomination before the timeout";
    next = TransportState::kFailed;
  } else if (dtls_state() == DtlsState::kFailed) {
    next = TransportState::kFailed;
  } else if (dtls_state() == DtlsState::kClosed) {
    next = TransportState::kClosed;
  } else if (dtls_state() == DtlsState::kConnected) {
    next = ice_.state() == IceState::kDisconnected ? TransportState::kDisconnected
                                                   : TransportState::kConnected;
  }
  set_state(next);
}

void WebRtcTransport::set_state(TransportState state) {
  if (state_.exchange(state) == state) return;
  if (callbacks_.on_state) callbacks_.on_state(state);
}

}  // namespace atrium::media
