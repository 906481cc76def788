// The whiteboard document: strokes (add-only) and text boxes (last writer
// wins per box, by (ts, op id)). Every change is an op with a unique id, and
// applying an op is idempotent and order-independent, so ops may arrive
// twice (data channel and room event) and in any order (snapshot, then
// /relations, then live) and every member ends with the same document.

export const APP = "io.atrium.whiteboard";
export const ROOT_TYPE = "io.atrium.whiteboard.document";
export const EDIT_TYPE = "io.atrium.whiteboard.edit";
export const EDIT_REL = "io.atrium.whiteboard.edit";
export const SNAPSHOT_TYPE = "io.atrium.whiteboard.snapshot";

export function newId() {
  const a = new Uint8Array(9);
  crypto.getRandomValues(a);
  return btoa(String.fromCharCode(...a)).replace(/[+/=]/g, (c) => ({ "+": "-", "/": "_", "=": "" })[c]);
}

export function later(a, b) {
  // Does text state `a` win over `b`?
  if (!b) return true;
  if (a.ts !== b.ts) return a.ts > b.ts;
  return a.op > b.op;
}

const num = (v) => typeof v === "number" && Number.isFinite(v);

export class Doc {
  constructor() {
    this.strokes = new Map(); // id -> {id, color, width, points: [x, y, x, y, ...], by}
    this.texts = new Map(); // id -> {id, x, y, text, ts, op, by}
    this.applied = new Set(); // op ids
  }

  /** Applies one op; returns true if the document changed. Ignores malformed ops. */
  apply(op, by = "") {
    if (!op || typeof op.id !== "string" || this.applied.has(op.id)) return false;
    if (op.type === "stroke") {
      const s = op.stroke;
      if (!s || typeof s.id !== "string" || !Array.isArray(s.points) || !s.points.every(num)) return false;
      this.applied.add(op.id);
      if (this.strokes.has(s.id)) return false;
      this.strokes.set(s.id, {
        id: s.id,
        color: typeof s.color === "string" ? s.color.slice(0, 16) : "#222",
        width: num(s.width) ? Math.min(Math.max(s.width, 1), 40) : 3,
        points: s.points,
        ts: num(s.ts) ? s.ts : 0,
        by: s.by || by,
      });
      return true;
    }
    if (op.type === "text") {
      const b = op.box;
      if (!b || typeof b.id !== "string" || !num(b.x) || !num(b.y) || typeof b.text !== "string" || !num(op.ts)) return false;
      this.applied.add(op.id);
      const next = { id: b.id, x: b.x, y: b.y, text: b.text.slice(0, 2000), ts: op.ts, op: op.id, by: b.by || by };
      if (!later(next, this.texts.get(b.id))) return false;
      this.texts.set(b.id, next);
      return true;
    }
    return false;
  }

  /** Strokes in drawing order, the same on every member: (ts, id). */
  orderedStrokes() {
    return [...this.strokes.values()].sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  toJSON() {
    // Op ids are left out: strokes dedupe by stroke id, text boxes by (ts, op).
    const texts = [...this.texts.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { strokes: this.orderedStrokes(), texts };
  }

  static fromJSON(json) {
    const doc = new Doc();
    if (!json || typeof json !== "object") return doc;
    for (const s of Array.isArray(json.strokes) ? json.strokes : []) {
      doc.apply({ id: `snap-s-${s?.id}`, type: "stroke", stroke: s });
    }
    for (const t of Array.isArray(json.texts) ? json.texts : []) {
      if (!t) continue;
      doc.apply({ id: t.op || `snap-t-${t.id}`, type: "text", ts: t.ts, box: t });
    }
    return doc;
  }
}
