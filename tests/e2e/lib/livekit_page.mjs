// A livekit-client page for the SFU browser tests: serves livekit-client's
// UMD build, its E2EE worker and a small driver (window.LK) that each page
// uses to join one Room, publish fake camera + microphone, render remote
// tracks, send data and report events and receiver stats.
//
//   const site = await serveLivekitPage();
//   const page = await browser.newPage(site.url);
//   const me = await page.evaluate(([u, t, o]) => LK.connect(u, t, o), [url, jwt, {}]);
//   await page.evaluate(() => LK.stats());   // per remote identity: video/audio receiver stats
import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";

import { E2E_DIR } from "./server.mjs";

const DIST = path.join(E2E_DIR, "node_modules", "livekit-client", "dist");

const PAGE_HTML = String.raw`<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>atrium sfu</title>
<style>body{margin:0;background:#222;color:#eee;font:12px sans-serif}
.tile{display:inline-block;margin:2px;vertical-align:top} video{background:#000;display:block;width:320px;height:240px}</style>
<script src="/livekit-client.umd.js"></script>
</head><body><div id="me"></div><div id="remotes"></div>
<script>
"use strict";
const L = LivekitClient;
window.LK = {
  room: null, events: [], data: [], elements: {},

  log(type, extra) { this.events.push({ type, t: Date.now(), ...extra }); },

  // Joins, publishes camera + mic; returns the local identity.
  async connect(url, token, opts = {}) {
    const roomOpts = { adaptiveStream: !!opts.adaptiveStream, dynacast: false,
      publishDefaults: { simulcast: true, videoCodec: opts.videoCodec || "vp8", ...(opts.red === undefined ? {} : { red: opts.red }) },
      videoCaptureDefaults: { resolution: { width: 640, height: 480, frameRate: 15 } } };
    if (opts.e2eeKey !== undefined) {
      const keyProvider = new L.ExternalE2EEKeyProvider();
      await keyProvider.setKey(opts.e2eeKey);
      roomOpts.e2ee = { keyProvider, worker: new Worker("/livekit-client.e2ee.worker.js") };
    }
    if (opts.refuseRed) {
      // A receiver without RED: drop it from every answer this page makes.
      const createAnswer = RTCPeerConnection.prototype.createAnswer;
      RTCPeerConnection.prototype.createAnswer = async function (...args) {
        const answer = await createAnswer.apply(this, args);
        const red = [...answer.sdp.matchAll(/a=rtpmap:(\d+) red\//g)].map((m) => m[1]);
        let sdp = answer.sdp;
        for (const pt of red) {
          sdp = sdp.replace(new RegExp("^a=(rtpmap|fmtp|rtcp-fb):" + pt + " .*\\r\\n", "gm"), "")
            .replace(/^(m=audio \S+ \S+)(.*)$/gm, (line, head, pts) =>
              head + pts.split(" ").filter((x) => x !== pt).join(" "));
        }
        return { type: answer.type, sdp };
      };
    }
    const room = new L.Room(roomOpts);
    this.room = room;
    L.setLogLevel("warn");
    const E = L.RoomEvent;
    room.on(E.ParticipantConnected, (p) => this.log("participantConnected", { identity: p.identity }));
    room.on(E.ParticipantDisconnected, (p) => this.log("participantDisconnected", { identity: p.identity }));
    room.on(E.TrackSubscribed, (track, pub, p) => {
      this.log("trackSubscribed", { identity: p.identity, kind: track.kind, source: pub.source });
      const el = track.attach();
      el.dataset.identity = p.identity;
      if (track.kind === "video") {
        el.muted = true;
        const tile = document.createElement("div");
        tile.className = "tile";
        tile.textContent = p.identity.slice(0, 12);
        tile.appendChild(el);
        document.getElementById("remotes").appendChild(tile);
      } else {
        document.body.appendChild(el);
      }
      this.elements[p.identity + "/" + track.kind] = el;
    });
    room.on(E.TrackUnsubscribed, (track, pub, p) => this.log("trackUnsubscribed", { identity: p.identity, kind: track.kind }));
    room.on(E.TrackMuted, (pub, p) => this.log("trackMuted", { identity: p.identity, kind: pub.kind, source: pub.source }));
    room.on(E.TrackUnmuted, (pub, p) => this.log("trackUnmuted", { identity: p.identity, kind: pub.kind, source: pub.source }));
    room.on(E.EncryptionError, (err, p) => this.log("encryptionError", { identity: p?.identity, message: String(err?.message || err) }));
    room.on(E.ParticipantEncryptionStatusChanged, (enabled, p) => this.log("encryptionStatus", { identity: p?.identity, enabled }));
    room.on(E.Disconnected, (reason) => this.log("disconnected", { reason }));
    room.on(E.DataReceived, (payload, p, kind, topic) => {
      this.data.push({ text: new TextDecoder().decode(payload), from: p ? p.identity : null, kind, topic });
    });
    if (opts.e2eeKey !== undefined) await room.setE2EEEnabled(true);
    await room.connect(url, token);
    document.getElementById("me").textContent = "me: " + room.localParticipant.identity;
    await room.localParticipant.enableCameraAndMicrophone();
    return room.localParticipant.identity;
  },

  // CSS size of the <video> rendering a remote participant.
  setVideoSize(identity, w, h) {
    const el = this.elements[identity + "/video"];
    if (!el) throw new Error("no video element for " + identity);
    el.style.width = w + "px";
    el.style.height = h + "px";
  },

  // Per remote identity: {video, audio} inbound-rtp figures of its camera / microphone.
  async stats() {
    const out = {};
    for (const p of this.room.remoteParticipants.values()) {
      const entry = (out[p.identity] = {});
      for (const pub of p.trackPublications.values()) {
        const track = pub.track;
        if (!track || !track.receiver) continue;
        const report = await track.receiver.getStats();
        const negotiated = track.receiver.getParameters().codecs.map((c) => c.mimeType);
        report.forEach((s) => {
          if (s.type !== "inbound-rtp") return;
          entry[track.kind] = { packets: s.packetsReceived, bytes: s.bytesReceived, framesDecoded: s.framesDecoded,
            frameWidth: s.frameWidth, frameHeight: s.frameHeight, samples: s.totalSamplesReceived,
            muted: pub.isMuted, mime: pub.mimeType, negotiated, codec: s.codecId ? report.get(s.codecId)?.mimeType : undefined,
            packetsLost: s.packetsLost, concealed: s.concealedSamples };
        });
      }
    }
    return out;
  },

  // The local tracks' outbound-rtp streams: kind, codec, rid, scalability mode, size.
  async outbound() {
    const out = [];
    for (const pub of this.room.localParticipant.trackPublications.values()) {
      if (!pub.track?.sender) continue;
      const report = await pub.track.sender.getStats();
      report.forEach((s) => {
        if (s.type === "candidate-pair" && s.nominated) out.push({ availableOutgoingBitrate: s.availableOutgoingBitrate });
        if (s.type !== "outbound-rtp") return;
        out.push({ kind: pub.kind, rid: s.rid, codec: s.codecId ? report.get(s.codecId)?.mimeType : undefined,
          scalabilityMode: s.scalabilityMode, frameWidth: s.frameWidth, framesEncoded: s.framesEncoded,
          limitation: s.qualityLimitationReason, bitrateTarget: s.targetBitrate });
      });
    }
    return out;
  },

  async setCamera(enabled) { await this.room.localParticipant.setCameraEnabled(enabled); },

  async send(text, opts) { await this.room.localParticipant.publishData(new TextEncoder().encode(text), opts); },

  async leave() { await this.room.disconnect(); },
};
</script></body></html>`;

/** Serves the page, livekit-client's UMD build and its E2EE worker. Returns {url, close()}. */
export async function serveLivekitPage() {
  const files = {
    "/livekit-client.umd.js": await readFile(path.join(DIST, "livekit-client.umd.js")),
    "/livekit-client.e2ee.worker.js": await readFile(path.join(DIST, "livekit-client.e2ee.worker.js")),
  };
  const srv = http.createServer((req, res) => {
    const p = req.url.split("?")[0];
    if (p === "/") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
      return res.end(PAGE_HTML);
    }
    if (files[p]) {
      res.writeHead(200, { "Content-Type": "text/javascript" });
      return res.end(files[p]);
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", resolve);
  });
  return {
    url: `http://127.0.0.1:${srv.address().port}/`,
    close: () => new Promise((r) => { srv.closeAllConnections?.(); srv.close(() => r()); }),
  };
}
