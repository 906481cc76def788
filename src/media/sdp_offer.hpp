#pragma once
// Offering as an ICE-lite endpoint that sends: the SFU's connection towards a
// subscriber. Every m-section keeps its mid and place across renegotiations
// (removed streams turn inactive), all are BUNDLEd on one transport, and the
// answer tells us the peer's ICE and DTLS parameters and what it accepted.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "media/dtls.hpp"
#include "media/sdp.hpp"

namespace atrium::media {

// One m-section we send on (or, when inactive, used to).
struct OfferedSection {
  std::string mid;
  std::string kind;  // "audio", "video" or "application"
  SdpDirection direction = SdpDirection::kSendOnly;
  std::vector<SdpCodec> codecs;  // with rtcp-fb and fmtp; RTX entries carry apt=
  std::vector<SdpExtmap> extmaps;
  uint32_t ssrc = 0;
  std::optional<uint32_t> rtx_ssrc;
  std::string cname;
  std::string stream_id;  // a=msid:<stream_id> <track_id>
  std::string track_id;
};

struct OfferOptions {
  std::string ice_ufrag;
  std::string ice_pwd;
  std::string fingerprint_algorithm = "sha-256";
  std::string fingerprint;
  std::vector<SdpCandidate> candidates;
  std::string session_id;        // stable across renegotiations
  uint64_t session_version = 1;  // increases with each offer
  uint64_t max_message_size = 262144;
  std::vector<OfferedSection> sections;  // in m-line order
};

SdpSession build_offer(const OfferOptions& options);

// What the answer to one of our offers says.
struct AcceptedSection {
  std::string mid;
  bool accepted = false;  // port != 0
  std::vector<int> payload_types;
  std::vector<SdpExtmap> extmaps;
};

struct AnswerToOffer {
  std::string remote_ufrag, remote_pwd;
  std::string remote_fingerprint_algorithm, remote_fingerprint;
  DtlsRole dtls_role = DtlsRole::kServer;  // ours
  std::vector<AcceptedSection> sections;
  uint16_t remote_sctp_port = 5000;
  uint64_t remote_max_message_size = 65536;
};

struct AnswerToOfferResult {
  std::optional<AnswerToOffer> answer;
  std::string error;
  explicit operator bool() const { return answer.has_value(); }
};

// Checks the answer against our offer (same m-lines, ICE and DTLS present, a
// setup role that fits our actpass) and extracts the parameters.
AnswerToOfferResult read_answer(const SdpSession& offer, const SdpSession& answer);
// The same given only the offer's mids in m-line order (all it needs), for an
// offerer that keeps no whole offer around.
AnswerToOfferResult read_answer(std::span<const std::string> offered_mids,
                                const SdpSession& answer);

// The codecs an SFU sends to subscribers, with the payload types livekit-client
// expects from LiveKit (Opus 111, VP8 96/97, VP9 98/99, H.264 102/103).
// With red: RED (63, "111/111") before Opus, for a track published with RED.
std::vector<SdpCodec> subscriber_audio_codecs(bool red = false);
std::vector<SdpCodec> subscriber_video_codecs(const std::string& mime_subtype);

}  // namespace atrium::media
