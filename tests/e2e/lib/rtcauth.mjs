// Helpers for the RTC auth service tests: Element Call's request shapes,
// the LiveKit room-name/identity hashes (as lk-jwt-service computes them),
// OpenID tokens, delayed leaves, and webhooks signed as LiveKit signs them.
import crypto from "node:crypto";
import { execFile } from "node:child_process";
import { AccessToken } from "livekit-server-sdk";
import { fetchJson, describeResponse, ATRIUM_BIN } from "./server.mjs";

const enc = encodeURIComponent;
export const API_KEY = "APIe2etest";
export const API_SECRET = "e2e-secret-e2e-secret-e2e-secret-0123456789";
export const SLOT = "m.call#ROOM";

/** Go's json.Marshal of a string array (escapes <, >, &), then unpadded base64 of its SHA-256. */
export function lkHash(items) {
  const json = JSON.stringify(items).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
  return crypto.createHash("sha256").update(json).digest("base64").replace(/=+$/, "");
}

export async function createRoom(server, token) {
  const r = await server.api("/_matrix/client/v3/createRoom", { method: "POST", token, body: {} });
  if (r.status !== 200) throw new Error(`createRoom: ${describeResponse(r)}`);
  return r.body.room_id;
}

export async function openIdToken(server, user) {
  const r = await server.api(`/_matrix/client/v3/user/${enc(user.user_id)}/openid/request_token`, {
    method: "POST",
    token: user.access_token,
    body: {},
  });
  if (r.status !== 200) throw new Error(`openid: ${describeResponse(r)}`);
  return r.body;
}

/** Element Call's /get_token body (src/livekit/auth/openID.ts). */
export function getTokenBody(roomId, openid, user, memberId, delay) {
  const body = {
    room_id: roomId,
    slot_id: SLOT,
    openid_token: openid,
    member: { id: memberId, claimed_user_id: user.user_id, claimed_device_id: user.device_id },
  };
  return delay ? { ...body, ...delay } : body;
}

/** Element Call's legacy /sfu/get body. */
export function legacyBody(roomId, openid, user, delay) {
  const body = { room: roomId, openid_token: openid, device_id: user.device_id };
  return delay ? { ...body, ...delay } : body;
}

/** Schedules a delayed "leave" (empty call.member state) and returns its delay_id. */
export async function scheduleLeave(server, user, roomId, delayMs, key) {
  const type = "org.matrix.msc3401.call.member";
  const put = (path, body) => server.api(path, { method: "PUT", token: user.access_token, body });
  const base = `/_matrix/client/v3/rooms/${enc(roomId)}/state/${type}/${enc(key)}`;
  let r = await put(base, { application: "m.call", call_id: "", device_id: user.device_id, focus_active: { type: "livekit" } });
  if (r.status !== 200) throw new Error(`membership: ${describeResponse(r)}`);
  r = await put(`${base}?org.matrix.msc4140.delay=${delayMs}`, {});
  if (r.status !== 200 || !r.body?.delay_id) throw new Error(`delayed leave: ${describeResponse(r)}`);
  return r.body.delay_id;
}

export async function memberContent(server, user, roomId, key) {
  const r = await server.api(
    `/_matrix/client/v3/rooms/${enc(roomId)}/state/org.matrix.msc3401.call.member/${enc(key)}`,
    { token: user.access_token },
  );
  return r.status === 200 ? r.body : undefined;
}

/** POSTs a LiveKit webhook, signed like LiveKit does (JWT with sha256 of the body). */
export async function sendWebhook(baseUrl, event, room, identity, { secret = API_SECRET } = {}) {
  const body = JSON.stringify({
    event,
    room: { sid: "RM_test", name: room },
    participant: { sid: "PA_test", identity, state: event === "participant_joined" ? "ACTIVE" : "DISCONNECTED" },
    id: "EV_" + crypto.randomUUID(),
    createdAt: String(Math.floor(Date.now() / 1000)),
  });
  const at = new AccessToken(API_KEY, secret, { ttl: "5m" });
  at.sha256 = crypto.createHash("sha256").update(body).digest("base64");
  const jwt = await at.toJwt();
  return fetchJson(`${baseUrl}/sfu_webhook`, {
    method: "POST",
    rawBody: body,
    headers: { "Content-Type": "application/webhook+json", Authorization: jwt },
  });
}

/** Runs `atrium verify-token`; resolves {code, stdout, stderr}. */
export function verifyTokenCli(token, key = API_KEY, secret = API_SECRET) {
  return new Promise((resolve) => {
    execFile(ATRIUM_BIN, ["verify-token", "--key", key, "--secret", secret, token], (err, stdout, stderr) => {
      resolve({ code: err ? err.code ?? 1 : 0, stdout, stderr });
    });
  });
}
