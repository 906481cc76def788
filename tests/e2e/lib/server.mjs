// Test harness: starts the real Atrium server binary on a free loopback port
// with a fresh data directory, waits for /health, and can restart/stop it.
// Also holds small raw-HTTP helpers (fetchJson, registerUser, waitFor) shared
// by the test files.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const E2E_DIR = path.resolve(here, "..");
export const REPO_ROOT = path.resolve(E2E_DIR, "..", "..");
export const ATRIUM_BIN = process.env.ATRIUM_BIN || path.join(REPO_ROOT, "build", "bin", "atrium");
export const SERVER_NAME = "localhost";
/** The bundled web apps (scripts/build puts them in build/web); pass as startServer's webRoot. */
export const WEB_ROOT = process.env.ATRIUM_WEB_ROOT || path.join(REPO_ROOT, "build", "web");
const VERBOSE = !!process.env.ATRIUM_E2E_VERBOSE;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export { sleep };

/** Find a free TCP port on 127.0.0.1 by binding to port 0. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Poll `predicate` (sync or async) every `intervalMs` until it returns a truthy
 * value, which is returned. Fails after `timeoutMs` with a message naming
 * `what` (and `detail()` if given, for extra context).
 */
export async function waitFor(predicate, what, timeoutMs = 20000, { intervalMs = 50, detail } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v;
      lastErr = undefined;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() >= deadline) {
      let msg = `timed out after ${timeoutMs} ms waiting for: ${what}`;
      if (lastErr) msg += `\n  last error from predicate: ${lastErr?.stack || lastErr}`;
      if (detail) {
        try {
          msg += `\n  detail: ${await detail()}`;
        } catch (e) {
          msg += `\n  (detail() threw ${e})`;
        }
      }
      throw new Error(msg);
    }
    await sleep(intervalMs);
  }
}

/**
 * fetch() wrapper: returns {status, headers, text, body} where body is the
 * parsed JSON (or undefined if the response is not JSON). Never throws on
 * HTTP errors; throws on connection errors.
 */
export async function fetchJson(url, { method = "GET", token, body, rawBody, headers = {}, timeoutMs = 30000 } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let payload;
  if (rawBody !== undefined) {
    payload = rawBody;
    if (!Object.keys(h).some((k) => k.toLowerCase() === "content-type")) h["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    h["Content-Type"] = "application/json";
  }
  const res = await fetch(url, { method, headers: h, body: payload, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let parsed;
  try {
    parsed = text.length ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** Short description of a fetchJson result, for assertion messages. */
export function describeResponse(r) {
  const t = r.text.length > 500 ? r.text.slice(0, 500) + "…" : r.text;
  return `HTTP ${r.status} ${t}`;
}

/** A running (or stopped) Atrium server. */
export class AtriumServer {
  constructor({ port, dataDir, extraArgs = [] }) {
    this.port = port;
    this.dataDir = dataDir;
    this.extraArgs = extraArgs;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.serverName = SERVER_NAME;
    this.log = []; // lines "[gen] text"
    this.generation = 0;
    this.proc = null;
    this.exitPromise = null;
    this.exitInfo = null;
    this.failed = false; // set by tests that want the data dir kept
  }

  _append(stream, chunk) {
    const text = chunk.toString("utf8");
    for (const line of text.split(/\r?\n/)) {
      if (line === "") continue;
      const l = `[atrium#${this.generation} ${stream}] ${line}`;
      this.log.push(l);
      if (VERBOSE) process.stderr.write(l + "\n");
    }
    if (this.log.length > 50000) this.log.splice(0, this.log.length - 40000);
  }

  logText(lastLines = 300) {
    const lines = this.log.slice(-lastLines);
    const skipped = this.log.length - lines.length;
    return (skipped > 0 ? `... (${skipped} earlier lines omitted)\n` : "") + lines.join("\n");
  }

  async _spawn() {
    this.generation++;
    const args = [
      "serve",
      "--server-name", this.serverName,
      "--listen", `127.0.0.1:${this.port}`,
      "--data-dir", this.dataDir,
      // Free media ports: several servers may run at once.
      "--rtc-udp-port", "0", "--rtc-tcp-port", "0",
      ...this.extraArgs,
    ];
    this.log.push(`[harness] starting ${ATRIUM_BIN} ${args.join(" ")}`);
    const proc = spawn(ATRIUM_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    this.exitInfo = null;
    proc.stdout.on("data", (c) => this._append("out", c));
    proc.stderr.on("data", (c) => this._append("err", c));
    this.exitPromise = new Promise((resolve) => {
      proc.on("error", (err) => {
        this.log.push(`[harness] spawn error: ${err.message}`);
        this.exitInfo = { code: null, signal: null, error: err };
        resolve(this.exitInfo);
      });
      proc.on("exit", (code, signal) => {
        this.log.push(`[harness] process exited code=${code} signal=${signal}`);
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    await this._waitReady();
  }

  async _waitReady(timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    let last = "no attempt";
    while (Date.now() < deadline) {
      if (this.exitInfo) {
        throw new Error(
          `atrium exited before becoming ready (code=${this.exitInfo.code} signal=${this.exitInfo.signal}` +
            `${this.exitInfo.error ? " error=" + this.exitInfo.error.message : ""})\n--- server log ---\n${this.logText()}`,
        );
      }
      try {
        const res = await fetch(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
        last = `HTTP ${res.status}`;
      } catch (e) {
        last = String(e?.cause?.code || e?.message || e);
      }
      await sleep(100);
    }
    throw new Error(`atrium not ready after ${timeoutMs} ms (last /health: ${last})\n--- server log ---\n${this.logText()}`);
  }

  get running() {
    return this.proc !== null && this.exitInfo === null;
  }

  /** SIGTERM the process and wait for it to exit; returns {code, signal}. */
  async _terminate(timeoutMs = 15000) {
    if (!this.proc) return null;
    const proc = this.proc;
    if (!this.exitInfo) proc.kill("SIGTERM");
    let timer;
    const info = await Promise.race([
      this.exitPromise,
      new Promise((resolve) => {
        timer = setTimeout(() => resolve(null), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (info === null) {
      this.log.push(`[harness] no exit ${timeoutMs} ms after SIGTERM; sending SIGKILL`);
      proc.kill("SIGKILL");
      await this.exitPromise;
      this.proc = null;
      throw new Error(`atrium did not exit within ${timeoutMs} ms of SIGTERM\n--- server log ---\n${this.logText()}`);
    }
    this.proc = null;
    return info;
  }

  /** Graceful restart on the same port and data dir. Asserts a clean (code 0) exit. */
  async restart() {
    const info = await this._terminate();
    if (!info || info.code !== 0) {
      throw new Error(
        `atrium did not exit cleanly on SIGTERM: code=${info?.code} signal=${info?.signal}\n--- server log ---\n${this.logText()}`,
      );
    }
    await this._spawn();
  }

  /** Stop the server (SIGTERM, wait). Returns the exit info. Removes the data dir unless a test failed. */
  async stop({ keepData = false } = {}) {
    const info = await this._terminate();
    _live.delete(this);
    if (keepData || this.failed || process.env.ATRIUM_E2E_KEEP) {
      const logFile = path.join(this.dataDir, "..", path.basename(this.dataDir) + ".log");
      await writeFile(logFile, this.log.join("\n") + "\n").catch(() => {});
      process.stderr.write(`[harness] kept data dir ${this.dataDir}, full server log in ${logFile}\n`);
    } else {
      await rm(this.dataDir, { recursive: true, force: true }).catch(() => {});
    }
    return info;
  }

  // ---- Matrix helpers bound to this server ----
  url(p) {
    return this.baseUrl + p;
  }
  api(p, opts) {
    return fetchJson(this.baseUrl + p, opts);
  }
  registerUser(username, password = "correct horse battery staple") {
    return registerUser(this.baseUrl, username, password);
  }
}

const _live = new Set();
process.on("exit", () => {
  for (const s of _live) {
    try {
      s.proc?.kill("SIGKILL");
    } catch {}
  }
});

/**
 * Start a fresh server (free port, fresh temp data dir) and wait until /health answers 200.
 * `webRoot`: serve the web apps from that folder (--web-root) instead of the binary's default.
 */
export async function startServer({ extraArgs = [], webRoot } = {}) {
  const port = await freePort();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "atrium-e2e-"));
  if (webRoot) extraArgs = [...extraArgs, "--web-root", webRoot];
  const server = new AtriumServer({ port, dataDir, extraArgs });
  _live.add(server);
  try {
    await server._spawn();
  } catch (e) {
    server.failed = true;
    await server.stop().catch(() => {});
    throw e;
  }
  return server;
}

/**
 * Run `fn`; if it throws, mark the server (or `serverOrGetter()`) as failed (keeps its data dir) and
 * print the server log (and any extra log text from `extraLogs()`) to stderr
 * before rethrowing.
 */
export async function withServerLogOnFailure(serverOrGetter, name, fn, extraLogs) {
  try {
    return await fn();
  } catch (e) {
    const server = typeof serverOrGetter === "function" ? serverOrGetter() : serverOrGetter;
    if (server) {
      server.failed = true;
      let out = `\n===== step "${name}" failed: server log (last lines) =====\n${server.logText()}\n`;
      if (extraLogs) {
        try {
          out += extraLogs();
        } catch {}
      }
      out += `===== end of logs for "${name}" =====\n`;
      process.stderr.write(out);
    }
    throw e;
  }
}

/**
 * POST /_matrix/client/v3/register with the user-interactive auth dance:
 * first without `auth`; if the server answers 401 with a session and a flow
 * of [m.login.dummy], resend with auth {type: "m.login.dummy", session}.
 * Retries on 429 (honouring retry_after_ms). Returns the final fetchJson result.
 */
export async function registerRaw(baseUrl, username, password, extra = {}) {
  const url = `${baseUrl}/_matrix/client/v3/register`;
  const req = { username, password, ...extra };
  for (let attempt = 0; attempt < 10; attempt++) {
    let r = await fetchJson(url, { method: "POST", body: req });
    if (r.status === 401 && r.body && Array.isArray(r.body.flows)) {
      const hasDummy = r.body.flows.some((f) => Array.isArray(f.stages) && f.stages.length === 1 && f.stages[0] === "m.login.dummy");
      if (!hasDummy) throw new Error(`register: server offers no [m.login.dummy] flow: ${describeResponse(r)}`);
      const auth = { type: "m.login.dummy" };
      if (r.body.session !== undefined) auth.session = r.body.session;
      r = await fetchJson(url, { method: "POST", body: { ...req, auth } });
    }
    if (r.status === 429 && r.body?.errcode === "M_LIMIT_EXCEEDED") {
      await sleep(Math.min(Number(r.body.retry_after_ms) || 1000, 10000) + 50);
      continue;
    }
    return r;
  }
  throw new Error(`register ${username}: still rate limited after 10 attempts`);
}

/** Register a user; returns {user_id, access_token, device_id}. Throws on failure. */
export async function registerUser(baseUrl, username, password = "correct horse battery staple") {
  const r = await registerRaw(baseUrl, username, password);
  if (r.status !== 200 || !r.body?.access_token || !r.body?.user_id) {
    throw new Error(`register ${username} failed: ${describeResponse(r)}`);
  }
  const { user_id, access_token, device_id } = r.body;
  return { user_id, access_token, device_id, password };
}
