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

/** Why a frame could not be opened (for the DECRYPT_FAILED message). */
export type OpenFailure = "short" | "version" | "auth" | "kind" | "utf8";

/** Seals and opens the frames of one key. */
export interface Sealer {
  /** A text frame's string, sealed. */
  sealText(text: string): Uint8Array;
  /** A binary frame's bytes, sealed. */
  sealBinary(bytes: Uint8Array): Uint8Array;
  /** A received binary frame: the text or bytes it carries, or why it was dropped. */
  open(frame: Uint8Array): { data: string | Uint8Array } | { failure: OpenFailure };
}

function seal(key: Uint8Array, kind: number, payload: Uint8Array): Uint8Array {
  const plain = new Uint8Array(payload.length + 1);
  plain[0] = kind;
  plain.set(payload, 1);
  const nonce = new Uint8Array(NONCE_BYTES);
  crypto.getRandomValues(nonce);
  const sealed = xchacha20poly1305(key, nonce, AD).encrypt(plain);
  const frame = new Uint8Array(1 + NONCE_BYTES + sealed.length);
  frame[0] = VERSION;
  frame.set(nonce, 1);
  frame.set(sealed, 1 + NONCE_BYTES);
  return frame;
}

/** The sealer of a 32-byte key (the key is copied). */
export function sealer(keyBytes: Uint8Array): Sealer {
  const key = keyBytes.slice();
  return {
    sealText: (text) => seal(key, 0, encoder.encode(text)),
    sealBinary: (bytes) => seal(key, 1, bytes),
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
