// Relations, intentional mentions, notification counts and HTTP pushers with
// the real matrix-js-sdk (no crypto) against a started Atrium, plus a tiny
// push gateway (node http server on 127.0.0.1) the test runs itself.
// Covers issue 4's "Done when" lines for these parts: ringing (MSC4075
// rtc.notification with m.mentions.room) raises the other member's
// highlight count and reaches the gateway; a decline (MSC4310) is listed by
// /relations; a raise-hand m.reaction and an io.element.call.reaction on a
// membership event are listed and aggregated, and redacting the reaction
// lowers the hand; bad input gets clear errcodes and disturbs nothing.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startServer, withServerLogOnFailure, describeResponse, waitFor } from "./lib/server.mjs";
import { makeClient, startAndPrepare, sdk } from "./lib/clients.mjs";

const enc = encodeURIComponent;
const HAND = "\u{1F590}\u{FE0F}"; // 🖐️ as Element Call sends it
const MEMBER_TYPE = "org.matrix.msc3401.call.member";

/** A push gateway: records every notify POST, answers {"rejected": []} (or `status`). */
async function startGateway() {
  const gw = { received: [], status: 200, rejected: [] };
  gw.server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/_matrix/push/v1/notify") {
        if (gw.status === 200) gw.received.push(JSON.parse(body));
        res.writeHead(gw.status, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ rejected: gw.rejected }));
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise((r) => gw.server.listen(0, "127.0.0.1", r));
  gw.url = `http://127.0.0.1:${gw.server.address().port}/_matrix/push/v1/notify`;
  return gw;
}

describe("relations, mentions and push with matrix-js-sdk", { timeout: 180_000 }, () => {
  let server, gateway, alice, bob, aliceClient, bobClient;
  let roomId, memberEventId, notificationId, declineId, handId, emojiId;

  const step = (name, fn) => it(name, () => withServerLogOnFailure(() => server, name, fn));
  const api = (p, opts) => server.api(p, opts);
  const relations = (token, parent, suffix = "", query = "") =>
    api(`/_matrix/client/v1/rooms/${enc(roomId)}/relations/${enc(parent)}${suffix}${query}`, { token });
  const bobUnread = async () => {
    const s = await api("/_matrix/client/v3/sync?timeout=0", { token: bob.access_token });
    assert.equal(s.status, 200, describeResponse(s));
    return s.body.rooms.join[roomId].unread_notifications;
  };

  after(async () => {
    aliceClient?.stopClient();
    bobClient?.stopClient();
    gateway?.server.close();
    await server?.stop();
  });

  step("setup: server, gateway, two sdk clients in one room", async () => {
    server = await startServer();
    gateway = await startGateway();
    alice = await server.registerUser("alice");
    bob = await server.registerUser("bob");
    aliceClient = makeClient(server.baseUrl, alice, "alice");
    bobClient = makeClient(server.baseUrl, bob, "bob");
    await startAndPrepare(aliceClient);
    await startAndPrepare(bobClient);
    ({ room_id: roomId } = await aliceClient.createRoom({ preset: "private_chat", invite: [bob.user_id] }));
    await waitFor(() => bobClient.getRoom(roomId), "bob sees the invite");
    await bobClient.joinRoom(roomId);
    await waitFor(() => aliceClient.getRoom(roomId)?.getJoinedMemberCount() === 2, "alice sees bob joined");
  });

  step("bob registers an HTTP pusher and reads the default push rules", async () => {
    await bobClient.setPusher({
      kind: "http",
      app_id: "io.atrium.e2e",
      pushkey: "bob-phone",
      app_display_name: "Atrium e2e",
      device_display_name: "bob's phone",
      lang: "en",
      data: { url: gateway.url, extra: "kept" },
    });
    const { pushers } = await bobClient.getPushers();
    assert.equal(pushers.length, 1);
    assert.equal(pushers[0].data.url, gateway.url);
    const raw = await api("/_matrix/client/v3/pushrules/", { token: bob.access_token });
    const ids = raw.body.global.override.map((r) => r.rule_id);
    assert.equal(ids[0], ".m.rule.master");
    assert.ok(ids.indexOf(".m.rule.is_user_mention") < ids.indexOf(".m.rule.is_room_mention"), ids.join());
    assert.equal(raw.body.global.content[0].pattern, "bob");
    // The sdk reads them too.
    const rules = await bobClient.getPushRules();
    assert.ok(rules.global.override.some((r) => r.rule_id === ".m.rule.is_room_mention"));
  });

  step("a ring (rtc.notification with m.mentions.room) highlights bob and reaches the gateway", async () => {
    ({ event_id: memberEventId } = await aliceClient.sendStateEvent(
      roomId,
      MEMBER_TYPE,
      { application: "m.call", call_id: "", device_id: alice.device_id, focus_active: { type: "livekit" }, foci_preferred: [] },
      `_${alice.user_id}_${alice.device_id}_m.call`,
    ));
    ({ event_id: notificationId } = await aliceClient.sendEvent(roomId, "org.matrix.msc4075.rtc.notification", {
      "m.mentions": { user_ids: [], room: true },
      notification_type: "ring",
      "m.relates_to": { rel_type: "m.reference", event_id: memberEventId },
      sender_ts: Date.now(),
      lifetime: 30000,
      "m.call.intent": "audio",
    }));
    assert.deepEqual(await bobUnread(), { notification_count: 1, highlight_count: 1 });
    // The sdk shows the server's counts too.
    const room = bobClient.getRoom(roomId);
    await waitFor(
      () => room.getUnreadNotificationCount(sdk.NotificationCountType.Highlight) === 1,
      "bob's sdk highlight count 1",
    );
    const push = await waitFor(
      () => gateway.received.find((p) => p.notification.event_id === notificationId),
      "the ring at the push gateway",
    );
    const n = push.notification;
    assert.equal(n.room_id, roomId);
    assert.equal(n.type, "org.matrix.msc4075.rtc.notification");
    assert.equal(n.sender, alice.user_id);
    assert.equal(n.prio, "high");
    assert.equal(n.content.notification_type, "ring");
    assert.equal(n.counts.unread, 1);
    assert.equal(n.devices[0].pushkey, "bob-phone");
    assert.equal(n.devices[0].app_id, "io.atrium.e2e");
    assert.deepEqual(n.devices[0].data, { extra: "kept" });
    assert.equal(n.devices[0].tweaks.highlight, true);
    // Alice (the sender) got nothing.
    const a = await api("/_matrix/client/v3/notifications", { token: alice.access_token });
    assert.equal(a.body.notifications.length, 0);
  });

  step("bob's decline is listed by /relations and bundled on the ring", async () => {
    ({ event_id: declineId } = await bobClient.sendEvent(roomId, "org.matrix.msc4310.rtc.decline", {
      "m.relates_to": { rel_type: "m.reference", event_id: notificationId },
    }));
    const listed = await aliceClient.fetchRelations(roomId, notificationId, "m.reference", "org.matrix.msc4310.rtc.decline");
    assert.deepEqual(listed.chunk.map((e) => e.event_id), [declineId]);
    assert.equal(listed.chunk[0].sender, bob.user_id);
    const ev = await api(`/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(notificationId)}`, { token: alice.access_token });
    assert.deepEqual(ev.body.unsigned["m.relations"]["m.reference"].chunk, [{ event_id: declineId }]);
    // /notifications lists the ring for bob as a highlight.
    const n = await api("/_matrix/client/v3/notifications?only=highlight", { token: bob.access_token });
    assert.deepEqual(n.body.notifications.map((x) => x.event.event_id), [notificationId]);
  });

  step("raise-hand and call reaction on the membership event are listed and aggregated", async () => {
    ({ event_id: handId } = await aliceClient.sendEvent(roomId, "m.reaction", {
      "m.relates_to": { rel_type: "m.annotation", event_id: memberEventId, key: HAND },
    }));
    ({ event_id: emojiId } = await bobClient.sendEvent(roomId, "io.element.call.reaction", {
      "m.relates_to": { rel_type: "m.reference", event_id: memberEventId },
      emoji: "👍",
      name: "thumbsup",
    }));
    const all = await relations(alice.access_token, memberEventId);
    assert.equal(all.status, 200, describeResponse(all));
    assert.deepEqual(all.body.chunk.map((e) => e.event_id), [emojiId, handId, notificationId]);
    const hands = await relations(alice.access_token, memberEventId, "/m.annotation/m.reaction");
    assert.deepEqual(hands.body.chunk.map((e) => e.content["m.relates_to"].key), [HAND]);
    const calls = await bobClient.fetchRelations(roomId, memberEventId, "m.reference", "io.element.call.reaction");
    assert.deepEqual(calls.chunk.map((e) => e.content.name), ["thumbsup"]);
    // Pagination: one at a time, backwards, until no next_batch.
    const seen = [];
    let from = "";
    for (;;) {
      const page = await relations(alice.access_token, memberEventId, "", `?limit=1${from ? "&from=" + enc(from) : ""}`);
      seen.push(...page.body.chunk.map((e) => e.event_id));
      if (!page.body.next_batch) break;
      from = page.body.next_batch;
    }
    assert.deepEqual(seen, [emojiId, handId, notificationId]);
    // Aggregation: per the current spec references are bundled, annotations
    // are not (they are counted through /relations) and stay unique per
    // sender and key.
    const ev = await api(`/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(memberEventId)}`, { token: bob.access_token });
    const bundle = ev.body.unsigned["m.relations"];
    assert.deepEqual(bundle["m.reference"].chunk.map((c) => c.event_id).sort(), [notificationId, emojiId].sort());
    assert.equal(bundle["m.annotation"], undefined);
    await assert.rejects(
      aliceClient.sendEvent(roomId, "m.reaction", {
        "m.relates_to": { rel_type: "m.annotation", event_id: memberEventId, key: HAND },
      }),
      (e) => e.errcode === "M_DUPLICATE_ANNOTATION" && e.httpStatus === 400,
    );
    // Reactions do not notify.
    assert.deepEqual(await bobUnread(), { notification_count: 1, highlight_count: 1 });
  });

  step("redacting the raise-hand lowers the hand; it can be raised again", async () => {
    await aliceClient.redactEvent(roomId, handId);
    const hands = await relations(bob.access_token, memberEventId, "/m.annotation");
    assert.deepEqual(hands.body.chunk, []);
    const again = await aliceClient.sendEvent(roomId, "m.reaction", {
      "m.relates_to": { rel_type: "m.annotation", event_id: memberEventId, key: HAND },
    });
    const back = await relations(bob.access_token, memberEventId, "/m.annotation");
    assert.deepEqual(back.body.chunk.map((e) => e.event_id), [again.event_id]);
  });

  step("bob's read receipt resets his counts", async () => {
    const r = await api(`/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(declineId)}`, {
      method: "POST",
      token: bob.access_token,
      body: {},
    });
    assert.equal(r.status, 200, describeResponse(r));
    assert.deepEqual(await bobUnread(), { notification_count: 0, highlight_count: 0 });
    // A user mention from alice counts again, and is pushed.
    const { event_id } = await aliceClient.sendEvent(roomId, "m.room.message", {
      msgtype: "m.text",
      body: "bob?",
      "m.mentions": { user_ids: [bob.user_id] },
    });
    assert.deepEqual(await bobUnread(), { notification_count: 1, highlight_count: 1 });
    await waitFor(() => gateway.received.find((p) => p.notification.event_id === event_id), "the mention at the gateway");
  });

  step("bad input: clear errcodes, nothing else disturbed", async () => {
    const expect = async (res, status, errcode, what) => {
      assert.equal(res.status, status, `${what}: ${describeResponse(res)}`);
      assert.equal(res.body?.errcode, errcode, `${what}: ${describeResponse(res)}`);
    };
    const t = alice.access_token;
    // Relations to unknown events.
    await expect(await relations(t, "$unknown:localhost"), 404, "M_NOT_FOUND", "relations of an unknown event");
    await expect(await relations(t, memberEventId, "", "?dir=sideways"), 400, "M_INVALID_PARAM", "bad dir");
    await expect(await relations(t, memberEventId, "", "?limit=-1"), 400, "M_INVALID_PARAM", "bad limit");
    await expect(await relations(t, memberEventId, "", "?from=nonsense"), 400, "M_INVALID_PARAM", "bad from");
    await expect(
      await api(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.reaction/bad1`, {
        method: "PUT",
        token: t,
        body: { "m.relates_to": { rel_type: "m.annotation", event_id: "$nope:localhost", key: "x" } },
      }),
      400,
      "M_INVALID_PARAM",
      "a reaction to an unknown event",
    );
    // Pusher URLs that are not http(s), or not the notify path.
    const pusher = (url) =>
      api("/_matrix/client/v3/pushers/set", {
        method: "POST",
        token: bob.access_token,
        body: {
          kind: "http", app_id: "io.atrium.e2e", pushkey: "evil", app_display_name: "x",
          device_display_name: "x", lang: "en", data: { url },
        },
      });
    for (const url of ["ftp://127.0.0.1/_matrix/push/v1/notify", "javascript:alert(1)", "file:///etc/passwd",
      "https://gw.example/other/path", "not a url"]) {
      await expect(await pusher(url), 400, "M_INVALID_PARAM", `pusher url ${url}`);
    }
    await expect(
      await api("/_matrix/client/v3/pushers/set", { method: "POST", token: bob.access_token, body: { kind: "http", app_id: "a", pushkey: "k" } }),
      400, "M_MISSING_PARAM", "pusher without data",
    );
    // Malformed push rules.
    const putRule = (path, body, raw) =>
      api(`/_matrix/client/v3/pushrules/global/${path}`, { method: "PUT", token: t, body, rawBody: raw });
    await expect(await putRule("override/mine", { actions: "notify" }), 400, "M_BAD_JSON", "actions not an array");
    await expect(await putRule("override/mine", { actions: ["shout"] }), 400, "M_BAD_JSON", "unknown action");
    await expect(await putRule("override/mine", { actions: [], conditions: [{ key: "type" }] }), 400, "M_BAD_JSON", "condition without kind");
    await expect(await putRule("override/.m.rule.mine", { actions: [] }), 400, "M_INVALID_PARAM", "a dot rule id");
    await expect(await putRule("bogus/mine", { actions: [] }), 400, "M_INVALID_PARAM", "unknown kind");
    await expect(await putRule("override/mine", undefined, "{not json"), 400, "M_NOT_JSON", "not JSON");
    await expect(await putRule("content/mine", { actions: ["notify"] }), 400, "M_BAD_JSON", "content rule without pattern");
    await expect(await putRule("override/mine?before=nothing", { actions: [] }), 404, "M_NOT_FOUND", "before an unknown rule");
    await expect(await putRule("override/.m.rule.master/enabled", { enabled: "yes" }), 400, "M_BAD_JSON", "enabled not a boolean");
    await expect(await api("/_matrix/client/v3/pushrules/global/override/nothing", { token: t }), 404, "M_NOT_FOUND", "unknown rule");
    await expect(await api("/_matrix/client/v3/pushrules/global/override/.m.rule.master", { method: "DELETE", token: t }),
      400, "M_INVALID_PARAM", "deleting a default rule");

    // Nothing else disturbed: bob's one pusher, alice's default rules, the room works.
    const { pushers } = await bobClient.getPushers();
    assert.deepEqual(pushers.map((p) => p.pushkey), ["bob-phone"]);
    const rules = await api("/_matrix/client/v3/pushrules/", { token: t });
    assert.equal(rules.body.global.override.length, 12);
    assert.ok(!rules.body.global.override.some((r) => r.rule_id === "mine"));
    // A well-formed rule is accepted and reaches alice's sdk as m.push_rules account data.
    await expect(await putRule("override/mine", { actions: [], conditions: [{ kind: "event_match", key: "type", pattern: "org.example.*" }] }),
      200, undefined, "a valid rule");
    await waitFor(
      () => aliceClient.getAccountData("m.push_rules")?.getContent()?.global?.override?.some((r) => r.rule_id === "mine"),
      "alice's sdk sees her new rule",
    );
    const health = await fetch(server.url("/health"));
    assert.equal(health.status, 200);
  });

  step("a pusher survives a restart and delivers what waited while the gateway was down", async () => {
    gateway.status = 503; // the gateway fails: the push is retried with backoff
    const { event_id } = await aliceClient.sendEvent(roomId, "m.room.message", { msgtype: "m.text", body: "during outage" });
    await new Promise((r) => setTimeout(r, 300));
    aliceClient.stopClient();
    bobClient.stopClient();
    await server.restart();
    gateway.status = 200;
    await waitFor(
      () => gateway.received.find((p) => p.notification.event_id === event_id),
      "the push that waited across the restart",
      30000,
    );
    const p = await api("/_matrix/client/v3/pushers", { token: bob.access_token });
    assert.deepEqual(p.body.pushers.map((x) => x.pushkey), ["bob-phone"]);
  });

  step("a gateway rejecting the pushkey removes the pusher", async () => {
    gateway.rejected = ["bob-phone"];
    const { event_id } = await server.api(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/last`, {
      method: "PUT",
      token: alice.access_token,
      body: { msgtype: "m.text", body: "last one" },
    }).then((r) => r.body);
    await waitFor(() => gateway.received.find((p) => p.notification.event_id === event_id), "the last push");
    await waitFor(async () => {
      const p = await api("/_matrix/client/v3/pushers", { token: bob.access_token });
      return p.body.pushers.length === 0;
    }, "the rejected pusher removed");
  });
});
