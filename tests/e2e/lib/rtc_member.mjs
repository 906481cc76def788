// A MatrixRTC call member in its own process, driven by the real
// matrix-js-sdk: it starts a client with the given access token and device,
// joins the room's MatrixRTC session (application m.call, slot ROOM) through
// client.matrixRTC and reports on stdout, one JSON object per line:
//   {"ev":"started"}                            first sync done, session created
//   {"ev":"memberships","memberships":[...]}   initial list and every MembershipsChanged
//   {"ev":"joined","membership":{...}}          our own membership is in the session (once)
//   {"ev":"status"|"delay_id"|"probably_left"|"sync"|"error"|"left", ...}
// Every line carries "t" (Date.now() when emitted) and "label".
// It is meant to be killed with SIGKILL (so that it does not leave: the
// server's delayed leave event has to do that). Writing "leave\n" to stdin
// makes it leave the session properly and exit 0; stdin closing (the test
// process died) makes it exit at once.
//
// Usage: node rtc_member.mjs '<json config>' with
//   baseUrl, userId, accessToken, deviceId, roomId, label,
//   mode: "state" (org.matrix.msc3401.call.member state events, the default)
//       | "sticky" (MSC4354 sticky org.matrix.msc4143.rtc.member events, EC's matrix_2_0),
//   livekitServiceUrl, delayMs (delayedLeaveEventDelayMs), restartMs (delayedLeaveEventRestartMs),
//   membershipEventExpiryMs (optional).
// sdk logs go to stderr.
import * as sdk from "matrix-js-sdk";
import { MatrixRTCSessionEvent, MembershipManagerEvent } from "matrix-js-sdk/lib/matrixrtc/index.js";

const cfg = JSON.parse(process.argv[2] || process.env.RTC_MEMBER_CONFIG || "{}");
const label = cfg.label || `${cfg.userId}/${cfg.deviceId}`;
for (const k of ["baseUrl", "userId", "accessToken", "deviceId", "roomId"]) {
  if (!cfg[k]) {
    process.stderr.write(`rtc_member: missing config field ${k}\n`);
    process.exit(2);
  }
}
const mode = cfg.mode || "state";

// ---- logging: stdout is reserved for the JSON report lines ----
const ts = () => new Date().toISOString().slice(11, 23);
function logLine(level, args) {
  const text = args
    .map((a) => {
      if (a instanceof Error) return a.stack || a.message;
      if (typeof a === "string") return a;
      try {
        const s = JSON.stringify(a);
        return s && s.length > 600 ? s.slice(0, 600) + "…" : s;
      } catch {
        return String(a);
      }
    })
    .join(" ");
  process.stderr.write(`${ts()} ${level} [${label}] ${text}\n`);
}
for (const m of ["log", "debug", "info", "warn", "error", "trace"]) {
  console[m] = (...a) => logLine(m.toUpperCase(), a);
}
class StderrLogger {
  constructor(prefix = "") {
    this.prefix = prefix;
  }
  trace(...a) {
    logLine("TRACE", [this.prefix, ...a]);
  }
  debug(...a) {
    logLine("DEBUG", [this.prefix, ...a]);
  }
  info(...a) {
    logLine("INFO", [this.prefix, ...a]);
  }
  warn(...a) {
    logLine("WARN", [this.prefix, ...a]);
  }
  error(...a) {
    logLine("ERROR", [this.prefix, ...a]);
  }
  getChild(ns) {
    return new StderrLogger(this.prefix + ns);
  }
}

function emit(obj) {
  try {
    process.stdout.write(JSON.stringify({ ...obj, t: Date.now(), label }) + "\n");
  } catch (e) {
    process.stderr.write(`rtc_member: cannot write report: ${e}\n`);
  }
}

// The test process is gone (stdin closed): exit without leaving.
process.stdin.on("end", () => process.exit(0));
process.stdout.on("error", () => process.exit(0));
process.on("unhandledRejection", (e) => {
  logLine("ERROR", ["unhandled rejection", e]);
  emit({ ev: "error", where: "unhandledRejection", message: String(e?.stack || e) });
});

const foci = [{ type: "livekit", livekit_service_url: cfg.livekitServiceUrl, livekit_alias: cfg.roomId }];
// In sticky (matrix_2_0) mode the sdk publishes `transports.published` from the
// multi-SFU focus: pass the transport (without alias) as that.
const multiSfuFocus = mode === "sticky" ? { type: "livekit", livekit_service_url: cfg.livekitServiceUrl } : undefined;
const joinConfig = {
  delayedLeaveEventDelayMs: cfg.delayMs ?? 4000,
  delayedLeaveEventRestartMs: cfg.restartMs ?? 1000,
  networkErrorRetryMs: 500,
  // Survive a server restart (connection refused for a second or two).
  maximumNetworkErrorRetryCount: 100,
  manageMediaKeys: false, // no crypto in these tests: no to-device key exchange
  unstableSendStickyEvents: mode === "sticky",
  callIntent: "video",
};
if (cfg.membershipEventExpiryMs) joinConfig.membershipEventExpiryMs = cfg.membershipEventExpiryMs;

function describeMembership(m, oldest) {
  let transport;
  try {
    transport = m.getTransport(oldest);
  } catch (e) {
    transport = { error: String(e) };
  }
  const data = m.membershipData?.data ?? {};
  return {
    userId: m.userId,
    deviceId: m.deviceId,
    memberId: m.memberId,
    eventId: m.eventId,
    kind: m.membershipData?.kind,
    type: m.matrixEvent.getType(),
    stateKey: m.matrixEvent.getStateKey(),
    sender: m.matrixEvent.getSender(),
    createdTs: m.createdTs(),
    originServerTs: m.matrixEvent.getTs(),
    slotId: m.slotId,
    transport,
    transports: m.transports,
    focusActive: data.focus_active,
    expires: data.expires,
    sticky: m.matrixEvent.unstableStickyInfo ?? null,
    stickyKey: data.msc4354_sticky_key,
  };
}

const client = sdk.createClient({
  baseUrl: cfg.baseUrl,
  userId: cfg.userId,
  accessToken: cfg.accessToken,
  deviceId: cfg.deviceId,
  logger: new StderrLogger(""),
});

client.on(sdk.ClientEvent.Sync, (state, prev, data) => {
  emit({ ev: "sync", state, prev, error: data?.error ? String(data.error.message || data.error) : undefined });
});

let session;
let joinedReported = false;

function report() {
  const ms = session.memberships;
  const oldest = ms[0];
  const list = ms.map((m) => describeMembership(m, oldest));
  emit({ ev: "memberships", memberships: list });
  const own = list.find((m) => m.userId === cfg.userId && m.deviceId === cfg.deviceId);
  if (own && !joinedReported) {
    joinedReported = true;
    emit({ ev: "joined", membership: own });
  }
}

async function main() {
  await client.startClient({ initialSyncLimit: 1 });
  // Wait for the first sync and for the room (we must already be joined).
  await new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error("no room after 30 s")), 30000);
    const check = () => {
      const room = client.getRoom(cfg.roomId);
      if (client.isInitialSyncComplete() && room && room.getMyMembership() === "join") {
        clearTimeout(deadline);
        client.off(sdk.ClientEvent.Sync, check);
        client.off(sdk.ClientEvent.Room, check);
        resolve();
      }
    };
    client.on(sdk.ClientEvent.Sync, check);
    client.on(sdk.ClientEvent.Room, check);
    check();
  });
  const room = client.getRoom(cfg.roomId);
  session = client.matrixRTC.getRoomSession(room);
  await session.initialMembershipCalculated;
  emit({ ev: "started", roomVersion: room.getVersion() });
  session.on(MatrixRTCSessionEvent.MembershipsChanged, () => report());
  session.on(MatrixRTCSessionEvent.MembershipManagerError, (e) =>
    emit({ ev: "error", where: "MembershipManagerError", message: String(e?.stack || e) }),
  );
  session.on(MembershipManagerEvent.StatusChanged, (oldStatus, newStatus) => emit({ ev: "status", from: oldStatus, status: newStatus }));
  session.on(MembershipManagerEvent.DelayIdChanged, (delayId) => emit({ ev: "delay_id", delayId: delayId ?? null }));
  session.on(MembershipManagerEvent.ProbablyLeft, (probablyLeft) => emit({ ev: "probably_left", probablyLeft }));
  report();
  session.joinRoomSession(foci, multiSfuFocus, joinConfig);
}

let leaving = false;
let stdinBuf = "";
process.stdin.on("data", async (chunk) => {
  stdinBuf += chunk.toString("utf8");
  let nl;
  while ((nl = stdinBuf.indexOf("\n")) >= 0) {
    const cmd = stdinBuf.slice(0, nl).trim();
    stdinBuf = stdinBuf.slice(nl + 1);
    if (cmd === "leave" && !leaving && session) {
      leaving = true;
      const ok = await session.leaveRoomSession(10000).catch((e) => {
        emit({ ev: "error", where: "leaveRoomSession", message: String(e?.stack || e) });
        return false;
      });
      emit({ ev: "left", ok });
      client.stopClient();
      setTimeout(() => process.exit(0), 50);
    }
  }
});

main().catch((e) => {
  emit({ ev: "error", where: "main", message: String(e?.stack || e) });
  logLine("ERROR", ["fatal", e]);
  setTimeout(() => process.exit(1), 50);
});
