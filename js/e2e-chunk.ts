// The on-demand chunk of end-to-end encryption (dist/metachannel-e2e.mjs): the AEAD and the
// framing, loaded the first time a Channel gets a URL with a key (js/e2e-socket.ts). A page
// without a key never downloads it.
//
// The wire format (docs/security.md documents it for peers in other languages):
//   sealed frame  = 0x01 (version) ‖ nonce (24 bytes, random) ‖ ciphertext ‖ tag (16 bytes)
//   AEAD          = XChaCha20-Poly1305, IETF construction (libsodium's
//                   crypto_aead_xchacha20poly1305_ietf), 32-byte key, associated data: the version byte
//   plaintext     = kind (0x00: a UTF-8 text frame, 0x01: a binary frame) ‖ the frame's payload
// Every sealed frame travels as a binary WebSocket frame; the overhead is 42 bytes.
// The cipher is @noble/ciphers (audited, pure JS, synchronous: frames are sealed and opened in
// the order they come, with no async step between); the random nonces are crypto.getRandomValues.
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";

export const VERSION = 1;
export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
/** version + nonce + tag + kind */
export const OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES + 1;
const AD = new Uint8Array([VERSION]);
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }); // a leading U+FEFF is text, kept

/** Why a frame could not be opened. */
export type OpenFailure = "short" | "version" | "auth" | "kind" | "utf8";

/** What DECRYPT_FAILED says of the last frame dropped (here, not in the main bundle). */
const REASONS: Record<OpenFailure | "text", string> = {
  text: "a text frame, not sealed",
  short: `shorter than a sealed frame (${OVERHEAD} bytes)`,
  version: `not sealed with version ${VERSION}`,
  auth: "it failed authentication: altered, or sealed with another key",
  kind: "an unknown kind byte",
  utf8: "a text frame that is not UTF-8",
};

/** Seals and opens the frames of one key. */
export interface Sealer {
  /** A text frame's string, sealed. */
  sealText(text: string): Uint8Array;
  /** A binary frame's bytes, sealed. */
  sealBinary(bytes: Uint8Array): Uint8Array;
  /** A received binary frame: the text or bytes it carries, or why it was dropped. */
  open(frame: Uint8Array): { data: string | Uint8Array } | { failure: OpenFailure };
  /**
   * A received WebSocket message's data: what to deliver, or why it was dropped (a sentence),
   * or null when it is over the limit: the core's oversize path reports it, unopened.
   */
  receive(data: unknown): { data: string | Uint8Array } | { dropped: string } | null;
}

// Nonces come from a pool refilled by one crypto.getRandomValues call per 128 frames: in Node
// a call costs about 4.7 µs whatever its size, more than the cipher itself on a 120-byte frame
// (tests/bench/e2e-aead.mjs). Every nonce is 24 fresh random bytes, used once.
const POOL_BYTES = NONCE_BYTES * 128;
const pool = new Uint8Array(POOL_BYTES);
let poolAt = POOL_BYTES;

/** `kind ‖ payload` sealed into a new frame; `payload` is written by `fill(frame, at)`. */
function seal(key: Uint8Array, kind: number, size: number, fill: (frame: Uint8Array, at: number) => void): Uint8Array {
  const frame = new Uint8Array(OVERHEAD + size);
  frame[0] = VERSION;
  if (poolAt === POOL_BYTES) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  frame.set(pool.subarray(poolAt, poolAt + NONCE_BYTES), 1);
  pool.fill(0, poolAt, poolAt + NONCE_BYTES);
  poolAt += NONCE_BYTES;
  const start = 1 + NONCE_BYTES;
  frame[start] = kind;
  fill(frame, start + 1);
  // In place: the plaintext sits where its ciphertext goes, the tag after it.
  xchacha20poly1305(key, frame.subarray(1, start), AD).encrypt(frame.subarray(start, frame.length - TAG_BYTES), frame.subarray(start));
  return frame;
}

/** The sealer of a 32-byte key (the key is copied); `maxBytes`: the channel's maxMessageBytes. */
export function sealer(keyBytes: Uint8Array, maxBytes = Number.POSITIVE_INFINITY): Sealer {
  const key = keyBytes.slice();
  const limit = maxBytes + OVERHEAD;
  return {
    receive(data) {
      if (typeof data === "string") return { dropped: REASONS.text }; // a plain frame on an encrypted channel
      const frame =
        data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
      if (!frame) return { dropped: REASONS.short };
      if (frame.length > limit) return null;
      const opened = this.open(frame);
      return "failure" in opened ? { dropped: REASONS[opened.failure] } : opened;
    },
    sealText(text) {
      const bytes = encoder.encode(text);
      return seal(key, 0, bytes.length, (frame, at) => frame.set(bytes, at));
    },
    sealBinary: (bytes) => seal(key, 1, bytes.length, (frame, at) => frame.set(bytes, at)),
    open(frame) {
      if (frame.length < OVERHEAD) return { failure: "short" };
      if (frame[0] !== VERSION) return { failure: "version" };
      let plain: Uint8Array;
      try {
        plain = xchacha20poly1305(key, frame.subarray(1, 1 + NONCE_BYTES), AD).decrypt(frame.subarray(1 + NONCE_BYTES));
      } catch {
        return { failure: "auth" };
      }
      const kind = plain[0];
      if (kind === 1) return { data: plain.subarray(1) };
      if (kind !== 0) return { failure: "kind" };
      try {
        return { data: decoder.decode(plain.subarray(1)) };
      } catch {
        return { failure: "utf8" };
      }
    },
  };
}
