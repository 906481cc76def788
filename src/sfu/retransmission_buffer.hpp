#pragma once
// The last N packets of one received RTP stream, for answering NACKs. A ring
// of fixed-size slots indexed by the extended (wrap-aware) sequence number:
// all memory is taken at construction, an insert is one copy.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace atrium::sfu {

using Clock = std::chrono::steady_clock;

class RetransmissionBuffer {
 public:
  // 1024 packets is ~1.5 s of a 5 Mbps stream; audio needs far fewer (~100).
  static constexpr size_t kDefaultCapacity = 1024;
  static constexpr size_t kDefaultSlotSize = 1500;
  static constexpr uint32_t kResetAfter = 8;

  // `capacity` is rounded up to a power of two.
  explicit RetransmissionBuffer(size_t capacity = kDefaultCapacity,
                                size_t slot_size = kDefaultSlotSize);

  // Copies `packet` (a whole RTP packet) under `sequence_number`. False when it
  // does not fit a slot or is older than the window. A run of kResetAfter
  // packets all "older than the window" is a sequence jump (the publisher
  // restarted its numbering): the ring starts over from them.
  bool insert(uint16_t sequence_number, std::span<const uint8_t> packet, Clock::time_point arrival);

  struct Entry {
    std::span<const uint8_t> packet;
    Clock::time_point arrival;
  };
  // The stored packet, or nullopt when never received or already overwritten.
  std::optional<Entry> find(uint16_t sequence_number) const;

  // Forgets everything (the publisher restarted its stream).
  void clear();

  size_t capacity() const { return slots_.size(); }
  // The highest sequence number stored so far (valid after the first insert).
  uint16_t highest() const { return static_cast<uint16_t>(highest_); }

 private:
  struct Slot {
    int64_t extended = -1;  // -1: empty
    uint16_t size = 0;
    Clock::time_point arrival;
  };
  // The extended number of `seq` nearest to the highest seen.
  int64_t extend(uint16_t seq) const;

  size_t slot_size_;
  size_t mask_;
  std::vector<Slot> slots_;
  std::vector<uint8_t> storage_;
  int64_t highest_ = -1;
  uint32_t stale_run_ = 0;
};

}  // namespace atrium::sfu
