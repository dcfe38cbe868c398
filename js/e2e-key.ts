// The end-to-end key in a channel URL's fragment: `ws[s]://host/path?query#k=<key>`, where <key>
// is 32 bytes in base64url without padding (43 characters). The fragment is `&`-separated
// `name=value` pairs; `k` is the key, other pairs are ignored (and kept in channel.url). The
// whole fragment is taken off before the URL reaches the core, so neither the socket, the HTTP
// upgrade request nor the relay ever sees it. This file is in the main bundle and small: it only
// checks the key's spelling; the chunk (js/e2e-chunk.ts) decodes it and holds the cipher.
import { MetaChannelError } from "./errors.js";

/** What a channel URL becomes: the URL the core and the socket get, and the key (null: plain). */
export interface KeyedUrl {
  /** the URL without its fragment */
  base: string;
  /** "#..." as given, or "" */
  fragment: string;
  /** the key's 43 base64url characters (one spelling per key: two keys are equal as strings) */
  key: string | null;
}

/**
 * 43 base64url characters whose last one has its 2 spare bits zero: one spelling per 32-byte
 * key (no padding, no other characters).
 */
const KEY = /^[\w-]{42}[AEIMQUYcgkosw048]$/;

/**
 * Splits a channel URL into what the core gets and the key. Throws INVALID_URL (with `shown`,
 * the redacted URL, in the message) when the fragment has a `k` that is not a key, or two.
 */
export function splitKeyedUrl(url: string, shown: (url: string) => string): KeyedUrl {
  const hash = url.indexOf("#");
  const fragment = hash < 0 ? "" : url.slice(hash);
  let key: string | null = null;
  for (const pair of fragment.slice(1).split("&")) {
    const eq = pair.indexOf("=");
    if ((eq < 0 ? pair : pair.slice(0, eq)) !== "k") continue;
    if (key !== null || !KEY.test(pair.slice(eq + 1))) {
      const why =
        key !== null
          ? "the URL fragment has more than one k="
          : "the key in the URL fragment must be 43 base64url characters (32 bytes); make one with withNewKey(url)";
      throw new MetaChannelError("INVALID_URL", `invalid channel URL ${shown(url)}: ${why}`);
    }
    key = pair.slice(eq + 1);
  }
  return { base: hash < 0 ? url : url.slice(0, hash), fragment, key };
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
  try {
    if (/^wss?:\/\//i.test(url) && new URL(url)) {
      const [base, fragment = ""] = url.split(/#(.*)/s);
      // 32 random bytes: 44 base64 characters, the last "=", the 43rd with its 2 spare bits zero.
      const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
        .slice(0, 43)
        .replace(/\+/g, "-")
        .replace(/\//g, "_");
      return `${base}#${[`k=${key}`, ...fragment.split("&").filter((pair) => pair && pair.split("=")[0] !== "k")].join("&")}`;
    }
  } catch {}
  throw new MetaChannelError(
    "INVALID_URL",
    `withNewKey(url): got ${typeof url === "string" ? "a string that is not a ws:// or wss:// URL" : typeof url}; pass the channel's ws:// or wss:// URL`,
  );
}
