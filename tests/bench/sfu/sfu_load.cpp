// sfu_load: a fan-out load test of an SFU with native clients made of
// Atrium's own pieces (the loopback WebRTC client: ICE, DTLS, SRTP), through
// LiveKit's signalling (Atrium) or Janus's VideoRoom API (--janus).
//
// One publisher joins, offers a sendonly VP8 section, connects and sends
// synthetic VP8 packets (1200-byte payloads, every one a keyframe start, so
// forwarding never waits) and, unless --audio 0, Opus-shaped audio packets
// (160 bytes, 50/s), each carrying its send time. N subscribers then join;
// each answers the SFU's offer, connects and counts what arrives; every 16th
// packet is decrypted to read the send time. The SFU process's CPU time (from
// /proc) gives the cost per forwarded packet. Prints one JSON line.
//
//   sfu_load --url ws://127.0.0.1:PORT/livekit/sfu --key K --secret S
//            --server-pid PID [--subscribers 50] [--rate 2000] [--seconds 3]
//            [--audio 1]
//   sfu_load --janus ws://127.0.0.1:8188 --server-pid PID [--room 4242]
//            [--bind 198.18.0.1] [--subscribers 50] [--rate 2000] [--seconds 3]
//
// Front ends: livekit_setup.cpp, janus_setup.cpp; the timed phase and the
// packets: load_common.cpp.
#include <unistd.h>

#include <string>

#include "load_common.hpp"

int main(int argc, char** argv) {
  using atrium::bench::fail;
  atrium::bench::Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string name = argv[i], value = argv[i + 1];
    if (name == "--url")
      o.url = value;
    else if (name == "--janus")
      o.url = value, o.janus = true;
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
    else if (name == "--audio")
      o.audio = value != "0";
    else if (name == "--room")
      o.janus_room = std::stoull(value);
    else if (name == "--bind")
      o.bind_ip = value;
    else
      fail("unknown option " + name);
  }
  if (o.url.empty() || !o.server_pid || (!o.janus && (o.key.empty() || o.secret.empty())))
    fail(
        "usage: sfu_load --url ws://host:port/prefix --key K --secret S --server-pid PID "
        "[--subscribers N] [--rate PPS] [--seconds S]\n"
        "       sfu_load --janus ws://host:port --server-pid PID [--room ID] [--bind IP] "
        "[--subscribers N] [--rate PPS] [--seconds S]");
  // Setup must not hang a benchmark run: a stuck signalling read ends here.
  alarm(static_cast<unsigned>(60 + o.subscribers + o.seconds));
  auto certificate = atrium::media::DtlsCertificate::generate();
  auto endpoints = o.janus ? atrium::bench::setup_janus(o, certificate)
                           : atrium::bench::setup_livekit(o, certificate);
  atrium::bench::run_load(o, endpoints);
  endpoints.close();
  return 0;
}
