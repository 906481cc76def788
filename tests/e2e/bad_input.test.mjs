// Bad and hostile input against a fresh Atrium server, with raw fetch (no
// sdk): every case asserts the exact HTTP status and Matrix errcode, that the
// error body is JSON {errcode, error}, and that CORS headers are present.
// At the end the server must still answer /health (and the rate limiter must
// have kicked in for a login storm).
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, withServerLogOnFailure, fetchJson, describeResponse, registerRaw } from "./lib/server.mjs";

const PASSWORD = "correct horse battery staple";
const enc = encodeURIComponent;

describe("bad input: exact status + errcode from a real Atrium", { timeout: 300_000 }, () => {
  let server;
  let alice, bob, carol; // {user_id, access_token, device_id}
  let roomId; // alice's private_chat room, bob joined with power 0
  let stateRoomId; // alice's room where bob has power 50 (may send state)

  let setupError = null;
  async function setup() {
    server = await startServer();
    alice = await server.registerUser("alice", PASSWORD);
    bob = await server.registerUser("bob", PASSWORD);
    carol = await server.registerUser("carol", PASSWORD);

    const cr = await server.api("/_matrix/client/v3/createRoom", {
      method: "POST",
      token: alice.access_token,
      body: { preset: "private_chat", name: "bad input room", invite: [bob.user_id] },
    });
    assert.equal(cr.status, 200, `createRoom: ${describeResponse(cr)}`);
    roomId = cr.body.room_id;
    const j = await server.api(`/_matrix/client/v3/join/${enc(roomId)}`, { method: "POST", token: bob.access_token, body: {} });
    assert.equal(j.status, 200, `bob join: ${describeResponse(j)}`);

    const cr2 = await server.api("/_matrix/client/v3/createRoom", {
      method: "POST",
      token: alice.access_token,
      body: {
        preset: "private_chat",
        invite: [bob.user_id],
        power_level_content_override: { users: { [alice.user_id]: 100, [bob.user_id]: 50 } },
      },
    });
    assert.equal(cr2.status, 200, `createRoom 2: ${describeResponse(cr2)}`);
    stateRoomId = cr2.body.room_id;
    const j2 = await server.api(`/_matrix/client/v3/join/${enc(stateRoomId)}`, { method: "POST", token: bob.access_token, body: {} });
    assert.equal(j2.status, 200, `bob join 2: ${describeResponse(j2)}`);
  }

  // Setup is a test (not a hook) so that a server that fails to start counts as "# fail", not "cancelled".
  it("setup: server starts, alice/bob/carol register, rooms are created", async () => {
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

  function assertCors(r, what) {
    assert.equal(r.headers.get("access-control-allow-origin"), "*", `${what}: Access-Control-Allow-Origin: * missing (${describeResponse(r)})`);
  }

  /** Assert an error response: exact status and errcode, JSON body with string errcode/error, CORS. */
  function expectError(r, status, errcode, what = "") {
    const ctx = `${what ? what + ": " : ""}${describeResponse(r)}`;
    assert.equal(r.status, status, `status (${ctx})`);
    assert.ok(r.body && typeof r.body === "object" && !Array.isArray(r.body), `error body must be a JSON object (${ctx})`);
    assert.equal(r.body.errcode, errcode, `errcode (${ctx})`);
    assert.equal(typeof r.body.errcode, "string", `errcode is a string (${ctx})`);
    assert.equal(typeof r.body.error, "string", `error is a string (${ctx})`);
    assert.match(r.headers.get("content-type") || "", /^application\/json/, `content-type of error (${ctx})`);
    assertCors(r, what);
  }

  const api = (p, o) => server.api(p, o);
  const sendPath = (room, txn, type = "m.room.message") => `/_matrix/client/v3/rooms/${enc(room)}/send/${type}/${txn}`;
  let txnN = 0;
  const txn = () => `bad-${Date.now()}-${++txnN}`;

  // ---- JSON parsing and shape ----
  check("malformed JSON to POST /createRoom -> 400 M_NOT_JSON", async () => {
    const r = await api("/_matrix/client/v3/createRoom", { method: "POST", token: alice.access_token, rawBody: '{"name": "x", ' });
    expectError(r, 400, "M_NOT_JSON");
  });

  check("JSON array body [1,2] to POST /createRoom -> 400 M_BAD_JSON", async () => {
    const r = await api("/_matrix/client/v3/createRoom", { method: "POST", token: alice.access_token, rawBody: "[1,2]" });
    expectError(r, 400, "M_BAD_JSON");
  });

  check('createRoom {"name": 5} (wrong type) -> 400 M_BAD_JSON', async () => {
    const r = await api("/_matrix/client/v3/createRoom", { method: "POST", token: alice.access_token, body: { name: 5 } });
    expectError(r, 400, "M_BAD_JSON");
  });

  check("send event whose body is a JSON string -> 400 M_BAD_JSON", async () => {
    const r = await api(sendPath(roomId, txn()), { method: "PUT", token: alice.access_token, rawBody: '"just a string"' });
    expectError(r, 400, "M_BAD_JSON");
  });

  check("oversized event (content > 65536 bytes) -> 413 M_TOO_LARGE", async () => {
    const r = await api(sendPath(roomId, txn()), {
      method: "PUT",
      token: alice.access_token,
      body: { msgtype: "m.text", body: "x".repeat(70000) },
    });
    expectError(r, 413, "M_TOO_LARGE");
  });

  // ---- routing ----
  check("unknown endpoint GET /_matrix/client/v3/nonexistent -> 404 M_UNRECOGNIZED", async () => {
    const r = await api("/_matrix/client/v3/nonexistent", { token: alice.access_token });
    expectError(r, 404, "M_UNRECOGNIZED");
    const r2 = await api("/_matrix/client/v3/nonexistent");
    expectError(r2, 404, "M_UNRECOGNIZED", "without a token");
  });

  check("wrong method DELETE /account/whoami -> 405 M_UNRECOGNIZED", async () => {
    const r = await api("/_matrix/client/v3/account/whoami", { method: "DELETE", token: alice.access_token });
    expectError(r, 405, "M_UNRECOGNIZED");
  });

  // ---- authentication ----
  check("whoami without a token -> 401 M_MISSING_TOKEN", async () => {
    const r = await api("/_matrix/client/v3/account/whoami");
    expectError(r, 401, "M_MISSING_TOKEN");
  });

  check("whoami with a bad token (Authorization: Bearer and ?access_token=) -> 401 M_UNKNOWN_TOKEN", async () => {
    const r1 = await api("/_matrix/client/v3/account/whoami", { headers: { Authorization: "Bearer not-a-real-token" } });
    expectError(r1, 401, "M_UNKNOWN_TOKEN", "header form");
    const r2 = await api("/_matrix/client/v3/account/whoami?access_token=not-a-real-token");
    expectError(r2, 401, "M_UNKNOWN_TOKEN", "query form");
    // control: the good token works in both forms
    const ok1 = await api("/_matrix/client/v3/account/whoami", { token: alice.access_token });
    assert.equal(ok1.status, 200, describeResponse(ok1));
    assert.equal(ok1.body.user_id, alice.user_id);
    const ok2 = await api(`/_matrix/client/v3/account/whoami?access_token=${enc(alice.access_token)}`);
    assert.equal(ok2.status, 200, describeResponse(ok2));
    assert.equal(ok2.body.user_id, alice.user_id);
    assertCors(ok2, "successful response");
  });

  // ---- authorization (power levels, membership) ----
  check("bob (power 0) sets m.room.power_levels -> 403 M_FORBIDDEN", async () => {
    const pl = await api(`/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`, { token: bob.access_token });
    assert.equal(pl.status, 200, describeResponse(pl));
    const content = { ...pl.body, users: { ...(pl.body.users || {}), [bob.user_id]: 100 } };
    const r = await api(`/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`, {
      method: "PUT",
      token: bob.access_token,
      body: content,
    });
    expectError(r, 403, "M_FORBIDDEN");
  });

  check("bob (power 0) sets m.room.name -> 403 M_FORBIDDEN", async () => {
    const r = await api(`/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.name/`, {
      method: "PUT",
      token: bob.access_token,
      body: { name: "bob was here" },
    });
    expectError(r, 403, "M_FORBIDDEN");
    // control: bob may send a message
    const ok = await api(sendPath(roomId, txn()), { method: "PUT", token: bob.access_token, body: { msgtype: "m.text", body: "hi" } });
    assert.equal(ok.status, 200, describeResponse(ok));
  });

  check("non-member carol sends a message -> 403 M_FORBIDDEN", async () => {
    const r = await api(sendPath(roomId, txn()), { method: "PUT", token: carol.access_token, body: { msgtype: "m.text", body: "intruder" } });
    expectError(r, 403, "M_FORBIDDEN");
  });

  check('bob sends state with state_key "@alice:localhost" -> 403 M_FORBIDDEN', async () => {
    const base = `/_matrix/client/v3/rooms/${enc(stateRoomId)}/state/org.atrium.e2e.profile`;
    // control: bob (power 50 here) may set his own user-keyed state
    const ok = await api(`${base}/${enc(bob.user_id)}`, { method: "PUT", token: bob.access_token, body: { v: 1 } });
    assert.equal(ok.status, 200, `control (bob's own key): ${describeResponse(ok)}`);
    const r = await api(`${base}/${enc(alice.user_id)}`, { method: "PUT", token: bob.access_token, body: { v: 2 } });
    expectError(r, 403, "M_FORBIDDEN");
    const r2 = await api(`/_matrix/client/v3/rooms/${enc(roomId)}/state/org.atrium.e2e.profile/${enc("@alice:localhost")}`, {
      method: "PUT",
      token: bob.access_token,
      body: { v: 3 },
    });
    expectError(r2, 403, "M_FORBIDDEN", "in the power-0 room");
  });

  // ---- registration and room creation conflicts ----
  check("register a taken username -> 400 M_USER_IN_USE", async () => {
    const r = await registerRaw(server.baseUrl, "alice", "another password");
    expectError(r, 400, "M_USER_IN_USE");
  });

  check('register invalid username "Bad Name!" -> 400 M_INVALID_USERNAME', async () => {
    const r = await registerRaw(server.baseUrl, "Bad Name!", "whatever password");
    expectError(r, 400, "M_INVALID_USERNAME");
  });

  check("createRoom with a taken room_alias_name -> 400 M_ROOM_IN_USE", async () => {
    const first = await api("/_matrix/client/v3/createRoom", {
      method: "POST",
      token: alice.access_token,
      body: { preset: "public_chat", room_alias_name: "taken-alias" },
    });
    assert.equal(first.status, 200, describeResponse(first));
    const r = await api("/_matrix/client/v3/createRoom", {
      method: "POST",
      token: bob.access_token,
      body: { preset: "public_chat", room_alias_name: "taken-alias" },
    });
    expectError(r, 400, "M_ROOM_IN_USE");
  });

  check('createRoom with room_version "999" -> 400 M_UNSUPPORTED_ROOM_VERSION', async () => {
    const r = await api("/_matrix/client/v3/createRoom", { method: "POST", token: alice.access_token, body: { room_version: "999" } });
    expectError(r, 400, "M_UNSUPPORTED_ROOM_VERSION");
  });

  // ---- other endpoints ----
  check("login with a wrong password -> 403 M_FORBIDDEN", async () => {
    const r = await api("/_matrix/client/v3/login", {
      method: "POST",
      body: { type: "m.login.password", identifier: { type: "m.id.user", user: "alice" }, password: "wrong" },
    });
    expectError(r, 403, "M_FORBIDDEN");
  });

  check("/sync?timeout=abc -> 400 M_INVALID_PARAM", async () => {
    const r = await api("/_matrix/client/v3/sync?timeout=abc", { token: alice.access_token });
    expectError(r, 400, "M_INVALID_PARAM");
  });

  check("GET an event that does not exist -> 404 M_NOT_FOUND", async () => {
    const r = await api(`/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc("$doesnotexist0000000000000000000000000000000")}`, {
      token: alice.access_token,
    });
    expectError(r, 404, "M_NOT_FOUND");
  });

  // ---- CORS ----
  check("OPTIONS preflight answers 200/204 with Allow-Methods and Allow-Headers incl. Authorization", async () => {
    const paths = [
      "/_matrix/client/v3/account/whoami",
      `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/preflight-txn`,
      "/_matrix/client/v3/sync",
      "/_matrix/client/versions",
    ];
    for (const p of paths) {
      const res = await fetch(server.url(p), {
        method: "OPTIONS",
        headers: {
          Origin: "https://app.example.org",
          "Access-Control-Request-Method": p.includes("/send/") ? "PUT" : "GET",
          "Access-Control-Request-Headers": "authorization, content-type",
        },
      });
      await res.arrayBuffer();
      const what = `OPTIONS ${p}`;
      assert.ok([200, 204].includes(res.status), `${what}: status ${res.status}`);
      assert.equal(res.headers.get("access-control-allow-origin"), "*", `${what}: Allow-Origin`);
      const methods = res.headers.get("access-control-allow-methods") || "";
      assert.ok(methods.length > 0, `${what}: Access-Control-Allow-Methods missing`);
      assert.match(methods, p.includes("/send/") ? /\bPUT\b/ : /\bGET\b/, `${what}: Allow-Methods = "${methods}"`);
      const hdrs = res.headers.get("access-control-allow-headers") || "";
      assert.match(hdrs, /\bauthorization\b/i, `${what}: Allow-Headers = "${hdrs}" lacks Authorization`);
    }
  });

  // ---- rate limiting (last: it burns the login budget of this client) ----
  check("30 rapid wrong-password logins end in 429 M_LIMIT_EXCEEDED with numeric retry_after_ms", async () => {
    const statuses = [];
    let limited;
    for (let i = 0; i < 30; i++) {
      const r = await api("/_matrix/client/v3/login", {
        method: "POST",
        body: { type: "m.login.password", identifier: { type: "m.id.user", user: "bob" }, password: `wrong-${i}` },
      });
      statuses.push(r.status);
      if (r.status === 429) {
        limited = r;
        break;
      }
      expectError(r, 403, "M_FORBIDDEN", `login attempt ${i + 1} before the limit`);
    }
    assert.ok(limited, `no 429 after 30 rapid logins; statuses: ${statuses.join(",")}`);
    expectError(limited, 429, "M_LIMIT_EXCEEDED");
    assert.equal(typeof limited.body.retry_after_ms, "number", `retry_after_ms must be a number: ${describeResponse(limited)}`);
    assert.ok(limited.body.retry_after_ms > 0, "retry_after_ms > 0");
    // burst is 10: at least a few attempts must pass before limiting, and limiting must start by ~attempt 12
    assert.ok(statuses.length >= 2 && statuses.length <= 15, `429 came after ${statuses.length} attempts`);
  });

  check("the server is still healthy after all of the above", async () => {
    assert.ok(server.running, "server process is still running");
    const h = await fetch(server.url("/health"));
    await h.arrayBuffer();
    assert.equal(h.status, 200);
    const w = await api("/_matrix/client/v3/account/whoami", { token: alice.access_token });
    assert.equal(w.status, 200, describeResponse(w));
  });
});
