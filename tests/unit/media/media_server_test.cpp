// The media server end to end over real loopback UDP: a test client made of
// our own pieces (a STUN check as the controlling agent, a DTLS client, SRTP,
// an SCTP association) talks to a WebRtcTransport behind a MediaServer.
#include "media/media_server.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <deque>
#include <thread>

#include "media/rtp.hpp"
#include "media/sctp_association.hpp"

namespace atrium::media {
namespace {

using Clock = std::chrono::steady_clock;

struct ServerSide {
  std::mutex mutex;
  std::vector<std::vector<uint8_t>> rtp;
  std::vector<std::string> messages;
  std::atomic<int> channels_opened{0};
};

class TestClient {
 public:
  TestClient(std::string server_ufrag, std::string server_pwd, uint16_t server_port)
      : server_ufrag_(std::move(server_ufrag)), server_pwd_(std::move(server_pwd)) {
    std::string error;
    socket_ = UdpSocket::bind("127.0.0.1", 0, false, &error);
    server_ = *parse_ip("127.0.0.1", server_port);
  }

  // One binding request as the controlling agent, nominating the pair.
  std::vector<uint8_t> check(std::string username_ufrag = "") {
    stun::TransactionId id{};
    for (size_t i = 0; i < id.size(); ++i)
      id[i] = static_cast<uint8_t>(i * 7 + ++counter_);
    stun::MessageBuilder builder(
        stun::message_type(stun::kMethodBinding, stun::MessageClass::kRequest), id);
    builder
        .add_string(stun::attr::kUsername,
                    (username_ufrag.empty() ? server_ufrag_ : username_ufrag) + ":client")
        .add_u32(stun::attr::kPriority, 1853824767)
        .add_u64(stun::attr::kIceControlling, 42)
        .add_attribute(stun::attr::kUseCandidate, {})
        .add_message_integrity(server_pwd_)
        .add_fingerprint();
    auto request = std::move(builder).finish();
    send(request);
    return receive_one(std::chrono::milliseconds(1000));
  }

  void send(std::span<const uint8_t> datagram) {
    socket_->queue_send(server_, datagram);
    socket_->flush();
  }

  // Waits up to `timeout` for datagrams; returns the first (others queued).
  std::vector<uint8_t> receive_one(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (inbox_.empty() && Clock::now() < deadline) {
      pollfd fd{socket_->fd(), POLLIN, 0};
      poll(&fd, 1, 10);
      socket_->receive_all([&](std::span<uint8_t> buffer, size_t length, const TransportAddress&) {
        inbox_.emplace_back(buffer.begin(), buffer.begin() + static_cast<long>(length));
      });
    }
    if (inbox_.empty()) return {};
    auto first = std::move(inbox_.front());
    inbox_.pop_front();
    return first;
  }

  std::deque<std::vector<uint8_t>> inbox_;

 private:
  std::string server_ufrag_, server_pwd_;
  std::unique_ptr<UdpSocket> socket_;
  TransportAddress server_;
  int counter_ = 0;
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
                                                 bool data_channels = true) {
    WebRtcTransportConfig config;
    config.local_ufrag = "srv" + std::to_string(++transports_);
    config.local_password = "server-password-0123456789";
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
    server_->add(transport);
    return transport;
  }

  std::unique_ptr<MediaServer> server_;
  std::shared_ptr<DtlsCertificate> client_cert_;
  ServerSide side_;
  int transports_ = 0;
};

// Drives a DTLS client over the client socket until it connects or fails.
struct DtlsClient {
  TestClient& client;
  std::optional<DtlsSrtpKeys> keys;
  bool connected = false;
  std::vector<std::vector<uint8_t>> application;
  std::unique_ptr<DtlsTransport> dtls;

  DtlsClient(TestClient& c, std::shared_ptr<DtlsCertificate> cert, const std::string& server_fp)
      : client(c) {
    dtls = std::make_unique<DtlsTransport>(
        cert,
        DtlsConfig{.role = DtlsRole::kClient,
                   .remote_fingerprint_algorithm = "sha-256",
                   .remote_fingerprint = server_fp},
        DtlsTransport::Callbacks{
            .send_datagram = [this](std::span<const uint8_t> d) { client.send(d); },
            .on_connected =
                [this](const std::optional<DtlsSrtpKeys>& k) {
                  keys = k;
                  connected = true;
                },
            .on_application_data =
                [this](std::span<const uint8_t> d) {
                  application.emplace_back(d.begin(), d.end());
                },
            .on_failed = {},
            .on_closed = {},
        });
  }
  // Pumps until `done` or the timeout; non-DTLS datagrams stay in `other`.
  template <typename Done>
  bool pump(Done done, std::chrono::milliseconds timeout,
            std::vector<std::vector<uint8_t>>* other = nullptr) {
    auto deadline = Clock::now() + timeout;
    while (!done() && Clock::now() < deadline) {
      auto datagram = client.receive_one(std::chrono::milliseconds(20));
      if (datagram.empty()) {
        if (auto next = dtls->next_timeout(Clock::now()); next && *next <= Clock::now())
          dtls->handle_timeout(Clock::now());
        continue;
      }
      if (datagram[0] >= 20 && datagram[0] <= 63)
        dtls->handle_datagram(datagram, Clock::now());
      else if (other)
        other->push_back(std::move(datagram));
    }
    return done();
  }
};

TEST_F(MediaServerTest, AnswersChecksForKnownUfragsOnly) {
  add_transport(client_cert_->fingerprint());
  TestClient client("srv1", "server-password-0123456789", server_->udp_port());
  auto response = client.check();
  ASSERT_FALSE(response.empty());
  auto message = stun::Message::parse(response);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->message_class(), stun::MessageClass::kSuccessResponse);
  EXPECT_TRUE(message->verify_message_integrity("server-password-0123456789"));

  TestClient stranger("nobody", "server-password-0123456789", server_->udp_port());
  EXPECT_TRUE(stranger.check().empty());
  EXPECT_GE(server_->stats().unroutable, 1u);
}

TEST_F(MediaServerTest, DtlsSrtpEchoAndDataChannel) {
  auto transport = add_transport(client_cert_->fingerprint());
  TestClient client("srv1", "server-password-0123456789", server_->udp_port());
  ASSERT_FALSE(client.check().empty());
  DtlsClient dtls(client, client_cert_, server_->certificate()->fingerprint());
  dtls.dtls->start(Clock::now());
  ASSERT_TRUE(dtls.pump([&] { return dtls.connected; }, std::chrono::seconds(5)));
  ASSERT_TRUE(dtls.keys);
  auto send_session =
      SrtpSession::create(dtls.keys->profile, dtls.keys->local_key, dtls.keys->local_salt);
  auto receive_session =
      SrtpSession::create(dtls.keys->profile, dtls.keys->remote_key, dtls.keys->remote_salt);

  // RTP: protected by us, decrypted by the server, echoed, decrypted by us.
  std::vector<uint8_t> packet = {0x80, 96,   0,   1,   0,   0,   0,   10,  0x11, 0x22,
                                 0x33, 0x44, 'p', 'a', 'y', 'l', 'o', 'a', 'd'};
  std::vector<uint8_t> wire = packet;
  wire.resize(wire.size() + kSrtpMaxOverhead);
  size_t length = packet.size();
  ASSERT_EQ(send_session->protect_rtp(wire, length), SrtpError::kOk);
  wire.resize(length);
  std::vector<std::vector<uint8_t>> other;
  bool echoed = false;
  for (int attempt = 0; attempt < 50 && !echoed; ++attempt) {
    client.send(wire);
    dtls.pump([&] { return !other.empty(); }, std::chrono::milliseconds(100), &other);
    for (auto& datagram : other) {
      size_t n = datagram.size();
      datagram.resize(n + kSrtpMaxOverhead);
      if (receive_session->unprotect_rtp(datagram, n) == SrtpError::kOk) {
        datagram.resize(n);
        EXPECT_EQ(datagram, packet);
        echoed = true;
      }
    }
    other.clear();
    if (!echoed) {  // a replay would be refused: make each attempt a new packet
      packet[3]++;
      wire = packet;
      wire.resize(wire.size() + kSrtpMaxOverhead);
      length = packet.size();
      ASSERT_EQ(send_session->protect_rtp(wire, length), SrtpError::kOk);
      wire.resize(length);
    }
  }
  EXPECT_TRUE(echoed);

  // A data channel over SCTP over the same DTLS.
  std::vector<std::string> echoes;
  SctpConfig sctp_config;
  sctp_config.dtls_client = true;
  SctpCallbacks sctp_callbacks;
  sctp_callbacks.send_packet = [&](std::span<const uint8_t> p) {
    dtls.dtls->send_application_data(p);
  };
  sctp_callbacks.on_message = [&](uint16_t, MessageKind, std::span<const uint8_t> data) {
    echoes.emplace_back(data.begin(), data.end());
  };
  SctpAssociation sctp(sctp_config, std::move(sctp_callbacks));
  ASSERT_TRUE(sctp.start());
  auto drain_sctp = [&] {
    for (auto& p : dtls.application)
      sctp.handle_packet(p);
    dtls.application.clear();
  };
  ASSERT_TRUE(dtls.pump(
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
  EXPECT_TRUE(dtls.pump(
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
  TestClient client("srv1", "server-password-0123456789", server_->udp_port());
  ASSERT_FALSE(client.check().empty());
  DtlsClient dtls(client, client_cert_, server_->certificate()->fingerprint());
  dtls.dtls->start(Clock::now());
  EXPECT_FALSE(dtls.pump([&] { return dtls.connected; }, std::chrono::seconds(2)));
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
  TestClient client("srv1", "server-password-0123456789", server_->udp_port());
  // No ICE check first: the ClientHello comes from an unknown address.
  DtlsClient dtls(client, client_cert_, server_->certificate()->fingerprint());
  dtls.dtls->start(Clock::now());
  EXPECT_FALSE(dtls.pump([&] { return dtls.connected; }, std::chrono::milliseconds(500)));
  EXPECT_GE(server_->stats().unroutable, 1u);
}

TEST_F(MediaServerTest, RemoveDropsTheTransport) {
  add_transport(client_cert_->fingerprint());
  TestClient client("srv1", "server-password-0123456789", server_->udp_port());
  ASSERT_FALSE(client.check().empty());
  server_->remove("srv1");
  for (int i = 0; i < 100 && server_->stats().transports != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(server_->stats().transports, 0u);
  EXPECT_TRUE(client.check().empty());
}

}  // namespace
}  // namespace atrium::media
