// Bad input to the end-to-end-encryption endpoints: exact status and errcode,
// and nothing else disturbed (a good to-device message still arrives).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { fetchJson, registerUser, startServer, waitFor, withServerLogOnFailure } from "./lib/server.mjs";

describe("E2EE bad input", () => {
  let server, alice, bob;
  const url = (p) => `${server.baseUrl}/_matrix/client/v3${p}`;
  const step = (name, fn) => test(name, () => withServerLogOnFailure(() => server, name, fn));
  const expectError = async (r, status, errcode) => {
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.errcode, errcode, JSON.stringify(r.body));
    assert.equal(typeof r.body.error, "string");
  };

  before(async () => {
    server = await startServer();
  });
  after(async () => server?.stop());

  step("set up two users", async () => {
    alice = await registerUser(server.baseUrl, "alice");
    bob = await registerUser(server.baseUrl, "bob");
  });

  step("malformed key uploads", async () => {
    const upload = (body) => fetchJson(url("/keys/upload"), { method: "POST", token: alice.access_token, body });
    await expectError(
      await upload({ device_keys: { user_id: bob.user_id, device_id: bob.device_id, keys: {}, algorithms: [] } }),
      400,
      "M_INVALID_PARAM",
    );
    await expectError(
      await upload({ device_keys: { user_id: alice.user_id, device_id: alice.device_id, algorithms: [] } }),
      400,
      "M_BAD_JSON",
    );
    await expectError(await upload({ device_keys: "nope" }), 400, "M_BAD_JSON");
    await expectError(await upload({ one_time_keys: { nocolon: { key: "x" } } }), 400, "M_BAD_JSON");
    const ok = await upload({ one_time_keys: { "signed_curve25519:AAAA": { key: "k1" } } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.one_time_key_counts.signed_curve25519, 1);
    await expectError(await upload({ one_time_keys: { "signed_curve25519:AAAA": { key: "other" } } }), 400, "M_INVALID_PARAM");
    const r = await fetchJson(url("/keys/upload"), { method: "POST", token: alice.access_token, rawBody: "{not json" });
    await expectError(r, 400, "M_NOT_JSON");
  });

  step("malformed queries and claims", async () => {
    await expectError(await fetchJson(url("/keys/query"), { method: "POST", token: alice.access_token, body: {} }), 400, "M_BAD_JSON");
    await expectError(
      await fetchJson(url("/keys/query"), { method: "POST", token: alice.access_token, body: { device_keys: { "not a user": [] } } }),
      400,
      "M_INVALID_PARAM",
    );
    await expectError(await fetchJson(url("/keys/claim"), { method: "POST", token: alice.access_token, body: {} }), 400, "M_BAD_JSON");
    await expectError(await fetchJson(url("/keys/changes"), { token: alice.access_token }), 400, "M_MISSING_PARAM");
    await expectError(await fetchJson(url("/keys/changes?from=garbage&to=s1"), { token: alice.access_token }), 400, "M_INVALID_PARAM");
    // Claiming from a device that has no keys is not an error: nothing comes back.
    const empty = await fetchJson(url("/keys/claim"), {
      method: "POST",
      token: alice.access_token,
      body: { one_time_keys: { [bob.user_id]: { NODEVICE: "signed_curve25519" } } },
    });
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body.one_time_keys, {});
  });

  step("to-device: bad shapes are refused, unknown targets skipped, good messages still delivered", async () => {
    const send = (txn, body) =>
      fetchJson(url(`/sendToDevice/org.example.test/${txn}`), { method: "PUT", token: alice.access_token, body });
    await expectError(await send("t1", {}), 400, "M_BAD_JSON");
    await expectError(await send("t2", { messages: { "not-a-user": { DEV: {} } } }), 400, "M_INVALID_PARAM");
    await expectError(await send("t3", { messages: { [bob.user_id]: { [bob.device_id]: "string" } } }), 400, "M_BAD_JSON");
    // Unknown users and devices: accepted (the sender's device list may be stale) and dropped.
    const skipped = await send("t4", {
      messages: { "@nobody:localhost": { X: { a: 1 } }, [bob.user_id]: { NOSUCHDEVICE: { a: 2 } } },
    });
    assert.equal(skipped.status, 200);
    const good = await send("t5", { messages: { [bob.user_id]: { [bob.device_id]: { n: 42 } } } });
    assert.equal(good.status, 200);
    const again = await send("t5", { messages: { [bob.user_id]: { [bob.device_id]: { n: 42 } } } });
    assert.equal(again.status, 200, "a retried transaction is accepted");
    let received = [];
    await waitFor(async () => {
      const r = await fetchJson(url("/sync?timeout=0"), { token: bob.access_token });
      received = r.body.to_device.events.filter((e) => e.type === "org.example.test");
      return received.length > 0;
    }, "bob's sync carries the good message");
    assert.equal(received.length, 1, "only the good message, once: " + JSON.stringify(received));
    assert.equal(received[0].content.n, 42);
    assert.equal(received[0].sender, alice.user_id);
  });

  step("the server is still healthy", async () => {
    const r = await fetch(`${server.baseUrl}/health`);
    assert.equal(r.status, 200);
  });
});
