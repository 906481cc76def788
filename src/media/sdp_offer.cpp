#include "media/sdp_offer.hpp"

#include <cctype>

namespace atrium::media {

SdpSession build_offer(const OfferOptions& options) {
  SdpSession offer;
  offer.origin.session_id = options.session_id.empty() ? "1" : options.session_id;
  offer.origin.session_version = std::to_string(options.session_version);
  offer.ice_lite = true;
  offer.msid_semantic = "WMS *";
  SdpGroup bundle{"BUNDLE", {}};
  for (const OfferedSection& section : options.sections) {
    SdpMedia m;
    m.media = section.kind;
    m.mid = section.mid;
    m.port = options.candidates.empty() ? 9 : options.candidates.front().port;
    m.connection = options.candidates.empty() ? "IN IP4 0.0.0.0"
                                              : "IN IP4 " + options.candidates.front().address;
    m.transport.ice_ufrag = options.ice_ufrag;
    m.transport.ice_pwd = options.ice_pwd;
    m.transport.fingerprint = SdpFingerprint{options.fingerprint_algorithm, options.fingerprint};
    m.transport.setup = "actpass";
    m.candidates = options.candidates;
    m.end_of_candidates = true;
    if (section.kind == "application") {
      m.proto = "UDP/DTLS/SCTP";
      m.formats = {"webrtc-datachannel"};
      m.sctp_port = 5000;
      m.max_message_size = options.max_message_size;
    } else {
      m.proto = "UDP/TLS/RTP/SAVPF";
      for (const SdpCodec& codec : section.codecs)
        m.formats.push_back(std::to_string(codec.payload_type));
      m.codecs = section.codecs;
      m.extmaps = section.extmaps;
      m.direction = section.direction;
      m.rtcp_mux = true;
      m.rtcp_rsize = true;
      if (section.direction == SdpDirection::kSendOnly ||
          section.direction == SdpDirection::kSendRecv) {
        m.msids = {section.stream_id + " " + section.track_id};
        if (section.rtx_ssrc) m.ssrc_groups.push_back({"FID", {section.ssrc, *section.rtx_ssrc}});
        auto describe = [&](uint32_t ssrc) {
          m.ssrcs.push_back({ssrc, "cname", section.cname});
          m.ssrcs.push_back({ssrc, "msid", section.stream_id + " " + section.track_id});
        };
        describe(section.ssrc);
        if (section.rtx_ssrc) describe(*section.rtx_ssrc);
      }
    }
    bundle.mids.push_back(section.mid);
    offer.media.push_back(std::move(m));
  }
  offer.groups.push_back(std::move(bundle));
  return offer;
}

AnswerToOfferResult read_answer(const SdpSession& offer, const SdpSession& answer) {
  std::vector<std::string> mids;
  mids.reserve(offer.media.size());
  for (const SdpMedia& m : offer.media)
    mids.push_back(m.mid);
  return read_answer(mids, answer);
}

AnswerToOfferResult read_answer(std::span<const std::string> offered_mids,
                                const SdpSession& answer) {
  AnswerToOfferResult result;
  if (answer.media.size() != offered_mids.size()) {
    result.error = "the answer has " + std::to_string(answer.media.size()) +
                   " m-lines, the offer " + std::to_string(offered_mids.size());
    return result;
  }
  AnswerToOffer out;
  bool have_transport = false;
  for (size_t i = 0; i < answer.media.size(); ++i) {
    const SdpMedia& m = answer.media[i];
    if (m.mid != offered_mids[i]) {
      result.error = "m-line " + std::to_string(i) + " answers mid '" + m.mid + "', offered '" +
                     offered_mids[i] + "'";
      return result;
    }
    AcceptedSection section;
    section.mid = m.mid;
    section.accepted = m.port != 0;
    for (const SdpCodec& codec : m.codecs)
      section.payload_types.push_back(codec.payload_type);
    section.extmaps = m.extmaps;
    if (section.accepted) {
      SdpTransport transport = answer.transport;
      if (!m.transport.ice_ufrag.empty()) transport.ice_ufrag = m.transport.ice_ufrag;
      if (!m.transport.ice_pwd.empty()) transport.ice_pwd = m.transport.ice_pwd;
      if (m.transport.fingerprint) transport.fingerprint = m.transport.fingerprint;
      if (!m.transport.setup.empty()) transport.setup = m.transport.setup;
      if (!have_transport && !transport.ice_ufrag.empty()) {
        if (!transport.fingerprint) {
          result.error = "the answer has no a=fingerprint";
          return result;
        }
        out.remote_ufrag = transport.ice_ufrag;
        out.remote_pwd = transport.ice_pwd;
        out.remote_fingerprint_algorithm = transport.fingerprint->algorithm;
        out.remote_fingerprint = transport.fingerprint->value;
        // We offered actpass: the answerer picks.
        if (transport.setup == "active" || transport.setup.empty()) {
          out.dtls_role = DtlsRole::kServer;
        } else if (transport.setup == "passive") {
          out.dtls_role = DtlsRole::kClient;
        } else {
          result.error =
              "the answer's a=setup must be active or passive, not '" + transport.setup + "'";
          return result;
        }
        have_transport = true;
      }
      if (m.media == "application") {
        out.remote_sctp_port = m.sctp_port.value_or(5000);
        if (m.max_message_size) out.remote_max_message_size = *m.max_message_size;
      }
    }
    out.sections.push_back(std::move(section));
  }
  if (!have_transport) {
    result.error = "the answer accepts no m-line with ICE credentials";
    return result;
  }
  result.answer = std::move(out);
  return result;
}

std::vector<SdpCodec> subscriber_audio_codecs(bool red) {
  SdpCodec opus;
  opus.payload_type = 111;
  opus.encoding = "opus";
  opus.clock_rate = 48000;
  opus.channels = 2;
  opus.fmtp = "minptime=10;useinbandfec=1";
  opus.rtcp_fb = {"transport-cc"};
  if (!red) return {opus};
  // RED first: a receiver that takes it gets the redundancy as published.
  SdpCodec red_codec;
  red_codec.payload_type = 63;
  red_codec.encoding = "red";
  red_codec.clock_rate = 48000;
  red_codec.channels = 2;
  red_codec.fmtp = "111/111";
  return {red_codec, opus};
}

std::vector<SdpCodec> subscriber_video_codecs(const std::string& mime_subtype) {
  auto video = [](int pt, const std::string& name, const std::string& fmtp) {
    SdpCodec codec;
    codec.payload_type = pt;
    codec.encoding = name;
    codec.clock_rate = 90000;
    codec.fmtp = fmtp;
    codec.rtcp_fb = {"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"};
    return codec;
  };
  auto rtx = [](int pt, int apt) {
    SdpCodec codec;
    codec.payload_type = pt;
    codec.encoding = "rtx";
    codec.clock_rate = 90000;
    codec.fmtp = "apt=" + std::to_string(apt);
    return codec;
  };
  std::string name = mime_subtype;
  for (char& c : name)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name == "H264") {
    return {video(102, "H264",
                  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
            rtx(103, 102)};
  }
  if (name == "VP9") return {video(98, "VP9", "profile-id=0"), rtx(99, 98)};
  return {video(96, "VP8", ""), rtx(97, 96)};
}

}  // namespace atrium::media
