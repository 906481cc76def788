#pragma once
// An asynchronous HTTP/1.1 client (http and https) for the services that
// call out: the RTC auth service asking a homeserver about an OpenID token,
// pushers delivering to a push gateway. No Asio in this header.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/http.hpp"

namespace atrium::net {

class HttpServer;

struct ClientRequest {
  Method method = Method::get;
  std::string url;  // http://host[:port]/path?query or https://...
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int64_t timeout_ms = 5000;  // whole exchange: resolve, connect, TLS, write, read
  uint64_t max_response_bytes = 1 << 20;
};

struct ClientResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
};

// `error` is empty on success (any HTTP status), else a human-readable reason
// (bad URL, DNS, connect, TLS, timeout, oversized response).
using ClientCallback = std::function<void(std::string error, ClientResponse response)>;

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Calls `done` exactly once, on one of the client's threads. (Requests still
  // pending when the server's I/O threads have stopped for good are dropped
  // with the io_context, uncalled: there is no thread left to call them on.)
  virtual void request(ClientRequest request, ClientCallback done) = 0;
};

// A client running on the HTTP server's I/O threads. Verifies TLS
// certificates against the system store unless `insecure_skip_verify`.
std::unique_ptr<HttpClient> make_http_client(HttpServer& server, bool insecure_skip_verify = false);

}  // namespace atrium::net
