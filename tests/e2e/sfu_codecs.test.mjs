// The SFU's codecs with real livekit-client 2.23 in headless Chromium: two
// participants publish camera + microphone with H.264 (simulcast), VP9 (SVC,
// livekit-client's L3T3_KEY) and Opus with RED (livekit-client's default), and
// each decodes the other's media in the codec it was published with. A
// subscriber that refuses RED gets the Opus inside it. VP9 SVC follows the
// subscriber's render size: a small render gets a lower spatial layer than a
// large one.
//
// Runs only inside run.sh's private network namespace (only `lo`). One server
// and one browser for the file; each test uses its own room.
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";

import { AccessToken } from "livekit-server-sdk";

import { sleep, startServer, waitFor } from "./lib/server.mjs";
import { browserUnavailableReason, launchBrowser } from "./lib/browser.mjs";
import { serveLivekitPage } from "./lib/livekit_page.mjs";

const skip = browserUnavailableReason();
let server, keys, browser, site, sfuUrl;
const pages = {};

async function token(identity, room) {
  const t = new AccessToken(keys.key, keys.secret, { identity, ttl: "1h" });
  t.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true });
  return t.toJwt();
}

function detail() {
  return `\n--- browser console (tail) ---\n${browser.consoleTail(30)}\n--- server log (tail) ---\n${server.logText(60)}`;
}

async function join(name, room, opts) {
  if (pages[name]) await pages[name].close();
  pages[name] = await browser.newPage();
  await pages[name].goto(site.url);
  await pages[name].evaluate(([u, t, o]) => LK.connect(u, t, o), [sfuUrl, await token(name, room), opts]);
}

async function leaveAll() {
  for (const name of Object.keys(pages)) {
    await pages[name].evaluate(() => LK.leave()).catch(() => {});
    await pages[name].close();
    delete pages[name];
  }
}

const stats = (name) => pages[name].evaluate(() => LK.stats());

/** Waits until `receiver` decodes video (and plays audio) of `sender`; returns the stats. */
async function waitDecodes(receiver, sender, pred = () => true, what = "", timeoutMs = 40000) {
  let last;
  await waitFor(async () => {
    last = (await stats(receiver))[sender];
    return last?.video?.framesDecoded > 10 && last?.audio?.samples > 0 && pred(last);
  }, `${receiver} decodes ${sender}${what}`, timeoutMs, {
    intervalMs: 500, detail: () => `stats ${JSON.stringify(last)}${detail()}`,
  });
  return last;
}

describe("SFU codecs with livekit-client in Chromium", { skip: skip || false, timeout: 600000 }, () => {
  before(async () => {
    server = await startServer();
    keys = JSON.parse(await readFile(path.join(server.dataDir, "rtc_auth_key.json"), "utf8"));
    sfuUrl = `${server.baseUrl.replace(/^http/, "ws")}/livekit/sfu`;
    site = await serveLivekitPage();
    browser = await launchBrowser("sfu-codecs", { extraArgs: ["--autoplay-policy=no-user-gesture-required"] });
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    if (server) {
      if (process.env.ATRIUM_E2E_KEEP) server.failed = true;
      await server.stop();
    }
  });
  afterEach(leaveAll); // each test starts with fresh pages in its own room

  test("H.264 simulcast and Opus with RED: each decodes the other in the published codecs", async () => {
    await join("alice", "h264", { videoCodec: "h264" });
    await join("bob", "h264", { videoCodec: "h264" });
    const out = await pages.alice.evaluate(() => LK.outbound());
    const video = out.filter((o) => o.kind === "video");
    assert.ok(video.length > 0 && video.every((o) => /h264/i.test(o.codec ?? "")),
      `alice publishes H.264: ${JSON.stringify(out)}`);
    for (const [receiver, sender] of [["alice", "bob"], ["bob", "alice"]]) {
      const s = await waitDecodes(receiver, sender, (x) => /h264/i.test(x.video.codec ?? ""), " as H.264");
      // livekit-client asks for RED (our answer puts it first), and a browser
      // subscriber takes RED. (Chromium's stats name the inner codec, Opus.)
      assert.equal(s.audio.mime, "audio/red", `published audio ${JSON.stringify(s)}`);
      assert.ok(s.audio.negotiated.includes("audio/red"), `subscriber codecs ${JSON.stringify(s)}`);
    }
  });

  test("RED reaches a subscriber that refuses RED as plain Opus", async () => {
    await join("alice", "red", {});
    await join("bob", "red", { refuseRed: true });
    const s = await waitDecodes("bob", "alice");
    assert.equal(s.audio.mime, "audio/red", `published audio ${JSON.stringify(s)}`);
    assert.ok(!s.audio.negotiated.includes("audio/red"), `subscriber codecs ${JSON.stringify(s)}`);
    // The primary blocks decode: audio plays with little concealment.
    await sleep(2000);
    const later = (await stats("bob")).alice;
    assert.ok(later.audio.samples > s.audio.samples, `audio keeps flowing ${JSON.stringify(later)}`);
    assert.ok(later.audio.concealed < later.audio.samples / 5, `audio decodes ${JSON.stringify(later)}`);
  });

  test("Opus without RED reaches a subscriber as Opus", async () => {
    await join("alice", "opus", { red: false });
    await join("bob", "opus", { red: false });
    const s = await waitDecodes("bob", "alice");
    assert.equal(s.audio.mime, "audio/opus", `published audio ${JSON.stringify(s)}`);
    assert.ok(!s.audio.negotiated.includes("audio/red"), `subscriber codecs ${JSON.stringify(s)}`);
  });

  test("VP9 SVC: decoded, and a small render gets a lower spatial layer than a large one", async () => {
    await join("alice", "vp9", { videoCodec: "vp9", adaptiveStream: true });
    await join("bob", "vp9", { videoCodec: "vp9", adaptiveStream: true });
    const out = await pages.alice.evaluate(() => LK.outbound());
    // Chromium picks two or three spatial layers for a 640x480 camera.
    assert.ok(out.some((o) => /vp9/i.test(o.codec ?? "") && /^L[23]T3/.test(o.scalabilityMode ?? "")),
      `alice publishes VP9 SVC: ${JSON.stringify(out)}`);
    await waitDecodes("bob", "alice", (x) => /vp9/i.test(x.video.codec ?? ""), " as VP9");
    await waitDecodes("alice", "bob", (x) => /vp9/i.test(x.video.codec ?? ""), " as VP9");
    const idAlice = "alice";
    const sized = async (w, h, pred, what) => {
      await pages.bob.evaluate(([id, ww, hh]) => LK.setVideoSize(id, ww, hh), [idAlice, w, h]);
      let streak = 0;
      await waitDecodes("bob", "alice", (x) => {
        streak = pred(x.video.frameWidth) ? streak + 1 : 0;
        return streak >= 3;
      }, what, 30000);
    };
    // 640x480 in L2/L3: spatial layers (160,) 320 and 640 wide.
    await sized(640, 480, (w) => w >= 640, " at full width for a large render");
    await sized(160, 120, (w) => w > 0 && w <= 320, " at a lower layer for a small render");
    await sized(640, 480, (w) => w >= 640, " at full width again");
    const file = await browser.screenshot(pages.bob, "bob-vp9");
    process.stderr.write(`[sfu-codecs] screenshot: ${file}\n`);
  });
});
