// Drives the sign-in and room views every app page shares (web/shared/shell.js):
// sign up, create (optionally encrypted), join, invite. The open room's id is
// read from the page's location (#/room/<id>), which the shell keeps current.
import { waitFor } from "./server.mjs";

/** The id of the room the page has open. */
export const openRoomId = (page) => decodeURIComponent(new URL(page.url()).hash.replace(/^#\/room\//, ""));

/** Opens the app, signs up `username` through the form and waits for the room list. */
export async function signUp(page, appUrl, username, password = "correct horse battery staple") {
  await page.goto(appUrl);
  await page.fill("#username", username);
  await page.fill("#password", password);
  await page.click("#signup");
  await page.waitForSelector("#rooms-view:not([hidden])", { timeout: 20000 });
}

/** Creates a room from the room list (encrypted: invite only, where the page offers it); returns its id. */
export async function createRoom(page, name, { encrypted = false } = {}) {
  await page.fill("#new-room-name", name);
  if (encrypted) await page.check("#new-room-encrypted");
  await page.click("#create-room");
  await page.waitForSelector("#room-view:not([hidden])", { timeout: 20000 });
  return openRoomId(page);
}

/** Joins a room by id from the room list. */
export async function joinRoom(page, roomId) {
  await page.fill("#join-room-id", roomId);
  await page.click("#join-room");
  await page.waitForSelector("#room-view:not([hidden])", { timeout: 20000 });
}

/** Invites `userId` from the open room's view. */
export async function invite(page, userId) {
  await page.fill("#invite-user", userId);
  await page.click("#invite");
  await waitFor(async () => (await page.textContent("#status")).includes(`invited ${userId}`), `invited ${userId}`);
}
