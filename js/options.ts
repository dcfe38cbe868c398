// Validation of ChannelOptions, and their flattening into WireOptions: the one value the core's
// constructor takes (bindings/bindings.cpp), every option filled in. Names, defaults and bounds
// come from the option lists of src/metachannel/vocabulary.h (generated into js/vocabulary.ts):
// a numeric option added there is read, checked and passed on with no change here.
import { MetaChannelError, invalid } from "./errors.js";
import { isBrowser, type WebSocketClass } from "./platform.js";
import { describe, isObject as plainObject, messageOf } from "./util.js";
import { BOOL_OPTIONS, NUMBER_OPTIONS, OVERFLOWS, STRING_OPTIONS, WIRE_DEFAULTS, type WireOptions } from "./vocabulary.js";

type NumberOption = (typeof NUMBER_OPTIONS)[number];
type NumberWire = NumberOption["wire"];
const NUMBER = new Map<string, NumberOption>(NUMBER_OPTIONS.map((o) => [o.path, o]));
/** The members a nested option object allows, from the lists (plus what never reaches the core). */
function membersOf(group: string, extra: readonly string[] = []): string[] {
  const names = [...NUMBER_OPTIONS, ...BOOL_OPTIONS, ...STRING_OPTIONS]
    .filter((o) => o.path.startsWith(`${group}.`))
    .map((o) => o.path.slice(group.length + 1));
  return [...new Set([...extra, ...names])];
}
// The top-level options: the first segment of every path in the lists, and what never reaches the core.
const CHANNEL_KEYS = [...new Set([...NUMBER_OPTIONS, ...BOOL_OPTIONS, ...STRING_OPTIONS].map((o) => o.path.split(".")[0] as string)), "headers", "WebSocket"];
const RECONNECT_KEYS = membersOf("reconnect");
const HEARTBEAT_KEYS = membersOf("heartbeat");
const QUEUE_KEYS = membersOf("queue");
const RELIABLE_KEYS = membersOf("reliable");
const PRESENCE_KEYS = membersOf("presence", ["state"]);
// RFC 6455 subprotocols are HTTP tokens.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_NAME = TOKEN;
// RFC 9110 field-value characters, as Node's http checks them (ws and undici alike).
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** What normalizeOptions() returns. */
export interface NormalizedOptions {
  /** Every option the core takes. */
  wire: WireOptions;
  WebSocket: WebSocketClass | undefined;
  headers: Record<string, string> | undefined;
  maxMessageBytes: number;
  /** JSON text of presence.state, if given. */
  presenceState: string | undefined;
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

/** Checks a numeric option against its bounds in the option lists; returns it. */
function number(v: unknown, path: string): number {
  const { min, max, integer, infinite } = NUMBER.get(path)!;
  const ok =
    typeof v === "number" && !Number.isNaN(v) && v >= min && v <= max && (Number.isFinite(v) ? !integer || Number.isInteger(v) : infinite && v === Infinity);
  if (!ok) {
    const kind = integer ? "an integer" : "a number";
    const field = path.includes(".") ? path : `options.${path}`;
    invalid(field, `${kind} >= ${min}${max !== Infinity ? ` and <= ${max}` : ""}${infinite ? " (or Infinity)" : ""}`, v);
  }
  return v as number;
}

/**
 * An option group that is off unless given as `true` or an object of its members (reliable,
 * presence): turns `wire[group]` on and reads the object's numeric members. Returns the object,
 * if one was given.
 */
function onOffGroup(value: unknown, group: "reliable" | "presence", keys: readonly string[], wire: WireOptions): Record<string, unknown> | null {
  if (value === undefined || value === false) return null;
  const type = group === "reliable" ? "ReliableOptions" : "PresenceOptions";
  if (value !== true && !plainObject(value)) invalid(`options.${group}`, `a boolean or an object of ${type}`, value);
  wire[group] = true;
  if (!plainObject(value)) return null;
  checkKeys(value, keys, `${group}.`);
  readNumbers(value, group, wire);
  return value;
}

/**
 * Copies every numeric option of `group` ("" for the top level) that `obj` gives into `wire`,
 * checked against its bounds.
 */
function readNumbers(obj: Record<string, unknown>, group: string, wire: WireOptions, skip: readonly string[] = []): void {
  for (const o of NUMBER_OPTIONS) {
    const dot = o.path.lastIndexOf(".");
    if ((dot === -1 ? "" : o.path.slice(0, dot)) !== group) continue;
    const key = o.path.slice(dot + 1);
    if (!skip.includes(key) && obj[key] !== undefined) wire[o.wire as NumberWire] = number(obj[key], o.path);
  }
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
 * { wire, WebSocket, headers, ... } where `wire` is every option the core takes.
 * @param options - ChannelOptions as given (anything: it is checked)
 * @param extraKeys - option names the caller (a client class) handles itself
 */
export function normalizeOptions(input: unknown, extraKeys: readonly string[] = []): NormalizedOptions {
  const options = input === undefined || input === null ? {} : input;
  if (!plainObject(options)) invalid("options", "an object", options);
  checkKeys(options, CHANNEL_KEYS, "", extraKeys);
  const wire: WireOptions = { ...WIRE_DEFAULTS };

  if (options.protocols !== undefined) {
    const p = options.protocols;
    if (!Array.isArray(p)) invalid("options.protocols", "an array of subprotocol names", p);
    const seen = new Set<unknown>();
    // Every index, holes included (forEach would skip a hole and join() would send "").
    for (let i = 0; i < p.length; i++) {
      const name = p[i];
      if (typeof name !== "string" || !TOKEN.test(name))
        invalidSecret(`options.protocols[${i}]`, "a subprotocol token (letters, digits and !#$%&'*+-.^_`|~; no commas or spaces)", name);
      if (seen.has(name)) invalidSecret(`options.protocols[${i}]`, "unique", name);
      seen.add(name);
    }
    wire.protocols = p.join(",");
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
            'breaks ("…" and other characters above U+00FF are not allowed; percent-encode such text)',
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

  readNumbers(options, "", wire);

  const r = options.reconnect;
  if (r === false) {
    wire.reconnect = false;
  } else if (r !== undefined && r !== true) {
    if (!plainObject(r)) invalid("options.reconnect", "false or an object of ReconnectOptions", r);
    checkKeys(r, RECONNECT_KEYS, "reconnect.");
    readNumbers(r, "reconnect", wire, ["jitter"]);
    const min = wire.minDelayMs;
    const max = wire.maxDelayMs;
    if (max < min) invalid("reconnect.maxDelayMs", `>= reconnect.minDelayMs (${min})`, max);
    if (r.jitter !== undefined) {
      if (r.jitter === "full") wire.fullJitter = true;
      else {
        wire.fullJitter = false;
        wire.jitter = number(r.jitter, "reconnect.jitter");
      }
    }
  }

  const hb = options.heartbeat;
  if (hb !== undefined && hb !== false) {
    if (!plainObject(hb)) invalid("options.heartbeat", "false or { intervalMs?, timeoutMs?, message?, pong? }", hb);
    checkKeys(hb, HEARTBEAT_KEYS, "heartbeat.");
    wire.heartbeat = true;
    // What is not given keeps its default (WIRE_DEFAULTS: heartbeatIntervalMs, heartbeatTimeoutMs).
    readNumbers(hb, "heartbeat", wire);
    if (hb.message !== undefined) wire.heartbeatMessage = messageText(hb.message, "heartbeat.message");
    if (hb.pong !== undefined) {
      if (typeof hb.pong !== "string") invalid("heartbeat.pong", "a string", hb.pong);
      wire.heartbeatPong = hb.pong;
    }
  }

  const q = options.queue;
  if (q !== undefined) {
    if (!plainObject(q)) invalid("options.queue", "an object of QueueOptions", q);
    checkKeys(q, QUEUE_KEYS, "queue.");
    readNumbers(q, "queue", wire);
    if (q.overflow !== undefined) {
      if (!(OVERFLOWS as readonly unknown[]).includes(q.overflow)) invalid("queue.overflow", `one of ${OVERFLOWS.map((o) => `"${o}"`).join(", ")}`, q.overflow);
      wire.queueOverflow = q.overflow;
    }
  }

  onOffGroup(options.reliable, "reliable", RELIABLE_KEYS, wire);
  const pr = onOffGroup(options.presence, "presence", PRESENCE_KEYS, wire);
  const presenceState = pr?.state !== undefined ? jsonText(pr.state, "presence.state") : undefined;

  return { wire, WebSocket: options.WebSocket, headers, maxMessageBytes: wire.maxMessageBytes, presenceState };
}

/**
 * Whether these Channel options ask for reliable delivery or presence (what the full core
 * holds). Loose on purpose: invalid options are reported by the Channel itself. @internal
 */
export function wantsFullCore(options: unknown): boolean {
  if (!plainObject(options)) return false;
  const on = (v: unknown) => v !== undefined && v !== false && v !== null;
  return on(options.reliable) || on(options.presence);
}
