#include "sfu/down_track.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "sfu/retransmission_buffer.hpp"
#include "test_packets.hpp"

namespace atrium::sfu {
namespace {

using namespace std::chrono_literals;
using test::rtp_packet;
using test::vp8_payload;

const Clock::time_point kT0{std::chrono::seconds(10)};
constexpr uint32_t kOutSsrc = 0x5eed;

struct Publisher {
  uint32_t ssrc;
  uint16_t seq;
  uint32_t ts = 1000;
  uint16_t pid = 100;
  RetransmissionBuffer ring{64, 1500};

  std::vector<uint8_t> next(bool key, Clock::time_point at) {
    auto p = rtp_packet(seq, ts, ssrc,
                        vp8_payload({.keyframe = key, .picture_id = pid, .tl0 = 0, .tid = 0}));
    ring.insert(seq, p, at);
    ++seq;
    ts += 3000;
    ++pid;
    return p;
  }
};

class DownTrackTest : public ::testing::Test {
 protected:
  std::optional<media::RtpView> sent_view() { return media::RtpView::parse(sent_bytes); }

  // Forwards and, when sent, keeps the output bytes.
  bool forward(DownTrack& track, const std::vector<uint8_t>& packet, int layer,
               Clock::time_point at) {
    auto view = media::RtpView::parse(packet);
    EXPECT_TRUE(view);
    auto size = track.forward(*view, layer, buffer, at);
    if (size) sent_bytes.assign(buffer.begin(), buffer.begin() + *size);
    return size.has_value();
  }

  std::array<uint8_t, 1500> buffer{};
  std::vector<uint8_t> sent_bytes;
  std::vector<int> keyframe_requests;
};

TEST_F(DownTrackTest, SimulcastSubscribeSwitchAndNack) {
  DownTrack track({.ssrc = kOutSsrc, .clock_rate = 90000, .codec = Codec::kVp8},
                  [this](int layer) { keyframe_requests.push_back(layer); });
  Publisher q{111, 1000}, h{222, 2000};
  auto at = kT0;
  track.set_layer(0, true, 150'000, at);
  track.set_layer(1, true, 500'000, at);
  track.start(at);
  EXPECT_EQ(keyframe_requests, std::vector<int>({1}));
  EXPECT_FALSE(forward(track, q.next(true, at), 0, at));  // not the target
  EXPECT_FALSE(forward(track, h.next(false, at), 1, at));
  ASSERT_TRUE(forward(track, h.next(true, at += 30ms), 1, at));
  EXPECT_EQ(sent_view()->ssrc(), kOutSsrc);
  EXPECT_EQ(sent_view()->sequence_number(), 2001);
  ASSERT_TRUE(forward(track, h.next(false, at += 30ms), 1, at));
  const uint16_t last_h = sent_view()->sequence_number();

  // Bandwidth falls: a PLI for q, and q takes over at its keyframe.
  track.set_bandwidth(300'000, at);
  EXPECT_EQ(keyframe_requests, std::vector<int>({1, 0}));
  EXPECT_FALSE(forward(track, q.next(false, at += 1ms), 0, at));
  ASSERT_TRUE(forward(track, h.next(false, at += 29ms), 1, at));  // h until then
  ASSERT_TRUE(forward(track, q.next(true, at += 30ms), 0, at));
  const auto q_key_out = sent_bytes;
  EXPECT_EQ(sent_view()->sequence_number(), static_cast<uint16_t>(last_h + 2));
  EXPECT_FALSE(forward(track, h.next(false, at), 1, at));
  EXPECT_EQ(track.stats().switches, 2u);

  // NACK for the q keyframe and the last h packet maps back to each source.
  const uint16_t q_key_seq = static_cast<uint16_t>(last_h + 2);
  const std::vector<uint16_t> lost{static_cast<uint16_t>(last_h + 1), q_key_seq, 999};
  auto resend = track.on_nack(lost);
  ASSERT_EQ(resend.size(), 2u);
  EXPECT_EQ(resend[0], (Retransmission{1, static_cast<uint16_t>(h.seq - 2), lost[0]}));
  EXPECT_EQ(resend[1], (Retransmission{0, static_cast<uint16_t>(q.seq - 1), q_key_seq}));
  auto stored = q.ring.find(resend[1].source_sequence);
  ASSERT_TRUE(stored);
  auto source = media::RtpView::parse(stored->packet);
  ASSERT_TRUE(source);
  auto size = track.rewrite_retransmission(*source, q_key_seq, buffer);
  ASSERT_TRUE(size);
  EXPECT_EQ(std::vector<uint8_t>(buffer.begin(), buffer.begin() + *size), q_key_out);
}

TEST_F(DownTrackTest, PauseAndResumeVideo) {
  DownTrack track({.ssrc = kOutSsrc, .codec = Codec::kVp8},
                  [this](int layer) { keyframe_requests.push_back(layer); });
  Publisher q{111, 1};
  auto at = kT0;
  track.start(at);
  EXPECT_TRUE(keyframe_requests.empty());  // no layer known yet
  ASSERT_TRUE(forward(track, q.next(true, at), 0, at));
  EXPECT_EQ(keyframe_requests, std::vector<int>({}));
  const uint16_t before = sent_view()->sequence_number();
  track.set_max_layer(-1, at);  // UpdateTrackSettings disabled
  EXPECT_TRUE(track.paused());
  EXPECT_FALSE(forward(track, q.next(true, at += 1s), 0, at));
  track.set_max_layer(2, at += 1s);
  EXPECT_EQ(keyframe_requests, std::vector<int>({0}));
  EXPECT_FALSE(forward(track, q.next(false, at), 0, at));
  ASSERT_TRUE(forward(track, q.next(true, at += 30ms), 0, at));
  EXPECT_EQ(sent_view()->sequence_number(), static_cast<uint16_t>(before + 1));
}

TEST_F(DownTrackTest, AudioRewritesHeaderOnlyAndHonoursMute) {
  DownTrack track({.ssrc = kOutSsrc, .clock_rate = 48000, .codec = Codec::kRed},
                  [this](int layer) { keyframe_requests.push_back(layer); });
  // A RED payload (RFC 2198): one redundant block header, then the primary.
  const std::vector<uint8_t> red{0xef, 0x03, 0xc0, 0x05, 0x6f, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  auto at = kT0;
  track.start(at);
  auto packet = rtp_packet(40000, 777, 0x1111, red, 63);
  ASSERT_TRUE(forward(track, packet, 0, at));
  EXPECT_EQ(sent_view()->ssrc(), kOutSsrc);
  EXPECT_EQ(std::vector<uint8_t>(sent_bytes.begin() + 12, sent_bytes.end()), red);
  EXPECT_EQ(std::vector<uint8_t>(sent_bytes.begin(), sent_bytes.begin() + 8),
            std::vector<uint8_t>(packet.begin(), packet.begin() + 8));
  track.pause();
  EXPECT_FALSE(forward(track, rtp_packet(40001, 1737, 0x1111, red, 63), 0, at + 20ms));
  track.resume(at + 1s);
  ASSERT_TRUE(forward(track, rtp_packet(40050, 777 + 960 * 50, 0x1111, red, 63), 0, at + 1s));
  EXPECT_EQ(sent_view()->sequence_number(), 40001);
  EXPECT_EQ(sent_view()->timestamp(), 777u + 48000u);
  EXPECT_TRUE(keyframe_requests.empty());
}

TEST_F(DownTrackTest, RedToASubscriberWithoutRedSendsThePrimaryOnly) {
  DownTrack track({.ssrc = kOutSsrc, .clock_rate = 48000, .codec = Codec::kRed}, nullptr);
  track.set_red_primary_only(true);
  const std::vector<uint8_t> red{0xef, 0x03, 0xc0, 0x05, 0x6f, 0xaa, 0xbb,
                                 0xcc, 0xdd, 0xee, 0x01, 0x02, 0x03};
  auto packet = rtp_packet(500, 960, 0x2222, red, 63);
  // With padding after the RED payload: it goes with the wrapper.
  packet[0] |= 0x20;
  packet.insert(packet.end(), {0, 0, 3});
  ASSERT_TRUE(forward(track, packet, 0, kT0));
  EXPECT_EQ(sent_bytes.size(), 12u + 3u);
  EXPECT_EQ(std::vector<uint8_t>(sent_bytes.begin() + 12, sent_bytes.end()),
            std::vector<uint8_t>({0x01, 0x02, 0x03}));
  EXPECT_FALSE(sent_view()->has_padding());
  EXPECT_EQ(sent_view()->sequence_number(), 500);
  // A malformed RED payload is dropped, not sent as garbage Opus.
  EXPECT_FALSE(forward(track, rtp_packet(501, 1920, 0x2222, {0xef, 0x03}, 63), 0, kT0 + 20ms));
}

// One VP9 SVC picture: a packet per spatial layer, the top one with the marker.
struct SvcPublisher {
  uint32_t ssrc = 0x9999;
  uint16_t seq = 1000;
  uint32_t ts = 0;
  uint16_t pid = 50;
  RetransmissionBuffer ring{64, 1500};

  std::vector<std::vector<uint8_t>> picture(bool key, int layers = 3) {
    std::vector<std::vector<uint8_t>> out;
    for (int sid = 0; sid < layers; ++sid) {
      auto p = rtp_packet(seq, ts, ssrc,
                          test::vp9_payload({.picture_id = pid,
                                             .sid = static_cast<uint8_t>(sid),
                                             .predicted = !key,
                                             .inter_layer = key && sid > 0}),
                          98, sid == layers - 1);
      ring.insert(seq, p, kT0);
      ++seq;
      out.push_back(std::move(p));
    }
    ts += 6000;
    ++pid;
    return out;
  }
};

TEST_F(DownTrackTest, Vp9SvcForwardsLayersUpToTheTargetWithoutGaps) {
  DownTrack track({.ssrc = kOutSsrc, .codec = Codec::kVp9},
                  [this](int layer) { keyframe_requests.push_back(layer); });
  auto at = kT0;
  for (int layer = 0; layer < 3; ++layer)
    track.set_layer(layer, true, 0, at);
  track.set_max_layer(1, at);
  track.start(at);
  SvcPublisher pub;
  // A delta picture first: nothing until a key picture; a keyframe is asked for.
  keyframe_requests.clear();
  for (auto& p : pub.picture(false))
    EXPECT_FALSE(forward(track, p, 0, at));
  EXPECT_EQ(keyframe_requests, std::vector<int>({0}));
  // The key picture: layers 0 and 1 go, 1 with the marker; 2 is dropped.
  auto key = pub.picture(true);
  ASSERT_TRUE(forward(track, key[0], 0, at += 10ms));
  const uint16_t first = sent_view()->sequence_number();
  EXPECT_FALSE(sent_view()->marker());
  ASSERT_TRUE(forward(track, key[1], 0, at));
  EXPECT_TRUE(sent_view()->marker());
  const uint16_t marked = sent_view()->sequence_number();
  EXPECT_FALSE(forward(track, key[2], 0, at));
  // The next picture continues the numbers: the dropped layer left no gap.
  auto delta = pub.picture(false);
  ASSERT_TRUE(forward(track, delta[0], 0, at += 66ms));
  EXPECT_EQ(sent_view()->sequence_number(), static_cast<uint16_t>(first + 2));
  ASSERT_TRUE(forward(track, delta[1], 0, at));
  EXPECT_FALSE(forward(track, delta[2], 0, at));
  // A retransmission keeps the marker we set.
  auto retransmissions = track.on_nack(std::vector<uint16_t>{marked});
  ASSERT_EQ(retransmissions.size(), 1u);
  auto stored = pub.ring.find(retransmissions[0].source_sequence);
  ASSERT_TRUE(stored);
  auto size = track.rewrite_retransmission(*media::RtpView::parse(stored->packet), marked, buffer);
  ASSERT_TRUE(size);
  EXPECT_TRUE(media::RtpView::parse(std::span(buffer).first(*size))->marker());

  // Up to layer 2: waits for a key picture, asking for one.
  keyframe_requests.clear();
  track.set_max_layer(2, at += 600ms);
  delta = pub.picture(false);
  EXPECT_TRUE(forward(track, delta[0], 0, at));
  EXPECT_TRUE(forward(track, delta[1], 0, at));
  EXPECT_FALSE(forward(track, delta[2], 0, at));
  EXPECT_FALSE(keyframe_requests.empty());
  key = pub.picture(true);
  for (auto& p : key)
    ASSERT_TRUE(forward(track, p, 0, at += 1ms));
  EXPECT_TRUE(sent_view()->marker());

  // Down to layer 0: at the next picture start, no keyframe needed.
  keyframe_requests.clear();
  track.set_max_layer(0, at += 100ms);
  delta = pub.picture(false);
  ASSERT_TRUE(forward(track, delta[0], 0, at));
  EXPECT_TRUE(sent_view()->marker());
  const uint16_t low = sent_view()->sequence_number();
  EXPECT_FALSE(forward(track, delta[1], 0, at));
  EXPECT_FALSE(forward(track, delta[2], 0, at));
  delta = pub.picture(false);
  ASSERT_TRUE(forward(track, delta[0], 0, at += 66ms));
  EXPECT_EQ(sent_view()->sequence_number(), static_cast<uint16_t>(low + 1));
  EXPECT_TRUE(keyframe_requests.empty());
  EXPECT_EQ(track.stats().switches, 2u);
}

TEST_F(DownTrackTest, OneDescriptionServesEverySubscriber) {
  DownTrack a({.ssrc = 0xa, .codec = Codec::kVp8}, nullptr);
  DownTrack b({.ssrc = 0xb, .codec = Codec::kVp8}, nullptr);
  Publisher q{111, 7};
  const auto packet = q.next(true, kT0);
  auto view = media::RtpView::parse(packet);
  auto info = describe_packet(Codec::kVp8, *view);
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->keyframe);
  ASSERT_TRUE(info->vp8);
  std::array<uint8_t, 1500> out_b{};
  ASSERT_TRUE(a.forward(*view, 0, *info, buffer, kT0));
  ASSERT_TRUE(b.forward(*view, 0, *info, out_b, kT0));
  EXPECT_EQ(media::RtpView::parse(std::span(buffer).first(packet.size()))->ssrc(), 0xau);
  EXPECT_EQ(media::RtpView::parse(std::span(out_b).first(packet.size()))->ssrc(), 0xbu);
  EXPECT_FALSE(describe_packet(Codec::kVp8, *media::RtpView::parse(rtp_packet(1, 1, 1, {0x80}))));
}

TEST_F(DownTrackTest, E2eePayloadPassesUntouchedAfterTheDescriptor) {
  DownTrack track({.ssrc = kOutSsrc, .codec = Codec::kVp8}, nullptr);
  // Descriptor (15-bit picture id), 10 clear bytes of a keyframe, then ciphertext,
  // GCM tag, IV and the FrameCryptor trailer.
  auto payload = vp8_payload({.keyframe = true, .picture_id = 4242});
  payload.resize(4 + 10);
  for (int i = 0; i < 40; ++i)
    payload.push_back(static_cast<uint8_t>(i * 37));
  payload.insert(payload.end(), {0x0c, 0x03});
  const auto packet = rtp_packet(9, 9, 1, payload);
  ASSERT_TRUE(forward(track, packet, 0, kT0));
  EXPECT_EQ(std::vector<uint8_t>(sent_bytes.begin() + 12 + 4, sent_bytes.end()),
            std::vector<uint8_t>(packet.begin() + 12 + 4, packet.end()));
}

TEST_F(DownTrackTest, DropsMalformedAndOversized) {
  DownTrack track({.ssrc = kOutSsrc, .codec = Codec::kVp8}, nullptr);
  auto at = kT0;
  EXPECT_FALSE(forward(track, rtp_packet(1, 1, 1, {0x80}), 0, at));  // X without its byte
  auto big = rtp_packet(2, 1, 1, vp8_payload({.keyframe = true}));
  auto view = media::RtpView::parse(big);
  std::array<uint8_t, 16> small{};
  EXPECT_FALSE(track.forward(*view, 0, small, at));
  EXPECT_EQ(track.stats().dropped, 2u);
  EXPECT_EQ(track.stats().forwarded, 0u);
}

}  // namespace
}  // namespace atrium::sfu
