// Element Call (issue #9), the unchanged @element-hq/element-call-embedded
// widget build, embedded in Atrium's widget host page (/apps/element-call/),
// in headless Chromium against atrium: two users in an encrypted room join
// one call, each decodes the other's video and hears audio through
// per-participant E2EE keys; one leaves and drops out of the other's call.
// Then a call between Element Call and Atrium's own call app in one room.
// Both of Element Call's MatrixRTC modes run: compatibility (the default:
// state memberships) and matrix_2_0 (sticky memberships).
//
// Runs only inside run.sh's private network namespace (only `lo`).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";

import { fetchJson, startServer, waitFor, WEB_ROOT } from "./lib/server.mjs";
import { browserUnavailableReason, launchBrowser } from "./lib/browser.mjs";
import { createRoom, invite, joinRoom, signUp } from "./lib/shell.mjs";
import { RECORD_PEER_CONNECTIONS, ecFrame, hostState, waitEcMedia } from "./lib/element_call.mjs";
import { callState, joinCall, waitCall, waitMedia } from "./lib/call.mjs";

const skip = browserUnavailableReason();

let server;
const browsers = {};
const pages = {};
const ids = {};

function detail() {
  let out = "";
  for (const [n, b] of Object.entries(browsers)) out += `\n--- ${n} console (tail) ---\n${b.consoleTail(25)}`;
  return `${out}\n--- server log (tail) ---\n${server?.logText(30)}`;
}

async function open(name, app = "element-call", query = "") {
  // Element Call hides its controls under the tiles in small windows.
  browsers[name] = await launchBrowser(`ec-${name}`, { viewport: { width: 1280, height: 800 } });
  await browsers[name].context.addInitScript(RECORD_PEER_CONNECTIONS);
  pages[name] = await browsers[name].newPage();
  await signUp(pages[name], server.url(`/apps/${app}/${query}`), name);
  const s = app === "call" ? await callState(pages[name]) : await hostState(pages[name]);
  ids[name] = { userId: s.userId, deviceId: s.deviceId, identity: `${s.userId}:${s.deviceId}` };
}

/** Opens Element Call in the host page (mode: its MatrixRTC mode) and waits until it has joined the call. */
async function openElementCall(name, mode = "compatibility") {
  const page = pages[name];
  await page.selectOption("#mode", mode);
  await page.click("#open-call");
  await waitFor(async () => (await hostState(page)).ready, `${name}: Element Call ready (widget API)`, 60000, { detail });
  const me = ids[name].userId;
  await waitFor(async () => (await hostState(page)).members.some((m) => m.userId === me), `${name}: Element Call joined (membership)`, 60000, {
    detail: async () => `host ${JSON.stringify(await hostState(page))}${detail()}`,
  });
}

/** Clicks in Element Call's frame without Playwright's pointer checks (its tiles overlap the controls when they fade). */
async function ecClick(name, locate) {
  const frame = await ecFrame(pages[name]);
  const target = locate(frame).first();
  await target.waitFor({ state: "attached", timeout: 20000 });
  await target.evaluate((el) => el.click());
}

async function raiseHandInElementCall(name) {
  await ecClick(name, (f) => f.getByRole("button", { name: "Reactions" }));
  await ecClick(name, (f) => f.getByRole("button", { name: "Raise hand" }));
}

async function sendReactionInElementCall(name, emoji) {
  await ecClick(name, (f) => f.getByRole("button", { name: "Reactions" }));
  await ecClick(name, (f) => f.getByRole("button").filter({ hasText: emoji }));
}

/** Element Call's hang-up; the host closes the widget when it hears of it. */
async function leaveElementCall(name) {
  await ecClick(name, (f) => f.locator('[data-testid="incall_leave"]'));
  await waitFor(async () => !(await hostState(pages[name])).open, `${name}: the host closed Element Call after its hang-up`, 20000, { detail });
}

describe("Element Call embedded in Atrium's widget host", { skip: skip || false, timeout: 600000 }, () => {
  before(async () => {
    assert.ok(existsSync(path.join(WEB_ROOT, "element-call", "ec", "index.html")), `${WEB_ROOT} has no Element Call: run scripts/build`);
    server = await startServer({ webRoot: WEB_ROOT });
  });
  after(async () => {
    for (const [n, b] of Object.entries(browsers)) {
      if (b.consoleErrors.length) process.stderr.write(`[element-call] ${n} console errors:\n  ${b.consoleErrors.slice(0, 25).join("\n  ")}\n`);
    }
    for (const b of Object.values(browsers)) await b.close();
    if (server) {
      if (process.env.ATRIUM_E2E_KEEP) server.failed = true;
      await server.stop();
    }
  });

  test("atrium serves the host page and Element Call's files", async () => {
    assert.match(await (await fetch(server.url("/apps/"))).text(), /href="element-call\/"/);
    for (const p of ["/apps/element-call/", "/apps/element-call/ec/index.html", "/apps/element-call/ec/config.json"]) {
      assert.equal((await fetch(server.url(p))).status, 200, p);
    }
  });

  for (const mode of ["compatibility", "matrix_2_0"]) {
    describe(`mode ${mode}`, () => {
      let roomId;
      const a = `alice_${mode}`;
      const b = `bob_${mode}`;

      test("two users join an encrypted call; each decodes the other's video and hears audio", async () => {
        await open(a);
        await open(b);
        roomId = await createRoom(pages[a], `Encrypted ${mode}`, { encrypted: true });
        await invite(pages[a], ids[b].userId);
        await joinRoom(pages[b], roomId);
        await openElementCall(a, mode);
        await openElementCall(b, mode);
        for (const n of [a, b]) {
          await waitFor(async () => (await hostState(pages[n])).members.length === 2, `${n} sees both members`, 30000, { detail });
          await waitEcMedia(pages[n], `${n}'s Element Call decodes the other's video and audio`, detail);
        }
        // Keys went to-device, encrypted, through the host.
        for (const n of [a, b]) {
          const toDevice = (await hostState(pages[n])).driver.filter((l) => l.action === "to_device" && l.type === "io.element.call.encryption_keys");
          assert.ok(toDevice.length > 0 && toDevice.every((l) => l.encrypted), `${n} sent its media key encrypted: ${JSON.stringify(toDevice)}`);
          const received = (await hostState(pages[n])).driver.filter((l) => l.action === "to_device_in" && l.type === "io.element.call.encryption_keys");
          assert.ok(received.length > 0 && received.every((l) => l.encrypted), `${n} received the other's key, Olm-encrypted: ${JSON.stringify(received)}`);
        }
        if (mode === "compatibility") {
          // The MSC4533 actions, through the host's driver against the auth service.
          const { jwt, delayId } = await pages[a].evaluate(() => window.ECHOST.livekitActions());
          assert.match(jwt, /^[\w-]+\.[\w-]+\.[\w-]+$/, "a LiveKit token");
          assert.ok(delayId, "the widget scheduled its delayed leave through the host");
          const state = await fetchJson(server.url(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state`), {
            token: await pages[a].evaluate(() => JSON.parse(sessionStorage.getItem("atrium.element-call.creds")).access_token),
          });
          const member = state.body.find((e) => e.type === "org.matrix.msc3401.call.member" && e.state_key === `_${ids[a].userId}_${ids[a].deviceId}_m.call`);
          assert.ok(member?.content?.application === "m.call", "Element Call's legacy state membership");
        }
        const file = await browsers[a].screenshot(pages[a], `element-call-${mode}`);
        assert.ok((await stat(file)).size > 10000, `screenshot ${file}`);
        process.stderr.write(`[element-call] screenshot: ${file}\n`);
      });

      test("a raised hand and a reaction show on the other side", async () => {
        await raiseHandInElementCall(a);
        const frameB = await ecFrame(pages[b]);
        await waitFor(async () => (await frameB.getByText("✋").count()) > 0, `${b}'s Element Call shows ${a}'s raised hand`, 20000, { detail });
        await sendReactionInElementCall(b, "👍");
        const frameA = await ecFrame(pages[a]);
        await waitFor(async () => (await frameA.getByText("👍").count()) > 0, `${a}'s Element Call shows ${b}'s reaction`, 20000, { detail });
      });

      test("one leaves and disappears from the other's call", async () => {
        await leaveElementCall(b);
        await waitFor(async () => (await hostState(pages[a])).members.length === 1, `${a} sees ${b} gone`, 30000, { detail });
        const frameA = await ecFrame(pages[a]);
        await waitFor(async () => (await frameA.locator('[data-testid="videoTile"]').count()) === 1, `${a}'s Element Call shows one tile`, 20000, { detail });
        await leaveElementCall(a);
      });
    });
  }

  describe("Element Call and Atrium's call app in one encrypted call", () => {
    let roomId;
    test("both see and hear each other", async () => {
      await open("carol", "call");
      await open("dave");
      roomId = await createRoom(pages.carol, "Mixed", { encrypted: true });
      await invite(pages.carol, ids.dave.userId);
      await joinRoom(pages.dave, roomId);
      await joinCall(pages.carol, detail);
      await openElementCall("dave", "compatibility");
      await waitCall(pages.carol, "carol's call app lists dave", (st) => st.members.length === 2, 30000, detail);
      await waitMedia(pages.carol, [ids.dave.identity], "carol's call app decodes dave's Element Call", detail, { timeoutMs: 60000 });
      await waitEcMedia(pages.dave, "dave's Element Call decodes carol's call app", detail);
      const c = await callState(pages.carol);
      assert.equal(c.remotes[ids.dave.identity]?.encrypted, true, "dave's media is end-to-end encrypted");
      assert.ok(c.keys.some((k) => k.identity === ids.dave.identity), "carol got dave's key from Element Call");
      const file = await browsers.dave.screenshot(pages.dave, "element-call-with-call-app");
      assert.ok((await stat(file)).size > 10000, `screenshot ${file}`);
    });

    test("hands and reactions cross between the two clients", async () => {
      await raiseHandInElementCall("dave");
      await waitCall(pages.carol, "carol sees dave's hand", (st) => st.tiles[ids.dave.identity]?.hand, 20000, detail);
      await pages.carol.click('button.reaction[data-name="party"]');
      const frame = await ecFrame(pages.dave);
      await waitFor(async () => (await frame.getByText("🎉").count()) > 0, "dave's Element Call shows carol's reaction", 20000, { detail });
      await pages.carol.click("#raise-hand");
      await waitFor(async () => (await frame.getByText("✋").count()) > 0, "dave's Element Call shows carol's hand", 20000, { detail });
    });
  });
});
