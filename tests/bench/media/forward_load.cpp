// media_forward_bench: packets per second one media worker forwards through
// the whole UDP path, and what each costs in worker CPU time.
//
// Workload: one MediaServer worker holds two connected WebRTC transports. A
// loopback client publishes 1200-byte SRTP packets (AES-GCM, as browsers
// negotiate with us) on transport A as fast as the worker drains them; A's
// RTP handler rewrites the SSRC and sends the packet on transport B, whose
// client only counts arrivals. Per forwarded packet the worker does:
// recvmmsg share, 5-tuple lookup, RTP/RTCP demux, SRTP unprotect, RTP parse,
// SSRC rewrite, SRTP protect, sendmmsg share. The client runs on the other
// core. "Per core" = forwarded packets / worker thread CPU seconds. --rate
// paces the publisher (packets/s in); without it the client sends flat out.
//
// For scale, the same run measures a bare relay on the same kind of sockets
// (recvmmsg -> sendmmsg, no crypto, no parsing): the ceiling the kernel sets.
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "media/media_server.hpp"
#include "media/rtp.hpp"
#include "support/loopback_media_client.hpp"

namespace {

using namespace atrium;
using Clock = std::chrono::steady_clock;
using Client = testing::LoopbackMediaClient;

constexpr size_t kPayload = 1200;
constexpr char kPassword[] = "bench-password-0123456789";

struct Result {
  double forwarded_per_second = 0;  // wall clock
  double per_core_second = 0;       // per worker CPU second
  double cpu_ns_per_packet = 0;
  double loss = 0;                            // sent but not forwarded
  double delay_p50_us = 0, delay_p99_us = 0;  // send -> arrival at a subscriber
};

// Send-to-arrival delays of sampled packets, microseconds.
std::vector<double> g_delays;

// Sends protected packets from `from` as fast as possible for `seconds`,
// draining every `to` in between; returns packets sent and received.
// rate: packets per second to send (0: as fast as the loop goes).
std::pair<uint64_t, uint64_t> blast(Client& from, std::vector<std::unique_ptr<Client>>& sinks,
                                    double seconds, double rate = 0) {
  // Every 16th packet a sink receives is decrypted to read the send time the
  // publisher wrote into the payload: the delay the SFU path adds (plus the
  // loopback and the client's own polling).
  std::vector<uint8_t> sample(media::kMaxDatagramSize + media::kDatagramHeadroom);
  auto drain = [&](uint64_t& received) {
    for (auto& to : sinks)
      to->socket().receive_all([&](std::span<uint8_t> buffer, size_t length,
                                   const media::TransportAddress&) {
        if ((++received & 15) != 0 || !to->srtp_receive()) return;
        std::memcpy(sample.data(), buffer.data(), length);
        size_t n = length;
        if (to->srtp_receive()->unprotect_rtp(sample, n) != media::SrtpError::kOk || n < 12 + 8)
          return;
        int64_t sent_ns;
        std::memcpy(&sent_ns, sample.data() + 12, 8);
        auto now_ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
                .count();
        g_delays.push_back(static_cast<double>(now_ns - sent_ns) / 1000.0);
      });
  };
  std::vector<uint8_t> packet(12 + kPayload + media::kSrtpMaxOverhead, 0xab);
  uint64_t sent = 0, received = 0;
  auto end = Clock::now() + std::chrono::duration<double>(seconds);
  // One stream across calls: restarting the sequence would replay SRTP indices.
  static uint16_t seq = 0;
  static uint32_t timestamp = 0;
  auto begin = Clock::now();
  while (Clock::now() < end) {
    int burst = 32;
    if (rate > 0) {
      double due = rate * std::chrono::duration<double>(Clock::now() - begin).count();
      burst = static_cast<int>(std::min<double>(32, due - static_cast<double>(sent)));
      if (burst <= 0) {
        drain(received);
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        continue;
      }
    }
    for (int i = 0; i < burst; ++i) {
      packet[0] = 0x80;
      packet[1] = 96;
      packet[2] = static_cast<uint8_t>(seq >> 8);
      packet[3] = static_cast<uint8_t>(seq);
      std::memcpy(&packet[4], &timestamp, 4);
      packet[8] = 0x11, packet[9] = 0x22, packet[10] = 0x33, packet[11] = 0x44;
      int64_t now_ns =
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
              .count();
      std::memcpy(&packet[12], &now_ns, 8);
      ++seq;
      timestamp += 90;
      size_t length = 12 + kPayload;
      if (from.srtp_send() &&
          from.srtp_send()->protect_rtp(packet, length) == media::SrtpError::kOk)
        from.socket().queue_send(from.server(), std::span<const uint8_t>(packet.data(), length));
      ++sent;
    }
    from.socket().flush();
    drain(received);
  }
  // Let the tail arrive.
  auto drain_end = Clock::now() + std::chrono::milliseconds(500);
  while (Clock::now() < drain_end) {
    drain(received);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return {sent, received};
}

Result run_sfu_path(double seconds, size_t fanout, double rate) {
  std::string error;
  media::MediaServerConfig config;
  config.workers = 1;
  config.ice_tcp = false;
  auto server = media::MediaServer::start(config, &error);
  if (!server) {
    std::fprintf(stderr, "forward_bench: %s\n", error.c_str());
    std::exit(1);
  }
  auto client_cert = media::DtlsCertificate::generate();
  auto make = [&](const std::string& ufrag, media::WebRtcTransport::Callbacks callbacks) {
    media::WebRtcTransportConfig tc;
    tc.local_ufrag = ufrag;
    tc.local_password = kPassword;
    tc.remote_fingerprint = client_cert->fingerprint();
    auto transport = std::make_shared<media::WebRtcTransport>(server->certificate(), tc,
                                                              std::move(callbacks), Clock::now());
    server->add(transport);
    return transport;
  };
  std::vector<std::shared_ptr<media::WebRtcTransport>> subscribers;
  std::vector<media::WebRtcTransport*> outs;
  for (size_t i = 0; i < fanout; ++i) {
    subscribers.push_back(make("sub" + std::to_string(i), {}));
    outs.push_back(subscribers.back().get());
  }
  media::WebRtcTransport::Callbacks publisher_callbacks;
  // Each leg gets its own copy: protect works in place.
  auto scratch =
      std::make_shared<std::vector<uint8_t>>(media::kMaxDatagramSize + media::kDatagramHeadroom);
  publisher_callbacks.on_rtp = [outs, scratch](std::span<uint8_t> buffer, size_t length) {
    uint32_t ssrc = 0x55667788;
    for (media::WebRtcTransport* out : outs) {
      std::memcpy(scratch->data(), buffer.data(), length);
      auto rtp = media::MutableRtpView::parse(std::span<uint8_t>(scratch->data(), length));
      if (!rtp) return;
      rtp->set_ssrc(ssrc++);
      out->send_rtp(*scratch, length);
    }
  };
  auto publisher = make("pub", std::move(publisher_callbacks));
  std::string fingerprint = server->certificate()->fingerprint();
  Client pub("pub", kPassword, server->udp_port(), client_cert);
  std::vector<std::unique_ptr<Client>> sinks;
  bool ok = pub.connect(fingerprint, std::chrono::seconds(5));
  for (size_t i = 0; ok && i < fanout; ++i) {
    sinks.push_back(std::make_unique<Client>("sub" + std::to_string(i), kPassword,
                                             server->udp_port(), client_cert));
    ok = sinks.back()->connect(fingerprint, std::chrono::seconds(5));
  }
  if (!ok) {
    std::fprintf(stderr, "forward_bench: the loopback clients did not connect\n");
    std::exit(1);
  }
  auto total_out = [&] {
    uint64_t total = 0;
    for (auto* out : outs)
      total += out->counters().rtp_out.load();
    return total;
  };
  blast(pub, sinks, 0.3, rate);  // warm-up: SRTP streams, caches; blast drains the tail
  auto cpu_before = server->worker_cpu_times()[0];
  uint64_t out_before = total_out();
  auto wall_before = Clock::now();
  g_delays.clear();
  auto [sent, received] = blast(pub, sinks, seconds, rate);
  sent *= fanout;
  double wall = std::chrono::duration<double>(Clock::now() - wall_before).count();
  auto cpu = server->worker_cpu_times()[0] - cpu_before;
  uint64_t forwarded = total_out() - out_before;
  Result result;
  result.forwarded_per_second = static_cast<double>(forwarded) / wall;
  double cpu_seconds = std::chrono::duration<double>(cpu).count();
  result.per_core_second = cpu_seconds > 0 ? static_cast<double>(forwarded) / cpu_seconds : 0;
  result.cpu_ns_per_packet = forwarded ? static_cast<double>(cpu.count()) / forwarded : 0;
  result.loss = sent ? 1.0 - static_cast<double>(received) / static_cast<double>(sent) : 0;
  if (!g_delays.empty()) {
    std::sort(g_delays.begin(), g_delays.end());
    result.delay_p50_us = g_delays[g_delays.size() / 2];
    result.delay_p99_us = g_delays[std::min(g_delays.size() - 1, g_delays.size() * 99 / 100)];
  }
  return result;
}

// recvmmsg -> sendmmsg on one thread, nothing else.
Result run_bare_relay(double seconds) {
  std::string error;
  auto relay = media::UdpSocket::bind("127.0.0.1", 0, false, &error);
  auto source = media::UdpSocket::bind("127.0.0.1", 0, false, &error);
  auto sink = media::UdpSocket::bind("127.0.0.1", 0, false, &error);
  auto relay_address = *media::parse_ip("127.0.0.1", relay->local_port());
  auto sink_address = *media::parse_ip("127.0.0.1", sink->local_port());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> relayed{0};
  std::atomic<int64_t> cpu_ns{0};
  std::thread thread([&] {
    clockid_t clock;
    pthread_getcpuclockid(pthread_self(), &clock);
    timespec start{}, end{};
    clock_gettime(clock, &start);
    while (!stop) {
      relay->receive_all(
          [&](std::span<uint8_t> buffer, size_t length, const media::TransportAddress&) {
            relay->queue_send(sink_address, buffer.first(length));
            relayed.fetch_add(1, std::memory_order_relaxed);
          });
    }
    clock_gettime(clock, &end);
    cpu_ns = (end.tv_sec - start.tv_sec) * 1'000'000'000LL + (end.tv_nsec - start.tv_nsec);
  });
  std::vector<uint8_t> packet(12 + kPayload + 16, 0xab);
  uint64_t sent = 0, received = 0;
  auto begin = Clock::now();
  auto end = begin + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    for (int i = 0; i < 32; ++i)
      source->queue_send(relay_address, packet);
    sent += 32;
    source->flush();
    sink->receive_all(
        [&](std::span<uint8_t>, size_t, const media::TransportAddress&) { ++received; });
  }
  double wall = std::chrono::duration<double>(Clock::now() - begin).count();
  stop = true;
  thread.join();
  Result result;
  result.forwarded_per_second = static_cast<double>(relayed.load()) / wall;
  // The relay thread spins on an empty socket when idle: its CPU time is the
  // whole run, so per-core is the wall rate (an upper bound for it).
  result.per_core_second = result.forwarded_per_second;
  result.cpu_ns_per_packet = relayed ? static_cast<double>(cpu_ns.load()) / relayed.load() : 0;
  result.loss = sent ? 1.0 - static_cast<double>(received) / static_cast<double>(sent) : 0;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  bool json = false;
  size_t fanout = 1;
  double rate = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else if (arg == "--fanout" && i + 1 < argc) {
      fanout = std::stoul(argv[++i]);
    } else if (arg == "--rate" && i + 1 < argc) {
      rate = std::stod(argv[++i]);
    } else if (arg == "--json") {
      json = true;
    } else {
      std::fprintf(stderr,
                   "usage: media_forward_bench [--seconds S] [--fanout N] [--rate PPS] [--json]\n");
      return 2;
    }
  }
  Result sfu = run_sfu_path(seconds, fanout, rate);
  Result bare = run_bare_relay(seconds);
  if (json) {
    std::printf(
        "{\"fanout\":%zu,\"sfu\":{\"forwarded_per_second\":%.0f,\"per_core_second\":%.0f,"
        "\"cpu_ns_per_packet\":%.0f,\"loss\":%.4f,\"delay_p50_us\":%.0f,\"delay_p99_us\":%.0f},"
        "\"bare_relay\":{\"forwarded_per_second\":%.0f,\"cpu_ns_per_packet\":%.0f,"
        "\"loss\":%.4f}}\n",
        fanout, sfu.forwarded_per_second, sfu.per_core_second, sfu.cpu_ns_per_packet, sfu.loss,
        sfu.delay_p50_us, sfu.delay_p99_us, bare.forwarded_per_second, bare.cpu_ns_per_packet,
        bare.loss);
  } else {
    std::printf(
        "SFU path (1 worker, fan-out %zu): %.0f packets/s forwarded, %.0f per worker CPU second, "
        "%.0f ns worker CPU per packet, %.1f%% not forwarded, delay p50 %.0f us p99 %.0f us\n",
        fanout, sfu.forwarded_per_second, sfu.per_core_second, sfu.cpu_ns_per_packet,
        100 * sfu.loss, sfu.delay_p50_us, sfu.delay_p99_us);
    std::printf("bare relay: %.0f packets/s, %.0f ns CPU per packet, %.1f%% lost\n",
                bare.forwarded_per_second, bare.cpu_ns_per_packet, 100 * bare.loss);
  }
  return 0;
}
