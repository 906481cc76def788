// Answering offers: a real Chromium offer (simulcast video, audio, data
// channel) and hand-made edge cases.
#include "media/sdp_answer.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace atrium::media {
namespace {

std::string read_data(const std::string& name) {
  std::ifstream file(std::string(ATRIUM_MEDIA_TEST_DATA) + "/" + name);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

AnswerOptions options() {
  AnswerOptions o;
  o.ice_ufrag = "srvufrag";
  o.ice_pwd = "server-password-0123456789";
  o.fingerprint = "AA:BB";
  SdpCandidate c;
  c.foundation = "1";
  c.transport = "udp";
  c.priority = 2130706431;
  c.address = "127.0.0.1";
  c.port = 40000;
  c.type = "host";
  o.candidates = {c};
  return o;
}

TEST(SdpAnswer, ChromiumSimulcastOffer) {
  auto offer = parse_sdp(read_data("chrome_offer_simulcast.sdp"));
  ASSERT_TRUE(offer) << offer.error.reason;
  auto result = negotiate_answer(*offer.session, options());
  ASSERT_TRUE(result) << result.error;
  const NegotiatedSession& s = *result.session;
  EXPECT_EQ(s.dtls_role, DtlsRole::kServer);  // actpass: we take passive
  EXPECT_EQ(s.remote_ufrag, "TRra");
  EXPECT_EQ(s.remote_fingerprint_algorithm, "sha-256");
  EXPECT_TRUE(s.data_channels);
  ASSERT_EQ(s.media.size(), 3u);

  const NegotiatedMedia& video = s.media[0];
  EXPECT_TRUE(video.accepted);
  EXPECT_EQ(video.kind, "video");
  EXPECT_EQ(video.rids, (std::vector<std::string>{"q", "h", "f"}));
  EXPECT_EQ(extension_id(video, extension_uri::kMid), 9);
  EXPECT_EQ(extension_id(video, extension_uri::kRid), 10);
  EXPECT_EQ(extension_id(video, extension_uri::kTransportCc), 0);  // not in our list
  for (const auto& codec : video.codecs) {
    EXPECT_TRUE(codec.encoding == "VP8" || codec.encoding == "VP9" || codec.encoding == "H264")
        << codec.encoding;
    if (codec.encoding == "H264") {
      EXPECT_NE(codec.fmtp.find("packetization-mode=1"), std::string::npos);
    }
    for (const auto& fb : codec.rtcp_fb)
      EXPECT_TRUE(fb == "nack pli" || fb == "ccm fir") << fb;
  }
  EXPECT_EQ(video.codecs.front().encoding, "VP8");  // the offer's preference is kept

  const NegotiatedMedia& audio = s.media[1];
  ASSERT_EQ(audio.codecs.size(), 1u);
  EXPECT_EQ(audio.codecs[0].encoding, "opus");
  EXPECT_EQ(audio.remote_ssrcs, (std::vector<uint32_t>{2073155774u}));

  // The written answer parses and says what a browser needs.
  std::string text = write_sdp(s.answer);
  auto reparsed = parse_sdp(text);
  ASSERT_TRUE(reparsed) << reparsed.error.reason;
  const SdpSession& answer = *reparsed.session;
  EXPECT_TRUE(answer.ice_lite);
  ASSERT_NE(answer.bundle(), nullptr);
  EXPECT_EQ(*answer.bundle(), (std::vector<std::string>{"0", "1", "2"}));
  const SdpMedia& answer_video = answer.media[0];
  EXPECT_EQ(answer_video.transport.setup, "passive");
  EXPECT_EQ(answer_video.transport.ice_ufrag, "srvufrag");
  EXPECT_TRUE(answer_video.rtcp_mux);
  ASSERT_TRUE(answer_video.simulcast);
  EXPECT_EQ(answer_video.simulcast->recv.size(), 3u);
  EXPECT_EQ(answer_video.rids.size(), 3u);
  EXPECT_EQ(answer_video.rids[0].direction, "recv");
  ASSERT_EQ(answer_video.candidates.size(), 1u);
  EXPECT_EQ(answer_video.candidates[0].port, 40000);
  EXPECT_EQ(answer.media[2].sctp_port, 5000);
  EXPECT_EQ(answer.media[2].max_message_size, 262144u);
}

std::string minimal_offer(const std::string& media_lines) {
  return "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
         "a=group:BUNDLE 0\r\n" +
         media_lines;
}

TEST(SdpAnswer, SetupRoles) {
  for (auto [setup, role] :
       {std::pair{"active", DtlsRole::kServer}, std::pair{"passive", DtlsRole::kClient},
        std::pair{"actpass", DtlsRole::kServer}}) {
    auto offer = parse_sdp(minimal_offer(
        std::string("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:u\r\n"
                    "a=ice-pwd:pppppppppppppppppppppp\r\na=fingerprint:sha-256 AB:CD\r\na=setup:") +
        setup + "\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"));
    ASSERT_TRUE(offer) << offer.error.reason;
    auto result = negotiate_answer(*offer.session, options());
    ASSERT_TRUE(result) << result.error;
    EXPECT_EQ(result.session->dtls_role, role) << setup;
    EXPECT_EQ(result.session->answer.media[0].direction, SdpDirection::kRecvOnly);
  }
}

TEST(SdpAnswer, RefusesWhatItCannotAnswer) {
  // No fingerprint.
  auto offer = parse_sdp(minimal_offer(
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:u\r\na=ice-pwd:pppppppppppppppppppppp\r\n"
      "a=mid:0\r\na=rtpmap:111 opus/48000/2\r\n"));
  ASSERT_TRUE(offer);
  auto result = negotiate_answer(*offer.session, options());
  EXPECT_FALSE(result);
  EXPECT_NE(result.error.find("fingerprint"), std::string::npos);
  // Only codecs we do not take: rejected section, nothing to answer.
  offer = parse_sdp(minimal_offer(
      "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=ice-ufrag:u\r\na=ice-pwd:pppppppppppppppppppppp\r\n"
      "a=fingerprint:sha-256 AB\r\na=setup:actpass\r\na=mid:0\r\na=rtpmap:0 PCMU/8000\r\n"));
  ASSERT_TRUE(offer);
  result = negotiate_answer(*offer.session, options());
  EXPECT_FALSE(result);
  // An unknown setup value.
  offer = parse_sdp(minimal_offer(
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:u\r\na=ice-pwd:pppppppppppppppppppppp\r\n"
      "a=fingerprint:sha-256 AB\r\na=setup:holdconn\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n"));
  ASSERT_TRUE(offer);
  EXPECT_FALSE(negotiate_answer(*offer.session, options()));
}

TEST(SdpAnswer, RejectedSectionKeepsItsPlace) {
  auto offer = parse_sdp(
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
      "a=ice-ufrag:u\r\na=ice-pwd:pppppppppppppppppppppp\r\na=fingerprint:sha-256 AB\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=rtpmap:0 PCMU/8000\r\n"
      "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\na=sctp-port:5001\r\n"
      "a=max-message-size:1024\r\n");
  ASSERT_TRUE(offer) << offer.error.reason;
  auto result = negotiate_answer(*offer.session, options());
  ASSERT_TRUE(result) << result.error;
  EXPECT_EQ(result.session->answer.media.size(), 2u);
  EXPECT_EQ(result.session->answer.media[0].port, 0);
  EXPECT_EQ(*result.session->answer.bundle(), (std::vector<std::string>{"1"}));
  EXPECT_EQ(result.session->remote_sctp_port, 5001);
  EXPECT_EQ(result.session->remote_max_message_size, 1024u);
  EXPECT_EQ(result.session->remote_ufrag, "u");  // session-level transport
}

}  // namespace
}  // namespace atrium::media
