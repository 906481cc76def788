// A native LiveKit participant (@livekit/rtc-node, the Rust SDK) in its own
// process, driven by lib/rtc_node.mjs. argv[2] = JSON {url, token, label}.
// It connects with autoSubscribe, publishes a 440 Hz tone as a microphone
// track, reads every subscribed remote audio track through an AudioStream and
// reports on stdout, one JSON object a line:
//   {ev:"connected", sid, identity}
//   {ev:"published", sid}
//   {ev:"participant", identity}
//   {ev:"subscribed", identity, kind, sid}
//   {ev:"audio", identity, frames, loud, peak}   (every ~50 frames and at the end)
//   {ev:"data", text, from, topic}
//   {ev:"disconnected", reason}
//   {ev:"error", message}
//   {ev:"closed"}                               (after disconnect + dispose)
// stdin commands, one a line: "data <text>" (reliable publishData, topic "t"),
// "quit" (stop the tone, room.disconnect(), dispose(), exit 0).
import readline from "node:readline";
import {
  AudioFrame,
  AudioSource,
  AudioStream,
  LocalAudioTrack,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  dispose,
} from "@livekit/rtc-node";

const cfg = JSON.parse(process.argv[2]);
const report = (o) => process.stdout.write(JSON.stringify({ t: Date.now(), ...o }) + "\n");
process.on("unhandledRejection", (e) => report({ ev: "error", message: String(e?.stack || e) }));

const SAMPLE_RATE = 48000;
const FRAME = 480; // 10 ms
const room = new Room();
let running = true;
const readers = [];

room.on(RoomEvent.ParticipantConnected, (p) => report({ ev: "participant", identity: p.identity }));
room.on(RoomEvent.Disconnected, (reason) => report({ ev: "disconnected", reason }));
room.on(RoomEvent.DataReceived, (payload, participant, _kind, topic) =>
  report({ ev: "data", text: new TextDecoder().decode(payload), from: participant?.identity, topic }),
);
room.on(RoomEvent.TrackSubscribed, (track, publication, participant) => {
  report({ ev: "subscribed", identity: participant.identity, kind: track.kind, sid: publication.sid });
  if (track.kind !== TrackKind.KIND_AUDIO) return;
  const stream = new AudioStream(track, SAMPLE_RATE, 1);
  const reader = stream.getReader();
  readers.push(reader);
  (async () => {
    let frames = 0;
    let loud = 0; // frames with a sample above the silence threshold
    let peak = 0;
    for (;;) {
      let r;
      try {
        r = await reader.read();
      } catch {
        break;
      }
      if (r.done) break;
      frames++;
      let max = 0;
      for (const s of r.value.data) max = Math.max(max, Math.abs(s));
      peak = Math.max(peak, max);
      if (max > 300) loud++;
      if (frames % 50 === 0) report({ ev: "audio", identity: participant.identity, frames, loud, peak });
    }
    report({ ev: "audio", identity: participant.identity, frames, loud, peak, end: true });
  })();
});

async function tone(source) {
  let phase = 0;
  while (running) {
    const frame = AudioFrame.create(SAMPLE_RATE, 1, FRAME);
    for (let i = 0; i < FRAME; i++) {
      frame.data[i] = Math.round(8000 * Math.sin(phase));
      phase += (2 * Math.PI * 440) / SAMPLE_RATE;
    }
    await source.captureFrame(frame); // paces itself (queue of queueSize ms)
  }
}

async function quit() {
  running = false;
  for (const r of readers) r.cancel().catch(() => {});
  try {
    await room.disconnect();
  } catch (e) {
    report({ ev: "error", message: "disconnect: " + e });
  }
  await dispose();
  report({ ev: "closed" });
  process.exit(0);
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (line === "quit") return void quit();
  if (line.startsWith("data ")) {
    room.localParticipant
      .publishData(new TextEncoder().encode(line.slice(5)), { reliable: true, topic: "t" })
      .then(() => report({ ev: "data_sent", text: line.slice(5) }))
      .catch((e) => report({ ev: "error", message: "publishData: " + e }));
  }
});

try {
  await room.connect(cfg.url, cfg.token, { autoSubscribe: true, dynacast: false });
  report({ ev: "connected", sid: await room.localParticipant.sid, identity: room.localParticipant.identity });
  for (const p of room.remoteParticipants.values()) report({ ev: "participant", identity: p.identity });
  const source = new AudioSource(SAMPLE_RATE, 1, 200);
  const track = LocalAudioTrack.createAudioTrack("tone", source);
  const pub = await room.localParticipant.publishTrack(
    track,
    new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }),
  );
  report({ ev: "published", sid: pub.sid });
  tone(source).catch((e) => report({ ev: "error", message: "tone: " + e }));
} catch (e) {
  report({ ev: "error", message: "connect/publish: " + (e?.stack || e) });
  await dispose().catch(() => {});
  process.exit(3);
}
