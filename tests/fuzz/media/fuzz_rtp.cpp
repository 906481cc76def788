// RTP packets come from publishers after SRTP; a malicious peer controls every
// byte. Parsing, extension iteration, the in-place mutators and the RTX
// restore must stay within the buffer.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "media/rtp.hpp"

using namespace atrium::media;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto view = RtpView::parse(std::span<const uint8_t>(data, size));
  if (!view) return 0;
  uint64_t sink = view->marker() + view->payload_type() + view->sequence_number() +
                  view->timestamp() + view->ssrc() + view->padding_size();
  for (size_t i = 0; i < view->csrc_count(); ++i)
    sink += view->csrc(i);
  auto it = view->extensions();
  std::optional<RtpExtensionElement> first_element;
  while (auto element = it.next()) {
    if (!first_element) first_element = element;
    for (uint8_t byte : element->value)
      sink += byte;
  }
  for (uint8_t byte : view->payload())
    sink += byte;
  if (view->header_size() + view->payload().size() + view->padding_size() != size) {
    __builtin_trap();
  }

  // Mutate a copy and check that the rewrites read back.
  std::vector<uint8_t> copy(data, data + size);
  auto mutable_view = MutableRtpView::parse(copy);
  if (!mutable_view) __builtin_trap();
  mutable_view->set_ssrc(0x01020304);
  mutable_view->set_sequence_number(0xBEEF);
  mutable_view->set_timestamp(0xCAFEBABE);
  mutable_view->set_payload_type(0x7F);
  mutable_view->set_marker(true);
  if (first_element && view->extension_profile() == RtpExtensionProfile::kOneByte) {
    std::vector<uint8_t> value(first_element->value.size(), 0xAB);
    if (!mutable_view->set_one_byte_extension(first_element->id, value)) __builtin_trap();
  }
  auto reread = RtpView::parse(copy);
  if (!reread || reread->ssrc() != 0x01020304 || reread->sequence_number() != 0xBEEF ||
      reread->timestamp() != 0xCAFEBABE || reread->payload_type() != 0x7F || !reread->marker()) {
    __builtin_trap();
  }

  if (auto rtx = decapsulate_rtx(*view)) sink += rtx->original_sequence_number;
  std::vector<uint8_t> rtx_copy(data, data + size);
  if (auto restored = restore_rtx_in_place(rtx_copy, 1, 96)) {
    if (*restored > size || !RtpView::parse(std::span(rtx_copy).first(*restored))) {
      __builtin_trap();
    }
  }
  volatile uint64_t keep = sink;
  (void)keep;
  return 0;
}
