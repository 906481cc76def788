// Offers the SFU makes to subscribers, and reading browsers' answers to them.
#include "media/sdp_offer.hpp"

#include <gtest/gtest.h>

namespace atrium::media {
namespace {

OfferOptions options() {
  OfferOptions o;
  o.ice_ufrag = "sfuufrag";
  o.ice_pwd = "sfu-password-0123456789ab";
  o.fingerprint = "AA:BB:CC";
  SdpCandidate c;
  c.foundation = "1";
  c.transport = "udp";
  c.priority = 2130706431;
  c.address = "127.0.0.1";
  c.port = 7882;
  c.type = "host";
  o.candidates = {c};
  o.session_id = "42";
  o.sections.push_back({.mid = "0", .kind = "application"});
  OfferedSection video{.mid = "1", .kind = "video"};
  video.codecs = subscriber_video_codecs("VP8");
  video.ssrc = 1111;
  video.rtx_ssrc = 2222;
  video.cname = "PA_abc";
  video.stream_id = "PA_abc|TR_xyz";
  video.track_id = "TR_xyz";
  o.sections.push_back(video);
  OfferedSection audio{.mid = "2", .kind = "audio"};
  audio.codecs = subscriber_audio_codecs();
  audio.ssrc = 3333;
  audio.cname = "PA_abc";
  audio.stream_id = "PA_abc|TR_aud";
  audio.track_id = "TR_aud";
  o.sections.push_back(audio);
  return o;
}

TEST(SdpOffer, WritesWhatBrowsersExpect) {
  std::string text = write_sdp(build_offer(options()));
  auto parsed = parse_sdp(text);
  ASSERT_TRUE(parsed) << parsed.error.reason << "\n" << text;
  const SdpSession& s = *parsed.session;
  EXPECT_TRUE(s.ice_lite);
  EXPECT_EQ(*s.bundle(), (std::vector<std::string>{"0", "1", "2"}));
  ASSERT_EQ(s.media.size(), 3u);
  EXPECT_EQ(s.media[0].proto, "UDP/DTLS/SCTP");
  EXPECT_EQ(s.media[0].sctp_port, 5000);
  const SdpMedia& video = s.media[1];
  EXPECT_EQ(video.transport.setup, "actpass");
  EXPECT_EQ(video.direction, SdpDirection::kSendOnly);
  EXPECT_EQ(video.msids, (std::vector<std::string>{"PA_abc|TR_xyz TR_xyz"}));
  ASSERT_EQ(video.ssrc_groups.size(), 1u);
  EXPECT_EQ(video.ssrc_groups[0].ssrcs, (std::vector<uint32_t>{1111, 2222}));
  ASSERT_NE(video.codec(96), nullptr);
  EXPECT_EQ(video.codec(97)->fmtp, "apt=96");
  EXPECT_TRUE(video.rtcp_mux);
  EXPECT_EQ(video.candidates.size(), 1u);
  EXPECT_EQ(s.media[2].codec(111)->encoding, "opus");
}

TEST(SdpOffer, InactiveSectionKeepsItsPlace) {
  OfferOptions o = options();
  o.sections[1].direction = SdpDirection::kInactive;
  auto parsed = parse_sdp(write_sdp(build_offer(o)));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed.session->media[1].direction, SdpDirection::kInactive);
  EXPECT_TRUE(parsed.session->media[1].ssrcs.empty());
  EXPECT_EQ(parsed.session->media[1].mid, "1");
}

// Chromium's answer shape to such an offer.
std::string chromium_answer(const std::string& setup) {
  std::string transport =
      "a=ice-ufrag:brws\r\na=ice-pwd:browser-password-012345678\r\n"
      "a=fingerprint:sha-256 11:22:33\r\na=setup:" +
      setup + "\r\n";
  return "v=0\r\no=- 77 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n"
         "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n" +
         transport +
         "a=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n"
         "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\n" +
         transport +
         "a=mid:1\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"
         "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
         "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n" +
         transport + "a=mid:2\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n";
}

TEST(SdpOffer, ReadsAnAnswer) {
  SdpSession offer = build_offer(options());
  auto answer = parse_sdp(chromium_answer("active"));
  ASSERT_TRUE(answer) << answer.error.reason;
  auto result = read_answer(offer, *answer.session);
  ASSERT_TRUE(result) << result.error;
  EXPECT_EQ(result.answer->remote_ufrag, "brws");
  EXPECT_EQ(result.answer->remote_fingerprint, "11:22:33");
  EXPECT_EQ(result.answer->dtls_role, DtlsRole::kServer);
  EXPECT_EQ(result.answer->remote_max_message_size, 262144u);
  ASSERT_EQ(result.answer->sections.size(), 3u);
  EXPECT_EQ(result.answer->sections[1].payload_types, (std::vector<int>{96, 97}));

  auto passive = parse_sdp(chromium_answer("passive"));
  EXPECT_EQ(read_answer(offer, *passive.session).answer->dtls_role, DtlsRole::kClient);
}

TEST(SdpOffer, RefusesMismatchedAnswers) {
  SdpSession offer = build_offer(options());
  auto actpass = parse_sdp(chromium_answer("actpass"));
  EXPECT_FALSE(read_answer(offer, *actpass.session));
  auto answer = parse_sdp(chromium_answer("active"));
  answer.session->media.pop_back();
  auto result = read_answer(offer, *answer.session);
  EXPECT_FALSE(result);
  EXPECT_NE(result.error.find("m-lines"), std::string::npos);
  answer = parse_sdp(chromium_answer("active"));
  answer.session->media[1].mid = "7";
  EXPECT_FALSE(read_answer(offer, *answer.session));
}

}  // namespace
}  // namespace atrium::media
