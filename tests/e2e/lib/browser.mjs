// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for
// the WebRTC tests. Every test using it must run inside the private network
// namespace that run.sh creates (only `lo`): assertLoopbackOnly() checks that.
//
//   const b = await launchBrowser("media-echo");
//   const page = await b.newPage();          // about:blank, console errors collected
//   await page.evaluate(...);
//   await b.screenshot(page, "echo-video");   // -> tests/e2e/artifacts/<name>-<stamp>/echo-video.png
//   await b.close();
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

import { E2E_DIR } from "./server.mjs";

export const CHROMIUM_BIN = process.env.ATRIUM_CHROMIUM_BIN || "/usr/bin/chromium";
export const ARTIFACTS_DIR = process.env.ATRIUM_E2E_ARTIFACTS || path.join(E2E_DIR, "artifacts");

export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
  "--allow-loopback-in-peer-connection",
];

/** Throws unless the only network interface is loopback (run.sh's `unshare -n`). */
export function assertLoopbackOnly() {
  const names = Object.keys(os.networkInterfaces()).filter((n) => n !== "lo");
  if (names.length) {
    throw new Error(
      `media tests must run in a private network namespace with only 'lo' (use tests/e2e/run.sh); found interfaces: ${names.join(", ")}`,
    );
  }
}

/** Why the browser cannot be used here, or null if it can. */
export function browserUnavailableReason() {
  if (!existsSync(CHROMIUM_BIN)) return `${CHROMIUM_BIN} is missing (run scripts/setup: apt-get install chromium)`;
  return null;
}

function stamp() {
  return new Date().toISOString().replace(/[:.]/g, "-");
}

export class Browser {
  constructor(name, context, profileDir) {
    this.name = name;
    this.context = context;
    this.profileDir = profileDir;
    this.artifactsDir = path.join(ARTIFACTS_DIR, `${name}-${stamp()}`);
    this.consoleErrors = []; // "page#i: text"
    this.consoleLog = []; // every console line, for failure reports
    this.pages = [];
  }

  /** A new page at about:blank (or `url`), with console/page errors recorded. */
  async newPage(url = "about:blank") {
    const page = await this.context.newPage();
    const idx = this.pages.length;
    this.pages.push(page);
    page.on("console", (msg) => {
      const line = `page#${idx} ${msg.type()}: ${msg.text()}`;
      this.consoleLog.push(line);
      if (msg.type() === "error") this.consoleErrors.push(line);
    });
    page.on("pageerror", (err) => {
      const line = `page#${idx} pageerror: ${err?.stack || err}`;
      this.consoleLog.push(line);
      this.consoleErrors.push(line);
    });
    if (url !== "about:blank") await page.goto(url);
    return page;
  }

  /** Screenshot of `page` into this browser's artifacts dir; returns the file path. */
  async screenshot(page, label) {
    await mkdir(this.artifactsDir, { recursive: true });
    // Keep artifacts out of git without touching the repo's .gitignore.
    await writeFile(path.join(ARTIFACTS_DIR, ".gitignore"), "*\n");
    const file = path.join(this.artifactsDir, `${label}.png`);
    await page.screenshot({ path: file });
    return file;
  }

  /** The last `n` console lines, for assertion messages. */
  consoleTail(n = 40) {
    return this.consoleLog.slice(-n).join("\n");
  }

  async close() {
    try {
      await this.context.close();
    } catch {
      /* already gone */
    }
    if (!process.env.ATRIUM_E2E_KEEP) await rm(this.profileDir, { recursive: true, force: true });
  }
}

/** Launch headless Chromium with a fresh profile dir. */
export async function launchBrowser(name = "browser", { extraArgs = [], viewport = { width: 800, height: 600 } } = {}) {
  assertLoopbackOnly();
  const profileDir = await mkdtemp(path.join(os.tmpdir(), `atrium-chromium-${name}-`));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_BIN,
    headless: true,
    chromiumSandbox: false,
    args: [...CHROMIUM_FLAGS, ...extraArgs],
    viewport,
    timeout: 60000,
  });
  return new Browser(name, context, profileDir);
}

/**
 * Serve one HTML page from a node http server on 127.0.0.1 (a secure context
 * for getUserMedia; a different origin than the server under test, so the
 * page's fetches exercise its CORS answers). Returns {url, close()}.
 */
export async function servePage(html) {
  const http = await import("node:http");
  const srv = http.createServer((req, res) => {
    if (req.url === "/" || req.url.startsWith("/?")) {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
      res.end(html);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", resolve);
  });
  const { port } = srv.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((r) => { srv.closeAllConnections?.(); srv.close(() => r()); }),
  };
}
