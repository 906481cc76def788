// The client side of the Matrix widget API for an embedded Element Call: a
// matrix-widget-api WidgetDriver that carries out what the widget asks for
// with the host's matrix-js-sdk client (room and state events, sticky and
// delayed events, to-device messages encrypted with the host's Olm sessions,
// relations, OpenID, the MatrixRTC transports), and a feed that passes what
// the host's client receives (decrypted) back into the widget.
import { ClientEvent, MatrixEventEvent, RoomStateEvent } from "matrix-js-sdk";
import { OpenIDRequestState, WidgetDriver } from "matrix-widget-api";

import { HOMESERVER, livekitTransport } from "../shared/matrix.js";

export class ClientWidgetDriver extends WidgetDriver {
  /** `client`: a started matrix-js-sdk client; `roomId`: the room the widget is confined to. */
  constructor(client, roomId) {
    super();
    this.client = client;
    this.roomId = roomId;
    this.log = []; // {action, type?, detail?}: what the widget asked for, for tests
    this.delays = new Map(); // delay id -> its timeout (ms), for delegating a delayed leave
  }

  note(action, detail = {}) {
    this.log.push({ action, ...detail });
    if (this.log.length > 500) this.log.shift();
  }

  room(roomId) {
    const id = roomId ?? this.roomId;
    if (id !== this.roomId) throw new Error(`the widget is confined to ${this.roomId}`);
    return id;
  }

  // Our own page embeds Element Call for its user: grant what it asks for.
  async validateCapabilities(requested) {
    this.note("capabilities", { count: requested.size });
    return requested;
  }

  async sendEvent(eventType, content, stateKey = null, roomId = null) {
    const id = this.room(roomId);
    this.note("send", { type: eventType, state: stateKey !== null && stateKey !== undefined });
    const r =
      stateKey !== null && stateKey !== undefined
        ? await this.client.sendStateEvent(id, eventType, content, stateKey)
        : await this.client.sendEvent(id, eventType, content);
    return { roomId: id, eventId: r.event_id };
  }

  async sendStickyEvent(stickyDurationMs, eventType, content, roomId = null) {
    const id = this.room(roomId);
    this.note("send_sticky", { type: eventType });
    const r = await this.client._unstable_sendStickyEvent(id, stickyDurationMs, null, eventType, content);
    return { roomId: id, eventId: r.event_id };
  }

  async sendDelayedEvent(delay, eventType, content, stateKey = null, roomId = null) {
    const id = this.room(roomId);
    this.note("send_delayed", { type: eventType, delay });
    const r =
      stateKey !== null && stateKey !== undefined
        ? await this.client._unstable_sendDelayedStateEvent(id, { delay }, eventType, content, stateKey)
        : await this.client._unstable_sendDelayedEvent(id, { delay }, null, eventType, content);
    this.delays.set(r.delay_id, delay);
    return { roomId: id, delayId: r.delay_id };
  }

  async sendDelayedStickyEvent(delay, stickyDurationMs, eventType, content, roomId = null) {
    const id = this.room(roomId);
    this.note("send_delayed_sticky", { type: eventType, delay });
    const r = await this.client._unstable_sendStickyDelayedEvent(id, stickyDurationMs, { delay }, null, eventType, content);
    this.delays.set(r.delay_id, delay);
    return { roomId: id, delayId: r.delay_id };
  }

  async cancelScheduledDelayedEvent(delayId) {
    this.note("delayed_cancel");
    await this.client._unstable_cancelScheduledDelayedEvent(delayId);
  }

  async restartScheduledDelayedEvent(delayId) {
    this.note("delayed_restart");
    await this.client._unstable_restartScheduledDelayedEvent(delayId);
  }

  async sendScheduledDelayedEvent(delayId) {
    this.note("delayed_send");
    await this.client._unstable_sendScheduledDelayedEvent(delayId);
  }

  /** contentMap: {userId: {deviceId or "*": content}}. */
  async sendToDevice(eventType, encrypted, contentMap) {
    this.note("to_device", { type: eventType, encrypted, users: Object.keys(contentMap).length });
    if (!encrypted) {
      const batch = [];
      for (const [userId, devices] of Object.entries(contentMap)) {
        for (const [deviceId, payload] of Object.entries(devices)) batch.push({ userId, deviceId, payload });
      }
      await this.client.queueToDevice({ eventType, batch });
      return;
    }
    // Olm encrypts one payload for many devices: group devices by content.
    const crypto = this.client.getCrypto();
    if (!crypto) throw new Error("encrypted to-device messages need the host's crypto");
    const groups = new Map(); // JSON content -> [{userId, deviceId}]
    for (const [userId, devices] of Object.entries(contentMap)) {
      for (const [deviceId, payload] of Object.entries(devices)) {
        let targets = [{ userId, deviceId }];
        if (deviceId === "*") {
          const known = (await crypto.getUserDeviceInfo([userId], true)).get(userId) ?? new Map();
          targets = [...known.keys()].map((d) => ({ userId, deviceId: d }));
        }
        const key = JSON.stringify(payload);
        groups.set(key, [...(groups.get(key) ?? []), ...targets]);
      }
    }
    for (const [payload, devices] of groups) {
      if (devices.length) await this.client.encryptAndSendToDevice(eventType, devices, JSON.parse(payload));
    }
  }

  /** Newest first, as the widget API expects. */
  async readRoomTimeline(roomId, eventType, msgtype, stateKey, limit, since) {
    const room = this.client.getRoom(this.room(roomId));
    if (!room) return [];
    const out = [];
    const events = room.getLiveTimeline().getEvents();
    for (let i = events.length - 1; i >= 0 && out.length < limit; i--) {
      const ev = events[i];
      if (since !== undefined && ev.getId() === since) break;
      if (ev.getType() !== eventType || ev.isDecryptionFailure()) continue;
      if (msgtype !== undefined && ev.getContent().msgtype !== msgtype) continue;
      if (stateKey !== undefined && ev.getStateKey() !== stateKey) continue;
      out.push(ev.getEffectiveEvent());
    }
    return out;
  }

  async readRoomState(roomId, eventType, stateKey) {
    const room = this.client.getRoom(this.room(roomId));
    if (!room) return [];
    const state = room.getLiveTimeline().getState("f");
    const events = stateKey === undefined ? state.getStateEvents(eventType) : [state.getStateEvents(eventType, stateKey)].filter(Boolean);
    return events.map((ev) => ev.getEffectiveEvent());
  }

  async readStickyEvents(roomId) {
    const room = this.client.getRoom(this.room(roomId));
    return [...(room?._unstable_getStickyEvents?.() ?? [])].map((ev) => ev.getEffectiveEvent());
  }

  async readEventRelations(eventId, roomId, relationType, eventType, from, to, limit, direction) {
    const id = this.room(roomId);
    const r = await this.client.relations(id, eventId, relationType ?? null, eventType ?? null, { from, to, limit, dir: direction });
    return { chunk: r.events.map((ev) => ev.getEffectiveEvent()), nextBatch: r.nextBatch ?? undefined, prevBatch: r.prevBatch ?? undefined };
  }

  askOpenID(observer) {
    this.note("openid");
    this.client.getOpenIdToken().then(
      (token) => observer.update({ state: OpenIDRequestState.Allowed, token }),
      () => observer.update({ state: OpenIDRequestState.Blocked }),
    );
  }

  async getRtcTransports() {
    this.note("rtc_transports");
    return { rtc_transports: [await livekitTransport(this.client)] };
  }

  /** POSTs `body` (plus a fresh OpenID token) to the auth service's `endpoint`. */
  async authService(endpoint, body) {
    const transport = await livekitTransport(this.client);
    const res = await fetch(`${transport.livekit_service_url}/${endpoint}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ...body, openid_token: await this.client.getOpenIdToken() }),
    });
    const reply = await res.json().catch(() => ({}));
    if (res.status !== 200) throw new Error(`${endpoint}: ${reply.error || "HTTP " + res.status}`);
    return reply;
  }

  async getRtcLivekitToken(data) {
    this.note("livekit_token");
    const { slot_id, member } = data;
    const reply = await this.authService("get_token", { room_id: this.room(data.room_id), slot_id, member });
    if (!reply.jwt) throw new Error("get_token: no jwt in the answer");
    return { jwt: reply.jwt };
  }

  // The auth service restarts the delayed leave while the member is on the
  // SFU and sends it when the member drops; it needs the leave's timeout,
  // which only the request that scheduled it carried.
  async delegateRtcLivekitDelayedLeave(data) {
    this.note("delegate_delayed_leave");
    const timeout = this.delays.get(data.delay_id);
    if (!timeout) throw new Error(`delegate_delayed_leave: ${data.delay_id} was not scheduled through this host`);
    const { slot_id, member, delay_id } = data;
    await this.authService("delegate_delayed_leave", {
      room_id: this.room(data.room_id),
      slot_id,
      member,
      delay_id,
      delay_timeout: timeout,
      delay_cs_api_url: HOMESERVER,
    });
    return {};
  }

  // No TURN: the SFU is reachable directly (ICE-lite, UDP and TCP).
  async *getTurnServers() {}

  async getMediaConfig() {
    return this.client.getMediaConfig();
  }

  async uploadFile(file) {
    const r = await this.client.uploadContent(file);
    return { contentUri: r.content_uri };
  }

  async downloadFile(contentUri) {
    const url = this.client.mxcUrlToHttp(contentUri, undefined, undefined, undefined, false, true, true);
    const res = await fetch(url, { headers: { Authorization: `Bearer ${this.client.getAccessToken()}` } });
    if (!res.ok) throw new Error(`download: HTTP ${res.status}`);
    return { file: await res.blob() };
  }

  getKnownRooms() {
    return [this.roomId];
  }
}

/**
 * Passes what the host's client receives into the widget: room events of
 * the widget's room (after decryption), state changes, to-device messages.
 * `log(what, error)` hears of failures, `note(action, detail)` of each
 * to-device message passed on. Returns a function that stops the feed.
 */
export function feedWidget(client, api, roomId, { log = () => {}, note = () => {} } = {}) {
  const fed = new Set();
  const feedRoomEvent = (ev) => {
    if (ev.getRoomId() !== roomId || ev.isSending() || ev.isBeingDecrypted() || ev.isDecryptionFailure()) return;
    const id = ev.getId();
    if (!id || id.startsWith("~") || fed.has(id)) return;
    fed.add(id);
    api.feedEvent(ev.getEffectiveEvent()).catch((e) => log("feedEvent", e));
  };
  const onEvent = (ev) => {
    if (ev.shouldAttemptDecryption?.() || ev.isBeingDecrypted()) return; // fed once decrypted
    feedRoomEvent(ev);
  };
  const onState = (ev, state) => {
    const room = client.getRoom(roomId);
    if (ev.getRoomId() !== roomId || !room || state !== room.getLiveTimeline().getState("f")) return;
    api.feedStateUpdate(ev.getEffectiveEvent()).catch((e) => log("feedStateUpdate", e));
  };
  const onToDevice = (ev) => {
    note("to_device_in", { type: ev.getType(), encrypted: ev.isEncrypted() });
    api.feedToDevice(ev.getEffectiveEvent(), ev.isEncrypted()).catch((e) => log("feedToDevice", e));
  };
  client.on(ClientEvent.Event, onEvent);
  client.on(MatrixEventEvent.Decrypted, feedRoomEvent);
  client.on(RoomStateEvent.Events, onState);
  client.on(ClientEvent.ToDeviceEvent, onToDevice);
  return () => {
    client.off(ClientEvent.Event, onEvent);
    client.off(MatrixEventEvent.Decrypted, feedRoomEvent);
    client.off(RoomStateEvent.Events, onState);
    client.off(ClientEvent.ToDeviceEvent, onToDevice);
  };
}

