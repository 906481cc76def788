// DCEP messages arrive from the remote peer on any SCTP stream. Parsing must
// never crash or read out of bounds, and a parsed OPEN must rebuild to bytes
// that parse to the same message.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "media/dcep.hpp"

using namespace atrium::media;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  (void)dcep::message_type(input);
  (void)dcep::parse_ack(input);
  (void)dcep::classify_ppid(size >= 4 ? (uint32_t(data[0]) << 24 | uint32_t(data[1]) << 16 |
                                         uint32_t(data[2]) << 8 | data[3])
                                      : 0);
  dcep::ParseError error = dcep::ParseError::kNone;
  const auto open = dcep::parse_open(input, &error);
  if (open.has_value() != (error == dcep::ParseError::kNone)) __builtin_trap();
  if (open) {
    const auto rebuilt = dcep::build_open(*open);
    if (!rebuilt) __builtin_trap();
    const auto again = dcep::parse_open(*rebuilt);
    if (!again || *again != *open) __builtin_trap();
    // Only reliable channels may differ: their ignored parameter becomes zero.
    if (open->reliability.policy != dcep::Reliability::Policy::kReliable &&
        *rebuilt != std::vector<uint8_t>(input.begin(), input.end()))
      __builtin_trap();
  }
  return 0;
}
