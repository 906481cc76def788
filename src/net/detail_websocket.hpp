#pragma once
// net-internal: the bridge between the HTTP session in server.cpp and the
// WebSocket session in websocket.cpp. Kept apart so that each of the two
// Beast-heavy translation units instantiates only its own coroutines.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>
#include <string>

#include "base/log.hpp"
#include "net/websocket.hpp"

namespace atrium::net::detail {

class ServerWebSocket : public WebSocket {
 public:
  // Completes the handshake for `upgrade`, calls `opened`, then reads until
  // the connection ends; on_close has been called when this returns.
  virtual boost::asio::awaitable<void> serve(
      const boost::beast::http::request<boost::beast::http::string_body>& upgrade,
      WebSocketOpened opened) = 0;
  // Server shutdown: drop the backlog and close with 1001 (any thread).
  virtual void going_away() = 0;
  // Only once no I/O thread runs any more: close the socket and report
  // on_close(1001) if the close handshake never finished.
  virtual void abandon() = 0;
};

std::shared_ptr<ServerWebSocket> make_server_websocket(boost::beast::tcp_stream stream,
                                                       std::string remote, std::string path,
                                                       const WebSocketOptions& options,
                                                       std::shared_ptr<spdlog::logger> logger);

}  // namespace atrium::net::detail
