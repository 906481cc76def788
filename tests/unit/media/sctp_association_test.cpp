#include "media/sctp_association.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace atrium::media {
namespace {

struct Received {
  uint16_t stream;
  MessageKind kind;
  std::vector<uint8_t> data;
};

// One side: what its association sent and what it reported. The outbox is
// declared before the association so it outlives the ABORT sent on destruction.
struct Peer {
  std::deque<std::vector<uint8_t>> outbox;
  std::vector<DataChannelInfo> opened;
  std::vector<uint16_t> acked;
  std::vector<Received> messages;
  std::vector<uint16_t> closed;
  std::vector<SctpState> states;
  int writable = 0;
  std::unique_ptr<SctpAssociation> sctp;

  bool connected() const { return sctp && sctp->state() == SctpState::kConnected; }
};

std::vector<uint8_t> text(const std::string& s) {
  return {s.begin(), s.end()};
}

class SctpAssociationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SctpConfig config;
    config.dtls_client = true;
    make(a_, config);
    config.dtls_client = false;
    make(b_, config);
  }

  static void make(Peer& peer, const SctpConfig& config) {
    SctpCallbacks callbacks;
    callbacks.send_packet = [&peer](std::span<const uint8_t> packet) {
      peer.outbox.emplace_back(packet.begin(), packet.end());
    };
    callbacks.on_channel_open = [&peer](const DataChannelInfo& info) {
      peer.opened.push_back(info);
    };
    callbacks.on_channel_acked = [&peer](uint16_t stream) { peer.acked.push_back(stream); };
    callbacks.on_message = [&peer](uint16_t stream, MessageKind kind,
                                   std::span<const uint8_t> data) {
      peer.messages.push_back({stream, kind, {data.begin(), data.end()}});
    };
    callbacks.on_channel_closed = [&peer](uint16_t stream) { peer.closed.push_back(stream); };
    callbacks.on_state = [&peer](SctpState state) { peer.states.push_back(state); };
    callbacks.on_writable = [&peer] { ++peer.writable; };
    peer.sctp = std::make_unique<SctpAssociation>(config, std::move(callbacks));
  }

  // Moves packets between the two sides (from the test, never from inside a
  // callback) and advances usrsctp's clock by 10 ms whenever both are quiet.
  // usrsctp's timers run on handle_timers' ticks, but retransmission decisions
  // also compare send times with the real clock: tests that need a
  // retransmission let real time pass as well.
  template <typename Done>
  bool pump_until(Done done, int max_ms = 10000, bool real_time = false) {
    for (int elapsed = 0; elapsed <= max_ms; elapsed += 10) {
      for (int moves = 0; moves < 100000 && (!a_.outbox.empty() || !b_.outbox.empty()); ++moves) {
        deliver(a_, b_);
        deliver(b_, a_);
      }
      if (done()) return true;
      if (real_time) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      SctpAssociation::handle_timers(10);
      if (a_.sctp) a_.sctp->poll();
      if (b_.sctp) b_.sctp->poll();
    }
    return done();
  }

  static void deliver(Peer& from, Peer& to) {
    if (from.outbox.empty()) return;
    const std::vector<uint8_t> packet = std::move(from.outbox.front());
    from.outbox.pop_front();
    if (to.sctp) to.sctp->handle_packet(packet);
  }

  void connect() {
    ASSERT_TRUE(a_.sctp->start());
    ASSERT_TRUE(b_.sctp->start());
    ASSERT_TRUE(pump_until([&] { return a_.connected() && b_.connected(); }));
  }

  // Opens a channel from `from` and waits for the other side to see it and ACK.
  uint16_t open(Peer& from, Peer& to, bool ordered = true,
                dcep::Reliability reliability = dcep::Reliability::reliable(),
                const std::string& label = "chat") {
    const size_t opened_before = to.opened.size();
    const size_t acked_before = from.acked.size();
    const auto stream = from.sctp->open_channel(label, "proto", ordered, reliability);
    EXPECT_TRUE(stream);
    if (!stream) return 0;
    EXPECT_TRUE(pump_until(
        [&] { return to.opened.size() > opened_before && from.acked.size() > acked_before; }));
    return *stream;
  }

  Peer a_;  // the DTLS client: even stream ids
  Peer b_;  // the DTLS server: odd stream ids
};

TEST_F(SctpAssociationTest, AssociationComesUp) {
  connect();
  EXPECT_EQ(a_.sctp->outbound_streams(), 1024);
  EXPECT_EQ(b_.sctp->outbound_streams(), 1024);
  EXPECT_EQ(a_.states, (std::vector{SctpState::kConnecting, SctpState::kConnected}));
  EXPECT_EQ(b_.states, (std::vector{SctpState::kConnecting, SctpState::kConnected}));
}

TEST_F(SctpAssociationTest, DifferentPortsOnEachSide) {
  SctpConfig config;
  config.local_port = 5000;
  config.remote_port = 5001;
  config.dtls_client = true;
  a_.sctp.reset();
  b_.sctp.reset();
  a_.outbox.clear();
  b_.outbox.clear();
  a_.states.clear();
  b_.states.clear();
  make(a_, config);
  config.local_port = 5001;
  config.remote_port = 5000;
  config.dtls_client = false;
  make(b_, config);
  connect();
}

// The SFU asks for 32 streams (usrsctp's per-stream arrays are its largest
// cost per association): 16 channel ids per side, large messages unaffected.
TEST_F(SctpAssociationTest, ThirtyTwoStreams) {
  SctpConfig config;
  config.streams = 32;
  config.dtls_client = true;
  a_.sctp.reset();
  b_.sctp.reset();
  a_.outbox.clear();
  b_.outbox.clear();
  a_.states.clear();
  b_.states.clear();
  make(a_, config);
  config.dtls_client = false;
  make(b_, config);
  connect();
  EXPECT_EQ(a_.sctp->outbound_streams(), 32);
  std::vector<uint16_t> streams;
  for (int i = 0; i < 16; ++i)
    streams.push_back(open(i % 2 ? b_ : a_, i % 2 ? a_ : b_, true, dcep::Reliability::reliable(),
                           "c" + std::to_string(i)));
  EXPECT_EQ(*std::max_element(streams.begin(), streams.end()), 15);
  std::vector<uint8_t> big(20 * 1024);
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<uint8_t>(i * 13);
  EXPECT_EQ(a_.sctp->send_message(streams.back(), MessageKind::kBinary, big), SendResult::kOk);
  ASSERT_TRUE(pump_until([&] { return !b_.messages.empty(); }));
  EXPECT_TRUE(b_.messages[0].data == big);
}

TEST_F(SctpAssociationTest, NothingWorksBeforeConnect) {
  const uint8_t byte = 1;
  EXPECT_EQ(a_.sctp->send_message(0, MessageKind::kBinary, {&byte, 1}), SendResult::kNotConnected);
  EXPECT_FALSE(a_.sctp->open_channel("x", "", true, {}));
  EXPECT_FALSE(a_.sctp->close_channel(0));
  EXPECT_EQ(a_.sctp->state(), SctpState::kNew);
}

TEST_F(SctpAssociationTest, OpenIsAckedAndAnnounced) {
  connect();
  const uint16_t from_client = open(a_, b_, true, {}, "chat");
  EXPECT_EQ(from_client % 2, 0);
  ASSERT_EQ(b_.opened.size(), 1u);
  EXPECT_EQ(b_.opened[0].stream_id, from_client);
  EXPECT_EQ(b_.opened[0].label, "chat");
  EXPECT_EQ(b_.opened[0].protocol, "proto");
  EXPECT_TRUE(b_.opened[0].ordered);
  EXPECT_FALSE(b_.opened[0].max_retransmits);
  EXPECT_FALSE(b_.opened[0].max_packet_lifetime_ms);
  EXPECT_EQ(a_.acked, std::vector<uint16_t>{from_client});
  EXPECT_TRUE(a_.opened.empty());  // our own opens are not announced back

  const uint16_t from_server = open(b_, a_, true, {}, "other");
  EXPECT_EQ(from_server % 2, 1);
  ASSERT_EQ(a_.opened.size(), 1u);
  EXPECT_EQ(a_.opened[0].label, "other");

  const uint16_t second = open(a_, b_);
  EXPECT_NE(second, from_client);
  EXPECT_EQ(second % 2, 0);
}

TEST_F(SctpAssociationTest, StringAndBinaryBothWays) {
  connect();
  const uint16_t stream = open(a_, b_);
  const auto hello = text("hello");
  const std::vector<uint8_t> blob = {0, 1, 2, 0xFF};
  EXPECT_EQ(a_.sctp->send_message(stream, MessageKind::kString, hello), SendResult::kOk);
  EXPECT_EQ(a_.sctp->send_message(stream, MessageKind::kBinary, blob), SendResult::kOk);
  EXPECT_EQ(b_.sctp->send_message(stream, MessageKind::kBinary, blob), SendResult::kOk);
  EXPECT_EQ(b_.sctp->send_message(stream, MessageKind::kString, hello), SendResult::kOk);
  ASSERT_TRUE(pump_until([&] { return b_.messages.size() == 2 && a_.messages.size() == 2; }));
  EXPECT_EQ(b_.messages[0].kind, MessageKind::kString);
  EXPECT_EQ(b_.messages[0].data, hello);
  EXPECT_EQ(b_.messages[0].stream, stream);
  EXPECT_EQ(b_.messages[1].kind, MessageKind::kBinary);
  EXPECT_EQ(b_.messages[1].data, blob);
  EXPECT_EQ(a_.messages[0].kind, MessageKind::kBinary);
  EXPECT_EQ(a_.messages[0].data, blob);
  EXPECT_EQ(a_.messages[1].kind, MessageKind::kString);
  EXPECT_EQ(a_.messages[1].data, hello);
}

TEST_F(SctpAssociationTest, EmptyMessages) {
  connect();
  const uint16_t stream = open(a_, b_);
  EXPECT_EQ(a_.sctp->send_message(stream, MessageKind::kString, {}), SendResult::kOk);
  EXPECT_EQ(a_.sctp->send_message(stream, MessageKind::kBinary, {}), SendResult::kOk);
  ASSERT_TRUE(pump_until([&] { return b_.messages.size() == 2; }));
  EXPECT_EQ(b_.messages[0].kind, MessageKind::kString);
  EXPECT_TRUE(b_.messages[0].data.empty());
  EXPECT_EQ(b_.messages[1].kind, MessageKind::kBinary);
  EXPECT_TRUE(b_.messages[1].data.empty());
}

TEST_F(SctpAssociationTest, LargeMessageArrivesWhole) {
  connect();
  const uint16_t stream = open(a_, b_);
  std::vector<uint8_t> big(256 * 1024);
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<uint8_t>(i * 7 + (i >> 9));
  EXPECT_EQ(a_.sctp->send_message(stream, MessageKind::kBinary, big), SendResult::kOk);
  EXPECT_EQ(a_.sctp->send_message(stream, MessageKind::kString, text("after")), SendResult::kOk);
  ASSERT_TRUE(pump_until([&] { return b_.messages.size() == 2; }));
  EXPECT_EQ(b_.messages[0].data.size(), big.size());
  EXPECT_TRUE(b_.messages[0].data == big);
  EXPECT_EQ(b_.messages[1].data, text("after"));

  // And back, twice in a row.
  EXPECT_EQ(b_.sctp->send_message(stream, MessageKind::kBinary, big), SendResult::kOk);
  EXPECT_EQ(b_.sctp->send_message(stream, MessageKind::kBinary, big), SendResult::kOk);
  ASSERT_TRUE(pump_until([&] { return a_.messages.size() == 2; }));
  EXPECT_TRUE(a_.messages[0].data == big);
  EXPECT_TRUE(a_.messages[1].data == big);

  big.push_back(0);  // one byte over the peer's max-message-size
  EXPECT_EQ(a_.sctp->send_message(stream, MessageKind::kBinary, big), SendResult::kTooBig);
}

TEST_F(SctpAssociationTest, UnorderedChannel) {
  connect();
  const uint16_t stream = open(a_, b_, /*ordered=*/false);
  ASSERT_EQ(b_.opened.size(), 1u);
  EXPECT_FALSE(b_.opened[0].ordered);
  ASSERT_TRUE(a_.sctp->channel(stream));
  EXPECT_FALSE(a_.sctp->channel(stream)->ordered);
  std::vector<std::vector<uint8_t>> sent;
  for (int i = 0; i < 20; ++i) {
    sent.push_back(text("m" + std::to_string(i)));
    ASSERT_EQ(a_.sctp->send_message(stream, MessageKind::kString, sent.back()), SendResult::kOk);
  }
  ASSERT_TRUE(pump_until([&] { return b_.messages.size() == sent.size(); }));
  std::vector<std::vector<uint8_t>> got;
  for (const auto& m : b_.messages)
    got.push_back(m.data);
  std::sort(got.begin(), got.end());
  std::sort(sent.begin(), sent.end());
  EXPECT_EQ(got, sent);
}

TEST_F(SctpAssociationTest, PartialReliabilityIsNegotiated) {
  connect();
  const uint16_t rexmit = open(a_, b_, false, dcep::Reliability::max_retransmits(2), "rexmit");
  const uint16_t timed = open(a_, b_, true, dcep::Reliability::max_lifetime_ms(500), "timed");
  ASSERT_EQ(b_.opened.size(), 2u);
  EXPECT_EQ(b_.opened[0].max_retransmits, 2u);
  EXPECT_FALSE(b_.opened[0].max_packet_lifetime_ms);
  EXPECT_FALSE(b_.opened[0].ordered);
  EXPECT_EQ(b_.opened[1].max_packet_lifetime_ms, 500u);
  EXPECT_FALSE(b_.opened[1].max_retransmits);
  EXPECT_TRUE(b_.opened[1].ordered);
  EXPECT_EQ(a_.sctp->send_message(rexmit, MessageKind::kBinary, text("r")), SendResult::kOk);
  EXPECT_EQ(a_.sctp->send_message(timed, MessageKind::kBinary, text("t")), SendResult::kOk);
  // The answering side sends with the same policy.
  EXPECT_EQ(b_.sctp->send_message(rexmit, MessageKind::kBinary, text("r2")), SendResult::kOk);
  ASSERT_TRUE(pump_until([&] { return b_.messages.size() == 2 && a_.messages.size() == 1; }));
  EXPECT_EQ(b_.messages[0].data, text("r"));
  EXPECT_EQ(b_.messages[1].data, text("t"));
  EXPECT_EQ(a_.messages[0].data, text("r2"));
}

TEST_F(SctpAssociationTest, CloseReachesTheOtherSide) {
  connect();
  const uint16_t stream = open(a_, b_);
  const uint16_t other = open(b_, a_);
  ASSERT_TRUE(a_.sctp->close_channel(stream));
  EXPECT_FALSE(a_.sctp->close_channel(stream));  // already closing
  EXPECT_EQ(a_.sctp->send_message(stream, MessageKind::kString, text("x")),
            SendResult::kUnknownStream);
  ASSERT_TRUE(pump_until([&] { return !b_.closed.empty() && !a_.closed.empty(); }));
  EXPECT_EQ(b_.closed, std::vector<uint16_t>{stream});
  EXPECT_EQ(a_.closed, std::vector<uint16_t>{stream});
  EXPECT_FALSE(a_.sctp->channel(stream));
  EXPECT_FALSE(b_.sctp->channel(stream));
  EXPECT_EQ(b_.sctp->send_message(stream, MessageKind::kString, text("x")),
            SendResult::kUnknownStream);

  // The other channel is untouched, and the peer can close one of ours.
  EXPECT_EQ(a_.sctp->send_message(other, MessageKind::kString, text("still")), SendResult::kOk);
  ASSERT_TRUE(pump_until([&] { return b_.messages.size() == 1; }));
  ASSERT_TRUE(b_.sctp->close_channel(other));
  ASSERT_TRUE(pump_until([&] { return a_.closed.size() == 2 && b_.closed.size() == 2; }));
  EXPECT_EQ(a_.closed.back(), other);

  // A closed stream id is free again once both directions are reset.
  pump_until([] { return false; }, 200);
  EXPECT_EQ(open(a_, b_), stream);
  EXPECT_EQ(a_.sctp->send_message(stream, MessageKind::kString, text("reborn")), SendResult::kOk);
  ASSERT_TRUE(pump_until([&] { return b_.messages.size() == 2; }));
  EXPECT_EQ(b_.messages.back().data, text("reborn"));
}

TEST_F(SctpAssociationTest, WouldBlockThenWritable) {
  connect();
  const uint16_t stream = open(a_, b_);
  const std::vector<uint8_t> big(256 * 1024, 0x42);
  size_t sent = 0;
  SendResult result = SendResult::kOk;
  while (sent < 100 &&
         (result = a_.sctp->send_message(stream, MessageKind::kBinary, big)) == SendResult::kOk) {
    ++sent;
  }
  EXPECT_EQ(result, SendResult::kWouldBlock);
  EXPECT_GE(sent, 1u);
  EXPECT_EQ(a_.writable, 0);
  ASSERT_TRUE(pump_until([&] { return a_.writable > 0; }));
  EXPECT_EQ(a_.sctp->send_message(stream, MessageKind::kBinary, big), SendResult::kOk);
  ASSERT_TRUE(pump_until([&] { return b_.messages.size() == sent + 1; }));
  for (const auto& message : b_.messages)
    EXPECT_TRUE(message.data == big);
}

TEST_F(SctpAssociationTest, OversizedIncomingMessageIsDropped) {
  b_.sctp.reset();
  b_.outbox.clear();
  SctpConfig config;
  // b accepts less than a believes.
  config.max_message_size = 64 * 1024;
  make(b_, config);
  connect();
  const uint16_t stream = open(a_, b_);
  const std::vector<uint8_t> too_big(100 * 1024, 1);
  const std::vector<uint8_t> fits(64 * 1024, 2);
  EXPECT_EQ(a_.sctp->send_message(stream, MessageKind::kBinary, too_big), SendResult::kOk);
  EXPECT_EQ(a_.sctp->send_message(stream, MessageKind::kBinary, fits), SendResult::kOk);
  ASSERT_TRUE(pump_until([&] { return !b_.messages.empty(); }));
  pump_until([] { return false; }, 100);
  ASSERT_EQ(b_.messages.size(), 1u);
  EXPECT_TRUE(b_.messages[0].data == fits);
}

TEST_F(SctpAssociationTest, UnknownStreamIsRefused) {
  connect();
  EXPECT_EQ(a_.sctp->send_message(42, MessageKind::kString, text("x")), SendResult::kUnknownStream);
  EXPECT_FALSE(a_.sctp->close_channel(42));
}

TEST_F(SctpAssociationTest, GarbageIsDropped) {
  connect();
  const uint16_t stream = open(a_, b_);
  // Capture a real DATA packet, then feed broken variants of it.
  ASSERT_EQ(a_.sctp->send_message(stream, MessageKind::kString, text("real")), SendResult::kOk);
  ASSERT_FALSE(a_.outbox.empty());
  const std::vector<uint8_t> real = a_.outbox.front();
  a_.outbox.clear();

  std::vector<uint8_t> bad_checksum = real;
  bad_checksum[8] ^= 0xFF;
  std::vector<uint8_t> flipped_payload = real;
  flipped_payload.back() ^= 0x01;
  const std::vector<uint8_t> truncated(real.begin(), real.begin() + 6);
  std::vector<uint8_t> noise(500);
  uint32_t state = 99;
  for (auto& byte : noise) {
    state = state * 1664525 + 1013904223;
    byte = static_cast<uint8_t>(state >> 24);
  }
  for (const auto& packet : {bad_checksum, flipped_payload, truncated, noise,
                             std::vector<uint8_t>{}, std::vector<uint8_t>{0}}) {
    b_.sctp->handle_packet(packet);
  }
  EXPECT_TRUE(b_.messages.empty());
  EXPECT_TRUE(b_.connected());

  // The association still works: usrsctp retransmits the dropped DATA once
  // its RTO (at least 1 s, measured on the real clock) has passed.
  ASSERT_TRUE(pump_until([&] { return b_.messages.size() == 1; }, 5000, /*real_time=*/true));
  EXPECT_EQ(b_.messages[0].data, text("real"));
  EXPECT_EQ(b_.messages[0].stream, stream);
}

TEST_F(SctpAssociationTest, DestroyingOneSideAbortsTheOther) {
  connect();
  open(a_, b_);
  a_.sctp.reset();  // sends an ABORT through a's outbox
  ASSERT_TRUE(pump_until([&] { return b_.sctp->state() == SctpState::kFailed; }));
  EXPECT_EQ(b_.states.back(), SctpState::kFailed);
  EXPECT_EQ(b_.sctp->send_message(0, MessageKind::kString, text("x")), SendResult::kNotConnected);
}

// The contract in the header: usrsctp's timers on their own thread, the
// association's methods on the owner's thread. Dropped packets make the timer
// thread retransmit (send_packet from that thread), and the associations are
// destroyed while it keeps running.
TEST(SctpAssociationThreadingTest, TimersOnAnotherThread) {
  struct Side {
    std::mutex mutex;
    std::deque<std::vector<uint8_t>> outbox;
    std::vector<uint16_t> opened;
    size_t received = 0;
    std::unique_ptr<SctpAssociation> sctp;
  };
  Side a;
  Side b;
  auto make = [](Side& side, bool dtls_client) {
    SctpConfig config;
    config.dtls_client = dtls_client;
    SctpCallbacks callbacks;
    callbacks.send_packet = [&side](std::span<const uint8_t> packet) {
      std::lock_guard lock(side.mutex);
      side.outbox.emplace_back(packet.begin(), packet.end());
    };
    callbacks.on_channel_open = [&side](const DataChannelInfo& info) {
      side.opened.push_back(info.stream_id);
    };
    callbacks.on_message = [&side](uint16_t, MessageKind, std::span<const uint8_t> data) {
      if (data.size() == 10000) ++side.received;
    };
    side.sctp = std::make_unique<SctpAssociation>(config, std::move(callbacks));
  };
  make(a, true);
  make(b, false);

  std::atomic<bool> stop{false};
  std::thread timers([&stop] {
    while (!stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      SctpAssociation::handle_timers(5);
    }
  });

  size_t moved = 0;
  auto pump = [&](Side& from, Side& to) {
    std::vector<uint8_t> packet;
    {
      std::lock_guard lock(from.mutex);
      if (from.outbox.empty()) return;
      packet = std::move(from.outbox.front());
      from.outbox.pop_front();
    }
    // Lose a few DATA-sized packets: the timer thread has to retransmit them.
    if (packet.size() > 1000 && ++moved % 97 == 0 && moved < 400) return;
    if (to.sctp) to.sctp->handle_packet(packet);
  };
  auto run_until = [&](auto done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      for (int i = 0; i < 64; ++i) {
        pump(a, b);
        pump(b, a);
      }
      a.sctp->poll();
      b.sctp->poll();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return done();
  };

  ASSERT_TRUE(a.sctp->start());
  ASSERT_TRUE(b.sctp->start());
  EXPECT_TRUE(run_until([&] {
    return a.sctp->state() == SctpState::kConnected && b.sctp->state() == SctpState::kConnected;
  }));
  const auto stream = a.sctp->open_channel("load", "", true, {});
  ASSERT_TRUE(stream);
  EXPECT_TRUE(run_until([&] { return b.opened.size() == 1; }));
  const std::vector<uint8_t> payload(10000, 0x5A);
  size_t sent = 0;
  EXPECT_TRUE(run_until([&] {
    while (sent < 200 &&
           a.sctp->send_message(*stream, MessageKind::kBinary, payload) == SendResult::kOk) {
      ++sent;
    }
    return b.received == 200;
  }));

  a.sctp.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  b.sctp.reset();
  stop = true;
  timers.join();
}

}  // namespace
}  // namespace atrium::media
