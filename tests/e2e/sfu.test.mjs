// The SFU (/livekit/sfu) with real livekit-client 2.23 in headless Chromium
// (issue #7's browser acceptance): three participants, each with a token from
// our RTC auth service (Element Call's /get_token request with a Matrix OpenID
// token), publish simulcast fake camera + microphone in one LiveKit room and
// decode each other; adaptive stream picks the low layer for a small render
// and a higher one for a large render; mute, unmute and leave reach the
// others; reliable and lossy data with topics and destination identities go
// where they should and nowhere else; with a shared-key E2EE every
// participant decrypts the others, and a participant with a wrong key does not.
//
// Three Chromium participants saturate the 2-core machines: keep it at three.
// Runs only inside run.sh's private network namespace (only `lo`).
// The tests of this file build on each other (one server, one browser).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { startServer, describeResponse, waitFor, sleep } from "./lib/server.mjs";
import { browserUnavailableReason, launchBrowser } from "./lib/browser.mjs";
import { openIdToken, getTokenBody } from "./lib/rtcauth.mjs";
import { serveLivekitPage } from "./lib/livekit_page.mjs";

const enc = encodeURIComponent;
const NAMES = ["alice", "bob", "carol"];
const skip = browserUnavailableReason();

let server, browser, site;
let users = {}; // name -> Matrix user
let rooms = {}; // "plain" | "e2ee" -> Matrix room id
let pages = {}; // name -> playwright page
let ids = {}; // name -> LiveKit identity in the current call

async function createPublicRoom(user) {
  const r = await server.api("/_matrix/client/v3/createRoom", {
    method: "POST", token: user.access_token, body: { preset: "public_chat" },
  });
  assert.equal(r.status, 200, describeResponse(r));
  return r.body.room_id;
}

async function joinRoom(user, roomId) {
  const r = await server.api(`/_matrix/client/v3/join/${enc(roomId)}`, { method: "POST", token: user.access_token, body: {} });
  assert.equal(r.status, 200, describeResponse(r));
}

/** Element Call's flow: OpenID token -> POST /livekit/jwt/get_token -> {jwt, url}. */
async function lkToken(name, roomId) {
  const user = users[name];
  const openid = await openIdToken(server, user);
  const r = await server.api("/livekit/jwt/get_token", {
    method: "POST", body: getTokenBody(roomId, openid, user, `member-${name}`),
  });
  assert.equal(r.status, 200, describeResponse(r));
  assert.ok(r.body.jwt && r.body.url, `get_token answer lacks jwt/url: ${describeResponse(r)}`);
  return r.body;
}

/** Loads a fresh page for `name` and joins the call in `roomId`; returns the identity. */
async function joinCall(name, roomId, opts = {}) {
  const { jwt, url } = await lkToken(name, roomId);
  if (!pages[name]) pages[name] = await browser.newPage();
  await pages[name].goto(site.url);
  ids[name] = await pages[name].evaluate(([u, t, o]) => LK.connect(u, t, o), [url, jwt, opts]);
  return ids[name];
}

const stats = (name) => pages[name].evaluate(() => LK.stats());
const events = (name) => pages[name].evaluate(() => LK.events);
const received = (name) => pages[name].evaluate(() => LK.data);

function detail() {
  return `\n--- browser console (tail) ---\n${browser.consoleTail(30)}\n--- server log (tail) ---\n${server.logText(60)}`;
}

/** Waits until `receiver` decodes video frames and receives audio samples of every name in `from`. */
async function waitDecodes(receiver, from, timeoutMs = 30000, { videoOnly = false } = {}) {
  let last;
  await waitFor(async () => {
    last = await stats(receiver);
    return from.every((n) => {
      const s = last[ids[n]];
      return s?.video?.framesDecoded > 0 && (videoOnly || s?.audio?.samples > 0);
    });
  }, `${receiver} decodes video${videoOnly ? "" : " + audio"} of ${from.join(", ")}`, timeoutMs, {
    intervalMs: 500, detail: () => `stats ${JSON.stringify(last)}${detail()}`,
  });
  return last;
}

async function waitEvent(name, what, pred, timeoutMs = 15000) {
  let last = [];
  return waitFor(async () => (last = await events(name)).find(pred), `${name}: ${what}`, timeoutMs, {
    intervalMs: 200, detail: () => `events ${JSON.stringify(last.slice(-15))}${detail()}`,
  });
}

describe("SFU with livekit-client in Chromium", { skip: skip || false, timeout: 600000 }, () => {
  before(async () => {
    server = await startServer();
    site = await serveLivekitPage();
    browser = await launchBrowser("sfu", { extraArgs: ["--autoplay-policy=no-user-gesture-required"] });
    for (const n of NAMES) users[n] = await server.registerUser(n);
    rooms.plain = await createPublicRoom(users.alice);
    rooms.e2ee = await createPublicRoom(users.alice);
    for (const n of NAMES.slice(1)) {
      await joinRoom(users[n], rooms.plain);
      await joinRoom(users[n], rooms.e2ee);
    }
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    if (server) {
      if (process.env.ATRIUM_E2E_KEEP) server.failed = true;
      await server.stop();
    }
  });

  test("three participants publish simulcast camera + mic and each decodes the others", async () => {
    for (const n of NAMES) await joinCall(n, rooms.plain, { adaptiveStream: true });
    assert.equal(new Set(Object.values(ids)).size, 3, `distinct identities: ${JSON.stringify(ids)}`);
    for (const n of NAMES) await waitDecodes(n, NAMES.filter((o) => o !== n), 45000);
    // Every camera was published with simulcast layers, as the others see it.
    const layers = await pages.alice.evaluate(() =>
      [...LK.room.remoteParticipants.values()].map((p) => {
        const pub = [...p.trackPublications.values()].find((t) => t.kind === "video");
        return { identity: p.identity, simulcasted: pub?.simulcasted, layers: pub?.trackInfo?.layers?.length ?? 0 };
      }));
    for (const l of layers) assert.ok(l.simulcasted && l.layers >= 2, `simulcast layers seen by alice: ${JSON.stringify(layers)}`);
    const file = await browser.screenshot(pages.alice, "alice-remote-videos");
    process.stderr.write(`[sfu] screenshot: ${file}\n`);
  });

  test("adaptive stream: a small render gets the low layer, a large one a higher layer", async () => {
    // The low layer of a 640x480 capture is 240x180 (livekit-client's h180 preset for 4:3).
    const check = async (small, large) => {
      await pages.alice.evaluate(([s, l]) => { LK.setVideoSize(s, 160, 120); LK.setVideoSize(l, 640, 480); }, [ids[small], ids[large]]);
      let last;
      let streak = 0; // consecutive good samples: a flapping selection must not pass
      await waitFor(async () => {
        last = await stats("alice");
        const s = last[ids[small]]?.video, l = last[ids[large]]?.video;
        streak = s?.frameWidth > 0 && s.frameWidth <= 320 && l?.frameWidth >= 400 ? streak + 1 : 0;
        return streak >= 6;
      }, `alice receives ${small} small (<=320 px wide) and ${large} large (>=400 px wide) for 3 s`, 30000, {
        intervalMs: 500,
        detail: async () => `stats ${JSON.stringify(last)}\n${large} sends ${JSON.stringify(await pages[large].evaluate(() => LK.outbound()))}${detail()}`,
      });
      const w = (n) => `${last[ids[n]].video.frameWidth}x${last[ids[n]].video.frameHeight}`;
      process.stderr.write(`[sfu] alice receives ${small} at ${w(small)}, ${large} at ${w(large)}\n`);
    };
    await check("bob", "carol");
    // And back: the layers follow the render size both ways.
    await check("carol", "bob");
  });

  test("mute and unmute reach the others", async () => {
    const isBobCam = (type) => (e) => e.type === type && e.identity === ids.bob && e.kind === "video";
    await pages.bob.evaluate(() => LK.setCamera(false));
    for (const n of ["alice", "carol"]) await waitEvent(n, "bob's camera muted", isBobCam("trackMuted"));
    const before = (await stats("alice"))[ids.bob]?.video?.framesDecoded ?? 0;
    await pages.bob.evaluate(() => LK.setCamera(true));
    for (const n of ["alice", "carol"]) await waitEvent(n, "bob's camera unmuted", isBobCam("trackUnmuted"));
    let last;
    await waitFor(async () => ((last = (await stats("alice"))[ids.bob]?.video?.framesDecoded ?? 0) > before + 10),
      `alice decodes bob's video again after unmute (was ${before})`, 20000, { intervalMs: 500, detail: () => `now ${last}${detail()}` });
  });

  test("reliable and lossy data with topics and destinations reach exactly their receivers", async () => {
    // Reliable, to bob only.
    await pages.alice.evaluate(([b]) => LK.send("a->b reliable", { reliable: true, topic: "t-direct", destinationIdentities: [b] }), [ids.bob]);
    // Reliable, to everyone.
    await pages.bob.evaluate(() => LK.send("b->all reliable", { reliable: true, topic: "t-all" }));
    // Lossy, to carol and alice explicitly, several times (lossy may drop).
    await pages.bob.evaluate(async ([a, c]) => {
      for (let i = 0; i < 5; i++) { await LK.send("b->a,c lossy", { reliable: false, topic: "t-lossy", destinationIdentities: [a, c] }); await new Promise((r) => setTimeout(r, 50)); }
    }, [ids.alice, ids.carol]);
    // Lossy, to alice only.
    await pages.carol.evaluate(async ([a]) => {
      for (let i = 0; i < 5; i++) { await LK.send("c->a lossy", { reliable: false, topic: "t-lossy-a", destinationIdentities: [a] }); await new Promise((r) => setTimeout(r, 50)); }
    }, [ids.alice]);
    const has = (list, text, from, topic, kind) => list.some((d) => d.text === text && d.from === from && d.topic === topic && d.kind === kind);
    const RELIABLE = 0, LOSSY = 1; // livekit DataPacket_Kind
    await waitFor(async () => {
      const [a, b, c] = await Promise.all(NAMES.map(received));
      return has(b, "a->b reliable", ids.alice, "t-direct", RELIABLE) &&
        has(a, "b->all reliable", ids.bob, "t-all", RELIABLE) && has(c, "b->all reliable", ids.bob, "t-all", RELIABLE) &&
        has(a, "b->a,c lossy", ids.bob, "t-lossy", LOSSY) && has(c, "b->a,c lossy", ids.bob, "t-lossy", LOSSY) &&
        has(a, "c->a lossy", ids.carol, "t-lossy-a", LOSSY);
    }, "every data packet at its destinations with sender identity, topic and kind", 15000, {
      intervalMs: 200,
    }).catch(async (e) => {
      const all = Object.fromEntries(await Promise.all(NAMES.map(async (n) => [n, await received(n)])));
      throw new Error(`${e.message}\nreceived: ${JSON.stringify(all)}\nids: ${JSON.stringify(ids)}`);
    });
    await sleep(1000); // give strays time to arrive
    const all = Object.fromEntries(await Promise.all(NAMES.map(async (n) => [n, await received(n)])));
    const texts = (n) => all[n].map((d) => d.text);
    assert.ok(!texts("carol").includes("a->b reliable"), `carol got alice's message for bob: ${JSON.stringify(all.carol)}`);
    assert.ok(!texts("alice").includes("a->b reliable"), "alice got her own message back");
    assert.ok(!texts("bob").includes("b->all reliable") && !texts("bob").includes("b->a,c lossy"), `bob got his own data: ${JSON.stringify(all.bob)}`);
    assert.ok(!texts("bob").includes("c->a lossy") && !texts("carol").includes("c->a lossy"), `carol's message for alice leaked: ${JSON.stringify(all)}`);
    for (const n of NAMES) {
      for (const d of all[n]) assert.notEqual(d.from, ids[n], `${n} received a packet claiming to be from itself: ${JSON.stringify(d)}`);
    }
  });

  test("leave reaches the others", async () => {
    await pages.carol.evaluate(() => LK.leave());
    for (const n of ["alice", "bob"]) {
      await waitEvent(n, "carol disconnected", (e) => e.type === "participantDisconnected" && e.identity === ids.carol);
    }
    const left = await pages.alice.evaluate(() => [...LK.room.remoteParticipants.keys()]);
    assert.ok(!left.includes(ids.carol), `alice still lists carol: ${JSON.stringify(left)}`);
    await pages.alice.evaluate(() => LK.leave());
    await pages.bob.evaluate(() => LK.leave());
  });

  test("shared-key E2EE: every participant decrypts the others' frames", async () => {
    const KEY = "atrium-e2e-shared-secret";
    for (const n of NAMES) await joinCall(n, rooms.e2ee, { e2eeKey: KEY });
    for (const n of NAMES) await waitDecodes(n, NAMES.filter((o) => o !== n), 45000);
    for (const n of NAMES) {
      const info = await pages[n].evaluate(() => ({
        enabled: LK.room.isE2EEEnabled,
        encrypted: [...LK.room.remoteParticipants.values()].flatMap((p) => [...p.trackPublications.values()].map((t) => t.isEncrypted)),
        errors: LK.events.filter((e) => e.type === "encryptionError"),
      }));
      assert.equal(info.enabled, true, `${n}: E2EE not enabled`);
      assert.ok(info.encrypted.length >= 4 && info.encrypted.every(Boolean), `${n}: remote tracks not all marked encrypted: ${JSON.stringify(info.encrypted)}`);
      assert.deepEqual(info.errors, [], `${n}: decryption errors`);
    }
    const file = await browser.screenshot(pages.bob, "bob-e2ee-remote-videos");
    process.stderr.write(`[sfu] screenshot: ${file}\n`);
  });

  test("E2EE: a participant with the wrong key does not decode, the others still do", async () => {
    await pages.carol.evaluate(() => LK.leave());
    await waitEvent("alice", "carol left", (e) => e.type === "participantDisconnected" && e.identity === ids.carol);
    await joinCall("carol", rooms.e2ee, { e2eeKey: "not-the-shared-secret" });
    // Carol's media reaches alice (packets flow) but never decodes; alice and
    // bob keep decoding each other.
    let last;
    await waitFor(async () => {
      last = await stats("alice");
      return last[ids.carol]?.video?.packets > 50;
    }, "carol's (wrongly keyed) video packets reach alice", 30000, { intervalMs: 500, detail: () => `stats ${JSON.stringify(last)}${detail()}` });
    await sleep(3000);
    const a = await stats("alice");
    assert.equal(a[ids.carol]?.video?.framesDecoded ?? 0, 0, `alice decoded carol's wrongly keyed video: ${JSON.stringify(a)}`);
    const c = await stats("carol");
    assert.equal(c[ids.alice]?.video?.framesDecoded ?? 0, 0, `carol decoded alice's video with the wrong key: ${JSON.stringify(c)}`);
    const bobBefore = a[ids.bob]?.video?.framesDecoded ?? 0;
    await sleep(1000);
    const a2 = await stats("alice");
    assert.ok((a2[ids.bob]?.video?.framesDecoded ?? 0) > bobBefore, `alice stopped decoding bob: ${JSON.stringify(a2)}`);
    await waitEvent("alice", "a decryption error for carol's media", (e) => e.type === "encryptionError" || (e.type === "encryptionStatus" && e.identity === ids.carol && e.enabled === false), 15000);
    for (const n of NAMES) await pages[n].evaluate(() => LK.leave());
  });
});
