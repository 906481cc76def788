// The call app: audio/video calls in any Matrix room, on the same MatrixRTC
// memberships, token endpoint and SFU as Element Call (application m.call,
// slot m.call#ROOM, legacy state memberships with a delayed leave, the
// auth service's /sfu/get, LiveKit identity @user:server:DEVICE), so either
// client can join the other's call. Ringing is the SDK's
// org.matrix.msc4075.rtc.notification (m.mentions the room) with an
// org.matrix.msc4310.rtc.decline answer; a raised hand is an m.reaction 🖐️ on
// the member's membership event; emoji reactions are io.element.call.reaction.
// In encrypted rooms media is end-to-end encrypted with per-participant keys
// (keys.js). window.CALL exposes the state for tests.
import { Room as LkRoom, RoomEvent as LkEvent, Track } from "livekit-client";
import { MatrixEventEvent, RoomEvent } from "matrix-js-sdk";
import { MatrixRTCSessionEvent } from "matrix-js-sdk/lib/matrixrtc/index.js";

import * as mx from "../shared/matrix.js";
import { Shell } from "../shared/shell.js";
import { MatrixKeyProvider, e2eeWorker } from "./keys.js";
import * as calls from "./events.js";
import { Tiles } from "./tiles.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const LEAVE_DELAY_MS = Number(params.get("leaveDelayMs")) || 8000;
const CREDS_KEY = "atrium.call.creds";

const state = {
  creds: null,
  client: null,
  roomId: null,
  rtc: null,
  members: [],
  joined: false,
  encrypted: false,
  keys: null, // MatrixKeyProvider while in an encrypted call
  lk: null, // the LiveKit room (also the eavesdropping one, see CALL.reconnectWithoutMembership)
  hands: new Map(), // membership event id -> {userId, reactionId}
  myHand: null, // {reactionId, membershipEventId}
  seen: new Set(), // event ids handled (live echo, sync and decryption may each deliver one)
  ring: null, // {roomId, eventId, from, until, timer}
  rings: [], // every ring shown: {roomId, eventId, from}
  declines: [], // declines received: {roomId, from, notification}
  notificationsSent: [],
  reactions: [], // reactions received: {from, emoji, name, membershipEventId}
  encryptionErrors: [],
};
const tiles = new Tiles($("tiles"));

const shell = new Shell({
  credsKey: CREDS_KEY,
  views: ["login-view", "rooms-view", "room-view", "call-view"],
  crypto: true,
  openRoom,
  onClient: (client) => {
    state.client = client;
    state.creds = shell.creds;
    client.on(RoomEvent.Timeline, (ev, room, toStart) => !toStart && onEvent(ev));
    client.on(MatrixEventEvent.Decrypted, (ev) => onEvent(ev));
  },
  beforeLogout: () => leaveCall(),
});
const setStatus = (text) => shell.setStatus(text);
const fail = (where, e) => shell.fail(where, e);
const show = (view) => shell.show(view);

// ---- rooms ----

function openRoom(roomId) {
  if (state.joined && roomId === state.roomId) return show("call-view");
  if (!state.joined) state.rtc?.close();
  state.roomId = roomId;
  const room = state.client.getRoom(roomId);
  state.encrypted = !!room?.hasEncryptionStateEvent();
  $("room-name").textContent = room?.name || roomId;
  $("room-encryption").textContent = state.encrypted
    ? "🔒 End-to-end encrypted: media keys go to each member's devices over Matrix."
    : "Not encrypted.";
  state.rtc = new mx.RtcSession(state.client, roomId, "m.call", {
    leaveDelayMs: LEAVE_DELAY_MS,
    tokenEndpoint: "sfu/get",
    joinConfig: { manageMediaKeys: state.encrypted, notificationType: "ring", callIntent: "video" },
    onMembers: (members) => {
      state.members = members;
      onMembersChanged();
    },
    onStatus: setStatus,
  });
  // Our own ring comes back as the local echo only: hear of it from the session.
  state.rtc.session.on(MatrixRTCSessionEvent.DidSendCallNotification, (n) =>
    state.notificationsSent.push({ roomId, eventId: n.event_id }),
  );
  state.members = state.rtc.members();
  onMembersChanged();
  show("room-view");
}

function onMembersChanged() {
  const n = state.members.length;
  $("call-summary").textContent =
    n === 0 ? "No call in this room." : `${n} in the call: ${state.members.map((m) => m.userId).join(", ")}`;
  $("start-call").textContent = n === 0 ? "Start call" : "Join call";
  // A raised hand counts only on the member's current membership event.
  const current = new Set(state.members.map((m) => m.eventId));
  for (const id of state.hands.keys()) if (!current.has(id)) state.hands.delete(id);
  if (state.myHand && !current.has(state.myHand.membershipEventId)) setMyHand(null);
  if (state.ring?.roomId === state.roomId && n === 0) stopRinging(); // the call ended
  renderTiles();
}

// ---- ringing, hands, reactions (room events) ----

function onEvent(ev) {
  if (ev.isDecryptionFailure() || ev.isBeingDecrypted() || ev.isEncrypted() && !ev.getClearContent()) return;
  const id = ev.getId();
  if (!id || id.startsWith("~") || state.seen.has(id)) return;
  const type = ev.getType();
  if (!calls.HANDLED.has(type)) return;
  state.seen.add(id);
  const me = state.creds.user_id;
  const roomId = ev.getRoomId();
  switch (type) {
    case calls.NOTIFICATION: {
      const ring = calls.ringFrom(ev, me, Date.now());
      if (ring && !(state.joined && state.roomId === roomId)) startRinging(ring);
      break;
    }
    case calls.DECLINE: {
      const notification = calls.relatedId(ev, "m.reference");
      if (!notification) break;
      if (ev.getSender() === me) {
        if (state.ring?.eventId === notification) stopRinging(); // declined on another device
        break;
      }
      state.declines.push({ roomId, from: ev.getSender(), notification });
      if (roomId === state.roomId) setStatus(`${ev.getSender()} declined the call`);
      break;
    }
    case calls.REACTION: {
      const membershipEventId = calls.handRaisedOn(ev);
      if (!membershipEventId) break;
      state.hands.set(membershipEventId, { userId: ev.getSender(), reactionId: id });
      renderTiles();
      break;
    }
    case calls.REDACTION: {
      const redacts = ev.event.redacts ?? ev.getContent().redacts;
      for (const [k, h] of state.hands) if (h.reactionId === redacts) state.hands.delete(k);
      renderTiles();
      break;
    }
    case calls.CALL_REACTION: {
      const r = calls.callReaction(ev);
      if (!r || roomId !== state.roomId) break;
      state.reactions.push({ from: ev.getSender(), ...r });
      const member = state.members.find((m) => m.eventId === r.membershipEventId);
      if (member) tiles.flashReaction(member.identity, r.emoji);
      break;
    }
  }
}

function startRinging(ring) {
  stopRinging();
  const room = state.client.getRoom(ring.roomId);
  $("ring-text").textContent = `📞 ${ring.from} is calling in ${room?.name || ring.roomId}`;
  $("ring").hidden = false;
  ring.timer = setTimeout(stopRinging, Math.max(0, ring.until - Date.now()));
  state.ring = ring;
  state.rings.push({ roomId: ring.roomId, eventId: ring.eventId, from: ring.from });
}

function stopRinging() {
  if (state.ring) clearTimeout(state.ring.timer);
  state.ring = null;
  $("ring").hidden = true;
}

async function answerRing() {
  const ring = state.ring;
  if (!ring) return;
  stopRinging();
  if (state.joined && state.roomId !== ring.roomId) await leaveCall();
  shell.open(ring.roomId);
  await joinCall();
}

async function declineRing() {
  const ring = state.ring;
  if (!ring) return;
  stopRinging();
  try {
    await state.client.sendEvent(ring.roomId, calls.DECLINE, calls.declineContent(ring.eventId));
  } catch (e) {
    fail("decline", e);
  }
}

async function toggleHand() {
  const own = state.rtc?.own();
  if (!state.joined || !own?.eventId) return;
  try {
    if (state.myHand) {
      const { reactionId } = state.myHand;
      setMyHand(null);
      await state.client.redactEvent(state.roomId, reactionId);
    } else {
      const { event_id } = await state.client.sendEvent(state.roomId, calls.REACTION, calls.raiseHandContent(own.eventId));
      setMyHand({ reactionId: event_id, membershipEventId: own.eventId });
    }
  } catch (e) {
    fail("raise hand", e);
  }
}

function setMyHand(hand) {
  state.myHand = hand;
  $("raise-hand").textContent = hand ? "Lower hand" : "Raise hand";
  $("raise-hand").setAttribute("aria-pressed", String(!!hand));
  renderTiles();
}

async function sendReaction(emoji, name) {
  const own = state.rtc?.own();
  if (!state.joined || !own?.eventId) return;
  tiles.flashReaction(own.identity, emoji);
  try {
    await state.client.sendEvent(state.roomId, calls.CALL_REACTION, calls.callReactionContent(own.eventId, emoji, name));
  } catch (e) {
    fail("reaction", e);
  }
}

/** Hands raised before we looked: the 🖐️ annotations on each membership event. */
async function loadHands() {
  for (const m of state.members) {
    const rels = await mx.relationsNewestFirst(state.client, state.roomId, m.eventId, "m.annotation").catch(() => []);
    for (const ev of rels) {
      if (ev.sender === m.userId && ev.type === calls.REACTION && ev.content?.["m.relates_to"]?.key === calls.HAND) {
        state.hands.set(m.eventId, { userId: m.userId, reactionId: ev.event_id });
      }
    }
  }
  renderTiles();
}

// ---- the call ----

async function joinCall() {
  if (state.joined) return;
  try {
    $("start-call").disabled = true;
    stopRinging();
    state.keys = state.encrypted ? new MatrixKeyProvider() : null;
    const lkOptions = state.keys ? { e2ee: { keyProvider: state.keys, worker: e2eeWorker() } } : {};
    show("call-view");
    const lk = await state.rtc.join(lkOptions, {
      beforeConnect: async (room) => {
        if (!state.keys) return;
        await room.setE2EEEnabled(true);
        state.keys.attach(state.rtc.session, `${state.creds.user_id}:${state.creds.device_id}`);
      },
    });
    watchLivekit(lk);
    state.joined = true;
    $("e2ee-badge").hidden = !state.encrypted;
    await lk.localParticipant.enableCameraAndMicrophone();
    updateControls();
    renderTiles();
    loadHands().catch((e) => fail("hands", e));
  } catch (e) {
    fail("join call", e);
  } finally {
    $("start-call").disabled = false;
  }
}

function watchLivekit(lk) {
  state.lk = lk;
  const rerender = () => renderTiles();
  for (const e of [
    LkEvent.ParticipantConnected,
    LkEvent.ParticipantDisconnected,
    LkEvent.TrackSubscribed,
    LkEvent.TrackUnsubscribed,
    LkEvent.TrackMuted,
    LkEvent.TrackUnmuted,
    LkEvent.LocalTrackPublished,
    LkEvent.LocalTrackUnpublished,
  ]) {
    lk.on(e, rerender);
  }
  lk.on(LkEvent.EncryptionError, (err, p) =>
    state.encryptionErrors.push({ identity: p?.identity ?? null, message: String(err?.message || err), at: Date.now() }),
  );
}

async function leaveCall() {
  if (!state.joined) return;
  state.joined = false;
  state.keys?.detach();
  setMyHand(null);
  await state.rtc.leave();
  state.lk = null;
  tiles.clear();
  show("room-view");
  setStatus("left the call");
}

async function toggle(kind) {
  const p = state.lk?.localParticipant;
  if (!p) return;
  try {
    if (kind === "mic") await p.setMicrophoneEnabled(!p.isMicrophoneEnabled);
    else await p.setCameraEnabled(!p.isCameraEnabled);
  } catch (e) {
    fail(kind, e);
  }
  updateControls();
  renderTiles();
}

function updateControls() {
  const p = state.lk?.localParticipant;
  $("toggle-mic").textContent = p?.isMicrophoneEnabled ? "Mute mic" : "Unmute mic";
  $("toggle-mic").setAttribute("aria-pressed", String(!!p?.isMicrophoneEnabled));
  $("toggle-camera").textContent = p?.isCameraEnabled ? "Stop camera" : "Start camera";
  $("toggle-camera").setAttribute("aria-pressed", String(!!p?.isCameraEnabled));
}

function renderTiles() {
  if (!state.joined || !state.lk) return;
  const own = `${state.creds.user_id}:${state.creds.device_id}`;
  const raised = new Set([...state.hands.keys()]);
  if (state.myHand) raised.add(state.myHand.membershipEventId);
  tiles.render(
    state.members.map((m) => ({
      ...m,
      participant: m.identity === own ? state.lk.localParticipant : state.lk.remoteParticipants.get(m.identity),
      local: m.identity === own,
      hand: raised.has(m.eventId),
    })),
  );
}

// ---- wiring ----

$("start-call").addEventListener("click", joinCall);
$("leave-call").addEventListener("click", () => leaveCall().catch((e) => fail("leave", e)));
$("toggle-mic").addEventListener("click", () => toggle("mic"));
$("toggle-camera").addEventListener("click", () => toggle("camera"));
$("raise-hand").addEventListener("click", toggleHand);
for (const b of document.querySelectorAll("button.reaction")) {
  b.addEventListener("click", () => sendReaction(b.dataset.emoji, b.dataset.name));
}
$("ring-join").addEventListener("click", () => answerRing().catch((e) => fail("answer", e)));
$("ring-decline").addEventListener("click", declineRing);
window.addEventListener("pagehide", () => state.joined && state.rtc?.leaveOnUnload());

// Test hooks: read-only views of the state and receiver statistics.
window.CALL = {
  state: () => ({
    userId: state.creds?.user_id ?? null,
    deviceId: state.creds?.device_id ?? null,
    roomId: state.roomId,
    joined: state.joined,
    encrypted: state.encrypted,
    livekit: state.lk?.state ?? null,
    identity: state.lk?.localParticipant?.identity ?? null,
    e2ee: state.lk?.isE2EEEnabled ?? false,
    mic: state.lk?.localParticipant?.isMicrophoneEnabled ?? false,
    camera: state.lk?.localParticipant?.isCameraEnabled ?? false,
    members: state.members.map(({ userId, deviceId, identity, eventId }) => ({ userId, deviceId, identity, eventId })),
    remotes: Object.fromEntries(
      [...(state.lk?.remoteParticipants.values() ?? [])].map((p) => [
        p.identity,
        {
          audioMuted: p.getTrackPublication(Track.Source.Microphone)?.isMuted ?? null,
          videoMuted: p.getTrackPublication(Track.Source.Camera)?.isMuted ?? null,
          encrypted: p.isEncrypted,
        },
      ]),
    ),
    hands: [...state.hands].map(([membershipEventId, h]) => ({ membershipEventId, userId: h.userId })),
    myHand: !!state.myHand,
    ringing: state.ring ? { roomId: state.ring.roomId, from: state.ring.from } : null,
    rings: [...state.rings],
    declines: [...state.declines],
    notificationsSent: [...state.notificationsSent],
    reactions: [...state.reactions],
    keys: state.keys ? [...state.keys.log] : [],
    encryptionErrors: state.encryptionErrors.length,
    tiles: tiles.summary(),
    errors: [...shell.errors],
  }),
  /** Per remote identity: inbound video/audio figures from the receivers. */
  async stats() {
    const out = {};
    for (const p of state.lk?.remoteParticipants.values() ?? []) {
      const entry = (out[p.identity] = {});
      for (const pub of p.trackPublications.values()) {
        const receiver = pub.track?.receiver;
        if (!receiver) continue;
        (await receiver.getStats()).forEach((s) => {
          if (s.type !== "inbound-rtp") return;
          entry[pub.kind] = {
            packets: s.packetsReceived,
            framesDecoded: s.framesDecoded,
            frameWidth: s.frameWidth,
            samples: s.totalSamplesReceived,
            energy: s.totalAudioEnergy,
          };
        });
      }
    }
    return out;
  },
  /**
   * What someone who left could still do: connect to the SFU again (a room
   * member still gets a token) with the media keys it had, but without a
   * membership, so nobody sends it new keys.
   */
  async reconnectWithoutMembership() {
    if (state.joined || !state.keys) throw new Error("only after leaving an encrypted call");
    const { url, jwt } = await state.rtc.token(state.rtc.transport);
    const lk = new LkRoom({ e2ee: { keyProvider: state.keys, worker: e2eeWorker() } });
    await lk.setE2EEEnabled(true);
    await lk.connect(url, jwt, { autoSubscribe: true });
    state.joined = true; // render tiles for what arrives
    watchLivekit(lk);
    show("call-view");
    return lk.localParticipant.identity;
  },
};

shell.start();
