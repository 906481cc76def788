// Harness for the C++ media echo server (build/bin/atrium-media-echo):
// starts it on free loopback ports, parses its "listening" line, posts SDP
// offers, reads /stats, and stops it (SIGTERM, then SIGKILL).
//
// Contract assumed (see tests/e2e/README.md):
//   atrium-media-echo --http-port N --udp-port N --workers N   (0 = any free port)
//   stdout: "media-echo listening http=127.0.0.1:<port> udp=127.0.0.1:<port>"
//   POST /offer (application/sdp) -> 200 SDP answer | 400 text reason; CORS "*"
//   GET /stats -> {"peers":[{ufrag, ice, dtls, rtp_in, rtp_out, dc_in, dc_out}]}
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

import { REPO_ROOT } from "./server.mjs";

export const MEDIA_ECHO_BIN =
  process.env.ATRIUM_MEDIA_ECHO_BIN || path.join(REPO_ROOT, "build", "bin", "atrium-media-echo");
const VERBOSE = !!process.env.ATRIUM_E2E_VERBOSE;
const LISTEN_RE = /media-echo listening http=127\.0\.0\.1:(\d+) udp=127\.0\.0\.1:(\d+)/;

/** Why the echo server cannot be used, or null. */
export function mediaEchoUnavailableReason() {
  if (!existsSync(MEDIA_ECHO_BIN)) return `${MEDIA_ECHO_BIN} does not exist yet (build target atrium-media-echo)`;
  return null;
}

export class MediaEcho {
  constructor(proc) {
    this.proc = proc;
    this.log = []; // "[stdout|stderr] line"
    this.exitInfo = null;
    this.httpPort = 0;
    this.udpPort = 0;
    this.baseUrl = "";
    this.exited = new Promise((resolve) => {
      proc.on("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  /** Last lines of the server output, for failure messages. */
  logTail(n = 60) {
    return this.log.slice(-n).join("\n");
  }

  /** POST an SDP offer; returns {status, text} (text = answer SDP on 200). */
  async postOffer(sdp) {
    const res = await fetch(`${this.baseUrl}/offer`, {
      method: "POST",
      headers: { "Content-Type": "application/sdp" },
      body: sdp,
      signal: AbortSignal.timeout(15000),
    });
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  /** POST an offer that must be accepted; returns the answer SDP. */
  async answer(sdp) {
    const r = await this.postOffer(sdp);
    if (r.status !== 200) {
      throw new Error(`POST /offer -> HTTP ${r.status}: ${r.text}\n--- media-echo log ---\n${this.logTail()}`);
    }
    return r.text;
  }

  /** GET /stats -> parsed JSON. */
  async stats() {
    const res = await fetch(`${this.baseUrl}/stats`, { signal: AbortSignal.timeout(10000) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET /stats -> HTTP ${res.status}: ${text}`);
    return JSON.parse(text);
  }

  /** The /stats entry whose ufrag is `ufrag` (the server's ICE ufrag from the answer). */
  async peer(ufrag) {
    const s = await this.stats();
    return (s.peers || []).find((p) => p.ufrag === ufrag);
  }

  async stop() {
    if (this.exitInfo) return this.exitInfo;
    this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    const info = await this.exited;
    clearTimeout(t);
    return info;
  }
}

/** Start the echo server; resolves once it printed its listening line. */
export async function startMediaEcho({ workers = 1, httpPort = 0, udpPort = 0, extraArgs = [] } = {}) {
  const args = ["--http-port", String(httpPort), "--udp-port", String(udpPort), "--workers", String(workers), ...extraArgs];
  const proc = spawn(MEDIA_ECHO_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
  const echo = new MediaEcho(proc);
  let resolveReady;
  const ready = new Promise((r) => (resolveReady = r));
  const onData = (stream) => {
    let buf = "";
    return (chunk) => {
      buf += chunk.toString("utf8");
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, "");
        buf = buf.slice(i + 1);
        echo.log.push(`[${stream}] ${line}`);
        if (echo.log.length > 5000) echo.log.splice(0, 1000);
        if (VERBOSE) process.stderr.write(`[media-echo ${stream}] ${line}\n`);
        const m = stream === "stdout" && LISTEN_RE.exec(line);
        if (m) resolveReady(m);
      }
    };
  };
  proc.stdout.on("data", onData("stdout"));
  proc.stderr.on("data", onData("stderr"));
  const spawnError = new Promise((_, reject) => proc.on("error", (e) => reject(new Error(`spawn ${MEDIA_ECHO_BIN}: ${e.message}`))));
  const early = echo.exited.then((info) => {
    throw new Error(`atrium-media-echo exited before listening (${JSON.stringify(info)})\n${echo.logTail()}`);
  });
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`atrium-media-echo did not print its listening line within 15 s\n${echo.logTail()}`)), 15000).unref(),
  );
  try {
    const m = await Promise.race([ready, spawnError, early, timeout]);
    echo.httpPort = Number(m[1]);
    echo.udpPort = Number(m[2]);
    echo.baseUrl = `http://127.0.0.1:${echo.httpPort}`;
  } catch (e) {
    proc.kill("SIGKILL");
    throw e;
  }
  early.catch(() => {}); // later exits are reported through exitInfo
  return echo;
}

/** The first a=ice-ufrag value in an SDP. */
export function sdpUfrag(sdp) {
  return /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
}

/** Replace every a=fingerprint:sha-256 value with a different, well-formed one. */
export function mungeFingerprint(sdp) {
  let changed = 0;
  const out = sdp.replace(/^a=fingerprint:sha-256 ([0-9A-Fa-f:]+)$/gm, (_, fp) => {
    const bytes = fp.split(":");
    const flipped = bytes.map((b) => (0xff - parseInt(b, 16)).toString(16).toUpperCase().padStart(2, "0"));
    changed++;
    return `a=fingerprint:sha-256 ${flipped.join(":")}`;
  });
  if (!changed) throw new Error("mungeFingerprint: no a=fingerprint:sha-256 line in the offer");
  return out;
}
