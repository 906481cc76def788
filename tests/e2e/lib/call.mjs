// Drives the call app (web/call, served by atrium at /apps/call/) through its
// UI in a playwright page, and reads its state through the app's test hooks
// (window.CALL). Sign-up and the room views are the shell's (./shell.mjs).
import { waitFor } from "./server.mjs";

export { createRoom, invite, joinRoom, signUp } from "./shell.mjs";

/** CALL.state() of `page`. */
export const callState = (page) => page.evaluate(() => window.CALL.state());

/** CALL.stats() of `page`: per remote identity, inbound video/audio figures. */
export const callStats = (page) => page.evaluate(() => window.CALL.stats());

/** Waits until `pred(CALL.state())` holds; returns that state. */
export async function waitCall(page, what, pred, timeoutMs = 20000, detail = () => "") {
  let last;
  await waitFor(async () => pred((last = await callState(page))), what, timeoutMs, {
    intervalMs: 100,
    detail: () => `state ${JSON.stringify(last)}${detail()}`,
  });
  return last;
}

/** Starts or joins the open room's call and waits for the SFU connection and our camera. */
export async function joinCall(page, detail) {
  await page.click("#start-call");
  return waitCall(page, "joined the call with camera and microphone", (s) => s.joined && s.livekit === "connected" && s.camera && s.mic, 40000, detail);
}

/** Waits until `page` decodes video frames (and audio samples) from each identity in `from`. */
export async function waitMedia(page, from, what, detail, { audio = true, timeoutMs = 40000 } = {}) {
  let last;
  await waitFor(
    async () => {
      last = await callStats(page);
      return from.every((id) => last[id]?.video?.framesDecoded > 0 && (!audio || last[id]?.audio?.samples > 0));
    },
    what,
    timeoutMs,
    { intervalMs: 250, detail: () => `stats ${JSON.stringify(last)}${detail()}` },
  );
  return last;
}
