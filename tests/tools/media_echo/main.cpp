// atrium-media-echo: a test server for the media transport. POST an SDP offer
// to /offer and get an answer; everything the peer sends (RTP streams, data
// channel messages) comes back. GET /stats reports each peer's transport.
// Listens on 127.0.0.1 only: it is a test tool, not a service.
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include "echo_peer.hpp"
#include "net/router.hpp"
#include "net/server.hpp"

namespace {

struct Args {
  uint16_t http_port = 0;
  uint16_t udp_port = 0;
  size_t workers = 2;
  bool tcp_only = false;
};

bool parse_args(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; i += 2) {
    std::string name = argv[i];
    if (name == "--ice-tcp-only") {
      args.tcp_only = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) return false;
    unsigned long value = std::stoul(argv[i + 1]);
    if (name == "--http-port")
      args.http_port = static_cast<uint16_t>(value);
    else if (name == "--udp-port")
      args.udp_port = static_cast<uint16_t>(value);
    else if (name == "--workers")
      args.workers = value;
    else
      return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace atrium;
  Args args;
  try {
    if (!parse_args(argc, argv, args)) throw std::invalid_argument("usage");
  } catch (const std::exception&) {
    std::cerr << "usage: atrium-media-echo [--http-port N] [--udp-port N] [--workers N] "
                 "[--ice-tcp-only]\n";
    return 2;
  }
  media::MediaServerConfig config;
  config.listen_ip = "127.0.0.1";
  config.udp_port = args.udp_port;
  config.workers = args.workers;
  std::string error;
  auto media_server = media::MediaServer::start(config, &error);
  if (!media_server) {
    std::cerr << "media-echo: " << error << "\n";
    return 1;
  }
  // Peers live as long as the server: it is a short-lived test tool.
  std::mutex peers_mutex;
  std::vector<std::shared_ptr<tools::EchoPeer>> peers;

  net::Router router;
  router.add(net::Method::post, "/offer", [&](net::Request& request, net::Respond respond) {
    std::string answer, why;
    auto peer = tools::EchoPeer::create(*media_server, request.body, args.tcp_only, &answer, &why);
    net::Response response;
    if (!peer) {
      response.status = 400;
      response.content_type = "text/plain";
      response.body = why + "\n";
      std::cerr << "media-echo: refused an offer: " << why << "\n";
    } else {
      std::lock_guard lock(peers_mutex);
      peers.push_back(peer);
      response.content_type = "application/sdp";
      response.body = std::move(answer);
    }
    respond(std::move(response));
  });
  // A page to run the browser side from: http://127.0.0.1 is a secure
  // context (getUserMedia works) and the same origin as /offer.
  router.add(net::Method::get, "/", [](net::Request&, net::Respond respond) {
    net::Response response;
    response.content_type = "text/html; charset=utf-8";
    response.body =
        "<!doctype html><html><head><title>atrium media echo</title></head>"
        "<body><video id=\"local\" autoplay muted playsinline width=320></video>"
        "<video id=\"echo\" autoplay muted playsinline width=320></video></body></html>\n";
    respond(std::move(response));
  });
  router.add(net::Method::get, "/stats", [&](net::Request&, net::Respond respond) {
    boost::json::array list;
    {
      std::lock_guard lock(peers_mutex);
      for (const auto& peer : peers) {
        const auto& t = *peer->transport();
        const auto& c = t.counters();
        list.push_back(boost::json::object{
            {"ufrag", t.local_ufrag()},
            {"state", media::to_string(t.state())},
            {"ice", t.ice_state() == media::IceState::kConnected ? "connected"
                    : t.ice_state() == media::IceState::kFailed  ? "failed"
                                                                 : "checking"},
            {"dtls", media::to_string(t.dtls_state())},
            {"failure", t.failure_reason()},
            {"rtp_in", c.rtp_in.load()},
            {"rtp_out", c.rtp_out.load()},
            {"rtcp_in", c.rtcp_in.load()},
            {"dc_in", c.data_in.load()},
            {"dc_out", c.data_out.load()},
            {"dropped", c.dropped.load()},
        });
      }
    }
    auto stats = media_server->stats();
    respond(net::Response::json(200, boost::json::serialize(boost::json::object{
                                         {"peers", std::move(list)},
                                         {"datagrams_in", stats.datagrams_in},
                                         {"unroutable", stats.unroutable},
                                         {"handed_over", stats.handed_over},
                 {"tcp_connections", stats.tcp_connections},
                                     })));
  });

  net::ServerOptions options;
  options.host = "127.0.0.1";
  options.port = args.http_port;
  net::HttpServer http(options, router);
  try {
    http.listen();
  } catch (const std::exception& e) {
    std::cerr << "media-echo: " << e.what() << "\n";
    return 1;
  }
  std::cout << "media-echo listening http=127.0.0.1:" << http.bound_port()
            << " udp=127.0.0.1:" << media_server->udp_port()
            << " tcp=127.0.0.1:" << media_server->tcp_port() << std::endl;
  http.run([] {});
  return 0;
}
