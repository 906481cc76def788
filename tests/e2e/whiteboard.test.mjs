// The whiteboard app (issue #8) in headless Chromium, served by atrium itself
// at /apps/whiteboard/: three users in three browsers sign up, share a room
// and a MatrixRTC session with application io.atrium.whiteboard. A draws and
// B sees it; B's cursor moves on A's screen (lossy data); text boxes are
// added, moved and edited (reliable data + room events); a rival document
// root (two first starters racing) is adopted without losing edits; C joins late and
// gets the whole document from the snapshot in room state plus the edits
// after it (/relations); a screenshot of A's board is checked and kept; A
// closes its tab and leaves the member list within the delayed-leave window
// (the page sends its leave on pagehide); C's tab crashes and the server's
// delayed leave ends its membership; B leaves with the button, at once.
//
// Runs only inside run.sh's private network namespace (only `lo`).
// The tests of this file build on each other (one server, three browsers).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";

import { startServer, waitFor, WEB_ROOT } from "./lib/server.mjs";
import { browserUnavailableReason, launchBrowser } from "./lib/browser.mjs";
import {
  addText, createRoom, drawStroke, editText, joinRoom, joinSession, moveCursor, moveText, signUp, waitState, wbState,
} from "./lib/whiteboard.mjs";
import { Doc } from "../../web/whiteboard/doc.js";

const LEAVE_DELAY_MS = 4000;
// Snapshots only when the test asks (WB.snapshotNow()), so C's join needs both
// the snapshot and the edits after it.
const SNAPSHOT_MS = 600000;
const skip = browserUnavailableReason();

let server;
let appUrl;
let roomId;
let observer; // access token of a plain member that reads room state
const browsers = {}; // name -> Browser (one Chromium each: separate contexts)
const pages = {}; // name -> page

function detail() {
  let out = "";
  for (const [n, b] of Object.entries(browsers)) out += `\n--- ${n} console (tail) ---\n${b.consoleTail(20)}`;
  return `${out}\n--- server log (tail) ---\n${server?.logText(40)}`;
}

async function open(name) {
  browsers[name] = await launchBrowser(`whiteboard-${name}`);
  pages[name] = await browsers[name].newPage();
  await signUp(pages[name], appUrl, name);
}

const stroke = (id, points = [1, 2, 3, 4]) => ({ id: `op-${id}`, type: "stroke", stroke: { id, color: "#123456", width: 3, points } });
const text = (op, id, ts, fields) => ({ id: op, type: "text", ts, box: { id, x: 0, y: 0, text: "", ...fields } });

describe("whiteboard document model", () => {
  test("ops converge whatever their order, duplicates included", () => {
    const ops = [
      stroke("s1"), stroke("s2", [5, 5, 9, 9]),
      text("t1", "box", 100, { text: "first" }), text("t2", "box", 200, { text: "second", x: 10 }),
      text("t3", "box", 150, { text: "stale" }), text("t4", "other", 100, { text: "x" }),
    ];
    const a = new Doc();
    for (const op of ops) a.apply(op);
    const b = new Doc();
    for (const op of [...ops].reverse()) b.apply(op);
    for (const op of ops) assert.equal(b.apply(op), false, `re-applying ${op.id} changes nothing`);
    assert.deepEqual(b.toJSON(), a.toJSON());
    assert.equal(a.texts.get("box").text, "second");
    assert.equal(a.texts.get("box").x, 10);
    assert.equal(a.strokes.size, 2);
  });

  test("a snapshot round-trips and later ops apply on top", () => {
    const a = new Doc();
    a.apply(stroke("s1"));
    a.apply(text("t1", "box", 100, { text: "v1" }));
    const b = Doc.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    assert.deepEqual(b.toJSON(), a.toJSON());
    assert.equal(b.apply(stroke("s1")), false, "a stroke in the snapshot is not added twice");
    assert.equal(b.apply(text("t0", "box", 50, { text: "older" })), false, "an older edit loses");
    assert.equal(b.apply(text("t2", "box", 300, { text: "v2" })), true);
    assert.equal(b.texts.get("box").text, "v2");
  });

  test("malformed ops are ignored", () => {
    const d = new Doc();
    for (const op of [null, {}, { id: 1, type: "stroke" }, { id: "a", type: "stroke", stroke: { id: "s", points: ["x"] } },
      { id: "b", type: "text", ts: "now", box: { id: "t", x: 0, y: 0, text: "" } }, { id: "c", type: "erase" }]) {
      assert.equal(d.apply(op), false, JSON.stringify(op));
    }
    assert.deepEqual(d.toJSON(), { strokes: [], texts: [] });
    assert.deepEqual(Doc.fromJSON("garbage").toJSON(), { strokes: [], texts: [] });
  });
});

const members = async (name) => (await wbState(pages[name])).members.map((m) => m.userId).sort();

describe("whiteboard app in Chromium", { skip: skip || false, timeout: 300000 }, () => {
  before(async () => {
    assert.ok(existsSync(path.join(WEB_ROOT, "whiteboard", "main.js")), `${WEB_ROOT} has no whiteboard bundle: run scripts/build`);
    server = await startServer({ webRoot: WEB_ROOT });
    appUrl = server.url(`/apps/whiteboard/?leaveDelayMs=${LEAVE_DELAY_MS}&snapshotMs=${SNAPSHOT_MS}`);
  });
  after(async () => {
    for (const [n, b] of Object.entries(browsers)) {
      if (b.consoleErrors.length) process.stderr.write(`[whiteboard] ${n} console errors:\n  ${b.consoleErrors.slice(0, 20).join("\n  ")}\n`);
    }
    for (const b of Object.values(browsers)) await b.close();
    if (server) {
      if (process.env.ATRIUM_E2E_KEEP) server.failed = true;
      await server.stop();
    }
  });

  test("atrium serves the apps: / redirects, the index links the whiteboard", async () => {
    const root = await fetch(server.url("/"), { redirect: "manual" });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get("location"), "/apps/");
    const index = await fetch(server.url("/apps/"));
    assert.equal(index.status, 200);
    assert.equal(index.headers.get("cache-control"), "no-store");
    assert.match(await index.text(), /href="whiteboard\/"/);
    const js = await fetch(server.url("/apps/whiteboard/main.js"));
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type"), /^text\/javascript/);
    assert.equal((await fetch(server.url("/apps/%2e%2e/%2e%2e/etc/passwd"))).status, 404);
  });

  test("A starts a whiteboard in a new room, B joins it: both see both in the session", async () => {
    await open("alice");
    roomId = await createRoom(pages.alice, "Sketches");
    assert.match(roomId, /^!/);
    await joinSession(pages.alice, detail);
    await open("bob");
    await joinRoom(pages.bob, roomId);
    await joinSession(pages.bob, detail);
    const both = ["@alice:localhost", "@bob:localhost"];
    for (const n of ["alice", "bob"]) {
      await waitFor(async () => JSON.stringify(await members(n)) === JSON.stringify(both), `${n} lists alice and bob`, 15000, { detail });
    }
    // The memberships are MatrixRTC state events of our application, not m.call.
    const key = `_@alice:localhost_${(await wbState(pages.alice)).deviceId}_io.atrium.whiteboardROOM`;
    observer = (await server.registerUser("observer")).access_token;
    await server.api(`/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { method: "POST", token: observer, body: {} });
    const r = await server.api(
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/org.matrix.msc3401.call.member/${encodeURIComponent(key)}`,
      { token: observer },
    );
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.application, "io.atrium.whiteboard");
    assert.equal(r.body.call_id, "ROOM");
  });

  test("A draws and B sees it", async () => {
    await drawStroke(pages.alice, [[60, 60], [160, 120], [260, 80], [320, 200]]);
    const a = await waitState(pages.alice, "alice has her stroke", (s) => s.strokes === 1);
    const b = await waitState(pages.bob, "bob sees alice's stroke", (s) => s.strokes === 1, 15000, detail);
    assert.deepEqual(await pages.bob.evaluate(() => WB.strokeIds()), await pages.alice.evaluate(() => WB.strokeIds()));
    assert.ok((await pages.bob.evaluate(() => WB.inkPixels())) > 100, "bob's canvas shows the stroke");
    assert.equal(a.errors.length + b.errors.length, 0, JSON.stringify([a.errors, b.errors]));
    // It came over the SFU's reliable channel (and is persisted in the room too).
    const got = await waitState(pages.bob, "bob got the edit over the data channel", (s) => s.stats.editsReceived >= 1, 10000, detail);
    assert.equal(got.kinds.edit, 0, "edits travel on the reliable channel");
  });

  test("B's cursor moves on A's screen", async () => {
    const bobId = (await wbState(pages.bob)).identity;
    for (const [x, y] of [[200, 150], [420, 260]]) {
      await moveCursor(pages.bob, x, y);
      await waitState(pages.alice, `bob's cursor at (${x}, ${y}) on alice's board`, (s) => {
        const c = s.cursors[bobId];
        return c && c.name === "@bob:localhost" && Math.abs(c.x - x) <= 2 && Math.abs(c.y - y) <= 2;
      }, 10000, detail);
    }
    assert.equal(await pages.alice.locator(".cursor .label").first().textContent(), "@bob:localhost");
    assert.equal((await wbState(pages.alice)).kinds.cursor, 1, "cursors travel on the lossy channel");
  });

  test("text boxes: A adds one, B moves it, A edits it; everyone converges", async () => {
    const id = await addText(pages.alice, 80, 300, "hello board");
    const has = (pred) => (s) => s.texts.some((t) => t.id === id && pred(t));
    await waitState(pages.bob, "bob sees alice's text box", has((t) => t.text === "hello board" && t.x === 80 && t.y === 300), 10000, detail);
    await moveText(pages.bob, id, 120, 40);
    await waitState(pages.alice, "alice sees the box moved by bob", has((t) => t.x === 200 && t.y === 340), 10000, detail);
    await editText(pages.alice, id, "edited by alice");
    for (const n of ["alice", "bob"]) {
      await waitState(pages[n], `${n} sees the edited, moved box`, has((t) => t.text === "edited by alice" && t.x === 200 && t.y === 340), 10000, detail);
    }
    // A box emptied by its editor is gone from every board.
    const gone = await addText(pages.bob, 400, 420, "scratch");
    await waitState(pages.alice, "alice sees bob's scratch box", (s) => s.texts.some((t) => t.id === gone && t.text === "scratch"), 10000, detail);
    await editText(pages.alice, gone, "");
    for (const n of ["alice", "bob"]) {
      await waitFor(async () => (await pages[n].locator(`.textbox[data-id="${gone}"]`).count()) === 0, `${n}'s board drops the emptied box`, 10000, { detail });
    }
    assert.equal(await pages.bob.locator(".textbox").count(), 1);
  });

  test("a rival document root (two members starting at once) is adopted; nothing is lost", async () => {
    // What the loser of a race between two first starters sees: another root
    // in the snapshot state after its own.
    const enc = encodeURIComponent;
    const before = await wbState(pages.alice);
    const sent = await server.api(`/_matrix/client/v3/rooms/${enc(roomId)}/send/io.atrium.whiteboard.document/rival1`, {
      method: "PUT", token: observer, body: { title: "Whiteboard", version: 1 },
    });
    assert.equal(sent.status, 200, sent.text);
    const rival = sent.body.event_id;
    const put = await server.api(`/_matrix/client/v3/rooms/${enc(roomId)}/state/io.atrium.whiteboard.snapshot/`, {
      method: "PUT", token: observer, body: { root: rival, upto: null, doc: { strokes: [], texts: [] } },
    });
    assert.equal(put.status, 200, put.text);
    for (const n of ["alice", "bob"]) {
      await waitState(pages[n], `${n} moved to the rival root with the whole document`, (s) =>
        s.root === rival && s.strokes === before.strokes && JSON.stringify(s.texts) === JSON.stringify(before.texts), 15000, detail);
    }
    // And it is persisted under the new root.
    let edits;
    await waitFor(async () => {
      const r = await server.api(`/_matrix/client/v1/rooms/${enc(roomId)}/relations/${enc(rival)}/io.atrium.whiteboard.edit?limit=100`, { token: observer });
      edits = r.body?.chunk ?? [];
      return edits.length >= before.strokes + before.texts.length;
    }, "the document's edits related to the rival root", 10000, { detail: () => JSON.stringify(edits) });
  });

  test("C joins late and sees the whole document (snapshot + edits after it)", async () => {
    // The oldest member (alice) writes the snapshot; then one more stroke after it.
    await pages.alice.evaluate(() => WB.snapshotNow());
    const stateUrl = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/io.atrium.whiteboard.snapshot/`;
    let snap;
    await waitFor(async () => {
      snap = (await server.api(stateUrl, { token: observer })).body;
      return snap?.doc?.strokes?.length === 1 && snap.doc.texts?.some((t) => t.text === "edited by alice");
    }, "a snapshot with the stroke and the edited text box", 15000, { detail: () => JSON.stringify(snap) });
    await drawStroke(pages.bob, [[500, 100], [560, 160], [620, 100]]);
    for (const n of ["alice", "bob"]) await waitState(pages[n], `${n} has two strokes`, (s) => s.strokes === 2, 10000, detail);

    await open("carol");
    await joinRoom(pages.carol, roomId);
    const c = await joinSession(pages.carol, detail);
    const a = await wbState(pages.alice);
    assert.ok(c.loaded.snapshot && c.loaded.snapshotStrokes >= 1, `carol started from the snapshot: ${JSON.stringify(c.loaded)}`);
    assert.ok(c.loaded.relationEdits >= 1, `carol read the edits after the snapshot: ${JSON.stringify(c.loaded)}`);
    assert.equal(c.strokes, 2);
    assert.deepEqual(await pages.carol.evaluate(() => WB.strokeIds()), await pages.alice.evaluate(() => WB.strokeIds()));
    assert.deepEqual(c.texts, a.texts);
    assert.ok((await pages.carol.evaluate(() => WB.inkPixels())) > 100);
    await waitFor(async () => (await members("carol")).length === 3, "carol lists three members", 15000, { detail });
  });

  test("screenshot of the whiteboard in use is checked and kept", async () => {
    await moveCursor(pages.bob, 380, 220);
    await moveCursor(pages.carol, 300, 120);
    const bobId = (await wbState(pages.bob)).identity;
    await waitState(pages.alice, "bob's cursor on alice's board", (s) => s.cursors[bobId]?.x === 380, 10000, detail);
    const ink = await pages.alice.evaluate(() => WB.inkPixels());
    assert.ok(ink > 200, `alice's canvas has ink (${ink} pixels)`);
    const file = await browsers.alice.screenshot(pages.alice, "whiteboard-in-use");
    const size = (await stat(file)).size;
    assert.ok(size > 5000, `screenshot ${file} is ${size} bytes`);
    process.stderr.write(`[whiteboard] screenshot: ${file}\n`);
  });

  test("A closes the tab and leaves the member list within the delayed-leave window", async () => {
    const closed = Date.now();
    await pages.alice.close(); // the page sends its delayed leave on pagehide
    for (const n of ["bob", "carol"]) {
      await waitFor(async () => !(await members(n)).includes("@alice:localhost"), `${n} no longer lists alice`,
        LEAVE_DELAY_MS + 8000, { intervalMs: 100, detail });
    }
    const took = Date.now() - closed;
    process.stderr.write(`[whiteboard] alice left the member lists ${took} ms after closing her tab\n`);
    assert.ok(took <= LEAVE_DELAY_MS + 8000);
  });

  test("C's tab crashes: the delayed leave ends its membership", async () => {
    const cdp = await pages.carol.context().newCDPSession(pages.carol);
    const crashed = Date.now();
    // The renderer dies (no pagehide, no more restarts); the call itself never answers.
    cdp.send("Page.crash").catch(() => {});
    await waitFor(async () => !(await members("bob")).includes("@carol:localhost"), "bob no longer lists carol",
      LEAVE_DELAY_MS + 8000, { intervalMs: 100, detail });
    const took = Date.now() - crashed;
    process.stderr.write(`[whiteboard] carol's crashed tab left bob's member list after ${took} ms\n`);
    // Nobody sent the leave: the server did, once the last restart's delay ran out.
    assert.ok(took >= LEAVE_DELAY_MS / 3, `left after ${took} ms: too early for a delayed leave`);
    assert.ok(took <= LEAVE_DELAY_MS + 8000);
    // And alice's closed tab did not come back (a dying page must not rejoin).
    assert.deepEqual(await members("bob"), ["@bob:localhost"]);
  });

  test("B leaves with the button: its membership ends at once", async () => {
    const { deviceId } = await wbState(pages.bob);
    const key = `_@bob:localhost_${deviceId}_io.atrium.whiteboardROOM`;
    const url = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/org.matrix.msc3401.call.member/${encodeURIComponent(key)}`;
    assert.equal((await server.api(url, { token: observer })).body.application, "io.atrium.whiteboard");
    const t0 = Date.now();
    await pages.bob.click("#leave-session");
    await waitFor(async () => {
      const r = await server.api(url, { token: observer });
      return r.status === 200 && Object.keys(r.body).length === 0;
    }, "bob's membership state is empty", LEAVE_DELAY_MS, { detail });
    assert.ok(Date.now() - t0 < LEAVE_DELAY_MS, "an explicit leave does not wait for the delayed leave");
    await pages.bob.waitForSelector("#room-view:not([hidden])");
    assert.deepEqual(await members("bob"), []);
  });
});
