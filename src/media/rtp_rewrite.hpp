#pragma once
// Rewriting an RTP header for another leg: a forwarded packet carries the
// publisher's header extensions under the publisher's negotiated ids, which
// mean nothing (or something else) on a subscriber's connection. The SFU
// replaces the whole extension block with the elements it negotiated there.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace atrium::media {

struct OneByteExtension {
  uint8_t id = 0;                  // 1..14
  std::span<const uint8_t> value;  // 1..16 bytes
};

// Drops the CSRC list and the extension block of the packet in buffer[0,
// length) and writes `elements` (one-byte form, RFC 8285) instead; no
// elements means no extension block. In place: buffer needs room for the
// growth. The new length, or nullopt for a malformed packet, a bad element
// or too little room.
std::optional<size_t> replace_header_extensions(std::span<uint8_t> buffer, size_t length,
                                                std::span<const OneByteExtension> elements);

// abs-send-time (webrtc.org http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time):
// 24 bits of 6.18 fixed-point seconds, wrapping every 64 s.
std::array<uint8_t, 3> abs_send_time(std::chrono::steady_clock::time_point now);

}  // namespace atrium::media
