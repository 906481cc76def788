// RTCP per leg through a real Room over loopback UDP: a publisher made of our
// own pieces sends RTP with the transport-wide sequence number and a sender
// report, and gets transport-cc feedback and receiver reports back; a
// subscriber gets sender reports whose RTP time follows the publisher's, and
// its receiver reports show up in connection_stats.
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "media/media_server.hpp"
#include "media/rtcp.hpp"
#include "media/rtcp_feedback.hpp"
#include "media/rtcp_twcc.hpp"
#include "media/rtp_rewrite.hpp"
#include "media/sdp_answer.hpp"
#include "media/sdp_offer.hpp"
#include "sfu/room.hpp"
#include "support/loopback_media_client.hpp"
#include "test_packets.hpp"

namespace atrium::sfu {
namespace {

using Client = atrium::testing::LoopbackMediaClient;
using Datagram = std::vector<uint8_t>;
using namespace std::chrono_literals;

constexpr uint32_t kSsrc = 0x1234abcd;
constexpr uint8_t kMidId = 1;
constexpr uint8_t kTwccId = 5;

struct Observer : RoomObserver {
  std::mutex mutex;
  std::vector<std::pair<std::string, uint32_t>> offers;  // (sdp, id)
  void on_subscriber_offer(const std::string&, const std::string& sdp, uint32_t id) override {
    std::lock_guard lock(mutex);
    offers.emplace_back(sdp, id);
  }
  void on_track_started(const std::string&, const std::string&, const std::string&) override {}
  void on_data(const std::string&, const std::string&, media::MessageKind,
               std::span<const uint8_t>) override {}
  void on_connection_state(const std::string&, bool, media::TransportState) override {}
  void on_speakers(const std::vector<SpeakerLevel>&) override {}
};

// Runs f on the room's worker and waits for its result.
template <typename F>
auto on_loop(Room& room, F f) {
  std::promise<decltype(f())> done;
  room.loop().post([&] { done.set_value(f()); });
  return done.get_future().get();
}

struct Ice {
  std::string ufrag, pwd, fingerprint;
  uint16_t port = 0;
};
Ice ice_of(const media::SdpSession& sdp) {
  Ice ice;
  for (const auto& m : sdp.media) {
    ice.ufrag = m.transport.ice_ufrag.empty() ? sdp.transport.ice_ufrag : m.transport.ice_ufrag;
    ice.pwd = m.transport.ice_pwd.empty() ? sdp.transport.ice_pwd : m.transport.ice_pwd;
    auto fp = m.transport.fingerprint ? m.transport.fingerprint : sdp.transport.fingerprint;
    if (fp) ice.fingerprint = fp->value;
    for (const auto& c : m.candidates)
      if (c.transport == "udp") ice.port = c.port;
    if (ice.port) break;
  }
  return ice;
}

bool is_rtcp(const Datagram& d) {
  return d.size() >= 8 && d[0] >= 128 && d[0] <= 191 && d[1] >= 192 && d[1] <= 223;
}

uint64_t ntp_now() {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  const uint64_t seconds = static_cast<uint64_t>(us / 1'000'000) + 2'208'988'800ULL;
  return (seconds << 32) | ((static_cast<uint64_t>(us % 1'000'000) << 32) / 1'000'000);
}

double ntp_seconds(uint64_t ntp) {
  return static_cast<double>(ntp >> 32) + static_cast<double>(ntp & 0xFFFFFFFF) / 4294967296.0;
}

void send_rtcp(Client& client, std::vector<uint8_t> packet) {
  size_t length = packet.size();
  packet.resize(length + media::kSrtpMaxOverhead);
  ASSERT_EQ(client.srtp_send()->protect_rtcp(packet, length), media::SrtpError::kOk);
  client.send(std::span<const uint8_t>(packet.data(), length));
}

class RoomRtcpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    media::MediaServerConfig config;
    config.workers = 1;
    config.ice_tcp = false;
    server_ = media::MediaServer::start(config, &error);
    ASSERT_TRUE(server_) << error;
    room_ = std::make_unique<Room>("room", *server_, 0, observer_);
    cert_ = media::DtlsCertificate::generate();
  }
  void TearDown() override {
    if (room_)
      on_loop(*room_, [&] {
        room_.reset();
        return 0;
      });
  }

  // A VP8 keyframe packet with the mid and transport-wide sequence number.
  void send_rtp(Client& client, uint16_t seq, uint32_t ts, uint16_t twcc_seq) {
    auto packet = test::rtp_packet(seq, ts, kSsrc, test::vp8_payload({.keyframe = true}), 96);
    const size_t length = packet.size();
    packet.resize(length + 64);
    const uint8_t mid[] = {'0'};
    const uint8_t twcc[] = {static_cast<uint8_t>(twcc_seq >> 8), static_cast<uint8_t>(twcc_seq)};
    media::OneByteExtension elements[] = {{.id = kMidId, .value = mid},
                                          {.id = kTwccId, .value = twcc}};
    auto with = media::replace_header_extensions(
        std::span<uint8_t>(packet.data(), packet.size() - media::kSrtpMaxOverhead), length,
        elements);
    ASSERT_TRUE(with);
    size_t n = *with;
    ASSERT_EQ(client.srtp_send()->protect_rtp(packet, n), media::SrtpError::kOk);
    client.send(std::span<const uint8_t>(packet.data(), n));
  }

  // PA_pub publishes one VP8 track (TR_video, offered with nack and
  // transport-cc) and connects; `out` stays empty on failure.
  void connect_publisher(std::unique_ptr<Client>& out, std::string& answer_text) {
    media::OfferOptions offer;
    offer.ice_ufrag = "pubufrag";
    offer.ice_pwd = "publisher-password-0123";
    offer.fingerprint = cert_->fingerprint();
    media::OfferedSection video{.mid = "0", .kind = "video"};
    video.codecs = media::subscriber_video_codecs("VP8");
    video.codecs.resize(1);
    video.codecs[0].payload_type = 96;
    video.codecs[0].rtcp_fb = {"nack", "nack pli", "transport-cc"};
    video.extmaps = {{.id = kMidId, .uri = media::extension_uri::kMid},
                     {.id = kTwccId, .uri = media::extension_uri::kTransportCc}};
    video.ssrc = kSsrc;
    video.cname = "pub";
    video.stream_id = "stream";
    video.track_id = "cid-video";
    offer.sections.push_back(video);
    const std::string offer_sdp = media::write_sdp(media::build_offer(offer));
    auto answer = on_loop(*room_, [&] {
      room_->add_participant("PA_pub", {.can_subscribe = false});
      room_->announce_track("PA_pub", {.sid = "TR_video", .cid = "cid-video", .video = true});
      return room_->handle_publisher_offer("PA_pub", offer_sdp);
    });
    ASSERT_TRUE(answer.error.empty()) << answer.error;
    answer_text = answer.answer;
    auto answer_sdp = media::parse_sdp(answer.answer);
    ASSERT_TRUE(answer_sdp);
    Ice pub_ice = ice_of(*answer_sdp.session);
    auto pub =
        std::make_unique<Client>(pub_ice.ufrag, pub_ice.pwd, pub_ice.port, cert_, offer.ice_ufrag);
    ASSERT_TRUE(pub->connect(pub_ice.fingerprint, 5s));
    out = std::move(pub);
  }

  // PA_sub joins, answers the offer of TR_video and connects; `down_ssrc` is
  // the SSRC it receives the video on.
  void connect_subscriber(std::unique_ptr<Client>& out, uint32_t& down_ssrc) {
    on_loop(*room_, [&] {
      room_->add_participant("PA_sub", {});
      return 0;
    });
    std::pair<std::string, uint32_t> sub_offer;
    for (int i = 0; i < 100 && sub_offer.first.empty(); ++i) {
      {
        std::lock_guard lock(observer_.mutex);
        if (!observer_.offers.empty()) sub_offer = observer_.offers.back();
      }
      std::this_thread::sleep_for(10ms);
    }
    ASSERT_FALSE(sub_offer.first.empty());
    auto sub_parsed = media::parse_sdp(sub_offer.first);
    ASSERT_TRUE(sub_parsed);
    media::AnswerOptions sub_options;
    sub_options.ice_ufrag = "subufrag";
    sub_options.ice_pwd = "subscriber-password-0123";
    sub_options.fingerprint = cert_->fingerprint();
    auto sub_negotiated = media::negotiate_answer(*sub_parsed.session, sub_options);
    ASSERT_TRUE(sub_negotiated) << sub_negotiated.error;
    const std::string sub_answer = media::write_sdp(sub_negotiated.session->answer);
    EXPECT_EQ(
        on_loop(*room_, [&] { return room_->handle_subscriber_answer("PA_sub", sub_answer, 0); }),
        "");
    for (const auto& m : sub_parsed.session->media)
      for (const auto& line : m.ssrcs)
        if (m.media == "video") down_ssrc = line.ssrc;
    ASSERT_NE(down_ssrc, 0u);
    Ice sub_ice = ice_of(*sub_parsed.session);
    auto sub = std::make_unique<Client>(sub_ice.ufrag, sub_ice.pwd, sub_ice.port, cert_,
                                        sub_options.ice_ufrag);
    ASSERT_FALSE(sub->check().empty());
    sub->start_dtls(sub_ice.fingerprint, sub_negotiated.session->dtls_role);
    ASSERT_TRUE(sub->pump([&] { return sub->connected(); }, 5s));
    out = std::move(sub);
  }

  // RTCP packets (decrypted compounds) that arrived at `client` by now.
  std::vector<Datagram> drain_rtcp(Client& client, std::vector<Datagram>* rtp = nullptr) {
    std::vector<Datagram> out;
    for (;;) {
      Datagram d = client.receive_one(1ms);
      if (d.empty()) break;
      size_t n = d.size();
      if (is_rtcp(d)) {
        if (client.srtp_receive()->unprotect_rtcp(d, n) != media::SrtpError::kOk) continue;
        d.resize(n);
        out.push_back(std::move(d));
      } else if (rtp && d[0] >= 128 && d[0] <= 191) {
        if (client.srtp_receive()->unprotect_rtp(d, n) != media::SrtpError::kOk) continue;
        d.resize(n);
        rtp->push_back(std::move(d));
      }
    }
    return out;
  }

  Observer observer_;
  std::unique_ptr<media::MediaServer> server_;
  std::unique_ptr<Room> room_;
  std::shared_ptr<media::DtlsCertificate> cert_;
};

TEST_F(RoomRtcpTest, TransportCcReportsAndSenderReportsPerLeg) {
  std::unique_ptr<Client> pub_client;
  std::string answer_text;
  connect_publisher(pub_client, answer_text);
  ASSERT_TRUE(pub_client);
  Client& pub = *pub_client;
  EXPECT_NE(answer_text.find("a=rtcp-fb:96 transport-cc"), std::string::npos) << answer_text;
  EXPECT_NE(answer_text.find(media::extension_uri::kTransportCc), std::string::npos);

  // --- media and a sender report; twcc number 110 is "lost" ---
  uint16_t seq = 1000, twcc_seq = 100;
  uint32_t ts = 50'000;
  auto send_frame = [&] {
    if (twcc_seq == 110) ++twcc_seq;
    send_rtp(pub, seq++, ts, twcc_seq++);
  };
  for (int i = 0; i < 20; ++i) {
    send_frame();
    ts += 3000;  // 30 fps
    std::this_thread::sleep_for(2ms);
  }
  // The publisher's SR: its NTP "now" goes with the next frame's timestamp.
  const uint64_t pub_ntp = ntp_now();
  const uint32_t pub_rtp = ts;
  {
    std::vector<uint8_t> sr;
    media::rtcp::append_sender_report(sr, kSsrc, {pub_ntp, pub_rtp, 20, 20 * 30}, {});
    send_rtcp(pub, sr);
  }

  std::unique_ptr<Client> sub_client;
  uint32_t down_ssrc = 0;
  connect_subscriber(sub_client, down_ssrc);
  ASSERT_TRUE(sub_client);
  Client& sub = *sub_client;

  // --- ~1.5 s of media at 30 fps; collect both legs' RTCP ---
  std::vector<media::rtcp::TwccFeedback> feedback;
  std::vector<media::rtcp::ReportBlock> publisher_blocks;
  std::optional<media::rtcp::SenderReport> down_sr;
  std::chrono::steady_clock::time_point down_sr_at;
  std::vector<Datagram> down_rtp;
  auto sub_deadline = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < sub_deadline &&
         (publisher_blocks.empty() || !down_sr || feedback.size() < 3)) {
    send_frame();
    ts += 3000;
    std::this_thread::sleep_for(33ms);
    for (const auto& d : drain_rtcp(pub)) {
      media::rtcp::CompoundIterator it(d);
      while (auto packet = it.next()) {
        if (auto rr = media::rtcp::parse_receiver_report(*packet)) {
          EXPECT_EQ(rr->ssrc, 1u);
          for (size_t i = 0; i < rr->reports.size(); ++i)
            publisher_blocks.push_back(rr->reports[i]);
        } else if (auto fb = media::rtcp::parse_feedback(*packet)) {
          if (auto twcc = media::rtcp::parse_twcc(*fb)) feedback.push_back(*twcc);
        }
      }
    }
    for (const auto& d : drain_rtcp(sub, &down_rtp)) {
      media::rtcp::CompoundIterator it(d);
      while (auto packet = it.next())
        if (auto sr = media::rtcp::parse_sender_report(*packet); sr && !down_sr) {
          down_sr = *sr;
          down_sr_at = std::chrono::steady_clock::now();
          down_sr->reports = {};  // views into `d`
        }
    }
  }

  // Transport-cc: every number up to the newest is reported, 110 as lost,
  // with arrival spacing close to the send spacing.
  ASSERT_FALSE(feedback.empty());
  std::map<uint16_t, media::rtcp::TwccStatus> statuses;
  for (size_t i = 0; i < feedback.size(); ++i) {
    EXPECT_EQ(feedback[i].feedback_count, static_cast<uint8_t>(i));
    for (const auto& packet : feedback[i].packets)
      statuses.emplace(packet.sequence_number, packet.status);
  }
  ASSERT_TRUE(statuses.count(100));
  EXPECT_EQ(statuses[110], media::rtcp::TwccStatus::kNotReceived);
  for (uint16_t s = 100; s < twcc_seq; ++s) {
    if (s == 110 || !statuses.count(s)) continue;
    EXPECT_NE(statuses[s], media::rtcp::TwccStatus::kNotReceived) << s;
  }

  // Receiver report to the publisher: no loss, LSR from its sender report.
  ASSERT_FALSE(publisher_blocks.empty());
  const auto& block = publisher_blocks.back();
  EXPECT_EQ(block.ssrc, kSsrc);
  EXPECT_EQ(block.cumulative_lost, 0);
  EXPECT_GE(block.highest_sequence, 1019u);
  EXPECT_EQ(block.last_sr, static_cast<uint32_t>(pub_ntp >> 16));
  EXPECT_GT(block.delay_since_last_sr, 0u);

  // Sender report to the subscriber: our SSRC, what we sent, and an RTP time
  // that maps to its NTP time as the publisher's report did (lip sync).
  ASSERT_TRUE(down_sr);
  ASSERT_FALSE(down_rtp.empty());
  EXPECT_EQ(down_sr->ssrc, down_ssrc);
  EXPECT_GT(down_sr->info.packet_count, 0u);
  EXPECT_GT(down_sr->info.octet_count, down_sr->info.packet_count);
  const double ntp_elapsed = ntp_seconds(down_sr->info.ntp_timestamp) - ntp_seconds(pub_ntp);
  // The first segment keeps the publisher's timestamps (offset 0).
  const double rtp_elapsed = static_cast<int32_t>(down_sr->info.rtp_timestamp - pub_rtp) / 90000.0;
  EXPECT_NEAR(rtp_elapsed, ntp_elapsed, 0.03);

  // The subscriber reports loss and echoes the SR: RTT and counts appear.
  auto first_down = media::RtpView::parse(down_rtp.front());
  ASSERT_TRUE(first_down);
  media::rtcp::ReportBlock rr_block;
  rr_block.ssrc = down_ssrc;
  rr_block.cumulative_lost = 3;
  rr_block.highest_sequence = first_down->sequence_number() + 99u;
  rr_block.last_sr = static_cast<uint32_t>(down_sr->info.ntp_timestamp >> 16);
  // Held for as long as it was held here, so the RTT is the network's (~0).
  rr_block.delay_since_last_sr = static_cast<uint32_t>(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - down_sr_at).count() * 65536);
  {
    std::vector<uint8_t> rr;
    media::rtcp::append_receiver_report(rr, 0xBEEF, std::span(&rr_block, 1));
    send_rtcp(sub, rr);
  }
  std::optional<ConnectionStats> sub_stats;
  for (int i = 0; i < 100 && !(sub_stats && sub_stats->rtt_ms); ++i) {
    std::this_thread::sleep_for(10ms);
    sub_stats = on_loop(*room_, [&] { return room_->connection_stats("PA_sub"); });
  }
  ASSERT_TRUE(sub_stats && sub_stats->rtt_ms);
  EXPECT_LT(*sub_stats->rtt_ms, 100.0);
  EXPECT_EQ(sub_stats->subscriber_packets_expected, 100u);
  EXPECT_EQ(sub_stats->subscriber_packets_lost, 3u);
  EXPECT_TRUE(sub_stats->subscribing);
  EXPECT_FALSE(sub_stats->publishing);

  auto pub_stats = on_loop(*room_, [&] { return room_->connection_stats("PA_pub"); });
  ASSERT_TRUE(pub_stats);
  EXPECT_TRUE(pub_stats->publishing);
  // The first packet maps the SSRC to the track; statistics start after it.
  EXPECT_EQ(pub_stats->packets_expected, static_cast<uint64_t>(seq - 1000 - 1));
  EXPECT_EQ(pub_stats->packets_lost, 0u);
  EXPECT_GE(pub_stats->jitter_ms, 0.0);
  EXPECT_FALSE(on_loop(*room_, [&] { return room_->connection_stats("PA_nobody"); }));
}

TEST_F(RoomRtcpTest, UpstreamLossIsNackedAndTheResentPacketReachesSubscribers) {
  std::unique_ptr<Client> pub;
  std::string answer_text;
  connect_publisher(pub, answer_text);
  ASSERT_TRUE(pub);
  EXPECT_NE(answer_text.find("a=rtcp-fb:96 nack\r\n"), std::string::npos) << answer_text;
  uint16_t seq = 2000, twcc_seq = 1;
  uint32_t ts = 0;
  auto frame = [&](bool skip = false) {
    if (!skip) send_rtp(*pub, seq, ts, twcc_seq);
    ++seq;
    ++twcc_seq;
    ts += 3000;
    std::this_thread::sleep_for(5ms);
  };
  frame();  // starts the track
  std::unique_ptr<Client> sub;
  uint32_t down_ssrc = 0;
  connect_subscriber(sub, down_ssrc);
  ASSERT_TRUE(sub);
  for (int i = 0; i < 4; ++i)
    frame();
  const uint16_t lost = seq;
  frame(/*skip=*/true);
  for (int i = 0; i < 4; ++i)
    frame();

  // The SFU asks the publisher for the missing packet.
  bool nacked = false;
  for (auto deadline = std::chrono::steady_clock::now() + 2s;
       !nacked && std::chrono::steady_clock::now() < deadline;) {
    for (const auto& d : drain_rtcp(*pub)) {
      media::rtcp::CompoundIterator it(d);
      while (auto packet = it.next()) {
        auto fb = media::rtcp::parse_feedback(*packet);
        if (!fb || fb->media_ssrc != kSsrc) continue;
        if (auto numbers = media::rtcp::parse_nack(*fb))
          nacked = nacked || std::find(numbers->begin(), numbers->end(), lost) != numbers->end();
      }
    }
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(nacked);
  EXPECT_GE(on_loop(*room_, [&] { return room_->stats().nacks_sent; }), 1u);

  // The resent packet goes on to the subscriber, under the number it had.
  send_rtp(*pub, lost, 3000u * (lost - 2000), 500);
  std::vector<Datagram> down;
  bool received = false;
  for (auto deadline = std::chrono::steady_clock::now() + 2s;
       !received && std::chrono::steady_clock::now() < deadline;) {
    drain_rtcp(*sub, &down);
    for (const auto& d : down) {
      auto view = media::RtpView::parse(d);
      received = received || (view && view->ssrc() == down_ssrc && view->sequence_number() == lost);
    }
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(received);
}

}  // namespace
}  // namespace atrium::sfu
