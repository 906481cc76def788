// The call's room events, as Element Call sends and reads them: ringing
// (MSC4075 notification, MSC4310 decline), raised hands (m.reaction 🖐️ on the
// member's membership event) and emoji reactions (io.element.call.reaction).
// Plain functions over matrix-js-sdk MatrixEvents (or anything with the same
// getters), so the rules are testable without a browser.

export const NOTIFICATION = "org.matrix.msc4075.rtc.notification";
export const DECLINE = "org.matrix.msc4310.rtc.decline";
export const REACTION = "m.reaction";
export const REDACTION = "m.room.redaction";
export const CALL_REACTION = "io.element.call.reaction";
export const HANDLED = new Set([NOTIFICATION, DECLINE, REACTION, REDACTION, CALL_REACTION]);

/** U+1F590 U+FE0F, the key Element Call uses for a raised hand. */
export const HAND = "\u{1F590}\uFE0F";
/** Receivers cap a notification's lifetime (MSC4075). */
export const MAX_RING_MS = 90000;
/** Beyond this much disagreement, trust the server's clock over the sender's. */
const MAX_SENDER_SKEW_MS = 20000;

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** The event id `ev` relates to with `relType`, or null. */
export function relatedId(ev, relType) {
  const rel = ev.getContent()?.["m.relates_to"];
  return isObject(rel) && rel.rel_type === relType && typeof rel.event_id === "string" ? rel.event_id : null;
}

/**
 * A ring for `me` from notification `ev` at time `now`, or null when it is
 * not for us, malformed, or over: {roomId, eventId, from, until, type}.
 */
export function ringFrom(ev, me, now) {
  const c = ev.getContent();
  if (!isObject(c) || ev.getSender() === me) return null;
  const type = c.notification_type;
  if (type !== "ring" && type !== "notification") return null;
  if (typeof c.sender_ts !== "number" || typeof c.lifetime !== "number" || c.lifetime <= 0) return null;
  const mentions = isObject(c["m.mentions"]) ? c["m.mentions"] : {};
  const forMe = mentions.room === true || (Array.isArray(mentions.user_ids) && mentions.user_ids.includes(me));
  if (!forMe) return null;
  const serverTs = ev.getTs();
  const start = Math.abs(c.sender_ts - serverTs) > MAX_SENDER_SKEW_MS ? serverTs : c.sender_ts;
  const until = start + Math.min(c.lifetime, MAX_RING_MS);
  if (now >= until) return null;
  return { roomId: ev.getRoomId(), eventId: ev.getId(), from: ev.getSender(), until, type };
}

export function declineContent(notificationEventId) {
  return { "m.relates_to": { rel_type: "m.reference", event_id: notificationEventId } };
}

export function raiseHandContent(membershipEventId) {
  return { "m.relates_to": { rel_type: "m.annotation", event_id: membershipEventId, key: HAND } };
}

/** The membership event id a raised-hand reaction is on, or null. */
export function handRaisedOn(ev) {
  const id = relatedId(ev, "m.annotation");
  return id && ev.getContent()["m.relates_to"].key === HAND ? id : null;
}

export function callReactionContent(membershipEventId, emoji, name) {
  return { "m.relates_to": { rel_type: "m.reference", event_id: membershipEventId }, emoji, name };
}

/** {membershipEventId, emoji, name} of an io.element.call.reaction, or null; readers show the first grapheme. */
export function callReaction(ev) {
  const membershipEventId = relatedId(ev, "m.reference");
  const c = ev.getContent();
  if (!membershipEventId || typeof c.emoji !== "string" || !c.emoji) return null;
  const emoji = [...new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(c.emoji)][0]?.segment ?? "";
  return { membershipEventId, emoji, name: typeof c.name === "string" ? c.name.slice(0, 64) : "" };
}
