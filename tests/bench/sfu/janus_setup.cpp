// sfu_load's Janus front end: the same publisher and subscribers through the
// VideoRoom plugin's API over Janus's WebSocket transport (subprotocol
// "janus-protocol"). One Janus session, one plugin handle per peer
// connection: the publisher joins room `janus_room` and configures with our
// sendonly VP8 offer; each subscriber joins with the publisher's feed id,
// answers Janus's offer and starts. Janus is a full ICE agent (libnice):
// our clients bind Options::bind_ip, give that candidate in their SDP, send
// nominating checks as the controlling side and answer Janus's checks.
#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <optional>
#include <thread>

#include "load_common.hpp"
#include "media/sdp_answer.hpp"
#include "media/sdp_offer.hpp"

namespace atrium::bench {
namespace {

namespace beast = boost::beast;
namespace json = boost::json;
using tcp = boost::asio::ip::tcp;
using testing::LoopbackMediaClient;

class JanusApi {
 public:
  JanusApi(boost::asio::io_context& io, const std::string& url) : socket_(io) {
    std::string rest = url.substr(url.find("//") + 2);
    std::string hostport = rest.substr(0, rest.find('/'));
    std::string path = rest.size() > hostport.size() ? rest.substr(hostport.size()) : "/";
    std::string host = hostport.substr(0, hostport.find(':'));
    std::string port = hostport.substr(hostport.find(':') + 1);
    tcp::resolver resolver(io);
    boost::asio::connect(socket_.next_layer(), resolver.resolve(host, port));
    socket_.set_option(
        beast::websocket::stream_base::decorator([](beast::websocket::request_type& request) {
          request.set(beast::http::field::sec_websocket_protocol, "janus-protocol");
        }));
    socket_.text(true);
    socket_.handshake(hostport, path);
    json::object reply = call({{"janus", "create"}});
    session_ = reply.at("data").at("id").as_int64();
  }

  int64_t attach() {
    json::object reply = call({{"janus", "attach"}, {"plugin", "janus.plugin.videoroom"}});
    return reply.at("data").at("id").as_int64();
  }

  // A plugin message; returns the plugin's reply (the event with our
  // transaction: plugindata.data, and jsep if any).
  json::object message(int64_t handle, json::object body, std::optional<json::object> jsep = {}) {
    json::object request{{"janus", "message"}, {"handle_id", handle}, {"body", std::move(body)}};
    if (jsep) request["jsep"] = std::move(*jsep);
    return call(std::move(request));
  }

  void close() {
    beast::error_code ignored;
    socket_.close(beast::websocket::close_code::normal, ignored);
  }

 private:
  // Sends a request and reads until its success/event/error (acks and
  // unrelated events are skipped).
  json::object call(json::object request) {
    std::string transaction = "t" + std::to_string(++transactions_);
    request["transaction"] = transaction;
    if (session_) request["session_id"] = session_;
    socket_.write(boost::asio::buffer(json::serialize(request)));
    while (true) {
      beast::flat_buffer buffer;
      socket_.read(buffer);
      std::string text = beast::buffers_to_string(buffer.data());
      boost::system::error_code error;
      json::value parsed = json::parse(text, error);
      if (error || !parsed.is_object()) fail("undecodable Janus message: " + text);
      json::object& object = parsed.as_object();
      const json::value* t = object.if_contains("transaction");
      if (!t || !t->is_string() || t->as_string() != transaction) continue;
      std::string kind(object.at("janus").as_string());
      if (kind == "ack") continue;
      if (kind == "error") fail("Janus refused " + json::serialize(request) + ": " + text);
      if (kind == "event") {
        const auto& data = object.at("plugindata").at("data").as_object();
        if (data.contains("error"))
          fail("VideoRoom refused " + json::serialize(request["body"]) + ": " + text);
      }
      return std::move(object);
    }
  }

  beast::websocket::stream<tcp::socket> socket_;
  int64_t session_ = 0;
  uint64_t transactions_ = 0;
};

struct State {
  boost::asio::io_context io;
  std::unique_ptr<JanusApi> api;
};

media::SdpCandidate host_candidate(const std::string& ip, uint16_t port) {
  media::SdpCandidate candidate;
  candidate.foundation = "1";
  candidate.component = 1;
  candidate.transport = "udp";
  candidate.priority = 2130706431;
  candidate.address = ip;
  candidate.port = port;
  candidate.type = "host";
  return candidate;
}

media::TransportAddress remote_address(const RemoteIce& ice, const std::string& what) {
  auto address = media::parse_ip(ice.address, ice.port);
  if (!ice.port || !address)
    fail(what + ": no usable UDP candidate in Janus's SDP (is ice_enforce_list right?)");
  return *address;
}

// Checks until Janus answers, then DTLS in the negotiated role.
void connect(LoopbackMediaClient& client, const std::string& fingerprint, media::DtlsRole role,
             const std::string& what) {
  if (!client.ice_connect(std::chrono::seconds(10)))
    fail(what + ": Janus did not answer our ICE checks (it sent " +
         std::to_string(client.checks_received()) + ")");
  client.start_dtls(fingerprint, role);
  if (!client.pump([&] { return client.connected(); }, std::chrono::seconds(10)))
    fail(what + ": DTLS with Janus did not complete");
  if (!client.srtp_send() || !client.srtp_receive()) fail(what + ": no SRTP profile negotiated");
}

}  // namespace

Endpoints setup_janus(const Options& o,
                      const std::shared_ptr<media::DtlsCertificate>& certificate) {
  auto state = std::make_shared<State>();
  Endpoints endpoints;
  state->api = std::make_unique<JanusApi>(state->io, o.url);
  JanusApi& api = *state->api;
  endpoints.close = [state] { state->api->close(); };
  const auto room = static_cast<int64_t>(o.janus_room);

  // --- publisher: join and configure with our offer, connect ---
  int64_t pub_handle = api.attach();
  const std::string pub_ufrag = "pubufrag", pub_pwd = "publisher-password-0123";
  endpoints.publisher =
      std::make_unique<LoopbackMediaClient>(o.bind_ip, certificate, pub_ufrag, pub_pwd);
  if (!endpoints.publisher->bound()) fail("cannot bind " + o.bind_ip);
  media::SdpSession offer =
      publisher_offer(pub_ufrag, pub_pwd, certificate->fingerprint(), o.audio,
                      {host_candidate(o.bind_ip, endpoints.publisher->local_port())}, o.simulcast);
  offer.ice_lite = false;  // a full agent, controlling as the offerer
  if (o.simulcast > 1) {
    // Janus reads the rids in the offer's order as high to low (janus.js
    // lists them so): f, h, q.
    auto& video = offer.media[0];
    std::reverse(video.rids.begin(), video.rids.end());
    std::reverse(video.simulcast->send.begin(), video.simulcast->send.end());
  }
  json::object reply = api.message(
      pub_handle,
      {{"request", "joinandconfigure"},
       {"room", room},
       {"ptype", "publisher"},
       {"display", "load"},
       {"audio", false},
       {"video", true}},
      json::object{{"type", "offer"}, {"sdp", media::write_sdp(offer)}, {"trickle", false}});
  const auto& joined = reply.at("plugindata").at("data").as_object();
  if (!joined.contains("id") || !reply.contains("jsep"))
    fail("unexpected VideoRoom reply to joinandconfigure: " + json::serialize(reply));
  int64_t feed = joined.at("id").as_int64();
  std::string answer_text(reply.at("jsep").at("sdp").as_string());
  auto answer_sdp = media::parse_sdp(answer_text);
  if (!answer_sdp) fail("bad answer SDP from Janus");
  auto answer = media::read_answer(offer, *answer_sdp.session);
  if (!answer) fail("cannot use Janus's answer: " + answer.error);
  RemoteIce pub_ice = ice_of(*answer_sdp.session);
  endpoints.publisher->set_remote(answer.answer->remote_ufrag, answer.answer->remote_pwd,
                                  remote_address(pub_ice, "publisher"));
  connect(*endpoints.publisher, answer.answer->remote_fingerprint, answer.answer->dtls_role,
          "publisher");
  endpoints.source = std::make_unique<PacketSource>(*endpoints.publisher, o.simulcast);
  endpoints.source->send_all(20);
  if (o.audio) endpoints.source->send_audio();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  if (o.after_publisher) o.after_publisher();

  // --- subscribers: join with the feed, answer Janus's offer, start, connect ---
  for (int i = 0; i < o.subscribers; ++i) {
    std::string what = "subscriber " + std::to_string(i);
    int64_t handle = api.attach();
    json::object attached =
        api.message(handle, {{"request", "join"},
                             {"room", room},
                             {"ptype", "subscriber"},
                             {"streams", json::array{json::object{{"feed", feed}}}}});
    if (!attached.contains("jsep"))
      fail(what + ": no offer from Janus: " + json::serialize(attached));
    auto offered = media::parse_sdp(std::string(attached.at("jsep").at("sdp").as_string()));
    if (!offered) fail(what + ": bad offer SDP from Janus");
    media::AnswerOptions options;
    options.ice_ufrag = "sub" + std::to_string(i);
    options.ice_pwd = "subscriber-password-0123";
    options.fingerprint = certificate->fingerprint();
    auto media = std::make_unique<LoopbackMediaClient>(o.bind_ip, certificate, options.ice_ufrag,
                                                       options.ice_pwd);
    if (!media->bound()) fail("cannot bind " + o.bind_ip);
    options.candidates = {host_candidate(o.bind_ip, media->local_port())};
    auto negotiated = media::negotiate_answer(*offered.session, options);
    if (!negotiated) fail(what + ": cannot answer Janus's offer: " + negotiated.error);
    negotiated.session->answer.ice_lite = false;
    api.message(handle, {{"request", "start"}},
                json::object{{"type", "answer"},
                             {"sdp", media::write_sdp(negotiated.session->answer)},
                             {"trickle", false}});
    RemoteIce ice = ice_of(*offered.session);
    media->set_remote(negotiated.session->remote_ufrag, negotiated.session->remote_pwd,
                      remote_address(ice, what));
    connect(*media, negotiated.session->remote_fingerprint, negotiated.session->dtls_role, what);
    endpoints.subscribers.push_back(std::move(media));
  }
  return endpoints;
}

}  // namespace atrium::bench
