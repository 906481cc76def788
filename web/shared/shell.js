// The part every app page shares: the status line, sign-up/log-in (the
// credentials kept in sessionStorage so a reload resumes), the room list,
// creating (optionally encrypted), joining and inviting. The page has a
// header with #who, #status and #logout, an empty <div id="account"> where
// the log-in and room-list views go, and its own views (a room view with
// #back-to-rooms and, if it invites, #invite-form/#invite-user); it passes
// an `openRoom(roomId)` callback. Views are shown one at a time.
import * as mx from "./matrix.js";

const $ = (id) => document.getElementById(id);

function accountViews(encryptedOption) {
  const encrypted = encryptedOption
    ? `<label class="check"><input id="new-room-encrypted" type="checkbox"> End-to-end encrypted (invite only)</label>`
    : "";
  return `
<section id="login-view" class="panel" hidden>
  <h2>Sign up or log in</h2>
  <form id="login-form">
    <label>User name <input id="username" name="username" autocomplete="username" required></label>
    <label>Password <input id="password" name="password" type="password" autocomplete="current-password" required></label>
    <div class="row">
      <button id="login" type="submit">Log in</button>
      <button id="signup" type="button">Sign up</button>
    </div>
  </form>
</section>
<section id="rooms-view" class="panel" hidden>
  <h2>Rooms</h2>
  <ul id="room-list"></ul>
  <form id="create-form">
    <div class="row">
      <input id="new-room-name" placeholder="New room name" required>
      <button id="create-room" type="submit">Create room</button>
    </div>
    ${encrypted}
  </form>
  <form id="join-form" class="row">
    <input id="join-room-id" placeholder="!room:server or #alias:server" required>
    <button id="join-room" type="submit">Join room</button>
  </form>
</section>`;
}

export class Shell {
  /**
   * credsKey: sessionStorage key; views: ids of the page's sections (the
   * first is the log-in view); crypto: start the client with E2EE;
   * openRoom(roomId); onClient(client) once it has synced; beforeLogout();
   * stateTypes: state events every member of a new room may send;
   * encryptedOption: offer encrypted rooms.
   */
  constructor({
    credsKey,
    views,
    crypto = false,
    openRoom,
    onClient = () => {},
    beforeLogout = async () => {},
    stateTypes = [],
    encryptedOption = crypto,
  }) {
    Object.assign(this, { credsKey, views, crypto, openRoom, onClient, beforeLogout, stateTypes });
    $("account").outerHTML = accountViews(encryptedOption);
    this.creds = null;
    this.client = null;
    this.roomId = null;
    this.errors = [];
    $("login-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.signIn(false);
    });
    $("signup").addEventListener("click", () => this.signIn(true));
    $("logout").addEventListener("click", () => this.logout());
    $("create-form").addEventListener("submit", (e) => this.createRoom(e));
    $("join-form").addEventListener("submit", (e) => this.joinRoom(e));
    $("invite-form")?.addEventListener("submit", (e) => this.invite(e));
    $("back-to-rooms")?.addEventListener("click", () => this.showRooms());
  }

  setStatus(text) {
    $("status").textContent = text;
  }

  fail(where, e) {
    console.error(where, e);
    this.errors.push(`${where}: ${e?.message || e}`);
    this.setStatus(`${where}: ${e?.message || e}`);
  }

  show(view) {
    for (const v of this.views) $(v).hidden = v !== view;
    $("logout").hidden = view === this.views[0];
  }

  /** Resumes the saved session, or shows the log-in form. */
  start() {
    const saved = sessionStorage.getItem(this.credsKey);
    if (!saved) return this.show(this.views[0]);
    this.startWith(JSON.parse(saved)).catch((e) => {
      sessionStorage.removeItem(this.credsKey);
      this.show(this.views[0]);
      this.fail("resume", e);
    });
  }

  async signIn(register) {
    const username = $("username").value.trim();
    const password = $("password").value;
    if (!username || !password) return;
    this.setStatus(register ? "signing up…" : "logging in…");
    try {
      const creds = register ? await mx.register(username, password) : await mx.login(username, password);
      sessionStorage.setItem(this.credsKey, JSON.stringify(creds));
      await this.startWith(creds);
    } catch (e) {
      this.fail(register ? "sign up" : "log in", e);
    }
  }

  async startWith(creds) {
    this.creds = creds;
    $("who").textContent = creds.user_id;
    this.setStatus("syncing…");
    this.client = await mx.startClient(creds, { crypto: this.crypto });
    this.onClient(this.client);
    this.setStatus("");
    const roomFromUrl = decodeURIComponent(location.hash.replace(/^#\/room\//, ""));
    if (roomFromUrl && roomFromUrl !== location.hash && this.client.getRoom(roomFromUrl)) this.open(roomFromUrl);
    else this.showRooms();
  }

  async logout() {
    await this.beforeLogout().catch(() => {});
    sessionStorage.removeItem(this.credsKey);
    try {
      await this.client?.logout(true);
    } catch {
      /* token already gone */
    }
    this.client?.stopClient();
    location.hash = "";
    location.reload();
  }

  showRooms() {
    this.show("rooms-view");
    const list = $("room-list");
    list.replaceChildren();
    for (const r of mx.joinedRooms(this.client)) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.textContent = r.name;
      b.dataset.roomId = r.roomId;
      b.onclick = () => this.open(r.roomId);
      li.append(b);
      list.append(li);
    }
  }

  open(roomId) {
    this.roomId = roomId;
    location.hash = `#/room/${encodeURIComponent(roomId)}`;
    this.openRoom(roomId);
  }

  async createRoom(e) {
    e.preventDefault();
    try {
      this.setStatus("creating room…");
      const encrypted = !!$("new-room-encrypted")?.checked;
      const roomId = await mx.createRoom(this.client, $("new-room-name").value.trim(), this.stateTypes, { encrypted });
      this.setStatus("");
      this.open(roomId);
    } catch (err) {
      this.fail("create room", err);
    }
  }

  async joinRoom(e) {
    e?.preventDefault();
    try {
      this.setStatus("joining room…");
      const roomId = await mx.joinRoom(this.client, $("join-room-id").value.trim());
      this.setStatus("");
      this.open(roomId);
    } catch (err) {
      this.fail("join room", err);
    }
  }

  async invite(e) {
    e.preventDefault();
    const userId = $("invite-user").value.trim();
    try {
      await this.client.invite(this.roomId, userId);
      $("invite-user").value = "";
      this.setStatus(`invited ${userId}`);
    } catch (err) {
      this.fail("invite", err);
    }
  }
}
