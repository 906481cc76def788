// Drives the whiteboard app (web/whiteboard, served by atrium at
// /apps/whiteboard/) through its UI in a playwright page, and reads its
// state through the app's test hooks (window.WB).
import { waitFor } from "./server.mjs";

export { createRoom, joinRoom, signUp } from "./shell.mjs";

/** WB.state() of `page`. */
export const wbState = (page) => page.evaluate(() => window.WB.state());

/** Waits until `pred(WB.state())` holds; returns that state. */
export async function waitState(page, what, pred, timeoutMs = 20000, detail = () => "") {
  let last;
  await waitFor(async () => pred((last = await wbState(page))), what, timeoutMs, {
    intervalMs: 100,
    detail: () => `state ${JSON.stringify(last)}${detail()}`,
  });
  return last;
}

/** Starts or joins the room's whiteboard session and waits for the SFU connection. */
export async function joinSession(page, detail) {
  await page.click("#join-session");
  return waitState(page, "joined the session and connected to the SFU", (s) => s.joined && s.livekit === "connected", 30000, detail);
}

/** Board coordinates -> page coordinates. */
export async function boardOrigin(page) {
  const box = await page.locator("#board").boundingBox();
  return { x: box.x, y: box.y };
}

/** Draws a polyline through `points` ([[x, y], ...] in board coordinates) with the mouse. */
export async function drawStroke(page, points) {
  const o = await boardOrigin(page);
  await page.click("#tool-pen");
  await page.mouse.move(o.x + points[0][0], o.y + points[0][1]);
  await page.mouse.down();
  for (const [x, y] of points.slice(1)) await page.mouse.move(o.x + x, o.y + y, { steps: 4 });
  await page.mouse.up();
}

/** Moves the mouse over the board to (x, y) in board coordinates. */
export async function moveCursor(page, x, y) {
  const o = await boardOrigin(page);
  await page.mouse.move(o.x + x, o.y + y, { steps: 3 });
}

/** Adds a text box at (x, y) and types `text` into it; returns the box id. */
export async function addText(page, x, y, text) {
  const before = new Set((await wbState(page)).texts.map((t) => t.id));
  const o = await boardOrigin(page);
  await page.click("#tool-text");
  await page.mouse.click(o.x + x, o.y + y);
  const s = await waitState(page, "a new text box", (st) => st.texts.some((t) => !before.has(t.id)));
  const id = s.texts.find((t) => !before.has(t.id)).id;
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
  await page.click("#tool-pen");
  return id;
}

/** Replaces the text of box `id` (double-click to edit; "" deletes the box). */
export async function editText(page, id, text) {
  const body = page.locator(`.textbox[data-id="${id}"] .body`);
  await body.dblclick();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Backspace");
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

/** Drags box `id` by its grip by (dx, dy). */
export async function moveText(page, id, dx, dy) {
  const grip = await page.locator(`.textbox[data-id="${id}"] .grip`).boundingBox();
  const x = grip.x + grip.width / 2;
  const y = grip.y + grip.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + dx, y + dy, { steps: 6 });
  await page.mouse.up();
}
