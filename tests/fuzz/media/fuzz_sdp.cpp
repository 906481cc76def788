// SDP arrives from browsers over signalling: attacker-controlled text.
// parse_sdp must never crash, and whatever it accepts must survive
// write_sdp -> parse_sdp unchanged (a mismatch is a bug: abort).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "media/sdp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace atrium::media;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const SdpParseResult first = parse_sdp(input);
  if (!first) return 0;
  const std::string written = write_sdp(*first.session);
  const SdpParseResult second = parse_sdp(written);
  if (!second || !(*second.session == *first.session)) std::abort();
  return 0;
}
