// The call's video grid: one tile per MatrixRTC member, showing the LiveKit
// participant with that identity (its camera, its microphone played out),
// with badges for a raised hand and muted tracks, and emoji reactions.
import { Track } from "livekit-client";

const REACTION_SHOWN_MS = 3000;

export class Tiles {
  constructor(container) {
    this.container = container;
    this.tiles = new Map(); // identity -> {el, video, audio, name, badges, videoTrack, audioTrack}
  }

  /** members: [{identity, userId, participant?, local, hand}] in display order. */
  render(members) {
    const keep = new Set();
    for (const m of members) {
      keep.add(m.identity);
      const t = this.tiles.get(m.identity) ?? this.create(m);
      this.update(t, m);
    }
    for (const [identity, t] of this.tiles) {
      if (!keep.has(identity)) this.remove(identity, t);
    }
  }

  create(m) {
    const el = document.createElement("div");
    el.className = "tile";
    el.dataset.identity = m.identity;
    el.dataset.userId = m.userId;
    const video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true;
    const name = document.createElement("span");
    name.className = "name";
    const badges = document.createElement("span");
    badges.className = "badges";
    el.append(video, name, badges);
    this.container.append(el);
    const t = { el, video, name, badges, audio: null, videoTrack: null, audioTrack: null };
    this.tiles.set(m.identity, t);
    return t;
  }

  update(t, m) {
    const p = m.participant;
    const camera = p?.getTrackPublication(Track.Source.Camera);
    const mic = p?.getTrackPublication(Track.Source.Microphone);
    const videoTrack = camera?.track && !camera.isMuted ? camera.track : null;
    if (videoTrack !== t.videoTrack) {
      t.videoTrack?.detach(t.video);
      videoTrack?.attach(t.video);
      t.videoTrack = videoTrack;
    }
    // Our own microphone is not played back.
    const audioTrack = !m.local && mic?.track ? mic.track : null;
    if (audioTrack !== t.audioTrack) {
      if (t.audio) t.audioTrack?.detach(t.audio);
      t.audio?.remove();
      t.audio = audioTrack ? audioTrack.attach() : null;
      if (t.audio) t.el.append(t.audio);
      t.audioTrack = audioTrack;
    }
    t.el.classList.toggle("no-video", !videoTrack);
    t.el.dataset.connected = String(!!p);
    t.name.textContent = m.local ? `${m.userId} (you)` : m.userId;
    const badges = [];
    if (m.hand) badges.push("🖐️");
    if (!mic || mic.isMuted) badges.push("🔇");
    t.badges.textContent = badges.join(" ");
    t.el.dataset.hand = String(!!m.hand);
    t.el.dataset.micMuted = String(!mic || mic.isMuted);
  }

  remove(identity, t) {
    t.videoTrack?.detach(t.video);
    if (t.audio) t.audioTrack?.detach(t.audio);
    t.el.remove();
    this.tiles.delete(identity);
  }

  clear() {
    for (const [identity, t] of this.tiles) this.remove(identity, t);
  }

  /** Shows `emoji` over the member's tile for a few seconds. */
  flashReaction(identity, emoji) {
    const t = this.tiles.get(identity);
    if (!t) return;
    const span = document.createElement("span");
    span.className = "reaction-shown";
    span.textContent = emoji;
    t.el.append(span);
    setTimeout(() => span.remove(), REACTION_SHOWN_MS);
  }

  /** What each tile shows, for tests: {identity: {hand, micMuted, video, reaction}}. */
  summary() {
    const out = {};
    for (const [identity, t] of this.tiles) {
      out[identity] = {
        userId: t.el.dataset.userId,
        connected: t.el.dataset.connected === "true",
        hand: t.el.dataset.hand === "true",
        micMuted: t.el.dataset.micMuted === "true",
        videoWidth: t.video.videoWidth,
        reaction: t.el.querySelector(".reaction-shown")?.textContent ?? null,
      };
    }
    return out;
  }
}
