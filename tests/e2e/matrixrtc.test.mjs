// MatrixRTC end-to-end: real matrix-js-sdk MatrixRTCSessions, each in its own
// process (lib/rtc_member.mjs), against a real Atrium. Proves:
//  a. two members see each other in the session, oldest first, with focus data;
//  b. the sdk's delayed leave (MSC4140) is scheduled and restarted on the server;
//  c. a SIGKILLed member is removed by its delayed leave, within delay + restart interval;
//  d. the same with a server restart in between: the delayed leave is durable, never early;
//  e. sticky (MSC4354, Element Call matrix_2_0) memberships: seen, removed by a delayed
//     sticky leave after a kill, and expiring by themselves after a short sticky duration;
//     the /sync sticky section and the duration cap;
//  f. OpenID tokens (request_token, federation userinfo, expiry) and RTC transport discovery;
//  g. an owned-state room (org.matrix.msc3757.11): state key without the leading '_';
//  h. a proper leave (the sdk sends the scheduled delayed leave at once).
// Timing bounds are asserted with generous margins; waits are event driven.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { withServerLogOnFailure, waitFor, describeResponse, sleep } from "./lib/server.mjs";
import {
  startServerWithConfig,
  loginDevice,
  listDelayed,
  stateContent,
  stateEvent,
  RtcMember,
  who,
  enc,
  CALL_MEMBER,
  RTC_MEMBER,
} from "./lib/rtc.mjs";

const PASSWORD = "correct horse battery staple";
const LIVEKIT_URL = "http://127.0.0.1:1/livekit/jwt";
const TRANSPORTS = [{ type: "livekit", livekit_service_url: LIVEKIT_URL }];
const OPENID_LIFETIME_MS = 1000;
const FOCUS_ACTIVE = { type: "livekit", focus_selection: "oldest_membership" };
// Per-member timings (delayedLeaveEventDelayMs / delayedLeaveEventRestartMs).
// A survives everything (incl. a server restart), so its delay is long.
const T_A = { delayMs: 10000, restartMs: 2500 };
const T_B1 = { delayMs: 4000, restartMs: 1000 }; // killed in c
const T_B2 = { delayMs: 8000, restartMs: 2000 }; // killed in d, across a server restart
const T_S1 = { delayMs: 4000, restartMs: 1000 }; // sticky, killed in e
const T_S2 = { delayMs: 10000, restartMs: 2500 }; // sticky observer
const T_OWN = { delayMs: 4000, restartMs: 1000 }; // owned-state room, killed in g
const RAW_STICKY_MS = 6000;
// Slack for "not early": the last restart may have reached the server up to
// restartMs before the kill, plus request latency.
const EARLY_SLACK_MS = 1000;
// Margin for "in time": sync round trips, sdk recalculation, a slow CI machine.
const LATE_MARGIN_MS = 5000;

describe("MatrixRTC: matrix-js-sdk sessions in child processes against a real Atrium", { timeout: 900_000 }, () => {
  let server;
  const servers = []; // extra servers (step i)
  let alice, bob, carol; // registration creds {user_id, access_token, device_id}
  let roomId;
  let roomVersion;
  const members = []; // every RtcMember spawned
  let A, B1, B2, S1, S2, OWN; // RtcMembers
  let blockedBy = null;
  const expectedFoci = () => [{ type: "livekit", livekit_service_url: LIVEKIT_URL, livekit_alias: roomId }];

  after(async () => {
    await Promise.all(members.map((m) => m.kill().catch(() => {})));
    for (const s of servers) await s.stop().catch(() => {});
    if (server) await server.stop();
  });

  function step(name, fn, { critical = false, timeout = 120_000 } = {}) {
    it(name, { timeout }, async (t) => {
      if (blockedBy) {
        t.skip(`earlier critical step failed: ${blockedBy}`);
        return;
      }
      try {
        await withServerLogOnFailure(() => server, name, () => fn(t), () =>
          members.map((m) => `----- ${m.describe()}\n`).join(""),
        );
      } catch (e) {
        if (critical) blockedBy = name;
        throw e;
      }
    });
  }

  async function spawnMember(label, localpart, deviceId, timings, { mode = "state", room = roomId } = {}) {
    const dev = await loginDevice(server, localpart, PASSWORD, deviceId);
    assert.equal(dev.device_id, deviceId, `login with device_id ${deviceId}`);
    const m = new RtcMember({
      label,
      baseUrl: server.baseUrl,
      userId: dev.user_id,
      accessToken: dev.access_token,
      deviceId: dev.device_id,
      roomId: room,
      mode,
      livekitServiceUrl: LIVEKIT_URL,
      ...timings,
    });
    m.userId = dev.user_id;
    m.deviceId = dev.device_id;
    m.timings = timings;
    members.push(m);
    return m;
  }

  /** The legacy state key the sdk uses in this room (leading '_' unless an msc3757/msc3779 room). */
  function legacyStateKey(userId, deviceId, version = roomVersion) {
    const k = `${userId}_${deviceId}_m.call`;
    return /^org\.matrix\.msc(3757|3779)\b/.test(version) ? k : `_${k}`;
  }

  const api = (p, opts) => server.api(p, opts);

  /** Find the user's scheduled delayed event matching `match`; returns {list, entry}. */
  async function findDelayed(token, match) {
    const r = await listDelayed(server, token);
    assert.equal(r.status, 200, `GET delayed_events: ${describeResponse(r)}`);
    assert.ok(Array.isArray(r.body?.delayed_events), `delayed_events must be an array: ${describeResponse(r)}`);
    return { body: r.body, entry: r.body.delayed_events.find(match), text: r.text };
  }

  /** Assert the leave event (content {}) for a killed member: sender, not early, not late. */
  function assertLeaveTiming(ev, member, { latestMs, what }) {
    const { delayMs, restartMs } = member.timings;
    const earliest = member.killedAt + delayMs - restartMs - EARLY_SLACK_MS;
    assert.ok(ev, `${what}: leave event present`);
    assert.equal(ev.sender, member.userId, `${what}: the leave is sent as the member's user`);
    assert.ok(
      ev.origin_server_ts >= earliest,
      `${what}: delayed leave fired too early: origin_server_ts ${ev.origin_server_ts} is ${ev.origin_server_ts - member.killedAt} ms ` +
        `after the kill; expected >= ${delayMs - restartMs - EARLY_SLACK_MS} (delay ${delayMs}, restart interval ${restartMs})`,
    );
    assert.ok(
      ev.origin_server_ts <= latestMs,
      `${what}: delayed leave fired too late: ${ev.origin_server_ts - member.killedAt} ms after the kill; ` +
        `expected <= ${latestMs - member.killedAt} ms`,
    );
  }

  // ---------------------------------------------------------------- setup
  step(
    "setup: server with rtc config, /versions advertises msc4140 + msc4354, three users in one room",
    async () => {
      server = await startServerWithConfig({
        rtc_transports: TRANSPORTS,
        openid_token_lifetime_ms: OPENID_LIFETIME_MS,
        // The members here restart their delayed leave every 1-2.5 s (Element Call: 4-5 s),
        // a few devices per user: lift the per-user management limit (default 1/s, burst 20).
        rate_limits: { delayed_event_mgmt: { per_second: 50, burst: 200 } },
      });
      const v = await api("/_matrix/client/versions");
      assert.equal(v.status, 200, describeResponse(v));
      assert.equal(v.body?.unstable_features?.["org.matrix.msc4140"], true, `msc4140 in unstable_features: ${v.text}`);
      assert.equal(v.body?.unstable_features?.["org.matrix.msc4354"], true, `msc4354 in unstable_features: ${v.text}`);

      alice = await server.registerUser("alice", PASSWORD);
      bob = await server.registerUser("bob", PASSWORD);
      carol = await server.registerUser("carol", PASSWORD);
      const cr = await api("/_matrix/client/v3/createRoom", {
        method: "POST",
        token: alice.access_token,
        body: { preset: "private_chat", name: "call room", invite: [bob.user_id, carol.user_id] },
      });
      assert.equal(cr.status, 200, `createRoom: ${describeResponse(cr)}`);
      roomId = cr.body.room_id;
      for (const u of [bob, carol]) {
        const j = await api(`/_matrix/client/v3/join/${enc(roomId)}`, { method: "POST", token: u.access_token, body: {} });
        assert.equal(j.status, 200, `${u.user_id} join: ${describeResponse(j)}`);
      }
      const create = await stateContent(server, alice.access_token, roomId, "m.room.create", "");
      roomVersion = create?.room_version ?? "1";
      // Any joined member may publish its call membership: level 0 for the call member type.
      const pl = await stateContent(server, alice.access_token, roomId, "m.room.power_levels", "");
      assert.equal(pl?.events?.[CALL_MEMBER], 0, `power_levels.events["${CALL_MEMBER}"] should be 0: ${JSON.stringify(pl)}`);
    },
    { critical: true },
  );

  // ---------------------------------------------------------------- a
  step(
    "a. two members join the session; each sees both, oldest first, with focus, device and user ids",
    async () => {
      A = await spawnMember("A alice/ARTC", "alice", "ARTC", T_A);
      const started = await A.waitForEvent((e) => e.ev === "started", "session started");
      assert.equal(started.roomVersion, roomVersion, "sdk sees the room version from m.room.create");
      await A.waitJoined();
      B1 = await spawnMember("B1 bob/BRTC1", "bob", "BRTC1", T_B1);
      await B1.waitJoined();

      const expected = [`${alice.user_id}/ARTC`, `${bob.user_id}/BRTC1`];
      const same = (l) => JSON.stringify(who(l)) === JSON.stringify(expected);
      const ra = await A.waitForMemberships(same, `memberships = ${expected}`);
      const rb = await B1.waitForMemberships(same, `memberships = ${expected}`);

      for (const [r, viewer] of [[ra, "A"], [rb, "B1"]]) {
        const [ma, mb] = r.memberships;
        const ctx = `${viewer}'s view ${JSON.stringify(r.memberships)}`;
        assert.ok(ma.createdTs < mb.createdTs, `oldest first: ${ctx}`);
        for (const [m, user, dev] of [[ma, alice.user_id, "ARTC"], [mb, bob.user_id, "BRTC1"]]) {
          assert.equal(m.kind, "session", ctx);
          assert.equal(m.type, CALL_MEMBER, ctx);
          assert.equal(m.sender, user, ctx);
          assert.equal(m.userId, user, ctx);
          assert.equal(m.deviceId, dev, ctx);
          assert.equal(m.stateKey, legacyStateKey(user, dev), `state key (${ctx})`);
          assert.equal(m.memberId, `${user}:${dev}`, ctx);
          assert.equal(m.slotId, "m.call#ROOM", ctx);
          assert.deepEqual(m.focusActive, FOCUS_ACTIVE, `focus_active (${ctx})`);
          assert.deepEqual(m.transports, expectedFoci(), `foci_preferred (${ctx})`);
          // oldest_membership: everybody uses the oldest member's first preferred focus
          assert.deepEqual(m.transport, expectedFoci()[0], `transport in use (${ctx})`);
        }
      }
      assert.equal(ra.memberships[0].eventId, rb.memberships[0].eventId, "both see the same membership events");
      assert.equal(ra.memberships[1].eventId, rb.memberships[1].eventId, "both see the same membership events");

      // Raw check of what is in the room state.
      const content = await stateContent(server, bob.access_token, roomId, CALL_MEMBER, legacyStateKey(alice.user_id, "ARTC"));
      assert.equal(content?.application, "m.call", `raw state: ${JSON.stringify(content)}`);
      assert.equal(content?.device_id, "ARTC", `raw state: ${JSON.stringify(content)}`);
      assert.deepEqual(content?.foci_preferred, expectedFoci(), `raw state: ${JSON.stringify(content)}`);
      for (const m of [A, B1]) assert.deepEqual(m.errors(), [], `${m.label}: no sdk errors`);
    },
    { critical: true },
  );

  // ---------------------------------------------------------------- b
  step("b. the delayed leave is scheduled on the server and restarted (running_since advances)", async () => {
    const checks = [
      { m: A, creds: alice },
      { m: B1, creds: bob },
    ];
    const first = [];
    for (const { m, creds } of checks) {
      const key = legacyStateKey(m.userId, m.deviceId);
      const { body, entry, text } = await findDelayed(
        creds.access_token,
        (e) => e.room_id === roomId && e.type === CALL_MEMBER && e.state_key === key,
      );
      assert.ok(entry, `${m.label}: a scheduled ${CALL_MEMBER} delayed event with state_key ${key}: ${text}`);
      assert.equal(typeof entry.delay_id, "string", text);
      assert.equal(entry.delay, m.timings.delayMs, `delay (${text})`);
      assert.deepEqual(entry.content, {}, `the delayed leave's content is {} (${text})`);
      assert.equal(typeof entry.running_since, "number", `running_since (${text})`);
      const now = Date.now();
      assert.ok(
        entry.running_since <= now + 1000 && entry.running_since >= now - m.timings.restartMs - 3000,
        `running_since ${entry.running_since} should be a recent timestamp (now ${now}, restart every ${m.timings.restartMs} ms)`,
      );
      // the sdk's current delay id is the one on the server
      const lastDelay = [...m.events].reverse().find((e) => e.ev === "delay_id");
      assert.equal(lastDelay?.delayId, entry.delay_id, `${m.label}: the sdk's delay id is the listed one`);
      assert.ok(Array.isArray(body.scheduled), `"scheduled" list present too: ${text}`);
      assert.ok(body.scheduled.some((e) => e.delay_id === entry.delay_id), `"scheduled" lists it too: ${text}`);
      first.push({ m, creds, key, entry });
    }
    await sleep(Math.max(T_A.restartMs, T_B1.restartMs) + 1500);
    for (const { m, creds, key, entry } of first) {
      const { entry: again, text } = await findDelayed(creds.access_token, (e) => e.delay_id === entry.delay_id);
      assert.ok(again, `${m.label}: delayed event ${entry.delay_id} still scheduled: ${text}`);
      assert.equal(again.state_key, key);
      assert.ok(
        again.running_since > entry.running_since,
        `${m.label}: running_since should advance with the sdk's restarts: ${entry.running_since} -> ${again.running_since}`,
      );
    }
  });

  // ---------------------------------------------------------------- c
  step(
    "c. SIGKILL a member: its delayed leave removes it within delay + restart interval; state is {}",
    async (t) => {
      const { delayMs, restartMs } = B1.timings;
      const { entry: scheduled } = await findDelayed(bob.access_token, (e) => e.state_key === legacyStateKey(bob.user_id, "BRTC1"));
      const killedAt = await B1.kill();
      const bound = delayMs + restartMs + LATE_MARGIN_MS;
      const drop = await A.waitForMemberships(
        (l) => JSON.stringify(who(l)) === JSON.stringify([`${alice.user_id}/ARTC`]),
        "bob's membership gone, only alice left",
        bound + 15000,
        killedAt,
      );
      const took = drop.t - killedAt;
      t.diagnostic(`A saw B1's leave ${took} ms after SIGKILL (delay ${delayMs}, restart ${restartMs}, bound ${bound})`);
      assert.ok(took <= bound, `A saw the leave ${took} ms after the kill; expected <= ${bound} (delay ${delayMs} + restart ${restartMs} + ${LATE_MARGIN_MS})`);
      assert.ok(took >= delayMs - restartMs - EARLY_SLACK_MS, `A saw the leave only ${took} ms after the kill: earlier than the delay allows`);

      const key = legacyStateKey(bob.user_id, "BRTC1");
      assert.deepEqual(await stateContent(server, alice.access_token, roomId, CALL_MEMBER, key), {}, "raw state of the dead device is {}");
      const ev = await stateEvent(server, alice.access_token, roomId, CALL_MEMBER, key);
      t.diagnostic(`B1's leave event origin_server_ts is ${ev?.origin_server_ts - killedAt} ms after SIGKILL`);
      assertLeaveTiming(ev, B1, { latestMs: killedAt + delayMs + restartMs + LATE_MARGIN_MS, what: "B1" });
      if (scheduled) {
        const { entry: still, text } = await findDelayed(bob.access_token, (e) => e.delay_id === scheduled.delay_id);
        assert.equal(still, undefined, `the sent delayed event is no longer listed: ${text}`);
        const r = await api(`/_matrix/client/unstable/org.matrix.msc4140/delayed_events/${enc(scheduled.delay_id)}/restart`, {
          method: "POST",
          token: bob.access_token,
          body: {},
        });
        assert.equal(r.status, 404, `restart of a delayed event that was sent: ${describeResponse(r)}`);
        assert.equal(r.body?.errcode, "M_NOT_FOUND", describeResponse(r));
      }
      assert.ok(A.memberships().some((m) => m.deviceId === "ARTC"), "A is still in the session");
    },
    { critical: true, timeout: 60_000 },
  );

  // ---------------------------------------------------------------- d
  step(
    "d. a member dies and the server restarts at once: the delayed leave still fires after the restart, not early",
    async (t) => {
      const { delayMs, restartMs } = T_B2;
      B2 = await spawnMember("B2 bob/BRTC2", "bob", "BRTC2", T_B2);
      await B2.waitJoined();
      const pair = [`${alice.user_id}/ARTC`, `${bob.user_id}/BRTC2`];
      await A.waitForMemberships((l) => JSON.stringify(who(l)) === JSON.stringify(pair), `memberships = ${pair}`);
      const key = legacyStateKey(bob.user_id, "BRTC2");
      // make sure at least one restart of B2's delayed leave happened
      await B2.waitForEvent((e) => e.ev === "status" && e.status === "Connected", "membership manager Connected", 20000).catch(() => {});
      await sleep(restartMs + 500);

      const killedAt = await B2.kill();
      const marker = Date.now();
      await server.restart();
      const restartedAt = Date.now();
      t.diagnostic(`server restart took ${restartedAt - marker} ms`);

      const earliest = killedAt + delayMs - restartMs - EARLY_SLACK_MS;
      if (Date.now() < earliest - 300) {
        const c = await stateContent(server, alice.access_token, roomId, CALL_MEMBER, key);
        assert.ok(Date.now() < earliest, "check ran before the earliest legitimate leave");
        t.diagnostic(`${Date.now() - killedAt} ms after SIGKILL (server restarted): B2's membership is still there, as it must be`);
        assert.equal(c?.application, "m.call", `right after the restart (${Date.now() - killedAt} ms after the kill, delay ${delayMs}) B2 must still be joined: ${JSON.stringify(c)}`);
      } else {
        t.diagnostic(`restart took too long (${restartedAt - killedAt} ms after the kill) to check 'not yet fired'`);
      }

      const latest = Math.max(killedAt + delayMs, restartedAt) + restartMs + LATE_MARGIN_MS;
      const drop = await A.waitForMemberships(
        (l) => JSON.stringify(who(l)) === JSON.stringify([`${alice.user_id}/ARTC`]),
        "B2's membership gone after the server restart",
        latest - Date.now() + 20000,
        killedAt,
      );
      t.diagnostic(`A saw B2's leave ${drop.t - killedAt} ms after SIGKILL (delay ${delayMs}, restart ${restartMs})`);
      assert.ok(drop.t <= latest, `A saw the leave ${drop.t - killedAt} ms after the kill; expected <= ${latest - killedAt}`);
      assert.deepEqual(await stateContent(server, alice.access_token, roomId, CALL_MEMBER, key), {}, "raw state of the dead device is {}");
      const ev = await stateEvent(server, alice.access_token, roomId, CALL_MEMBER, key);
      t.diagnostic(`B2's leave event origin_server_ts is ${ev?.origin_server_ts - killedAt} ms after SIGKILL`);
      assertLeaveTiming(ev, B2, { latestMs: latest, what: "B2 (across restart)" });

      // The survivor never lost its own membership and keeps restarting its delayed leave after the restart.
      const lost = A.membershipReports().filter((r) => r.t >= killedAt && !r.memberships.some((m) => m.deviceId === "ARTC"));
      assert.deepEqual(lost, [], "A's own membership never vanished across the restart");
      const { entry: e1, text } = await findDelayed(alice.access_token, (e) => e.state_key === legacyStateKey(alice.user_id, "ARTC"));
      assert.ok(e1, `A's delayed leave survived the restart: ${text}`);
      await sleep(T_A.restartMs + 1500);
      const { entry: e2 } = await findDelayed(alice.access_token, (e) => e.delay_id === e1.delay_id);
      assert.ok(e2 && e2.running_since > e1.running_since, `A's restarts work after the server restart: ${JSON.stringify([e1, e2])}`);
      assert.ok(e2.running_since >= restartedAt - 500, "running_since was restarted after the server restart");
    },
    { critical: true, timeout: 120_000 },
  );

  // ---------------------------------------------------------------- e
  step("e1. sticky (matrix_2_0) members: both seen; the killed one is removed by its delayed sticky leave", async (t) => {
    S2 = await spawnMember("S2 carol/CSTK (sticky)", "carol", "CSTK", T_S2, { mode: "sticky" });
    await S2.waitJoined();
    S1 = await spawnMember("S1 bob/BSTK (sticky)", "bob", "BSTK", T_S1, { mode: "sticky" });
    await S1.waitJoined();
    const three = [`${alice.user_id}/ARTC`, `${carol.user_id}/CSTK`, `${bob.user_id}/BSTK`];
    const is3 = (l) => JSON.stringify(who(l)) === JSON.stringify(three);
    const r2 = await S2.waitForMemberships(is3, `memberships = ${three}`);
    const ra = await A.waitForMemberships(is3, `memberships = ${three}`);
    await S1.waitForMemberships(is3, `memberships = ${three}`);
    for (const [r, viewer] of [[r2, "S2"], [ra, "A"]]) {
      const s1 = r.memberships[2];
      const ctx = `${viewer}'s view of S1: ${JSON.stringify(s1)}`;
      assert.equal(r.memberships[0].kind, "session", "A is a state (session) membership");
      assert.equal(s1.kind, "rtc", ctx);
      assert.equal(s1.type, RTC_MEMBER, ctx);
      assert.equal(s1.stateKey, undefined, `a sticky membership is not a state event (${ctx})`);
      assert.equal(s1.sender, bob.user_id, ctx);
      assert.equal(s1.memberId, `${bob.user_id}:BSTK`, ctx);
      assert.equal(s1.stickyKey, `${bob.user_id}:BSTK`, ctx);
      assert.equal(s1.slotId, "m.call#ROOM", ctx);
      assert.deepEqual(s1.transports, TRANSPORTS, `transports.published (${ctx})`);
      assert.equal(s1.sticky?.duration_ms, 3600000, `msc4354_sticky.duration_ms from the server (${ctx})`);
    }
    // the delayed sticky leave is scheduled on the server
    const { entry, text } = await findDelayed(bob.access_token, (e) => e.room_id === roomId && e.type === RTC_MEMBER);
    assert.ok(entry, `a scheduled ${RTC_MEMBER} delayed event: ${text}`);
    assert.equal(entry.state_key, undefined, `no state_key for a message-like delayed event: ${text}`);
    assert.equal(entry.delay, T_S1.delayMs, text);
    assert.deepEqual(entry.content, { slot_id: "m.call#ROOM", msc4354_sticky_key: `${bob.user_id}:BSTK` }, text);

    const killedAt = await S1.kill();
    const { delayMs, restartMs } = T_S1;
    const bound = delayMs + restartMs + LATE_MARGIN_MS;
    const two = three.slice(0, 2);
    const is2 = (l) => JSON.stringify(who(l)) === JSON.stringify(two);
    const d2 = await S2.waitForMemberships(is2, "S1 gone (delayed sticky leave)", bound + 15000, killedAt);
    const da = await A.waitForMemberships(is2, "S1 gone (delayed sticky leave)", bound + 15000, killedAt);
    for (const [d, viewer] of [[d2, "S2"], [da, "A"]]) {
      const took = d.t - killedAt;
      t.diagnostic(`${viewer} saw S1's sticky leave ${took} ms after SIGKILL (delay ${delayMs}, restart ${restartMs}, bound ${bound})`);
      assert.ok(took <= bound, `${viewer} saw S1 leave ${took} ms after the kill; expected <= ${bound}`);
      assert.ok(took >= delayMs - restartMs - EARLY_SLACK_MS, `${viewer} saw S1 leave ${took} ms after the kill: too early`);
    }
    // The fired leave is itself a sticky event (the delayed send kept its sticky duration).
    const msgs = await api(`/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=50`, { token: carol.access_token });
    assert.equal(msgs.status, 200, describeResponse(msgs));
    const leave = msgs.body.chunk.find(
      (e) => e.type === RTC_MEMBER && e.sender === bob.user_id && e.content?.msc4354_sticky_key === `${bob.user_id}:BSTK` && !e.content.member,
    );
    assert.ok(leave, `S1's delayed sticky leave is in the timeline: ${JSON.stringify(msgs.body.chunk.map((e) => [e.type, e.sender]))}`);
    assert.deepEqual(leave.content, { slot_id: "m.call#ROOM", msc4354_sticky_key: `${bob.user_id}:BSTK` }, JSON.stringify(leave));
    assert.deepEqual(leave.msc4354_sticky, { duration_ms: 3600000 }, `the fired leave is sticky: ${JSON.stringify(leave)}`);
    t.diagnostic(`S1's leave origin_server_ts is ${leave.origin_server_ts - killedAt} ms after SIGKILL`);
    assert.ok(leave.origin_server_ts >= killedAt + delayMs - restartMs - EARLY_SLACK_MS, "the sticky leave did not fire early");
  });

  let rawStickyId;
  step(`e2. a raw sticky membership with sticky_duration_ms=${RAW_STICKY_MS} expires on the observers by itself`, async (t) => {
    const content = {
      application: { type: "m.call", "m.call.intent": "audio" },
      slot_id: "m.call#ROOM",
      transports: { published: TRANSPORTS, can_subscribe: ["livekit"] },
      member: { device_id: "BRAW", user_id: bob.user_id, id: "raw-member-1" },
      versions: [],
      msc4354_sticky_key: "raw-member-1",
    };
    const sentAt = Date.now();
    const r = await api(
      `/_matrix/client/v3/rooms/${enc(roomId)}/send/${RTC_MEMBER}/raw-${sentAt}?org.matrix.msc4354.sticky_duration_ms=${RAW_STICKY_MS}`,
      { method: "PUT", token: bob.access_token, body: content },
    );
    assert.equal(r.status, 200, `sticky send: ${describeResponse(r)}`);
    rawStickyId = r.body.event_id;
    const ev = await api(`/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(rawStickyId)}`, { token: alice.access_token });
    assert.equal(ev.status, 200, describeResponse(ev));
    assert.deepEqual(ev.body.msc4354_sticky, { duration_ms: RAW_STICKY_MS }, `event carries msc4354_sticky: ${ev.text}`);

    const withRaw = (l) => who(l).includes(`${bob.user_id}/BRAW`);
    const seen = await S2.waitForMemberships(withRaw, "raw sticky membership appears", 15000, sentAt);
    const raw = seen.memberships.find((m) => m.deviceId === "BRAW");
    assert.equal(raw.sticky?.duration_ms, RAW_STICKY_MS, `sticky info as the sdk sees it: ${JSON.stringify(raw)}`);
    await A.waitForMemberships(withRaw, "raw sticky membership appears", 15000, sentAt);

    const gone2 = await S2.waitForMemberships((l) => !withRaw(l), "raw sticky membership expired", RAW_STICKY_MS + 20000, seen.t);
    const goneA = await A.waitForMemberships((l) => !withRaw(l), "raw sticky membership expired", RAW_STICKY_MS + 20000, seen.t);
    for (const [g, viewer] of [[gone2, "S2"], [goneA, "A"]]) {
      const took = g.t - sentAt;
      t.diagnostic(`${viewer}: the raw sticky membership vanished ${took} ms after sending (duration ${RAW_STICKY_MS})`);
      assert.ok(took >= RAW_STICKY_MS - 1000, `${viewer}: the sticky membership vanished ${took} ms after sending, before its ${RAW_STICKY_MS} ms duration`);
      assert.ok(took <= RAW_STICKY_MS + LATE_MARGIN_MS, `${viewer}: the sticky membership vanished ${took} ms after sending; expected <= ${RAW_STICKY_MS + LATE_MARGIN_MS}`);
    }
    // the other members are untouched
    assert.deepEqual(who(S2.memberships()), [`${alice.user_id}/ARTC`, `${carol.user_id}/CSTK`]);
  });

  step("e3. /sync's msc4354_sticky section carries live sticky events a limited timeline misses; duration capped at 1 h", async () => {
    const STICKY_TYPE = "org.atrium.e2e.sticky";
    const filter = enc(JSON.stringify({ room: { timeline: { limit: 2 } } }));
    const sync0 = await api(`/_matrix/client/v3/sync?timeout=0&filter=${filter}`, { token: carol.access_token });
    assert.equal(sync0.status, 200, describeResponse(sync0));
    const since = sync0.body.next_batch;

    const s = await api(
      `/_matrix/client/v3/rooms/${enc(roomId)}/send/${STICKY_TYPE}/cap-${Date.now()}?org.matrix.msc4354.sticky_duration_ms=7200000`,
      { method: "PUT", token: bob.access_token, body: { msc4354_sticky_key: "k1", n: 1 } },
    );
    assert.equal(s.status, 200, describeResponse(s));
    const stickyId = s.body.event_id;
    for (let i = 0; i < 5; i++) {
      const m = await api(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/fill-${Date.now()}-${i}`, {
        method: "PUT",
        token: alice.access_token,
        body: { msgtype: "m.text", body: `filler ${i}` },
      });
      assert.equal(m.status, 200, describeResponse(m));
    }
    const check = (body, what) => {
      const room = body?.rooms?.join?.[roomId];
      assert.ok(room, `${what}: room in rooms.join`);
      const tl = room.timeline?.events ?? [];
      assert.ok(!tl.some((e) => e.event_id === stickyId), `${what}: (precondition) the sticky event is not in the limited timeline`);
      const st = room.msc4354_sticky?.events ?? [];
      const ev = st.find((e) => e.event_id === stickyId);
      assert.ok(ev, `${what}: rooms.join.${roomId}.msc4354_sticky.events should hold ${stickyId}: ${JSON.stringify(room.msc4354_sticky)}`);
      assert.deepEqual(ev.msc4354_sticky, { duration_ms: 3600000 }, `${what}: sticky duration capped at 3600000: ${JSON.stringify(ev)}`);
      const ttl = ev.unsigned?.msc4354_sticky_duration_ttl_ms;
      assert.ok(typeof ttl === "number" && ttl > 3500000 && ttl <= 3600000, `${what}: unsigned.msc4354_sticky_duration_ttl_ms ${ttl}`);
      assert.equal(ev.content?.n, 1);
    };
    const inc = await api(`/_matrix/client/v3/sync?timeout=0&filter=${filter}&since=${enc(since)}`, { token: carol.access_token });
    assert.equal(inc.status, 200, describeResponse(inc));
    assert.equal(inc.body?.rooms?.join?.[roomId]?.timeline?.limited, true, "incremental timeline is limited");
    check(inc.body, "incremental sync");
    const initial = await api(`/_matrix/client/v3/sync?timeout=0&filter=${filter}`, { token: carol.access_token });
    assert.equal(initial.status, 200, describeResponse(initial));
    check(initial.body, "initial sync");
  });

  step("e4. a user who joins the room during the call sees the existing sticky membership from the start", async () => {
    const dave = await server.registerUser("dave", PASSWORD);
    const inv = await api(`/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { method: "POST", token: alice.access_token, body: { user_id: dave.user_id } });
    assert.equal(inv.status, 200, describeResponse(inv));
    const j = await api(`/_matrix/client/v3/join/${enc(roomId)}`, { method: "POST", token: dave.access_token, body: {} });
    assert.equal(j.status, 200, describeResponse(j));
    const D = await spawnMember("D dave/DLATE", "dave", "DLATE", { delayMs: 10000, restartMs: 2500 });
    // The very first report (before D's own join) must already hold carol's sticky membership.
    const first = await D.waitForEvent((e) => e.ev === "memberships", "first memberships report");
    assert.deepEqual(who(first.memberships), [`${alice.user_id}/ARTC`, `${carol.user_id}/CSTK`], "late joiner's initial view");
    assert.equal(first.memberships[1].kind, "rtc");
    await D.waitJoined();
    const all = [`${alice.user_id}/ARTC`, `${carol.user_id}/CSTK`, `${dave.user_id}/DLATE`];
    await S2.waitForMemberships((l) => JSON.stringify(who(l)) === JSON.stringify(all), `memberships = ${all}`);
    const t0 = Date.now();
    D.leave();
    await D.waitForEvent((e) => e.ev === "left", "left", 15000);
    await S2.waitForMemberships((l) => !who(l).includes(`${dave.user_id}/DLATE`), "D gone after its proper leave", 15000, t0);
    assert.deepEqual((await D.exited).code, 0);
  });

  // ---------------------------------------------------------------- f
  step("f. OpenID: request_token -> userinfo sub; bogus and expired tokens -> 401 M_UNKNOWN_TOKEN", async () => {
    const req = () =>
      api(`/_matrix/client/v3/user/${enc(alice.user_id)}/openid/request_token`, { method: "POST", token: alice.access_token, body: {} });
    const userinfo = (tok) => api(`/_matrix/federation/v1/openid/userinfo?access_token=${enc(tok)}`);
    const r = await req();
    assert.equal(r.status, 200, describeResponse(r));
    assert.equal(typeof r.body.access_token, "string", r.text);
    assert.ok(r.body.access_token.length >= 16, `token looks random: ${r.text}`);
    assert.equal(r.body.token_type, "Bearer", r.text);
    assert.equal(r.body.matrix_server_name, "localhost", r.text);
    assert.equal(typeof r.body.expires_in, "number", r.text);
    assert.ok(r.body.expires_in > 0 && r.body.expires_in <= Math.ceil(OPENID_LIFETIME_MS / 1000), `expires_in in seconds: ${r.text}`);
    const u = await userinfo(r.body.access_token);
    assert.equal(u.status, 200, `userinfo right away: ${describeResponse(u)}`);
    assert.deepEqual(u.body, { sub: alice.user_id }, u.text);

    const bogus = await userinfo("not-a-real-token");
    assert.equal(bogus.status, 401, describeResponse(bogus));
    assert.equal(bogus.body?.errcode, "M_UNKNOWN_TOKEN", describeResponse(bogus));

    const r2 = await req();
    assert.equal(r2.status, 200, describeResponse(r2));
    await sleep(OPENID_LIFETIME_MS + 700);
    const expired = await userinfo(r2.body.access_token);
    assert.equal(expired.status, 401, `expired token: ${describeResponse(expired)}`);
    assert.equal(expired.body?.errcode, "M_UNKNOWN_TOKEN", describeResponse(expired));
    // an OpenID token is not a client access token
    const w = await api("/_matrix/client/v3/account/whoami", { token: r.body.access_token });
    assert.equal(w.status, 401, `OpenID token used as access token: ${describeResponse(w)}`);
  });

  step("f. RTC transports: /rtc/transports and .well-known rtc_foci list the configured transports", async () => {
    const t = await api("/_matrix/client/unstable/org.matrix.msc4143/rtc/transports", { token: bob.access_token });
    assert.equal(t.status, 200, describeResponse(t));
    assert.deepEqual(t.body, { rtc_transports: TRANSPORTS }, t.text);
    const wk = await api("/.well-known/matrix/client");
    assert.equal(wk.status, 200, describeResponse(wk));
    assert.deepEqual(wk.body?.["org.matrix.msc4143.rtc_foci"], TRANSPORTS, wk.text);
    assert.equal(typeof wk.body?.["m.homeserver"]?.base_url, "string", `m.homeserver still there: ${wk.text}`);
  });

  // ---------------------------------------------------------------- g
  step("g. owned-state room (org.matrix.msc3757.11): the sdk's state key has no '_' prefix; delayed leave works", async (t) => {
    const cr = await api("/_matrix/client/v3/createRoom", {
      method: "POST",
      token: alice.access_token,
      body: { preset: "private_chat", name: "owned state call room", room_version: "org.matrix.msc3757.11" },
    });
    assert.equal(cr.status, 200, `createRoom msc3757.11: ${describeResponse(cr)}`);
    const ownedRoom = cr.body.room_id;
    OWN = await spawnMember("OWN alice/AOWN", "alice", "AOWN", T_OWN, { room: ownedRoom });
    const started = await OWN.waitForEvent((e) => e.ev === "started", "session started");
    assert.equal(started.roomVersion, "org.matrix.msc3757.11");
    const joined = await OWN.waitJoined();
    const key = `${alice.user_id}_AOWN_m.call`;
    assert.equal(joined.membership.stateKey, key, "owned state key: no leading underscore");
    const c = await stateContent(server, alice.access_token, ownedRoom, CALL_MEMBER, key);
    assert.equal(c?.device_id, "AOWN", JSON.stringify(c));
    await sleep(T_OWN.restartMs + 500);

    const killedAt = await OWN.kill();
    const { delayMs, restartMs } = T_OWN;
    const latest = killedAt + delayMs + restartMs + LATE_MARGIN_MS;
    await waitFor(
      async () => {
        const x = await stateContent(server, alice.access_token, ownedRoom, CALL_MEMBER, key);
        return x && Object.keys(x).length === 0;
      },
      "owned-state membership becomes {} after the kill",
      latest - Date.now() + 15000,
      { intervalMs: 200 },
    );
    const ev = await stateEvent(server, alice.access_token, ownedRoom, CALL_MEMBER, key);
    t.diagnostic(`OWN's leave event origin_server_ts is ${ev?.origin_server_ts - killedAt} ms after SIGKILL`);
    assertLeaveTiming(ev, OWN, { latestMs: latest, what: "OWN" });
  });

  // ---------------------------------------------------------------- h
  step("h. a proper leave: the sdk sends its scheduled delayed leave at once; observers see it quickly", async (t) => {
    const key = legacyStateKey(alice.user_id, "ARTC");
    const { entry } = await findDelayed(alice.access_token, (e) => e.state_key === key);
    assert.ok(entry, "A's delayed leave is scheduled");
    const t0 = Date.now();
    A.leave();
    const left = await A.waitForEvent((e) => e.ev === "left", "left", 15000);
    assert.equal(left.ok, true, "leaveRoomSession resolved true (not timed out)");
    const gone = await S2.waitForMemberships((l) => !who(l).includes(`${alice.user_id}/ARTC`), "A gone", 15000, t0);
    t.diagnostic(`S2 saw A's proper leave ${gone.t - t0} ms after the leave command`);
    assert.ok(gone.t - t0 < T_A.delayMs - 2000, `S2 saw A leave ${gone.t - t0} ms after the leave: must be well before A's ${T_A.delayMs} ms delay`);
    assert.deepEqual(await stateContent(server, bob.access_token, roomId, CALL_MEMBER, key), {}, "raw state is {}");
    const { entry: still } = await findDelayed(alice.access_token, (e) => e.delay_id === entry.delay_id);
    assert.equal(still, undefined, "the delayed leave was sent, so it is no longer scheduled");
    const exit = await A.exited;
    assert.equal(exit.code, 0, `A exits 0 after leaving: ${JSON.stringify(exit)}`);
    assert.deepEqual(who(S2.memberships()), [`${carol.user_id}/CSTK`]);
    for (const m of [A, S2]) assert.deepEqual(m.errors(), [], `${m.label}: no sdk errors`);
    const h = await api("/health");
    assert.equal(h.status, 200);
  });

  // ---------------------------------------------------------------- i
  step("i. server max delay below the sdk's delay: the sdk lowers it to org.matrix.msc4140.max_delay and stays joined", async (t) => {
    const MAX = 3000;
    const small = await startServerWithConfig({ max_event_delay_ms: MAX, rate_limits: { delayed_event_mgmt: { per_second: 50, burst: 200 } } });
    servers.push(small);
    try {
      const dave = await small.registerUser("dave", PASSWORD);
      const cr = await small.api("/_matrix/client/v3/createRoom", { method: "POST", token: dave.access_token, body: { preset: "private_chat" } });
      assert.equal(cr.status, 200, describeResponse(cr));
      const room = cr.body.room_id;
      const dev = await loginDevice(small, "dave", PASSWORD, "DMAX");
      const timings = { delayMs: 8000, restartMs: 1000 };
      const m = new RtcMember({
        label: "DMAX dave (max delay 3 s)",
        baseUrl: small.baseUrl,
        userId: dev.user_id,
        accessToken: dev.access_token,
        deviceId: dev.device_id,
        roomId: room,
        livekitServiceUrl: LIVEKIT_URL,
        ...timings,
      });
      members.push(m);
      const joined = await m.waitJoined();
      const key = joined.membership.stateKey;
      assert.ok(key.endsWith(`${dev.user_id}_DMAX_m.call`), `state key ${key}`);
      const r = await listDelayed(small, dave.access_token);
      assert.equal(r.status, 200, describeResponse(r));
      const entry = r.body.delayed_events.find((e) => e.state_key === key);
      assert.ok(entry, `delayed leave scheduled despite the 8 s request: ${r.text}`);
      assert.equal(entry.delay, MAX, `the sdk retried with max_delay: ${r.text}`);
      await sleep(MAX + 1500);
      assert.equal((await stateContent(small, dave.access_token, room, CALL_MEMBER, key))?.device_id, "DMAX", "still joined after more than max_delay (restarts work)");
      const killedAt = await m.kill();
      await waitFor(
        async () => {
          const x = await stateContent(small, dave.access_token, room, CALL_MEMBER, key);
          return x && Object.keys(x).length === 0;
        },
        "membership removed after the kill",
        MAX + 20000,
        { intervalMs: 200 },
      );
      const ev = await stateEvent(small, dave.access_token, room, CALL_MEMBER, key);
      t.diagnostic(`leave ${ev.origin_server_ts - killedAt} ms after SIGKILL (max delay ${MAX})`);
      assert.ok(ev.origin_server_ts - killedAt <= MAX + timings.restartMs + LATE_MARGIN_MS, "fired with the lowered delay");
      assert.ok(ev.origin_server_ts - killedAt >= MAX - timings.restartMs - EARLY_SLACK_MS, "not early");
    } catch (e) {
      small.failed = true;
      process.stderr.write(`\n===== second server log =====\n${small.logText()}\n`);
      throw e;
    }
  });
});
