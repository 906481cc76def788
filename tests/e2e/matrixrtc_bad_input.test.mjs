// Bad and edge-case input for the MatrixRTC server features, with raw fetch:
// delayed events (MSC4140) limits and unknown/finalised ids, owned state keys
// (MSC3757 room versions), OpenID token expiry and RTC transport discovery
// auth. Every error case asserts the exact status and errcode. At the end the
// server must still answer /health.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { withServerLogOnFailure, describeResponse, sleep } from "./lib/server.mjs";
import { startServerWithConfig, stateContent, enc, CALL_MEMBER, DELAYED } from "./lib/rtc.mjs";

const PASSWORD = "correct horse battery staple";
const DEFAULT_MAX_DELAY_MS = 24 * 3600 * 1000;
const OPENID_LIFETIME_MS = 1000;
const STATE_TYPE = "org.atrium.e2e.delayed";

describe("MatrixRTC bad input: exact status + errcode from a real Atrium", { timeout: 300_000 }, () => {
  let server;
  let alice, bob;
  let roomId; // private_chat, alice (100) + bob (0)
  let ownedRoomId; // org.matrix.msc3757.11, alice (100) + bob (0)

  let setupError = null;
  async function setup() {
    server = await startServerWithConfig({ openid_token_lifetime_ms: OPENID_LIFETIME_MS });
    alice = await server.registerUser("alice", PASSWORD);
    bob = await server.registerUser("bob", PASSWORD);
    for (const [version, set] of [
      [undefined, (id) => (roomId = id)],
      ["org.matrix.msc3757.11", (id) => (ownedRoomId = id)],
    ]) {
      const body = { preset: "private_chat", invite: [bob.user_id] };
      if (version) body.room_version = version;
      const cr = await api("/_matrix/client/v3/createRoom", { method: "POST", token: alice.access_token, body });
      assert.equal(cr.status, 200, `createRoom ${version ?? "default"}: ${describeResponse(cr)}`);
      set(cr.body.room_id);
      const j = await api(`/_matrix/client/v3/join/${enc(cr.body.room_id)}`, { method: "POST", token: bob.access_token, body: {} });
      assert.equal(j.status, 200, `bob join: ${describeResponse(j)}`);
    }
  }

  it("setup: server starts with a config file, users register, rooms (default + org.matrix.msc3757.11) exist", async () => {
    try {
      await withServerLogOnFailure(() => server, "setup", setup);
    } catch (e) {
      setupError = e;
      if (server) server.failed = true;
      throw e;
    }
  });

  after(async () => {
    await server?.stop();
  });

  function check(name, fn) {
    it(name, (t) => {
      if (setupError) return t.skip("setup failed");
      return withServerLogOnFailure(() => server, name, fn);
    });
  }

  function expectError(r, status, errcode, what = "") {
    const ctx = `${what ? what + ": " : ""}${describeResponse(r)}`;
    assert.equal(r.status, status, `status (${ctx})`);
    assert.ok(r.body && typeof r.body === "object" && !Array.isArray(r.body), `error body must be a JSON object (${ctx})`);
    assert.equal(r.body.errcode, errcode, `errcode (${ctx})`);
    assert.equal(typeof r.body.error, "string", `error is a string (${ctx})`);
    assert.equal(r.headers.get("access-control-allow-origin"), "*", `CORS header (${ctx})`);
  }
  function expectOk(r, what) {
    assert.equal(r.status, 200, `${what}: ${describeResponse(r)}`);
    return r.body;
  }

  const api = (p, o) => server.api(p, o);
  let n = 0;
  const txn = () => `rtc-bad-${Date.now()}-${++n}`;
  const statePath = (room, type, key) => `/_matrix/client/v3/rooms/${enc(room)}/state/${enc(type)}/${enc(key)}`;
  const sendPath = (room, type) => `/_matrix/client/v3/rooms/${enc(room)}/send/${enc(type)}/${txn()}`;
  const mgmt = (id, action, token) => api(`${DELAYED}/${enc(id)}/${action}`, { method: "POST", token, body: {} });

  async function scheduleState(key, delay, content = { v: key }) {
    const r = await api(`${statePath(roomId, STATE_TYPE, key)}?org.matrix.msc4140.delay=${delay}`, {
      method: "PUT",
      token: alice.access_token,
      body: content,
    });
    const body = expectOk(r, `schedule delayed state ${key}`);
    assert.equal(typeof body.delay_id, "string", `delay_id in ${JSON.stringify(body)}`);
    assert.equal(body.event_id, undefined, `a delayed send answers delay_id, not event_id: ${JSON.stringify(body)}`);
    return body.delay_id;
  }

  // ---- MSC4140 delayed events ----
  check(`delay above the maximum (default ${DEFAULT_MAX_DELAY_MS} ms) -> 400 M_UNKNOWN + org.matrix.msc4140.errcode M_MAX_DELAY_EXCEEDED`, async () => {
    const tooLong = DEFAULT_MAX_DELAY_MS + 1;
    for (const [what, path] of [
      ["state", statePath(roomId, STATE_TYPE, "too-long")],
      ["send", sendPath(roomId, "m.room.message")],
    ]) {
      const r = await api(`${path}?org.matrix.msc4140.delay=${tooLong}`, {
        method: "PUT",
        token: alice.access_token,
        body: { msgtype: "m.text", body: "late" },
      });
      expectError(r, 400, "M_UNKNOWN", what);
      assert.equal(r.body["org.matrix.msc4140.errcode"], "M_MAX_DELAY_EXCEEDED", `${what}: ${describeResponse(r)}`);
      assert.equal(r.body["org.matrix.msc4140.max_delay"], DEFAULT_MAX_DELAY_MS, `${what}: ${describeResponse(r)}`);
    }
    // exactly the maximum is fine (and is cancelled right away)
    const id = await scheduleState("max", DEFAULT_MAX_DELAY_MS);
    assert.deepEqual(expectOk(await mgmt(id, "cancel", alice.access_token), "cancel"), {});
  });

  check("non-integer delay (?org.matrix.msc4140.delay=abc) -> 400 M_INVALID_PARAM", async () => {
    for (const [what, path] of [
      ["state", statePath(roomId, STATE_TYPE, "abc")],
      ["send", sendPath(roomId, "m.room.message")],
    ]) {
      const r = await api(`${path}?org.matrix.msc4140.delay=abc`, {
        method: "PUT",
        token: alice.access_token,
        body: { msgtype: "m.text", body: "abc" },
      });
      expectError(r, 400, "M_INVALID_PARAM", what);
    }
    assert.equal(await stateContent(server, alice.access_token, roomId, STATE_TYPE, "abc"), undefined, "nothing was written");
  });

  check("unknown delay id: cancel / restart / send -> 404 M_NOT_FOUND (with and without a token)", async () => {
    for (const action of ["cancel", "restart", "send"]) {
      expectError(await mgmt("no-such-delay-id", action, alice.access_token), 404, "M_NOT_FOUND", `${action} (authed)`);
      expectError(await mgmt("no-such-delay-id", action, undefined), 404, "M_NOT_FOUND", `${action} (no token)`);
    }
  });

  check("finalised delay ids: after cancel or send, every action -> 404 M_NOT_FOUND", async () => {
    const cancelled = await scheduleState("cancelled", 60000);
    assert.deepEqual(expectOk(await mgmt(cancelled, "cancel", alice.access_token), "cancel"), {});
    for (const action of ["cancel", "restart", "send"]) {
      expectError(await mgmt(cancelled, action, alice.access_token), 404, "M_NOT_FOUND", `${action} after cancel`);
    }
    assert.equal(await stateContent(server, alice.access_token, roomId, STATE_TYPE, "cancelled"), undefined, "cancelled: never written");

    const sent = await scheduleState("sent", 60000, { v: "sent now" });
    assert.deepEqual(expectOk(await mgmt(sent, "send", alice.access_token), "send"), {});
    assert.deepEqual(await stateContent(server, alice.access_token, roomId, STATE_TYPE, "sent"), { v: "sent now" }, "sent at once");
    for (const action of ["cancel", "restart", "send"]) {
      expectError(await mgmt(sent, action, alice.access_token), 404, "M_NOT_FOUND", `${action} after send`);
    }
    const list = expectOk(await api(DELAYED, { token: alice.access_token }), "list");
    assert.ok(!list.delayed_events.some((e) => e.delay_id === cancelled || e.delay_id === sent), `finalised ids not listed: ${JSON.stringify(list)}`);
  });

  check("management needs no access token (the SFU side calls it): restart and cancel without auth -> {}", async () => {
    const id = await scheduleState("noauth", 60000);
    assert.deepEqual(expectOk(await mgmt(id, "restart", undefined), "restart without token"), {});
    assert.deepEqual(expectOk(await mgmt(id, "cancel", undefined), "cancel without token"), {});
    expectError(await mgmt(id, "restart", undefined), 404, "M_NOT_FOUND", "restart after cancel");
  });

  check("a delayed event fires by itself after its delay; the list shows it until then", async () => {
    const id = await scheduleState("fires", 1500, { v: "fired" });
    const list = expectOk(await api(DELAYED, { token: alice.access_token }), "list");
    const e = list.delayed_events.find((x) => x.delay_id === id);
    assert.ok(e, `listed: ${JSON.stringify(list)}`);
    assert.equal(e.room_id, roomId);
    assert.equal(e.type, STATE_TYPE);
    assert.equal(e.state_key, "fires");
    assert.equal(e.delay, 1500);
    assert.deepEqual(e.content, { v: "fired" });
    // bob does not see alice's delayed events
    const bobList = expectOk(await api(DELAYED, { token: bob.access_token }), "bob's list");
    assert.ok(!bobList.delayed_events.some((x) => x.delay_id === id), "delayed events are private to their owner");
    // and a delayed message event
    const body = `delayed message ${Date.now()}`;
    const m = expectOk(
      await api(`${sendPath(roomId, "m.room.message")}?org.matrix.msc4140.delay=1500`, {
        method: "PUT",
        token: alice.access_token,
        body: { msgtype: "m.text", body },
      }),
      "schedule delayed message",
    );
    assert.equal(typeof m.delay_id, "string", JSON.stringify(m));
    const scheduledAt = Date.now();
    const messages = async () => {
      const r = expectOk(await api(`/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=20`, { token: bob.access_token }), "messages");
      return r.chunk.filter((e) => e.type === "m.room.message" && e.content?.body === body);
    };
    assert.equal(await stateContent(server, alice.access_token, roomId, STATE_TYPE, "fires"), undefined, "not yet");
    assert.equal((await messages()).length, 0, "message not yet sent");
    await sleep(1500 + 2000);
    assert.deepEqual(await stateContent(server, alice.access_token, roomId, STATE_TYPE, "fires"), { v: "fired" }, "fired");
    const sent = await messages();
    assert.equal(sent.length, 1, `the delayed message was sent exactly once: ${JSON.stringify(sent)}`);
    assert.equal(sent[0].sender, alice.user_id);
    assert.ok(sent[0].origin_server_ts >= scheduledAt + 1500 - 200, `not early: ${sent[0].origin_server_ts - scheduledAt} ms`);
  });

  check("a delayed send is idempotent per transaction id: a retried PUT gets the same delay_id, one event is scheduled", async () => {
    // PUT /send/{type}/{txnId} is idempotent (client-server spec); Synapse answers a retried
    // delayed send from its transaction cache, so a client retrying after a lost response
    // does not leave a second, untracked delayed event behind.
    const path = `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/same-txn-${Date.now()}?org.matrix.msc4140.delay=60000`;
    const put = () => api(path, { method: "PUT", token: alice.access_token, body: { msgtype: "m.text", body: "once" } });
    const r1 = expectOk(await put(), "first PUT");
    const r2 = expectOk(await put(), "retried PUT");
    const list = expectOk(await api(DELAYED, { token: alice.access_token }), "list");
    const mine = list.delayed_events.filter((e) => e.delay_id === r1.delay_id || e.delay_id === r2.delay_id);
    for (const e of mine) await mgmt(e.delay_id, "cancel", alice.access_token);
    assert.equal(r2.delay_id, r1.delay_id, `same txn id, same delay_id: ${JSON.stringify([r1, r2])}`);
    assert.equal(mine.length, 1, `exactly one delayed event scheduled: ${JSON.stringify(mine)}`);
  });

  check("GET delayed_events without a token -> 401 M_MISSING_TOKEN", async () => {
    expectError(await api(DELAYED), 401, "M_MISSING_TOKEN");
  });

  // ---- owned state keys ----
  check("org.matrix.msc3757.11 room: a state key owned by someone else -> 403 M_FORBIDDEN; own keys work", async () => {
    const put = (token, key, content = { application: "m.call", device_id: "D" }) =>
      api(statePath(ownedRoomId, CALL_MEMBER, key), { method: "PUT", token, body: content });
    expectError(await put(bob.access_token, `${alice.user_id}_BOBDEV_m.call`), 403, "M_FORBIDDEN", "bob writes alice's key + suffix");
    expectError(await put(bob.access_token, alice.user_id), 403, "M_FORBIDDEN", "bob writes alice's bare key");
    expectError(await put(bob.access_token, "@bob:localhostfoo_X"), 403, "M_FORBIDDEN", "a different (longer) user id");
    expectOk(await put(bob.access_token, `${bob.user_id}_BOBDEV_m.call`), "bob writes his own key + suffix");
    expectOk(await put(bob.access_token, bob.user_id), "bob writes his bare own key");
    // higher power may write a lower user's key
    expectOk(await put(alice.access_token, `${bob.user_id}_ALICEDEV_m.call`, {}), "alice (100) writes bob's (0) key");
    assert.deepEqual(await stateContent(server, alice.access_token, ownedRoomId, CALL_MEMBER, `${bob.user_id}_ALICEDEV_m.call`), {});
    // but not the other way round
    assert.deepEqual(
      await stateContent(server, alice.access_token, ownedRoomId, CALL_MEMBER, `${alice.user_id}_BOBDEV_m.call`),
      undefined,
      "the forbidden write left no state",
    );
  });

  check('org.matrix.msc3757.11 room: malformed owned key "@notauser_x" -> 4xx M_BAD_JSON or M_FORBIDDEN', async () => {
    const r = await api(statePath(ownedRoomId, CALL_MEMBER, "@notauser_x"), {
      method: "PUT",
      token: bob.access_token,
      body: { application: "m.call" },
    });
    assert.ok(r.status >= 400 && r.status < 500, `status 4xx: ${describeResponse(r)}`);
    assert.ok(["M_BAD_JSON", "M_FORBIDDEN"].includes(r.body?.errcode), `errcode M_BAD_JSON or M_FORBIDDEN: ${describeResponse(r)}`);
  });

  check("ordinary room: '_@alice...' keys work for any member; a bare '@other' key is still 403 M_FORBIDDEN", async () => {
    const key = `_${alice.user_id}_BOBDEV_m.call`;
    expectOk(
      await api(statePath(roomId, CALL_MEMBER, key), { method: "PUT", token: bob.access_token, body: { application: "m.call", device_id: "BOBDEV" } }),
      "bob writes a '_@alice' key in an ordinary room",
    );
    expectError(
      await api(statePath(roomId, CALL_MEMBER, alice.user_id), { method: "PUT", token: bob.access_token, body: {} }),
      403,
      "M_FORBIDDEN",
      "bob writes '@alice:localhost' in an ordinary room",
    );
  });

  check("delayed state in an owned-state room under someone else's key: 403 M_FORBIDDEN now, or never written", async () => {
    const key = `${alice.user_id}_BOBDEV2_m.call`;
    const r = await api(`${statePath(ownedRoomId, CALL_MEMBER, key)}?org.matrix.msc4140.delay=1000`, {
      method: "PUT",
      token: bob.access_token,
      body: { application: "m.call", device_id: "BOBDEV2" },
    });
    if (r.status === 200) {
      // accepted for later: when it fires, the auth rules must still reject it
      await sleep(1000 + 2000);
    } else {
      expectError(r, 403, "M_FORBIDDEN");
    }
    assert.equal(await stateContent(server, alice.access_token, ownedRoomId, CALL_MEMBER, key), undefined, "alice's key was not written by bob");
    const h = await api("/health");
    assert.equal(h.status, 200, "server survived the rejected delayed event");
  });

  // ---- OpenID ----
  check("expired OpenID token -> 401 M_UNKNOWN_TOKEN; bogus -> 401 M_UNKNOWN_TOKEN", async () => {
    const r = expectOk(
      await api(`/_matrix/client/v3/user/${enc(alice.user_id)}/openid/request_token`, { method: "POST", token: alice.access_token, body: {} }),
      "request_token",
    );
    await sleep(OPENID_LIFETIME_MS + 700);
    expectError(await api(`/_matrix/federation/v1/openid/userinfo?access_token=${enc(r.access_token)}`), 401, "M_UNKNOWN_TOKEN", "expired");
    expectError(await api(`/_matrix/federation/v1/openid/userinfo?access_token=bogus`), 401, "M_UNKNOWN_TOKEN", "bogus");
  });

  check("request_token for another user -> 403 M_FORBIDDEN; without a token -> 401 M_MISSING_TOKEN", async () => {
    const path = `/_matrix/client/v3/user/${enc(bob.user_id)}/openid/request_token`;
    expectError(await api(path, { method: "POST", token: alice.access_token, body: {} }), 403, "M_FORBIDDEN", "alice for bob");
    expectError(await api(path, { method: "POST", body: {} }), 401, "M_MISSING_TOKEN", "no token");
  });

  check("GET /rtc/transports without a token -> 401 M_MISSING_TOKEN; authed -> the same list as .well-known rtc_foci", async () => {
    const p = "/_matrix/client/unstable/org.matrix.msc4143/rtc/transports";
    expectError(await api(p), 401, "M_MISSING_TOKEN");
    // No rtc_transports in this config: the server may advertise its built-in auth service
    // (or nothing); either way the shape must be right and match .well-known.
    const r = await api(p, { token: alice.access_token });
    assert.equal(r.status, 200, describeResponse(r));
    const list = r.body?.rtc_transports ?? [];
    assert.ok(Array.isArray(list), `rtc_transports is a list: ${describeResponse(r)}`);
    for (const t of list) {
      assert.equal(typeof t.type, "string", `transport type: ${describeResponse(r)}`);
      if (t.type === "livekit") assert.match(t.livekit_service_url ?? "", /^https?:\/\//, `livekit_service_url: ${describeResponse(r)}`);
    }
    const wk = await api("/.well-known/matrix/client");
    assert.equal(wk.status, 200, describeResponse(wk));
    assert.deepEqual(wk.body?.["org.matrix.msc4143.rtc_foci"] ?? [], list, `well-known rtc_foci = transports: ${wk.text}`);
  });

  check("the server is still healthy after all of the above", async () => {
    assert.ok(server.running, "server process is still running");
    const h = await api("/health");
    assert.equal(h.status, 200);
    const w = await api("/_matrix/client/v3/account/whoami", { token: alice.access_token });
    assert.equal(w.status, 200, describeResponse(w));
  });
});
