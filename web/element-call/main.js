// A widget host for Element Call, as Element Web is one: the signed-in user
// picks a room and Element Call (the unchanged @element-hq/element-call-embedded
// build, served beside this page at ec/) runs in an iframe, talking to this
// page over the Matrix widget API. This page's matrix-js-sdk client (with
// Rust crypto) does the Matrix work for it (driver.js). Element Call's own
// LiveKit connection goes to the SFU the homeserver advertises.
// window.ECHOST exposes the host's state for tests.
import { ClientWidgetApi, Widget } from "matrix-widget-api";

import * as mx from "../shared/matrix.js";
import { Shell } from "../shared/shell.js";
import { ClientWidgetDriver, feedWidget } from "./driver.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const EC_URL = new URL("ec/index.html", location.href).href;
const MODES = new Set(["compatibility", "matrix_2_0"]);

const state = { roomId: null, rtc: null, members: [], widget: null, api: null, driver: null, stopFeed: null, ready: false, hangups: 0 };

const shell = new Shell({
  credsKey: "atrium.element-call.creds",
  views: ["login-view", "rooms-view", "room-view", "widget-view"],
  crypto: true,
  openRoom,
  beforeLogout: async () => closeWidget(),
});

function openRoom(roomId) {
  state.rtc?.close();
  state.roomId = roomId;
  const room = shell.client.getRoom(roomId);
  $("room-name").textContent = room?.name || roomId;
  // Watch the room's call (read only) to say whether one is on.
  state.rtc = new mx.RtcSession(shell.client, roomId, "m.call", {
    onMembers: (members) => {
      state.members = members;
      summarize();
    },
  });
  state.members = state.rtc.members();
  summarize();
  shell.show("room-view");
}

function summarize() {
  const n = state.members.length;
  $("call-summary").textContent = n === 0 ? "No call in this room." : `${n} in the call: ${state.members.map((m) => m.userId).join(", ")}`;
  $("open-call").textContent = n === 0 ? "Start a call in Element Call" : "Join the call in Element Call";
}

/** Element Call's widget URL: its parameters go in the fragment, as Element Web writes them. */
function widgetUrl(widgetId, roomId, encrypted) {
  const { user_id, device_id } = shell.creds;
  const p = new URLSearchParams({
    widgetId,
    parentUrl: location.href,
    roomId,
    userId: user_id,
    deviceId: device_id,
    baseUrl: mx.HOMESERVER,
    lang: "en",
    theme: "light",
    intent: state.members.length ? "join_existing" : "start_call",
    skipLobby: String(params.get("skipLobby") !== "false"),
    confineToRoom: "true",
    preload: "false",
    perParticipantE2EE: String(encrypted),
    sendNotificationType: "ring",
  });
  return `${EC_URL}#?${p}`;
}

async function openWidget() {
  if (state.api) return;
  const mode = $("mode").value;
  // Element Call reads its MatrixRTC mode from this setting (same origin).
  localStorage.setItem("matrix-setting-matrix-rtc-mode", JSON.stringify(MODES.has(mode) ? mode : "compatibility"));
  const roomId = state.roomId;
  const encrypted = !!shell.client.getRoom(roomId)?.hasEncryptionStateEvent();
  const widgetId = `atrium-ec-${Date.now().toString(36)}`;
  const url = widgetUrl(widgetId, roomId, encrypted);
  const widget = new Widget({ id: widgetId, creatorUserId: shell.creds.user_id, type: "m.call", url, name: "Element Call", waitForIframeLoad: false });
  const iframe = $("ec-frame");
  state.driver = new ClientWidgetDriver(shell.client, roomId);
  state.widget = widget;
  shell.show("widget-view");
  const api = new ClientWidgetApi(widget, iframe, state.driver);
  state.api = api;
  api.on("ready", () => {
    state.ready = true;
    shell.setStatus("Element Call is ready");
  });
  for (const action of ["im.vector.hangup", "io.element.close"]) {
    api.on(`action:${action}`, (ev) => {
      ev.preventDefault();
      api.transport.reply(ev.detail, {});
      if (action === "im.vector.hangup") state.hangups++;
      // Element Call sends its leave itself; close once it has.
      setTimeout(() => closeWidget(), action === "io.element.close" ? 0 : 500);
    });
  }
  // Always-on-screen and other UI hints need nothing from a single-pane host.
  for (const action of ["set_always_on_screen", "io.element.device_mute", "io.element.join"]) {
    api.on(`action:${action}`, (ev) => {
      ev.preventDefault();
      api.transport.reply(ev.detail, {});
    });
  }
  state.stopFeed = feedWidget(shell.client, api, roomId, {
    log: (what, e) => console.warn(what, e),
    note: (action, detail) => state.driver.note(action, detail),
  });
  iframe.src = url;
}

function closeWidget() {
  state.stopFeed?.();
  state.stopFeed = null;
  state.api?.stop();
  state.api = null;
  state.ready = false;
  $("ec-frame").src = "about:blank";
  if (state.roomId) openRoom(state.roomId);
}

$("open-call").addEventListener("click", () => openWidget().catch((e) => shell.fail("open Element Call", e)));
const mode = params.get("mode");
if (MODES.has(mode)) $("mode").value = mode;

window.ECHOST = {
  state: () => ({
    userId: shell.creds?.user_id ?? null,
    deviceId: shell.creds?.device_id ?? null,
    roomId: state.roomId,
    open: !!state.api,
    ready: state.ready,
    hangups: state.hangups,
    members: state.members.map(({ userId, deviceId, identity, eventId }) => ({ userId, deviceId, identity, eventId })),
    driver: state.driver ? state.driver.log.map((l) => ({ ...l })) : [],
    errors: [...shell.errors],
  }),
  /**
   * Carries out the widget API's MSC4533 actions as the widget would ask
   * (Element Call 0.26.1 fetches its token itself and delegates nothing):
   * a token for the open room's call, and the delegation of the newest
   * delayed event the widget scheduled.
   */
  async livekitActions() {
    const { user_id, device_id } = shell.creds;
    const member = { id: `${user_id}:${device_id}`, claimed_user_id: user_id, claimed_device_id: device_id };
    const request = { room_id: state.roomId, slot_id: "m.call#ROOM", member };
    const { jwt } = await state.driver.getRtcLivekitToken(request);
    const delayId = [...state.driver.delays.keys()].pop();
    await state.driver.delegateRtcLivekitDelayedLeave({ ...request, delay_id: delayId });
    return { jwt, delayId };
  },
};

shell.start();
