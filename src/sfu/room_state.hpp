#pragma once
// The room's private state, shared by the files that implement sfu::Room
// (room.cpp: participants, negotiation, forwarding; room_rtcp.cpp: RTCP per
// leg and bandwidth). Not part of the library's interface.
#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sfu/codec.hpp"
#include "sfu/congestion_detector.hpp"
#include "sfu/nack_generator.hpp"
#include "sfu/receive_stats.hpp"
#include "sfu/room.hpp"
#include "sfu/twcc_recorder.hpp"

namespace atrium::sfu {
namespace room_detail {

// The extension id our subscriber offers use for abs-send-time (REMB needs it).
constexpr uint8_t kAbsSendTimeId = 3;
constexpr size_t kMaxLayers = 3;
// Layer bitrates are measured over this many 100 ms ticks (1 s). One tick
// alone holds one or two frames at 15-30 fps, and a key frame is several
// times a delta frame: a 100 ms bitrate jumps far above the layer's real rate
// and made the selector drop a large render to the low layer at every key
// frame, then climb back (a visible quality flapping).
constexpr size_t kRateWindow = 10;

// One RTP stream a publisher sends us (by its SSRC), for our receiver
// reports and the subscriber leg's sender reports (room_rtcp.cpp).
struct UpStream {
  std::optional<ReceiveStats> stats;   // once the SSRC's track (clock rate) is known
  std::optional<NackGenerator> nacks;  // video: upstream loss we ask the publisher to resend
  // The publisher's newest sender report: its NTP/RTP pair and when it came.
  bool have_sr = false;
  uint64_t sr_ntp = 0;
  uint32_t sr_rtp = 0;
  std::chrono::steady_clock::time_point sr_arrival{};
  std::chrono::steady_clock::time_point last_activity{};  // packet or report
};

// RTCP of one subscription (the subscriber leg, room_rtcp.cpp).
struct DownRtcp {
  // What we sent: sender report counts and the newest timestamp.
  uint64_t packets_sent = 0;
  uint64_t octets_sent = 0;  // payload octets, as RFC 3550 counts them
  bool sent_any = false;
  uint16_t first_sequence = 0;
  uint32_t last_timestamp = 0;
  std::chrono::steady_clock::time_point last_sent_at{};
  std::chrono::steady_clock::time_point last_sr{};
  // The last sender reports we sent (compact NTP, when), for RTT from LSR/DLSR.
  struct SentReport {
    uint32_t compact_ntp = 0;
    std::chrono::steady_clock::time_point at{};
  };
  std::array<SentReport, 4> sent{};
  size_t next_sent = 0;
  // The receiver's newest report block on this stream.
  uint8_t fraction_lost = 0;
  int64_t cumulative_lost = 0;
  uint32_t highest_sequence = 0;
  uint64_t expected = 0;  // from highest_sequence and first_sequence
  std::optional<double> rtt_ms;
};

}  // namespace room_detail

using room_detail::kAbsSendTimeId;
using room_detail::kMaxLayers;
using room_detail::kRateWindow;

struct Room::PublishedTrack {
  TrackAnnouncement announced;
  Participant* owner = nullptr;
  std::string mid;        // on the owner's publisher connection; empty until bound
  std::string mime_type;  // "video/VP8"
  media::SdpCodec codec;  // as negotiated on the publisher connection
  Codec kind = Codec::kOther;
  bool started = false;
  bool muted = false;
  // VP9 in one stream (SVC): the layers below count spatial layers, all on
  // layer_ssrc[0] and buffers[0].
  bool spatial_layers = false;
  size_t layer_count() const { return spatial_layers ? kMaxLayers : buffers.size(); }
  std::array<uint32_t, kMaxLayers> layer_ssrc{};   // 0: not seen yet
  std::array<uint64_t, kMaxLayers> layer_bytes{};  // since the last tick
  // Bytes per layer in each of the last kRateWindow ticks: the bitrate the
  // layer selector compares with the downstream estimate is over this window.
  std::array<std::array<uint64_t, kRateWindow>, kMaxLayers> layer_window{};
  std::array<Clock::time_point, kMaxLayers> layer_last{};
  std::vector<std::unique_ptr<RetransmissionBuffer>> buffers;  // per layer
  std::vector<Subscription*> subscribers;
};

struct Room::Subscription {
  Participant* subscriber = nullptr;
  PublishedTrack* track = nullptr;
  std::string mid;  // on the subscriber connection
  uint32_t ssrc = 0;
  int payload_type = 0;                              // what the subscriber's section uses
  bool bound = false;                                // the answer accepted the section
  int max_layer = static_cast<int>(kMaxLayers) - 1;  // set_max_layer's (-1: disabled)
  std::unique_ptr<DownTrack> down;
  room_detail::DownRtcp rtcp;
};

struct Room::Participant {
  std::string sid;
  ParticipantOptions options;
  uint64_t speaker_key = 0;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  // Publisher connection.
  std::shared_ptr<media::WebRtcTransport> publisher;
  std::optional<media::NegotiatedSession> publisher_session;
  std::map<std::string, std::string> mid_to_cid;  // from the offer's msid lines
  std::vector<std::unique_ptr<PublishedTrack>> tracks;
  std::unordered_map<uint32_t, std::pair<PublishedTrack*, int>> by_ssrc;
  int mid_extension = 0, rid_extension = 0, audio_level_extension = 0;
  // Subscriber connection.
  std::shared_ptr<media::WebRtcTransport> subscriber;
  media::OfferOptions offer;
  // The m-lines (mids) of the offer the next answer answers: all read_answer
  // needs, where the whole parsed offer took kilobytes per subscriber.
  std::vector<std::string> sent_mids;
  uint32_t offer_id = 0;
  bool awaiting_answer = false;
  bool offer_dirty = false;
  bool dtls_set = false;
  int next_mid = 1;             // "0" is the data channels
  CongestionDetector downlink;  // from the subscriber's REMB
  // RTCP per leg (room_rtcp.cpp). Publisher leg: what we receive.
  int twcc_extension = 0;  // transport-wide-cc's id in the publisher offer; 0: none
  uint32_t twcc_media_ssrc = 0;
  TwccRecorder twcc;
  std::unordered_map<uint32_t, room_detail::UpStream> up_streams;  // by SSRC
  Clock::time_point last_rr{};
  uint64_t retired_expected = 0;  // of up streams that went away
  int64_t retired_lost = 0;
  // Subscriber leg: totals of its receiver reports, kept across subscriptions.
  uint64_t down_expected = 0;
  int64_t down_lost = 0;
  std::optional<double> rtt_ms;  // from its newest receiver report with LSR
  std::map<std::string, std::unique_ptr<Subscription>> subscriptions;  // by track sid
};

}  // namespace atrium::sfu
