// Small helpers used across js/, each written once.

/** A non-null object that is not an array (class instances and null-prototype objects included). */
export function isObject(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** An object literal: a plain Object or a null-prototype object. */
export function isPlainObject(v: unknown): v is Record<string, any> {
  if (!isObject(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Own (not inherited) property test that works for null-prototype objects. */
export function hasOwn(o: unknown, key: PropertyKey): boolean {
  return o != null && Object.hasOwn(o, key);
}

/** A value as a short phrase for an error message ("a string of 52 characters", "an array", …). */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (typeof value === "function") return "a function";
  if (value === undefined) return "undefined";
  return `a ${(value as { constructor?: { name?: string } })?.constructor?.name || typeof value}`;
}

/**
 * A value that may be a channel URL, for messages that must not show it: only its scheme
 * ("a string starting with \"wss:\""), never the host, path or query.
 */
export function describeSecret(value: unknown): string {
  if (typeof value === "string") {
    const scheme = /^\s*([A-Za-z][A-Za-z0-9+.-]*):/.exec(value);
    return scheme ? `a string starting with "${scheme[1]}:"` : `a string that is not a URL`;
  }
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/**
 * Every ws/wss/http/https URL in `text` passed through `redact` (which keeps scheme and host
 * and replaces path and query, as the core's redactUrl does); http(s) URLs are shown as ws(s).
 */
export function redactUrls(text: string, redact: (url: string) => string): string {
  return text.replace(/\b(?:wss?|https?):\/\/[^\s"'<>]*/gi, (url) => redact(url.replace(/^http/i, "ws")));
}

/** The message of a thrown value (its `.message` if it has one). */
export function messageOf(err: unknown): string {
  return err && (err as { message?: unknown }).message ? String((err as { message: unknown }).message) : String(err);
}
