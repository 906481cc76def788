// What a publisher sends reaches the forwarding path unchecked beyond the RTP
// header: the payload parsers (VP8, VP9, H.264, RED) and a DownTrack's rewrite
// (layer choice, VP9 SVC dropping, RED to Opus, NACK mapping, retransmission)
// see arbitrary bytes. The input is a codec choice and settings, then a
// sequence of length-prefixed RTP packets; whatever they are, nothing may
// crash, read or write out of bounds, or emit more bytes than came in.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "media/rtp.hpp"
#include "sfu/codec.hpp"
#include "sfu/down_track.hpp"

using namespace atrium;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  std::span<const uint8_t> in(data, size);
  // Every parser on the whole input, as a payload.
  (void)sfu::parse_vp8(in);
  (void)sfu::parse_vp9(in);
  (void)sfu::parse_h264(in);
  if (auto red = sfu::parse_red_primary(in)) {
    if (red->offset + red->size > in.size()) std::abort();
  }

  static constexpr sfu::Codec kCodecs[] = {sfu::Codec::kVp8, sfu::Codec::kVp9, sfu::Codec::kH264,
                                           sfu::Codec::kRed, sfu::Codec::kOpus};
  const sfu::Codec codec = kCodecs[in[0] % 5];
  const int max_layer = static_cast<int>(in[1] % 4) - 1;  // -1..2
  sfu::DownTrack track({.ssrc = 0x5eed, .clock_rate = 90000, .codec = codec}, [](int) {});
  track.set_red_primary_only((in[2] & 1) != 0);
  for (int layer = 0; layer < 3; ++layer)
    track.set_layer(layer, (in[2] >> (layer + 1)) & 1, 0, {});
  track.set_max_layer(max_layer, {});
  auto now = sfu::Clock::time_point{} + std::chrono::seconds(1);
  track.start(now);

  std::array<uint8_t, 1600> out{};
  std::vector<uint16_t> sent;
  size_t pos = 3;
  while (pos + 2 <= size) {
    const size_t length = std::min<size_t>((in[pos] << 8 | in[pos + 1]) & 0x7FF, size - pos - 2);
    const uint8_t layer = in[pos] >> 6;  // 0..3: also an out-of-range layer
    auto packet = in.subspan(pos + 2, length);
    pos += 2 + length;
    auto view = media::RtpView::parse(packet);
    if (!view) continue;
    now += std::chrono::milliseconds(layer + 1);
    auto written = track.forward(*view, layer % 3, out, now);
    if (!written) continue;
    if (*written > packet.size()) std::abort();
    auto sent_view = media::RtpView::parse(std::span<const uint8_t>(out.data(), *written));
    if (!sent_view) std::abort();
    sent.push_back(sent_view->sequence_number());
    // Every so often a NACK for what went out, answered from the same packet.
    if ((length & 7) == 0) {
      for (const auto& r : track.on_nack(sent))
        if (r.source_sequence == view->sequence_number())
          (void)track.rewrite_retransmission(*view, r.output_sequence, out);
    }
    if (sent.size() > 64) sent.erase(sent.begin(), sent.begin() + 32);
  }
  return 0;
}
