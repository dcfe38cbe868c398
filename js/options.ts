// Validation of ChannelOptions, and their flattening into the shape bindings.cpp reads.
import type { FlatOptions } from "#core-glue";
import { MetaChannelError, invalid } from "./errors.js";
import { isBrowser, type WebSocketClass } from "./platform.js";
import { describe, isObject as plainObject, messageOf } from "./util.js";
import { DEFAULTS, MAX_BUFFER_MESSAGES } from "./vocabulary.js";

const CHANNEL_KEYS = ["protocols", "headers", "WebSocket", "reconnect", "heartbeat", "queue", "maxMessageBytes", "closeTimeoutMs", "reliable", "presence"];
const RECONNECT_KEYS = ["minDelayMs", "maxDelayMs", "factor", "jitter", "maxRetries", "connectTimeoutMs", "stableAfterMs"];
const HEARTBEAT_KEYS = ["intervalMs", "timeoutMs", "message", "pong"];
const QUEUE_KEYS = ["maxMessages", "maxBytes", "overflow"];
const RELIABLE_KEYS = ["bufferMessages", "bufferBytes", "bufferAgeMs"];
const PRESENCE_KEYS = ["state", "renewMs", "timeoutMs", "maxStateBytes"];
const OVERFLOWS = ["drop-oldest", "drop-newest", "error"];
// RFC 6455 subprotocols are HTTP tokens.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_NAME = TOKEN;
// RFC 9110 field-value characters, as Node's http checks them (ws and undici alike).
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** What normalizeOptions() returns. */
export interface NormalizedOptions {
  /** What the wasm core reads. */
  flat: FlatOptions;
  WebSocket: WebSocketClass | undefined;
  headers: Record<string, string> | undefined;
  maxMessageBytes: number;
  /** JSON text of presence.state, if given. */
  presenceState: string | undefined;
}

interface NumberBounds {
  min?: number;
  max?: number;
  integer?: boolean;
  infinite?: boolean;
}

function checkKeys(obj: object, allowed: readonly string[], where: string, extra: readonly string[] = []): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key) && !extra.includes(key)) {
      throw new MetaChannelError("INVALID_ARGUMENT", `unknown option ${where}${key}; allowed: ${allowed.join(", ")}`, { field: `${where}${key}` });
    }
  }
}

/** INVALID_ARGUMENT for a value that may carry a credential (a header value, a subprotocol): never echoed. */
function invalidSecret(field: string, allowed: string, got: unknown): never {
  const what = typeof got === "string" ? `a string of ${got.length} characters, not shown` : describe(got);
  throw new MetaChannelError("INVALID_ARGUMENT", `${field} must be ${allowed} (got ${what})`, { field });
}

function number(v: unknown, field: string, { min = 0, max = Infinity, integer = false, infinite = false }: NumberBounds = {}): number {
  const ok = typeof v === "number" && !Number.isNaN(v) && v >= min && v <= max &&
    (Number.isFinite(v) ? (!integer || Number.isInteger(v)) : infinite && v === Infinity);
  if (!ok) {
    const kind = integer ? "an integer" : "a number";
    invalid(field, `${kind} >= ${min}${max !== Infinity ? ` and <= ${max}` : ""}${infinite ? " (or Infinity)" : ""}`, v);
  }
  return v as number;
}

function messageText(v: unknown, field: string): string {
  if (typeof v === "string") return v;
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch {
    text = undefined;
  }
  if (typeof text !== "string") invalid(field, "a string or a JSON-serialisable value", v);
  return text;
}

/** JSON text of a presence state (any JSON value); INVALID_ARGUMENT if it has none. */
export function jsonText(v: unknown, field: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch (err) {
    invalid(field, `a JSON value (${messageOf(err)})`, v);
  }
  if (typeof text !== "string") invalid(field, "a JSON value", v);
  return text;
}

/**
 * Checks `options` (throwing INVALID_ARGUMENT / HEADERS_UNSUPPORTED) and returns
 * { flat, WebSocket, headers } where `flat` is what the wasm core reads.
 * @param options - ChannelOptions as given (anything: it is checked)
 * @param extraKeys - option names the caller (a client class) handles itself
 */
export function normalizeOptions(input: unknown, extraKeys: readonly string[] = []): NormalizedOptions {
  const options = input === undefined || input === null ? {} : input;
  if (!plainObject(options)) invalid("options", "an object", options);
  checkKeys(options, CHANNEL_KEYS, "", extraKeys);
  const flat: FlatOptions = {};

  if (options.protocols !== undefined) {
    const p = options.protocols;
    if (!Array.isArray(p)) invalid("options.protocols", "an array of subprotocol names", p);
    const seen = new Set<unknown>();
    // Every index, holes included (forEach would skip a hole and join() would send "").
    for (let i = 0; i < p.length; i++) {
      const name = p[i];
      if (typeof name !== "string" || !TOKEN.test(name)) invalidSecret(`options.protocols[${i}]`, "a subprotocol token (letters, digits and !#$%&'*+-.^_`|~; no commas or spaces)", name);
      if (seen.has(name)) invalidSecret(`options.protocols[${i}]`, "unique", name);
      seen.add(name);
    }
    flat.protocols = p.join(",");
  }

  let headers: Record<string, string> | undefined;
  if (options.headers !== undefined) {
    const h = options.headers;
    if (!plainObject(h)) invalid("options.headers", "an object of header names to string values", h);
    for (const [name, value] of Object.entries(h)) {
      if (!HEADER_NAME.test(name)) invalid(`options.headers[${JSON.stringify(name)}]`, "a valid HTTP header name", name);
      if (typeof value !== "string" || !HEADER_VALUE.test(value)) {
        invalidSecret(
          `options.headers.${name}`,
          "a string HTTP allows in a header: tabs, spaces and characters U+0021-U+007E or U+0080-U+00FF, with no line " +
            "breaks (\"…\" and other characters above U+00FF are not allowed; percent-encode such text)",
          value,
        );
      }
    }
    if (isBrowser && Object.keys(h).length > 0) {
      throw new MetaChannelError(
        "HEADERS_UNSUPPORTED",
        "browsers cannot send custom headers on a WebSocket handshake; put a token in the URL's query string " +
          "(wss://host/path?token=...) or in a subprotocol (options.protocols), and drop options.headers",
      );
    }
    if (Object.keys(h).length > 0) headers = { ...h };
  }

  if (options.WebSocket !== undefined && typeof options.WebSocket !== "function") {
    invalid("options.WebSocket", "a WebSocket class (constructor)", options.WebSocket);
  }

  if (options.maxMessageBytes !== undefined) {
    flat.maxMessageBytes = number(options.maxMessageBytes, "options.maxMessageBytes", { min: 1, max: 2 ** 31 - 1, integer: true });
  }

  if (options.closeTimeoutMs !== undefined) {
    flat.closeTimeoutMs = number(options.closeTimeoutMs, "options.closeTimeoutMs", { infinite: true });
  }

  const r = options.reconnect;
  if (r === false) {
    flat.reconnect = false;
  } else if (r !== undefined && r !== true) {
    if (!plainObject(r)) invalid("options.reconnect", "false or an object of ReconnectOptions", r);
    checkKeys(r, RECONNECT_KEYS, "reconnect.");
    if (r.minDelayMs !== undefined) flat.minDelayMs = number(r.minDelayMs, "reconnect.minDelayMs");
    if (r.maxDelayMs !== undefined) flat.maxDelayMs = number(r.maxDelayMs, "reconnect.maxDelayMs");
    const min = (flat.minDelayMs as number | undefined) ?? DEFAULTS.reconnect.minDelayMs;
    const max = (flat.maxDelayMs as number | undefined) ?? DEFAULTS.reconnect.maxDelayMs;
    if (max < min) invalid("reconnect.maxDelayMs", `>= reconnect.minDelayMs (${min})`, max);
    if (r.factor !== undefined) flat.factor = number(r.factor, "reconnect.factor", { min: 1 });
    if (r.jitter !== undefined) {
      if (r.jitter === "full") flat.fullJitter = true;
      else {
        flat.fullJitter = false;
        flat.jitter = number(r.jitter, "reconnect.jitter", { min: 0, max: 1 });
      }
    }
    if (r.maxRetries !== undefined) flat.maxRetries = number(r.maxRetries, "reconnect.maxRetries", { integer: true, infinite: true });
    if (r.connectTimeoutMs !== undefined) flat.connectTimeoutMs = number(r.connectTimeoutMs, "reconnect.connectTimeoutMs", { min: 1, infinite: true });
    if (r.stableAfterMs !== undefined) flat.stableAfterMs = number(r.stableAfterMs, "reconnect.stableAfterMs");
  }

  const hb = options.heartbeat;
  if (hb !== undefined && hb !== false) {
    if (!plainObject(hb)) invalid("options.heartbeat", "false or { intervalMs, timeoutMs, message?, pong? }", hb);
    checkKeys(hb, HEARTBEAT_KEYS, "heartbeat.");
    flat.heartbeat = true;
    flat.heartbeatIntervalMs = number(hb.intervalMs, "heartbeat.intervalMs", { min: 1 });
    flat.heartbeatTimeoutMs = number(hb.timeoutMs, "heartbeat.timeoutMs", { min: 1 });
    if (hb.message !== undefined) flat.heartbeatMessage = messageText(hb.message, "heartbeat.message");
    if (hb.pong !== undefined) {
      if (typeof hb.pong !== "string") invalid("heartbeat.pong", "a string", hb.pong);
      flat.heartbeatPong = hb.pong;
    }
  }

  const q = options.queue;
  if (q !== undefined) {
    if (!plainObject(q)) invalid("options.queue", "an object of QueueOptions", q);
    checkKeys(q, QUEUE_KEYS, "queue.");
    if (q.maxMessages !== undefined) flat.queueMaxMessages = number(q.maxMessages, "queue.maxMessages", { integer: true, infinite: true });
    if (q.maxBytes !== undefined) flat.queueMaxBytes = number(q.maxBytes, "queue.maxBytes", { integer: true, infinite: true });
    if (q.overflow !== undefined) {
      if (!OVERFLOWS.includes(q.overflow)) invalid("queue.overflow", `one of ${OVERFLOWS.map((o) => `"${o}"`).join(", ")}`, q.overflow);
      flat.queueOverflow = q.overflow;
    }
  }

  const rel = options.reliable;
  if (rel !== undefined && rel !== false) {
    if (rel !== true && !plainObject(rel)) invalid("options.reliable", "a boolean or an object of ReliableOptions", rel);
    flat.reliable = true;
    if (plainObject(rel)) {
      checkKeys(rel, RELIABLE_KEYS, "reliable.");
      if (rel.bufferMessages !== undefined) flat.bufferMessages = number(rel.bufferMessages, "reliable.bufferMessages", { min: 1, max: MAX_BUFFER_MESSAGES, integer: true });
      if (rel.bufferBytes !== undefined) flat.bufferBytes = number(rel.bufferBytes, "reliable.bufferBytes", { min: 1, max: 2 ** 31 - 1, integer: true });
      if (rel.bufferAgeMs !== undefined) flat.bufferAgeMs = number(rel.bufferAgeMs, "reliable.bufferAgeMs", { min: 1, infinite: true });
    }
  }

  const pr = options.presence;
  let presenceState: string | undefined;
  if (pr !== undefined && pr !== false) {
    if (pr !== true && !plainObject(pr)) invalid("options.presence", "a boolean or an object of PresenceOptions", pr);
    flat.presence = true;
    if (plainObject(pr)) {
      checkKeys(pr, PRESENCE_KEYS, "presence.");
      if (pr.renewMs !== undefined) flat.presenceRenewMs = number(pr.renewMs, "presence.renewMs", { min: 1 });
      if (pr.timeoutMs !== undefined) flat.presenceTimeoutMs = number(pr.timeoutMs, "presence.timeoutMs", { min: 1 });
      if (pr.maxStateBytes !== undefined) flat.presenceMaxStateBytes = number(pr.maxStateBytes, "presence.maxStateBytes", { min: 4, max: 2 ** 20, integer: true });
      if (pr.state !== undefined) presenceState = jsonText(pr.state, "presence.state");
    }
  }

  return {
    flat,
    WebSocket: options.WebSocket,
    headers,
    maxMessageBytes: (flat.maxMessageBytes as number | undefined) ?? DEFAULTS.maxMessageBytes,
    presenceState,
  };
}
