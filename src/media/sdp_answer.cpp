#include "media/sdp_answer.hpp"

#include <algorithm>
#include <cctype>

#include <random>

namespace atrium::media {

namespace {

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool contains_ignore_case(const std::vector<std::string>& list, std::string_view value) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& item) { return equals_ignore_case(item, value); });
}

// "apt=96" in an RTX fmtp.
std::optional<int> rtx_apt(const std::string& fmtp) {
  auto at = fmtp.find("apt=");
  if (at == std::string::npos) return std::nullopt;
  int value = 0;
  size_t i = at + 4;
  if (i >= fmtp.size() || !std::isdigit(static_cast<unsigned char>(fmtp[i]))) return std::nullopt;
  for (; i < fmtp.size() && std::isdigit(static_cast<unsigned char>(fmtp[i])); ++i) {
    value = value * 10 + (fmtp[i] - '0');
    if (value > 127) return std::nullopt;
  }
  return value;
}

// RFC 4566 asks for a numeric id; 62 bits keep it positive in every parser.
std::string random_session_id() {
  std::random_device device;
  uint64_t value = (static_cast<uint64_t>(device()) << 32) | device();
  return std::to_string(value >> 2);
}

SdpDirection answer_direction(SdpDirection offered) {
  switch (offered) {
    case SdpDirection::kSendOnly:
      return SdpDirection::kRecvOnly;
    case SdpDirection::kRecvOnly:
      return SdpDirection::kSendOnly;
    default:
      return offered;
  }
}

}  // namespace

int extension_id(const NegotiatedMedia& media, std::string_view uri) {
  for (const auto& extmap : media.extmaps)
    if (extmap.uri == uri) return extmap.id;
  return 0;
}

AnswerResult negotiate_answer(const SdpSession& offer, const AnswerOptions& options) {
  AnswerResult result;
  NegotiatedSession negotiated;
  SdpSession& answer = negotiated.answer;
  answer.origin.session_id = options.session_id.empty() ? random_session_id() : options.session_id;
  answer.origin.session_version = "2";
  answer.ice_lite = true;
  answer.msid_semantic = "WMS *";
  answer.extmap_allow_mixed = offer.extmap_allow_mixed;

  const std::vector<std::string>* bundle = offer.bundle();
  std::vector<std::string> accepted_mids;
  bool have_transport = false;

  for (size_t i = 0; i < offer.media.size(); ++i) {
    const SdpMedia& m = offer.media[i];
    NegotiatedMedia info;
    info.index = i;
    info.mid = m.mid;
    info.kind = m.media;
    info.offered_direction =
        m.direction.value_or(offer.direction.value_or(SdpDirection::kSendRecv));

    // Transport parameters: media level overrides session level.
    SdpTransport remote = offer.transport;
    if (!m.transport.ice_ufrag.empty()) remote.ice_ufrag = m.transport.ice_ufrag;
    if (!m.transport.ice_pwd.empty()) remote.ice_pwd = m.transport.ice_pwd;
    if (m.transport.fingerprint) remote.fingerprint = m.transport.fingerprint;
    if (!m.transport.setup.empty()) remote.setup = m.transport.setup;

    SdpMedia out;
    out.media = m.media;
    out.proto = m.proto;
    out.mid = m.mid;
    out.connection = "IN IP4 0.0.0.0";
    bool bundled = !bundle || std::find(bundle->begin(), bundle->end(), m.mid) != bundle->end();
    bool usable = m.port != 0 && !m.mid.empty() && bundled;

    if (usable && (m.media == "audio" || m.media == "video")) {
      const auto& wanted = m.media == "audio" ? options.audio_codecs : options.video_codecs;
      for (const SdpCodec& codec : m.codecs) {
        if (!contains_ignore_case(wanted, codec.encoding)) continue;
        // H.264 only in packetization mode 1 (what browsers and SFUs use).
        if (equals_ignore_case(codec.encoding, "H264") &&
            codec.fmtp.find("packetization-mode=1") == std::string::npos)
          continue;
        SdpCodec taken = codec;
        std::erase_if(taken.rtcp_fb, [&](const std::string& fb) {
          return !contains_ignore_case(options.feedback, fb);
        });
        info.codecs.push_back(std::move(taken));
      }
      if (options.rtx) {
        for (const SdpCodec& codec : m.codecs) {
          if (!equals_ignore_case(codec.encoding, "rtx")) continue;
          auto apt = rtx_apt(codec.fmtp);
          if (apt && std::any_of(info.codecs.begin(), info.codecs.end(),
                                 [&](const SdpCodec& c) { return c.payload_type == *apt; }))
            info.codecs.push_back(codec);
        }
      }
      for (const SdpExtmap& extmap : m.extmaps) {
        if (std::find(options.extensions.begin(), options.extensions.end(), extmap.uri) !=
            options.extensions.end()) {
          SdpExtmap taken = extmap;
          taken.direction.reset();
          info.extmaps.push_back(taken);
        }
      }
      if (m.simulcast) {
        for (const auto& stream : m.simulcast->send)
          for (const auto& rid : stream)
            info.rids.push_back(rid[0] == '~' ? rid.substr(1) : rid);
      }
      for (const SdpSsrcLine& line : m.ssrcs) {
        if (std::find(info.remote_ssrcs.begin(), info.remote_ssrcs.end(), line.ssrc) ==
            info.remote_ssrcs.end())
          info.remote_ssrcs.push_back(line.ssrc);
      }
      info.accepted = !info.codecs.empty();
      if (info.accepted) {
        for (const auto& codec : info.codecs)
          out.formats.push_back(std::to_string(codec.payload_type));
        out.codecs = info.codecs;
        out.extmaps = info.extmaps;
        out.direction = answer_direction(info.offered_direction);
        out.rtcp_mux = true;
        out.rtcp_rsize = m.rtcp_rsize;
        out.extmap_allow_mixed = m.extmap_allow_mixed;
        if (m.simulcast && !m.simulcast->send.empty()) {
          for (const SdpRid& rid : m.rids) {
            if (rid.direction == "send") out.rids.push_back({rid.id, "recv", ""});
          }
          out.simulcast = SdpSimulcast{{}, m.simulcast->send};
        }
      }
    } else if (usable && m.media == "application" && options.data_channels &&
               std::find(m.formats.begin(), m.formats.end(), "webrtc-datachannel") !=
                   m.formats.end()) {
      info.accepted = true;
      out.formats = {"webrtc-datachannel"};
      out.sctp_port = 5000;
      out.max_message_size = options.max_message_size;
      negotiated.data_channels = true;
      negotiated.remote_sctp_port = m.sctp_port.value_or(5000);
      if (m.max_message_size) negotiated.remote_max_message_size = *m.max_message_size;
    }

    if (info.accepted) {
      if (remote.ice_ufrag.empty() || remote.ice_pwd.empty()) {
        result.error = "m-section " + std::to_string(i) + " has no ice-ufrag/ice-pwd";
        return result;
      }
      if (!remote.fingerprint) {
        result.error = "m-section " + std::to_string(i) + " has no a=fingerprint";
        return result;
      }
      if (!have_transport) {
        have_transport = true;
        negotiated.remote_ufrag = remote.ice_ufrag;
        negotiated.remote_pwd = remote.ice_pwd;
        negotiated.remote_fingerprint_algorithm = remote.fingerprint->algorithm;
        negotiated.remote_fingerprint = remote.fingerprint->value;
        // RFC 5763 §5: we take the role the offerer left us.
        if (remote.setup == "active") {
          negotiated.dtls_role = DtlsRole::kServer;
        } else if (remote.setup == "passive") {
          negotiated.dtls_role = DtlsRole::kClient;
        } else if (remote.setup == "actpass" || remote.setup.empty()) {
          negotiated.dtls_role = DtlsRole::kServer;
        } else {
          result.error = "unknown a=setup value: " + remote.setup;
          return result;
        }
      } else if (remote.ice_ufrag != negotiated.remote_ufrag) {
        result.error = "bundled m-sections with different ICE credentials";
        return result;
      }
      out.port = options.candidates.empty() ? 9 : options.candidates.front().port;
      if (!options.candidates.empty())
        out.connection = "IN IP4 " + options.candidates.front().address;
      out.transport.ice_ufrag = options.ice_ufrag;
      out.transport.ice_pwd = options.ice_pwd;
      out.transport.fingerprint =
          SdpFingerprint{options.fingerprint_algorithm, options.fingerprint};
      out.transport.setup = negotiated.dtls_role == DtlsRole::kServer ? "passive" : "active";
      out.candidates = options.candidates;
      out.end_of_candidates = true;
      accepted_mids.push_back(m.mid);
    } else {
      // Rejected: port 0, the offer's formats echoed back as RFC 3264 asks.
      out.port = 0;
      out.formats = m.formats.empty() ? std::vector<std::string>{"0"} : m.formats;
      out.direction = SdpDirection::kInactive;
    }
    answer.media.push_back(std::move(out));
    negotiated.media.push_back(std::move(info));
  }
  if (accepted_mids.empty()) {
    result.error =
        "no m-section we can accept (need audio/video with a supported codec or a data channel)";
    return result;
  }
  answer.groups.push_back({"BUNDLE", accepted_mids});
  result.session = std::move(negotiated);
  return result;
}

}  // namespace atrium::media
