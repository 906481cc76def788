// The outgoing HTTP/1.1 client: one coroutine per request on its own strand of
// the server's io_context. One deadline covers the whole exchange; TLS peers
// are verified against the system store (SNI + host name) unless told not to.
#include "net/http_client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <chrono>
#include <optional>

#include "net/detail_io_context.hpp"

namespace atrium::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr uint32_t kHeaderLimit = 64 * 1024;

http::verb to_verb(Method m) {
  switch (m) {
    case Method::get:
      return http::verb::get;
    case Method::head:
      return http::verb::head;
    case Method::post:
      return http::verb::post;
    case Method::put:
      return http::verb::put;
    case Method::del:
      return http::verb::delete_;
    case Method::options:
      return http::verb::options;
    case Method::patch:
      return http::verb::patch;
    default:
      return http::verb::unknown;
  }
}

struct Target {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string host_header;
  std::string path;  // path + query, never empty
};

std::optional<Target> parse_target(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return std::nullopt;
  Target t;
  auto scheme = parsed->scheme();
  if (scheme == "https")
    t.tls = true;
  else if (scheme != "http")
    return std::nullopt;
  if (!parsed->has_authority() || parsed->encoded_host().empty()) return std::nullopt;
  t.host = parsed->host_type() == boost::urls::host_type::ipv6
               ? std::string(parsed->encoded_host_address())
               : std::string(parsed->encoded_host());
  t.port = parsed->has_port() ? std::string(parsed->port()) : (t.tls ? "443" : "80");
  t.host_header = std::string(parsed->encoded_host_and_port());
  t.path = std::string(parsed->encoded_path());
  if (t.path.empty()) t.path = "/";
  if (parsed->has_query()) t.path += "?" + std::string(parsed->encoded_query());
  return t;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class AsioHttpClient final : public HttpClient {
 public:
  AsioHttpClient(asio::io_context& ioc, bool insecure_skip_verify)
      : ioc_(ioc),
        tls_(std::make_shared<ssl::context>(ssl::context::tls_client)),
        insecure_(insecure_skip_verify) {
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3);
    if (!insecure_) {
      tls_->set_default_verify_paths();
      tls_->set_verify_mode(ssl::verify_peer);
    } else {
      tls_->set_verify_mode(ssl::verify_none);
    }
  }

  void request(ClientRequest request, ClientCallback done) override {
    auto target = parse_target(request.url);
    if (!target || to_verb(request.method) == http::verb::unknown) {
      auto strand = asio::make_strand(ioc_);
      asio::post(strand, [done = std::move(done), url = request.url] {
        done("bad URL or method: " + url, {});
      });
      return;
    }
    asio::co_spawn(
        asio::make_strand(ioc_),
        exchange(std::move(request), std::move(*target), std::move(done), tls_, insecure_),
        asio::detached);
  }

 private:
  // Whatever happens inside, `done` is called exactly once at the end.
  static asio::awaitable<void> exchange(ClientRequest request, Target target, ClientCallback done,
                                        std::shared_ptr<ssl::context> tls, bool insecure) {
    auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    // Plain or TLS; `tcp_stream` is the socket layer either way.
    std::optional<beast::tcp_stream> plain_stream;
    std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream;
    if (target.tls)
      tls_stream.emplace(executor, *tls);
    else
      plain_stream.emplace(executor);
    beast::tcp_stream& tcp_stream =
        tls_stream ? beast::get_lowest_layer(*tls_stream) : *plain_stream;
    bool timed_out = false;

    // One deadline for the whole exchange: on expiry every pending operation
    // is cancelled and the socket closed, so each step below returns an error.
    asio::steady_timer deadline(executor);
    deadline.expires_after(std::chrono::milliseconds(std::max<int64_t>(request.timeout_ms, 1)));
    deadline.async_wait([&](const beast::error_code& ec) {
      if (ec) return;
      timed_out = true;
      resolver.cancel();
      beast::error_code ignored;
      tcp_stream.socket().close(ignored);
    });

    std::string error;
    ClientResponse response;
    auto fail = [&](std::string_view step, const beast::error_code& ec) {
      error = timed_out ? "timeout after " + std::to_string(request.timeout_ms) + " ms"
                        : std::string(step) + ": " + ec.message();
    };

    do {
      auto [resolve_ec, endpoints] =
          co_await resolver.async_resolve(target.host, target.port, kTuple);
      if (resolve_ec) {
        fail("resolve " + target.host, resolve_ec);
        break;
      }
      auto [connect_ec, endpoint] = co_await tcp_stream.async_connect(endpoints, kTuple);
      if (connect_ec) {
        fail("connect " + target.host_header, connect_ec);
        break;
      }

      http::request<http::string_body> req{to_verb(request.method), target.path, 11};
      req.set(http::field::host, target.host_header);
      req.set(http::field::user_agent, "atrium");
      for (auto& [name, value] : request.headers)
        req.set(name, value);
      if (!request.body.empty() || request.method == Method::post ||
          request.method == Method::put) {
        req.body() = std::move(request.body);
        req.prepare_payload();
      }
      http::response_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(request.max_response_bytes);
      beast::flat_buffer buffer;

      beast::error_code ec;
      if (target.tls) {
        auto* ssl_handle = tls_stream->native_handle();
        // SNI; and the certificate must name the host (unless insecure).
        if (!SSL_set_tlsext_host_name(ssl_handle, target.host.c_str())) {
          error = "TLS: cannot set SNI host name";
          break;
        }
        if (!insecure) tls_stream->set_verify_callback(ssl::host_name_verification(target.host));
        std::tie(ec) = co_await tls_stream->async_handshake(ssl::stream_base::client, kTuple);
        if (ec) {
          fail("TLS handshake with " + target.host_header, ec);
          break;
        }
        std::tie(ec, std::ignore) = co_await http::async_write(*tls_stream, req, kTuple);
        if (ec) {
          fail("write", ec);
          break;
        }
        std::tie(ec, std::ignore) = co_await http::async_read(*tls_stream, buffer, parser, kTuple);
      } else {
        std::tie(ec, std::ignore) = co_await http::async_write(tcp_stream, req, kTuple);
        if (ec) {
          fail("write", ec);
          break;
        }
        std::tie(ec, std::ignore) = co_await http::async_read(tcp_stream, buffer, parser, kTuple);
      }
      if (ec == http::error::body_limit) {
        error = "response larger than " + std::to_string(request.max_response_bytes) + " bytes";
        break;
      }
      if (ec) {
        fail("read", ec);
        break;
      }
      auto& message = parser.get();
      response.status = static_cast<int>(message.result_int());
      for (auto& field : message) {
        response.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
      }
      response.body = std::move(message.body());
    } while (false);

    deadline.cancel();
    beast::error_code ignored;
    tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_stream.socket().close(ignored);
    // Let the cancelled deadline handler run before its captures go away.
    co_await asio::post(executor, asio::use_awaitable);
    if (!error.empty()) response = {};
    try {
      done(std::move(error), std::move(response));
    } catch (...) {
      // The caller's callback must not take down the I/O thread.
    }
  }

  asio::io_context& ioc_;
  // Shared with the requests in flight, which may outlive the client.
  std::shared_ptr<ssl::context> tls_;
  bool insecure_;
};

}  // namespace

std::unique_ptr<HttpClient> make_http_client(HttpServer& server, bool insecure_skip_verify) {
  return std::make_unique<AsioHttpClient>(detail::IoContextAccess::of(server),
                                          insecure_skip_verify);
}

}  // namespace atrium::net
