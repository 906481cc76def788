// The pure per-packet work of the SFU core: describe a received VP8 packet
// once, store it in the retransmission ring, then rewrite one copy per
// subscriber (no SRTP, no sockets). Reports the cost per forwarded copy.
#include <benchmark/benchmark.h>

#include <array>
#include <memory>
#include <vector>

#include "media/byte_io.hpp"
#include "sfu/down_track.hpp"
#include "sfu/retransmission_buffer.hpp"

namespace atrium::sfu {
namespace {

std::vector<uint8_t> vp8_packet(uint16_t seq, uint32_t ts, uint16_t picture_id, bool key) {
  std::vector<uint8_t> p(1200, 0x5a);
  p[0] = 0x80;
  p[1] = 96;
  media::write_u16(&p[2], seq);
  media::write_u32(&p[4], ts);
  media::write_u32(&p[8], 0x1234);
  // X, S; I and L; 15-bit picture id; TL0PICIDX; frame tag.
  p[12] = 0x90;
  p[13] = 0xC0;
  p[14] = static_cast<uint8_t>(0x80 | (picture_id >> 8));
  p[15] = static_cast<uint8_t>(picture_id);
  p[16] = 7;
  p[17] = key ? 0x50 : 0x51;
  return p;
}

void BM_ForwardToSubscribers(benchmark::State& state) {
  const auto subscribers = static_cast<size_t>(state.range(0));
  std::vector<std::unique_ptr<DownTrack>> tracks;
  for (size_t i = 0; i < subscribers; ++i) {
    tracks.push_back(std::make_unique<DownTrack>(
        DownTrackConfig{.ssrc = static_cast<uint32_t>(i + 1), .codec = Codec::kVp8}, nullptr));
  }
  RetransmissionBuffer ring;
  std::array<uint8_t, 1500> out{};
  auto now = Clock::now();
  uint16_t seq = 0;
  uint32_t ts = 0;
  uint16_t pid = 0;
  // Start every subscriber on a keyframe.
  {
    auto key = vp8_packet(seq++, ts, pid++, true);
    auto view = media::RtpView::parse(key);
    auto info = describe_packet(Codec::kVp8, *view);
    for (auto& t : tracks)
      t->forward(*view, 0, *info, out, now);
  }
  auto packet = vp8_packet(seq, ts, pid, false);
  for (auto _ : state) {
    media::write_u16(&packet[2], seq);
    ++seq;
    auto view = media::RtpView::parse(packet);
    ring.insert(view->sequence_number(), packet, now);
    auto info = describe_packet(Codec::kVp8, *view);
    for (auto& t : tracks)
      benchmark::DoNotOptimize(t->forward(*view, 0, *info, out, now));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(subscribers));
  // 1.0 when every copy was really forwarded (not dropped by a decision).
  state.counters["forwarded_share"] = static_cast<double>(tracks[0]->stats().forwarded) /
                                      static_cast<double>(state.iterations() + 1);
}
BENCHMARK(BM_ForwardToSubscribers)->Arg(1)->Arg(50)->Arg(500);

void BM_RetransmissionInsertFind(benchmark::State& state) {
  RetransmissionBuffer ring;
  auto packet = vp8_packet(0, 0, 0, false);
  auto now = Clock::now();
  uint16_t seq = 0;
  for (auto _ : state) {
    ring.insert(seq, packet, now);
    benchmark::DoNotOptimize(ring.find(static_cast<uint16_t>(seq - 100)));
    ++seq;
  }
}
BENCHMARK(BM_RetransmissionInsertFind);

}  // namespace
}  // namespace atrium::sfu

BENCHMARK_MAIN();
