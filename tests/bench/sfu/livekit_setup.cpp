// sfu_load's LiveKit front end: publisher and subscribers through Atrium's
// LiveKit signalling (Beast WebSocket, our .proto messages, access tokens).
#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <optional>
#include <thread>

#include "livekit/proto/livekit_rtc.pb.h"
#include "livekit/token.hpp"
#include "load_common.hpp"
#include "media/sdp_answer.hpp"
#include "media/sdp_offer.hpp"

namespace atrium::bench {
namespace {

namespace lk = ::livekit;
namespace beast = boost::beast;
using tcp = boost::asio::ip::tcp;
using testing::LoopbackMediaClient;

// One signalling connection (blocking Beast client).
class Signal {
 public:
  Signal(boost::asio::io_context& io, const Options& options, const std::string& identity)
      : socket_(io) {
    // ws://host:port/prefix
    std::string rest = options.url.substr(options.url.find("//") + 2);
    std::string hostport = rest.substr(0, rest.find('/'));
    std::string prefix = rest.substr(hostport.size());
    std::string host = hostport.substr(0, hostport.find(':'));
    std::string port = hostport.substr(hostport.find(':') + 1);
    atrium::livekit::AccessClaims claims;
    claims.api_key = options.key;
    claims.identity = identity;
    claims.expires = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() +
                     600;
    atrium::livekit::VideoGrant grant;
    grant.room = options.room;
    grant.room_join = true;
    claims.video = grant;
    std::string token = atrium::livekit::mint_token(claims, options.secret);
    tcp::resolver resolver(io);
    boost::asio::connect(socket_.next_layer(), resolver.resolve(host, port));
    if (options.deflate) {
      beast::websocket::permessage_deflate deflate;
      deflate.client_enable = true;
      socket_.set_option(deflate);
    }
    socket_.binary(true);
    socket_.handshake(hostport, prefix + "/rtc?access_token=" + token + "&protocol=16");
  }

  void send(const lk::SignalRequest& request) {
    socket_.write(boost::asio::buffer(request.SerializeAsString()));
  }
  // Reads until a response of `kind` arrives (others are skipped).
  lk::SignalResponse read_until(lk::SignalResponse::MessageCase kind) {
    while (true) {
      beast::flat_buffer buffer;
      socket_.read(buffer);
      lk::SignalResponse response;
      auto data = buffer.data();
      if (!response.ParseFromArray(data.data(), static_cast<int>(data.size())))
        fail("undecodable signal response");
      if (response.message_case() == kind) return response;
      if (response.has_leave()) fail("the SFU sent leave during setup");
    }
  }
  void close() {
    beast::error_code ignored;
    socket_.close(beast::websocket::close_code::normal, ignored);
  }

 private:
  beast::websocket::stream<tcp::socket> socket_;
};

struct State {
  boost::asio::io_context io;
  std::unique_ptr<Signal> publisher;
  std::vector<std::unique_ptr<Signal>> subscribers;
};

}  // namespace

Endpoints setup_livekit(const Options& o,
                        const std::shared_ptr<media::DtlsCertificate>& certificate) {
  auto state = std::make_shared<State>();
  Endpoints endpoints;
  endpoints.close = [state] {
    for (auto& s : state->subscribers)
      s->close();
    state->publisher->close();
  };

  // --- publisher: join, announce, offer, connect ---
  state->publisher = std::make_unique<Signal>(state->io, o, "publisher");
  Signal& publisher = *state->publisher;
  publisher.read_until(lk::SignalResponse::kJoin);
  lk::SignalRequest add;
  add.mutable_add_track()->set_cid("load-video");
  add.mutable_add_track()->set_type(lk::VIDEO);
  add.mutable_add_track()->set_source(lk::CAMERA);
  add.mutable_add_track()->set_width(640);
  add.mutable_add_track()->set_height(480);
  if (o.simulcast > 1) {
    const lk::VideoQuality qualities[] = {lk::LOW, lk::MEDIUM, lk::HIGH};
    for (int layer = 0; layer < o.simulcast; ++layer) {
      auto* l = add.mutable_add_track()->add_layers();
      l->set_quality(qualities[layer]);
      l->set_width(640u >> (o.simulcast - 1 - layer));
      l->set_height(480u >> (o.simulcast - 1 - layer));
      l->set_rid(kRids[layer]);
    }
  }
  publisher.send(add);
  publisher.read_until(lk::SignalResponse::kTrackPublished);
  if (o.audio) {
    lk::SignalRequest add_audio;
    add_audio.mutable_add_track()->set_cid("load-audio");
    add_audio.mutable_add_track()->set_type(lk::AUDIO);
    add_audio.mutable_add_track()->set_source(lk::MICROPHONE);
    publisher.send(add_audio);
    publisher.read_until(lk::SignalResponse::kTrackPublished);
  }
  const std::string pub_ufrag = "pubufrag";
  lk::SignalRequest offer_request;
  offer_request.mutable_offer()->set_type("offer");
  offer_request.mutable_offer()->set_sdp(media::write_sdp(publisher_offer(
      pub_ufrag, "publisher-password-0123", certificate->fingerprint(), o.audio, {}, o.simulcast)));
  offer_request.mutable_offer()->set_id(1);
  publisher.send(offer_request);
  auto answer = publisher.read_until(lk::SignalResponse::kAnswer);
  auto answer_sdp = media::parse_sdp(answer.answer().sdp());
  if (!answer_sdp) fail("bad answer SDP from the SFU");
  RemoteIce pub_ice = ice_of(*answer_sdp.session);
  endpoints.publisher = std::make_unique<LoopbackMediaClient>(pub_ice.ufrag, pub_ice.pwd,
                                                              pub_ice.port, certificate, pub_ufrag);
  // The SFU answered passive (it is the DTLS server): we are the client.
  const auto& fp = answer_sdp.session->media[0].transport.fingerprint;
  if (!fp || !endpoints.publisher->connect(fp->value, std::chrono::seconds(5)))
    fail("publisher did not connect");
  endpoints.source = std::make_unique<PacketSource>(*endpoints.publisher, o.simulcast);
  // A few packets so the track counts as published before subscribers join.
  endpoints.source->send_all(20);
  if (o.audio) endpoints.source->send_audio();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  if (o.after_publisher) o.after_publisher();

  // --- subscribers: join, answer the offer (it holds the track), connect ---
  for (int i = 0; i < o.subscribers; ++i) {
    state->subscribers.push_back(
        std::make_unique<Signal>(state->io, o, "subscriber-" + std::to_string(i)));
    Signal& signal = *state->subscribers.back();
    signal.read_until(lk::SignalResponse::kJoin);
    media::AnswerOptions options;
    options.ice_ufrag = "sub" + std::to_string(i);
    options.ice_pwd = "subscriber-password-0123";
    options.fingerprint = certificate->fingerprint();
    // Answers the SFU's offer (we take passive: the SFU is the DTLS client).
    auto answer_offer = [&](const media::SdpSession& sdp, uint32_t id) {
      auto negotiated = media::negotiate_answer(sdp, options);
      if (!negotiated) fail("cannot answer: " + negotiated.error);
      lk::SignalRequest reply;
      reply.mutable_answer()->set_type("answer");
      reply.mutable_answer()->set_sdp(media::write_sdp(negotiated.session->answer));
      reply.mutable_answer()->set_id(id);
      signal.send(reply);
      return *negotiated.session;
    };
    // The first offer may come before the tracks are added: answer until one has them all.
    std::optional<media::SdpSession> offered;
    std::optional<media::NegotiatedSession> negotiated;
    for (int tries = 0; tries < 6 && !offered; ++tries) {
      auto sfu_offer = signal.read_until(lk::SignalResponse::kOffer);
      auto parsed = media::parse_sdp(sfu_offer.offer().sdp());
      if (!parsed) fail("bad offer SDP from the SFU");
      negotiated = answer_offer(*parsed.session, sfu_offer.offer().id());
      auto has = [&](const char* kind) {
        return std::any_of(parsed.session->media.begin(), parsed.session->media.end(),
                           [&](const auto& m) { return m.media == kind && m.port != 0; });
      };
      if (has("video") && (!o.audio || has("audio"))) offered = *parsed.session;
    }
    if (!offered) fail("no offer with the published track");
    RemoteIce ice = ice_of(*offered);
    auto media = std::make_unique<LoopbackMediaClient>(ice.ufrag, ice.pwd, ice.port, certificate,
                                                       options.ice_ufrag);
    if (media->check().empty()) fail("subscriber ICE check unanswered");
    media->start_dtls(negotiated->remote_fingerprint, negotiated->dtls_role);
    if (!media->pump([&] { return media->connected(); }, std::chrono::seconds(5)))
      fail("subscriber " + std::to_string(i) + " did not connect");
    endpoints.subscribers.push_back(std::move(media));
  }
  return endpoints;
}

}  // namespace atrium::bench
