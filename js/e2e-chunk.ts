// The on-demand chunk of end-to-end encryption (dist/metachannel-e2e.mjs): the AEAD, the
// framing, the sealing socket and the DECRYPT_FAILED accounting, loaded the first time a Channel
// gets a URL with a key (js/socket-factory.ts). A page without a key never downloads it: the
// main bundle only checks the key's spelling (js/e2e-key.ts) and holds a CONNECTING socket
// until this arrives.
//
// The wire format (docs/security.md documents it for peers in other languages):
//   sealed frame  = 0x01 (version) ‖ nonce (24 bytes, random) ‖ ciphertext ‖ tag (16 bytes)
//   AEAD          = XChaCha20-Poly1305, IETF construction (libsodium's
//                   crypto_aead_xchacha20poly1305_ietf), 32-byte key, associated data: the version byte
//   plaintext     = kind (0x00: a UTF-8 text frame, 0x01: a binary frame) ‖ the frame's payload
// Every sealed frame travels as a binary WebSocket frame; the overhead is 42 bytes.
// The cipher is @noble/ciphers (audited, pure JS, synchronous: frames are sealed and opened in
// the order they come, with no async step between); in Node, libsodium itself through
// sodium-native when the application has installed it (setSodium, called by js/e2e-load.ts: the
// same construction, 2-3x the throughput). The random nonces are crypto.getRandomValues.
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

/** The AEAD: XChaCha20-Poly1305 (IETF), associated data AD, a 16-byte tag after the ciphertext. */
interface Aead {
  readonly name: string;
  /** Seals `plain` in place; its tag goes in the TAG_BYTES that follow it in `out` (`plain` = out's start). */
  seal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array, out: Uint8Array): void;
  /** The plaintext of `sealed` (ciphertext ‖ tag), or null when it fails authentication. */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Uint8Array | null;
}

const noble: Aead = {
  name: "@noble/ciphers",
  seal: (key, nonce, plain, out) => void xchacha20poly1305(key, nonce, AD).encrypt(plain, out),
  open(key, nonce, sealed) {
    try {
      return xchacha20poly1305(key, nonce, AD).decrypt(sealed);
    } catch {
      return null;
    }
  },
};

/** The functions of sodium-native (libsodium's names) that the chunk calls. */
export interface Sodium {
  crypto_aead_xchacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array, nsec: null, npub: Uint8Array, k: Uint8Array): number;
  crypto_aead_xchacha20poly1305_ietf_decrypt(m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array, npub: Uint8Array, k: Uint8Array): number;
}

let aead: Aead = noble;

/**
 * js/e2e-load.ts, in Node: libsodium (sodium-native, if the application installed it) seals and
 * opens the frames of the sealers made from now on; null goes back to @noble/ciphers. @internal
 */
export function setSodium(sodium: Sodium | null): void {
  aead = sodium
    ? {
        name: "sodium-native",
        seal: (key, nonce, plain, out) => void sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out, plain, AD, null, nonce, key),
        open(key, nonce, sealed) {
          if (sealed.length < TAG_BYTES) return null;
          const plain = new Uint8Array(sealed.length - TAG_BYTES);
          try {
            sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(plain, null, sealed, AD, nonce, key);
            return plain;
          } catch {
            return null;
          }
        },
      }
    : noble;
}

/** Which implementation seals and opens: "@noble/ciphers" or "sodium-native". @internal */
export function cipherName(): string {
  return aead.name;
}

/**
 * A frame this sealer sent, kept until the relay echoes it back (it sends every frame to every
 * socket of the channel, the sender's included): a received frame byte-identical to one we
 * sealed is authentic by construction, so its kept kind and payload are used and the
 * cipher is not run again. The result is what opening it would give; a frame that differs in any
 * byte is opened as any other. The last ECHO_KEEP frames are kept (a relay that echoes nothing
 * costs that much memory and a length check per frame received).
 */
interface Kept {
  frame: Uint8Array;
  kind: number;
  /** a text frame's UTF-8 (TextEncoder's output, ours), a binary frame's bytes (a copy: the caller may change its own) */
  payload: Uint8Array;
}
const ECHO_KEEP = 32;

/** The kept frame that is exactly `frame` (it, with the frames kept before it, is let go), or null. */
function echoed(kept: Kept[], frame: Uint8Array): Kept | null {
  for (let i = 0; i < kept.length; i++) {
    const k = kept[i]!.frame;
    if (k.length !== frame.length || k[1] !== frame[1] || k[2] !== frame[2]) continue; // a nonce's first bytes: most frames stop here
    let j = 0;
    while (j < k.length && k[j] === frame[j]) j++;
    if (j < k.length) continue;
    const own = kept[i]!;
    kept.splice(0, i + 1); // echoes come back in the order sent: the ones before it were not echoed
    return own;
  }
  return null;
}

/** `kind ‖ payload` sealed into a new frame; `kept`: where the frame is kept for its echo. */
function seal(cipher: Aead, key: Uint8Array, kind: number, payload: Uint8Array, kept: Kept[]): Uint8Array {
  const frame = new Uint8Array(OVERHEAD + payload.length);
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
  frame.set(payload, start + 1);
  const plain = frame.subarray(start, frame.length - TAG_BYTES);
  if (kept.length === ECHO_KEEP) kept.shift();
  kept.push({ frame, kind, payload: kind === 0 ? payload : payload.slice() });
  // In place: the plaintext sits where its ciphertext goes, the tag after it.
  cipher.seal(key, frame.subarray(1, start), plain, frame.subarray(start));
  return frame;
}

/** The 32 bytes of a key: its 43 base64url characters (checked by js/e2e-key.ts), or the bytes (copied). */
function keyBytes(key: string | Uint8Array): Uint8Array {
  if (typeof key !== "string") return key.slice();
  return Uint8Array.from(atob(`${key.replace(/-/g, "+").replace(/_/g, "/")}=`), (c) => c.charCodeAt(0));
}

/** The sealer of a 32-byte key; `maxBytes`: the channel's maxMessageBytes. */
export function sealer(keyText: string | Uint8Array, maxBytes = Number.POSITIVE_INFINITY): Sealer {
  const key = keyBytes(keyText);
  const cipher = aead;
  const limit = maxBytes + OVERHEAD;
  const kept: Kept[] = [];
  /** `kind ‖ payload` opened: the data, or why it is dropped. */
  const unpack = (plain: Uint8Array): { data: string | Uint8Array } | { failure: OpenFailure } => {
    const kind = plain[0];
    if (kind === 1) return { data: plain.subarray(1) };
    if (kind !== 0) return { failure: "kind" };
    try {
      return { data: decoder.decode(plain.subarray(1)) };
    } catch {
      return { failure: "utf8" };
    }
  };
  return {
    receive(data) {
      if (typeof data === "string") return { dropped: REASONS.text }; // a plain frame on an encrypted channel
      const frame =
        data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
      if (!frame) return { dropped: REASONS.short };
      if (frame.length > limit) return null;
      const own = kept.length ? echoed(kept, frame) : null;
      // Kept bytes are never handed out (a listener may change the bytes it gets): a copy.
      // (TextEncoder's output is UTF-8, so the fatal decoder takes it, as it would the opened frame.)
      const opened = own ? { data: own.kind === 1 ? own.payload.slice() : decoder.decode(own.payload) } : this.open(frame);
      return "failure" in opened ? { dropped: REASONS[opened.failure] } : opened;
    },
    sealText: (text) => seal(cipher, key, 0, encoder.encode(text), kept),
    sealBinary: (bytes) => seal(cipher, key, 1, bytes, kept),
    open(frame) {
      if (frame.length < OVERHEAD) return { failure: "short" };
      if (frame[0] !== VERSION) return { failure: "version" };
      const plain = cipher.open(key, frame.subarray(1, 1 + NONCE_BYTES), frame.subarray(1 + NONCE_BYTES));
      return plain ? unpack(plain) : { failure: "auth" };
    },
  };
}

/** The frames of one channel that failed to open (the chunk keeps it; the channel holds it across its sockets). */
export interface Drops {
  total?: number;
  unreported?: number;
  /** when the last report went (ms) */
  last?: number;
  /** why the last one was dropped */
  why?: string;
  timer?: ReturnType<typeof setTimeout> | null;
}

/** What a keyed channel gives its sockets (js/socket-factory.ts). */
export interface SealOptions {
  /** the key's 43 base64url characters */
  key: string;
  /** the channel's maxMessageBytes: a sealed frame over this + the overhead is not opened */
  maxBytes: number;
  drops: Drops;
  /** emits DECRYPT_FAILED with this message and detail on the channel (nothing once it is disposed) */
  report(message: string, detail: { count: number; total: number }): void;
}

/** A received frame could not be opened: counted; reported at once, then at most once a second. */
function dropped(o: SealOptions, why: string): void {
  const d = o.drops;
  d.total = (d.total || 0) + 1;
  d.unreported = (d.unreported || 0) + 1;
  d.why = why;
  if (d.timer) return;
  const wait = (d.last ?? Number.NEGATIVE_INFINITY) + 1000 - Date.now();
  if (wait <= 0) {
    report(o);
    return;
  }
  d.timer = setTimeout(() => {
    d.timer = null;
    report(o);
  }, wait);
  // Never keeps a Node process alive (the count then goes unreported).
  (d.timer as { unref?: () => void }).unref?.();
}

function report(o: SealOptions): void {
  const d = o.drops;
  const count = d.unreported || 0;
  if (count === 0) return;
  d.unreported = 0;
  d.last = Date.now();
  const total = d.total || 0;
  o.report(
    `${count === 1 ? "a frame" : `${count} frames`} could not be opened with this channel's key and ${count === 1 ? "was" : "were"} dropped (the last: ${d.why}); ${total} in all`,
    { count, total },
  );
}

type Handler = ((e: any) => void) | null;
/** The socket websocket.h holds (js/socket-factory.ts made it: readyState CONNECTING, inert send/close). */
export interface HeldSocket {
  readyState: number;
  bufferedAmount: number;
  protocol: string;
  extensions: string;
  binaryType: string;
  onopen: Handler;
  onmessage: Handler;
  onerror: Handler;
  onclose: Handler;
  send(data: string | Uint8Array | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
}

const CLOSED = 3;

/**
 * Turns the socket websocket.h holds (`s`, made while the chunk may have been loading) into the
 * sealing socket: the real socket (`make()`, which may throw: with `sync`, the throw is the
 * factory's; otherwise it is a socket that failed to connect) is opened, and `s` reads its state
 * from it, seals every frame it sends (text and binary: the core's reliable tags, control
 * messages and presence states are frames like any other) and opens every frame received before
 * its `onmessage` runs, so the receive plan and prefilter of bindings/library.js run on the
 * opened frame and the C++ core never knows. A frame that cannot be opened is dropped and
 * counted (DECRYPT_FAILED).
 */
export function adopt(s: HeldSocket, make: () => any, o: SealOptions, sync: boolean): void {
  if (s.readyState === CLOSED) return; // closed while the chunk was loading
  const sealing = sealer(o.key, o.maxBytes);
  let real: any;
  if (sync) real = make();
  else {
    try {
      real = make();
    } catch {
      s.readyState = CLOSED;
      s.onerror?.({ type: "error" });
      s.onclose?.({ type: "close", code: 1006, reason: "", wasClean: false });
      return;
    }
  }
  real.binaryType = "arraybuffer";
  Object.defineProperties(s, {
    readyState: { get: () => real.readyState },
    bufferedAmount: { get: () => real.bufferedAmount || 0 },
    protocol: { get: () => real.protocol || "" },
    extensions: { get: () => real.extensions || "" },
    url: { get: () => real.url || "" },
    // the HTTP status of a refused upgrade (js/socket-factory.ts sets it on the real socket)
    refusedStatus: { get: () => real.refusedStatus },
  });
  s.send = (data) =>
    real.send(typeof data === "string" ? sealing.sealText(data) : sealing.sealBinary(data instanceof ArrayBuffer ? new Uint8Array(data) : data));
  s.close = (code, reason) => real.close(code, reason);
  real.onopen = (e: unknown) => s.onopen?.(e);
  real.onerror = (e: unknown) => s.onerror?.(e);
  real.onclose = (e: unknown) => s.onclose?.(e);
  real.onmessage = (e: { data: unknown }) => {
    const on = s.onmessage;
    if (!on) return;
    const r = sealing.receive(e.data);
    // null: over the limit: the core's oversize path reports it (by its sealed size), never opened.
    if (r === null) on(e);
    else if ("dropped" in r) dropped(o, r.dropped);
    else on(r);
  };
}
