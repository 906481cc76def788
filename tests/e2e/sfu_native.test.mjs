// A native LiveKit client (@livekit/rtc-node: the Rust SDK, which tries
// /rtc/v1 first, falls back to /rtc on a handshake 404, sends the token as
// Authorization: Bearer and answers server offers without an offer id) and a
// browser (livekit-client in headless Chromium) in one room of our SFU:
//   rtc-node publishes a 440 Hz tone as its microphone; the browser receives it
//     (inbound-rtp audio packets and samples, an attached <audio> element);
//   the browser publishes its fake microphone (a beep); rtc-node receives it
//     through an AudioStream and sees non-silent samples;
//   reliable data both ways; rtc-node leaves cleanly (room.disconnect(),
//     dispose(), process exit 0) and the browser sees it go.
// rtc-node runs in a child process (lib/rtc_node_peer.mjs); libwebrtc does not
// gather on loopback, so the test adds a veth pair inside run.sh's private
// namespace for it (lib/rtc_node.mjs addRtcNodeInterface).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";

import { AccessToken } from "livekit-server-sdk";

import { E2E_DIR, startServer, waitFor, withServerLogOnFailure } from "./lib/server.mjs";
import { assertLoopbackOnly, browserUnavailableReason, launchBrowser, servePage } from "./lib/browser.mjs";
import { RtcNodePeer, addRtcNodeInterface, removeRtcNodeInterface } from "./lib/rtc_node.mjs";

const UMD = path.join(E2E_DIR, "node_modules", "livekit-client", "dist", "livekit-client.umd.js");
const ROOM = "native";
const skip = browserUnavailableReason();

let server, keys, browser, site, page, peer, sfuUrl;

async function token(identity) {
  const t = new AccessToken(keys.key, keys.secret, { identity, ttl: "1h" });
  t.addGrant({ roomJoin: true, room: ROOM, canPublish: true, canSubscribe: true, canPublishData: true });
  return t.toJwt();
}

const describeAll = () => {
  let out = "";
  if (peer) out += `\n--- rtc-node ---\n${peer.describe(40)}\n`;
  if (browser) out += `\n--- browser console ---\n${browser.consoleTail(40)}\n`;
  return out;
};
const step = (name, fn) =>
  test(name, { skip: skip || false }, () =>
    withServerLogOnFailure(() => server, name, async () => {
      try {
        return await fn();
      } catch (e) {
        e.message += describeAll();
        throw e;
      }
    }),
  );

before(async () => {
  if (skip) return;
  assertLoopbackOnly();
  server = await startServer();
  keys = JSON.parse(await readFile(path.join(server.dataDir, "rtc_auth_key.json"), "utf8"));
  sfuUrl = `${server.baseUrl.replace(/^http/, "ws")}/livekit/sfu`;
  browser = await launchBrowser("sfu-native", { extraArgs: ["--autoplay-policy=no-user-gesture-required"] });
  addRtcNodeInterface(); // after launchBrowser (which asserts loopback only)
  site = await servePage('<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body></body></html>');
});

after(async () => {
  if (peer?.alive) {
    peer.proc.kill("SIGKILL");
    await peer.exited;
  }
  await browser?.close();
  await site?.close();
  removeRtcNodeInterface();
  if (server) {
    const info = await server.stop();
    assert.equal(info?.code, 0, `atrium exit on SIGTERM: ${JSON.stringify(info)}`);
  }
});

step("the browser joins and publishes its microphone", async () => {
  page = await browser.newPage(site.url);
  await page.addScriptTag({ path: UMD });
  await page.evaluate(
    async ([url, tok]) => {
      const L = window.LivekitClient;
      L.setLogLevel("warn");
      const room = new L.Room({ adaptiveStream: false, dynacast: false });
      window.room = room;
      window.events = [];
      window.dataIn = [];
      const E = L.RoomEvent;
      room.on(E.ParticipantConnected, (p) => events.push(`joined ${p.identity}`));
      room.on(E.ParticipantDisconnected, (p) => events.push(`left ${p.identity}`));
      room.on(E.TrackSubscribed, (track, pub, p) => {
        events.push(`sub ${p.identity} ${track.kind} ${pub.source}`);
        const el = track.attach();
        el.id = `el-${p.identity}-${track.kind}`;
        document.body.appendChild(el);
      });
      room.on(E.DataReceived, (payload, p, kind, topic) =>
        dataIn.push({ text: new TextDecoder().decode(payload), from: p?.identity, topic }),
      );
      await room.connect(url, tok);
      await room.localParticipant.setMicrophoneEnabled(true);
    },
    [sfuUrl, await token("web")],
  );
  const published = await page.evaluate(() => [...room.localParticipant.audioTrackPublications.values()].map((p) => p.trackSid));
  assert.equal(published.length, 1, "the browser's microphone is published");
  assert.match(published[0], /^TR_/);
});

step("rtc-node connects (Rust SDK: Bearer token, answers without offer id) and publishes a tone", async () => {
  peer = new RtcNodePeer({ url: sfuUrl, token: await token("native"), label: "rtc-node" });
  const c = await peer.waitForEvent((e) => e.ev === "connected", "connected", 30000);
  assert.match(c.sid, /^PA_/);
  assert.equal(c.identity, "native");
  const p = await peer.waitForEvent((e) => e.ev === "published", "the tone is published", 20000);
  assert.match(p.sid, /^TR_/);
  await peer.waitForEvent((e) => e.ev === "participant" && e.identity === "web", "sees the browser", 10000);
});

step("rtc-node receives the browser's microphone: non-silent frames", async () => {
  await peer.waitForEvent((e) => e.ev === "subscribed" && e.identity === "web" && e.kind === 1, "subscribed to web's audio", 20000);
  // ~50 frames of 10 ms per report; the fake microphone beeps about once a second.
  const a = await peer.waitForEvent(
    (e) => e.ev === "audio" && e.identity === "web" && e.frames >= 150 && e.loud >= 5,
    "≥1.5 s of web's audio with non-silent frames",
    30000,
  );
  assert.ok(a.peak > 1000, `peak ${a.peak}`);
});

step("the browser receives rtc-node's tone: inbound-rtp packets and samples, an <audio> element", async () => {
  await waitFor(
    () => page.evaluate(() => events.includes("sub native audio microphone")),
    "browser subscribed to native's microphone",
    20000,
    { detail: () => "" },
  );
  const stats = await waitFor(
    async () => {
      const s = await page.evaluate(async () => {
        const p = room.remoteParticipants.get("native");
        const pub = p && [...p.audioTrackPublications.values()][0];
        const receiver = pub?.track?.receiver;
        if (!receiver) return null;
        let out = null;
        (await receiver.getStats()).forEach((r) => {
          if (r.type === "inbound-rtp" && r.kind === "audio")
            out = { packets: r.packetsReceived, samples: r.totalSamplesReceived, energy: r.totalAudioEnergy, level: r.audioLevel };
        });
        const el = document.getElementById("el-native-audio");
        return out && { ...out, attached: !!el, paused: el?.paused, tag: el?.tagName };
      });
      return s && s.packets > 100 && s.samples > 48000 ? s : null;
    },
    "inbound audio from native (>100 packets, >1 s of samples)",
    30000,
    { intervalMs: 500 },
  );
  assert.equal(stats.tag, "AUDIO");
  assert.equal(stats.paused, false, "the <audio> element plays");
  assert.ok(stats.energy > 0, `the tone has energy: ${JSON.stringify(stats)}`);
});

step("data both ways between rtc-node and the browser", async () => {
  // browser -> rtc-node (the data channels may need a moment: retry until one lands).
  await waitFor(
    async () => {
      await page.evaluate(() =>
        room.localParticipant.publishData(new TextEncoder().encode("to-native"), { reliable: true, topic: "w" }),
      );
      return peer.events.find((e) => e.ev === "data" && e.text === "to-native");
    },
    "rtc-node receives the browser's data",
    20000,
    { intervalMs: 500 },
  );
  const d = peer.events.find((e) => e.ev === "data" && e.text === "to-native");
  assert.equal(d.from, "web");
  assert.equal(d.topic, "w");
  // rtc-node -> browser
  await waitFor(
    async () => {
      peer.send("data to-web");
      return page.evaluate(() => dataIn.find((d) => d.text === "to-web"));
    },
    "the browser receives rtc-node's data",
    20000,
    { intervalMs: 500 },
  );
  const w = await page.evaluate(() => dataIn.find((d) => d.text === "to-web"));
  assert.equal(w.from, "native");
  assert.equal(w.topic, "t");
});

step("rtc-node leaves cleanly: disconnect + dispose, exit 0, the browser sees it go", async () => {
  const info = await peer.quit(20000);
  assert.deepEqual(info, { code: 0, signal: null }, `rtc-node exit ${JSON.stringify(info)}`);
  assert.ok(peer.events.some((e) => e.ev === "closed"), "rtc-node reported disconnect + dispose done");
  assert.deepEqual(peer.events.filter((e) => e.ev === "error"), []);
  await waitFor(() => page.evaluate(() => events.includes("left native")), "the browser sees native leave", 10000);
  await waitFor(
    () => server.log.some((l) => /participant left" room=native identity=native aborted=false/.test(l)),
    "the server logs a clean (not aborted) leave",
    5000,
  );
  assert.ok(server.running);
});
