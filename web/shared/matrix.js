// What every Atrium app needs from Matrix: an account on the serving
// homeserver (same origin), a started matrix-js-sdk client, rooms, a
// MatrixRTC session for the app's own application id, and a LiveKit
// connection to the session's SFU through the RTC auth service.
import * as sdk from "matrix-js-sdk";
import { logger as sdkLogger } from "matrix-js-sdk/lib/logger.js";
import { MatrixRTCSessionManager, MembershipManagerEvent } from "matrix-js-sdk/lib/matrixrtc/index.js";
import { Room as LkRoom } from "livekit-client";

const enc = encodeURIComponent;

// The sdk logs every MatrixRTC step at debug level: keep warnings and errors.
class QuietLogger {
  constructor(prefix = "") {
    this.prefix = prefix;
  }
  trace() {}
  debug() {}
  info() {}
  warn(...a) {
    console.warn(this.prefix, ...a);
  }
  error(...a) {
    console.error(this.prefix, ...a);
  }
  getChild(ns) {
    return new QuietLogger(this.prefix + ns);
  }
}
const quiet = new QuietLogger("[matrix] ");

// MatrixRTCSession logs through the sdk's global logger, whose children are
// all set to debug: set each new child (and its children) to warn.
function quietChildren(parent) {
  const getChild = parent.getChild;
  if (typeof getChild !== "function" || parent.atriumQuiet) return;
  parent.atriumQuiet = true;
  parent.getChild = (prefix) => {
    const child = getChild.call(parent, prefix);
    child.setLevel?.("warn", false);
    quietChildren(child);
    return child;
  };
}
quietChildren(sdkLogger);
export const HOMESERVER = location.origin;

async function api(path, { method = "GET", token, body } = {}) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(HOMESERVER + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let json = {};
  try {
    json = await res.json();
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: json };
}

function matrixError(what, r) {
  const e = new Error(`${what}: ${r.body?.error || "HTTP " + r.status}${r.body?.errcode ? " (" + r.body.errcode + ")" : ""}`);
  e.errcode = r.body?.errcode;
  return e;
}

/** Password login; returns {user_id, access_token, device_id}. */
export async function login(username, password) {
  const r = await api("/_matrix/client/v3/login", {
    method: "POST",
    body: { type: "m.login.password", identifier: { type: "m.id.user", user: username }, password, initial_device_display_name: "Atrium app" },
  });
  if (r.status !== 200) throw matrixError("login", r);
  return r.body;
}

/** Registration with the m.login.dummy flow (open registration). */
export async function register(username, password) {
  const req = { username, password, initial_device_display_name: "Atrium app" };
  let r = await api("/_matrix/client/v3/register", { method: "POST", body: req });
  if (r.status === 401 && r.body.flows) {
    r = await api("/_matrix/client/v3/register", { method: "POST", body: { ...req, auth: { type: "m.login.dummy", session: r.body.session } } });
  }
  if (r.status !== 200) throw matrixError("sign up", r);
  return r.body;
}

/**
 * Starts a matrix-js-sdk client for `creds` and waits for its first sync.
 * With `crypto`, end-to-end encryption is on (Rust crypto, its WASM fetched
 * beside the bundle; its store in IndexedDB per device, so a reload keeps
 * the device's keys).
 */
export async function startClient(creds, { crypto = false } = {}) {
  sdkLogger.setLevel?.("warn", false);
  const client = sdk.createClient({
    logger: quiet,
    baseUrl: HOMESERVER,
    userId: creds.user_id,
    accessToken: creds.access_token,
    deviceId: creds.device_id,
  });
  if (crypto) await client.initRustCrypto({ cryptoDatabasePrefix: `atrium-${creds.user_id}-${creds.device_id}` });
  const ready = new Promise((resolve, reject) => {
    const onSync = (state, _prev, data) => {
      if (state === "PREPARED" || state === "SYNCING") {
        client.off(sdk.ClientEvent.Sync, onSync);
        resolve();
      } else if (state === "ERROR" && data?.error?.errcode === "M_UNKNOWN_TOKEN") {
        reject(data.error);
      }
    };
    client.on(sdk.ClientEvent.Sync, onSync);
  });
  await client.startClient({ initialSyncLimit: 20, lazyLoadMembers: false });
  await ready;
  return client;
}

/** Joined rooms, newest activity first: [{roomId, name}]. */
export function joinedRooms(client) {
  return client
    .getRooms()
    .filter((r) => r.getMyMembership() === "join")
    .sort((a, b) => b.getLastActiveTimestamp() - a.getLastActiveTimestamp())
    .map((r) => ({ roomId: r.roomId, name: r.name || r.roomId }));
}

/**
 * Creates a room in which every member may write the app's state
 * (`stateTypes`) and MatrixRTC memberships: public, or with `encrypted` an
 * end-to-end encrypted invite-only room. The spec's override is a shallow
 * merge, so the whole `events` map is given.
 */
export async function createRoom(client, name, stateTypes = [], { encrypted = false } = {}) {
  const events = {
    "m.room.name": 50,
    "m.room.power_levels": 100,
    "m.room.history_visibility": 100,
    "m.room.canonical_alias": 50,
    "m.room.avatar": 50,
    "m.room.tombstone": 100,
    "m.room.server_acl": 100,
    "m.room.encryption": 100,
    "org.matrix.msc3401.call.member": 0,
  };
  for (const t of stateTypes) events[t] = 0;
  const initial_state = encrypted ? [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }] : [];
  const { room_id } = await client.createRoom({
    name,
    preset: encrypted ? "private_chat" : "public_chat",
    power_level_content_override: { events },
    initial_state,
  });
  await waitForRoom(client, room_id);
  return room_id;
}

/** Joins a room by id or alias; resolves with the room id once sync has it. */
export async function joinRoom(client, idOrAlias) {
  const room = await client.joinRoom(idOrAlias);
  await waitForRoom(client, room.roomId);
  return room.roomId;
}

export function waitForRoom(client, roomId, timeoutMs = 20000) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const room = client.getRoom(roomId);
      if (room && room.getMyMembership() === "join") {
        client.off(sdk.ClientEvent.Room, check);
        client.off(sdk.ClientEvent.Sync, check);
        clearTimeout(timer);
        resolve(room);
        return true;
      }
      return false;
    };
    const timer = setTimeout(() => {
      client.off(sdk.ClientEvent.Room, check);
      client.off(sdk.ClientEvent.Sync, check);
      reject(new Error(`room ${roomId} did not arrive`));
    }, timeoutMs);
    if (!check()) {
      client.on(sdk.ClientEvent.Room, check);
      client.on(sdk.ClientEvent.Sync, check);
    }
  });
}

/** The LiveKit transport the homeserver advertises (MSC4143), else this origin's. */
export async function livekitTransport(client) {
  const r = await api("/_matrix/client/unstable/org.matrix.msc4143/rtc/transports", { token: client.getAccessToken() });
  const found = (r.body?.rtc_transports || []).find((t) => t.type === "livekit" && t.livekit_service_url);
  return { type: "livekit", livekit_service_url: found?.livekit_service_url || `${HOMESERVER}/livekit/jwt` };
}

/** Relations of `eventId` (newest first), paged until `stop(event)` says so or the end. */
export async function relationsNewestFirst(client, roomId, eventId, relType, stop = () => false) {
  const out = [];
  let from;
  for (;;) {
    const q = new URLSearchParams({ dir: "b", limit: "100" });
    if (from) q.set("from", from);
    const r = await api(`/_matrix/client/v1/rooms/${enc(roomId)}/relations/${enc(eventId)}/${enc(relType)}?${q}`, {
      token: client.getAccessToken(),
    });
    if (r.status !== 200) throw matrixError("relations", r);
    for (const ev of r.body.chunk || []) {
      if (stop(ev)) return out;
      out.push(ev);
    }
    if (!r.body.next_batch) return out;
    from = r.body.next_batch;
  }
}

/**
 * A MatrixRTC session for application `app` (slot `app#ROOM`) in `roomId`,
 * joined with legacy state memberships (as Element Call's default mode) and a
 * delayed leave, plus a LiveKit connection to the session's SFU.
 *
 * Options: `tokenEndpoint` "get_token" (MSC4195, identity hashed by the auth
 * service) or "sfu/get" (what Element Call's default mode uses; the LiveKit
 * identity is then `@user:server:DEVICE`, the membership's backend identity);
 * `joinConfig` extra MatrixRTCSession join settings (`manageMediaKeys`,
 * `notificationType`, `callIntent`, ...).
 */
export class RtcSession {
  constructor(
    client,
    roomId,
    app,
    { leaveDelayMs = 8000, onMembers = () => {}, onStatus = () => {}, tokenEndpoint = "get_token", joinConfig = {} } = {},
  ) {
    this.client = client;
    this.roomId = roomId;
    this.app = app;
    this.slotId = `${app}#ROOM`;
    this.leaveDelayMs = leaveDelayMs;
    this.onMembers = onMembers;
    this.onStatus = onStatus;
    this.tokenEndpoint = tokenEndpoint;
    this.joinConfig = joinConfig;
    this.manager = new MatrixRTCSessionManager(quiet, client, { application: app, id: "ROOM" });
    this.manager.start();
    this.session = this.manager.getRoomSession(client.getRoom(roomId));
    this.session.on("memberships_changed", () => this.onMembers(this.members()));
    this.delayId = null;
    this.session.on(MembershipManagerEvent.DelayIdChanged, (id) => (this.delayId = id ?? null));
    this.lk = null;
  }

  /** Stops watching the room (when not joined). */
  close() {
    if (!this.session.isJoined()) this.manager.stop();
  }

  /**
   * [{userId, deviceId, memberId, eventId, identity}] from the room's
   * membership events, oldest first; `identity` is the member's LiveKit identity.
   */
  members() {
    return this.session.memberships.map((m) => ({
      userId: m.userId,
      deviceId: m.deviceId,
      memberId: m.memberId,
      eventId: m.eventId,
      identity: m.rtcBackendIdentity,
    }));
  }

  /**
   * Sends our membership (with its delayed leave) and connects to the SFU.
   * `beforeConnect(lkRoom)` runs between creating the LiveKit room and
   * connecting it (to turn on E2EE, say).
   */
  async join(lkOptions = {}, { beforeConnect } = {}) {
    const transport = await livekitTransport(this.client);
    this.transport = transport;
    this.session.joinRoomSession([transport], transport, {
      delayedLeaveEventDelayMs: this.leaveDelayMs,
      delayedLeaveEventRestartMs: Math.max(500, Math.floor(this.leaveDelayMs / 3)),
      networkErrorRetryMs: 1000,
      manageMediaKeys: false,
      ...this.joinConfig,
    });
    this.onStatus("getting an SFU token");
    const { url, jwt } = await this.token(transport);
    this.lk = new LkRoom({ adaptiveStream: false, dynacast: false, ...lkOptions });
    await beforeConnect?.(this.lk);
    this.onStatus("connecting to the SFU");
    await this.lk.connect(url, jwt, { autoSubscribe: true });
    this.onStatus("connected");
    return this.lk;
  }

  /** An SFU token from the auth service (Element Call's request), with a fresh OpenID token. */
  async token(transport) {
    const openid = await this.client.getOpenIdToken();
    const userId = this.client.getUserId();
    const deviceId = this.client.getDeviceId();
    const request =
      this.tokenEndpoint === "sfu/get"
        ? { room: this.roomId, openid_token: openid, device_id: deviceId }
        : {
            room_id: this.roomId,
            slot_id: this.slotId,
            openid_token: openid,
            member: { id: `${userId}:${deviceId}`, claimed_user_id: userId, claimed_device_id: deviceId },
          };
    const res = await fetch(`${transport.livekit_service_url}/${this.tokenEndpoint}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(request),
    });
    const body = await res.json().catch(() => ({}));
    if (res.status !== 200 || !body.jwt) throw new Error(`${this.tokenEndpoint}: ${body.error || "HTTP " + res.status}`);
    return body;
  }

  /** Our own membership (see members()), or null. */
  own() {
    const me = this.client.getUserId();
    const device = this.client.getDeviceId();
    return this.members().find((m) => m.userId === me && m.deviceId === device) ?? null;
  }

  /**
   * For `pagehide`: sends our delayed leave now with a request that outlives
   * the page, so a closed tab leaves at once (a crashed one leaves when the
   * delay runs out, as nobody restarts it any more).
   */
  leaveOnUnload() {
    if (!this.session.isJoined() || !this.delayId) return;
    // Stop first: a membership manager that saw its own membership vanish
    // in the page's last moments would send it again.
    this.client.stopClient();
    this.session.leaveRoomSession(1000).catch(() => {});
    fetch(`${HOMESERVER}/_matrix/client/unstable/org.matrix.msc4140/delayed_events/${enc(this.delayId)}/send`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${this.client.getAccessToken()}` },
      body: "{}",
      keepalive: true,
    }).catch(() => {});
  }

  /** Ends the membership now (the delayed leave is sent) and leaves the SFU. */
  async leave() {
    try {
      await this.session.leaveRoomSession(5000);
    } finally {
      await this.lk?.disconnect();
      this.lk = null;
    }
  }
}
