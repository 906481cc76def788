#pragma once
// The HTTP boundary between the network layer and the services: plain value
// types, no Asio. Handlers answer through `Respond`, which may be called from
// any thread, exactly once, now or later (durable writes, long-polls).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace atrium::net {

enum class Method { get, head, post, put, del, options, patch, other };
std::string_view method_name(Method m);

struct Request {
  Method method = Method::get;
  std::string target;                                          // as received: path + '?' + query
  std::string path;                                            // percent-encoded path, no query
  std::multimap<std::string, std::string, std::less<>> query;  // decoded
  std::vector<std::pair<std::string, std::string>> headers;    // names lower-cased
  std::string body;
  std::string remote_address;  // client IP, for per-address limits and logs
  // Decoded path captures from the route pattern ({roomId} -> value).
  std::map<std::string, std::string, std::less<>> params;

  std::optional<std::string_view> header(std::string_view lower_name) const;
  std::optional<std::string_view> query_param(std::string_view name) const;
  const std::string& param(std::string_view name) const;  // throws std::out_of_range
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  static Response json(int status, std::string body) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
};

using Respond = std::function<void(Response)>;
using Handler = std::function<void(Request&, Respond)>;

// Turns the exception in flight (MatrixError, std::exception, anything) into
// an error reply; logs unexpected ones. Use inside catch blocks.
Response error_response_from_current_exception();

// Answers a request with an error reply for `e`.
Response error_response(std::exception_ptr e);

}  // namespace atrium::net
