#include "load_common.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "media/rtp.hpp"
#include "media/rtp_rewrite.hpp"
#include "media/sdp_answer.hpp"
#include "media/sdp_offer.hpp"

namespace atrium::bench {

using Clock = std::chrono::steady_clock;

void fail(const std::string& why) {
  std::fprintf(stderr, "sfu_load: %s\n", why.c_str());
  std::exit(1);
}

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

Memory process_memory(int pid) {
  Memory memory;
  std::string base = "/proc/" + std::to_string(pid);
  auto read_kb = [](const std::string& path, const std::string& key) {
    std::ifstream file(path);
    std::string line;
    while (std::getline(file, line))
      if (line.compare(0, key.size(), key) == 0) return std::stol(line.substr(key.size()));
    return -1L;
  };
  memory.rss_kb = read_kb(base + "/status", "VmRSS:");
  memory.pss_kb = read_kb(base + "/smaps_rollup", "Pss:");
  return memory;
}

namespace {
// Busy CPU seconds of the whole machine (all cores, steal included), from /proc/stat.
double machine_busy_seconds() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return (user + nice + system + irq + softirq + steal) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// This process's CPU time.
double own_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}
}  // namespace

void PacketSource::send(int count, int layer) {
  auto& packet = packet_;
  auto& seq_ = this->seq_[layer];
  auto& rtp_ts_ = this->rtp_ts_[layer];
  const uint32_t ssrc = kPublisherSsrc + static_cast<uint32_t>(layer);
  for (int n = 0; n < count; ++n) {
    // VP8 descriptor: S=1, PID 0; then a keyframe header (P=0, start code
    // 9d 01 2a, 640x480) so every packet starts a decodable frame.
    size_t length = 12 + 1 + 1200;
    packet[0] = 0x80;
    packet[1] = 96;
    packet[2] = static_cast<uint8_t>(seq_ >> 8);
    packet[3] = static_cast<uint8_t>(seq_);
    for (int i = 0; i < 4; ++i)
      packet[4 + i] = static_cast<uint8_t>(rtp_ts_ >> (24 - 8 * i));
    for (int i = 0; i < 4; ++i)
      packet[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
    packet[12] = 0x10;
    std::memset(&packet[13], 0, 1200);
    const uint8_t keyframe[] = {0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01};
    std::memcpy(&packet[13], keyframe, sizeof keyframe);
    int64_t sent = now_ns();
    std::memcpy(&packet[13 + 16], &sent, 8);  // payload offset 1 + 16
    packet[12 + kLayerOffset] = static_cast<uint8_t>(layer);
    ++seq_;
    rtp_ts_ += 3000;
    uint8_t mid[] = {'0'};
    uint8_t rid[] = {static_cast<uint8_t>(kRids[layer][0])};
    media::OneByteExtension elements[] = {{.id = kMidExtensionId, .value = mid},
                                          {.id = kRidExtensionId, .value = rid}};
    auto with_mid =
        media::replace_header_extensions(std::span<uint8_t>(packet.data(), packet.size() - 32),
                                         length, std::span(elements, layers_ > 1 ? 2 : 1));
    if (!with_mid) fail("cannot build a packet");
    length = *with_mid;
    if (client_.srtp_send()->protect_rtp(packet, length) != media::SrtpError::kOk)
      fail("protect failed");
    client_.socket().queue_send(client_.server(), std::span<const uint8_t>(packet.data(), length));
  }
  client_.socket().flush();
}

void PacketSource::send_audio() {
  auto& packet = packet_;
  size_t length = 12 + 160;
  packet[0] = 0x80;
  packet[1] = 111;
  packet[2] = static_cast<uint8_t>(audio_seq_ >> 8);
  packet[3] = static_cast<uint8_t>(audio_seq_);
  for (int i = 0; i < 4; ++i)
    packet[4 + i] = static_cast<uint8_t>(audio_ts_ >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i)
    packet[8 + i] = static_cast<uint8_t>(kAudioSsrc >> (24 - 8 * i));
  std::memset(&packet[12], 0, 160);
  int64_t sent = now_ns();
  std::memcpy(&packet[12 + 1 + 16], &sent, 8);  // same payload offset as video
  ++audio_seq_;
  audio_ts_ += 960;
  uint8_t mid[] = {'1'};
  media::OneByteExtension element{.id = kMidExtensionId, .value = mid};
  auto with_mid = media::replace_header_extensions(
      std::span<uint8_t>(packet.data(), packet.size() - 32), length, std::span(&element, 1));
  if (!with_mid) fail("cannot build an audio packet");
  length = *with_mid;
  if (client_.srtp_send()->protect_rtp(packet, length) != media::SrtpError::kOk)
    fail("protect failed");
  client_.socket().queue_send(client_.server(), std::span<const uint8_t>(packet.data(), length));
  client_.socket().flush();
}

media::SdpSession publisher_offer(const std::string& ufrag, const std::string& pwd,
                                  const std::string& fingerprint, bool audio,
                                  std::vector<media::SdpCandidate> candidates, int simulcast) {
  media::OfferOptions offer;
  offer.ice_ufrag = ufrag;
  offer.ice_pwd = pwd;
  offer.fingerprint = fingerprint;
  offer.candidates = std::move(candidates);
  media::OfferedSection video{.mid = "0", .kind = "video"};
  video.codecs = media::subscriber_video_codecs("VP8");
  video.codecs.resize(1);  // VP8 only, no RTX
  video.extmaps = {{.id = kMidExtensionId, .uri = media::extension_uri::kMid}};
  video.ssrc = kPublisherSsrc;
  video.cname = "load";
  video.stream_id = "load-stream";
  video.track_id = "load-video";
  offer.sections.push_back(video);
  if (audio) {
    media::OfferedSection sound{.mid = "1", .kind = "audio"};
    sound.codecs = media::subscriber_audio_codecs();
    sound.extmaps = {{.id = kMidExtensionId, .uri = media::extension_uri::kMid}};
    sound.ssrc = kAudioSsrc;
    sound.cname = "load";
    sound.stream_id = "load-stream";
    sound.track_id = "load-audio";
    offer.sections.push_back(sound);
  }
  if (simulcast > 1)
    offer.sections[0].extmaps.push_back({.id = kRidExtensionId, .uri = media::extension_uri::kRid});
  auto session = media::build_offer(offer);
  if (simulcast > 1) {
    // As browsers offer simulcast: rids and a=simulcast, no SSRCs.
    auto& m = session.media[0];
    m.ssrcs.clear();
    m.ssrc_groups.clear();
    media::SdpSimulcast streams;
    for (int layer = 0; layer < simulcast; ++layer) {
      m.rids.push_back({.id = kRids[layer], .direction = "send", .params = ""});
      streams.send.push_back({kRids[layer]});
    }
    m.simulcast = streams;
  }
  return session;
}

RemoteIce ice_of(const media::SdpSession& sdp) {
  RemoteIce ice;
  for (const auto& m : sdp.media) {
    if (m.port == 0) continue;
    ice.ufrag = m.transport.ice_ufrag.empty() ? sdp.transport.ice_ufrag : m.transport.ice_ufrag;
    ice.pwd = m.transport.ice_pwd.empty() ? sdp.transport.ice_pwd : m.transport.ice_pwd;
    for (const auto& c : m.candidates)
      if (c.transport == "udp" || c.transport == "UDP") {
        ice.port = c.port;
        ice.address = c.address;
        break;
      }
    if (ice.port) break;
  }
  return ice;
}

void run_load(const Options& o, Endpoints& endpoints) {
  auto& pub = *endpoints.publisher;
  std::vector<uint64_t> received(endpoints.subscribers.size());
  const int layers = endpoints.source->layers();
  uint64_t layer_seen[3] = {};  // sampled video packets per simulcast layer
  std::vector<double> delays;
  std::vector<uint8_t> sample(2048);
  auto receive_publisher = [&] {
    // The publisher's socket: answer checks, drop the SFU's RTCP.
    pub.socket().receive_all(
        [&](std::span<uint8_t> buffer, size_t length, const media::TransportAddress& from) {
          pub.answer_check(std::span<const uint8_t>(buffer.data(), length), from);
        });
  };
  auto receive_subscriber = [&](size_t index) {
    auto& s = *endpoints.subscribers[index];
    s.socket().receive_all(
        [&](std::span<uint8_t> buffer, size_t length, const media::TransportAddress& from) {
          if (buffer[0] < 128 || buffer[0] > 191 || (buffer[1] >= 192 && buffer[1] <= 223)) {
            s.answer_check(std::span<const uint8_t>(buffer.data(), length), from);
            return;  // not RTP
          }
          if ((++received[index] & 15) != 0 || !s.srtp_receive()) return;
          std::memcpy(sample.data(), buffer.data(), length);
          size_t n = length;
          if (s.srtp_receive()->unprotect_rtp(sample, n) != media::SrtpError::kOk) return;
          auto view = media::RtpView::parse(std::span<const uint8_t>(sample.data(), n));
          if (!view || view->payload().size() < 1 + 16 + 8) return;
          int64_t sent_ns;
          std::memcpy(&sent_ns, view->payload().data() + 1 + 16, 8);
          if (view->payload().size() > 200 &&  // video, not audio

              view->payload()[kLayerOffset] < 3)
            ++layer_seen[view->payload()[kLayerOffset]];
          delays.push_back(static_cast<double>(now_ns() - sent_ns) / 1000.0);
        });
  };
  // Only sockets with something to read (level-triggered epoll): with
  // hundreds of subscribers, polling each in turn costs more than receiving.
  int epoll = epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0) fail("epoll_create1 failed");
  constexpr uint64_t kPublisher = ~uint64_t{0};
  auto watch = [&](int fd, uint64_t key) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = key;
    if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0) fail("epoll_ctl failed");
  };
  watch(pub.socket().fd(), kPublisher);
  for (size_t index = 0; index < endpoints.subscribers.size(); ++index)
    watch(endpoints.subscribers[index]->socket().fd(), index);
  std::vector<epoll_event> ready(256);
  // Reads what is waiting (waits up to timeout_ms for something); the number of ready sockets.
  auto drain = [&](int timeout_ms = 0) {
    int count = epoll_wait(epoll, ready.data(), static_cast<int>(ready.size()), timeout_ms);
    for (int i = 0; i < count; ++i) {
      if (ready[static_cast<size_t>(i)].data.u64 == kPublisher)
        receive_publisher();
      else
        receive_subscriber(static_cast<size_t>(ready[static_cast<size_t>(i)].data.u64));
    }
    return std::max(count, 0);
  };
  drain();
  std::fill(received.begin(), received.end(), 0);
  delays.clear();
  std::fill(std::begin(layer_seen), std::end(layer_seen), 0);
  double cpu_before = process_cpu_seconds(o.server_pid);
  double own_before = own_cpu_seconds(), busy_before = machine_busy_seconds();
  auto begin = Clock::now();
  auto end = begin + std::chrono::duration<double>(o.seconds);
  uint64_t sent = 0, audio_sent = 0;
  uint64_t layer_sent[3] = {};
  while (Clock::now() < end) {
    double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
    if (o.audio && kAudioRate * elapsed > static_cast<double>(audio_sent)) {
      endpoints.source->send_audio();
      ++audio_sent;
    }
    int sent_now = 0;
    for (int layer = 0; layer < layers; ++layer) {
      double due = o.rate * layer_share(layers, layer) * elapsed;
      int burst =
          static_cast<int>(std::min<double>(32, due - static_cast<double>(layer_sent[layer])));
      if (burst > 0) {
        endpoints.source->send(burst, layer);
        layer_sent[layer] += static_cast<uint64_t>(burst);
        sent += static_cast<uint64_t>(burst);
        sent_now += burst;
      }
    }
    if (drain() == 0 && sent_now <= 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  auto tail_end = Clock::now() + std::chrono::milliseconds(500);
  while (Clock::now() < tail_end)
    drain(1);
  close(epoll);
  double wall = std::chrono::duration<double>(Clock::now() - begin).count();
  double cpu = process_cpu_seconds(o.server_pid) - cpu_before;
  double own = own_cpu_seconds() - own_before, busy = machine_busy_seconds() - busy_before;
  uint64_t total = 0;
  for (auto count : received)
    total += count;
  // Each subscriber gets one simulcast layer: the one most sampled packets came from.
  int layer = static_cast<int>(std::max_element(layer_seen, layer_seen + layers) - layer_seen);
  uint64_t expected = (layer_sent[layer] + audio_sent) * endpoints.subscribers.size();
  std::sort(delays.begin(), delays.end());
  auto percentile = [&](double p) {
    return delays.empty()
               ? 0.0
               : delays[std::min(delays.size() - 1,
                                 static_cast<size_t>(p * static_cast<double>(delays.size())))];
  };
  const char* profile = "none";
  if (!endpoints.subscribers.empty() && endpoints.subscribers[0]->srtp_receive())
    profile =
        endpoints.subscribers[0]->srtp_receive()->profile() == media::SrtpProfile::kAeadAes128Gcm
            ? "AEAD_AES_128_GCM"
            : "AES_CM_128_HMAC_SHA1_80";
  std::printf(
      "{\"sfu\":\"%s\",\"subscribers\":%d,\"rate\":%.0f,\"audio_sent\":%llu,\"sent\":%llu,"
      "\"received\":%llu,"
      "\"loss\":%.5f,\"forwarded_per_second\":%.0f,\"server_cpu_seconds\":%.3f,"
      "\"per_core_second\":%.0f,\"delay_p50_us\":%.0f,\"delay_p99_us\":%.0f,\"srtp\":\"%s\",\"wall_"
      "seconds\":%.3f,\"client_cores\":%.2f,"
      "\"other_cores\":%.2f,\"simulcast\":%d,\"layer\":\"%s\",\"layer_samples\":\"%llu/%llu/"
      "%llu\"}\n",
      o.janus ? "janus" : "atrium", o.subscribers, o.rate,
      static_cast<unsigned long long>(audio_sent),
      static_cast<unsigned long long>(sent + audio_sent), static_cast<unsigned long long>(total),
      expected ? 1.0 - static_cast<double>(total) / static_cast<double>(expected) : 0.0,
      static_cast<double>(total) / wall, cpu, cpu > 0 ? static_cast<double>(total) / cpu : 0.0,
      percentile(0.5), percentile(0.99), profile, wall, own / wall,
      std::max(0.0, (busy - cpu - own) / wall), layers, layers > 1 ? kRids[layer] : "-",
      static_cast<unsigned long long>(layer_seen[0]),
      static_cast<unsigned long long>(layer_seen[1]),
      static_cast<unsigned long long>(layer_seen[2]));
  std::fflush(stdout);
}

void run_idle(const Options& o, Endpoints& endpoints, const Memory& at_start,
              const Memory& publisher_only, double settle, bool report) {
  // Keep answering the SFU's checks (consent) and read whatever arrives.
  auto receive = [](testing::LoopbackMediaClient& client) {
    client.socket().receive_all(
        [&](std::span<uint8_t> buffer, size_t length, const media::TransportAddress& from) {
          if (buffer[0] < 128 || buffer[0] > 191 || (buffer[1] >= 192 && buffer[1] <= 223))
            client.answer_check(std::span<const uint8_t>(buffer.data(), length), from);
        });
  };
  auto end = Clock::now() + std::chrono::duration<double>(settle);
  while (Clock::now() < end) {
    receive(*endpoints.publisher);
    for (auto& s : endpoints.subscribers)
      receive(*s);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!report) return;
  Memory with = process_memory(o.server_pid);
  auto n = static_cast<double>(std::max<size_t>(1, endpoints.subscribers.size()));
  std::printf(
      "{\"sfu\":\"%s\",\"idle\":1,\"subscribers\":%zu,\"rss_start_kb\":%ld,"
      "\"pss_start_kb\":%ld,\"rss_publisher_kb\":%ld,\"pss_publisher_kb\":%ld,"
      "\"rss_subscribers_kb\":%ld,\"pss_subscribers_kb\":%ld,"
      "\"rss_per_subscriber_kb\":%.1f,\"pss_per_subscriber_kb\":%.1f}\n",
      o.janus ? "janus" : "atrium", endpoints.subscribers.size(), at_start.rss_kb, at_start.pss_kb,
      publisher_only.rss_kb, publisher_only.pss_kb, with.rss_kb, with.pss_kb,
      static_cast<double>(with.rss_kb - publisher_only.rss_kb) / n,
      with.pss_kb < 0 || publisher_only.pss_kb < 0
          ? -1.0
          : static_cast<double>(with.pss_kb - publisher_only.pss_kb) / n);
  std::fflush(stdout);
}

}  // namespace atrium::bench
