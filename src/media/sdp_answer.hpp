#pragma once
// Answering a WebRTC offer as an ICE-lite endpoint: which m-sections we take,
// with which codecs, header extensions and feedback, and the transport
// parameters of both sides. The caller adds what it sends (a=ssrc, msid) and
// the direction per section before writing the answer.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "media/dtls.hpp"
#include "media/sdp.hpp"

namespace atrium::media {

namespace extension_uri {
inline constexpr char kMid[] = "urn:ietf:params:rtp-hdrext:sdes:mid";
inline constexpr char kRid[] = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
inline constexpr char kRepairedRid[] = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
inline constexpr char kAudioLevel[] = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
inline constexpr char kAbsSendTime[] = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
inline constexpr char kTransportCc[] =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
}  // namespace extension_uri

struct AnswerOptions {
  std::string ice_ufrag;
  std::string ice_pwd;
  std::string fingerprint_algorithm = "sha-256";
  std::string fingerprint;
  std::vector<SdpCandidate> candidates;
  // Encoding names we take, in no particular order (the offer's order is kept).
  std::vector<std::string> audio_codecs = {"opus"};
  std::vector<std::string> video_codecs = {"VP8", "VP9", "H264"};
  bool rtx = false;  // answer RTX payload types for the codecs we take
  std::vector<std::string> extensions = {extension_uri::kMid, extension_uri::kRid,
                                         extension_uri::kRepairedRid, extension_uri::kAudioLevel};
  // RTCP feedback we honour; others are removed from the answer.
  std::vector<std::string> feedback = {"nack pli", "ccm fir"};
  bool data_channels = true;
  uint64_t max_message_size = 262144;
  std::string session_id;  // o= line; random when empty
};

// One m-section of the offer and what we made of it.
struct NegotiatedMedia {
  size_t index = 0;
  std::string mid;
  std::string kind;  // "audio", "video", "application"
  bool accepted = false;
  SdpDirection offered_direction = SdpDirection::kSendRecv;
  std::vector<SdpCodec> codecs;        // accepted, offer order
  std::vector<SdpExtmap> extmaps;      // accepted, with the offer's ids
  std::vector<std::string> rids;       // simulcast streams the peer sends
  std::vector<uint32_t> remote_ssrcs;  // a=ssrc lines of the offer, if any
};

struct NegotiatedSession {
  SdpSession answer;
  std::vector<NegotiatedMedia> media;
  DtlsRole dtls_role = DtlsRole::kServer;  // ours
  std::string remote_ufrag, remote_pwd;
  std::string remote_fingerprint_algorithm, remote_fingerprint;
  bool data_channels = false;
  uint16_t remote_sctp_port = 5000;
  uint64_t remote_max_message_size = 65536;  // RFC 8841 default when absent
};

struct AnswerResult {
  std::optional<NegotiatedSession> session;
  std::string error;  // why the offer cannot be answered
  explicit operator bool() const { return session.has_value(); }
};

AnswerResult negotiate_answer(const SdpSession& offer, const AnswerOptions& options);

// The id an offer gave an extension URI in a section; 0 if not accepted.
int extension_id(const NegotiatedMedia& media, std::string_view uri);

}  // namespace atrium::media
