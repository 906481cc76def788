// Helpers around the real matrix-js-sdk: clients with a captured log, sync
// state recording, and timeline inspection.
import * as sdk from "matrix-js-sdk";
import { waitFor } from "./server.mjs";

const VERBOSE = !!process.env.ATRIUM_E2E_VERBOSE;

/** A Logger (matrix-js-sdk's interface) that keeps lines in memory (shared sink). */
class CaptureLogger {
  constructor(prefix, sink) {
    this.prefix = prefix;
    this.sink = sink;
  }
  _log(level, args) {
    const text = args
      .map((a) => (a instanceof Error ? a.stack || a.message : typeof a === "string" ? a : safeJson(a)))
      .join(" ");
    const line = `${new Date().toISOString().slice(11, 23)} ${level} [${this.prefix}] ${text}`;
    this.sink.push(line);
    if (this.sink.length > 20000) this.sink.splice(0, 5000);
    if (VERBOSE && (level === "WARN" || level === "ERROR")) process.stderr.write(line + "\n");
  }
  trace(...a) {
    this._log("TRACE", a);
  }
  debug(...a) {
    this._log("DEBUG", a);
  }
  info(...a) {
    this._log("INFO", a);
  }
  warn(...a) {
    this._log("WARN", a);
  }
  error(...a) {
    this._log("ERROR", a);
  }
  getChild(ns) {
    return new CaptureLogger(`${this.prefix}${ns}`, this.sink);
  }
}

function safeJson(v) {
  try {
    const s = JSON.stringify(v);
    return s && s.length > 400 ? s.slice(0, 400) + "…" : s;
  } catch {
    return String(v);
  }
}

/** All client logs of this test process (for dumping on failure). */
export const clientLogSink = [];

// matrix-js-sdk's module-level loggers (MatrixRTC, rooms, scheduler, ...) write
// to console.* (looked up at call time). Route console into the sink so the
// TAP output stays readable; the sink is printed when a step fails.
// ATRIUM_E2E_VERBOSE=1 keeps the console as it is.
if (!VERBOSE) {
  for (const m of ["log", "debug", "info", "warn", "error", "trace"]) {
    console[m] = (...args) => new CaptureLogger("console", clientLogSink)._log(m.toUpperCase(), args);
  }
}
export function clientLogText(lastLines = 150) {
  const lines = clientLogSink.slice(-lastLines);
  return `----- matrix-js-sdk client log (last ${lines.length} lines) -----\n${lines.join("\n")}\n`;
}

/**
 * Create a matrix-js-sdk client for {user_id, access_token, device_id}. Its
 * sync states are recorded in `client.syncLog` ({t, state, prev, error}).
 */
export function makeClient(baseUrl, creds, label) {
  const client = sdk.createClient({
    baseUrl,
    userId: creds.user_id,
    accessToken: creds.access_token,
    deviceId: creds.device_id,
    logger: new CaptureLogger(label, clientLogSink),
  });
  client.label = label;
  client.syncLog = [];
  client.on(sdk.ClientEvent.Sync, (state, prev, data) => {
    client.syncLog.push({ t: Date.now(), state, prev, error: data?.error ? String(data.error.message || data.error) : undefined });
    clientLogSink.push(`${new Date().toISOString().slice(11, 23)} SYNC [${label}] ${prev} -> ${state}${data?.error ? " (" + (data.error.message || data.error) + ")" : ""}`);
  });
  return client;
}

export function describeSyncLog(client, last = 12) {
  return client.syncLog
    .slice(-last)
    .map((s) => `${s.prev}->${s.state}${s.error ? "(" + s.error + ")" : ""}`)
    .join(", ");
}

/** Start the client and wait until the first sync is processed (PREPARED). */
export async function startAndPrepare(client, timeoutMs = 20000) {
  await client.startClient({ initialSyncLimit: 20 });
  await waitFor(
    () => client.syncLog.some((s) => s.state === sdk.SyncState.Prepared),
    `${client.label}: sync state PREPARED`,
    timeoutMs,
    { detail: () => `sync states so far: [${describeSyncLog(client)}]` },
  );
}

/** Wait for a sync state in `states` recorded after time `since`. */
export function waitForSyncStateAfter(client, since, states, timeoutMs = 20000) {
  return waitFor(
    () => client.syncLog.find((s) => s.t >= since && states.includes(s.state)),
    `${client.label}: sync state in [${states}] after restart`,
    timeoutMs,
    { detail: () => `current=${client.getSyncState()} recent=[${describeSyncLog(client)}]` },
  );
}

/** m.room.message events of the room's live timeline (including local echoes). */
export function liveMessages(room) {
  if (!room) return [];
  return room
    .getLiveTimeline()
    .getEvents()
    .filter((e) => e.getType() === "m.room.message");
}

export function liveBodies(room) {
  return liveMessages(room).map((e) => e.getContent().body);
}

/**
 * Back-paginate the room's live timeline with client.scrollback() until the
 * server says there is nothing older (pagination token null). Returns the
 * number of scrollback calls.
 */
export async function scrollbackToStart(client, room, limit = 30, maxCalls = 100) {
  let calls = 0;
  while (room.oldState.paginationToken !== null) {
    if (++calls > maxCalls) {
      throw new Error(
        `${client.label}: still not at the start of the room after ${maxCalls} scrollback(${limit}) calls ` +
          `(token=${room.oldState.paginationToken}, timeline has ${room.getLiveTimeline().getEvents().length} events)`,
      );
    }
    await client.scrollback(room, limit);
  }
  return calls;
}

export { sdk };
