// Bundles the web apps into OUTDIR (build/web): each web/<app>/main.js with
// esbuild (matrix-js-sdk and livekit-client from web/node_modules, pinned by
// package-lock.json), plus the app's HTML/CSS, the run-time assets listed
// below, and the index at OUTDIR/index.html.
// Usage: node web/build.mjs OUTDIR. Run by the `web` target of scripts/build.
import { cp, mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] || path.join(here, "..", "build", "web"));

if (!existsSync(path.join(here, "node_modules", "esbuild"))) {
  // Not fatal: the server still builds and answers /apps/ with a hint.
  console.warn("web: web/node_modules is missing (run scripts/setup); the web apps are not built");
  process.exit(0);
}
const esbuild = await import("esbuild");

// Files an app loads at run time beside its bundle (from web/node_modules).
const assets = {
  call: {
    "e2ee-worker.mjs": "livekit-client/dist/livekit-client.e2ee.worker.mjs",
    "e2ee-worker.mjs.map": "livekit-client/dist/livekit-client.e2ee.worker.mjs.map",
    "pkg/matrix_sdk_crypto_wasm_bg.wasm": "@matrix-org/matrix-sdk-crypto-wasm/pkg/matrix_sdk_crypto_wasm_bg.wasm",
  },
  // Element Call's widget build, unchanged (its source maps left out: 20 MB).
  "element-call": {
    "ec/": "@element-hq/element-call-embedded/dist",
    "pkg/matrix_sdk_crypto_wasm_bg.wasm": "@matrix-org/matrix-sdk-crypto-wasm/pkg/matrix_sdk_crypto_wasm_bg.wasm",
  },
};

const apps = [];
for (const entry of await readdir(here, { withFileTypes: true })) {
  if (entry.isDirectory() && existsSync(path.join(here, entry.name, "main.js"))) apps.push(entry.name);
}

await mkdir(out, { recursive: true });
await rm(path.join(out, ".stamp"), { force: true });
for (const app of apps) {
  const src = path.join(here, app);
  const dst = path.join(out, app);
  await mkdir(dst, { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(src, "main.js")],
    outfile: path.join(dst, "main.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["chrome110", "firefox110", "safari16"],
    minify: true,
    sourcemap: "linked",
    define: { "process.env.NODE_ENV": '"production"', global: "globalThis" },
    logLevel: "warning",
  });
  for (const [to, from] of Object.entries(assets[app] || {})) {
    await mkdir(path.dirname(path.join(dst, to)), { recursive: true });
    const dir = to.endsWith("/");
    const target = path.join(dst, to.replace(/\/$/, ""));
    if (dir) await rm(target, { recursive: true, force: true });
    await cp(path.join(here, "node_modules", from), target, {
      recursive: dir,
      filter: (f) => !dir || !f.endsWith(".map"),
    });
  }
  for (const f of await readdir(src)) {
    if (/\.(html|css|svg|png|ico)$/.test(f)) await cp(path.join(src, f), path.join(dst, f));
  }
}
// Style sheets the apps import from ../shared/.
await mkdir(path.join(out, "shared"), { recursive: true });
for (const f of await readdir(path.join(here, "shared"))) {
  if (f.endsWith(".css")) await cp(path.join(here, "shared", f), path.join(out, "shared", f));
}
await cp(path.join(here, "index.html"), path.join(out, "index.html"));
await writeFile(path.join(out, ".stamp"), new Date().toISOString() + "\n");
const size = async (f) => ((await stat(f)).size / 1024).toFixed(0) + " KiB";
for (const app of apps) console.log(`web: ${app}/main.js ${await size(path.join(out, app, "main.js"))}`);
