// The end-to-end key in a channel URL's fragment: `ws[s]://host/path?query#k=<key>`, where <key>
// is 32 bytes in base64url without padding (43 characters). The fragment is `&`-separated
// `name=value` pairs; `k` is the key, other pairs are ignored (and kept in channel.url). The
// whole fragment is taken off before the URL reaches the core, so neither the socket, the HTTP
// upgrade request nor the relay ever sees it. This file is in the main bundle and small: the
// cipher itself is the on-demand chunk (js/e2e-chunk.ts).
import { MetaChannelError } from "./errors.js";

/** Bytes of a key, and its length in base64url without padding. */
export const KEY_BYTES = 32;
export const KEY_CHARS = 43;
/** What a channel URL becomes: the URL the core and the socket get, and the key (null: plain). */
export interface KeyedUrl {
  /** the URL without its fragment */
  base: string;
  /** "#..." as given, or "" */
  fragment: string;
  key: Uint8Array | null;
}

const KEY_PROBLEM = `the key in the URL fragment must be ${KEY_CHARS} base64url characters (${KEY_BYTES} bytes); make one with withNewKey(url)`;

/**
 * The 32 bytes of a 43-character base64url key, or null if it is not one (padding, other
 * characters, or a last character whose 2 spare bits are not zero: one spelling per key).
 */
function decodeKey(text: string): Uint8Array | null {
  if (!/^[\w-]{42}[AEIMQUYcgkosw048]$/.test(text)) return null;
  return Uint8Array.from(atob(`${text.replace(/-/g, "+").replace(/_/g, "/")}=`), (c) => c.charCodeAt(0));
}

/**
 * Splits a channel URL into what the core gets and the key. Throws INVALID_URL (with `shown`,
 * the redacted URL, in the message) when the fragment has a `k` that is not a key, or two.
 */
export function splitKeyedUrl(url: string, shown: (url: string) => string): KeyedUrl {
  const hash = url.indexOf("#");
  if (hash < 0) return { base: url, fragment: "", key: null };
  const fragment = url.slice(hash);
  let key: Uint8Array | null = null;
  let found = false;
  for (const pair of fragment.slice(1).split("&")) {
    const eq = pair.indexOf("=");
    if ((eq < 0 ? pair : pair.slice(0, eq)) !== "k") continue;
    key = eq < 0 || found ? null : decodeKey(pair.slice(eq + 1));
    if (!key) {
      const why = found ? "the URL fragment has more than one k=" : KEY_PROBLEM;
      throw new MetaChannelError("INVALID_URL", `invalid channel URL ${shown(url)}: ${why}`);
    }
    found = true;
  }
  return { base: url.slice(0, hash), fragment, key };
}

/** Two keys are the same key (both null: both plain). */
export function sameKey(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  for (let i = 0; i < KEY_BYTES; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The same channel URL with a fresh random end-to-end key in its fragment (`#k=<43 base64url
 * characters>`: 32 bytes from `crypto.getRandomValues`), replacing a `k` it had and keeping
 * the fragment's other `name=value` pairs. Every peer given the returned URL seals and opens
 * every frame with that key (XChaCha20-Poly1305); the fragment never reaches the relay.
 * Keys are made here, on the client: a relay never generates or holds one.
 *
 * Throws MetaChannelError INVALID_URL when `url` is not a `ws://` or `wss://` URL.
 *
 * @example
 * ```ts
 * const url = withNewKey("wss://relay.example.com/ch/abc123");
 * // "wss://relay.example.com/ch/abc123#k=3q2-7wX…" (43 characters after k=)
 * const channel = await connect(url); // encrypted: channel.encrypted === true
 * ```
 * @public
 */
export function withNewKey(url: string): string {
  let parsed: URL | null = null;
  if (typeof url === "string" && /^wss?:\/\//i.test(url)) {
    try {
      parsed = new URL(url);
    } catch {}
  }
  if (!parsed) {
    const what = typeof url === "string" ? "not a ws:// or wss:// URL" : `got ${typeof url}`;
    throw new MetaChannelError("INVALID_URL", `withNewKey(url): ${what}; pass the channel's ws:// or wss:// URL`);
  }
  const key = new Uint8Array(KEY_BYTES);
  crypto.getRandomValues(key);
  const hash = url.indexOf("#");
  const base = hash < 0 ? url : url.slice(0, hash);
  const others =
    hash < 0
      ? []
      : url
          .slice(hash + 1)
          .split("&")
          .filter((pair) => pair !== "" && pair !== "k" && !pair.startsWith("k="));
  const text = btoa(String.fromCharCode(...key))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .slice(0, KEY_CHARS);
  return `${base}#${[`k=${text}`, ...others].join("&")}`;
}
