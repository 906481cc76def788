// The RTC auth service refuses what it must, with the documented status and
// errcode: not joined (403, MSC4195), expired / foreign / mismatched OpenID
// (401), unknown fields (400 M_NOT_JSON, as lk-jwt-service), missing fields
// (400 M_BAD_JSON), missing body; CORS on every reply; /healthz; a remote
// user without full access gets a subscribe-only token and no delegation
// (the 400 M_BAD_JSON Element Call retries on). Raw fetch, fake remote
// homeservers on loopback.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { TokenVerifier } from "livekit-server-sdk";
import { describeResponse, withServerLogOnFailure, sleep, freePort } from "./lib/server.mjs";
import { startServerWithConfig } from "./lib/rtc.mjs";
import { API_KEY, API_SECRET, createRoom, openIdToken, getTokenBody, legacyBody } from "./lib/rtcauth.mjs";

let server, alice, bob, roomId, fake, fakePort;
const post = (path, body, opts = {}) => server.api("/livekit/jwt" + path, { method: "POST", body, ...opts });
const step = (name, fn) => test(name, () => withServerLogOnFailure(() => server, name, fn));
const expectError = (r, status, errcode) => {
  assert.equal(r.status, status, describeResponse(r));
  assert.equal(r.body?.errcode, errcode, describeResponse(r));
  assert.equal(r.headers.get("access-control-allow-origin"), "*", "CORS on errors");
};

before(async () => {
  // Fake homeservers: "liar.example" vouches for a localhost user; "remote.example" for its own.
  fake = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    res.setHeader("Content-Type", "application/json");
    if (url.pathname === "/_matrix/federation/v1/openid/userinfo") {
      const token = url.searchParams.get("access_token");
      const sub = { liar: "@alice:localhost", remote: "@carol:remote.example" }[token];
      if (sub) return res.end(JSON.stringify({ sub }));
      res.statusCode = 401;
      return res.end(JSON.stringify({ errcode: "M_UNKNOWN_TOKEN", error: "nope" }));
    }
    res.statusCode = 404;
    res.end("{}");
  });
  fakePort = await freePort();
  await new Promise((r) => fake.listen(fakePort, "127.0.0.1", r));
  const fakeUrl = `http://127.0.0.1:${fakePort}`;
  server = await startServerWithConfig({
    openid_token_lifetime_ms: 1000,
    rtc_auth: {
      livekit_key: API_KEY,
      livekit_secret: API_SECRET,
      homeserver_urls: { "liar.example": fakeUrl, "remote.example": fakeUrl, "down.example": "http://127.0.0.1:1" },
    },
  });
  alice = await server.registerUser("alice");
  bob = await server.registerUser("bob");
  roomId = await createRoom(server, alice.access_token);
});
after(async () => {
  await server?.stop();
  await new Promise((r) => fake?.close(r));
});

step("a user not joined to the room gets 403 M_FORBIDDEN", async () => {
  expectError(await post("/get_token", getTokenBody(roomId, await openIdToken(server, bob), bob, "m")), 403, "M_FORBIDDEN");
  expectError(await post("/sfu/get", legacyBody(roomId, await openIdToken(server, bob), bob)), 403, "M_FORBIDDEN");
  expectError(await post("/get_token", getTokenBody("!nosuchroom:localhost", await openIdToken(server, alice), alice, "m")),
    403, "M_FORBIDDEN");
});

step("an expired OpenID token gets 401 M_UNAUTHORIZED", async () => {
  const openid = await openIdToken(server, alice);
  await sleep(1500);
  expectError(await post("/get_token", getTokenBody(roomId, openid, alice, "m")), 401, "M_UNAUTHORIZED");
  expectError(await post("/get_token", getTokenBody(roomId, { ...openid, access_token: "garbage" }, alice, "m")),
    401, "M_UNAUTHORIZED");
});

step("a token for another server gets 401 M_UNAUTHORIZED", async () => {
  const openid = await openIdToken(server, alice);
  // Our token, but presented as another server's: that server does not know it.
  expectError(await post("/get_token", getTokenBody(roomId, { ...openid, matrix_server_name: "remote.example" }, alice, "m")),
    401, "M_UNAUTHORIZED");
  // A server that vouches for a user of another server.
  const liar = { access_token: "liar", token_type: "Bearer", matrix_server_name: "liar.example", expires_in: 3600 };
  expectError(await post("/get_token", getTokenBody(roomId, liar, alice, "m")), 401, "M_UNAUTHORIZED");
  // A server that cannot be reached.
  expectError(await post("/get_token", getTokenBody(roomId, { ...openid, matrix_server_name: "down.example" }, alice, "m")),
    401, "M_UNAUTHORIZED");
});

step("claimed_user_id different from the OpenID subject gets 401 M_UNAUTHORIZED", async () => {
  const body = getTokenBody(roomId, await openIdToken(server, alice), alice, "m");
  body.member.claimed_user_id = bob.user_id;
  expectError(await post("/get_token", body), 401, "M_UNAUTHORIZED");
});

step("unknown JSON fields get 400 M_NOT_JSON (top level and nested)", async () => {
  const openid = await openIdToken(server, alice);
  expectError(await post("/get_token", { ...getTokenBody(roomId, openid, alice, "m"), extra: 1 }), 400, "M_NOT_JSON");
  const nested = getTokenBody(roomId, openid, alice, "m");
  nested.member.extra = "x";
  expectError(await post("/get_token", nested), 400, "M_NOT_JSON");
  // Element Call's very old legacy body had remove_me_user_id.
  expectError(await post("/sfu/get", { ...legacyBody(roomId, openid, alice), remove_me_user_id: alice.user_id }), 400, "M_NOT_JSON");
  expectError(await post("/get_token", { ...getTokenBody(roomId, openid, alice, "m"), delay_timeout: "10" }), 400, "M_NOT_JSON");
});

step("missing body, not JSON, and missing fields get 400", async () => {
  expectError(await post("/get_token", undefined), 400, "M_NOT_JSON");
  expectError(await post("/sfu/get", undefined, { rawBody: "{not json" }), 400, "M_NOT_JSON");
  expectError(await post("/get_token", {}), 400, "M_BAD_JSON");
  const openid = await openIdToken(server, alice);
  const noSlot = getTokenBody(roomId, openid, alice, "m");
  delete noSlot.slot_id;
  expectError(await post("/get_token", noSlot), 400, "M_BAD_JSON");
  expectError(await post("/get_token", { ...getTokenBody(roomId, openid, alice, "m"), delay_id: "d" }), 400, "M_BAD_JSON");
  expectError(await post("/delegate_delayed_leave", getTokenBody(roomId, openid, alice, "m")), 400, "M_BAD_JSON");
});

step("a remote user is checked against our rooms in-process: not joined, 403", async () => {
  // Membership of remote users cannot be checked by the in-process homeserver
  // for rooms it hosts without them: carol is not joined, so 403 first.
  const carol = { access_token: "remote", token_type: "Bearer", matrix_server_name: "remote.example", expires_in: 3600 };
  const carolUser = { user_id: "@carol:remote.example", device_id: "CDEV" };
  expectError(await post("/get_token", getTokenBody(roomId, carol, carolUser, "m")), 403, "M_FORBIDDEN");
});

step("CORS preflight and /healthz", async () => {
  const pre = await server.api("/livekit/jwt/get_token", { method: "OPTIONS" });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get("access-control-allow-origin"), "*");
  assert.match(pre.headers.get("access-control-allow-methods") || "", /POST/);
  const h = await server.api("/livekit/jwt/healthz");
  assert.equal(h.status, 200);
  const head = await fetch(server.url("/livekit/jwt/healthz"), { method: "HEAD" });
  assert.equal(head.status, 200);
  expectError(await server.api("/livekit/jwt/get_token"), 405, "M_UNRECOGNIZED");
});

test("auth role alone: a remote user without full access gets canPublish false, and EC's retry works", async () => {
  const fakeUrl = `http://127.0.0.1:${fakePort}`;
  const auth = await startServerWithConfig(
    { rtc_auth: { livekit_key: API_KEY, livekit_secret: API_SECRET, homeserver_urls: { "remote.example": fakeUrl } } },
    { extraArgs: ["--roles", "auth"] },
  );
  try {
    const carol = { access_token: "remote", token_type: "Bearer", matrix_server_name: "remote.example", expires_in: 3600 };
    const user = { user_id: "@carol:remote.example", device_id: "CDEV" };
    const delay = { delay_id: "d1", delay_timeout: 10000, delay_cs_api_url: fakeUrl };
    const url = auth.url("/livekit/jwt/sfu/get");
    const withDelay = await auth.api("/livekit/jwt/sfu/get", { method: "POST", body: legacyBody("!r:remote.example", carol, user, delay) });
    assert.equal(withDelay.status, 400, `${url}: ${describeResponse(withDelay)}`);
    assert.equal(withDelay.body.errcode, "M_BAD_JSON");
    const retry = await auth.api("/livekit/jwt/sfu/get", { method: "POST", body: legacyBody("!r:remote.example", carol, user) });
    assert.equal(retry.status, 200, describeResponse(retry));
    const claims = await new TokenVerifier(API_KEY, API_SECRET).verify(retry.body.jwt);
    assert.equal(claims.video.canPublish, false);
    assert.equal(claims.video.canSubscribe, true);
    const delegate = await auth.api("/livekit/jwt/delegate_delayed_leave", {
      method: "POST", body: getTokenBody("!r:remote.example", carol, user, "m", delay),
    });
    assert.equal(delegate.status, 403, describeResponse(delegate));
    assert.equal(delegate.body.errcode, "M_FORBIDDEN");
  } finally {
    await auth.stop();
  }
});

test("secrets shorter than 32 bytes are refused at start", async () => {
  await assert.rejects(
    startServerWithConfig({ rtc_auth: { livekit_key: "k", livekit_secret: "too-short" } }),
    /at least 32/,
  );
});
