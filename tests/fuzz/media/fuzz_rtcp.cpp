// RTCP compounds come from every publisher and subscriber. Every parser runs
// on every packet of the compound; what a builder can express must survive a
// build -> parse round trip.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "media/rtcp.hpp"
#include "media/rtcp_feedback.hpp"
#include "media/rtcp_twcc.hpp"

using namespace atrium::media::rtcp;

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

std::vector<ReportBlock> blocks_of(const ReportBlocks& reports) {
  std::vector<ReportBlock> blocks;
  for (size_t i = 0; i < reports.size(); ++i)
    blocks.push_back(reports[i]);
  return blocks;
}

Packet only_packet(const std::vector<uint8_t>& bytes) {
  CompoundIterator it(bytes);
  auto packet = it.next();
  check(packet.has_value() && !it.next() && it.error() == ParseError::kNone);
  return *packet;
}

void exercise(const Packet& packet) {
  if (auto sr = parse_sender_report(packet)) {
    auto blocks = blocks_of(sr->reports);
    std::vector<uint8_t> out;
    append_sender_report(out, sr->ssrc, sr->info, blocks);
    auto again = parse_sender_report(only_packet(out));
    check(again && again->info == sr->info && blocks_of(again->reports) == blocks);
  }
  if (auto rr = parse_receiver_report(packet)) {
    auto blocks = blocks_of(rr->reports);
    std::vector<uint8_t> out;
    append_receiver_report(out, rr->ssrc, blocks);
    auto again = parse_receiver_report(only_packet(out));
    check(again && again->ssrc == rr->ssrc && blocks_of(again->reports) == blocks);
  }
  (void)parse_sdes(packet);
  if (auto bye = parse_bye(packet)) {
    std::vector<uint8_t> out;
    append_bye(out, bye->ssrcs, bye->reason);
    auto again = parse_bye(only_packet(out));
    check(again && again->ssrcs == bye->ssrcs && again->reason == bye->reason);
  }
  auto feedback = parse_feedback(packet);
  if (!feedback) return;
  (void)is_pli(*feedback);
  if (auto lost = parse_nack(*feedback)) {
    std::vector<uint8_t> out;
    append_nack(out, feedback->sender_ssrc, feedback->media_ssrc, *lost);
    auto again = parse_nack(*parse_feedback(only_packet(out)));
    check(again.has_value());
    // Packing keeps the set of sequence numbers (order and duplicates may change).
    auto as_set = [](std::vector<uint16_t> v) {
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
      return v;
    };
    check(as_set(*again) == as_set(*lost));
  }
  if (auto fir = parse_fir(*feedback)) {
    std::vector<uint8_t> out;
    append_fir(out, feedback->sender_ssrc, *fir);
    auto again = parse_fir(*parse_feedback(only_packet(out)));
    check(again && *again == *fir);
  }
  if (auto remb = parse_remb(*feedback)) {
    std::vector<uint8_t> out;
    append_remb(out, feedback->sender_ssrc, remb->bitrate_bps, remb->ssrcs);
    auto again = parse_remb(*parse_feedback(only_packet(out)));
    check(again && again->ssrcs == remb->ssrcs && again->bitrate_bps <= remb->bitrate_bps);
  }
  if (auto twcc = parse_twcc(*feedback)) {
    std::vector<TwccArrival> arrivals;
    for (const auto& p : twcc->packets) {
      if (p.status != TwccStatus::kNotReceived) {
        arrivals.push_back({p.sequence_number, p.arrival_time_us});
      }
    }
    std::vector<uint8_t> out;
    if (append_twcc(out, feedback->sender_ssrc, feedback->media_ssrc, twcc->feedback_count,
                    arrivals)) {
      auto again = parse_twcc(*parse_feedback(only_packet(out)));
      check(again.has_value());
      size_t index = 0;
      for (const auto& p : again->packets) {
        if (p.status == TwccStatus::kNotReceived) continue;
        check(index < arrivals.size() && p.sequence_number == arrivals[index].sequence_number);
        // The reference time is a 24-bit field of 64 ms units: equal modulo its wrap.
        constexpr int64_t kWrapUs = (int64_t{1} << 24) * 64'000;
        check((p.arrival_time_us - arrivals[index].arrival_time_us) % kWrapUs == 0);
        ++index;
      }
      check(index == arrivals.size());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CompoundIterator it(std::span<const uint8_t>(data, size));
  while (auto packet = it.next())
    exercise(*packet);
  (void)is_valid_compound(std::span<const uint8_t>(data, size));
  return 0;
}
