// MatrixRTC test helpers: a server started with a YAML config file, logins
// for extra devices, raw delayed-event / state helpers, and RtcMember, the
// parent side of a lib/rtc_member.mjs child process (a real matrix-js-sdk
// MatrixRTCSession in its own process, so that it can be SIGKILLed).
import { spawn } from "node:child_process";
import { mkdtemp, writeFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, fetchJson, describeResponse, waitFor, sleep } from "./server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const VERBOSE = !!process.env.ATRIUM_E2E_VERBOSE;
const enc = encodeURIComponent;

export const CALL_MEMBER = "org.matrix.msc3401.call.member";
export const RTC_MEMBER = "org.matrix.msc4143.rtc.member";
export const DELAYED = "/_matrix/client/unstable/org.matrix.msc4140/delayed_events";

/**
 * Start a server with `config` (an object, written as JSON, which is YAML) passed
 * through `atrium serve --config FILE`. Flags from the harness (server name,
 * listen, data dir) still override. The config file is removed when the
 * server is stopped.
 */
export async function startServerWithConfig(config, opts = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "atrium-e2e-cfg-"));
  const file = path.join(dir, "atrium.yaml");
  await writeFile(file, JSON.stringify(config, null, 2) + "\n");
  let server;
  try {
    server = await startServer({ ...opts, extraArgs: ["--config", file, ...(opts.extraArgs || [])] });
  } catch (e) {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw e;
  }
  server.configFile = file;
  const stop = server.stop.bind(server);
  server.stop = async (o) => {
    const info = await stop(o);
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    return info;
  };
  return server;
}

/** POST /login with a password for a new device (optionally a chosen device id). Retries on 429. */
export async function loginDevice(server, localpart, password, deviceId) {
  const body = { type: "m.login.password", identifier: { type: "m.id.user", user: localpart }, password };
  if (deviceId) body.device_id = deviceId;
  for (let i = 0; i < 20; i++) {
    const r = await server.api("/_matrix/client/v3/login", { method: "POST", body });
    if (r.status === 429) {
      await sleep(Math.min(Number(r.body?.retry_after_ms) || 1000, 10000) + 50);
      continue;
    }
    if (r.status !== 200 || !r.body?.access_token) throw new Error(`login ${localpart}: ${describeResponse(r)}`);
    return { user_id: r.body.user_id, access_token: r.body.access_token, device_id: r.body.device_id };
  }
  throw new Error(`login ${localpart}: still rate limited`);
}

/** GET the user's delayed events list; returns the fetchJson result. */
export function listDelayed(server, token) {
  return server.api(DELAYED, { token });
}

/** Current content of a state event (undefined if 404). */
export async function stateContent(server, token, roomId, type, key) {
  const r = await server.api(`/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(key)}`, { token });
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`GET state ${type}/${key}: ${describeResponse(r)}`);
  return r.body;
}

/** The full current state event (from GET /rooms/{r}/state) for (type, key), or undefined. */
export async function stateEvent(server, token, roomId, type, key) {
  const r = await server.api(`/_matrix/client/v3/rooms/${enc(roomId)}/state`, { token });
  if (r.status !== 200 || !Array.isArray(r.body)) throw new Error(`GET /state: ${describeResponse(r)}`);
  return r.body.find((e) => e.type === type && e.state_key === key);
}

/** Parent side of an rtc_member.mjs child process. */
export class RtcMember {
  /**
   * @param cfg rtc_member config: baseUrl, userId, accessToken, deviceId, roomId, label, mode,
   *            livekitServiceUrl, delayMs, restartMs.
   */
  constructor(cfg) {
    this.cfg = cfg;
    this.label = cfg.label;
    this.events = []; // parsed report lines
    this.stderr = []; // last sdk log lines
    this.exitInfo = null;
    this.killedAt = null;
    this._out = "";
    const proc = spawn(process.execPath, [path.join(here, "rtc_member.mjs"), JSON.stringify(cfg)], {
      stdio: ["pipe", "pipe", "pipe"],
      cwd: path.resolve(here, ".."),
    });
    this.proc = proc;
    this.pid = proc.pid;
    proc.stdout.on("data", (c) => this._onStdout(c));
    proc.stderr.on("data", (c) => {
      for (const line of c.toString("utf8").split(/\r?\n/)) {
        if (!line) continue;
        this.stderr.push(line);
        if (VERBOSE && /WARN|ERROR/.test(line)) process.stderr.write(`[${this.label}] ${line}\n`);
      }
      if (this.stderr.length > 4000) this.stderr.splice(0, 1000);
    });
    proc.stdin.on("error", () => {});
    this.exited = new Promise((resolve) => {
      proc.on("exit", (code, signal) => {
        this.exitInfo = { code, signal, t: Date.now() };
        resolve(this.exitInfo);
      });
      proc.on("error", (err) => {
        this.exitInfo = { code: null, signal: null, error: String(err), t: Date.now() };
        resolve(this.exitInfo);
      });
    });
  }

  _onStdout(chunk) {
    this._out += chunk.toString("utf8");
    let nl;
    while ((nl = this._out.indexOf("\n")) >= 0) {
      const line = this._out.slice(0, nl);
      this._out = this._out.slice(nl + 1);
      if (!line.trim()) continue;
      try {
        this.events.push(JSON.parse(line));
      } catch {
        this.stderr.push(`(non-JSON stdout) ${line}`);
      }
    }
  }

  get alive() {
    return this.exitInfo === null;
  }

  /** All "memberships" reports. */
  membershipReports() {
    return this.events.filter((e) => e.ev === "memberships");
  }

  /** The latest reported memberships list (or undefined before the first report). */
  memberships() {
    const r = this.membershipReports();
    return r.length ? r[r.length - 1].memberships : undefined;
  }

  errors() {
    return this.events.filter((e) => e.ev === "error");
  }

  /** Wait for a report event matching `pred` (sync), emitted at or after `since` (ms). */
  waitForEvent(pred, what, timeoutMs = 30000, since = 0) {
    return waitFor(
      () => {
        if (!this.alive) throw new Error(`${this.label} exited: ${JSON.stringify(this.exitInfo)}`);
        return this.events.find((e) => e.t >= since && pred(e));
      },
      `${this.label}: ${what}`,
      timeoutMs,
      { intervalMs: 25, detail: () => this.describe() },
    );
  }

  /** Wait until a memberships report (at or after `since`) satisfies pred(list); returns the report. */
  waitForMemberships(pred, what, timeoutMs = 30000, since = 0) {
    return this.waitForEvent((e) => e.ev === "memberships" && pred(e.memberships), what, timeoutMs, since);
  }

  /** Wait for the "joined" report (our own membership is in the session). */
  waitJoined(timeoutMs = 30000) {
    return this.waitForEvent((e) => e.ev === "joined", "own membership joined the session", timeoutMs);
  }

  /** Ask the member to leave properly (sdk leaveRoomSession) and exit. */
  leave() {
    this.proc.stdin.write("leave\n");
  }

  /** SIGKILL: no leave, no goodbye. Resolves with the kill time (ms). */
  async kill() {
    if (!this.alive) return this.killedAt;
    this.killedAt = Date.now();
    this.proc.kill("SIGKILL");
    await this.exited;
    return this.killedAt;
  }

  /** Short description for failure messages: last reports and sdk log lines. */
  describe(lastEvents = 12, lastLog = 40) {
    const evs = this.events
      .slice(-lastEvents)
      .map((e) => {
        if (e.ev === "memberships") {
          return `${e.t} memberships [${e.memberships.map((m) => `${m.userId}/${m.deviceId}(${m.kind})`).join(", ")}]`;
        }
        return `${e.t} ${JSON.stringify(e).slice(0, 300)}`;
      })
      .join("\n    ");
    return (
      `${this.label} (pid ${this.pid}, ${this.alive ? "alive" : "exited " + JSON.stringify(this.exitInfo)}):\n` +
      `  reports:\n    ${evs}\n  sdk log (last ${lastLog}):\n    ${this.stderr.slice(-lastLog).join("\n    ")}`
    );
  }
}

/** Ids of the memberships as "user/device" strings, in order. */
export function who(list) {
  return (list || []).map((m) => `${m.userId}/${m.deviceId}`);
}

export { enc };
