// Per-participant media keys for livekit-client's end-to-end encryption,
// fed from the MatrixRTC session: matrix-js-sdk makes our key, sends it to the
// other members' devices as Olm-encrypted `io.element.call.encryption_keys`
// to-device messages, rotates it when someone leaves, and reports every key
// (ours and the ones we receive) with the LiveKit identity it belongs to.
// The same setup as Element Call, so both can decrypt each other's media.
import { BaseKeyProvider, createKeyMaterialFromBuffer } from "livekit-client";
import { MatrixRTCSessionEvent } from "matrix-js-sdk/lib/matrixrtc/index.js";

export class MatrixKeyProvider extends BaseKeyProvider {
  constructor() {
    // No ratcheting (keys come from Matrix); LiveKit's key index is a byte.
    // Never give up on a key after failed decryptions (failureTolerance -1,
    // as LiveKit's shared-key provider does): a rotated key can reach us
    // after frames that used it, and a key marked invalid stays unusable
    // until it is set again.
    super({ ratchetWindowSize: 10, keyringSize: 256, failureTolerance: -1 });
    this.session = null;
    this.log = []; // {identity, index, own, at}: what reached LiveKit, for tests and the UI
    this.onKeyChanged = (key, index, membership, identity) => void this.setKey(key, index, identity, membership);
  }

  /** Starts taking keys from `rtcSession` (a matrix-js-sdk MatrixRTCSession). */
  attach(rtcSession, ownIdentity) {
    this.detach();
    this.session = rtcSession;
    this.ownIdentity = ownIdentity;
    rtcSession.on(MatrixRTCSessionEvent.EncryptionKeyChanged, this.onKeyChanged);
    // Keys that arrived before we listened.
    rtcSession.reemitEncryptionKeys();
  }

  detach() {
    this.session?.off(MatrixRTCSessionEvent.EncryptionKeyChanged, this.onKeyChanged);
    this.session = null;
  }

  async setKey(key, index, identity) {
    // LiveKit derives the AES-GCM key from this with HKDF.
    const material = await createKeyMaterialFromBuffer(key);
    this.onSetEncryptionKey(material, identity, index);
    this.log.push({ identity, index, own: identity === this.ownIdentity, at: Date.now() });
  }
}

/** A dedicated worker for LiveKit's frame encryption (copied beside the bundle at build time). */
export function e2eeWorker() {
  return new Worker(new URL("./e2ee-worker.mjs", import.meta.url), { type: "module" });
}
