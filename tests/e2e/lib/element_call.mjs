// Drives Element Call (the unchanged widget build) embedded in Atrium's widget
// host page (web/element-call, served at /apps/element-call/). The host page
// is driven through its own UI and window.ECHOST; Element Call inside the
// iframe through its UI (data-testid attributes) and, for media figures,
// through the RTCPeerConnections an init script records in every frame.
import { waitFor } from "./server.mjs";

/** Records every RTCPeerConnection a frame makes in window.__atriumPcs (added to each context before pages load). */
export const RECORD_PEER_CONNECTIONS = `(() => {
  const Orig = window.RTCPeerConnection;
  if (!Orig || Orig.atriumRecorded) return;
  const pcs = (window.__atriumPcs = []);
  class Recorded extends Orig {
    constructor(...args) {
      super(...args);
      pcs.push(this);
    }
  }
  Recorded.atriumRecorded = true;
  window.RTCPeerConnection = Recorded;
})();`;

export const hostState = (page) => page.evaluate(() => window.ECHOST.state());

/** Element Call's frame in the host page, once it has loaded. */
export async function ecFrame(page, timeoutMs = 30000) {
  let frame;
  await waitFor(() => (frame = page.frames().find((f) => f.url().includes("/ec/index.html"))), "Element Call's frame", timeoutMs);
  return frame;
}

/**
 * Inbound media in Element Call's frame, per track: [{kind, trackIdentifier,
 * framesDecoded, frameWidth, samples, packets}] over every peer connection.
 */
export async function ecInbound(page) {
  const frame = await ecFrame(page);
  return frame.evaluate(async () => {
    const out = [];
    for (const pc of window.__atriumPcs || []) {
      if (pc.connectionState === "closed") continue;
      (await pc.getStats()).forEach((s) => {
        if (s.type !== "inbound-rtp") return;
        out.push({
          kind: s.kind,
          trackIdentifier: s.trackIdentifier,
          framesDecoded: s.framesDecoded ?? 0,
          frameWidth: s.frameWidth ?? 0,
          samples: s.totalSamplesReceived ?? 0,
          packets: s.packetsReceived ?? 0,
        });
      });
    }
    return out;
  });
}

/** Waits until Element Call in `page` decodes at least `videos` video tracks and receives audio samples. */
export async function waitEcMedia(page, what, detail, { videos = 1, audio = true, timeoutMs = 60000 } = {}) {
  let last;
  await waitFor(
    async () => {
      last = await ecInbound(page);
      const decoded = last.filter((s) => s.kind === "video" && s.framesDecoded > 0).length;
      const heard = last.some((s) => s.kind === "audio" && s.samples > 0);
      return decoded >= videos && (!audio || heard);
    },
    what,
    timeoutMs,
    { intervalMs: 500, detail: () => `inbound ${JSON.stringify(last)}${detail()}` },
  );
  return last;
}
