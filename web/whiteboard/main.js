// The whiteboard: a MatrixRTC session with application io.atrium.whiteboard.
// Cursors go over the SFU's lossy data channel, edits over its reliable one
// and into the room as events related to a document root; the oldest member
// writes a snapshot into room state now and then, so a late joiner reads the
// snapshot plus the edits after it (/relations), never the room's history.
// window.WB exposes the state for tests.
import { RoomEvent as LkEvent } from "livekit-client";
import { RoomEvent, RoomStateEvent } from "matrix-js-sdk";

import * as mx from "../shared/matrix.js";
import { Shell } from "../shared/shell.js";
import { APP, Doc, EDIT_REL, EDIT_TYPE, ROOT_TYPE, SNAPSHOT_TYPE, later, newId } from "./doc.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const LEAVE_DELAY_MS = Number(params.get("leaveDelayMs")) || 8000;
const SNAPSHOT_EVERY_MS = Number(params.get("snapshotMs")) || 5000;
const MAX_SNAPSHOT_BYTES = 60000; // events are capped at 64 KiB
const CREDS_KEY = "atrium.whiteboard.creds";
const enc = new TextEncoder();
const dec = new TextDecoder();

const state = {
  creds: null,
  client: null,
  roomId: null,
  rtc: null,
  members: [],
  joined: false,
  root: null,
  doc: new Doc(),
  upto: null, // newest edit event folded into our document from /relations
  pendingSnapshot: 0, // edits seen since our last snapshot
  loaded: null, // {snapshot: bool, relationEdits: n}
  cursors: new Map(), // LiveKit identity -> {x, y, name, color, t}
  tool: "pen",
  kinds: {}, // topic -> DataPacket_Kind last received (0 reliable, 1 lossy)
  stats: { editsSent: 0, editsReceived: 0, cursorsSent: 0, cursorsReceived: 0, snapshots: 0 },
};

const shell = new Shell({
  credsKey: CREDS_KEY,
  views: ["login-view", "rooms-view", "room-view", "board-view"],
  openRoom,
  stateTypes: [SNAPSHOT_TYPE],
  onClient: (client) => {
    state.client = client;
    state.creds = shell.creds;
    $("color").value = hexColorFor(shell.creds.user_id);
    client.on(RoomEvent.Timeline, onTimeline);
    client.on(RoomStateEvent.Events, onStateEvent);
  },
  beforeLogout: () => leaveSession(),
});
const setStatus = (text) => shell.setStatus(text);
const fail = (where, e) => shell.fail(where, e);
const show = (view) => shell.show(view);

function hueFor(text) {
  let h = 0;
  for (const c of text) h = (h * 31 + c.codePointAt(0)) >>> 0;
  return h % 360;
}

function colorFor(text) {
  return `hsl(${hueFor(text)} 70% 45%)`;
}

/** The same colour as #rrggbb, for the colour picker. */
function hexColorFor(text) {
  const h = hueFor(text) / 360;
  const s = 0.7;
  const l = 0.45;
  const f = (n) => {
    const k = (n + h * 12) % 12;
    const c = l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255).toString(16).padStart(2, "0");
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

// ---- rooms ----

function openRoom(roomId) {
  state.rtc?.close();
  if (roomId !== state.roomId) {
    state.doc = new Doc();
    state.root = null;
    state.upto = null;
    state.pendingSnapshot = 0;
  }
  state.roomId = roomId;
  const room = state.client.getRoom(roomId);
  $("room-name").textContent = room?.name || roomId;
  state.rtc = new mx.RtcSession(state.client, roomId, APP, {
    leaveDelayMs: LEAVE_DELAY_MS,
    onMembers: (members) => {
      state.members = members;
      renderMembers();
    },
    onStatus: setStatus,
  });
  state.members = state.rtc.members();
  renderMembers();
  show("room-view");
}

function renderMembers() {
  const n = state.members.length;
  $("session-summary").textContent =
    n === 0 ? "Nobody is on the whiteboard: start it." : `${n} on the whiteboard: ${state.members.map((m) => m.userId).join(", ")}`;
  $("join-session").textContent = n === 0 ? "Start whiteboard" : "Join whiteboard";
  const list = $("member-list");
  list.replaceChildren();
  for (const m of state.members) {
    const li = document.createElement("li");
    li.textContent = `${m.userId} (${m.deviceId})`;
    li.style.color = colorFor(m.userId);
    li.dataset.userId = m.userId;
    list.append(li);
  }
}

// ---- the document in the room ----

function snapshotEvent() {
  return state.client.getRoom(state.roomId)?.currentState.getStateEvents(SNAPSHOT_TYPE, "")?.getContent();
}

/** Finds or creates the document root, then loads snapshot + later edits. */
async function loadDocument() {
  let snap = snapshotEvent();
  if (!snap?.root) {
    const { event_id } = await state.client.sendEvent(state.roomId, ROOT_TYPE, { title: "Whiteboard", version: 1 });
    snap = { root: event_id, upto: null, doc: { strokes: [], texts: [] } };
    await state.client.sendStateEvent(state.roomId, SNAPSHOT_TYPE, snap, "");
  }
  state.root = snap.root;
  const doc = Doc.fromJSON(snap.doc);
  const snapshotStrokes = doc.strokes.size;
  const edits = await mx.relationsNewestFirst(state.client, state.roomId, state.root, EDIT_REL, (ev) => ev.event_id === snap.upto);
  for (const ev of edits.slice().reverse()) {
    if (ev.type === EDIT_TYPE) doc.apply(ev.content?.op, ev.sender);
  }
  // Keep what arrived live while we loaded (ops are idempotent).
  for (const op of liveOps()) doc.apply(op);
  state.doc = doc;
  state.upto = edits[0]?.event_id ?? snap.upto ?? null;
  state.loaded = { snapshot: !!snap.doc, snapshotStrokes, relationEdits: edits.length };
  render();
}

function liveOps() {
  const ops = [];
  for (const s of state.doc.strokes.values()) ops.push({ id: `live-s-${s.id}`, type: "stroke", stroke: s });
  for (const t of state.doc.texts.values()) ops.push({ id: t.op, type: "text", ts: t.ts, box: t });
  return ops;
}

function onTimeline(ev, room, toStart) {
  if (toStart || !room || room.roomId !== state.roomId || !state.root) return;
  // Our own local echoes come through here too: applying them again is a no-op.
  if (ev.getType() !== EDIT_TYPE) return;
  const rel = ev.getContent()["m.relates_to"];
  if (rel?.rel_type !== EDIT_REL || rel.event_id !== state.root) return;
  state.pendingSnapshot++;
  if (state.doc.apply(ev.getContent().op, ev.getSender())) render();
}

// Two members that start the very first session at once both create a root;
// the snapshot written last names the one everybody uses. Whoever lost moves
// over and re-sends what only it had.
function onStateEvent(ev) {
  if (ev.getType() !== SNAPSHOT_TYPE || ev.getRoomId() !== state.roomId || !state.joined || state.adopting) return;
  const root = ev.getContent()?.root;
  if (typeof root === "string" && state.root && root !== state.root) adoptRoot().catch((e) => fail("switch document", e));
}

async function adoptRoot() {
  state.adopting = true;
  try {
    const mine = state.doc;
    state.doc = new Doc();
    await loadDocument();
    for (const s of mine.orderedStrokes()) {
      if (!state.doc.strokes.has(s.id)) commit({ id: newId(), type: "stroke", stroke: s });
    }
    for (const t of mine.texts.values()) {
      if (later(t, state.doc.texts.get(t.id))) commit({ id: newId(), type: "text", ts: t.ts, box: t });
    }
  } finally {
    state.adopting = false;
  }
}

/** Our own change: apply, send to the session now, persist in the room. */
function commit(op) {
  state.doc.apply(op, state.creds.user_id);
  render();
  state.stats.editsSent++;
  state.pendingSnapshot++;
  state.rtc?.lk?.localParticipant
    .publishData(enc.encode(JSON.stringify({ op })), { reliable: true, topic: "edit" })
    .catch((e) => fail("send edit", e));
  state.client
    .sendEvent(state.roomId, EDIT_TYPE, { op, "m.relates_to": { rel_type: EDIT_REL, event_id: state.root } })
    .catch((e) => fail("persist edit", e));
}

/** The oldest member writes the snapshot, folding in every edit /relations has. */
async function maybeSnapshot() {
  if (!state.joined || !state.root || state.pendingSnapshot === 0 || state.snapshotting) return;
  const oldest = state.members[0];
  if (!oldest || oldest.userId !== state.creds.user_id || oldest.deviceId !== state.creds.device_id) return;
  state.snapshotting = true;
  try {
    await writeSnapshot();
  } finally {
    state.snapshotting = false;
  }
}

async function writeSnapshot() {
  if (snapshotEvent()?.root !== state.root) return; // another root won: onStateEvent moves us
  const pending = state.pendingSnapshot;
  const edits = await mx.relationsNewestFirst(state.client, state.roomId, state.root, EDIT_REL, (ev) => ev.event_id === state.upto);
  for (const ev of edits.slice().reverse()) if (ev.type === EDIT_TYPE) state.doc.apply(ev.content?.op, ev.sender);
  const upto = edits[0]?.event_id ?? state.upto;
  const content = { root: state.root, upto, doc: state.doc.toJSON(), ts: Date.now() };
  if (JSON.stringify(content).length > MAX_SNAPSHOT_BYTES) {
    console.warn("whiteboard: document too large for a snapshot; late joiners read every edit");
    return;
  }
  await state.client.sendStateEvent(state.roomId, SNAPSHOT_TYPE, content, "");
  state.upto = upto;
  state.pendingSnapshot = Math.max(0, state.pendingSnapshot - pending);
  state.stats.snapshots++;
  render();
}

// ---- the session ----

async function joinSession() {
  try {
    $("join-session").disabled = true;
    setStatus("loading the document…");
    await loadDocument();
    show("board-view");
    resizeCanvas();
    const lk = await state.rtc.join();
    lk.on(LkEvent.DataReceived, onData);
    lk.on(LkEvent.ParticipantDisconnected, (p) => {
      state.cursors.delete(p.identity);
      renderCursors();
    });
    state.joined = true;
    state.snapshotTimer = setInterval(() => maybeSnapshot().catch((e) => fail("snapshot", e)), SNAPSHOT_EVERY_MS);
  } catch (e) {
    fail("join", e);
  } finally {
    $("join-session").disabled = false;
  }
}

async function leaveSession() {
  clearInterval(state.snapshotTimer);
  if (!state.joined) return;
  state.joined = false;
  await maybeSnapshot().catch(() => {});
  await state.rtc.leave();
  state.cursors.clear();
  show("room-view");
  setStatus("left");
}

function onData(payload, participant, kind, topic) {
  if (topic === "cursor" || topic === "edit") state.kinds[topic] = kind;
  let msg;
  try {
    msg = JSON.parse(dec.decode(payload));
  } catch {
    return;
  }
  if (topic === "cursor" && participant) {
    if (typeof msg.x !== "number" || typeof msg.y !== "number") return;
    state.stats.cursorsReceived++;
    const name = String(msg.name || participant.identity).slice(0, 80);
    state.cursors.set(participant.identity, { x: msg.x, y: msg.y, name, color: colorFor(name), t: Date.now() });
    renderCursors();
  } else if (topic === "edit") {
    state.stats.editsReceived++;
    if (state.doc.apply(msg.op, participant?.identity)) render();
  }
}

// ---- drawing ----

const canvas = $("canvas");
const board = $("board");
let drawing = null; // the stroke being drawn
let lastCursorSent = 0;

function resizeCanvas() {
  const r = board.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(r.width * dpr));
  canvas.height = Math.max(1, Math.round(r.height * dpr));
  render();
}

function boardPoint(e) {
  const r = board.getBoundingClientRect();
  return [Math.round(e.clientX - r.left), Math.round(e.clientY - r.top)];
}

function drawStroke(ctx, s) {
  const p = s.points;
  if (p.length < 2) return;
  ctx.strokeStyle = s.color;
  ctx.lineWidth = s.width;
  ctx.beginPath();
  ctx.moveTo(p[0], p[1]);
  if (p.length === 2) ctx.lineTo(p[0] + 0.1, p[1]);
  for (let i = 2; i < p.length; i += 2) ctx.lineTo(p[i], p[i + 1]);
  ctx.stroke();
}

function render() {
  const ctx = canvas.getContext("2d");
  const dpr = window.devicePixelRatio || 1;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const s of state.doc.orderedStrokes()) drawStroke(ctx, s);
  if (drawing) drawStroke(ctx, drawing);
  renderTexts();
}

board.addEventListener("pointerdown", (e) => {
  if (!state.joined || e.button !== 0 || e.target.closest(".textbox")) return;
  const [x, y] = boardPoint(e);
  if (state.tool === "text") {
    e.preventDefault();
    const id = newId();
    state.editing = id; // shown while empty
    commit({ id: newId(), type: "text", ts: Date.now(), box: { id, x, y, text: "" } });
    editText(id);
    return;
  }
  board.setPointerCapture(e.pointerId);
  drawing = { id: newId(), color: $("color").value, width: 3, points: [x, y], ts: Date.now() };
});

board.addEventListener("pointermove", (e) => {
  const [x, y] = boardPoint(e);
  if (drawing) {
    const p = drawing.points;
    if (Math.abs(p[p.length - 2] - x) + Math.abs(p[p.length - 1] - y) >= 2) {
      p.push(x, y);
      render();
    }
  }
  sendCursor(x, y);
});

function endStroke() {
  if (!drawing) return;
  const stroke = drawing;
  drawing = null;
  commit({ id: newId(), type: "stroke", stroke: { ...stroke, by: state.creds.user_id } });
}
board.addEventListener("pointerup", endStroke);
board.addEventListener("pointercancel", endStroke);

// At most one cursor packet per CURSOR_MS; the last position of a burst is
// sent when the window ends, so the others see where the pointer stopped.
const CURSOR_MS = 40;
let cursorTimer = null;
let cursorPending = null;

function sendCursor(x, y) {
  const lk = state.rtc?.lk;
  if (!state.joined || !lk) return;
  cursorPending = [x, y];
  if (cursorTimer) return;
  const wait = Math.max(0, lastCursorSent + CURSOR_MS - Date.now());
  cursorTimer = setTimeout(() => {
    cursorTimer = null;
    const [cx, cy] = cursorPending;
    lastCursorSent = Date.now();
    state.stats.cursorsSent++;
    state.rtc?.lk?.localParticipant
      .publishData(enc.encode(JSON.stringify({ x: cx, y: cy, name: state.creds.user_id })), { reliable: false, topic: "cursor" })
      .catch(() => {});
  }, wait);
}

function renderCursors() {
  const overlay = $("overlay");
  for (const el of overlay.querySelectorAll(".cursor")) {
    if (!state.cursors.has(el.dataset.identity)) el.remove();
  }
  for (const [identity, c] of state.cursors) {
    let el = [...overlay.querySelectorAll(".cursor")].find((x) => x.dataset.identity === identity);
    if (!el) {
      el = document.createElement("div");
      el.className = "cursor";
      el.dataset.identity = identity;
      el.innerHTML = '<div class="dot"></div><span class="label"></span>';
      overlay.append(el);
    }
    el.style.left = `${c.x}px`;
    el.style.top = `${c.y}px`;
    el.querySelector(".dot").style.background = c.color;
    const label = el.querySelector(".label");
    label.textContent = c.name;
    label.style.background = c.color;
  }
}

// ---- text boxes ----

function renderTexts() {
  const overlay = $("overlay");
  const seen = new Set();
  for (const t of state.doc.texts.values()) {
    if (t.text === "" && state.editing !== t.id) continue; // an emptied box is a deleted one
    seen.add(t.id);
    let el = overlay.querySelector(`.textbox[data-id="${CSS.escape(t.id)}"]`);
    if (!el) {
      el = document.createElement("div");
      el.className = "textbox";
      el.dataset.id = t.id;
      el.innerHTML = '<div class="grip"></div><div class="body"></div>';
      el.querySelector(".grip").addEventListener("pointerdown", (e) => startMove(e, t.id));
      el.querySelector(".body").addEventListener("dblclick", () => editText(t.id));
      el.querySelector(".body").addEventListener("click", () => state.tool === "text" && editText(t.id));
      overlay.prepend(el);
    }
    if (el.dataset.moving !== "1") {
      el.style.left = `${t.x}px`;
      el.style.top = `${t.y}px`;
    }
    const body = el.querySelector(".body");
    if (document.activeElement !== body && body.textContent !== t.text) body.textContent = t.text;
  }
  for (const el of overlay.querySelectorAll(".textbox")) if (!seen.has(el.dataset.id)) el.remove();
}

function updateText(id, fields) {
  const t = state.doc.texts.get(id);
  if (!t) return;
  const box = { id, x: t.x, y: t.y, text: t.text, ...fields };
  commit({ id: newId(), type: "text", ts: Math.max(Date.now(), t.ts + 1), box });
}

function editText(id) {
  renderTexts();
  const el = $("overlay").querySelector(`.textbox[data-id="${CSS.escape(id)}"]`);
  if (!el) return;
  const body = el.querySelector(".body");
  state.editing = id;
  body.contentEditable = "plaintext-only";
  body.focus();
  const finish = () => {
    body.contentEditable = "false";
    body.removeEventListener("blur", finish);
    state.editing = null;
    if (body.textContent !== state.doc.texts.get(id)?.text) updateText(id, { text: body.textContent });
    else renderTexts();
  };
  body.addEventListener("blur", finish);
  body.onkeydown = (e) => {
    if (e.key === "Escape" || (e.key === "Enter" && !e.shiftKey)) {
      e.preventDefault();
      body.blur();
    }
  };
}

function startMove(e, id) {
  if (!state.joined) return;
  e.preventDefault();
  e.stopPropagation();
  const el = e.target.closest(".textbox");
  const t = state.doc.texts.get(id);
  const [sx, sy] = boardPoint(e);
  el.dataset.moving = "1";
  el.setPointerCapture(e.pointerId);
  let pos = [t.x, t.y];
  const move = (ev) => {
    const [x, y] = boardPoint(ev);
    pos = [t.x + x - sx, t.y + y - sy];
    el.style.left = `${pos[0]}px`;
    el.style.top = `${pos[1]}px`;
    sendCursor(x, y);
  };
  const up = () => {
    el.removeEventListener("pointermove", move);
    el.removeEventListener("pointerup", up);
    delete el.dataset.moving;
    if (pos[0] !== t.x || pos[1] !== t.y) updateText(id, { x: pos[0], y: pos[1] });
  };
  el.addEventListener("pointermove", move);
  el.addEventListener("pointerup", up);
}

function setTool(tool) {
  state.tool = tool;
  $("tool-pen").classList.toggle("active", tool === "pen");
  $("tool-text").classList.toggle("active", tool === "text");
  board.classList.toggle("text-mode", tool === "text");
  board.classList.toggle("pen-mode", tool === "pen");
}

// ---- wiring ----

$("join-session").addEventListener("click", joinSession);
$("leave-session").addEventListener("click", () => leaveSession().catch((e) => fail("leave", e)));
$("tool-pen").addEventListener("click", () => setTool("pen"));
$("tool-text").addEventListener("click", () => setTool("text"));
window.addEventListener("resize", () => !$("board-view").hidden && resizeCanvas());
window.addEventListener("pagehide", () => state.joined && state.rtc?.leaveOnUnload());
setTool("pen");

// Test hooks: read-only views of the state, no pixels needed for logic.
window.WB = {
  state: () => ({
    userId: state.creds?.user_id ?? null,
    deviceId: state.creds?.device_id ?? null,
    roomId: state.roomId,
    joined: state.joined,
    livekit: state.rtc?.lk?.state ?? null,
    identity: state.rtc?.lk?.localParticipant?.identity ?? null,
    members: state.members.map((m) => ({ userId: m.userId, deviceId: m.deviceId })),
    root: state.root,
    upto: state.upto,
    loaded: state.loaded,
    strokes: state.doc.strokes.size,
    // Visible boxes, by id (an emptied box stays in the document as a tombstone).
    texts: [...state.doc.texts.values()]
      .filter((t) => t.text !== "" || state.editing === t.id)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map(({ id, x, y, text }) => ({ id, x, y, text })),
    cursors: Object.fromEntries([...state.cursors].map(([k, c]) => [k, { x: c.x, y: c.y, name: c.name, t: c.t }])),
    stats: { ...state.stats },
    kinds: { ...state.kinds },
    errors: [...shell.errors],
  }),
  strokeIds: () => [...state.doc.strokes.keys()].sort(),
  /** Non-background canvas pixels (the screenshot check). */
  inkPixels() {
    const d = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  },
  snapshotNow: () => maybeSnapshot(),
};

shell.start();
