// The SFU's control plane against a real atrium, with LiveKit's own clients:
//   - livekit-server-sdk's RoomServiceClient: CreateRoom's settings (metadata,
//     max_participants, empty and departure timeouts, with room_finished
//     webhooks when a room really closes), the max_participants refusal,
//     UpdateRoomMetadata, UpdateParticipant with a permission, and
//     UpdateSubscriptions;
//   - raw signal clients (node WebSockets): refresh tokens (checked with the
//     SDK's TokenVerifier), connection quality, a protojson client that sends
//     text frames and is answered in JSON text frames;
//   - livekit-client in headless Chromium (two pages: a publisher and a
//     subscriber with autoSubscribe off): RoomMetadataChanged,
//     ParticipantPermissionsChanged and the unpublished tracks when publish is
//     revoked, ConnectionQualityChanged, a refreshed token, and subscriptions
//     driven by UpdateSubscriptions.
// The token refresh and quality intervals are shortened by config (sfu:).
// The browser part runs only inside run.sh's private network namespace.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";

import { AccessToken, RoomServiceClient, TokenVerifier } from "livekit-server-sdk";
import { SignalRequest, SignalResponse } from "@livekit/protocol";

import { sleep, waitFor, withServerLogOnFailure } from "./lib/server.mjs";
import { startWebhookReceiver } from "./lib/webhooks.mjs";
import { startServerWithConfig } from "./lib/rtc.mjs";
import { API_KEY, API_SECRET } from "./lib/rtcauth.mjs";
import { browserUnavailableReason, launchBrowser } from "./lib/browser.mjs";
import { serveLivekitPage } from "./lib/livekit_page.mjs";

const REFRESH_MS = 1500;
const QUALITY_MS = 1000;

let server, hooks, rooms, sfuWs;
let received = []; // webhook events as WebhookReceiver decoded them (lib/webhooks.mjs)
let refused = []; // bodies WebhookReceiver rejected
const step = (name, fn, opts = {}) => test(name, opts, () => withServerLogOnFailure(() => server, name, fn));

const hooksFor = (name, room) => received.filter((r) => r.event.event === name && r.event.room?.name === room);

async function joinToken(identity, room, grant = {}) {
  const at = new AccessToken(API_KEY, API_SECRET, { identity, name: `${identity} name`, ttl: "10m" });
  at.addGrant({ room, roomJoin: true, ...grant });
  return at.toJwt();
}

/**
 * A raw signal client. Binary frames are decoded with @livekit/protocol;
 * text frames (JSON mode) are kept in `texts` as parsed JSON.
 */
function connectSignal(token, query = "") {
  const ws = new WebSocket(`${sfuWs}/rtc?access_token=${encodeURIComponent(token)}&protocol=15${query}`);
  ws.binaryType = "arraybuffer";
  const c = { ws, messages: [], texts: [], closed: false };
  ws.addEventListener("close", () => (c.closed = true));
  c.of = (kind) => c.messages.filter((m) => m.message.case === kind).map((m) => m.message.value);
  c.wait = (kind, what, pred = () => true, ms = 10000) =>
    waitFor(() => c.of(kind).find(pred), what, ms, { detail: () => c.messages.map((m) => m.message.case).join(",") });
  c.send = (req) => ws.send(new SignalRequest(req).toBinary());
  c.close = () => {
    try {
      ws.close(1000);
    } catch {}
  };
  return new Promise((resolve, reject) => {
    ws.addEventListener("error", () => reject(new Error("signal WebSocket error")));
    ws.addEventListener("message", (m) => {
      if (typeof m.data === "string") {
        c.texts.push(JSON.parse(m.data));
        return;
      }
      const msg = SignalResponse.fromBinary(new Uint8Array(m.data));
      c.messages.push(msg);
      if (msg.message.case === "join") resolve(c);
    });
  });
}

/** A WebSocket handshake that reports the HTTP status (101 = upgraded, then closed). */
function handshake(token) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.baseUrl}/livekit/sfu/rtc?access_token=${encodeURIComponent(token)}`, {
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": crypto.randomBytes(16).toString("base64"),
      },
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode, text: "" });
    });
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode, text }));
    });
    req.on("error", reject);
    req.setTimeout(10000, () => req.destroy(new Error("handshake timeout")));
    req.end();
  });
}

const listed = async (name) => (await rooms.listRooms([name])).length === 1;

before(async () => {
  hooks = await startWebhookReceiver(API_KEY, API_SECRET);
  ({ received, refused } = hooks);
  server = await startServerWithConfig({
    rtc_auth: { livekit_key: API_KEY, livekit_secret: API_SECRET },
    sfu: {
      webhook_urls: [`${hooks.url}hook`],
      token_refresh_interval_ms: REFRESH_MS,
      connection_quality_interval_ms: QUALITY_MS,
    },
  });
  sfuWs = server.url("/livekit/sfu").replace(/^http/, "ws");
  rooms = new RoomServiceClient(server.url("/livekit/sfu"), API_KEY, API_SECRET, { failover: false });
});
after(async () => {
  await server?.stop();
  hooks?.server.close();
});

describe("RoomService and signalling without media", () => {
  step("CreateRoom's metadata, limits and timeouts are kept and sent in the JoinResponse", async () => {
    const created = await rooms.createRoom({
      name: "settings", metadata: '{"topic":"standup"}', maxParticipants: 5, emptyTimeout: 120, departureTimeout: 30,
    });
    assert.equal(created.metadata, '{"topic":"standup"}');
    assert.equal(created.maxParticipants, 5);
    assert.equal(created.emptyTimeout, 120);
    assert.equal(created.departureTimeout, 30);
    // Again, on the existing room: what is given replaces, the rest stays.
    const again = await rooms.createRoom({ name: "settings", maxParticipants: 6 });
    assert.equal(again.sid, created.sid);
    assert.equal(again.maxParticipants, 6);
    assert.equal(again.emptyTimeout, 120);
    assert.equal(again.metadata, '{"topic":"standup"}');
    const c = await connectSignal(await joinToken("ann", "settings"));
    const join = c.of("join")[0];
    assert.equal(join.room.metadata, '{"topic":"standup"}');
    assert.equal(join.room.maxParticipants, 6);
    assert.equal(join.room.departureTimeout, 30);
    assert.equal(join.room.sid, created.sid);
    c.close();
    // Auto-created rooms get LiveKit's defaults.
    const d = await connectSignal(await joinToken("ann", "defaults"));
    const room = d.of("join")[0].room;
    assert.equal(room.emptyTimeout, 300);
    assert.equal(room.departureTimeout, 20);
    assert.equal(room.maxParticipants, 0);
    d.close();
  });

  step("max_participants: a join beyond it is refused before the upgrade, as LiveKit does", async () => {
    await rooms.createRoom({ name: "small", maxParticipants: 1 });
    const first = await connectSignal(await joinToken("first", "small"));
    const h = await handshake(await joinToken("second", "small"));
    assert.equal(h.status, 500, `HTTP ${h.status} ${h.text}`);
    assert.match(h.text, /exceeded its max participants/);
    // The same identity again replaces its session: allowed.
    const again = await connectSignal(await joinToken("first", "small"));
    await waitFor(() => first.closed, "the replaced session to close", 5000);
    again.close();
    // Once it left, there is room again.
    await waitFor(async () => (await rooms.listParticipants("small")).length === 0, "the room to empty", 5000);
    const third = await connectSignal(await joinToken("third", "small"));
    assert.equal(third.of("join")[0].participant.identity, "third");
    third.close();
  });

  step("empty_timeout: a room nobody joins closes after it, with room_started and room_finished", async () => {
    const t0 = Date.now();
    const created = await rooms.createRoom({ name: "nobody-came", emptyTimeout: 2 });
    assert.ok(await listed("nobody-came"));
    await waitFor(() => hooksFor("room_started", "nobody-came").length === 1, "room_started", 5000);
    await waitFor(async () => !(await listed("nobody-came")), "the empty room to close", 8000, { intervalMs: 200 });
    const ms = Date.now() - t0;
    assert.ok(ms >= 1500, `closed after ${ms} ms, before its empty_timeout`);
    await waitFor(() => hooksFor("room_finished", "nobody-came").length === 1, "room_finished", 5000);
    assert.equal(hooksFor("room_finished", "nobody-came")[0].event.room.sid, created.sid);
  });

  step("departure_timeout: the room stays after the last leave, then closes (room_finished once)", async () => {
    await rooms.createRoom({ name: "brief", departureTimeout: 2 });
    const c = await connectSignal(await joinToken("bea", "brief"));
    c.send({ message: { case: "leave", value: { reason: 1 } } });
    await waitFor(() => hooksFor("participant_left", "brief").length === 1, "participant_left", 5000);
    const leftAt = Date.now();
    assert.ok(await listed("brief"), "the room is gone at once after the last leave");
    assert.equal(hooksFor("room_finished", "brief").length, 0, "room_finished before the departure timeout");
    // A rejoin within the timeout keeps the same room.
    const sid = (await rooms.listRooms(["brief"]))[0].sid;
    const back = await connectSignal(await joinToken("bea", "brief"));
    assert.equal(back.of("join")[0].room.sid, sid);
    back.close();
    await waitFor(async () => !(await listed("brief")), "the room to close after its departure timeout", 8000, { intervalMs: 200 });
    assert.ok(Date.now() - leftAt >= 1500);
    await waitFor(() => hooksFor("room_finished", "brief").length === 1, "room_finished", 5000);
    await sleep(500);
    assert.equal(hooksFor("room_finished", "brief").length, 1);
    const order = received.filter((r) => r.event.room?.name === "brief").map((r) => r.event.event);
    assert.equal(order.at(-1), "room_finished", order.join(","));
  });

  step("refresh tokens: one at join and then at the interval, signed with the same key, same grants", async () => {
    const c = await connectSignal(await joinToken("rita", "refresh", { canPublish: false }));
    const first = await c.wait("refreshToken", "the first refresh token");
    const verifier = new TokenVerifier(API_KEY, API_SECRET);
    const claims = await verifier.verify(first);
    assert.equal(claims.sub, "rita");
    assert.equal(claims.name, "rita name");
    assert.equal(claims.video.room, "refresh");
    assert.equal(claims.video.roomJoin, true);
    assert.equal(claims.video.canPublish, false);
    assert.ok(claims.exp - Date.now() / 1000 > 500, `exp ${claims.exp}`);
    await waitFor(() => c.of("refreshToken").length >= 2, "a second refresh token", REFRESH_MS * 4);
    c.close();
  });

  step("UpdateParticipant's permission: the participant and the others hear it, with a new token", async () => {
    const pat = await connectSignal(await joinToken("pat", "perm"));
    const olga = await connectSignal(await joinToken("olga", "perm"));
    assert.equal(pat.of("join")[0].participant.permission.canPublish, true);
    const tokens = pat.of("refreshToken").length;
    const info = await rooms.updateParticipant("perm", "pat", {
      permission: { canPublish: false, canSubscribe: true, canPublishData: true },
    });
    assert.equal(info.permission.canPublish, false);
    assert.equal(info.permission.canPublishData, true);
    const self = (u) => u.participants.some((p) => p.identity === "pat" && p.permission && !p.permission.canPublish);
    await pat.wait("update", "pat's own permission update", self);
    await olga.wait("update", "olga hears pat's permission", self);
    await waitFor(() => pat.of("refreshToken").length > tokens, "a token after the permission change", 5000);
    const claims = await new TokenVerifier(API_KEY, API_SECRET).verify(pat.of("refreshToken").at(-1));
    assert.equal(claims.video.canPublish, false);
    assert.equal(claims.video.canPublishData, true);
    // Publishing is refused now.
    pat.send({ message: { case: "addTrack", value: { cid: "mic", type: 0, source: 2, name: "mic" } } });
    await pat.wait("requestResponse", "the refused add_track", (r) => r.reason === 2 /* NOT_ALLOWED */);
    await assert.rejects(rooms.updateParticipant("perm", "nobody", { permission: { canPublish: true } }), /not found/);
    pat.close();
    olga.close();
  });

  step("UpdateRoomMetadata: every participant gets a RoomUpdate", async () => {
    const a = await connectSignal(await joinToken("amy", "meta"));
    const b = await connectSignal(await joinToken("ben", "meta"));
    const room = await rooms.updateRoomMetadata("meta", "v2");
    assert.equal(room.metadata, "v2");
    for (const c of [a, b]) await c.wait("roomUpdate", "a room update", (u) => u.room?.metadata === "v2");
    assert.equal((await rooms.listRooms(["meta"]))[0].metadata, "v2");
    await assert.rejects(rooms.updateRoomMetadata("no-such-room", "x"), /does not exist|not found/);
    a.close();
    b.close();
  });

  step("connection quality: each participant hears of itself and the others every interval", async () => {
    const a = await connectSignal(await joinToken("qa", "quality"));
    const b = await connectSignal(await joinToken("qb", "quality"));
    const aSid = a.of("join")[0].participant.sid;
    const bSid = b.of("join")[0].participant.sid;
    const both = (u) => [aSid, bSid].every((sid) => u.updates.some((q) => q.participantSid === sid));
    const update = await a.wait("connectionQuality", "a connection quality update naming both", both, QUALITY_MS * 5);
    for (const q of update.updates) {
      assert.equal(q.quality, 2 /* EXCELLENT: no media, nothing lost */, JSON.stringify(q));
      assert.ok(q.score > 4, JSON.stringify(q));
    }
    await b.wait("connectionQuality", "b's update", both, QUALITY_MS * 5);
    a.close();
    b.close();
  });

  step("a JSON client (text frames) is answered in JSON text frames; bad JSON is refused cleanly", async () => {
    const c = await connectSignal(await joinToken("jay", "json"));
    c.ws.send(JSON.stringify({ pingReq: { timestamp: "42", rtt: "0" } }));
    const pong = await waitFor(() => c.texts.find((t) => t.pongResp), "a JSON pong", 5000, { detail: () => JSON.stringify(c.texts) });
    assert.equal(pong.pongResp.lastPingTimestamp, "42");
    // From now on everything comes as JSON: a refresh token, a quality update.
    await waitFor(() => c.texts.find((t) => t.refreshToken), "a JSON refresh token", REFRESH_MS * 4);
    await waitFor(() => c.texts.find((t) => t.connectionQuality), "a JSON quality update", QUALITY_MS * 5);
    const binaryBefore = c.messages.length;
    // Junk JSON: a JSON refusal, the session stays.
    c.ws.send("{not json");
    const refusal = await waitFor(() => c.texts.find((t) => t.requestResponse), "a JSON refusal", 5000);
    assert.equal(refusal.requestResponse.reason, "INVALID_REQUEST");
    c.ws.send(JSON.stringify({ pingReq: { timestamp: "43" } }));
    await waitFor(() => c.texts.find((t) => t.pongResp?.lastPingTimestamp === "43"), "a pong after junk", 5000);
    assert.equal(c.closed, false);
    // A binary frame switches back to protobuf.
    c.send({ message: { case: "pingReq", value: { timestamp: 44n, rtt: 0n } } });
    await waitFor(() => c.messages.slice(binaryBefore).some((m) => m.message.case === "pongResp" && m.message.value.lastPingTimestamp === 44n),
      "a binary pong", 5000);
    // A JSON leave is honoured.
    c.ws.send(JSON.stringify({ leave: { reason: "CLIENT_INITIATED" } }));
    await waitFor(async () => (await rooms.listParticipants("json")).length === 0, "the JSON client's leave", 5000);
    c.close();
  });

  step("every webhook verified", async () => {
    assert.deepEqual(refused, []);
  });
});

const skip = browserUnavailableReason();

describe("livekit-client in Chromium", { skip: skip || false, timeout: 300000 }, () => {
  const ROOM = "browser-control";
  let browser, site, pub, sub, pubIdentity;
  const detail = () => `\n--- browser console ---\n${browser?.consoleTail(30)}\n--- server log ---\n${server.logText(60)}`;
  const bstep = (name, fn) =>
    step(name, async () => {
      try {
        await fn();
      } catch (e) {
        e.message += detail();
        throw e;
      }
    });
  const eventsOf = (page) => page.evaluate(() => window.CTL.events);
  const waitEvent = async (page, what, pred, ms = 15000) => {
    let last = [];
    return waitFor(async () => (last = await eventsOf(page)).find(pred), what, ms, {
      intervalMs: 200, detail: () => JSON.stringify(last.slice(-20)),
    });
  };

  before(async () => {
    site = await serveLivekitPage();
    browser = await launchBrowser("sfu-control", { extraArgs: ["--autoplay-policy=no-user-gesture-required"] });
  });
  after(async () => {
    await browser?.close();
    await site?.close();
  });

  /** Joins `page` with its own livekit-client Room (window.CTL records events and tokens). */
  const joinPage = (page, token, { publish, autoSubscribe }) =>
    page.evaluate(async ([u, t, publish, autoSubscribe]) => {
      const L = LivekitClient;
      const E = L.RoomEvent;
      const CTL = (window.CTL = { events: [], tokens: [] });
      const log = (type, extra) => CTL.events.push({ type, t: Date.now(), ...extra });
      const room = new L.Room({ adaptiveStream: false, dynacast: false,
        publishDefaults: { simulcast: false, videoCodec: "vp8" },
        videoCaptureDefaults: { resolution: { width: 320, height: 240, frameRate: 15 } } });
      CTL.room = room;
      room.on(E.RoomMetadataChanged, (m) => log("roomMetadata", { metadata: m }));
      room.on(E.ConnectionQualityChanged, (q, p) => log("quality", { quality: q, identity: p.identity, local: p === room.localParticipant }));
      room.on(E.ParticipantPermissionsChanged, (prev, p) =>
        log("permissions", { identity: p.identity, canPublish: p.permissions?.canPublish, canPublishData: p.permissions?.canPublishData }));
      room.on(E.LocalTrackUnpublished, (pb) => log("localUnpublished", { kind: pb.kind, source: pb.source }));
      room.on(E.TrackSubscribed, (track, pb, p) => log("subscribed", { kind: track.kind, identity: p.identity, sid: pb.trackSid }));
      room.on(E.TrackUnsubscribed, (track, pb, p) => log("unsubscribed", { kind: track.kind, identity: p.identity, sid: pb.trackSid }));
      room.on(E.TrackUnpublished, (pb, p) => log("unpublished", { kind: pb.kind, identity: p.identity }));
      room.on(E.Disconnected, (reason) => log("disconnected", { reason }));
      // The engine keeps the token it reconnects with; a refresh replaces it.
      setInterval(() => {
        const token = room.engine?.token;
        if (token && token !== CTL.tokens.at(-1)) CTL.tokens.push(token);
      }, 100);
      await room.connect(u, t, { autoSubscribe });
      if (publish) await room.localParticipant.enableCameraAndMicrophone();
      return room.localParticipant.identity;
    }, [server.url("/livekit/sfu").replace(/^http/, "ws"), token, publish, autoSubscribe]);

  bstep("a publisher and a subscriber (autoSubscribe off) join; the publisher sees its quality", async () => {
    await rooms.createRoom({ name: ROOM, metadata: "v1" });
    pub = await browser.newPage();
    await pub.goto(site.url);
    pubIdentity = await joinPage(pub, await joinToken("browser-pub", ROOM, { canPublish: true, canSubscribe: true, canPublishData: true }),
      { publish: true, autoSubscribe: true });
    assert.equal(pubIdentity, "browser-pub");
    sub = await browser.newPage();
    await sub.goto(site.url);
    await joinPage(sub, await joinToken("browser-sub", ROOM), { publish: false, autoSubscribe: false });
    assert.equal(await sub.evaluate(() => window.CTL.room.metadata), "v1");
    // The publisher's media flows: it rates itself from the SFU's updates.
    await waitEvent(pub, "the publisher's own connection quality", (e) => e.type === "quality" && e.local && e.quality !== "unknown", 20000);
    const q = (await eventsOf(pub)).filter((e) => e.type === "quality" && e.local).at(-1);
    assert.ok(["excellent", "good"].includes(q.quality), `own quality ${q.quality} on loopback`);
  });

  bstep("the refreshed token reaches livekit-client", async () => {
    // The join token first, then refreshed ones replacing it in the engine.
    const tokens = await waitFor(async () => {
      const t = await pub.evaluate(() => window.CTL.tokens);
      return t.length >= 3 && t;
    }, "two refreshed tokens in livekit-client", REFRESH_MS * 5);
    const claims = await new TokenVerifier(API_KEY, API_SECRET).verify(tokens.at(-1));
    assert.equal(claims.sub, "browser-pub");
    assert.equal(claims.video.room, ROOM);
    assert.equal(claims.video.canPublish, true);
  });

  bstep("UpdateRoomMetadata reaches both clients as RoomMetadataChanged", async () => {
    await rooms.updateRoomMetadata(ROOM, "v2");
    for (const page of [pub, sub]) await waitEvent(page, "RoomMetadataChanged v2", (e) => e.type === "roomMetadata" && e.metadata === "v2");
    assert.equal(await sub.evaluate(() => window.CTL.room.metadata), "v2");
  });

  bstep("UpdateSubscriptions subscribes and unsubscribes the subscriber", async () => {
    const video = await waitFor(async () => (await rooms.getParticipant(ROOM, "browser-pub")).tracks.find((t) => t.type === 1),
      "the publisher's camera track", 15000);
    // autoSubscribe off: the subscriber holds no track of it.
    await waitFor(async () => {
      const ev = (await eventsOf(sub)).filter((e) => e.sid === video.sid);
      return ev.length === 0 || ev.at(-1).type === "unsubscribed";
    }, "no camera subscription before UpdateSubscriptions", 10000);
    const early = (await eventsOf(sub)).filter((e) => e.sid === video.sid).map((e) => e.type);
    console.log(`subscriber's camera events before UpdateSubscriptions: [${early.join(", ")}]`);
    const mark = Date.now();
    await rooms.updateSubscriptions(ROOM, "browser-sub", [video.sid], true);
    await waitEvent(sub, "TrackSubscribed (camera)", (e) => e.type === "subscribed" && e.sid === video.sid && e.t >= mark);
    const mark2 = Date.now();
    await rooms.updateSubscriptions(ROOM, "browser-sub", [video.sid], false);
    await waitEvent(sub, "TrackUnsubscribed (camera)", (e) => e.type === "unsubscribed" && e.sid === video.sid && e.t >= mark2);
  });

  bstep("granting canSubscribe to a participant that joined without it: it receives the tracks", async () => {
    const late = await browser.newPage();
    await late.goto(site.url);
    await joinPage(late, await joinToken("browser-late", ROOM, { canPublish: false, canSubscribe: false, canPublishData: true }),
      { publish: false, autoSubscribe: true });
    await sleep(1000);
    assert.equal((await eventsOf(late)).filter((e) => e.type === "subscribed").length, 0, "nothing subscribed without canSubscribe");
    await rooms.updateParticipant(ROOM, "browser-late", {
      permission: { canPublish: false, canSubscribe: true, canPublishData: true },
    });
    await waitEvent(late, "TrackSubscribed (camera) after the grant", (e) => e.type === "subscribed" && e.kind === "video" && e.identity === "browser-pub");
    const frames = await waitFor(async () => {
      const n = await late.evaluate(async () => {
        for (const p of window.CTL.room.remoteParticipants.values())
          for (const pub of p.trackPublications.values()) {
            if (pub.kind !== "video" || !pub.track?.receiver) continue;
            let decoded = 0;
            (await pub.track.receiver.getStats()).forEach((r) => { if (r.type === "inbound-rtp") decoded = r.framesDecoded ?? 0; });
            return decoded;
          }
        return 0;
      });
      return n > 0 && n;
    }, "the late subscriber decodes the camera", 20000);
    assert.ok(frames > 0);
    await late.evaluate(() => window.CTL.room.disconnect());
    await late.close();
  });

  bstep("revoking canPublish: ParticipantPermissionsChanged, its tracks unpublished, a new token", async () => {
    const before = (await pub.evaluate(() => window.CTL.tokens)).length;
    await rooms.updateParticipant(ROOM, "browser-pub", {
      permission: { canPublish: false, canSubscribe: true, canPublishData: true },
    });
    await waitEvent(pub, "ParticipantPermissionsChanged (canPublish false)", (e) => e.type === "permissions" && e.canPublish === false);
    await waitEvent(pub, "its camera unpublished", (e) => e.type === "localUnpublished" && e.kind === "video");
    await waitEvent(pub, "its microphone unpublished", (e) => e.type === "localUnpublished" && e.kind === "audio");
    await waitEvent(sub, "the subscriber sees the tracks go", (e) => e.type === "unpublished" && e.identity === "browser-pub");
    await waitFor(async () => (await rooms.getParticipant(ROOM, "browser-pub")).tracks.length === 0, "no tracks left", 10000);
    // The next tokens (the one sent for the change, the periodic ones) say so.
    const verifier = new TokenVerifier(API_KEY, API_SECRET);
    await waitFor(async () => {
      const t = await pub.evaluate(() => window.CTL.tokens);
      return t.length > before && (await verifier.verify(t.at(-1))).video.canPublish === false;
    }, "a token without canPublish after the change", 5000);
    assert.equal(await pub.evaluate(() => window.CTL.room.localParticipant.permissions.canPublish), false);
    // Still connected.
    assert.equal(await pub.evaluate(() => window.CTL.room.state), "connected");
  });
});
