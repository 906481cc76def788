// The media server end to end over real loopback UDP: a test client made of
// our own pieces (a STUN check as the controlling agent, a DTLS client, SRTP,
// an SCTP association) talks to a WebRtcTransport behind a MediaServer.
#include "media/media_server.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <thread>

#include "media/rtp.hpp"
#include "media/sctp_association.hpp"
#include "support/loopback_media_client.hpp"

namespace atrium::media {
namespace {

using Clock = std::chrono::steady_clock;
using Client = testing::LoopbackMediaClient;
constexpr char kPassword[] = "server-password-0123456789";

struct ServerSide {
  std::mutex mutex;
  std::vector<std::vector<uint8_t>> rtp;
  std::vector<std::string> messages;
  std::atomic<int> channels_opened{0};
};

class MediaServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    MediaServerConfig config;
    config.workers = 2;
    server_ = MediaServer::start(config, &error);
    ASSERT_TRUE(server_) << error;
    client_cert_ = DtlsCertificate::generate();
  }

  std::shared_ptr<WebRtcTransport> add_transport(std::string expected_fingerprint,
                                                 bool data_channels = true,
                                                 std::optional<size_t> worker = {}) {
    WebRtcTransportConfig config;
    config.local_ufrag = "srv" + std::to_string(++transports_);
    config.local_password = kPassword;
    config.remote_ufrag = "client";
    config.remote_fingerprint = std::move(expected_fingerprint);
    config.data_channels = data_channels;
    WebRtcTransport::Callbacks callbacks;
    auto raw = std::make_shared<WebRtcTransport*>(nullptr);  // set once created
    auto* side = &side_;
    callbacks.on_rtp = [side, raw](std::span<uint8_t> buffer, size_t length) {
      {
        std::lock_guard lock(side->mutex);
        side->rtp.emplace_back(buffer.begin(), buffer.begin() + static_cast<long>(length));
      }
      (*raw)->send_rtp(buffer, length);  // echo
    };
    callbacks.on_channel_open = [side](const DataChannelInfo&) { ++side->channels_opened; };
    callbacks.on_message = [side, raw](uint16_t stream, MessageKind kind,
                                       std::span<const uint8_t> data) {
      {
        std::lock_guard lock(side->mutex);
        side->messages.emplace_back(data.begin(), data.end());
      }
      (*raw)->send_message(stream, kind, data);
    };
    auto transport = std::make_shared<WebRtcTransport>(server_->certificate(), config,
                                                       std::move(callbacks), Clock::now());
    *raw = transport.get();
    server_->add(transport, worker);
    return transport;
  }

  std::unique_ptr<MediaServer> server_;
  std::shared_ptr<DtlsCertificate> client_cert_;
  ServerSide side_;
  int transports_ = 0;
};

TEST_F(MediaServerTest, ASecondServerOnItsPortsIsRefused) {
  // SO_REUSEPORT would let it share them, and the peers' packets would be
  // split between the two servers.
  const uint16_t udp = server_->udp_port(), tcp = server_->tcp_port();
  ASSERT_NE(tcp, 0);
  MediaServerConfig config;
  config.workers = 1;
  config.udp_port = udp;
  std::string error;
  EXPECT_FALSE(MediaServer::start(config, &error));
  EXPECT_NE(error.find("udp port " + std::to_string(udp) + " is not free"), std::string::npos)
      << error;
  config.udp_port = 0;
  config.tcp_port = tcp;
  error.clear();
  EXPECT_FALSE(MediaServer::start(config, &error));
  EXPECT_NE(error.find("tcp port " + std::to_string(tcp) + " is not free"), std::string::npos)
      << error;
  // Once the first server is gone, its ports are free again.
  server_.reset();
  config.udp_port = udp;
  auto again = MediaServer::start(config, &error);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(again->udp_port(), udp);
  EXPECT_EQ(again->tcp_port(), tcp);
}

TEST_F(MediaServerTest, AnswersChecksForKnownUfragsOnly) {
  add_transport(client_cert_->fingerprint());
  Client client("srv1", kPassword, server_->udp_port(), client_cert_);
  auto response = client.check();
  ASSERT_FALSE(response.empty());
  auto message = stun::Message::parse(response);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->message_class(), stun::MessageClass::kSuccessResponse);
  EXPECT_TRUE(message->verify_message_integrity(kPassword));

  Client stranger("nobody", kPassword, server_->udp_port(), client_cert_);
  EXPECT_TRUE(stranger.check().empty());
  EXPECT_GE(server_->stats().unroutable, 1u);
}

// Protects a copy of `packet` with the client's SRTP send session.
std::vector<uint8_t> protect(Client& client, const std::vector<uint8_t>& packet) {
  std::vector<uint8_t> wire = packet;
  wire.resize(wire.size() + kSrtpMaxOverhead);
  size_t length = packet.size();
  EXPECT_EQ(client.srtp_send()->protect_rtp(wire, length), SrtpError::kOk);
  wire.resize(length);
  return wire;
}

TEST_F(MediaServerTest, DtlsSrtpEchoAndDataChannel) {
  auto transport = add_transport(client_cert_->fingerprint());
  Client client("srv1", kPassword, server_->udp_port(), client_cert_);
  ASSERT_TRUE(client.connect(server_->certificate()->fingerprint(), std::chrono::seconds(5)));
  ASSERT_TRUE(client.srtp_send());

  // RTP: protected by us, decrypted by the server, echoed, decrypted by us.
  std::vector<uint8_t> packet = {0x80, 96,   0,   1,   0,   0,   0,   10,  0x11, 0x22,
                                 0x33, 0x44, 'p', 'a', 'y', 'l', 'o', 'a', 'd'};
  std::vector<Client::Datagram> other;
  bool echoed = false;
  for (int attempt = 0; attempt < 50 && !echoed; ++attempt) {
    packet[3] = static_cast<uint8_t>(attempt);  // a new packet each time (replay window)
    client.send(protect(client, packet));
    client.pump([&] { return !other.empty(); }, std::chrono::milliseconds(100), &other);
    for (auto& datagram : other) {
      size_t n = datagram.size();
      datagram.resize(n + kSrtpMaxOverhead);
      if (client.srtp_receive()->unprotect_rtp(datagram, n) == SrtpError::kOk) {
        datagram.resize(n);
        EXPECT_EQ(datagram, packet);
        echoed = true;
      }
    }
    other.clear();
  }
  EXPECT_TRUE(echoed);

  // A data channel over SCTP over the same DTLS.
  std::vector<std::string> echoes;
  SctpConfig sctp_config;
  sctp_config.dtls_client = true;
  SctpCallbacks sctp_callbacks;
  sctp_callbacks.send_packet = [&](std::span<const uint8_t> p) {
    client.dtls().send_application_data(p);
  };
  sctp_callbacks.on_message = [&](uint16_t, MessageKind, std::span<const uint8_t> data) {
    echoes.emplace_back(data.begin(), data.end());
  };
  SctpAssociation sctp(sctp_config, std::move(sctp_callbacks));
  ASSERT_TRUE(sctp.start());
  auto drain_sctp = [&] {
    for (auto& p : client.application())
      sctp.handle_packet(p);
    client.application().clear();
  };
  ASSERT_TRUE(client.pump(
      [&] {
        drain_sctp();
        return sctp.state() == SctpState::kConnected;
      },
      std::chrono::seconds(5)));
  auto stream = sctp.open_channel("chat", "", true, dcep::Reliability::reliable());
  ASSERT_TRUE(stream);
  std::string text = "hello over sctp";
  ASSERT_EQ(sctp.send_message(*stream, MessageKind::kString,
                              {reinterpret_cast<const uint8_t*>(text.data()), text.size()}),
            SendResult::kOk);
  EXPECT_TRUE(client.pump(
      [&] {
        drain_sctp();
        return !echoes.empty();
      },
      std::chrono::seconds(5)));
  ASSERT_EQ(echoes.size(), 1u);
  EXPECT_EQ(echoes[0], text);
  EXPECT_EQ(side_.channels_opened.load(), 1);
  EXPECT_EQ(transport->state(), TransportState::kConnected);
}

TEST_F(MediaServerTest, WrongFingerprintNeverGetsKeys) {
  auto other_cert = DtlsCertificate::generate();
  auto transport = add_transport(other_cert->fingerprint());  // expects someone else
  Client client("srv1", kPassword, server_->udp_port(), client_cert_);
  EXPECT_FALSE(client.connect(server_->certificate()->fingerprint(), std::chrono::seconds(2)));
  // The server refused: its transport failed and was dropped.
  for (int i = 0; i < 100 && transport->state() != TransportState::kFailed; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(transport->state(), TransportState::kFailed);
  EXPECT_NE(transport->failure_reason().find("fingerprint"), std::string::npos)
      << transport->failure_reason();
  EXPECT_EQ(transport->counters().rtp_in.load(), 0u);
}

TEST_F(MediaServerTest, DtlsFromUnvalidatedAddressIsDropped) {
  add_transport(client_cert_->fingerprint());
  Client client("srv1", kPassword, server_->udp_port(), client_cert_);
  // No ICE check first: the ClientHello comes from an unknown address.
  client.start_dtls(server_->certificate()->fingerprint());
  EXPECT_FALSE(client.pump([&] { return client.connected(); }, std::chrono::milliseconds(500)));
  EXPECT_GE(server_->stats().unroutable, 1u);
}

TEST_F(MediaServerTest, RemoveDropsTheTransport) {
  add_transport(client_cert_->fingerprint());
  Client client("srv1", kPassword, server_->udp_port(), client_cert_);
  ASSERT_FALSE(client.check().empty());
  server_->remove("srv1");
  for (int i = 0; i < 100 && server_->stats().transports != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(server_->stats().transports, 0u);
  EXPECT_TRUE(client.check().empty());
}

// A transport pinned to a worker (a room's) works whichever worker's socket
// the client's address hashes to: packets are handed over to the owner.
TEST_F(MediaServerTest, PinnedTransportsWorkFromEverySocket) {
  for (size_t worker = 0; worker < 2; ++worker) {
    auto transport = add_transport(client_cert_->fingerprint(), false, worker);
    Client client(transport->local_ufrag(), kPassword, server_->udp_port(), client_cert_);
    ASSERT_TRUE(client.connect(server_->certificate()->fingerprint(), std::chrono::seconds(5)))
        << "worker " << worker;
    // The client is connected once its side of DTLS is done; the server's
    // worker may still be handling the last flight.
    for (int i = 0; i < 200 && transport->state() != TransportState::kConnected; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(transport->state(), TransportState::kConnected);
    EXPECT_TRUE(transport->loop() == &server_->worker_loop(worker));
  }
}

// An offerer learns the peer's fingerprint from the answer: ICE works at
// once, DTLS waits for set_remote_dtls.
TEST_F(MediaServerTest, RemoteDtlsParametersCanComeLater) {
  auto transport = add_transport("", false);
  Client client("srv1", kPassword, server_->udp_port(), client_cert_);
  ASSERT_FALSE(client.check().empty());
  client.start_dtls(server_->certificate()->fingerprint());
  EXPECT_FALSE(client.pump([&] { return client.connected(); }, std::chrono::milliseconds(300)));
  transport->loop()->post([transport, fp = client_cert_->fingerprint()] {
    transport->set_remote_dtls(DtlsRole::kServer, "sha-256", fp);
  });
  EXPECT_TRUE(client.pump([&] { return client.connected(); }, std::chrono::seconds(5)));
}

// RFC 6544 / RFC 4571: a binding request framed with a 16-bit length over a
// TCP connection gets a framed response on the same connection; a frame
// split across writes is reassembled.
TEST_F(MediaServerTest, IceOverTcpAnswersFramedChecks) {
  add_transport(client_cert_->fingerprint());
  ASSERT_NE(server_->tcp_port(), 0);
  auto candidates = server_->candidates();
  ASSERT_EQ(candidates.size(), 2u);
  EXPECT_EQ(candidates[1].transport, "tcp");
  EXPECT_EQ(candidates[1].port, server_->tcp_port());
  EXPECT_LT(candidates[1].priority, candidates[0].priority);

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(server_->tcp_port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  stun::TransactionId id{};
  id[0] = 9;
  stun::MessageBuilder builder(
      stun::message_type(stun::kMethodBinding, stun::MessageClass::kRequest), id);
  builder.add_string(stun::attr::kUsername, "srv1:client")
      .add_u32(stun::attr::kPriority, 1)
      .add_u64(stun::attr::kIceControlling, 1)
      .add_attribute(stun::attr::kUseCandidate, {})
      .add_message_integrity(kPassword)
      .add_fingerprint();
  auto request = std::move(builder).finish();
  std::vector<uint8_t> framed = {static_cast<uint8_t>(request.size() >> 8),
                                 static_cast<uint8_t>(request.size())};
  framed.insert(framed.end(), request.begin(), request.end());
  ASSERT_EQ(write(fd, framed.data(), 5), 5);  // split the frame
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(write(fd, framed.data() + 5, framed.size() - 5),
            static_cast<ssize_t>(framed.size() - 5));
  std::vector<uint8_t> received;
  auto deadline = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    uint8_t chunk[2048];
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0) break;
    received.insert(received.end(), chunk, chunk + n);
    if (received.size() >= 2 && received.size() >= 2u + ((received[0] << 8) | received[1])) break;
  }
  close(fd);
  ASSERT_GE(received.size(), 2u);
  size_t length = (received[0] << 8) | received[1];
  ASSERT_EQ(received.size(), length + 2);
  auto message = stun::Message::parse(std::span<const uint8_t>(received).subspan(2));
  ASSERT_TRUE(message);
  EXPECT_EQ(message->message_class(), stun::MessageClass::kSuccessResponse);
  EXPECT_GE(server_->stats().tcp_connections, 1u);
}

}  // namespace
}  // namespace atrium::media
