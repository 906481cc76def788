// The call app (issue #8) in headless Chromium, served by atrium itself at
// /apps/call/: three users in three browsers (Chromium's fake camera and
// microphone). A starts a call and B's client rings; B joins from the ring;
// both decode each other's video and audio; the membership, the ring and the
// LiveKit identity are Element Call's; A raises a hand and B sees it, lowers
// it and B sees that; an emoji reaction shows on A's tile; A mutes and B
// sees it; a screenshot of the call is checked and kept; C declines a ring and
// A hears of it. In an encrypted room the three join a call whose media is
// end-to-end encrypted with per-participant keys sent as to-device messages;
// C leaves, the others' keys rotate, and C, back on the SFU with the keys it
// had but no membership, can no longer decrypt new frames while B still can.
//
// Runs only inside run.sh's private network namespace (only `lo`).
// The tests of this file build on each other (one server, three browsers).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";

import { fetchJson, sleep, startServer, waitFor, WEB_ROOT } from "./lib/server.mjs";
import { browserUnavailableReason, launchBrowser } from "./lib/browser.mjs";
import { callState, callStats, createRoom, invite, joinCall, joinRoom, signUp, waitCall, waitMedia } from "./lib/call.mjs";
import * as calls from "../../web/call/events.js";

const LEAVE_DELAY_MS = 4000;
const skip = browserUnavailableReason();

let server;
let appUrl;
const browsers = {}; // name -> Browser (one Chromium each)
const pages = {}; // name -> page
const ids = {}; // name -> {userId, deviceId, identity}

function detail() {
  let out = "";
  for (const [n, b] of Object.entries(browsers)) out += `\n--- ${n} console (tail) ---\n${b.consoleTail(15)}`;
  return `${out}\n--- server log (tail) ---\n${server?.logText(30)}`;
}

async function open(name) {
  browsers[name] = await launchBrowser(`call-${name}`);
  pages[name] = await browsers[name].newPage();
  await signUp(pages[name], appUrl, name);
  const s = await callState(pages[name]);
  ids[name] = { userId: s.userId, deviceId: s.deviceId, identity: `${s.userId}:${s.deviceId}` };
}

const token = (name) => pages[name].evaluate(() => JSON.parse(sessionStorage.getItem("atrium.call.creds")).access_token);

async function api(name, p) {
  const r = await fetchJson(server.url(p), { token: await token(name) });
  assert.equal(r.status, 200, `GET ${p}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** A fake MatrixEvent for the pure rules in web/call/events.js. */
const ev = (content, { sender = "@a:hs", ts = 1000000, type = calls.NOTIFICATION } = {}) => ({
  getContent: () => content,
  getSender: () => sender,
  getTs: () => ts,
  getType: () => type,
  getRoomId: () => "!r:hs",
  getId: () => "$n",
});

describe("call events", () => {
  const ring = { "m.mentions": { user_ids: [], room: true }, notification_type: "ring", sender_ts: 1000000, lifetime: 30000 };

  test("a ring is for room mentions and named users, not for its sender", () => {
    assert.equal(calls.ringFrom(ev(ring), "@b:hs", 1000500).until, 1030000);
    assert.equal(calls.ringFrom(ev(ring), "@a:hs", 1000500), null, "our own ring");
    const named = { ...ring, "m.mentions": { user_ids: ["@b:hs"] } };
    assert.ok(calls.ringFrom(ev(named), "@b:hs", 1000500));
    assert.equal(calls.ringFrom(ev(named), "@c:hs", 1000500), null);
  });

  test("a ring ends with its lifetime, capped at 90 s, from the server's clock when the sender's is off", () => {
    assert.equal(calls.ringFrom(ev(ring), "@b:hs", 1030000), null, "over");
    assert.equal(calls.ringFrom(ev({ ...ring, lifetime: 600000 }), "@b:hs", 1000000).until, 1090000, "capped");
    const skewed = { ...ring, sender_ts: 1000000 + 60000 };
    assert.equal(calls.ringFrom(ev(skewed), "@b:hs", 1000000).until, 1030000, "server time used");
  });

  test("malformed rings are ignored", () => {
    for (const c of [{}, null, { ...ring, notification_type: "shout" }, { ...ring, lifetime: "30s" }, { ...ring, sender_ts: undefined },
      { ...ring, lifetime: -5 }, { ...ring, "m.mentions": "everyone" }]) {
      assert.equal(calls.ringFrom(ev(c), "@b:hs", 1000500), null, JSON.stringify(c));
    }
  });

  test("hands and reactions relate to the membership event", () => {
    assert.equal(calls.handRaisedOn(ev(calls.raiseHandContent("$m"), { type: calls.REACTION })), "$m");
    assert.equal(calls.handRaisedOn(ev({ "m.relates_to": { rel_type: "m.annotation", event_id: "$m", key: "👍" } })), null);
    const r = calls.callReaction(ev(calls.callReactionContent("$m", "👍🏽 and more", "thumbsup")));
    assert.deepEqual(r, { membershipEventId: "$m", emoji: "👍🏽", name: "thumbsup" }, "the first grapheme only");
    assert.equal(calls.callReaction(ev({ emoji: "👍" })), null, "no relation");
    assert.deepEqual(calls.declineContent("$n"), { "m.relates_to": { rel_type: "m.reference", event_id: "$n" } });
  });
});

describe("call app in Chromium", { skip: skip || false, timeout: 420000 }, () => {
  let roomId;
  before(async () => {
    assert.ok(existsSync(path.join(WEB_ROOT, "call", "main.js")), `${WEB_ROOT} has no call bundle: run scripts/build`);
    server = await startServer({ webRoot: WEB_ROOT });
    appUrl = server.url(`/apps/call/?leaveDelayMs=${LEAVE_DELAY_MS}`);
  });
  after(async () => {
    for (const [n, b] of Object.entries(browsers)) {
      if (b.consoleErrors.length) process.stderr.write(`[call] ${n} console errors:\n  ${b.consoleErrors.slice(0, 20).join("\n  ")}\n`);
    }
    for (const b of Object.values(browsers)) await b.close();
    if (server) {
      if (process.env.ATRIUM_E2E_KEEP) server.failed = true;
      await server.stop();
    }
  });

  test("atrium serves the call app with its E2EE worker and crypto WASM", async () => {
    assert.match(await (await fetch(server.url("/apps/"))).text(), /href="call\/"/);
    const worker = await fetch(server.url("/apps/call/e2ee-worker.mjs"));
    assert.equal(worker.status, 200);
    assert.match(worker.headers.get("content-type"), /^text\/javascript/);
    const wasm = await fetch(server.url("/apps/call/pkg/matrix_sdk_crypto_wasm_bg.wasm"));
    assert.equal(wasm.status, 200);
    assert.equal(wasm.headers.get("content-type"), "application/wasm");
  });

  test("A starts a call, B's client rings, B joins from the ring", async () => {
    await open("alice");
    await open("bob");
    roomId = await createRoom(pages.alice, "Standup");
    await joinRoom(pages.bob, roomId);
    await joinCall(pages.alice, detail);
    const ringing = await waitCall(pages.bob, "bob's client rings", (s) => s.ringing, 20000, detail);
    assert.deepEqual(ringing.ringing, { roomId, from: ids.alice.userId });
    assert.ok(await pages.bob.isVisible("#ring"), "the ring banner shows");
    await pages.bob.click("#ring-join");
    const s = await waitCall(pages.bob, "bob joined from the ring", (st) => st.joined && st.camera && st.mic && !st.ringing, 40000, detail);
    assert.equal(s.roomId, roomId);
    assert.equal(await pages.bob.isVisible("#ring"), false, "the ring banner is gone");
    for (const n of ["alice", "bob"]) {
      await waitCall(pages[n], `${n} lists both members`, (st) => st.members.length === 2, 15000, detail);
    }
  });

  test("the membership, the ring and the LiveKit identity are Element Call's", async () => {
    const a = await callState(pages.alice);
    assert.equal(a.identity, ids.alice.identity, "LiveKit identity @user:server:DEVICE (the auth service's /sfu/get)");
    const state = await api("bob", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state`);
    const member = state.find((e) => e.type === "org.matrix.msc3401.call.member" && e.state_key === `_${ids.alice.userId}_${ids.alice.deviceId}_m.call`);
    assert.ok(member, "alice's membership at Element Call's state key");
    const c = member.content;
    assert.equal(c.application, "m.call");
    assert.equal(c.call_id, "");
    assert.equal(c.scope, "m.room");
    assert.equal(c.device_id, ids.alice.deviceId);
    assert.equal(c.focus_active?.type, "livekit");
    assert.equal(c.foci_preferred?.[0]?.type, "livekit");
    assert.match(c.foci_preferred[0].livekit_service_url, /\/livekit\/jwt$/);
    const msgs = await api("bob", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=100`);
    const notes = msgs.chunk.filter((e) => e.type === calls.NOTIFICATION);
    assert.equal(notes.length, 1, "one ring, sent by the first joiner only");
    const n = notes[0];
    assert.equal(n.sender, ids.alice.userId);
    assert.equal(n.content.notification_type, "ring");
    assert.deepEqual(n.content["m.mentions"], { user_ids: [], room: true });
    assert.deepEqual(n.content["m.relates_to"], { rel_type: "m.reference", event_id: member.event_id });
    assert.equal(typeof n.content.sender_ts, "number");
    assert.equal(typeof n.content.lifetime, "number");
  });

  test("both decode each other's video and audio", async () => {
    await waitMedia(pages.alice, [ids.bob.identity], "alice decodes bob", detail);
    await waitMedia(pages.bob, [ids.alice.identity], "bob decodes alice", detail);
  });

  test("A raises a hand and B sees it on A's tile; lowering it clears it", async () => {
    await pages.alice.click("#raise-hand");
    const own = (await callState(pages.alice)).members.find((m) => m.userId === ids.alice.userId);
    let s = await waitCall(pages.bob, "bob sees alice's hand", (st) => st.tiles[ids.alice.identity]?.hand, 15000, detail);
    assert.deepEqual(s.hands, [{ membershipEventId: own.eventId, userId: ids.alice.userId }]);
    const rels = await api("bob", `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/relations/${encodeURIComponent(own.eventId)}/m.annotation`);
    assert.equal(rels.chunk.length, 1);
    assert.equal(rels.chunk[0].type, "m.reaction");
    assert.equal(rels.chunk[0].content["m.relates_to"].key, calls.HAND);
    await pages.alice.click("#raise-hand");
    s = await waitCall(pages.bob, "bob sees alice's hand lowered", (st) => !st.tiles[ids.alice.identity]?.hand && st.hands.length === 0, 15000, detail);
  });

  test("an emoji reaction shows on A's tile at B", async () => {
    await pages.alice.click('button.reaction[data-name="thumbsup"]');
    const s = await waitCall(pages.bob, "bob gets alice's reaction", (st) => st.reactions.length > 0, 15000, detail);
    assert.equal(s.reactions[0].from, ids.alice.userId);
    assert.equal(s.reactions[0].emoji, "👍");
    assert.equal(s.reactions[0].name, "thumbsup");
    assert.equal(s.tiles[ids.alice.identity]?.reaction, "👍", "shown on alice's tile");
  });

  test("A mutes the microphone and B sees it", async () => {
    await pages.alice.click("#toggle-mic");
    await waitCall(pages.bob, "bob sees alice muted", (st) => st.remotes[ids.alice.identity]?.audioMuted === true && st.tiles[ids.alice.identity]?.micMuted, 15000, detail);
    await pages.alice.click("#toggle-mic");
    await waitCall(pages.bob, "bob sees alice unmuted", (st) => st.remotes[ids.alice.identity]?.audioMuted === false, 15000, detail);
  });

  test("screenshot of the call in use is checked and kept", async () => {
    const s = await waitCall(pages.bob, "both tiles show video", (st) => Object.values(st.tiles).every((t) => t.videoWidth > 0) && Object.keys(st.tiles).length === 2, 20000, detail);
    assert.ok(s.tiles[ids.alice.identity].connected);
    const file = await browsers.bob.screenshot(pages.bob, "call-in-use");
    const size = (await stat(file)).size;
    assert.ok(size > 10000, `screenshot ${file} is ${size} bytes`);
    process.stderr.write(`[call] screenshot: ${file}\n`);
  });

  test("C declines a ring and A hears of it", async () => {
    await open("carol");
    await pages.alice.click("#leave-call");
    await pages.bob.click("#leave-call");
    await waitCall(pages.alice, "the call is over", (st) => !st.joined && st.members.length === 0, 20000, detail);
    await pages.alice.click("#back-to-rooms");
    const second = await createRoom(pages.alice, "Quick question");
    await joinRoom(pages.carol, second);
    await joinCall(pages.alice, detail);
    await waitCall(pages.carol, "carol's client rings", (st) => st.ringing?.roomId === second, 20000, detail);
    await pages.carol.click("#ring-decline");
    const a = await waitCall(pages.alice, "alice gets carol's decline", (st) => st.declines.some((d) => d.from === ids.carol.userId), 15000, detail);
    const notified = a.notificationsSent.find((n) => n.roomId === second);
    assert.ok(notified, "alice saw her own ring");
    assert.equal(a.declines.find((d) => d.from === ids.carol.userId).notification, notified.eventId, "the decline refers to the ring");
    const c = await callState(pages.carol);
    assert.equal(c.ringing, null, "carol stopped ringing");
    assert.equal(await pages.carol.isVisible("#ring"), false, "the ring banner is gone");
    assert.equal(c.joined, false);
    await pages.alice.click("#leave-call");
    await waitCall(pages.alice, "alice left", (st) => !st.joined, 10000, detail);
  });

  test("in an encrypted room the media is end-to-end encrypted with per-participant keys", async () => {
    for (const n of ["alice", "bob", "carol"]) await pages[n].click("#back-to-rooms").catch(() => {});
    roomId = await createRoom(pages.alice, "Private", { encrypted: true });
    await invite(pages.alice, ids.bob.userId);
    await invite(pages.alice, ids.carol.userId);
    await joinRoom(pages.bob, roomId);
    await joinRoom(pages.carol, roomId);
    await joinCall(pages.alice, detail);
    await joinCall(pages.bob, detail);
    await joinCall(pages.carol, detail);
    const all = ["alice", "bob", "carol"];
    for (const n of all) {
      const others = all.filter((o) => o !== n).map((o) => ids[o].identity);
      const s = await waitCall(pages[n], `${n} has the others' keys`, (st) => others.every((id) => st.keys.some((k) => k.identity === id)), 30000, detail);
      assert.ok(s.encrypted && s.e2ee, `${n}: E2EE on`);
      assert.ok(s.keys.some((k) => k.own), `${n} set its own key`);
      await waitMedia(pages[n], others, `${n} decodes the others' encrypted media`, detail, { timeoutMs: 60000 });
      const st = await callState(pages[n]);
      for (const id of others) assert.equal(st.remotes[id]?.encrypted, true, `${n} sees ${id}'s tracks encrypted`);
    }
  });

  test("after C leaves, keys rotate and C can no longer decrypt new frames", async () => {
    const ownIndex = (s) => Math.max(-1, ...s.keys.filter((k) => k.own).map((k) => k.index));
    const before = ownIndex(await callState(pages.alice));
    await pages.carol.click("#leave-call");
    await waitCall(pages.alice, "alice sees carol gone", (st) => st.members.length === 2, 20000, detail);
    const a = await waitCall(pages.alice, "alice rotates her key", (st) => ownIndex(st) !== before, 20000, detail);
    const newIndex = ownIndex(a);
    await waitCall(pages.bob, "bob gets alice's new key", (st) => st.keys.some((k) => k.identity === ids.alice.identity && k.index === newIndex), 20000, detail);
    const carolKeys = (await callState(pages.carol)).keys;
    assert.ok(!carolKeys.some((k) => k.identity === ids.alice.identity && k.index === newIndex), "carol never got alice's new key");
    // Let alice switch to the new key (the SDK waits a second before using it).
    await sleep(2000);
    await pages.carol.evaluate(() => window.CALL.reconnectWithoutMembership());
    await waitFor(async () => (await callStats(pages.carol))[ids.alice.identity]?.video?.packets > 50, "carol receives alice's video packets again", 30000, { detail });
    await sleep(3000);
    const carol = await callStats(pages.carol);
    assert.equal(carol[ids.alice.identity].video.framesDecoded ?? 0, 0, `carol decodes none of alice's new frames: ${JSON.stringify(carol)}`);
    assert.ok((await callState(pages.carol)).encryptionErrors > 0, "carol's decryptor reports missing keys");
    const b0 = (await callStats(pages.bob))[ids.alice.identity].video.framesDecoded;
    await waitFor(async () => (await callStats(pages.bob))[ids.alice.identity].video.framesDecoded > b0 + 10, "bob still decodes alice", 15000, { detail });
  });
});
