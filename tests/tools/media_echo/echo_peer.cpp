#include "echo_peer.hpp"

#include <cstring>
#include <random>

#include "media/rtcp.hpp"
#include "media/rtcp_feedback.hpp"
#include "media/rtp.hpp"

namespace atrium::tools {

using namespace atrium::media;

namespace {

std::string random_string(size_t length) {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::random_device device;
  std::string out;
  for (size_t i = 0; i < length; ++i)
    out += kAlphabet[device() % (sizeof(kAlphabet) - 1)];
  return out;
}

uint32_t random_ssrc() {
  std::random_device device;
  return device() | 1u;
}

}  // namespace

std::shared_ptr<EchoPeer> EchoPeer::create(MediaServer& server, const std::string& offer_text,
                                           bool tcp_only, std::string* answer_text,
                                           std::string* error) {
  auto parsed = parse_sdp(offer_text);
  if (!parsed) {
    *error = "bad SDP at line " + std::to_string(parsed.error.line) + ": " + parsed.error.reason;
    return nullptr;
  }
  AnswerOptions options;
  options.ice_ufrag = random_string(8);
  options.ice_pwd = random_string(24);
  options.fingerprint_algorithm = server.certificate()->fingerprint_algorithm();
  options.fingerprint = server.certificate()->fingerprint();
  options.candidates = server.candidates(/*udp=*/!tcp_only, /*tcp=*/true);
  auto negotiated = negotiate_answer(*parsed.session, options);
  if (!negotiated) {
    *error = negotiated.error;
    return nullptr;
  }
  std::shared_ptr<EchoPeer> peer(new EchoPeer());
  NegotiatedSession& session = *negotiated.session;
  for (const NegotiatedMedia& media : session.media) {
    if (!media.accepted || media.kind == "application") continue;
    Section section;
    section.index = media.index;
    section.mid = media.mid;
    if (!media.rids.empty()) section.wanted_rid = media.rids.front();
    SdpMedia& out = session.answer.media[media.index];
    section.echo = out.direction == SdpDirection::kSendRecv;
    if (section.echo) {
      section.out_ssrc = random_ssrc();
      std::string track = "echo-" + media.mid;
      out.msids = {"atrium-echo " + track};
      out.ssrcs.push_back({section.out_ssrc, "cname", "atrium-echo"});
      out.ssrcs.push_back({section.out_ssrc, "msid", "atrium-echo " + track});
    }
    if (!peer->mid_extension_) peer->mid_extension_ = extension_id(media, extension_uri::kMid);
    if (!peer->rid_extension_) peer->rid_extension_ = extension_id(media, extension_uri::kRid);
    peer->sections_.push_back(section);
  }
  // by_ssrc_ points into sections_: it must not grow from here on.
  for (const NegotiatedMedia& media : session.media) {
    for (uint32_t ssrc : media.remote_ssrcs) {
      for (auto& section : peer->sections_)
        if (section.index == media.index) peer->by_ssrc_[ssrc] = &section;
    }
  }

  WebRtcTransportConfig config;
  config.local_ufrag = options.ice_ufrag;
  config.local_password = options.ice_pwd;
  config.remote_ufrag = session.remote_ufrag;
  config.dtls_role = session.dtls_role;
  config.remote_fingerprint_algorithm = session.remote_fingerprint_algorithm;
  config.remote_fingerprint = session.remote_fingerprint;
  config.data_channels = session.data_channels;
  config.sctp_remote_port = session.remote_sctp_port;
  config.remote_max_message_size = session.remote_max_message_size;
  EchoPeer* self = peer.get();
  WebRtcTransport::Callbacks callbacks;
  callbacks.on_rtp = [self](std::span<uint8_t> buffer, size_t length) {
    self->on_rtp(buffer, length);
  };
  callbacks.on_rtcp = [self](std::span<uint8_t> buffer, size_t length) {
    self->on_rtcp(buffer, length);
  };
  callbacks.on_message = [self](uint16_t stream, MessageKind kind, std::span<const uint8_t> data) {
    self->transport_->send_message(stream, kind, data);
  };
  peer->transport_ = std::make_shared<WebRtcTransport>(
      server.certificate(), config, std::move(callbacks), std::chrono::steady_clock::now());
  server.add(peer->transport_);
  *answer_text = write_sdp(session.answer);
  return peer;
}

EchoPeer::Section* EchoPeer::section_for(const RtpView& packet) {
  if (auto known = by_ssrc_.find(packet.ssrc()); known != by_ssrc_.end()) return known->second;
  if (!mid_extension_) return nullptr;
  auto mid = packet.find_extension(static_cast<uint8_t>(mid_extension_));
  if (!mid) return nullptr;
  std::string_view mid_text(reinterpret_cast<const char*>(mid->data()), mid->size());
  for (auto& section : sections_) {
    if (section.mid != mid_text) continue;
    by_ssrc_[packet.ssrc()] = &section;
    return &section;
  }
  return nullptr;
}

void EchoPeer::on_rtp(std::span<uint8_t> buffer, size_t length) {
  auto packet = RtpView::parse(buffer.first(length));
  if (!packet) return;
  Section* section = section_for(*packet);
  if (!section || !section->echo) return;
  if (!section->source) {
    // Simulcast: wait for a packet that names the wanted layer.
    if (!section->wanted_rid.empty()) {
      auto rid = rid_extension_ ? packet->find_extension(static_cast<uint8_t>(rid_extension_))
                                : std::nullopt;
      if (!rid || std::string_view(reinterpret_cast<const char*>(rid->data()), rid->size()) !=
                      section->wanted_rid)
        return;
    }
    section->source = packet->ssrc();
    request_keyframe(*section);
  }
  if (packet->ssrc() != *section->source) return;
  // Our stream carries no header extensions: the answer declared its SSRC, so
  // the browser routes it without a mid, and no extension ids need mapping.
  size_t header = packet->header_size();
  size_t rest = length - header;  // payload and padding
  std::memmove(buffer.data() + 12, buffer.data() + header, rest);
  buffer[0] = static_cast<uint8_t>(0x80 | (buffer[0] & 0x20));  // V=2, keep P, no X, no CSRC
  uint32_t ssrc = section->out_ssrc;
  buffer[8] = static_cast<uint8_t>(ssrc >> 24);
  buffer[9] = static_cast<uint8_t>(ssrc >> 16);
  buffer[10] = static_cast<uint8_t>(ssrc >> 8);
  buffer[11] = static_cast<uint8_t>(ssrc);
  transport_->send_rtp(buffer, 12 + rest);
}

void EchoPeer::on_rtcp(std::span<uint8_t> buffer, size_t length) {
  // A keyframe request for one of our streams goes on to its source.
  rtcp::CompoundIterator packets(buffer.first(length));
  while (auto packet = packets.next()) {
    auto feedback = rtcp::parse_feedback(*packet);
    if (!feedback) continue;
    bool keyframe = rtcp::is_pli(*feedback) ||
                    (feedback->format == rtcp::kFmtFir && rtcp::parse_fir(*feedback));
    if (!keyframe) continue;
    for (const auto& section : sections_) {
      bool ours = feedback->media_ssrc == section.out_ssrc;
      if (auto entries =
              feedback->format == rtcp::kFmtFir ? rtcp::parse_fir(*feedback) : std::nullopt) {
        for (const auto& entry : *entries)
          ours |= entry.ssrc == section.out_ssrc;
      }
      if (ours) request_keyframe(section);
    }
  }
}

void EchoPeer::request_keyframe(const Section& section) {
  if (!section.source) return;
  std::vector<uint8_t> pli;
  rtcp::append_pli(pli, section.out_ssrc, *section.source);
  pli.resize(pli.size() + kSrtpMaxOverhead);
  transport_->send_rtcp(pli, pli.size() - kSrtpMaxOverhead);
}

}  // namespace atrium::tools
