// sfu_load: a fan-out load test of the SFU through LiveKit's signalling, with
// native clients made of Atrium's own pieces (Beast WebSocket, our .proto
// messages, the loopback WebRTC client: ICE check, DTLS, SRTP).
//
// One publisher joins, announces a video track (add_track), offers a sendonly
// VP8 section, connects and sends synthetic VP8 packets (every one a keyframe
// start, so forwarding never waits) carrying its send time. N subscribers then
// join; each answers the SFU's offer (which already holds the track), connects
// and counts what arrives; every 16th packet is decrypted to read the send
// time. The SFU process's CPU time (from /proc) gives the cost per forwarded
// packet. Prints one JSON line.
//
//   sfu_load --url ws://127.0.0.1:PORT/livekit/sfu --key K --secret S
//            --server-pid PID [--subscribers 50] [--rate 2000] [--seconds 3]
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "livekit/proto/livekit_rtc.pb.h"
#include "livekit/token.hpp"
#include "media/rtp.hpp"
#include "media/rtp_rewrite.hpp"
#include "media/sdp_answer.hpp"
#include "media/sdp_offer.hpp"
#include "support/loopback_media_client.hpp"

namespace {

namespace lk = ::livekit;
namespace beast = boost::beast;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using atrium::testing::LoopbackMediaClient;

struct Options {
  std::string url;  // ws://host:port/prefix
  std::string key, secret;
  int server_pid = 0;
  int subscribers = 50;
  double rate = 2000;
  double seconds = 3;
  std::string room = "load";
};

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "sfu_load: %s\n", why.c_str());
  std::exit(1);
}

// The process's user+system CPU time, from /proc/<pid>/stat.
double process_cpu_seconds(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string skip;
  for (int i = 0; i < 11; ++i)
    fields >> skip;  // state .. cmajflt
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

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

// The SFU's ICE credentials and port from an SDP.
struct RemoteIce {
  std::string ufrag, pwd;
  uint16_t port = 0;
};
RemoteIce ice_of(const atrium::media::SdpSession& sdp) {
  RemoteIce ice;
  for (const auto& m : sdp.media) {
    if (m.port == 0) continue;
    ice.ufrag = m.transport.ice_ufrag.empty() ? sdp.transport.ice_ufrag : m.transport.ice_ufrag;
    ice.pwd = m.transport.ice_pwd.empty() ? sdp.transport.ice_pwd : m.transport.ice_pwd;
    for (const auto& c : m.candidates)
      if (c.transport == "udp") ice.port = c.port;
    if (ice.port) break;
  }
  return ice;
}

struct Subscriber {
  std::unique_ptr<Signal> signal;
  std::unique_ptr<LoopbackMediaClient> media;
  uint64_t received = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string name = argv[i], value = argv[i + 1];
    if (name == "--url")
      o.url = value;
    else if (name == "--key")
      o.key = value;
    else if (name == "--secret")
      o.secret = value;
    else if (name == "--server-pid")
      o.server_pid = std::stoi(value);
    else if (name == "--subscribers")
      o.subscribers = std::stoi(value);
    else if (name == "--rate")
      o.rate = std::stod(value);
    else if (name == "--seconds")
      o.seconds = std::stod(value);
    else
      fail("unknown option " + name);
  }
  if (o.url.empty() || o.key.empty() || o.secret.empty() || !o.server_pid)
    fail(
        "usage: sfu_load --url ws://host:port/prefix --key K --secret S --server-pid PID "
        "[--subscribers N] [--rate PPS] [--seconds S]");
  boost::asio::io_context io;
  auto certificate = atrium::media::DtlsCertificate::generate();

  // --- publisher: join, announce, offer, connect ---
  Signal publisher(io, o, "publisher");
  publisher.read_until(lk::SignalResponse::kJoin);
  lk::SignalRequest add;
  add.mutable_add_track()->set_cid("load-video");
  add.mutable_add_track()->set_type(lk::VIDEO);
  add.mutable_add_track()->set_source(lk::CAMERA);
  add.mutable_add_track()->set_width(640);
  add.mutable_add_track()->set_height(480);
  publisher.send(add);
  publisher.read_until(lk::SignalResponse::kTrackPublished);
  constexpr uint32_t kSsrc = 0x1234abcd;
  constexpr uint8_t kMidId = 1;
  atrium::media::OfferOptions offer;
  offer.ice_ufrag = "pubufrag";
  offer.ice_pwd = "publisher-password-0123";
  offer.fingerprint = certificate->fingerprint();
  atrium::media::OfferedSection video{.mid = "0", .kind = "video"};
  video.codecs = atrium::media::subscriber_video_codecs("VP8");
  video.codecs.resize(1);  // VP8 only, no RTX
  video.extmaps = {{.id = kMidId, .uri = atrium::media::extension_uri::kMid}};
  video.ssrc = kSsrc;
  video.cname = "load";
  video.stream_id = "load-stream";
  video.track_id = "load-video";
  offer.sections.push_back(video);
  lk::SignalRequest offer_request;
  offer_request.mutable_offer()->set_type("offer");
  offer_request.mutable_offer()->set_sdp(
      atrium::media::write_sdp(atrium::media::build_offer(offer)));
  offer_request.mutable_offer()->set_id(1);
  publisher.send(offer_request);
  auto answer = publisher.read_until(lk::SignalResponse::kAnswer);
  auto answer_sdp = atrium::media::parse_sdp(answer.answer().sdp());
  if (!answer_sdp) fail("bad answer SDP from the SFU");
  RemoteIce pub_ice = ice_of(*answer_sdp.session);
  LoopbackMediaClient pub(pub_ice.ufrag, pub_ice.pwd, pub_ice.port, certificate, offer.ice_ufrag);
  // The SFU answered passive (it is the DTLS server): we are the client.
  const auto& fp = answer_sdp.session->media[0].transport.fingerprint;
  if (!fp || !pub.connect(fp->value, std::chrono::seconds(5))) fail("publisher did not connect");

  std::vector<uint8_t> packet(1500);
  uint16_t seq = 0;
  uint32_t rtp_ts = 0;
  auto send_packet = [&] {
    // VP8 descriptor: S=1, PID 0; payload header P=0 (a keyframe start).
    size_t length = 12 + 1 + 1200;
    packet[0] = 0x80;
    packet[1] = 96;
    packet[2] = static_cast<uint8_t>(seq >> 8);
    packet[3] = static_cast<uint8_t>(seq);
    for (int i = 0; i < 4; ++i)
      packet[4 + i] = static_cast<uint8_t>(rtp_ts >> (24 - 8 * i));
    for (int i = 0; i < 4; ++i)
      packet[8 + i] = static_cast<uint8_t>(kSsrc >> (24 - 8 * i));
    packet[12] = 0x10;
    std::memset(&packet[13], 0, 1200);
    int64_t now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
            .count();
    std::memcpy(&packet[13 + 16], &now_ns, 8);
    ++seq;
    rtp_ts += 3000;
    uint8_t mid[] = {'0'};
    atrium::media::OneByteExtension element{.id = kMidId, .value = mid};
    auto with_mid = atrium::media::replace_header_extensions(
        std::span<uint8_t>(packet.data(), packet.size() - 32), length, std::span(&element, 1));
    if (!with_mid) fail("cannot build a packet");
    length = *with_mid;
    if (pub.srtp_send()->protect_rtp(packet, length) != atrium::media::SrtpError::kOk)
      fail("protect failed");
    pub.socket().queue_send(pub.server(), std::span<const uint8_t>(packet.data(), length));
  };
  // A few packets so the track counts as published before subscribers join.
  for (int i = 0; i < 20; ++i)
    send_packet();
  pub.socket().flush();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  // --- subscribers: join, answer the offer (it holds the track), connect ---
  std::vector<Subscriber> subscribers(static_cast<size_t>(o.subscribers));
  for (int i = 0; i < o.subscribers; ++i) {
    Subscriber& s = subscribers[static_cast<size_t>(i)];
    s.signal = std::make_unique<Signal>(io, o, "subscriber-" + std::to_string(i));
    s.signal->read_until(lk::SignalResponse::kJoin);
    atrium::media::AnswerOptions options;
    options.ice_ufrag = "sub" + std::to_string(i);
    options.ice_pwd = "subscriber-password-0123";
    options.fingerprint = certificate->fingerprint();
    // Answers the SFU's offer (we take passive: the SFU is the DTLS client).
    auto answer_offer = [&](const atrium::media::SdpSession& sdp, uint32_t id) {
      auto negotiated = atrium::media::negotiate_answer(sdp, options);
      if (!negotiated) fail("cannot answer: " + negotiated.error);
      lk::SignalRequest reply;
      reply.mutable_answer()->set_type("answer");
      reply.mutable_answer()->set_sdp(atrium::media::write_sdp(negotiated.session->answer));
      reply.mutable_answer()->set_id(id);
      s.signal->send(reply);
      return *negotiated.session;
    };
    // The first offer may come before the track is added: answer until one has video.
    std::optional<atrium::media::SdpSession> offered;
    std::optional<atrium::media::NegotiatedSession> negotiated;
    for (int tries = 0; tries < 5 && !offered; ++tries) {
      auto sfu_offer = s.signal->read_until(lk::SignalResponse::kOffer);
      auto parsed = atrium::media::parse_sdp(sfu_offer.offer().sdp());
      if (!parsed) fail("bad offer SDP from the SFU");
      negotiated = answer_offer(*parsed.session, sfu_offer.offer().id());
      if (std::any_of(parsed.session->media.begin(), parsed.session->media.end(),
                      [](const auto& m) { return m.media == "video"; }))
        offered = *parsed.session;
    }
    if (!offered) fail("no offer with the published track");
    RemoteIce ice = ice_of(*offered);
    s.media = std::make_unique<LoopbackMediaClient>(ice.ufrag, ice.pwd, ice.port, certificate,
                                                    options.ice_ufrag);
    if (s.media->check().empty()) fail("subscriber ICE check unanswered");
    s.media->start_dtls(negotiated->remote_fingerprint, negotiated->dtls_role);
    if (!s.media->pump([&] { return s.media->connected(); }, std::chrono::seconds(5)))
      fail("subscriber " + std::to_string(i) + " did not connect");
  }

  // --- load ---
  std::vector<double> delays;
  std::vector<uint8_t> sample(2048);
  auto drain = [&] {
    for (auto& s : subscribers) {
      s.media->socket().receive_all([&](std::span<uint8_t> buffer, size_t length,
                                        const atrium::media::TransportAddress&) {
        if (buffer[0] < 128 || buffer[0] > 191 || (buffer[1] >= 192 && buffer[1] <= 223))
          return;  // not RTP
        if ((++s.received & 15) != 0 || !s.media->srtp_receive()) return;
        std::memcpy(sample.data(), buffer.data(), length);
        size_t n = length;
        if (s.media->srtp_receive()->unprotect_rtp(sample, n) != atrium::media::SrtpError::kOk)
          return;
        auto view = atrium::media::RtpView::parse(std::span<const uint8_t>(sample.data(), n));
        if (!view || view->payload().size() < 1 + 16 + 8) return;
        int64_t sent_ns;
        std::memcpy(&sent_ns, view->payload().data() + 1 + 16, 8);
        int64_t now_ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
                .count();
        delays.push_back(static_cast<double>(now_ns - sent_ns) / 1000.0);
      });
    }
  };
  drain();
  for (auto& s : subscribers)
    s.received = 0;
  delays.clear();
  double cpu_before = process_cpu_seconds(o.server_pid);
  auto begin = Clock::now();
  auto end = begin + std::chrono::duration<double>(o.seconds);
  uint64_t sent = 0;
  while (Clock::now() < end) {
    double due = o.rate * std::chrono::duration<double>(Clock::now() - begin).count();
    int burst = static_cast<int>(std::min<double>(32, due - static_cast<double>(sent)));
    for (int i = 0; i < burst; ++i, ++sent)
      send_packet();
    pub.socket().flush();
    drain();
    if (burst <= 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  auto tail_end = Clock::now() + std::chrono::milliseconds(500);
  while (Clock::now() < tail_end) {
    drain();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  double wall = std::chrono::duration<double>(Clock::now() - begin).count();
  double cpu = process_cpu_seconds(o.server_pid) - cpu_before;
  uint64_t received = 0;
  for (auto& s : subscribers)
    received += s.received;
  uint64_t expected = sent * static_cast<uint64_t>(o.subscribers);
  std::sort(delays.begin(), delays.end());
  auto percentile = [&](double p) {
    return delays.empty()
               ? 0.0
               : delays[std::min(delays.size() - 1,
                                 static_cast<size_t>(p * static_cast<double>(delays.size())))];
  };
  std::printf(
      "{\"subscribers\":%d,\"rate\":%.0f,\"sent\":%llu,\"received\":%llu,\"loss\":%.5f,"
      "\"forwarded_per_second\":%.0f,\"server_cpu_seconds\":%.3f,\"per_core_second\":%.0f,"
      "\"delay_p50_us\":%.0f,\"delay_p99_us\":%.0f}\n",
      o.subscribers, o.rate, static_cast<unsigned long long>(sent),
      static_cast<unsigned long long>(received),
      expected ? 1.0 - static_cast<double>(received) / static_cast<double>(expected) : 0.0,
      static_cast<double>(received) / wall, cpu,
      cpu > 0 ? static_cast<double>(received) / cpu : 0.0, percentile(0.5), percentile(0.99));
  for (auto& s : subscribers)
    s.signal->close();
  publisher.close();
  return 0;
}
