// End-to-end acceptance scenario: the real matrix-js-sdk (no crypto) against
// the real Atrium server binary. Two users, one private room, messages both
// ways, state changes, back-pagination by a fresh client, redaction, an
// idempotent send retry, and a server restart while both clients are syncing.
// Finally every client's timeline must hold every sent message exactly once.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, withServerLogOnFailure, waitFor, fetchJson, describeResponse } from "./lib/server.mjs";
import {
  sdk,
  makeClient,
  startAndPrepare,
  waitForSyncStateAfter,
  liveMessages,
  liveBodies,
  scrollbackToStart,
  clientLogText,
  clientLogSink,
  describeSyncLog,
} from "./lib/clients.mjs";

const ROOM_NAME = "Atrium E2E room";
const ROOM_TOPIC = "initial topic";
const NEW_NAME = "Atrium E2E room (renamed)";
const NEW_TOPIC = "the topic, changed";
const CUSTOM_TYPE = "org.atrium.e2e.state";
const CUSTOM_KEY = "the-key";
const PASSWORD = "correct horse battery staple";

describe("homeserver: two matrix-js-sdk clients against a real Atrium", { timeout: 600_000 }, () => {
  let server;
  let aliceCreds, bobCreds;
  let alice, bob, bob2; // sdk clients
  const clients = [];
  let roomId;
  const sent = []; // {body, eventId, sender, redacted?} in server order
  let counter = 0;
  const nextBody = () => `m-${++counter}`;
  let blockedBy = null; // name of a failed critical step
  const membershipSeen = []; // bob's RoomMember.membership events
  let idemTxn, idemEventId;

  after(async () => {
    for (const c of clients) {
      try {
        c.stopClient();
      } catch {}
    }
    if (server) {
      const info = await server.stop();
      if (info && info.code !== 0) {
        process.stderr.write(`[harness] note: final SIGTERM exit code=${info.code} signal=${info.signal}\n`);
      }
    }
  });

  /** One sequential step of the scenario; later steps are skipped after a critical failure. */
  function step(name, fn, { critical = false, timeout = 120_000 } = {}) {
    it(name, { timeout }, async (t) => {
      if (blockedBy) {
        t.skip(`earlier critical step failed: ${blockedBy}`);
        return;
      }
      try {
        await withServerLogOnFailure(() => server, name, fn, () => clientLogText());
      } catch (e) {
        if (critical) blockedBy = name;
        throw e;
      }
    });
  }

  const room = (c) => c.getRoom(roomId);
  const sees = (c, body) => liveBodies(room(c)).includes(body);

  async function sendText(client, body, { viaSendEvent = false } = {}) {
    const res = viaSendEvent
      ? await client.sendEvent(roomId, "m.room.message", { msgtype: "m.text", body })
      : await client.sendTextMessage(roomId, body);
    assert.match(res.event_id, /^\$/, `send ${body}: event_id ${res.event_id}`);
    sent.push({ body, eventId: res.event_id, sender: client.getUserId() });
    return res.event_id;
  }

  function waitSees(client, body, what) {
    return waitFor(() => sees(client, body), what ?? `${client.label} sees "${body}" in the live timeline`, 20000, {
      detail: () =>
        `sync=[${describeSyncLog(client, 6)}] last bodies: ${JSON.stringify(liveBodies(room(client)).slice(-8))}`,
    });
  }

  step(
    "server starts with a fresh data dir and answers /health",
    async () => {
      server = await startServer();
    },
    { critical: true },
  );

  step(
    "register alice and bob; sdk clients start and reach PREPARED",
    async () => {
      aliceCreds = await server.registerUser("alice", PASSWORD);
      bobCreds = await server.registerUser("bob", PASSWORD);
      assert.equal(aliceCreds.user_id, "@alice:localhost");
      assert.equal(bobCreds.user_id, "@bob:localhost");
      assert.ok(aliceCreds.device_id, "register returns a device_id");
      alice = makeClient(server.baseUrl, aliceCreds, "alice");
      bob = makeClient(server.baseUrl, bobCreds, "bob");
      clients.push(alice, bob);
      bob.on(sdk.RoomMemberEvent.Membership, (event, member) => {
        membershipSeen.push({ roomId: member.roomId, userId: member.userId, membership: member.membership });
      });
      await Promise.all([startAndPrepare(alice), startAndPrepare(bob)]);
    },
    { critical: true },
  );

  step(
    "alice creates a private_chat room with name and topic and invites bob",
    async () => {
      const res = await alice.createRoom({
        preset: sdk.Preset.PrivateChat,
        visibility: sdk.Visibility.Private,
        name: ROOM_NAME,
        topic: ROOM_TOPIC,
      });
      roomId = res.room_id;
      assert.match(roomId, /^!.+:localhost$/, `room id ${roomId}`);
      await waitFor(() => room(alice)?.getMyMembership() === "join", "alice's client has the room, joined");
      await alice.invite(roomId, bobCreds.user_id);
      await waitFor(
        () => room(alice)?.getMember(bobCreds.user_id)?.membership === "invite",
        "alice's client sees bob's membership as invite",
      );
      const r = room(alice);
      assert.equal(r.name, ROOM_NAME);
      assert.equal(r.currentState.getStateEvents("m.room.topic", "")?.getContent().topic, ROOM_TOPIC);
      assert.equal(r.currentState.getStateEvents("m.room.join_rules", "")?.getContent().join_rule, "invite");
    },
    { critical: true },
  );

  step(
    "bob sees the invite through /sync (Room + RoomMember events, membership invite)",
    async () => {
      await waitFor(() => room(bob)?.getMyMembership() === "invite", "bob's client has the room with membership invite", 20000, {
        detail: () => `rooms=${JSON.stringify(bob.getRooms().map((r) => [r.roomId, r.getMyMembership()]))}`,
      });
      await waitFor(
        () => membershipSeen.some((m) => m.roomId === roomId && m.userId === bobCreds.user_id && m.membership === "invite"),
        "RoomMember.membership event for bob = invite",
        5000,
        { detail: () => JSON.stringify(membershipSeen) },
      );
    },
    { critical: true },
  );

  step("the invite carries stripped state: bob sees the room name before joining", async () => {
    assert.equal(room(bob).name, ROOM_NAME, "invite_state should include m.room.name");
    const inviter = room(bob).getMember(bobCreds.user_id)?.events.member?.getSender();
    assert.equal(inviter, aliceCreds.user_id, "bob's invite member event is sent by alice");
  });

  step(
    "bob joins; both clients see membership join",
    async () => {
      await bob.joinRoom(roomId);
      await waitFor(() => room(bob)?.getMyMembership() === "join", "bob's client: my membership join");
      await waitFor(
        () => room(alice)?.getMember(bobCreds.user_id)?.membership === "join",
        "alice's client sees bob joined",
      );
      // After joining, bob has the full room state.
      await waitFor(() => room(bob).currentState.getStateEvents("m.room.create", ""), "bob has m.room.create");
      assert.equal(room(bob).currentState.getStateEvents("m.room.topic", "")?.getContent().topic, ROOM_TOPIC);
    },
    { critical: true },
  );

  step(
    "messages both ways appear in the other user's timeline",
    async () => {
      const b1 = nextBody();
      await sendText(alice, b1);
      await waitSees(bob, b1);
      const b2 = nextBody();
      await sendText(bob, b2, { viaSendEvent: true });
      await waitSees(alice, b2);
      const b3 = nextBody();
      await sendText(alice, b3, { viaSendEvent: true });
      await waitSees(bob, b3);
      const b4 = nextBody();
      await sendText(bob, b4);
      await waitSees(alice, b4);
      // sender is right on the receiving side
      const ev = liveMessages(room(bob)).find((e) => e.getContent().body === b1);
      assert.equal(ev.getSender(), aliceCreds.user_id);
      assert.equal(ev.getId(), sent[0].eventId, "received event id equals the id returned by send");
    },
    { critical: true },
  );

  step("alice's state changes (name, topic, custom type with state_key) reach bob", async () => {
    await alice.setRoomName(roomId, NEW_NAME);
    await alice.setRoomTopic(roomId, NEW_TOPIC);
    await alice.sendStateEvent(roomId, CUSTOM_TYPE, { value: 42, who: "alice" }, CUSTOM_KEY);
    const st = () => room(bob).currentState;
    await waitFor(() => st().getStateEvents("m.room.name", "")?.getContent().name === NEW_NAME, "bob sees the new room name");
    await waitFor(() => st().getStateEvents("m.room.topic", "")?.getContent().topic === NEW_TOPIC, "bob sees the new topic");
    await waitFor(
      () => st().getStateEvents(CUSTOM_TYPE, CUSTOM_KEY)?.getContent().value === 42,
      `bob sees ${CUSTOM_TYPE}/${CUSTOM_KEY}`,
    );
    assert.equal(room(bob).name, NEW_NAME);
    assert.equal(st().getStateEvents(CUSTOM_TYPE, CUSTOM_KEY).getSender(), aliceCreds.user_id);
    // no state for a different key
    assert.equal(st().getStateEvents(CUSTOM_TYPE, "other-key"), null);
    // and the raw state API agrees
    const r = await server.api(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${CUSTOM_TYPE}/${CUSTOM_KEY}`, {
      token: bobCreds.access_token,
    });
    assert.equal(r.status, 200, describeResponse(r));
    assert.deepEqual(r.body, { value: 42, who: "alice" });
  });

  step(
    "alice sends 60 messages; bob's live client gets them all",
    async () => {
      let last;
      for (let i = 0; i < 60; i++) {
        last = nextBody();
        await sendText(alice, last);
      }
      await waitSees(bob, last);
      // A limited sync may have left a gap in bob's live timeline; paginate it closed.
      await scrollbackToStart(bob, room(bob));
      const have = new Set(liveBodies(room(bob)));
      const missing = sent.filter((s) => !have.has(s.body)).map((s) => s.body);
      assert.deepEqual(missing, [], "bob's timeline misses messages");
    },
    { critical: true },
  );

  step("a fresh bob client (sdk login) back-paginates the whole history in order, without duplicates", async () => {
    const tmp = sdk.createClient({ baseUrl: server.baseUrl });
    const login = await tmp.loginRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: "bob" },
      password: PASSWORD,
    });
    assert.equal(login.user_id, bobCreds.user_id);
    assert.ok(login.access_token && login.device_id, "login returns access_token and device_id");
    assert.notEqual(login.device_id, bobCreds.device_id, "a new login gets a new device");
    bob2 = makeClient(server.baseUrl, login, "bob2");
    clients.push(bob2);
    await startAndPrepare(bob2);
    const r = room(bob2);
    assert.ok(r, "fresh client has the room after initial sync");
    assert.equal(r.getMyMembership(), "join");
    assert.equal(r.name, NEW_NAME, "room name from initial sync state");
    const initial = r.getLiveTimeline().getEvents().length;
    assert.ok(initial <= 20, `initial sync timeline should honour the filter limit 20, got ${initial} events`);
    assert.notEqual(r.oldState.paginationToken, null, "initial sync timeline must offer a prev_batch token (history is longer)");
    const calls = await scrollbackToStart(bob2, r, 30);
    assert.ok(calls >= 2, `expected several scrollback calls, made ${calls}`);
    const events = r.getLiveTimeline().getEvents();
    assert.equal(events[0].getType(), "m.room.create", "timeline starts with m.room.create after full back-pagination");
    const msgs = liveMessages(r);
    const ids = msgs.map((e) => e.getId());
    assert.equal(new Set(ids).size, ids.length, "duplicate event ids in back-paginated timeline");
    assert.deepEqual(
      msgs.map((e) => e.getContent().body),
      sent.map((s) => s.body),
      "back-paginated messages (in order) differ from what was sent",
    );
    assert.deepEqual(ids, sent.map((s) => s.eventId));
    // all event ids of the timeline (state too) are unique
    const allIds = events.map((e) => e.getId());
    assert.equal(new Set(allIds).size, allIds.length, "duplicate event ids among all timeline events");
  });

  step("alice redacts one of her messages; bob (and the fresh client) see it redacted", async () => {
    const target = sent.find((s) => s.sender === aliceCreds.user_id && s.body === "m-10") ?? sent.find((s) => s.sender === aliceCreds.user_id);
    if (!room(bob).findEventById(target.eventId)) await scrollbackToStart(bob, room(bob));
    assert.ok(room(bob).findEventById(target.eventId), "bob has the target event before redaction");
    const res = await alice.redactEvent(roomId, target.eventId, undefined, { reason: "e2e test" });
    assert.match(res.event_id, /^\$/);
    target.redacted = true;
    await waitFor(() => room(bob).findEventById(target.eventId)?.isRedacted(), `bob sees ${target.body} redacted`);
    assert.equal(room(bob).findEventById(target.eventId).getContent().body, undefined, "redacted content is stripped");
    if (bob2 && room(bob2)?.findEventById(target.eventId)) {
      await waitFor(() => room(bob2).findEventById(target.eventId)?.isRedacted(), `bob2 sees ${target.body} redacted`);
    }
    // Server view: GET /event returns the redacted form.
    const r = await server.api(
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(target.eventId)}`,
      { token: bobCreds.access_token },
    );
    assert.equal(r.status, 200, describeResponse(r));
    assert.deepEqual(r.body.content, {}, "redacted m.room.message has empty content");
    assert.equal(r.body.unsigned?.redacted_because?.event_id, res.event_id, "unsigned.redacted_because");
    bob2?.stopClient();
  });

  step("PUT /send with the same txnId twice returns the same event_id", async () => {
    idemTxn = `e2e-idem-${Date.now()}`;
    const body = nextBody();
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${idemTxn}`;
    const content = { msgtype: "m.text", body };
    const r1 = await server.api(path, { method: "PUT", token: aliceCreds.access_token, body: content });
    assert.equal(r1.status, 200, describeResponse(r1));
    const r2 = await server.api(path, { method: "PUT", token: aliceCreds.access_token, body: content });
    assert.equal(r2.status, 200, describeResponse(r2));
    idemEventId = r1.body.event_id;
    sent.push({ body, eventId: idemEventId, sender: aliceCreds.user_id });
    if (r2.body.event_id !== idemEventId) {
      // Record the duplicate (reported here) so that later "exactly once" checks don't report it again.
      sent.push({ body, eventId: r2.body.event_id, sender: aliceCreds.user_id, duplicateOf: idemEventId });
    }
    assert.equal(r2.body.event_id, idemEventId, "retried PUT must return the original event_id");
    await waitSees(bob, body);
    // The same txnId from a *different* device/token is a different transaction.
    const bobBody = nextBody();
    const r3 = await server.api(path, { method: "PUT", token: bobCreds.access_token, body: { msgtype: "m.text", body: bobBody } });
    assert.equal(r3.status, 200, describeResponse(r3));
    assert.notEqual(r3.body.event_id, idemEventId, "txnId is scoped per device: bob's PUT is a new event");
    sent.push({ body: bobBody, eventId: r3.body.event_id, sender: bobCreds.user_id });
    await waitSees(alice, bobBody);
  });

  step(
    "server restarts (SIGTERM, exit 0) while both clients sync; both resume syncing",
    async () => {
      for (const c of [alice, bob]) {
        assert.ok(["SYNCING", "PREPARED"].includes(c.getSyncState()), `${c.label} sync state before restart: ${c.getSyncState()}`);
      }
      const marker = clientLogSink.length;
      await server.restart(); // asserts exit code 0, waits for /health
      const up = Date.now();
      await Promise.all([
        waitForSyncStateAfter(alice, up, ["SYNCING", "PREPARED"]),
        waitForSyncStateAfter(bob, up, ["SYNCING", "PREPARED"]),
      ]);
      process.stderr.write(
        `[restart] sync states: alice=[${describeSyncLog(alice, 5)}] bob=[${describeSyncLog(bob, 5)}] ` +
          `(${clientLogSink.length - marker} sdk log lines during restart)\n`,
      );
    },
    { critical: true },
  );

  step("room state persisted across the restart", async () => {
    const base = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state`;
    const n = await server.api(`${base}/m.room.name/`, { token: bobCreds.access_token });
    assert.equal(n.status, 200, describeResponse(n));
    assert.equal(n.body.name, NEW_NAME);
    const c = await server.api(`${base}/${CUSTOM_TYPE}/${CUSTOM_KEY}`, { token: bobCreds.access_token });
    assert.equal(c.status, 200, describeResponse(c));
    assert.equal(c.body.value, 42);
    const w = await server.api(`/_matrix/client/v3/account/whoami`, { token: aliceCreds.access_token });
    assert.equal(w.status, 200, `access token survives restart: ${describeResponse(w)}`);
    assert.equal(w.body.user_id, aliceCreds.user_id);
  });

  step("txnId idempotency survives the restart (same PUT -> same event_id)", async () => {
    assert.ok(idemTxn, "pre-restart idempotency step ran");
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${idemTxn}`;
    const body = sent.find((s) => s.eventId === idemEventId).body;
    const r = await server.api(path, { method: "PUT", token: aliceCreds.access_token, body: { msgtype: "m.text", body } });
    assert.equal(r.status, 200, describeResponse(r));
    if (r.body.event_id !== idemEventId) {
      // Record the duplicate (reported here) so that later "exactly once" checks don't report it again.
      sent.push({ body, eventId: r.body.event_id, sender: aliceCreds.user_id, duplicateOf: idemEventId });
    }
    assert.equal(r.body.event_id, idemEventId, "retried PUT after restart must return the original event_id");
  });

  step(
    "after the restart, messages flow both ways again",
    async () => {
      for (let i = 0; i < 3; i++) {
        const a = nextBody();
        await sendText(alice, a);
        await waitSees(bob, a);
        const b = nextBody();
        await sendText(bob, b, { viaSendEvent: i === 1 });
        await waitSees(alice, b);
      }
      // a burst from both at once
      const burst = [];
      for (let i = 0; i < 5; i++) {
        burst.push(nextBody(), nextBody());
      }
      for (let i = 0; i < burst.length; i += 2) {
        await sendText(alice, burst[i]);
        await sendText(bob, burst[i + 1]);
      }
      await waitSees(alice, burst.at(-1));
      await waitSees(bob, burst.at(-2));
    },
    { critical: true },
  );

  for (const who of ["alice", "bob"]) {
    step(`${who}'s client timeline holds every sent message exactly once`, async () => {
      const c = who === "alice" ? alice : bob;
      const r = room(c);
      await waitFor(
        () => liveMessages(r).every((e) => e.status === null),
        `${who}: no pending local echoes`,
        20000,
        { detail: () => JSON.stringify(liveMessages(r).filter((e) => e.status !== null).map((e) => [e.getContent().body, e.status])) },
      );
      await scrollbackToStart(c, r);
      checkTimeline(who, liveMessages(r));
    });
  }

  step("server /messages history holds every sent message exactly once, in send order", async () => {
    const s = await server.api(
      `/_matrix/client/v3/sync?timeout=0&filter=${encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 1 } } }))}`,
      { token: bobCreds.access_token },
    );
    assert.equal(s.status, 200, describeResponse(s));
    let from = s.body.next_batch;
    const events = [];
    for (let page = 0; page < 100; page++) {
      const q = new URLSearchParams({ dir: "b", limit: "25", from });
      const r = await server.api(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?${q}`, {
        token: bobCreds.access_token,
      });
      assert.equal(r.status, 200, describeResponse(r));
      assert.ok(Array.isArray(r.body.chunk), "chunk array");
      events.push(...r.body.chunk);
      if (!r.body.end || r.body.chunk.length === 0) break;
      assert.notEqual(r.body.end, from, "pagination token must advance");
      from = r.body.end;
    }
    events.reverse();
    assert.equal(events[0]?.type, "m.room.create", "history starts at m.room.create");
    const allIds = events.map((e) => e.event_id);
    assert.equal(new Set(allIds).size, allIds.length, "duplicate event ids in /messages history");
    const msgs = events.filter((e) => e.type === "m.room.message");
    const expected = sent; // in server order; includes duplicates already reported by the txnId steps
    assert.deepEqual(
      msgs.map((e) => e.event_id),
      expected.map((x) => x.eventId),
      "message event ids (in order) differ from the sent ones",
    );
    for (const [i, e] of msgs.entries()) {
      const want = expected[i];
      if (want.redacted) assert.deepEqual(e.content, {}, `${want.body} should be redacted`);
      else assert.equal(e.content.body, want.body);
    }
  });

  /** Assert the given sdk timeline messages are exactly the sent ones, each once. */
  function checkTimeline(who, msgs) {
    const ids = msgs.map((e) => e.getId());
    const dupIds = ids.filter((id, i) => ids.indexOf(id) !== i);
    assert.deepEqual(dupIds, [], `${who}: duplicate event ids in timeline`);
    const expected = sent; // includes duplicates already reported by the txnId steps
    const knownDup = new Set(sent.filter((x) => x.duplicateOf).map((x) => x.eventId));
    const byId = new Map(msgs.map((e) => [e.getId(), e]));
    const missing = expected.filter((x) => !byId.has(x.eventId)).map((x) => x.body);
    assert.deepEqual(missing, [], `${who}: messages missing from the timeline`);
    const extra = msgs.filter((e) => !expected.some((x) => x.eventId === e.getId())).map((e) => [e.getId(), e.getContent().body]);
    assert.deepEqual(extra, [], `${who}: unexpected (duplicated or unknown) message events in the timeline`);
    for (const x of expected) {
      const e = byId.get(x.eventId);
      if (x.redacted) assert.ok(e.isRedacted(), `${who}: ${x.body} should be redacted`);
      else assert.equal(e.getContent().body, x.body, `${who}: body of ${x.eventId}`);
    }
    const bodies = msgs.filter((e) => !e.isRedacted() && !knownDup.has(e.getId())).map((e) => e.getContent().body);
    const wantBodies = expected.filter((x) => !x.redacted && !x.duplicateOf).map((x) => x.body);
    assert.equal(new Set(bodies).size, bodies.length, `${who}: a body appears twice`);
    assert.deepEqual([...bodies].sort(), [...wantBodies].sort(), `${who}: set of bodies differs from the set sent`);
  }
});
