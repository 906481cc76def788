#include "sfu/retransmission_buffer.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace atrium::sfu {

RetransmissionBuffer::RetransmissionBuffer(size_t capacity, size_t slot_size)
    : slot_size_(std::min<size_t>(slot_size, 0xFFFF)),
      mask_(std::bit_ceil(std::max<size_t>(capacity, 2)) - 1),
      slots_(mask_ + 1),
      storage_((mask_ + 1) * slot_size_) {}

int64_t RetransmissionBuffer::extend(uint16_t seq) const {
  const auto delta = static_cast<int16_t>(static_cast<uint16_t>(seq - uint16_t(highest_)));
  return highest_ + delta;
}

bool RetransmissionBuffer::insert(uint16_t seq, std::span<const uint8_t> packet,
                                  Clock::time_point arrival) {
  if (packet.size() > slot_size_ || packet.empty()) return false;
  int64_t ext;
  if (highest_ < 0) {
    ext = int64_t{1} << 16 | seq;  // start above zero so older packets stay non-negative
    highest_ = ext;
  } else {
    ext = extend(seq);
    if (ext <= highest_ - static_cast<int64_t>(slots_.size())) {
      if (++stale_run_ < kResetAfter) return false;
      clear();
      return insert(seq, packet, arrival);
    }
    highest_ = std::max(highest_, ext);
  }
  stale_run_ = 0;
  Slot& slot = slots_[static_cast<size_t>(ext) & mask_];
  slot.extended = ext;
  slot.size = static_cast<uint16_t>(packet.size());
  slot.arrival = arrival;
  std::memcpy(storage_.data() + (static_cast<size_t>(ext) & mask_) * slot_size_, packet.data(),
              packet.size());
  return true;
}

std::optional<RetransmissionBuffer::Entry> RetransmissionBuffer::find(uint16_t seq) const {
  if (highest_ < 0) return std::nullopt;
  const int64_t ext = extend(seq);
  const size_t index = static_cast<size_t>(ext) & mask_;
  const Slot& slot = slots_[index];
  // A slot reused by a newer packet carries a different extended number.
  if (ext > highest_ || slot.extended != ext) return std::nullopt;
  return Entry{std::span<const uint8_t>(storage_.data() + index * slot_size_, slot.size),
               slot.arrival};
}

void RetransmissionBuffer::clear() {
  for (Slot& slot : slots_)
    slot.extended = -1;
  highest_ = -1;
}

}  // namespace atrium::sfu
