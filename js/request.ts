// request/reply over a broadcast channel. Channel#request and Channel#reply delegate here.
//
// Wire:
//   request: {"type": <type>, "id": <id>, ...payload}
//   reply:   {"type": <request type> + ".reply", "re": <request id>, ...payload}
// <id> is 128 random bits (crypto.getRandomValues), base64url: 22 characters.
//
// A pending request routes on its id through the channel's RouteHub of the field "re": the
// C++ router marks a frame whose top-level "re" equals the id with that field's route bit
// (ROUTE.FIELD << slot); replies for other clients' ids never reach JS unless
// someone listens to "message" or "*". The interest is dropped as soon as the request
// settles, so a second reply is dropped in C++.
import { MetaChannelError, invalid } from "./errors.js";
import { RouteHub, type Deliver, type RoutedChannel } from "./route-hub.js";
import type { RequestOptions } from "./types.js";
import { hasOwn, isPlainObject } from "./util.js";

export const DEFAULT_REQUEST_TIMEOUT_MS = 10000;
export const REPLY_SUFFIX = ".reply";

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** 128 random bits, base64url without padding (22 characters). */
export function randomId(): string {
  const c = globalThis.crypto;
  if (!c || typeof c.getRandomValues !== "function") {
    throw new MetaChannelError("NOT_SUPPORTED", "request(): crypto.getRandomValues is not available in this runtime");
  }
  const b = c.getRandomValues(new Uint8Array(16));
  let out = "";
  for (let i = 0; i < 15; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out += B64URL[(n >> 18) & 63]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!;
  }
  const last = b[15]!;
  return out + B64URL[last >> 2]! + B64URL[(last & 3) << 4]!;
}

type Settle = (err: MetaChannelError | null, msg?: unknown) => void;

/** Per channel: the settle function of each pending request, by id. */
const pendingOf = new WeakMap<RoutedChannel, Map<string, Settle>>();

/** The channel's reply hub; made with its pending map and clean-up on first use. */
function hubFor(channel: RoutedChannel): { hub: RouteHub; pending: Map<string, Settle> } {
  const hub = RouteHub.of(channel, { field: "re" }, () => {
    const pending = new Map<string, Settle>();
    pendingOf.set(channel, pending);
    const rejectAll = (err: MetaChannelError) => {
      for (const settle of [...pending.values()]) settle(err);
    };
    channel.on("state", ({ to }) => {
      if (to === "closed" && pending.size) rejectAll(new MetaChannelError("CLOSED", "the channel closed before the reply arrived"));
    });
    // dispose() runs no listeners; this internal hook runs first, while the core still exists.
    channel._onDispose(() => {
      if (pending.size) rejectAll(new MetaChannelError("DISPOSED", "the channel was disposed before the reply arrived"));
    });
  });
  return { hub, pending: pendingOf.get(channel)! };
}

function checkPayload(where: string, payload: unknown, reserved: readonly string[]): Record<string, unknown> {
  if (payload === undefined) return {};
  if (!isPlainObject(payload)) invalid(`${where}: payload`, "a plain object or undefined", payload);
  for (const key of reserved) {
    if (hasOwn(payload, key)) {
      throw new MetaChannelError("INVALID_ARGUMENT", `${where}: payload must not contain "${key}" (it is set by metachannel)`, { field: `payload.${key}` });
    }
  }
  return payload;
}

/**
 * Sends {type, id, ...payload} and resolves with the first frame whose "re" equals id.
 * Argument errors and send errors (DISPOSED, CLOSED, MESSAGE_TOO_LARGE, ...) throw
 * synchronously, like send(); REQUEST_TIMEOUT, CLOSED and DISPOSED later reject.
 */
export function request(channel: RoutedChannel, type: string, payload: unknown, options: RequestOptions | undefined): Promise<unknown> {
  if (channel.disposed) throw new MetaChannelError("DISPOSED", "request(): this channel was disposed; create a new Channel");
  if (typeof type !== "string" || type === "") invalid("request(type)", "a non-empty string", type);
  const body = checkPayload("request()", payload, ["type", "id"]);
  let timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS;
  if (options !== undefined) {
    if (!isPlainObject(options)) invalid("request(type, payload, options)", "an object { timeoutMs }", options);
    for (const key of Object.keys(options)) {
      if (key !== "timeoutMs") throw new MetaChannelError("INVALID_ARGUMENT", `unknown request() option ${key}; allowed: timeoutMs`, { field: key });
    }
    if (options.timeoutMs !== undefined) {
      const t: unknown = options.timeoutMs;
      if (typeof t !== "number" || Number.isNaN(t) || t <= 0) invalid("options.timeoutMs", "a number > 0 (or Infinity)", t);
      timeoutMs = t;
    }
  }
  const id = randomId();
  const frame = { type, id, ...body };
  const { hub, pending } = hubFor(channel);
  const deliver: Deliver = (msg) => pending.get(id)?.(null, msg);
  hub.add(id, deliver);
  let timer: ReturnType<typeof setTimeout> | null = null;
  let settle!: Settle;
  const promise = new Promise<unknown>((resolve, reject) => {
    settle = (err, msg) => {
      if (!pending.has(id)) return;
      pending.delete(id);
      if (timer !== null) clearTimeout(timer);
      hub.remove(id, deliver); // drops the interest (unless the channel was disposed)
      if (err) reject(err);
      else resolve(msg);
    };
  });
  pending.set(id, settle);
  try {
    channel.send(frame);
  } catch (err) {
    pending.delete(id);
    hub.remove(id, deliver);
    throw err;
  }
  if (Number.isFinite(timeoutMs)) {
    timer = setTimeout(
      () => settle(new MetaChannelError("REQUEST_TIMEOUT", `request("${type}"): no reply within ${timeoutMs} ms`, { id, timeoutMs })),
      timeoutMs,
    );
  }
  return promise;
}

/** Sends {type: msg.type + ".reply", re: msg.id, ...payload}. */
export function reply(channel: RoutedChannel, msg: unknown, payload: unknown): void {
  if (channel.disposed) throw new MetaChannelError("DISPOSED", "reply(): this channel was disposed; create a new Channel");
  if (!isPlainObject(msg) || typeof msg.type !== "string" || typeof msg.id !== "string" || msg.id === "") {
    invalid("reply(msg)", 'a request message with a string "type" and "id" (as received)', msg);
  }
  const body = checkPayload("reply()", payload, ["type", "re"]);
  channel.send({ type: msg.type + REPLY_SUFFIX, re: msg.id, ...body });
}
