// Two DtlsTransports talking through in-memory queues: both roles, SRTP key
// export, application data, the fingerprint check, loss and timeouts.
#include "media/dtls.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <thread>
#include <vector>

namespace atrium::media {
namespace {

using Clock = DtlsTransport::Clock;
using Datagram = std::vector<uint8_t>;

struct Endpoint {
  std::deque<Datagram> outbox;
  std::optional<std::optional<DtlsSrtpKeys>> connected;
  std::vector<Datagram> received;
  std::string failure;
  bool closed = false;
  std::unique_ptr<DtlsTransport> transport;

  DtlsTransport::Callbacks callbacks() {
    return {
        .send_datagram =
            [this](std::span<const uint8_t> d) { outbox.emplace_back(d.begin(), d.end()); },
        .on_connected = [this](const std::optional<DtlsSrtpKeys>& keys) { connected = keys; },
        .on_application_data =
            [this](std::span<const uint8_t> d) { received.emplace_back(d.begin(), d.end()); },
        .on_failed = [this](const std::string& reason) { failure = reason; },
        .on_closed = [this] { closed = true; },
    };
  }
};

class DtlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_cert_ = DtlsCertificate::generate();
    server_cert_ = DtlsCertificate::generate();
    ASSERT_TRUE(client_cert_);
    ASSERT_TRUE(server_cert_);
  }

  void make(const std::string& client_expects, const std::string& server_expects) {
    client_.transport =
        std::make_unique<DtlsTransport>(client_cert_,
                                        DtlsConfig{.role = DtlsRole::kClient,
                                                   .remote_fingerprint_algorithm = "sha-256",
                                                   .remote_fingerprint = client_expects},
                                        client_.callbacks());
    server_.transport =
        std::make_unique<DtlsTransport>(server_cert_,
                                        DtlsConfig{.role = DtlsRole::kServer,
                                                   .remote_fingerprint_algorithm = "sha-256",
                                                   .remote_fingerprint = server_expects},
                                        server_.callbacks());
  }

  // Delivers queued datagrams both ways until both outboxes are empty.
  void pump(Clock::time_point now = Clock::now()) {
    for (int round = 0; round < 100; ++round) {
      if (client_.outbox.empty() && server_.outbox.empty()) return;
      while (!client_.outbox.empty()) {
        Datagram d = std::move(client_.outbox.front());
        client_.outbox.pop_front();
        server_.transport->handle_datagram(d, now);
      }
      while (!server_.outbox.empty()) {
        Datagram d = std::move(server_.outbox.front());
        server_.outbox.pop_front();
        client_.transport->handle_datagram(d, now);
      }
    }
  }

  std::shared_ptr<DtlsCertificate> client_cert_, server_cert_;
  Endpoint client_, server_;
};

TEST_F(DtlsTest, CertificateFingerprintIsSha256Hex) {
  const std::string& fp = server_cert_->fingerprint();
  EXPECT_EQ(server_cert_->fingerprint_algorithm(), "sha-256");
  ASSERT_EQ(fp.size(), 32u * 3 - 1);
  for (size_t i = 2; i < fp.size(); i += 3)
    EXPECT_EQ(fp[i], ':');
  EXPECT_NE(fp, client_cert_->fingerprint());
}

TEST_F(DtlsTest, HandshakeExportsMatchingGcmKeys) {
  make(server_cert_->fingerprint(), client_cert_->fingerprint());
  auto now = Clock::now();
  server_.transport->start(now);
  client_.transport->start(now);
  pump(now);
  ASSERT_EQ(client_.transport->state(), DtlsState::kConnected) << client_.failure;
  ASSERT_EQ(server_.transport->state(), DtlsState::kConnected) << server_.failure;
  ASSERT_TRUE(client_.connected && *client_.connected);
  ASSERT_TRUE(server_.connected && *server_.connected);
  const DtlsSrtpKeys& c = **client_.connected;
  const DtlsSrtpKeys& s = **server_.connected;
  EXPECT_EQ(c.profile, SrtpProfile::kAeadAes128Gcm);  // preferred over AES-CM
  EXPECT_EQ(c.local_key.size(), 16u);
  EXPECT_EQ(c.local_salt.size(), 12u);
  EXPECT_EQ(c.local_key, s.remote_key);
  EXPECT_EQ(c.local_salt, s.remote_salt);
  EXPECT_EQ(c.remote_key, s.local_key);
  EXPECT_NE(c.local_key, c.remote_key);
}

TEST_F(DtlsTest, ApplicationDataBothWaysAndClose) {
  make(server_cert_->fingerprint(), client_cert_->fingerprint());
  client_.transport->start(Clock::now());
  pump();
  ASSERT_EQ(server_.transport->state(), DtlsState::kConnected);
  Datagram big(4000, 0x5a);
  EXPECT_TRUE(client_.transport->send_application_data(big));
  EXPECT_TRUE(server_.transport->send_application_data(Datagram{1, 2, 3}));
  pump();
  ASSERT_EQ(server_.received.size(), 1u);
  EXPECT_EQ(server_.received[0], big);
  ASSERT_EQ(client_.received.size(), 1u);
  EXPECT_EQ(client_.received[0], (Datagram{1, 2, 3}));
  client_.transport->close();
  pump();
  EXPECT_TRUE(server_.closed);
  EXPECT_FALSE(server_.transport->send_application_data(Datagram{1}));
}

TEST_F(DtlsTest, ServerRefusesClientWithWrongFingerprint) {
  make(server_cert_->fingerprint(), server_cert_->fingerprint());  // server expects wrong one
  client_.transport->start(Clock::now());
  pump();
  EXPECT_EQ(server_.transport->state(), DtlsState::kFailed);
  EXPECT_NE(server_.failure.find("fingerprint"), std::string::npos) << server_.failure;
  EXPECT_FALSE(server_.connected);
  EXPECT_NE(client_.transport->state(), DtlsState::kConnected);
}

TEST_F(DtlsTest, ClientRefusesServerWithWrongFingerprint) {
  make(client_cert_->fingerprint(), client_cert_->fingerprint());  // client expects wrong one
  client_.transport->start(Clock::now());
  pump();
  EXPECT_EQ(client_.transport->state(), DtlsState::kFailed);
  EXPECT_FALSE(client_.connected);
  EXPECT_NE(server_.transport->state(), DtlsState::kConnected);
}

TEST_F(DtlsTest, FingerprintComparisonIgnoresCase) {
  std::string lower = server_cert_->fingerprint();
  for (char& ch : lower)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  make(lower, client_cert_->fingerprint());
  client_.transport->start(Clock::now());
  pump();
  EXPECT_EQ(client_.transport->state(), DtlsState::kConnected) << client_.failure;
}

TEST_F(DtlsTest, LostFlightIsRetransmitted) {
  make(server_cert_->fingerprint(), client_cert_->fingerprint());
  auto now = Clock::now();
  client_.transport->start(now);
  ASSERT_FALSE(client_.outbox.empty());
  client_.outbox.clear();  // the ClientHello is lost
  auto next = client_.transport->next_timeout(now);
  ASSERT_TRUE(next);
  EXPECT_LE(*next - now, std::chrono::milliseconds(150));  // our short initial timer
  // OpenSSL's timer runs on the wall clock: wait it out for real.
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  client_.transport->handle_timeout(Clock::now());
  ASSERT_FALSE(client_.outbox.empty());
  pump();
  EXPECT_EQ(client_.transport->state(), DtlsState::kConnected);
}

// The server is connected (its record buffers given back between calls)
// when its last flight is lost: the client's retransmission must still get
// an answer, and data must flow both ways afterwards.
TEST_F(DtlsTest, LostFinalFlightIsResentByAConnectedServer) {
  make(server_cert_->fingerprint(), client_cert_->fingerprint());
  client_.transport->start(Clock::now());
  for (int round = 0; round < 10 && server_.transport->state() != DtlsState::kConnected; ++round) {
    while (!client_.outbox.empty()) {
      Datagram d = std::move(client_.outbox.front());
      client_.outbox.pop_front();
      server_.transport->handle_datagram(d, Clock::now());
    }
    if (server_.transport->state() == DtlsState::kConnected) break;
    while (!server_.outbox.empty()) {
      Datagram d = std::move(server_.outbox.front());
      server_.outbox.pop_front();
      client_.transport->handle_datagram(d, Clock::now());
    }
  }
  ASSERT_EQ(server_.transport->state(), DtlsState::kConnected) << server_.failure;
  server_.outbox.clear();  // ChangeCipherSpec + Finished are lost
  ASSERT_NE(client_.transport->state(), DtlsState::kConnected);
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  client_.transport->handle_timeout(Clock::now());
  ASSERT_FALSE(client_.outbox.empty());
  pump();
  ASSERT_EQ(client_.transport->state(), DtlsState::kConnected) << client_.failure;
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(client_.transport->send_application_data(Datagram(100 + 50 * i, uint8_t(i))));
    EXPECT_TRUE(server_.transport->send_application_data(Datagram(1200, uint8_t(i))));
  }
  pump();
  ASSERT_EQ(server_.received.size(), 20u);
  ASSERT_EQ(client_.received.size(), 20u);
  EXPECT_EQ(server_.received[19], Datagram(1050, 19));
}

TEST_F(DtlsTest, AnswerSentFromTheReceiveCallback) {
  make(server_cert_->fingerprint(), client_cert_->fingerprint());
  auto callbacks = server_.callbacks();
  callbacks.on_application_data = [this](std::span<const uint8_t> d) {
    server_.received.emplace_back(d.begin(), d.end());
    EXPECT_TRUE(server_.transport->send_application_data(d));
  };
  server_.transport =
      std::make_unique<DtlsTransport>(server_cert_,
                                      DtlsConfig{.role = DtlsRole::kServer,
                                                 .remote_fingerprint_algorithm = "sha-256",
                                                 .remote_fingerprint = client_cert_->fingerprint()},
                                      callbacks);
  client_.transport->start(Clock::now());
  pump();
  ASSERT_EQ(server_.transport->state(), DtlsState::kConnected) << server_.failure;
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(client_.transport->send_application_data(Datagram(16000, uint8_t(i))));
  pump();
  ASSERT_EQ(client_.received.size(), 5u);
  EXPECT_EQ(client_.received[4], Datagram(16000, 4));
}

TEST_F(DtlsTest, HandshakeTimesOut) {
  make(server_cert_->fingerprint(), client_cert_->fingerprint());
  auto now = Clock::now();
  client_.transport->start(now);
  client_.transport->handle_timeout(now + std::chrono::seconds(31));
  EXPECT_EQ(client_.transport->state(), DtlsState::kFailed);
  EXPECT_NE(client_.failure.find("timed out"), std::string::npos);
  EXPECT_FALSE(client_.transport->next_timeout(now));
}

TEST_F(DtlsTest, GarbageIsIgnoredBeforeAndAfterTheHandshake) {
  make(server_cert_->fingerprint(), client_cert_->fingerprint());
  Datagram garbage{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 1, 2};
  server_.transport->handle_datagram(garbage, Clock::now());
  client_.transport->start(Clock::now());
  pump();
  ASSERT_EQ(server_.transport->state(), DtlsState::kConnected) << server_.failure;
  server_.transport->handle_datagram(garbage, Clock::now());
  Datagram record{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 3, 1, 2, 3};
  server_.transport->handle_datagram(record, Clock::now());
  EXPECT_EQ(server_.transport->state(), DtlsState::kConnected) << server_.failure;
  EXPECT_TRUE(server_.received.empty());
}

TEST_F(DtlsTest, MissingRemoteFingerprintFailsAtStart) {
  make("", client_cert_->fingerprint());
  client_.transport->start(Clock::now());
  EXPECT_EQ(client_.transport->state(), DtlsState::kFailed);
}

}  // namespace
}  // namespace atrium::media
