// RTCP per leg: each connection's RTCP ends here (sender and receiver
// reports, feedback), keyframe requests go to publishers, and subscribers'
// bandwidth estimates pick their layers.
#include <algorithm>
#include <cmath>
#include <limits>

#include "base/log.hpp"
#include "media/rtcp.hpp"
#include "media/rtcp_feedback.hpp"
#include "media/rtcp_twcc.hpp"
#include "sfu/room.hpp"
#include "sfu/room_state.hpp"

namespace atrium::sfu {

using media::RtpView;

namespace {

// Our SSRC on a publisher connection, where we send only RTCP.
constexpr uint32_t kPublisherLegSsrc = 1;
// RFC 3550's nominal interval for reports (we have few and small ones).
constexpr auto kReportInterval = std::chrono::seconds(1);
// A received stream with no packet for this long gets no report block.
constexpr auto kReportIdle = std::chrono::seconds(5);
// An up stream with no packet or report for this long is forgotten.
constexpr auto kStreamForget = std::chrono::seconds(60);
// "Media flows" for ConnectionStats.
constexpr auto kFlowing = std::chrono::seconds(2);
constexpr size_t kMaxReportBlocks = 31;
// Up streams remembered per publisher: bounds what a peer sending random
// SSRCs can make us keep.
constexpr size_t kMaxUpStreams = 64;

// The wall clock as a 64-bit NTP timestamp (seconds since 1900, 32.32).
uint64_t ntp_now() {
  constexpr uint64_t kUnixToNtp = 2'208'988'800ULL;
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  const uint64_t seconds = static_cast<uint64_t>(us / 1'000'000) + kUnixToNtp;
  const uint64_t fraction = (static_cast<uint64_t>(us % 1'000'000) << 32) / 1'000'000;
  return (seconds << 32) | fraction;
}

// RTP ticks in `elapsed` at `clock_rate` (negative when elapsed is).
int64_t rtp_ticks(std::chrono::steady_clock::duration elapsed, uint32_t clock_rate) {
  return static_cast<int64_t>(
      std::llround(std::chrono::duration<double>(elapsed).count() * clock_rate));
}

// Sends one RTCP compound, first making the room SRTCP needs after it.
bool send_rtcp(media::WebRtcTransport& transport, std::vector<uint8_t>& packet) {
  if (packet.empty()) return false;
  const size_t length = packet.size();
  packet.resize(length + media::kSrtpMaxOverhead);
  return transport.send_rtcp(packet, length);
}

uint32_t clock_rate_of(const media::SdpCodec& codec, bool video) {
  if (codec.clock_rate) return codec.clock_rate;
  return video ? 90000 : 48000;
}

}  // namespace

void Room::request_keyframe(PublishedTrack& track, int layer) {
  if (!track.owner->publisher || layer < 0 || layer >= static_cast<int>(kMaxLayers)) return;
  // VP9 SVC: one stream; a key picture restarts every spatial layer.
  uint32_t ssrc = track.layer_ssrc[track.spatial_layers ? 0 : layer];
  if (!ssrc) return;
  std::vector<uint8_t> pli;
  media::rtcp::append_pli(pli, 1, ssrc);
  pli.resize(pli.size() + media::kSrtpMaxOverhead);
  if (track.owner->publisher->send_rtcp(pli, pli.size() - media::kSrtpMaxOverhead))
    ++stats_.keyframe_requests;
}

void Room::on_publisher_rtcp(Participant& p, std::span<uint8_t> buffer, size_t length) {
  // RTCP ends on each leg: a publisher's sender reports give us LSR for our
  // receiver reports and its NTP/RTP pairs, which the subscriber leg's sender
  // reports carry on (lip sync). Nothing is forwarded as is.
  media::rtcp::CompoundIterator packets(buffer.first(length));
  auto now = Clock::now();
  while (auto packet = packets.next()) {
    if (packet->type != static_cast<uint8_t>(media::rtcp::PacketType::kSenderReport)) continue;
    auto report = media::rtcp::parse_sender_report(*packet);
    if (!report) continue;
    // Reports for an SSRC we never saw media on (yet) still count: the first
    // packets may follow, and the pair is needed from the start.
    if (p.up_streams.size() >= kMaxUpStreams && !p.up_streams.count(report->ssrc)) continue;
    room_detail::UpStream& stream = p.up_streams[report->ssrc];
    stream.have_sr = true;
    stream.sr_ntp = report->info.ntp_timestamp;
    stream.sr_rtp = report->info.rtp_timestamp;
    stream.sr_arrival = now;
    stream.last_activity = now;
    if (stream.stats) stream.stats->on_sender_report(report->info.ntp_timestamp, now);
  }
}

void Room::record_transport_cc(Participant& p, const RtpView& packet, Clock::time_point now) {
  // Every packet with the extension counts for congestion control, mapped to
  // a track or not (probes, packets before their mid is known).
  if (!p.twcc_extension) return;
  if (auto value = packet.find_extension(static_cast<uint8_t>(p.twcc_extension))) {
    if (auto sequence = TwccRecorder::parse_extension(*value)) {
      p.twcc.record(*sequence, now);
      p.twcc_media_ssrc = packet.ssrc();
    }
  }
}

void Room::record_stream_packet(Participant& p, const PublishedTrack& track, const RtpView& packet,
                                Clock::time_point now) {
  // Receive statistics per stream of a known track (the clock rate is the
  // track's; the caller skips the very first packet of a stream, which maps
  // its SSRC).
  auto stream = p.up_streams.find(packet.ssrc());
  if (stream == p.up_streams.end()) {
    if (p.up_streams.size() >= kMaxUpStreams) return;
    stream = p.up_streams.emplace(packet.ssrc(), room_detail::UpStream{}).first;
  }
  if (!stream->second.stats) {
    stream->second.stats.emplace(clock_rate_of(track.codec, track.announced.video));
    if (track.announced.video) stream->second.nacks.emplace();
    if (stream->second.have_sr)
      stream->second.stats->on_sender_report(stream->second.sr_ntp, stream->second.sr_arrival);
  }
  stream->second.stats->on_packet(packet.sequence_number(), packet.timestamp(), now);
  if (stream->second.nacks) stream->second.nacks->on_packet(packet.sequence_number(), now);
  stream->second.last_activity = now;
}

bool Room::send_counted(Subscription& subscription, std::span<uint8_t> out, size_t length) {
  // Read before sending: SRTP encrypts the payload (and the padding count) in place.
  auto view = RtpView::parse(out.first(length));
  if (!view) return false;
  const uint16_t sequence = view->sequence_number();
  const uint32_t timestamp = view->timestamp();
  const size_t payload = view->payload().size();
  if (!subscription.subscriber->subscriber->send_rtp(out, length)) return false;
  room_detail::DownRtcp& rtcp = subscription.rtcp;
  ++rtcp.packets_sent;
  rtcp.octets_sent += payload;
  const auto now = Clock::now();
  if (!rtcp.sent_any) {
    rtcp.sent_any = true;
    rtcp.first_sequence = sequence;
    rtcp.last_timestamp = timestamp;
    rtcp.last_sent_at = now;
  } else if (static_cast<int32_t>(timestamp - rtcp.last_timestamp) > 0) {
    // Retransmissions carry old timestamps: only newer ones move the clock.
    rtcp.last_timestamp = timestamp;
    rtcp.last_sent_at = now;
  }
  return true;
}

void Room::on_subscriber_rtcp(Participant& p, std::span<uint8_t> buffer, size_t length) {
  media::rtcp::CompoundIterator packets(buffer.first(length));
  auto now = Clock::now();
  while (auto packet = packets.next()) {
    // Receiver reports (alone or in a sender report): loss and RTT of our streams.
    media::rtcp::ReportBlocks blocks;
    if (packet->type == static_cast<uint8_t>(media::rtcp::PacketType::kReceiverReport)) {
      if (auto report = media::rtcp::parse_receiver_report(*packet)) blocks = report->reports;
    } else if (packet->type == static_cast<uint8_t>(media::rtcp::PacketType::kSenderReport)) {
      if (auto report = media::rtcp::parse_sender_report(*packet)) blocks = report->reports;
    }
    for (size_t i = 0; i < blocks.size(); ++i) {
      const media::rtcp::ReportBlock block = blocks[i];
      for (auto& [sid, s] : p.subscriptions) {
        if (s->ssrc != block.ssrc || !s->rtcp.sent_any) continue;
        room_detail::DownRtcp& rtcp = s->rtcp;
        // Expected from the receiver's extended highest number and our first:
        // its cycle count starts at the first packet it got, near ours.
        const int64_t expected =
            std::max<int64_t>(0, int64_t{block.highest_sequence} - rtcp.first_sequence + 1);
        // The participant's totals move by what this report adds, so they
        // survive the subscription (ConnectionStats counts since join).
        if (static_cast<uint64_t>(expected) > rtcp.expected) {
          p.down_expected += static_cast<uint64_t>(expected) - rtcp.expected;
          rtcp.expected = static_cast<uint64_t>(expected);
        }
        p.down_lost += block.cumulative_lost - rtcp.cumulative_lost;
        rtcp.cumulative_lost = block.cumulative_lost;
        rtcp.fraction_lost = block.fraction_lost;
        rtcp.highest_sequence = block.highest_sequence;
        // RTT = now - when we sent the SR it names - the delay it held it.
        if (block.last_sr == 0) continue;
        for (const auto& sent : rtcp.sent) {
          if (sent.compact_ntp != block.last_sr || sent.at == Clock::time_point{}) continue;
          const double rtt_ms = std::chrono::duration<double, std::milli>(now - sent.at).count() -
                                block.delay_since_last_sr * 1000.0 / 65536.0;
          if (rtt_ms > -1.0) {  // DLSR's 15 us units round
            rtcp.rtt_ms = std::max(0.0, rtt_ms);
            p.rtt_ms = rtcp.rtt_ms;
          }
        }
      }
    }
    auto feedback = media::rtcp::parse_feedback(*packet);
    if (!feedback) continue;
    if (auto remb = media::rtcp::parse_remb(*feedback)) {
      allocate_bandwidth(p, remb->bitrate_bps, now);
      continue;
    }
    Subscription* subscription = nullptr;
    for (auto& [sid, s] : p.subscriptions)
      if (s->ssrc == feedback->media_ssrc) subscription = s.get();
    if (!subscription) continue;
    PublishedTrack& track = *subscription->track;
    if (media::rtcp::is_pli(*feedback) || feedback->format == media::rtcp::kFmtFir) {
      request_keyframe(track, std::max(0, subscription->down->selector().current()));
    } else if (auto lost = media::rtcp::parse_nack(*feedback)) {
      for (const Retransmission& r : subscription->down->on_nack(*lost)) {
        if (r.layer < 0 || r.layer >= static_cast<int>(track.buffers.size())) continue;
        auto stored = track.buffers[r.layer]->find(r.source_sequence);
        if (!stored) continue;
        auto source = RtpView::parse(stored->packet);
        if (!source) continue;
        auto out = subscription->down->rewrite_retransmission(*source, r.output_sequence, scratch_);
        if (!out) continue;
        send_to_subscriber(*subscription, scratch_, *out);
        ++stats_.nacks_answered;
      }
    }
  }
}

void Room::allocate_bandwidth(Participant& p, uint64_t estimate_bps, Clock::time_point now) {
  // The receiver's estimate (REMB) covers the whole subscriber connection.
  // We do not probe, and a receiver's estimate never grows much beyond what
  // it receives: taken as a budget it pins subscribers to whatever layers
  // they got while the estimate was still ramping up (a large render stuck
  // on the low layer). So it is a congestion signal (CongestionDetector):
  // while there is none, every video gets the layer its subscriber asked
  // for; after one, the estimate is the budget.
  constexpr uint64_t kUnknown = std::numeric_limits<uint64_t>::max();
  auto layer_bps = [](const PublishedTrack& track, int layer) {
    // A spatial layer of SVC goes with every layer below it.
    uint64_t bytes = 0;
    for (int l = track.spatial_layers ? 0 : layer; l <= layer; ++l)
      for (uint64_t b : track.layer_window[l])
        bytes += b;
    return bytes * 8;  // the window is 1 s
  };
  uint64_t sending = 0;
  std::vector<std::pair<uint64_t, Subscription*>> videos;  // (need, video)
  for (auto& [sid, s] : p.subscriptions) {
    if (!s->track->announced.video) continue;
    int current = s->down->selector().current();
    if (current >= 0 && current < static_cast<int>(kMaxLayers))
      sending += layer_bps(*s->track, current);
    uint64_t need = s->max_layer < 0 ? 0 : kUnknown;
    for (int layer = std::min<int>(s->max_layer, kMaxLayers - 1); layer >= 0; --layer) {
      uint64_t bps = layer_bps(*s->track, layer);
      if (bps == 0) continue;  // not sent (yet): the next lower one
      need = bps * 3 / 2;      // half again for variation
      break;
    }
    videos.emplace_back(need, s.get());
  }
  // Looked up once: a lookup takes two locks, and this runs for every REMB.
  static const auto logger = log::get("sfu");
  logger->debug("msg=\"downlink estimate\" participant={} estimate_bps={} sending_bps={}", p.sid,
                estimate_bps, sending);
  switch (p.downlink.on_estimate(estimate_bps, sending, now)) {
    case CongestionDetector::Change::kCongested:
      logger->info(
          "msg=\"downlink congested: its estimate is the budget\" participant={} "
          "estimate_bps={} sending_bps={}",
          p.sid, estimate_bps, sending);
      break;
    case CongestionDetector::Change::kClear:
      logger->info("msg=\"downlink clear\" participant={} estimate_bps={}", p.sid, estimate_bps);
      break;
    case CongestionDetector::Change::kNone:
      break;
  }
  if (!p.downlink.congested()) {
    for (auto& [need, s] : videos)
      s->down->set_bandwidth(0, now);  // no limit
    return;
  }
  // Congested: split the estimate between the videos by water-filling: a
  // video held to a lower layer (adaptive stream: a small render) gets what
  // that layer needs, and what it leaves goes to the others.
  std::sort(videos.begin(), videos.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  uint64_t left = estimate_bps;
  for (size_t i = 0; i < videos.size(); ++i) {
    const bool last = i + 1 == videos.size();
    uint64_t share = left / (videos.size() - i);
    uint64_t give = last ? left : std::min(videos[i].first, share);
    left -= give;
    // 0 would mean "no limit" to the layer selector.
    videos[i].second->down->set_bandwidth(std::max<uint64_t>(give, 1), now);
  }
}

void Room::send_reports(Clock::time_point now) {
  for (auto& [sid, p] : participants_) {
    if (p->publisher) {
      // Transport-wide CC feedback every tick (100 ms): the publisher's
      // bandwidth estimator needs it to raise its send rate.
      std::vector<std::vector<uint8_t>> feedback;
      p->twcc.build_feedback(feedback, kPublisherLegSsrc, p->twcc_media_ssrc);
      for (auto& packet : feedback)
        send_rtcp(*p->publisher, packet);
      send_publisher_nacks(*p, now);
      if (now - p->last_rr >= kReportInterval) {
        p->last_rr = now;
        send_receiver_reports(*p, now);
      }
    }
    for (auto& [track_sid, subscription] : p->subscriptions) {
      if (!subscription->bound || !subscription->rtcp.sent_any) continue;
      if (now - subscription->rtcp.last_sr < kReportInterval) continue;
      subscription->rtcp.last_sr = now;
      send_sender_report(*subscription, now);
    }
  }
}

// Upstream loss: NACK what a video stream is missing, so the packet is in our
// buffers when subscribers ask for it. The round trip of the participant's
// subscriber leg stands in for its publisher leg's (same client, same path).
void Room::send_publisher_nacks(Participant& p, Clock::time_point now) {
  const auto rtt = std::chrono::milliseconds(p.rtt_ms ? static_cast<int64_t>(*p.rtt_ms) : 0);
  std::vector<uint8_t> packet;
  for (auto& [ssrc, stream] : p.up_streams) {
    if (!stream.nacks) continue;
    auto lost = stream.nacks->due(now, rtt);
    if (lost.empty()) continue;
    media::rtcp::append_nack(packet, kPublisherLegSsrc, ssrc, lost);
    stats_.nacks_sent += lost.size();
  }
  if (!packet.empty()) send_rtcp(*p.publisher, packet);
}

void Room::send_receiver_reports(Participant& p, Clock::time_point now) {
  std::vector<media::rtcp::ReportBlock> blocks;
  for (auto it = p.up_streams.begin(); it != p.up_streams.end();) {
    room_detail::UpStream& stream = it->second;
    if (now - stream.last_activity >= kStreamForget) {
      // Gone (unpublished, or a simulcast layer the client stopped): keep
      // its counts in the participant's totals.
      if (stream.stats) {
        p.retired_expected += stream.stats->expected();
        p.retired_lost += stream.stats->lost();
      }
      it = p.up_streams.erase(it);
      continue;
    }
    auto last = stream.stats ? stream.stats->last_packet() : std::nullopt;
    if (last && now - *last < kReportIdle) blocks.push_back(stream.stats->report(it->first, now));
    ++it;
  }
  if (blocks.empty()) return;
  // One datagram; more than 31 streams (never in practice) take several RRs.
  std::vector<uint8_t> packet;
  for (size_t i = 0; i < blocks.size(); i += kMaxReportBlocks) {
    const size_t n = std::min(kMaxReportBlocks, blocks.size() - i);
    media::rtcp::append_receiver_report(packet, kPublisherLegSsrc, std::span(blocks).subspan(i, n));
  }
  send_rtcp(*p.publisher, packet);
}

void Room::send_sender_report(Subscription& subscription, Clock::time_point now) {
  room_detail::DownRtcp& rtcp = subscription.rtcp;
  const PublishedTrack& track = *subscription.track;
  const uint32_t clock_rate = clock_rate_of(track.codec, track.announced.video);
  // The RTP time that goes with "now" on the outgoing stream. Preferably the
  // publisher's own NTP/RTP pair of the stream in use, moved on by the time
  // since it came and through the munger's offset: audio and video of one
  // publisher then keep their relation on this leg (lip sync). Without one,
  // the newest timestamp sent, moved on by the time since.
  uint32_t rtp_timestamp =
      rtcp.last_timestamp + static_cast<uint32_t>(rtp_ticks(now - rtcp.last_sent_at, clock_rate));
  if (auto segment = subscription.down->munger().segment()) {
    auto stream = track.owner->up_streams.find(segment->source_ssrc);
    if (stream != track.owner->up_streams.end() && stream->second.have_sr) {
      rtp_timestamp = stream->second.sr_rtp + segment->timestamp_offset +
                      static_cast<uint32_t>(rtp_ticks(now - stream->second.sr_arrival, clock_rate));
    }
  }
  media::rtcp::SenderInfo info;
  info.ntp_timestamp = ntp_now();
  info.rtp_timestamp = rtp_timestamp;
  info.packet_count = static_cast<uint32_t>(rtcp.packets_sent);
  info.octet_count = static_cast<uint32_t>(rtcp.octets_sent);
  std::vector<uint8_t> packet;
  media::rtcp::append_sender_report(packet, subscription.ssrc, info, {});
  if (!send_rtcp(*subscription.subscriber->subscriber, packet)) return;
  rtcp.sent[rtcp.next_sent++ % rtcp.sent.size()] = {static_cast<uint32_t>(info.ntp_timestamp >> 16),
                                                    now};
}

std::optional<ConnectionStats> Room::connection_stats(const std::string& sid) const {
  auto it = participants_.find(sid);
  if (it == participants_.end()) return std::nullopt;
  const Participant& p = *it->second;
  const auto now = Clock::now();
  ConnectionStats stats;
  int64_t lost = p.retired_lost;
  stats.packets_expected = p.retired_expected;
  for (const auto& [ssrc, stream] : p.up_streams) {
    if (!stream.stats) continue;
    stats.packets_expected += stream.stats->expected();
    lost += stream.stats->lost();
    auto last = stream.stats->last_packet();
    if (!last || now - *last >= kReportIdle) continue;  // jitter "now": live streams only
    stats.jitter_ms = std::max(stats.jitter_ms, stream.stats->jitter_ms());
    if (now - *last < kFlowing) stats.publishing = true;
  }
  stats.packets_lost = static_cast<uint64_t>(std::max<int64_t>(0, lost));
  stats.subscriber_packets_expected = p.down_expected;
  stats.subscriber_packets_lost = static_cast<uint64_t>(std::max<int64_t>(0, p.down_lost));
  stats.rtt_ms = p.rtt_ms;
  for (const auto& [track_sid, subscription] : p.subscriptions) {
    if (subscription->rtcp.sent_any && now - subscription->rtcp.last_sent_at < kFlowing)
      stats.subscribing = true;
  }
  return stats;
}

}  // namespace atrium::sfu
