// The SFU's server API against a real atrium (all roles in one process):
// livekit-server-sdk's RoomServiceClient over Twirp (create, list, list
// participants, remove), signed webhooks checked by the SDK's
// and the delegated-leave acceptance test: a client that
// delegated its leave to the auth service joins the SFU and is killed; the
// SFU's participant_connection_aborted webhook makes the auth service send
// the member's delayed leave at once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { RoomServiceClient, AccessToken } from "livekit-server-sdk";
import { SignalResponse } from "@livekit/protocol";
import { describeResponse, withServerLogOnFailure, sleep, waitFor, fetchJson } from "./lib/server.mjs";
import { startWebhookReceiver } from "./lib/webhooks.mjs";
import { startServerWithConfig } from "./lib/rtc.mjs";
import {
  API_KEY, API_SECRET, SLOT, lkHash, createRoom, openIdToken, getTokenBody, scheduleLeave, memberContent,
} from "./lib/rtcauth.mjs";

let server, hooks, alice, roomId, rooms;
let received = []; // webhook events as WebhookReceiver decoded them (lib/webhooks.mjs)
let refused = []; // bodies WebhookReceiver rejected
const step = (name, fn) => test(name, () => withServerLogOnFailure(() => server, name, fn));


async function joinToken(identity, room) {
  const at = new AccessToken(API_KEY, API_SECRET, { identity, name: identity, ttl: "10m" });
  at.addGrant({ room, roomJoin: true });
  return at.toJwt();
}

/** A raw LiveKit signal client: resolves once the JoinResponse arrived. */
function connectSignal(url, token) {
  const ws = new WebSocket(`${url}/rtc?access_token=${encodeURIComponent(token)}&protocol=15&auto_subscribe=1`);
  ws.binaryType = "arraybuffer";
  const messages = [];
  const client = { ws, messages, closed: false };
  ws.addEventListener("close", () => (client.closed = true));
  return new Promise((resolve, reject) => {
    ws.addEventListener("error", () => reject(new Error("signal WebSocket error")));
    ws.addEventListener("message", (m) => {
      const msg = SignalResponse.fromBinary(new Uint8Array(m.data));
      messages.push(msg);
      if (msg.message.case === "join") resolve(client);
    });
  });
}

const eventsFor = (name, identity) =>
  received.filter((r) => r.event.event === name && (!identity || r.event.participant?.identity === identity));

before(async () => {
  hooks = await startWebhookReceiver(API_KEY, API_SECRET);
  ({ received, refused } = hooks);
  server = await startServerWithConfig({
    rtc_auth: { livekit_key: API_KEY, livekit_secret: API_SECRET },
    sfu: { webhook_urls: [`${hooks.url}hook`] },
  });
  // The SDK resolves /twirp/... against the host (dropping /livekit/sfu): the SFU serves both.
  rooms = new RoomServiceClient(server.url("/livekit/sfu"), API_KEY, API_SECRET, { failover: false });
  alice = await server.registerUser("alice");
  roomId = await createRoom(server, alice.access_token);
});
after(async () => {
  await server?.stop();
  hooks?.server.close();
});

step("RoomServiceClient creates and lists rooms", async () => {
  const created = await rooms.createRoom({ name: "twirp-room", emptyTimeout: 60 });
  assert.equal(created.name, "twirp-room");
  assert.match(created.sid, /^RM_/);
  const again = await rooms.createRoom({ name: "twirp-room" });
  assert.equal(again.sid, created.sid, "CreateRoom returns the existing room");
  const listed = await rooms.listRooms();
  assert.ok(listed.some((r) => r.name === "twirp-room" && r.sid === created.sid), JSON.stringify(listed));
  assert.deepEqual((await rooms.listRooms(["nope"])).map((r) => r.name), []);
});

step("Twirp errors: no token, wrong grant, other room, unknown room, bad body", async () => {
  const base = server.url("/livekit/sfu/twirp/livekit.RoomService");
  const call = async (method, body, grant) => {
    const headers = { "Content-Type": "application/json" };
    if (grant) {
      const at = new AccessToken(API_KEY, API_SECRET, { identity: "admin", ttl: "1m" });
      at.addGrant(grant);
      headers.Authorization = `Bearer ${await at.toJwt()}`;
    }
    return fetchJson(`${base}/${method}`, { method: "POST", rawBody: typeof body === "string" ? body : JSON.stringify(body), headers });
  };
  let r = await call("ListRooms", {});
  assert.equal(r.status, 401, describeResponse(r));
  assert.equal(r.body.code, "unauthenticated");
  r = await call("ListRooms", {}, { roomJoin: true, room: "x" });
  assert.equal(r.status, 403, describeResponse(r));
  assert.equal(r.body.code, "permission_denied");
  r = await call("ListParticipants", { room: "twirp-room" }, { roomAdmin: true, room: "other" });
  assert.equal(r.status, 403, describeResponse(r));
  r = await call("ListParticipants", { room: "no-such-room" }, { roomAdmin: true, room: "no-such-room" });
  assert.equal(r.status, 404, describeResponse(r));
  assert.equal(r.body.code, "not_found");
  r = await call("CreateRoom", "{not json", { roomCreate: true });
  assert.equal(r.status, 400, describeResponse(r));
  r = await call("NoSuchMethod", {}, { roomCreate: true });
  assert.equal(r.status, 404, describeResponse(r));
  assert.equal(r.body.code, "bad_route");
});

step("a participant is listed, removed (gets a leave), and webhooks report join and leave", async () => {
  const client = await connectSignal(server.url("/livekit/sfu").replace("http", "ws"), await joinToken("bob", "twirp-room"));
  const listed = await rooms.listParticipants("twirp-room");
  assert.deepEqual(listed.map((p) => p.identity), ["bob"]);
  assert.equal((await rooms.getParticipant("twirp-room", "bob")).identity, "bob");
  await waitFor(() => eventsFor("participant_joined", "bob").length === 1, "participant_joined webhook", 10000);

  await rooms.removeParticipant("twirp-room", "bob");
  await waitFor(() => client.messages.some((m) => m.message.case === "leave"), "a leave for the removed participant", 5000);
  await waitFor(() => client.closed, "the removed participant's socket to close", 5000);
  assert.deepEqual((await rooms.listParticipants("twirp-room").catch(() => [])).map((p) => p.identity), []);
  await assert.rejects(rooms.removeParticipant("twirp-room", "bob"), /not found|does not exist/);
  await waitFor(() => eventsFor("participant_left", "bob").length === 1, "participant_left webhook", 10000);

  assert.deepEqual(refused, [], "every webhook verifies with WebhookReceiver");
  const joined = eventsFor("participant_joined", "bob")[0];
  assert.equal(joined.contentType, "application/webhook+json");
  assert.equal(joined.event.room?.name, "twirp-room");
  assert.match(joined.event.id, /^EV_/);
  assert.ok(Math.abs(Number(joined.event.createdAt) - Date.now() / 1000) < 30, `createdAt ${joined.event.createdAt}`);
  // A room's events arrive in order.
  const order = received.filter((r) => r.event.room?.name === "twirp-room").map((r) => r.event.event);
  assert.ok(order.indexOf("participant_joined") < order.indexOf("participant_left"), order.join(","));
  assert.ok(order.includes("room_started"), order.join(","));
});

step("DeleteRoom removes the room and disconnects its participants", async () => {
  await rooms.createRoom({ name: "doomed" });
  const client = await connectSignal(server.url("/livekit/sfu").replace("http", "ws"), await joinToken("carol", "doomed"));
  await rooms.deleteRoom("doomed");
  assert.ok(!(await rooms.listRooms()).some((r) => r.name === "doomed"));
  await waitFor(() => client.closed, "the deleted room's participant to be disconnected", 5000);
  await assert.rejects(rooms.deleteRoom("doomed"), /does not exist/);
});

step("the auth service creates the SFU room for a full-access user", async () => {
  const openid = await openIdToken(server, alice);
  const r = await server.api("/livekit/jwt/get_token", { method: "POST", body: getTokenBody(roomId, openid, alice, "member-0") });
  assert.equal(r.status, 200, describeResponse(r));
  const alias = lkHash([roomId, SLOT]);
  await waitFor(async () => (await rooms.listRooms([alias])).length === 1, "the auth service's CreateRoom", 10000);
  await rooms.deleteRoom(alias);
});

step("delegated leave: the killed client's leave is sent when the SFU reports it gone", async () => {
  const key = `_${alice.user_id}_${alice.device_id}`;
  const delayMs = 3000;
  const delayId = await scheduleLeave(server, alice, roomId, delayMs, key);
  const openid = await openIdToken(server, alice);
  const delay = { delay_id: delayId, delay_timeout: delayMs, delay_cs_api_url: server.baseUrl };
  const r = await server.api("/livekit/jwt/get_token", {
    method: "POST", body: getTokenBody(roomId, openid, alice, "member-9", delay),
  });
  assert.equal(r.status, 200, describeResponse(r));
  const identity = lkHash([alice.user_id, alice.device_id, "member-9"]);

  // The member's client in its own process, so that it can be killed outright.
  const script = `
    const ws = new WebSocket(process.argv[1]);
    ws.onmessage = () => { console.log("joined"); };
    ws.onerror = (e) => { console.error("ws error", e.message); process.exit(3); };
    setInterval(() => {}, 1000);`;
  const url = `${r.body.url}/rtc?access_token=${encodeURIComponent(r.body.jwt)}&protocol=15`;
  const child = spawn(process.execPath, ["-e", script, url], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (c) => (out += c));
  child.stderr.on("data", (c) => (out += c));
  try {
    await waitFor(() => out.includes("joined"), "the member's client to join the SFU", 10000, { detail: () => out });
    await waitFor(() => server.log.some((l) => l.includes("event=participant_joined") && l.includes(delayId)),
      "the SFU's participant_joined webhook at the auth service", 10000);
    // Twice the delay: only the auth service's restarts keep the membership alive.
    await sleep(2 * delayMs + 500);
    assert.ok((await memberContent(server, alice, roomId, key))?.application, "membership still there while connected");
  } finally {
    child.kill("SIGKILL");
  }
  const killed = Date.now();
  // No leave from a killed client: the SFU reports the dropped connection.
  await waitFor(() => server.log.some((l) => l.includes("event=participant_connection_aborted") && l.includes(delayId)),
    "the SFU's participant_connection_aborted webhook at the auth service", 10000);
  await waitFor(async () => {
    const c = await memberContent(server, alice, roomId, key);
    return c && Object.keys(c).length === 0;
  }, "the delegated leave to be sent", 10000);
  const ms = Date.now() - killed;
  const at = (re) => server.log.findIndex((l) => re.test(l) && l.includes(delayId));
  const aborted = at(/event=participant_connection_aborted/);
  const sent = at(/delegated leave done.*why="leave sent"/);
  assert.ok(aborted >= 0 && sent > aborted, "the leave was sent because of the SFU's webhook");
  test.diagnostic?.(`leave sent ${ms} ms after the client was killed`);
  assert.ok(ms < delayMs, `leave took ${ms} ms: it should follow the SFU's webhook, not the ${delayMs} ms timer`);
});
