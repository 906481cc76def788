#pragma once
// WebSocket connections accepted by HttpServer (LiveKit signalling rides on
// them). Plain types, no Asio: the Beast stream lives in websocket.cpp.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/http.hpp"

namespace atrium::net {

// Close codes the server itself sends or reports (RFC 6455 section 7.4.1).
namespace close_code {
inline constexpr uint16_t normal = 1000;
inline constexpr uint16_t going_away = 1001;  // server shutdown
inline constexpr uint16_t abnormal = 1006;    // reported only: no close frame (reset, timeout)
inline constexpr uint16_t policy_violation = 1008;  // send queue overflow
inline constexpr uint16_t too_big = 1009;           // message over max_message_bytes
inline constexpr uint16_t internal_error = 1011;    // the application's callback threw
}  // namespace close_code

struct WebSocketOptions {
  size_t max_message_bytes = 1 << 20;  // larger incoming message -> close 1009
  // The server pings after this long without hearing from the client, and
  // drops the connection (code 1006) after twice this long. 0: neither.
  int ping_interval_s = 20;
  // Outgoing backlog a slow client may cause before it is closed with 1008.
  size_t max_queued_messages = 1000;
  size_t max_queued_bytes = 16 << 20;
  // permessage-deflate when the client offers it (browsers do). Off: Beast
  // keeps a zlib state per connection, ~130 KiB, most of an idle SFU
  // subscriber, and signalling messages are small protobufs. (LiveKit's
  // server negotiates it, but its Go library compresses each message without
  // context takeover from pooled compressors, so an idle connection holds no
  // zlib state there.)
  bool permessage_deflate = false;
};

// One accepted WebSocket connection. Thread-safe: send/close may be called
// from any thread (they post to the connection's strand); messages go out in
// the order they were sent. Sends after close (or after the peer left) are
// dropped silently. The handle does not keep the connection alive, so it may
// be kept after on_close; it must not be used while the HttpServer is being
// destroyed.
class WebSocket {
 public:
  virtual ~WebSocket() = default;
  virtual void send_binary(std::string bytes) = 0;
  virtual void send_text(std::string text) = 0;
  // Sends what is already queued, then a close frame with `code`.
  virtual void close(uint16_t code = close_code::normal, std::string reason = {}) = 0;
  virtual const std::string& remote_address() const = 0;
};

// What the application attaches to a connection once accepted. Callbacks run
// on the connection's strand, one at a time per connection.
struct WebSocketHandler {
  std::function<void(std::string_view payload, bool binary)> on_message;
  // Called exactly once: on a close from either side, an error, a timeout or
  // server shutdown (1001). The handler is released right after.
  std::function<void(uint16_t code)> on_close;
};

using WebSocketOpened = std::function<WebSocketHandler(std::shared_ptr<WebSocket>)>;

// The answer to an upgrade request, given BEFORE the handshake: `reject` is
// sent as a plain HTTP response (the router adds the CORS headers); otherwise
// the server completes the handshake and calls `opened`.
struct UpgradeDecision {
  std::optional<Response> reject;
  WebSocketOpened opened;

  static UpgradeDecision refuse(Response response) { return {std::move(response), nullptr}; }
  static UpgradeDecision accept(WebSocketOpened opened) {
    return {std::nullopt, std::move(opened)};
  }
};

using UpgradeHandler = std::function<UpgradeDecision(Request&)>;

}  // namespace atrium::net
