// The RTC auth service (/livekit/jwt, what lk-jwt-service does) against a real
// atrium: Element Call's request shapes in, LiveKit tokens out, checked with
// livekit-server-sdk's TokenVerifier; tokens minted by its AccessToken
// checked by our SFU-side parser (`atrium verify-token`); delegated delayed
// leaves driven by signed webhooks (the SFU is simulated: it does not exist
// yet), including across a server restart; and the auth role running alone
// against a separate homeserver.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { AccessToken, TokenVerifier, TrackSource } from "livekit-server-sdk";
import { startServer, describeResponse, withServerLogOnFailure, sleep, waitFor } from "./lib/server.mjs";
import { startServerWithConfig } from "./lib/rtc.mjs";
import {
  API_KEY, API_SECRET, SLOT, lkHash, createRoom, openIdToken, getTokenBody, legacyBody,
  scheduleLeave, memberContent, sendWebhook, verifyTokenCli,
} from "./lib/rtcauth.mjs";

const CONFIG = { rtc_auth: { livekit_key: API_KEY, livekit_secret: API_SECRET, token_lifetime_s: 600 } };
let server, alice, roomId, jwtBase;
const verifier = new TokenVerifier(API_KEY, API_SECRET);
const step = (name, fn) => test(name, () => withServerLogOnFailure(() => server, name, fn));

before(async () => {
  server = await startServerWithConfig(CONFIG);
  jwtBase = server.url("/livekit/jwt");
  alice = await server.registerUser("alice");
  roomId = await createRoom(server, alice.access_token);
});
after(async () => {
  await server?.stop();
});

step("the homeserver advertises its own auth service as the RTC transport", async () => {
  const r = await server.api("/_matrix/client/unstable/org.matrix.msc4143/rtc/transports", { token: alice.access_token });
  assert.equal(r.status, 200, describeResponse(r));
  assert.deepEqual(r.body.rtc_transports, [{ type: "livekit", livekit_service_url: jwtBase }]);
});

step("/get_token (Element Call's shape) returns a token TokenVerifier accepts", async () => {
  const openid = await openIdToken(server, alice);
  const r = await server.api("/livekit/jwt/get_token", {
    method: "POST", body: getTokenBody(roomId, openid, alice, "member-1"),
  });
  assert.equal(r.status, 200, describeResponse(r));
  assert.equal(r.headers.get("access-control-allow-origin"), "*");
  assert.equal(r.body.url, `ws://127.0.0.1:${server.port}/livekit/sfu`);
  const claims = await verifier.verify(r.body.jwt);
  assert.equal(claims.iss, API_KEY);
  assert.equal(claims.sub, lkHash([alice.user_id, alice.device_id, "member-1"]));
  assert.equal(claims.video.room, lkHash([roomId, SLOT]));
  assert.equal(claims.video.roomJoin, true);
  assert.ok(!claims.video.roomCreate, "roomCreate must not be granted");
  assert.equal(claims.video.canPublish, true);
  assert.equal(claims.video.canSubscribe, true);
  assert.equal(claims.video.canUpdateOwnMetadata, true);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Math.abs(claims.nbf - now) <= 5, `nbf ${claims.nbf} ~ now ${now}`);
  assert.equal(claims.exp - claims.nbf, 600);
});

step("/sfu/get (legacy shape) uses {user}:{device} and the m.call#ROOM slot", async () => {
  const openid = await openIdToken(server, alice);
  const r = await server.api("/livekit/jwt/sfu/get", { method: "POST", body: legacyBody(roomId, openid, alice) });
  assert.equal(r.status, 200, describeResponse(r));
  const claims = await verifier.verify(r.body.jwt);
  assert.equal(claims.sub, `${alice.user_id}:${alice.device_id}`);
  assert.equal(claims.video.room, lkHash([roomId, SLOT]));
});

step("tokens minted by livekit-server-sdk's AccessToken verify in our SFU-side parser", async () => {
  const at = new AccessToken(API_KEY, API_SECRET, { identity: "sdk-user", name: "SDK User", ttl: "10m" });
  at.addGrant({ room: "sdk-room", roomJoin: true, canPublish: false, canPublishSources: [TrackSource.MICROPHONE], hidden: true });
  const token = await at.toJwt();
  const ok = await verifyTokenCli(token);
  assert.equal(ok.code, 0, ok.stderr);
  const claims = JSON.parse(ok.stdout);
  assert.equal(claims.iss, API_KEY);
  assert.equal(claims.sub, "sdk-user");
  assert.equal(claims.name, "SDK User");
  assert.deepEqual(claims.video, {
    room: "sdk-room", roomJoin: true, hidden: true, canPublish: false, canPublishSources: ["microphone"],
  });
  const wrongSecret = await verifyTokenCli(token, API_KEY, "another-secret-another-secret-another-secret");
  assert.equal(wrongSecret.code, 1);
  assert.match(wrongSecret.stderr, /bad signature/);
  const tampered = token.slice(0, -2) + (token.endsWith("AA") ? "BB" : "AA");
  assert.equal((await verifyTokenCli(tampered)).code, 1);
  const expired = new AccessToken(API_KEY, API_SECRET, { identity: "x", ttl: -3600 });
  expired.addGrant({ room: "r", roomJoin: true });
  assert.equal((await verifyTokenCli(await expired.toJwt())).code, 1);
});

step("delegated leave: restarted while connected, sent when the SFU reports the participant left", async () => {
  const key = `_${alice.user_id}_${alice.device_id}`;
  const delayMs = 3000;
  const delayId = await scheduleLeave(server, alice, roomId, delayMs, key);
  const openid = await openIdToken(server, alice);
  const delay = { delay_id: delayId, delay_timeout: delayMs, delay_cs_api_url: server.baseUrl };
  const r = await server.api("/livekit/jwt/get_token", {
    method: "POST", body: getTokenBody(roomId, openid, alice, "member-2", delay),
  });
  assert.equal(r.status, 200, describeResponse(r));
  const room = lkHash([roomId, SLOT]);
  const identity = lkHash([alice.user_id, alice.device_id, "member-2"]);
  const joined = await sendWebhook(jwtBase, "participant_joined", room, identity);
  assert.equal(joined.status, 200, describeResponse(joined));
  // Twice the delay: only the service's restarts keep the membership alive.
  await sleep(2 * delayMs + 500);
  assert.ok((await memberContent(server, alice, roomId, key))?.application, "membership still there");
  const started = Date.now();
  const left = await sendWebhook(jwtBase, "participant_left", room, identity);
  assert.equal(left.status, 200, describeResponse(left));
  await waitFor(async () => {
    const c = await memberContent(server, alice, roomId, key);
    return c && Object.keys(c).length === 0;
  }, "the delegated leave to be sent", 5000);
  const ms = Date.now() - started;
  test.diagnostic?.(`leave sent ${ms} ms after the webhook`);
  assert.ok(ms < 2000, `leave took ${ms} ms (the delay was ${delayMs} ms and restarted)`);
});

step("a badly signed webhook is refused and does not end the job", async () => {
  const r = await sendWebhook(jwtBase, "participant_left", "x", "y", { secret: "wrong-secret-wrong-secret-wrong-secret-xx" });
  assert.equal(r.status, 401, describeResponse(r));
  assert.equal(r.body.errcode, "M_UNAUTHORIZED");
});

step("delegated leave jobs survive a server restart", async () => {
  const key = `_${alice.user_id}_${alice.device_id}_restart`;
  const delayMs = 8000;
  const delayId = await scheduleLeave(server, alice, roomId, delayMs, key);
  const openid = await openIdToken(server, alice);
  const delay = { delay_id: delayId, delay_timeout: delayMs, delay_cs_api_url: server.baseUrl };
  const r = await server.api("/livekit/jwt/sfu/get", { method: "POST", body: legacyBody(roomId, openid, alice, delay) });
  assert.equal(r.status, 200, describeResponse(r));
  const room = lkHash([roomId, SLOT]);
  const identity = `${alice.user_id}:${alice.device_id}`;
  assert.equal((await sendWebhook(jwtBase, "participant_joined", room, identity)).status, 200);
  await server.restart();
  await sleep(delayMs + 3000);
  assert.ok((await memberContent(server, alice, roomId, key))?.application, "restarts resumed after the restart");
  assert.equal((await sendWebhook(jwtBase, "participant_left", room, identity)).status, 200);
  await waitFor(async () => {
    const c = await memberContent(server, alice, roomId, key);
    return c && Object.keys(c).length === 0;
  }, "the delegated leave to be sent after the restart", 5000);
});

test("the auth role alone, against a separate homeserver over HTTP", async () => {
  const hs = await startServer({ extraArgs: ["--roles", "homeserver"] });
  let auth;
  try {
    auth = await startServerWithConfig(
      { rtc_auth: { ...CONFIG.rtc_auth, homeserver_urls: { localhost: hs.baseUrl } } },
      { extraArgs: ["--roles", "auth"] },
    );
    const bob = await hs.registerUser("bob");
    const bobRoom = await createRoom(hs, bob.access_token);
    const openid = await openIdToken(hs, bob);
    // Mounted at /livekit/jwt and at the root (drop-in for lk-jwt-service).
    for (const path of ["/livekit/jwt/get_token", "/get_token"]) {
      const r = await auth.api(path, { method: "POST", body: getTokenBody(bobRoom, openid, bob, "m") });
      assert.equal(r.status, 200, `${path}: ${describeResponse(r)}`);
      const claims = await verifier.verify(r.body.jwt);
      assert.equal(claims.sub, lkHash([bob.user_id, bob.device_id, "m"]));
    }
    // The remote delayed-event calls go over HTTP to the homeserver.
    const key = `_${bob.user_id}_${bob.device_id}`;
    const delayId = await scheduleLeave(hs, bob, bobRoom, 3000, key);
    const delay = { delay_id: delayId, delay_timeout: 3000, delay_cs_api_url: hs.baseUrl };
    const d = await auth.api("/livekit/jwt/delegate_delayed_leave", {
      method: "POST", body: getTokenBody(bobRoom, await openIdToken(hs, bob), bob, "m", delay),
    });
    assert.equal(d.status, 200, describeResponse(d));
    assert.deepEqual(d.body, {});
    await sleep(6500);
    assert.ok((await memberContent(hs, bob, bobRoom, key))?.application, "restarted over HTTP");
    const left = await sendWebhook(auth.url("/livekit/jwt"), "participant_connection_aborted",
      lkHash([bobRoom, SLOT]), lkHash([bob.user_id, bob.device_id, "m"]));
    assert.equal(left.status, 200);
    await waitFor(async () => {
      const c = await memberContent(hs, bob, bobRoom, key);
      return c && Object.keys(c).length === 0;
    }, "the leave sent over HTTP", 5000);
    const health = await auth.api("/health");
    assert.equal(health.status, 200);
  } catch (e) {
    process.stderr.write(`--- homeserver log ---\n${hs.logText()}\n--- auth log ---\n${auth?.logText()}\n`);
    throw e;
  } finally {
    await auth?.stop();
    await hs.stop();
  }
});
