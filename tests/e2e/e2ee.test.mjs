// End-to-end encryption through Atrium with matrix-js-sdk's Rust crypto:
// device keys, one-time keys, Olm-encrypted to-device messages (how MatrixRTC
// media keys travel) and Megolm-encrypted room messages, including a device
// that appears later. The server only stores and relays opaque keys.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { clientLogText, makeClient, sdk, startAndPrepare } from "./lib/clients.mjs";
import { fetchJson, registerUser, startServer, waitFor, withServerLogOnFailure } from "./lib/server.mjs";

const ENCRYPTION = { algorithm: "m.megolm.v1.aes-sha2" };

async function cryptoClient(baseUrl, creds, label) {
  const client = makeClient(baseUrl, creds, label);
  await client.initRustCrypto({ useIndexedDB: false });
  await startAndPrepare(client, 30000);
  return client;
}

async function login(baseUrl, creds, deviceName) {
  const r = await fetchJson(`${baseUrl}/_matrix/client/v3/login`, {
    method: "POST",
    body: {
      type: "m.login.password",
      identifier: { type: "m.id.user", user: creds.user_id },
      password: creds.password,
      initial_device_display_name: deviceName,
    },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { ...creds, access_token: r.body.access_token, device_id: r.body.device_id };
}

/** The decrypted body of the event with this id once the client has it. */
function decryptedBody(client, roomId, eventId) {
  const room = client.getRoom(roomId);
  const event = room?.findEventById(eventId);
  if (!event || event.isBeingDecrypted() || event.isDecryptionFailure()) return undefined;
  return event.getType() === "m.room.message" ? event.getContent().body : undefined;
}

describe("end-to-end encryption with Rust crypto", () => {
  let server;
  let alice, bob, bob2;
  let aliceCreds, bobCreds;
  let roomId;
  const clients = [];
  const step = (name, fn) =>
    test(name, () => withServerLogOnFailure(() => server, name, fn, () => clientLogText(200)));

  before(async () => {
    server = await startServer();
  });
  after(async () => {
    for (const c of clients) c.stopClient();
    await server?.stop();
  });

  step("two crypto clients upload device and one-time keys", async () => {
    aliceCreds = await registerUser(server.baseUrl, "alice");
    bobCreds = await registerUser(server.baseUrl, "bob");
    alice = await cryptoClient(server.baseUrl, aliceCreds, "alice");
    bob = await cryptoClient(server.baseUrl, bobCreds, "bob");
    clients.push(alice, bob);
    // The Rust crypto uploads its keys in the background once the client runs.
    let bobDevice;
    await waitFor(async () => {
      const query = await fetchJson(`${server.baseUrl}/_matrix/client/v3/keys/query`, {
        method: "POST",
        token: aliceCreds.access_token,
        body: { device_keys: { [bobCreds.user_id]: [] } },
      });
      assert.equal(query.status, 200);
      bobDevice = query.body.device_keys[bobCreds.user_id][bobCreds.device_id];
      return bobDevice;
    }, "bob's device keys are published", 30000);
    assert.ok(Object.keys(bobDevice.keys).some((k) => k.startsWith("curve25519:")));
    assert.ok(bobDevice.signatures[bobCreds.user_id], "device keys carry the device's signature");
  });

  step("an encrypted room: messages decrypt on the other side", async () => {
    const created = await alice.createRoom({
      name: "Secret",
      invite: [bobCreds.user_id],
      initial_state: [{ type: "m.room.encryption", state_key: "", content: ENCRYPTION }],
    });
    roomId = created.room_id;
    await waitFor(() => bob.getRoom(roomId)?.getMyMembership() === "invite", "bob sees the invite");
    await bob.joinRoom(roomId);
    await waitFor(
      () => alice.getRoom(roomId)?.getMember(bobCreds.user_id)?.membership === "join",
      "alice sees bob joined",
    );
    const sent = await alice.sendTextMessage(roomId, "first secret");
    const raw = await fetchJson(
      `${server.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(sent.event_id)}`,
      { token: bobCreds.access_token },
    );
    assert.equal(raw.body.type, "m.room.encrypted", "the server stores ciphertext");
    assert.ok(!JSON.stringify(raw.body).includes("first secret"));
    await waitFor(() => decryptedBody(bob, roomId, sent.event_id) === "first secret", "bob decrypts", 30000);
    const reply = await bob.sendTextMessage(roomId, "secret reply");
    await waitFor(() => decryptedBody(alice, roomId, reply.event_id) === "secret reply", "alice decrypts", 30000);
  });

  step("encrypted to-device messages arrive and decrypt", async () => {
    const received = [];
    bob.on(sdk.ClientEvent.ToDeviceEvent, (event) => {
      if (event.getType() === "io.element.call.encryption_keys") received.push(event);
    });
    const payload = {
      keys: { index: 0, key: "q83vEjRWeJq8q83vEjRWeA==" },
      room_id: roomId,
      member: { claimed_device_id: aliceCreds.device_id, id: `${aliceCreds.user_id}:${aliceCreds.device_id}` },
      session: { application: "m.call", call_id: "", scope: "m.room" },
      sent_ts: Date.now(),
    };
    const batch = await alice
      .getCrypto()
      .encryptToDeviceMessages("io.element.call.encryption_keys", [{ userId: bobCreds.user_id, deviceId: bobCreds.device_id }], payload);
    assert.equal(batch.eventType, "m.room.encrypted");
    await alice.queueToDevice(batch);
    await waitFor(() => received.length > 0, "bob receives the to-device message", 30000);
    const event = received[0];
    assert.equal(event.getSender(), aliceCreds.user_id);
    assert.equal(event.getContent().keys.key, payload.keys.key);
    assert.ok(event.isEncrypted?.() ?? true);
  });

  step("a device added later reads new messages", async () => {
    bob2 = await cryptoClient(server.baseUrl, await login(server.baseUrl, bobCreds, "bob's second device"), "bob2");
    clients.push(bob2);
    // Alice learns of the new device through /sync's device_lists.changed (not
    // by asking): only then can she share the room key with it.
    const bob2Device = bob2.getDeviceId();
    await waitFor(
      async () => {
        const devices = await alice.getCrypto().getUserDeviceInfo([bobCreds.user_id]);
        return devices.get(bobCreds.user_id)?.has(bob2Device);
      },
      "alice's crypto knows bob's new device",
      30000,
    );
    const sent = await alice.sendTextMessage(roomId, "for every device");
    await waitFor(() => decryptedBody(bob2, roomId, sent.event_id) === "for every device", "bob2 decrypts", 40000);
    await waitFor(() => decryptedBody(bob, roomId, sent.event_id) === "for every device", "bob still decrypts", 30000);
  });

  step("one-time keys are claimed once and counted in /sync", async () => {
    const claim = (token) =>
      fetchJson(`${server.baseUrl}/_matrix/client/v3/keys/claim`, {
        method: "POST",
        token,
        body: { one_time_keys: { [bobCreds.user_id]: { [bobCreds.device_id]: "signed_curve25519" } } },
      });
    const first = await claim(aliceCreds.access_token);
    const second = await claim(aliceCreds.access_token);
    const keyOf = (r) => Object.keys(r.body.one_time_keys[bobCreds.user_id]?.[bobCreds.device_id] ?? {})[0];
    assert.ok(keyOf(first), "a key is claimed");
    assert.notEqual(keyOf(first), keyOf(second), "a one-time key is never handed out twice");
  });
});
