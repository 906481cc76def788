// WebRTC media tests against the C++ media echo server (atrium-media-echo),
// with two independent WebRTC stacks: headless Chromium (simulcast video,
// audio, two data channels) and node-datachannel (libdatachannel: data channel
// + raw RTP on a video track). Plus a browser sanity check that needs no
// server (two RTCPeerConnections in one page over loopback).
//
// Runs only inside run.sh's private network namespace (only `lo`).
// The echo-server tests are skipped, with a message, while the binary does not exist.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { sleep, waitFor } from "./lib/server.mjs";
import { assertLoopbackOnly, browserUnavailableReason, launchBrowser, servePage } from "./lib/browser.mjs";
import { MEDIA_ECHO_BIN, mediaEchoUnavailableReason, mungeFingerprint, sdpUfrag, startMediaEcho } from "./lib/media_echo.mjs";

// ---------------------------------------------------------------------------
// The page: all WebRTC work happens here, driven through page.evaluate.
// ---------------------------------------------------------------------------
const PAGE_HTML = String.raw`<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>atrium media echo</title>
<style>body{margin:0;background:#222;color:#eee;font:14px sans-serif} video{width:384px;height:288px;background:#000;margin:4px}</style>
</head><body>
<div>local <video id="local" autoplay muted playsinline></video> echo <video id="remote" autoplay muted playsinline></video><audio id="remoteAudio" autoplay></audio></div>
<pre id="status"></pre>
<script>
"use strict";
// Deterministic content + a key that identifies a message by type, length and bytes.
function fnv(bytes) { let h = 0x811c9dc5; for (const b of bytes) { h ^= b; h = Math.imul(h, 0x01000193) >>> 0; } return h.toString(16); }
function keyOf(data) {
  if (typeof data === "string") return "S:" + data;
  const u = new Uint8Array(data);
  return "B:" + u.length + ":" + fnv(u);
}
function makeBinary(len, seed) { const u = new Uint8Array(len); for (let i = 0; i < len; i++) u[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff; return u.buffer; }

function setupChannel(dc) {
  dc.binaryType = "arraybuffer";
  dc.received = [];
  dc.onmessage = (e) => dc.received.push(keyOf(e.data));
  dc.opened = new Promise((resolve, reject) => {
    if (dc.readyState === "open") resolve();
    dc.addEventListener("open", () => resolve(), { once: true });
    dc.addEventListener("error", (e) => reject(new Error("data channel " + dc.label + " error: " + (e.error && e.error.message))), { once: true });
  });
  return dc;
}

function gatheringComplete(pc, ms) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms); // go on with what was gathered
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") { clearTimeout(t); resolve(); }
    });
  });
}

function withTimeout(p, ms, what) {
  return Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error("timeout: " + what)), ms))]);
}

window.T = {
  pc: null, channels: {}, sentKeys: {},

  // Build the offerer; returns the local offer SDP (after ICE gathering completed).
  async makeOffer() {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480, frameRate: 15 } });
    document.getElementById("local").srcObject = stream;
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    this.remoteTracks = [];
    pc.ontrack = (e) => {
      this.remoteTracks.push(e.track.kind);
      // Chromium decodes remote audio only while something plays it out.
      const el = document.getElementById(e.track.kind === "video" ? "remote" : "remoteAudio");
      el.srcObject = new MediaStream([e.track]);
      el.play().catch((err) => console.log("play(" + e.track.kind + "): " + err));
    };
    pc.onconnectionstatechange = () => console.log("pc connectionState " + pc.connectionState);
    const [video] = stream.getVideoTracks();
    const [audio] = stream.getAudioTracks();
    pc.addTransceiver(video, { direction: "sendrecv", streams: [stream], sendEncodings: [
      { rid: "q", scaleResolutionDownBy: 4 }, { rid: "h", scaleResolutionDownBy: 2 }, { rid: "f" }] });
    pc.addTransceiver(audio, { direction: "sendrecv", streams: [stream] });
    this.channels.ordered = setupChannel(pc.createDataChannel("ordered"));
    this.channels.unordered = setupChannel(pc.createDataChannel("unordered", { ordered: false, maxRetransmits: 0 }));
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await gatheringComplete(pc, 5000);
    return pc.localDescription.sdp;
  },

  async setAnswer(sdp) { await this.pc.setRemoteDescription({ type: "answer", sdp }); },

  // POST the offer from the page itself (cross-origin: exercises the server's CORS).
  async postOfferFromPage(url, sdp) {
    const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/sdp" }, body: sdp });
    return { status: r.status, text: await r.text() };
  },

  async waitChannelsOpen(ms) {
    await withTimeout(Promise.all(Object.values(this.channels).map((c) => c.opened)), ms, "data channels open");
  },

  // Send n strings + n binaries (+ extra sizes) on a channel; returns the keys sent.
  async send(label, n, extraBinarySizes) {
    const dc = this.channels[label];
    const keys = [];
    for (let i = 0; i < n; i++) {
      const s = label + " message " + i + " " + "x".repeat(i * 13);
      dc.send(s); keys.push(keyOf(s));
      const b = makeBinary(16 + i * 97, i);
      dc.send(b); keys.push(keyOf(b));
      if (dc.bufferedAmount > 1 << 20) await new Promise((r) => setTimeout(r, 20));
    }
    for (const [j, len] of (extraBinarySizes || []).entries()) {
      const b = makeBinary(len, 1000 + j);
      dc.send(b); keys.push(keyOf(b));
    }
    this.sentKeys[label] = keys;
    return keys;
  },

  received(label) { return this.channels[label].received.slice(); },

  // Flattened getStats(): the fields the tests look at.
  async stats() {
    const out = [];
    const r = await this.pc.getStats();
    r.forEach((s) => {
      if (s.type === "inbound-rtp" || s.type === "outbound-rtp") {
        out.push({ type: s.type, kind: s.kind, rid: s.rid, ssrc: s.ssrc, packets: s.type === "inbound-rtp" ? s.packetsReceived : s.packetsSent,
          bytes: s.type === "inbound-rtp" ? s.bytesReceived : s.bytesSent, framesDecoded: s.framesDecoded, framesEncoded: s.framesEncoded,
          frameWidth: s.frameWidth, frameHeight: s.frameHeight, totalSamplesReceived: s.totalSamplesReceived, concealedSamples: s.concealedSamples,
          codecId: s.codecId });
      } else if (s.type === "transport") {
        out.push({ type: s.type, dtlsState: s.dtlsState, iceState: s.iceState, selectedCandidatePairId: s.selectedCandidatePairId });
      }
    });
    return out;
  },

  state() {
    const pc = this.pc;
    return { connection: pc.connectionState, ice: pc.iceConnectionState, signaling: pc.signalingState,
      remoteTracks: this.remoteTracks, sctpMax: pc.sctp && pc.sctp.maxMessageSize,
      video: (() => { const v = document.getElementById("remote"); return { w: v.videoWidth, h: v.videoHeight, t: v.currentTime }; })() };
  },

  close() { if (this.pc) this.pc.close(); },

  // Sanity check without any server: two peer connections in this page over loopback.
  async loopbackPair() {
    await navigator.mediaDevices.getUserMedia({ audio: true }).then((s) => s.getTracks().forEach((t) => t.stop())); // exposes host IPs (no mDNS names)
    const a = new RTCPeerConnection({ iceServers: [] });
    const b = new RTCPeerConnection({ iceServers: [] });
    const candidates = [];
    a.onicecandidate = (e) => { if (e.candidate) { candidates.push(e.candidate.candidate); b.addIceCandidate(e.candidate); } };
    b.onicecandidate = (e) => { if (e.candidate) a.addIceCandidate(e.candidate); };
    const dc = a.createDataChannel("sanity");
    const got = new Promise((resolve) => { b.ondatachannel = (e) => { e.channel.onmessage = (m) => resolve(m.data); }; });
    dc.onopen = () => dc.send("hello over loopback");
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    const msg = await withTimeout(got, 8000, "sanity message (candidates: " + candidates.join(" | ") + ")");
    const st = await a.getStats();
    let pair;
    st.forEach((s) => { if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s; });
    let local;
    if (pair) st.forEach((s) => { if (s.id === pair.localCandidateId) local = s.address || s.ip; });
    a.close(); b.close();
    return { msg, candidates, localAddress: local };
  },
};
</script></body></html>`;

function summarize(stats) {
  return JSON.stringify(stats.filter((s) => s.type !== "transport" || s.dtlsState));
}

const browserSkip = browserUnavailableReason();
const echoSkip = mediaEchoUnavailableReason();
if (echoSkip) console.log(`media echo tests skipped: ${echoSkip}`);

describe("browser sanity (no server)", { skip: browserSkip || false }, () => {
  let browser, site;
  before(async () => {
    assertLoopbackOnly();
    site = await servePage(PAGE_HTML);
    browser = await launchBrowser("sanity");
  });
  after(async () => {
    await browser?.close();
    await site?.close();
  });

  test("two RTCPeerConnections in one page connect over loopback and pass a data channel message", async () => {
    const page = await browser.newPage(site.url);
    const r = await page.evaluate(() => window.T.loopbackPair());
    assert.equal(r.msg, "hello over loopback");
    assert.ok(r.candidates.length > 0, "no ICE candidates gathered");
    for (const c of r.candidates) assert.match(c, / (127\.0\.0\.1|::1) /, `non-loopback candidate: ${c}`);
    assert.deepEqual(browser.consoleErrors, [], browser.consoleTail());
  });
});

describe("media echo server", { skip: echoSkip || browserSkip || false }, () => {
  let browser, site;
  before(async () => {
    assertLoopbackOnly();
    site = await servePage(PAGE_HTML);
    browser = await launchBrowser("media-echo", { extraArgs: ["--autoplay-policy=no-user-gesture-required"] });
  });
  after(async () => {
    await browser?.close();
    await site?.close();
  });

  // Each test gets its own echo server, so /stats lists exactly its peer.
  async function withEcho(name, fn, options = {}) {
    const echo = await startMediaEcho({ workers: 1, ...options });
    let page;
    try {
      await fn(echo, (p) => (page = p));
    } catch (e) {
      if (page) {
        try {
          const shot = await browser.screenshot(page, `${name}-failure`);
          e.message += `\n  screenshot: ${shot}`;
        } catch {
          /* page gone */
        }
      }
      try {
        e.message += `\n--- media-echo /stats ---\n${JSON.stringify(await echo.stats())}`;
      } catch (se) {
        e.message += `\n(/stats failed: ${se.message})`;
      }
      e.message += `\n--- browser console ---\n${browser.consoleTail()}\n--- media-echo (exit ${JSON.stringify(echo.exitInfo)}) ---\n${echo.logTail()}`;
      throw e;
    } finally {
      if (page) await page.evaluate(() => window.T.close()).catch(() => {});
      await page?.close().catch(() => {});
      await echo.stop();
    }
  }

  function findPeer(stats, ufrags) {
    const peers = stats.peers || [];
    return peers.find((p) => ufrags.some((u) => u && typeof p.ufrag === "string" && p.ufrag.split(":").includes(u))) ||
      (peers.length === 1 ? peers[0] : undefined);
  }

  test("rejects a bad offer with 400 and a reason; answers CORS", async () => {
    await withEcho("bad-offer", async (echo) => {
      const r = await echo.postOffer("this is not sdp");
      assert.equal(r.status, 400, r.text);
      assert.ok(r.text.trim().length > 0, "400 without a reason");
      const pre = await fetch(`${echo.baseUrl}/offer`, {
        method: "OPTIONS",
        headers: { Origin: "http://127.0.0.1:1", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" },
      });
      assert.ok(pre.status >= 200 && pre.status < 300, `preflight HTTP ${pre.status}`);
      assert.equal(pre.headers.get("access-control-allow-origin"), "*");
      const s = await echo.stats();
      assert.ok(Array.isArray(s.peers), JSON.stringify(s));
    });
  });

  test("Chromium: simulcast video, audio and two data channels are echoed", { timeout: 90000 }, async (t) => {
    await withEcho("chromium-echo", async (echo, setPage) => {
      const page = await browser.newPage(site.url);
      setPage(page);
      const offer = await page.evaluate(() => window.T.makeOffer());
      assert.match(offer, /a=simulcast:send q;h;f/, "Chromium did not offer simulcast");
      // The page posts the offer itself (cross-origin fetch: CORS must be answered).
      const r = await page.evaluate(([url, sdp]) => window.T.postOfferFromPage(url, sdp), [`${echo.baseUrl}/offer`, offer]);
      assert.equal(r.status, 200, `POST /offer from the page: HTTP ${r.status} ${r.text}`);
      const answer = r.text;
      assert.match(answer, /a=ice-lite/, "answer is not ICE-lite");
      assert.match(answer, /a=candidate:/, "answer has no candidates");
      assert.match(answer, /a=ssrc:\d+ /, "answer declares no a=ssrc for the echoed streams");
      await page.evaluate((sdp) => window.T.setAnswer(sdp), answer);

      await page.evaluate(() => window.T.waitChannelsOpen(20000));

      // Media: decoded echoed video, received echoed audio (not all concealment).
      let last = [];
      const media = await waitFor(
        async () => {
          last = await page.evaluate(() => window.T.stats());
          const v = last.find((s) => s.type === "inbound-rtp" && s.kind === "video" && s.framesDecoded > 0);
          const a = last.find((s) => s.type === "inbound-rtp" && s.kind === "audio" && s.totalSamplesReceived > 0 && s.packets > 0);
          return v && a && { v, a };
        },
        "echoed video decoded and echoed audio received",
        20000,
        { intervalMs: 250, detail: () => summarize(last) + " " + JSON.stringify(last.filter((s) => s.type === "transport")) },
      );
      assert.ok(media.a.concealedSamples < media.a.totalSamplesReceived, `audio 100% concealed: ${JSON.stringify(media.a)}`);
      t.diagnostic(`echoed video: ${media.v.framesDecoded} frames ${media.v.frameWidth}x${media.v.frameHeight}; audio: ${media.a.packets} packets`);

      // Local simulcast is really on: several outbound video encodings with rids, sending.
      const sending = await waitFor(
        async () => {
          last = await page.evaluate(() => window.T.stats());
          const out = last.filter((s) => s.type === "outbound-rtp" && s.kind === "video" && s.rid);
          return out.filter((s) => s.packets > 0).length >= 2 && out;
        },
        "at least two simulcast layers sending",
        15000,
        { intervalMs: 250, detail: () => summarize(last) },
      );
      const rids = [...new Set(sending.map((s) => s.rid))].sort();
      assert.ok(rids.length >= 2, `simulcast rids: ${rids}`);
      t.diagnostic(`outbound simulcast layers: ${sending.map((s) => `${s.rid}=${s.packets}pkts${s.frameWidth ? `/${s.frameWidth}x${s.frameHeight}` : ""}`).join(" ")}`);

      // Data channels: strings and binaries come back equal, same type; 64 KiB on the ordered one.
      const sentOrdered = await page.evaluate(() => window.T.send("ordered", 20, [65536, 65535, 1]));
      const sentUnordered = await page.evaluate(() => window.T.send("unordered", 20, []));
      let recvOrdered = [], recvUnordered = [];
      await waitFor(
        async () => {
          recvOrdered = await page.evaluate(() => window.T.received("ordered"));
          recvUnordered = await page.evaluate(() => window.T.received("unordered"));
          return recvOrdered.length >= sentOrdered.length && recvUnordered.length >= sentUnordered.length;
        },
        "all data channel messages echoed",
        15000,
        { intervalMs: 100, detail: () => `ordered ${recvOrdered.length}/${sentOrdered.length}, unordered ${recvUnordered.length}/${sentUnordered.length}` },
      );
      assert.deepEqual(recvOrdered, sentOrdered, "ordered channel: echoed messages differ (or out of order)");
      assert.deepEqual([...recvUnordered].sort(), [...sentUnordered].sort(), "unordered channel: echoed messages differ");

      // Echoed video keeps flowing (not just a first keyframe); keep a picture of it.
      const flowing = await waitFor(
        async () => {
          last = await page.evaluate(() => window.T.stats());
          return last.find((s) => s.type === "inbound-rtp" && s.kind === "video" && s.framesDecoded >= 30);
        },
        "30 echoed video frames decoded",
        15000,
        { intervalMs: 250, detail: () => summarize(last) },
      );
      t.diagnostic(`echoed video later: ${flowing.framesDecoded} frames ${flowing.frameWidth}x${flowing.frameHeight}`);
      await waitFor(async () => (await page.evaluate(() => window.T.state())).video.w > 0, "echo <video> has a frame", 10000, { intervalMs: 200 });
      const shot = await browser.screenshot(page, "chromium-echo");
      t.diagnostic(`screenshot: ${shot}`);

      // Server view of the peer.
      const ufrags = [sdpUfrag(answer), sdpUfrag(offer)];
      const peer = await waitFor(
        async () => {
          const p = findPeer(await echo.stats(), ufrags);
          return p && p.rtp_in > 0 && p.rtp_out > 0 && p.dc_in >= sentOrdered.length + sentUnordered.length && p.dc_out >= p.dc_in && p;
        },
        "/stats shows the peer's RTP and data channel counters",
        10000,
        { intervalMs: 200 },
      );
      assert.equal(peer.ice, "connected");
      assert.equal(peer.dtls, "connected");
      assert.deepEqual(browser.consoleErrors, [], browser.consoleTail());
    });
  });

  test("Chromium: ICE over TCP (RFC 6544) when the answer offers only a TCP candidate", { timeout: 60000 }, async (t) => {
    await withEcho(
      "chromium-ice-tcp",
      async (echo, setPage) => {
        const page = await browser.newPage(site.url);
        setPage(page);
        const offer = await page.evaluate(() => window.T.makeOffer());
        const r = await echo.postOffer(offer);
        assert.equal(r.status, 200, r.text);
        assert.match(r.text, /a=candidate:\S+ 1 tcp \d+ 127\.0\.0\.1 \d+ typ host tcptype passive/);
        assert.doesNotMatch(r.text, /a=candidate:\S+ 1 udp /, "a UDP candidate in a TCP-only answer");
        await page.evaluate((sdp) => window.T.setAnswer(sdp), r.text);
        let last = [];
        await waitFor(
          async () => {
            last = await page.evaluate(() => window.T.stats());
            return last.find((s) => s.type === "inbound-rtp" && s.kind === "video" && s.framesDecoded > 0);
          },
          "echoed video decoded over ICE-TCP",
          20000,
          { intervalMs: 250, detail: () => summarize(last) },
        );
        const protocol = await page.evaluate(async () => {
          const report = await window.T.pc.getStats();
          let pairId;
          report.forEach((s) => {
            if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
          });
          const pair = pairId && report.get(pairId);
          const local = pair && report.get(pair.localCandidateId);
          return local && local.protocol;
        });
        assert.equal(protocol, "tcp", "the selected candidate pair is not TCP");
        const stats = await echo.stats();
        assert.ok(stats.tcp_connections >= 1, JSON.stringify(stats));
        t.diagnostic(`selected pair protocol ${protocol}; server accepted ${stats.tcp_connections} TCP connection(s)`);
      },
      { extraArgs: ["--ice-tcp-only"] },
    );
  });

  test("Chromium: a mismatching DTLS fingerprint gets no media", { timeout: 60000 }, async (t) => {
    await withEcho("fingerprint", async (echo, setPage) => {
      const page = await browser.newPage(site.url);
      setPage(page);
      const offer = await page.evaluate(() => window.T.makeOffer()); // setLocalDescription with the real fingerprint
      const munged = mungeFingerprint(offer);
      assert.notEqual(munged, offer);
      const r = await echo.postOffer(munged);
      if (r.status !== 200) {
        // Refusing it up front is fine too, as long as it is a clean 400.
        assert.equal(r.status, 400, r.text);
        t.diagnostic(`munged offer refused up front: ${r.text.trim()}`);
        return;
      }
      const answer = r.text;
      await page.evaluate((sdp) => window.T.setAnswer(sdp), answer);
      await sleep(8000);
      const st = await page.evaluate(() => window.T.stats());
      const inbound = st.filter((s) => s.type === "inbound-rtp");
      for (const s of inbound) assert.equal(s.packets || 0, 0, `echoed RTP arrived despite the bad fingerprint: ${JSON.stringify(s)}`);
      const state = await page.evaluate(() => window.T.state());
      assert.notEqual(state.connection, "connected", JSON.stringify(state));
      const peer = findPeer(await echo.stats(), [sdpUfrag(answer), sdpUfrag(offer)]);
      assert.ok(peer, `the answered peer is missing from /stats`);
      assert.equal(peer.rtp_out, 0, JSON.stringify(peer));
      assert.notEqual(peer.dtls, "connected", JSON.stringify(peer));
      t.diagnostic(`after 8 s: browser ${state.connection}, inbound-rtp ${JSON.stringify(inbound)}; server peer ${JSON.stringify(peer)}`);
    });
  });

  test("node-datachannel: data channel messages and raw RTP on a video track are echoed", { timeout: 60000 }, async (t) => {
    const ndc = (await import("node-datachannel")).default;
    await withEcho("ndc", async (echo) => {
      const pc = new ndc.PeerConnection("atrium-ndc", { iceServers: [], bindAddress: "127.0.0.1" });
      const closers = [() => pc.close()];
      try {
        const gathered = new Promise((resolve) => pc.onGatheringStateChange((s) => s === "complete" && resolve()));
        const video = new ndc.Video("video", "SendRecv");
        video.addVP8Codec(96);
        const mySsrc = 0x1234abcd;
        video.addSSRC(mySsrc, "atrium-ndc-video", "atrium-ndc-stream", "atrium-ndc-track");
        const track = pc.addTrack(video);
        const rtpIn = [];
        track.onMessage((buf) => {
          const b = Buffer.from(buf);
          // RTCP (PT 200..206 in the second byte) also arrives here: keep RTP only.
          if (b.length >= 12 && b[0] >> 6 === 2 && !(b[1] >= 192 && b[1] <= 223)) rtpIn.push(b);
        });
        const trackOpen = new Promise((resolve) => track.onOpen(() => resolve()));
        const dc = pc.createDataChannel("ndc-chat");
        const dcOpen = new Promise((resolve) => dc.onOpen(() => resolve()));
        const dcIn = [];
        dc.onMessage((m) => dcIn.push(typeof m === "string" ? "S:" + m : "B:" + Buffer.from(m).toString("hex")));
        pc.setLocalDescription();
        await Promise.race([gathered, sleep(5000)]);
        const offer = pc.localDescription().sdp;
        assert.match(offer, /m=video/, offer);
        const answer = await echo.answer(offer);
        pc.setRemoteDescription(answer, "answer");

        await Promise.race([dcOpen, sleep(15000).then(() => { throw new Error(`node-datachannel: data channel did not open (state ${pc.state()})`); })]);
        const sent = [];
        for (let i = 0; i < 10; i++) {
          const s = `ndc string ${i} ${"y".repeat(i * 50)}`;
          dc.sendMessage(s);
          sent.push("S:" + s);
          const b = Buffer.alloc(8 + i * 300, i + 1);
          b.writeUInt32BE(i, 0);
          dc.sendMessageBinary(b);
          sent.push("B:" + b.toString("hex"));
        }
        await waitFor(() => dcIn.length >= sent.length, "node-datachannel echoes", 10000, { detail: () => `${dcIn.length}/${sent.length}` });
        assert.deepEqual(dcIn, sent);

        // Raw RTP: VP8 payload descriptor + recognisable bytes; the server echoes with its own SSRC.
        await Promise.race([trackOpen, sleep(10000).then(() => { throw new Error("node-datachannel: video track did not open"); })]);
        const payloads = new Set();
        let seq = 1000, ts = 90000;
        const sendUntil = Date.now() + 10000;
        while (Date.now() < sendUntil && rtpIn.length < 5) {
          for (let k = 0; k < 5; k++) {
            const payload = Buffer.concat([Buffer.from([0x10]), Buffer.from(`atrium-ndc-rtp-${seq}`), Buffer.alloc(200, 0x5a)]);
            const h = Buffer.alloc(12);
            h[0] = 0x80;
            h[1] = 0x80 | 96; // marker + PT 96
            h.writeUInt16BE(seq & 0xffff, 2);
            h.writeUInt32BE(ts >>> 0, 4);
            h.writeUInt32BE(mySsrc, 8);
            track.sendMessageBinary(Buffer.concat([h, payload]));
            payloads.add(payload.toString("hex"));
            seq++;
            ts += 3000;
          }
          await sleep(100);
        }
        assert.ok(rtpIn.length > 0, `no echoed RTP arrived on the node-datachannel track (sent ${payloads.size} packets)`);
        const echoed = rtpIn.filter((b) => {
          const cc = b[0] & 0x0f;
          let off = 12 + 4 * cc;
          if (b[0] & 0x10) off += 4 + 4 * b.readUInt16BE(off + 2); // header extension
          let end = b.length;
          if (b[0] & 0x20) end -= b[end - 1]; // padding
          return payloads.has(b.subarray(off, end).toString("hex"));
        });
        t.diagnostic(`node-datachannel: ${rtpIn.length} RTP packets back, ${echoed.length} with a payload we sent; ssrc ${rtpIn[0].readUInt32BE(8)}`);
        assert.ok(echoed.length > 0, "echoed RTP packets do not carry the payloads we sent");
        const peer = findPeer(await echo.stats(), [sdpUfrag(answer), sdpUfrag(offer)]);
        assert.ok(peer && peer.rtp_in > 0 && peer.rtp_out > 0 && peer.dc_in >= sent.length, JSON.stringify(peer));
      } finally {
        for (const c of closers) {
          try {
            c();
          } catch {
            /* ignore */
          }
        }
      }
    });
  });
});

after(async () => {
  // node-datachannel keeps native threads alive otherwise.
  if (!echoSkip) {
    try {
      (await import("node-datachannel")).default.cleanup();
    } catch {
      /* not loaded */
    }
  }
});

export { MEDIA_ECHO_BIN };
