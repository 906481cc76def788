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
//   either with --simulcast 3: the video as three simulcast streams (rids q,
//   h, f; SSRCs 0x1234abcd + 0..2) at 1/4, 1/2 and 1 of --rate; each
//   subscriber gets the one the SFU chooses (reported as "layer").
//   either with --idle 1: no timed phase; the publisher sends only its 20
//   setup packets, then the SFU's RSS/PSS (/proc) right after start, with
//   the publisher only and with the subscribers connected, as one JSON line;
//   --hold S then keeps everyone connected S more seconds (to profile the SFU).
//   --deflate 1: the signal WebSockets offer permessage-deflate, as browsers do.
//
// Front ends: livekit_setup.cpp, janus_setup.cpp; the timed phase and the
// packets: load_common.cpp.
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

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
    else if (name == "--simulcast")
      o.simulcast = std::stoi(value);
    else if (name == "--idle")
      o.idle = value != "0";
    else if (name == "--deflate")
      o.deflate = value != "0";
    else if (name == "--hold")
      o.hold = std::stod(value);
    else
      fail("unknown option " + name);
  }
  if (o.url.empty() || !o.server_pid || (!o.janus && (o.key.empty() || o.secret.empty())))
    fail(
        "usage: sfu_load --url ws://host:port/prefix --key K --secret S --server-pid PID "
        "[--subscribers N] [--rate PPS] [--seconds S] [--audio 0|1] [--simulcast 1|3] [--idle "
        "0|1]\n"
        "       sfu_load --janus ws://host:port --server-pid PID [--room ID] [--bind IP] "
        "[--subscribers N] [--rate PPS] [--seconds S] [--audio 0|1] [--simulcast 1|3] [--idle "
        "0|1]");
  // Setup must not hang a benchmark run: a stuck signalling read ends here.
  alarm(static_cast<unsigned>(60 + o.subscribers + o.seconds + o.hold));
  // Idle mode: the server's memory before anyone connects, with the publisher only.
  atrium::bench::Memory at_start, publisher_only;
  if (o.idle) {
    at_start = atrium::bench::process_memory(o.server_pid);
    o.after_publisher = [&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(700));
      publisher_only = atrium::bench::process_memory(o.server_pid);
    };
  }
  if (o.simulcast != 1 && o.simulcast != 3) fail("--simulcast takes 1 or 3");
  auto certificate = atrium::media::DtlsCertificate::generate();
  auto endpoints = o.janus ? atrium::bench::setup_janus(o, certificate)
                           : atrium::bench::setup_livekit(o, certificate);
  if (o.idle) {
    atrium::bench::run_idle(o, endpoints, at_start, publisher_only, 2.0);
    if (o.hold > 0) atrium::bench::run_idle(o, endpoints, at_start, publisher_only, o.hold, false);
  } else
    atrium::bench::run_load(o, endpoints);
  endpoints.close();
  return 0;
}
