// SDP parse/generate against offers in the format current Chrome and Firefox
// send, round trips, and malformed input.
#include "media/sdp.hpp"

#include <gtest/gtest.h>

#include <string>

namespace atrium::media {
namespace {

// Written to match Chrome's current createOffer + gathered candidates: opus
// with RED, a simulcast camera (3 rids, VP8/VP9/H264 + RTX), a non-simulcast
// screen share with an FID group, and a data channel.
const char* const kChromeOffer =
    "v=0\r\n"
    "o=- 4215775240449105457 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1 2 3\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS 4d1c2f0e-7b1a-4c55-9d0e-3f5b8a6c2e11\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:1467250027 1 udp 2122260223 5d8f1c2a-0b3e-4f7a-9c6d-1e2f3a4b5c6d.local 54400 "
    "typ host generation 0 network-id 1 network-cost 10\r\n"
    "a=candidate:842163049 1 udp 1686052607 203.0.113.7 54400 typ srflx raddr 0.0.0.0 rport 0 "
    "generation 0 network-id 1 network-cost 10\r\n"
    "a=ice-ufrag:Hx7q\r\n"
    "a=ice-pwd:k3Jm9Lq2Vw8Rt5Yp1Zs6Nb4c\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    "93:90:EF:32:AD:DF:32:BF:DE:A7:86:BC:1E:20:67:95:92:49:80:68:BC:BF:CD:35:7E:A1:0A:B6:4E:A3:5E:"
    "47\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=sendrecv\r\n"
    "a=msid:4d1c2f0e-7b1a-4c55-9d0e-3f5b8a6c2e11 0b7d9e2a-5c4f-4e1b-8a3d-6f2c1b0a9e8d\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\n"
    "a=fmtp:63 111/111\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:13 CN/8000\r\n"
    "a=rtpmap:110 telephone-event/48000\r\n"
    "a=rtpmap:126 telephone-event/8000\r\n"
    "a=ssrc:3735928559 cname:Yq3cJx1mV0pT8sKe\r\n"
    "a=ssrc:3735928559 msid:4d1c2f0e-7b1a-4c55-9d0e-3f5b8a6c2e11 "
    "0b7d9e2a-5c4f-4e1b-8a3d-6f2c1b0a9e8d\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 102 103\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Hx7q\r\n"
    "a=ice-pwd:k3Jm9Lq2Vw8Rt5Yp1Zs6Nb4c\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    "93:90:EF:32:AD:DF:32:BF:DE:A7:86:BC:1E:20:67:95:92:49:80:68:BC:BF:CD:35:7E:A1:0A:B6:4E:A3:5E:"
    "47\r\n"
    "a=setup:actpass\r\n"
    "a=mid:1\r\n"
    "a=extmap:14 urn:ietf:params:rtp-hdrext:toffset\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=extmap:13 urn:3gpp:video-orientation\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay\r\n"
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"
    "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n"
    "a=sendonly\r\n"
    "a=msid:4d1c2f0e-7b1a-4c55-9d0e-3f5b8a6c2e11 7e6d5c4b-3a29-4180-9f8e-7d6c5b4a3928\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtcp-fb:96 goog-remb\r\n"
    "a=rtcp-fb:96 transport-cc\r\n"
    "a=rtcp-fb:96 ccm fir\r\n"
    "a=rtcp-fb:96 nack\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n"
    "a=rtpmap:98 VP9/90000\r\n"
    "a=rtcp-fb:98 goog-remb\r\n"
    "a=rtcp-fb:98 transport-cc\r\n"
    "a=rtcp-fb:98 ccm fir\r\n"
    "a=rtcp-fb:98 nack\r\n"
    "a=rtcp-fb:98 nack pli\r\n"
    "a=fmtp:98 profile-id=0\r\n"
    "a=rtpmap:99 rtx/90000\r\n"
    "a=fmtp:99 apt=98\r\n"
    "a=rtpmap:102 H264/90000\r\n"
    "a=rtcp-fb:102 goog-remb\r\n"
    "a=rtcp-fb:102 transport-cc\r\n"
    "a=rtcp-fb:102 ccm fir\r\n"
    "a=rtcp-fb:102 nack\r\n"
    "a=rtcp-fb:102 nack pli\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=rtpmap:103 rtx/90000\r\n"
    "a=fmtp:103 apt=102\r\n"
    "a=rid:q send\r\n"
    "a=rid:h send\r\n"
    "a=rid:f send\r\n"
    "a=simulcast:send q;h;f\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Hx7q\r\n"
    "a=ice-pwd:k3Jm9Lq2Vw8Rt5Yp1Zs6Nb4c\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    "93:90:EF:32:AD:DF:32:BF:DE:A7:86:BC:1E:20:67:95:92:49:80:68:BC:BF:CD:35:7E:A1:0A:B6:4E:A3:5E:"
    "47\r\n"
    "a=setup:actpass\r\n"
    "a=mid:2\r\n"
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=sendonly\r\n"
    "a=msid:4d1c2f0e-7b1a-4c55-9d0e-3f5b8a6c2e11 c2a1b0f9-e8d7-46c5-b4a3-92817f6e5d4c\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtcp-fb:96 nack\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n"
    "a=ssrc-group:FID 1111111111 2222222222\r\n"
    "a=ssrc:1111111111 cname:Yq3cJx1mV0pT8sKe\r\n"
    "a=ssrc:1111111111 msid:4d1c2f0e-7b1a-4c55-9d0e-3f5b8a6c2e11 "
    "c2a1b0f9-e8d7-46c5-b4a3-92817f6e5d4c\r\n"
    "a=ssrc:2222222222 cname:Yq3cJx1mV0pT8sKe\r\n"
    "a=ssrc:2222222222 msid:4d1c2f0e-7b1a-4c55-9d0e-3f5b8a6c2e11 "
    "c2a1b0f9-e8d7-46c5-b4a3-92817f6e5d4c\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Hx7q\r\n"
    "a=ice-pwd:k3Jm9Lq2Vw8Rt5Yp1Zs6Nb4c\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    "93:90:EF:32:AD:DF:32:BF:DE:A7:86:BC:1E:20:67:95:92:49:80:68:BC:BF:CD:35:7E:A1:0A:B6:4E:A3:5E:"
    "47\r\n"
    "a=setup:actpass\r\n"
    "a=mid:3\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:262144\r\n";

// Firefox's style: session-level fingerprint and ice-options, attributes in
// alphabetical order, extmap directions, end-of-candidates, "WMS *".
const char* const kFirefoxOffer =
    "v=0\n"
    "o=mozilla...THIS_IS_SDPARTA-128.0 5313547345678908102 0 IN IP4 0.0.0.0\n"
    "s=-\n"
    "t=0 0\n"
    "a=fingerprint:sha-256 "
    "16:E5:F6:0F:20:7A:1A:00:73:45:1C:35:A9:D3:15:D1:7F:DC:17:D7:FA:B6:64:49:B0:0C:DF:AA:DC:8B:24:"
    "9E\n"
    "a=group:BUNDLE 0 1 2\n"
    "a=ice-options:trickle\n"
    "a=msid-semantic:WMS *\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 109 9 0 8 101\n"
    "c=IN IP4 0.0.0.0\n"
    "a=candidate:0 1 UDP 2122252543 10.0.0.5 61339 typ host\n"
    "a=candidate:1 1 TCP 2105524479 10.0.0.5 9 typ host tcptype active\n"
    "a=sendrecv\n"
    "a=end-of-candidates\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\n"
    "a=extmap:2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level\n"
    "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\n"
    "a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1\n"
    "a=fmtp:101 0-15\n"
    "a=ice-pwd:3f1b2d5a9e8c7f6a5b4c3d2e1f0a9b8c\n"
    "a=ice-ufrag:a1b2c3d4\n"
    "a=mid:0\n"
    "a=msid:{8b2c7a3e-1f4d-4e6b-9a5c-2d3e4f5a6b7c} {1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f}\n"
    "a=rtcp-mux\n"
    "a=rtpmap:109 opus/48000/2\n"
    "a=rtpmap:9 G722/8000/1\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:8 PCMA/8000\n"
    "a=rtpmap:101 telephone-event/8000/1\n"
    "a=setup:actpass\n"
    "a=ssrc:2655508255 cname:{6f5e4d3c-2b1a-4098-8f7e-6d5c4b3a2918}\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 120 124 121 125\n"
    "c=IN IP4 0.0.0.0\n"
    "a=sendrecv\n"
    "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\n"
    "a=extmap:4 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\n"
    "a=extmap:6/recvonly http://www.webrtc.org/experiments/rtp-hdrext/playout-delay\n"
    "a=extmap:7 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\n"
    "a=fmtp:120 max-fs=12288;max-fr=60\n"
    "a=fmtp:124 apt=120\n"
    "a=fmtp:121 max-fs=12288;max-fr=60\n"
    "a=fmtp:125 apt=121\n"
    "a=ice-pwd:3f1b2d5a9e8c7f6a5b4c3d2e1f0a9b8c\n"
    "a=ice-ufrag:a1b2c3d4\n"
    "a=mid:1\n"
    "a=msid:{8b2c7a3e-1f4d-4e6b-9a5c-2d3e4f5a6b7c} {9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a}\n"
    "a=rtcp-fb:120 nack\n"
    "a=rtcp-fb:120 nack pli\n"
    "a=rtcp-fb:120 ccm fir\n"
    "a=rtcp-fb:120 goog-remb\n"
    "a=rtcp-fb:120 transport-cc\n"
    "a=rtcp-fb:121 nack\n"
    "a=rtcp-fb:121 nack pli\n"
    "a=rtcp-mux\n"
    "a=rtcp-rsize\n"
    "a=rtpmap:120 VP8/90000\n"
    "a=rtpmap:124 rtx/90000\n"
    "a=rtpmap:121 VP9/90000\n"
    "a=rtpmap:125 rtx/90000\n"
    "a=setup:actpass\n"
    "a=ssrc:3423786491 cname:{6f5e4d3c-2b1a-4098-8f7e-6d5c4b3a2918}\n"
    "a=ssrc:1782391231 cname:{6f5e4d3c-2b1a-4098-8f7e-6d5c4b3a2918}\n"
    "a=ssrc-group:FID 3423786491 1782391231\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\n"
    "c=IN IP4 0.0.0.0\n"
    "a=sendrecv\n"
    "a=ice-pwd:3f1b2d5a9e8c7f6a5b4c3d2e1f0a9b8c\n"
    "a=ice-ufrag:a1b2c3d4\n"
    "a=mid:2\n"
    "a=setup:actpass\n"
    "a=sctp-port:5000\n"
    "a=max-message-size:1073741823\n";

SdpSession parse_or_fail(std::string_view text) {
  auto result = parse_sdp(text);
  EXPECT_TRUE(result) << "line " << result.error.line << ": " << result.error.reason;
  return result ? *result.session : SdpSession{};
}

TEST(Sdp, ParsesChromeOffer) {
  const SdpSession session = parse_or_fail(kChromeOffer);
  EXPECT_EQ(session.origin.session_id, "4215775240449105457");
  EXPECT_EQ(session.origin.address, "127.0.0.1");
  ASSERT_NE(session.bundle(), nullptr);
  EXPECT_EQ(*session.bundle(), (std::vector<std::string>{"0", "1", "2", "3"}));
  EXPECT_TRUE(session.extmap_allow_mixed);
  EXPECT_EQ(session.msid_semantic, "WMS 4d1c2f0e-7b1a-4c55-9d0e-3f5b8a6c2e11");
  ASSERT_EQ(session.media.size(), 4u);

  const SdpMedia& audio = session.media[0];
  EXPECT_EQ(audio.media, "audio");
  EXPECT_EQ(audio.port, 9);
  EXPECT_EQ(audio.proto, "UDP/TLS/RTP/SAVPF");
  EXPECT_EQ(audio.formats.size(), 8u);
  EXPECT_EQ(audio.mid, "0");
  EXPECT_EQ(audio.direction, SdpDirection::kSendRecv);
  EXPECT_TRUE(audio.rtcp_mux);
  EXPECT_TRUE(audio.rtcp_rsize);
  EXPECT_EQ(audio.transport.ice_ufrag, "Hx7q");
  EXPECT_EQ(audio.transport.ice_pwd, "k3Jm9Lq2Vw8Rt5Yp1Zs6Nb4c");
  EXPECT_EQ(audio.transport.ice_options, std::vector<std::string>{"trickle"});
  ASSERT_TRUE(audio.transport.fingerprint);
  EXPECT_EQ(audio.transport.fingerprint->algorithm, "sha-256");
  EXPECT_EQ(audio.transport.fingerprint->value.size(), 32u * 3 - 1);
  EXPECT_EQ(audio.transport.setup, "actpass");
  ASSERT_EQ(audio.extmaps.size(), 4u);
  EXPECT_EQ(audio.extmaps[2].id, 3);
  EXPECT_EQ(audio.extmaps[2].uri,
            "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01");
  const SdpCodec* opus = audio.codec(111);
  ASSERT_NE(opus, nullptr);
  EXPECT_EQ(opus->encoding, "opus");
  EXPECT_EQ(opus->clock_rate, 48000u);
  EXPECT_EQ(opus->channels, 2u);
  EXPECT_EQ(opus->fmtp, "minptime=10;useinbandfec=1");
  EXPECT_EQ(opus->rtcp_fb, std::vector<std::string>{"transport-cc"});
  ASSERT_NE(audio.codec(63), nullptr);
  EXPECT_EQ(audio.codec(63)->encoding, "red");
  EXPECT_EQ(audio.codec(63)->fmtp, "111/111");
  EXPECT_EQ(audio.msids.size(), 1u);
  ASSERT_EQ(audio.ssrcs.size(), 2u);
  EXPECT_EQ(audio.ssrcs[0].ssrc, 3735928559u);
  EXPECT_EQ(audio.ssrcs[0].attribute, "cname");
  EXPECT_EQ(audio.ssrcs[0].value, "Yq3cJx1mV0pT8sKe");
  ASSERT_EQ(audio.candidates.size(), 2u);
  EXPECT_EQ(audio.candidates[0].address, "5d8f1c2a-0b3e-4f7a-9c6d-1e2f3a4b5c6d.local");
  EXPECT_EQ(audio.candidates[0].type, "host");
  EXPECT_EQ(audio.candidates[1].type, "srflx");
  EXPECT_EQ(audio.candidates[1].priority, 1686052607u);
  EXPECT_EQ(audio.candidates[1].related_address, "0.0.0.0");
  EXPECT_EQ(audio.candidates[1].related_port, 0);
  EXPECT_EQ(audio.candidates[1].extensions.size(), 3u);

  const SdpMedia& camera = session.media[1];
  EXPECT_EQ(camera.direction, SdpDirection::kSendOnly);
  ASSERT_EQ(camera.rids.size(), 3u);
  EXPECT_EQ(camera.rids[2].id, "f");
  EXPECT_EQ(camera.rids[2].direction, "send");
  ASSERT_TRUE(camera.simulcast);
  EXPECT_EQ(camera.simulcast->send, (std::vector<std::vector<std::string>>{{"q"}, {"h"}, {"f"}}));
  EXPECT_TRUE(camera.simulcast->recv.empty());
  ASSERT_EQ(camera.codecs.size(), 6u);
  EXPECT_EQ(camera.codec(96)->rtcp_fb.size(), 5u);
  EXPECT_EQ(camera.codec(97)->encoding, "rtx");
  EXPECT_EQ(camera.codec(97)->fmtp, "apt=96");
  EXPECT_EQ(camera.codec(98)->fmtp, "profile-id=0");
  EXPECT_EQ(camera.codec(102)->encoding, "H264");
  EXPECT_EQ(camera.extmaps.size(), 8u);

  const SdpMedia& screen = session.media[2];
  ASSERT_EQ(screen.ssrc_groups.size(), 1u);
  EXPECT_EQ(screen.ssrc_groups[0].semantics, "FID");
  EXPECT_EQ(screen.ssrc_groups[0].ssrcs, (std::vector<uint32_t>{1111111111u, 2222222222u}));
  EXPECT_EQ(screen.ssrcs.size(), 4u);

  const SdpMedia& data = session.media[3];
  EXPECT_EQ(data.media, "application");
  EXPECT_EQ(data.proto, "UDP/DTLS/SCTP");
  EXPECT_EQ(data.formats, std::vector<std::string>{"webrtc-datachannel"});
  EXPECT_EQ(data.sctp_port, 5000);
  EXPECT_EQ(data.max_message_size, 262144u);
  EXPECT_TRUE(data.other_attributes.empty());
}

TEST(Sdp, ParsesFirefoxOffer) {
  const SdpSession session = parse_or_fail(kFirefoxOffer);
  ASSERT_TRUE(session.transport.fingerprint);  // session level in Firefox
  EXPECT_EQ(session.transport.fingerprint->algorithm, "sha-256");
  EXPECT_EQ(session.transport.ice_options, std::vector<std::string>{"trickle"});
  EXPECT_EQ(session.msid_semantic, "WMS *");
  ASSERT_EQ(session.media.size(), 3u);
  const SdpMedia& audio = session.media[0];
  EXPECT_FALSE(audio.transport.fingerprint);
  EXPECT_EQ(audio.transport.ice_ufrag, "a1b2c3d4");
  EXPECT_TRUE(audio.end_of_candidates);
  ASSERT_EQ(audio.candidates.size(), 2u);
  EXPECT_EQ(audio.candidates[0].transport, "UDP");
  EXPECT_EQ(audio.candidates[1].extensions,
            (std::vector<std::pair<std::string, std::string>>{{"tcptype", "active"}}));
  ASSERT_EQ(audio.extmaps.size(), 3u);
  EXPECT_EQ(audio.extmaps[1].direction, SdpDirection::kRecvOnly);
  EXPECT_EQ(audio.codec(109)->fmtp, "maxplaybackrate=48000;stereo=1;useinbandfec=1");
  EXPECT_EQ(audio.codec(9)->channels, 1u);
  const SdpMedia& video = session.media[1];
  EXPECT_EQ(video.codec(124)->fmtp, "apt=120");
  ASSERT_EQ(video.ssrc_groups.size(), 1u);
  EXPECT_EQ(video.ssrc_groups[0].ssrcs, (std::vector<uint32_t>{3423786491u, 1782391231u}));
  EXPECT_EQ(session.media[2].max_message_size, 1073741823u);
}

TEST(Sdp, RoundTripsChromeAndFirefox) {
  for (const char* offer : {kChromeOffer, kFirefoxOffer}) {
    const SdpSession first = parse_or_fail(offer);
    const std::string written = write_sdp(first);
    const SdpSession second = parse_or_fail(written);
    EXPECT_EQ(first, second) << written;
    EXPECT_EQ(write_sdp(second), written);  // the writer is stable
  }
}

TEST(Sdp, CrlfAndLfGiveTheSameSession) {
  std::string lf = kChromeOffer;
  for (size_t at; (at = lf.find("\r\n")) != std::string::npos;)
    lf.erase(at, 1);
  EXPECT_EQ(parse_or_fail(lf), parse_or_fail(kChromeOffer));
}

TEST(Sdp, WritesCrlfLinesStartingWithVersion) {
  SdpSession answer;
  answer.groups.push_back({"BUNDLE", {"0"}});
  answer.ice_lite = true;
  answer.transport.fingerprint = SdpFingerprint{"sha-256", "AA:BB"};
  SdpMedia data;
  data.media = "application";
  data.proto = "UDP/DTLS/SCTP";
  data.formats = {"webrtc-datachannel"};
  data.mid = "0";
  data.transport.setup = "passive";
  data.sctp_port = 5000;
  data.candidates.push_back(
      SdpCandidate{"1", 1, "udp", 2130706431, "127.0.0.1", 7882, "host", "", std::nullopt, {}});
  data.end_of_candidates = true;
  answer.media.push_back(data);
  const std::string text = write_sdp(answer);
  EXPECT_EQ(text.rfind("v=0\r\n", 0), 0u);
  EXPECT_NE(text.find("a=candidate:1 1 udp 2130706431 127.0.0.1 7882 typ host\r\n"),
            std::string::npos);
  EXPECT_NE(text.find("a=ice-lite\r\n"), std::string::npos);
  EXPECT_EQ(parse_or_fail(text), answer);
}

TEST(Sdp, UnknownAttributesSurviveTheRoundTrip) {
  const SdpSession session = parse_or_fail(
      "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=x-custom:1 2\r\n"
      "m=audio 9 RTP/AVP 0\r\ni=info\r\na=label:mic\r\na=flag\r\n");
  ASSERT_EQ(session.other_attributes.size(), 1u);
  EXPECT_EQ(session.media[0].other_attributes.size(), 2u);
  EXPECT_EQ(session.media[0].other_lines.size(), 1u);
  EXPECT_EQ(parse_or_fail(write_sdp(session)), session);
}

struct MalformedCase {
  const char* text;
  size_t line;
  const char* reason_part;
};

TEST(Sdp, RefusesMalformedLinesWithLineAndReason) {
  const std::string head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
  const std::string audio = head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
  const MalformedCase cases[] = {
      {"", 0, "empty"},
      {"o=- 1 1 IN IP4 0.0.0.0\r\n", 1, "first line must be v="},
      {"v=1\r\n", 1, "version"},
      {"v=0\r\nthis is not sdp\r\n", 2, "<letter>=<value>"},
      {"v=0\r\no=- 1 1 IN IP4\r\n", 2, "6 fields"},
      {"v=0\r\nv=0\r\n", 2, "repeated"},
      {"v=0\r\nm=audio\r\n", 2, "m= needs"},
      {"v=0\r\nm=audio 99999 RTP/AVP 0\r\n", 2, "bad port"},
      {"v=0\r\nm=audio 9 RTP/AVP 0\r\ns=x\r\n", 3, "session level"},
      {"v=0\r\na=\r\n", 2, "empty attribute"},
      {"v=0\r\na=fingerprint:sha-256\r\n", 2, "fingerprint"},
      {"v=0\r\na=setup:sideways\r\n", 2, "setup"},
  };
  for (const auto& c : cases) {
    const auto result = parse_sdp(c.text);
    ASSERT_FALSE(result) << c.text;
    EXPECT_EQ(result.error.line, c.line) << c.text;
    EXPECT_NE(result.error.reason.find(c.reason_part), std::string::npos)
        << c.text << " -> " << result.error.reason;
  }
  const std::pair<const char*, const char*> media_cases[] = {
      {"a=extmap:0 urn:x", "extmap id"},
      {"a=extmap:1/sideways urn:x", "extmap direction"},
      {"a=rtpmap:111 opus", "rtpmap needs"},
      {"a=rtpmap:200 opus/48000", "payload type"},
      {"a=rtpmap:111 opus/fast", "clock rate"},
      {"a=fmtp:111", "without a value"},
      {"a=ssrc:abc cname:x", "bad ssrc"},
      {"a=ssrc:1", "without an attribute"},
      {"a=ssrc-group:FID 1 x", "ssrc-group"},
      {"a=rid:q sideways", "rid direction"},
      {"a=simulcast:send q;;f", "empty rid"},
      {"a=simulcast:both q", "send or recv"},
      {"a=candidate:1 1 udp 5 1.2.3.4 9 host", "candidate needs"},
      {"a=candidate:1 1 udp 5 1.2.3.4 70000 typ host", "candidate port"},
      {"a=candidate:1 1 udp 5 1.2.3.4 9 typ host raddr", "without a value"},
      {"a=sctp-port:x", "sctp-port"},
      {"a=max-message-size:-1", "max-message-size"},
      {"a=mid", "empty mid"},
  };
  for (const auto& [line, reason] : media_cases) {
    const auto result = parse_sdp(audio + line + "\r\n");
    ASSERT_FALSE(result) << line;
    EXPECT_EQ(result.error.line, 6u) << line;
    EXPECT_NE(result.error.reason.find(reason), std::string::npos)
        << line << " -> " << result.error.reason;
  }
}

TEST(Sdp, RefusesOversizedText) {
  std::string huge = "v=0\r\n";
  huge.append(kMaxSdpSize, 'a');
  EXPECT_FALSE(parse_sdp(huge));
}

}  // namespace
}  // namespace atrium::media
