// Parent side of lib/rtc_node_peer.mjs: a @livekit/rtc-node participant in a
// child process (so that its native runtime is torn down with the process and
// a hang cannot keep the test runner alive).
import { execFileSync, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "./server.mjs";
import { assertLoopbackOnly } from "./browser.mjs";

const VETH = ["atrv0", "atrv1"];
let vethUp = false;

/**
 * libwebrtc (the Rust SDK under rtc-node) gathers no candidates on loopback,
 * so in run.sh's namespace (only `lo`) it cannot connect. Give it a veth pair
 * inside that private namespace (198.18.0.1/24 on atrv0; see the design
 * note shared/design/environment.md, "Network rule"); it reaches the SFU's
 * 127.0.0.1 candidates from there. Call before launching browsers is NOT
 * needed, but launchBrowser() asserts loopback-only: launch browsers first.
 * Returns a function that removes the pair (also removed at process exit).
 */
export function addRtcNodeInterface() {
  assertLoopbackOnly(); // only ever inside run.sh's private namespace
  const ip = (...a) => execFileSync("ip", a, { stdio: ["ignore", "ignore", "pipe"] });
  ip("link", "add", VETH[0], "type", "veth", "peer", "name", VETH[1]);
  vethUp = true;
  ip("addr", "add", "198.18.0.1/24", "dev", VETH[0]);
  ip("link", "set", VETH[0], "up");
  ip("link", "set", VETH[1], "up");
  return removeRtcNodeInterface;
}

export function removeRtcNodeInterface() {
  if (!vethUp) return;
  vethUp = false;
  try {
    execFileSync("ip", ["link", "del", VETH[0]], { stdio: "ignore" });
  } catch {}
}
process.on("exit", removeRtcNodeInterface);

const here = path.dirname(fileURLToPath(import.meta.url));

export class RtcNodePeer {
  constructor({ url, token, label = "rtc-node" }) {
    this.label = label;
    this.events = [];
    this.stderr = [];
    this.exitInfo = null;
    this._out = "";
    const proc = spawn(process.execPath, [path.join(here, "rtc_node_peer.mjs"), JSON.stringify({ url, token, label })], {
      stdio: ["pipe", "pipe", "pipe"],
      cwd: path.resolve(here, ".."),
      env: { ...process.env, NODE_ENV: "production" }, // pino at info
    });
    this.proc = proc;
    proc.stdout.on("data", (c) => {
      this._out += c.toString("utf8");
      let nl;
      while ((nl = this._out.indexOf("\n")) >= 0) {
        const line = this._out.slice(0, nl);
        this._out = this._out.slice(nl + 1);
        if (!line.trim()) continue;
        try {
          const e = JSON.parse(line);
          if (e.ev) this.events.push(e);
          else this.stderr.push(line); // the SDK's pino log
        } catch {
          this.stderr.push(`(stdout) ${line}`);
        }
      }
    });
    proc.stderr.on("data", (c) => {
      for (const l of c.toString("utf8").split(/\r?\n/)) if (l) this.stderr.push(l);
      if (this.stderr.length > 2000) this.stderr.splice(0, 500);
    });
    proc.stdin.on("error", () => {});
    this.exited = new Promise((resolve) => {
      proc.on("exit", (code, signal) => resolve((this.exitInfo = { code, signal })));
      proc.on("error", (err) => resolve((this.exitInfo = { code: null, signal: null, error: String(err) })));
    });
  }

  get alive() {
    return this.exitInfo === null;
  }

  send(line) {
    this.proc.stdin.write(line + "\n");
  }

  waitForEvent(pred, what, timeoutMs = 30000) {
    return waitFor(
      () => {
        const e = this.events.find(pred);
        if (e) return e;
        if (!this.alive) throw new Error(`${this.label} exited ${JSON.stringify(this.exitInfo)}`);
        const err = this.events.find((x) => x.ev === "error");
        if (err) throw new Error(`${this.label}: ${err.message}`);
        return undefined;
      },
      `${this.label}: ${what}`,
      timeoutMs,
      { intervalMs: 50, detail: () => this.describe() },
    );
  }

  /** "quit" (disconnect + dispose), wait for the exit; SIGKILL after timeoutMs. Returns exit info. */
  async quit(timeoutMs = 15000) {
    if (!this.alive) return this.exitInfo;
    this.send("quit");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), timeoutMs);
    const info = await this.exited;
    clearTimeout(t);
    return info;
  }

  describe(n = 30) {
    return (
      `${this.label} (${this.alive ? "alive" : "exited " + JSON.stringify(this.exitInfo)})\n  events:\n    ` +
      this.events.slice(-n).map((e) => JSON.stringify(e).slice(0, 300)).join("\n    ") +
      `\n  stderr:\n    ${this.stderr.slice(-n).join("\n    ")}`
    );
  }
}
