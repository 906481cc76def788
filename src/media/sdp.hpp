#pragma once
// SDP (RFC 8866) as browsers send and expect it for WebRTC: BUNDLE, ICE, DTLS
// fingerprint/setup, per-section codecs, header extensions, SSRCs, simulcast
// with rid, candidates and the data channel. parse_sdp never throws and never
// crashes on malformed input: it reports the first bad line (1-based) and why.
// Attributes it does not model are kept verbatim so that
// parse -> write_sdp -> parse gives back an equal session.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace atrium::media {

enum class SdpDirection : uint8_t { kSendRecv, kSendOnly, kRecvOnly, kInactive };
const char* to_string(SdpDirection direction);
std::optional<SdpDirection> parse_sdp_direction(std::string_view text);

// An attribute kept as written: "a=name" or "a=name:value".
struct SdpAttribute {
  std::string name;
  std::optional<std::string> value;
  bool operator==(const SdpAttribute&) const = default;
};

struct SdpOrigin {
  std::string username = "-";
  std::string session_id = "0";
  std::string session_version = "0";
  std::string net_type = "IN";
  std::string address_type = "IP4";
  std::string address = "127.0.0.1";
  bool operator==(const SdpOrigin&) const = default;
};

struct SdpGroup {
  std::string semantics;  // "BUNDLE", "LS"
  std::vector<std::string> mids;
  bool operator==(const SdpGroup&) const = default;
};

struct SdpFingerprint {
  std::string algorithm;  // "sha-256"
  std::string value;      // upper-case hex pairs separated by ':' as on the wire
  bool operator==(const SdpFingerprint&) const = default;
};

// ICE and DTLS parameters: session-level defaults, overridable per section.
struct SdpTransport {
  std::string ice_ufrag;
  std::string ice_pwd;
  std::vector<std::string> ice_options;  // "trickle", "renomination"
  std::optional<SdpFingerprint> fingerprint;
  std::string setup;  // "actpass", "active", "passive"
  bool operator==(const SdpTransport&) const = default;
};

struct SdpExtmap {
  int id = 0;
  std::optional<SdpDirection> direction;
  std::string uri;
  std::string attributes;  // rarely used extension attributes after the URI
  bool operator==(const SdpExtmap&) const = default;
};

// One payload type with its a=rtpmap, a=fmtp and a=rtcp-fb lines.
struct SdpCodec {
  int payload_type = 0;
  std::string encoding;  // empty for a static payload type without rtpmap
  uint32_t clock_rate = 0;
  std::optional<uint32_t> channels;
  std::string fmtp;
  std::vector<std::string> rtcp_fb;  // "nack", "nack pli", "transport-cc"
  bool operator==(const SdpCodec&) const = default;
};

struct SdpSsrcLine {  // a=ssrc:<ssrc> <attribute>[:<value>]
  uint32_t ssrc = 0;
  std::string attribute;  // "cname", "msid"
  std::optional<std::string> value;
  bool operator==(const SdpSsrcLine&) const = default;
};

struct SdpSsrcGroup {
  std::string semantics;  // "FID", "SIM", "FEC-FR"
  std::vector<uint32_t> ssrcs;
  bool operator==(const SdpSsrcGroup&) const = default;
};

struct SdpRid {  // RFC 8851
  std::string id;
  std::string direction;  // "send" or "recv"
  std::string params;     // "pt=96;max-width=1280", may be empty
  bool operator==(const SdpRid&) const = default;
};

// RFC 8853: per direction, a list of streams, each a list of rid alternatives
// ("~h" marks a paused stream and keeps its tilde).
struct SdpSimulcast {
  std::vector<std::vector<std::string>> send;
  std::vector<std::vector<std::string>> recv;
  bool operator==(const SdpSimulcast&) const = default;
};

struct SdpCandidate {  // RFC 8839 §5.1
  std::string foundation;
  uint32_t component = 1;
  std::string transport;  // "udp", "tcp"
  uint32_t priority = 0;
  std::string address;  // IP or mDNS name
  uint16_t port = 0;
  std::string type;  // "host", "srflx", "prflx", "relay"
  std::string related_address;
  std::optional<uint16_t> related_port;
  std::vector<std::pair<std::string, std::string>> extensions;  // tcptype, generation, ufrag...
  bool operator==(const SdpCandidate&) const = default;
};

struct SdpMedia {
  std::string media;  // "audio", "video", "application"
  uint16_t port = 9;
  std::optional<uint16_t> port_count;
  std::string proto;                 // "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP"
  std::vector<std::string> formats;  // payload types, or "webrtc-datachannel"
  std::string connection;            // c= value, "IN IP4 0.0.0.0"
  std::vector<std::string> bandwidths;
  std::string rtcp;  // a=rtcp value, "9 IN IP4 0.0.0.0"
  SdpTransport transport;
  std::string mid;
  std::optional<SdpDirection> direction;
  std::vector<std::string> msids;  // a=msid values, "<stream> <track>"
  bool rtcp_mux = false;
  bool rtcp_mux_only = false;
  bool rtcp_rsize = false;
  bool extmap_allow_mixed = false;
  std::vector<SdpExtmap> extmaps;
  std::vector<SdpCodec> codecs;          // in order of first mention
  std::vector<std::string> rtcp_fb_any;  // a=rtcp-fb:* lines
  std::vector<SdpSsrcGroup> ssrc_groups;
  std::vector<SdpSsrcLine> ssrcs;
  std::vector<SdpRid> rids;
  std::optional<SdpSimulcast> simulcast;
  std::vector<SdpCandidate> candidates;
  bool end_of_candidates = false;
  std::optional<uint16_t> sctp_port;
  std::optional<uint64_t> max_message_size;
  std::vector<SdpAttribute> other_attributes;
  std::vector<std::pair<char, std::string>> other_lines;  // i=, k= ...

  const SdpCodec* codec(int payload_type) const;
  bool operator==(const SdpMedia&) const = default;
};

struct SdpSession {
  SdpOrigin origin;
  std::string session_name = "-";
  std::string timing = "0 0";
  std::string connection;
  std::vector<std::string> bandwidths;
  std::vector<SdpGroup> groups;
  SdpTransport transport;
  bool ice_lite = false;
  bool extmap_allow_mixed = false;
  std::string msid_semantic;  // "WMS" or "WMS *"
  std::optional<SdpDirection> direction;
  std::vector<SdpAttribute> other_attributes;
  std::vector<std::pair<char, std::string>> other_lines;
  std::vector<SdpMedia> media;

  // The BUNDLE group's mids, empty if none.
  const std::vector<std::string>* bundle() const;
  bool operator==(const SdpSession&) const = default;
};

struct SdpParseError {
  size_t line = 0;  // 1-based; 0 when the whole text is at fault
  std::string reason;
};

struct SdpParseResult {
  std::optional<SdpSession> session;
  SdpParseError error;  // meaningful when !session
  explicit operator bool() const { return session.has_value(); }
};

// Accepts CRLF and LF line ends. Bounded: refuses texts over kMaxSdpSize.
inline constexpr size_t kMaxSdpSize = 256 * 1024;
SdpParseResult parse_sdp(std::string_view text);

// CRLF-terminated SDP text in the order browsers write it.
std::string write_sdp(const SdpSession& session);

}  // namespace atrium::media
