// The placeholder of a Channel that needs the full core (reliable, presence) while only the
// plain core is loaded (see Pending), and the hand-over once the full core has arrived: the
// full core's channel is given what the placeholder was given meanwhile.
import type { CoreBridge, CoreModule } from "#core-glue";
import type { Emitter } from "./emitter.js";
import { MetaChannelError, type ErrorCode } from "./errors.js";
import type { RouteHook } from "./receive.js";
import type { ChannelEvents, MessageMeta } from "./types.js";
import { ERROR_CODES, ROUTE, type WireOptions } from "./vocabulary.js";

/**
 * A Channel that needs the full core (reliable, presence) while only the plain one is loaded:
 * the constructor returns at once and starts the full core's load; until it arrives the
 * channel runs on a placeholder, an idle channel of the plain core with the same queue options
 * (so send() queues under the very rules and limits of a connecting channel, its overflow
 * errors included), and this record keeps what the full core's channel must be given.
 */
export interface Pending {
  wire: WireOptions;
  /** the URL to connect to once the core is there (null: idle) */
  url: string | null;
  /** close() was called, or the load failed: nothing will be created */
  closed: boolean;
  failed: boolean;
  /** copies of the messages in the placeholder's queue, in order */
  sent: (string | Uint8Array)[];
  /** presence state JSON to announce */
  presence: string | undefined;
  /** _route() calls to replay */
  routes: [field: string, value: string, delta: 1 | -1][];
}

/** The UTF-8 length of a string. */
function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** The core's presence.maxStateBytes check, for a state given before the full core is there. */
export function checkPresenceState(text: string, wire: WireOptions, field: string): void {
  const bytes = utf8Length(text);
  if (bytes > wire.presenceMaxStateBytes) {
    throw new MetaChannelError("INVALID_ARGUMENT", `${field}: the state is ${bytes} bytes of JSON; presence.maxStateBytes is ${wire.presenceMaxStateBytes}`, {
      field,
    });
  }
}

/** A lone surrogate: the core sees it as U+FFFD, so JS cannot mirror its interest. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The code of a non-zero return code of the core. */
export function codeOf(rc: number): ErrorCode {
  return ERROR_CODES[rc] as ErrorCode;
}

/** A message the placeholder queued: kept for the full core's channel, as the queue (`queued` long now) holds it. */
export function keep(p: Pending, sent: string | Uint8Array, queued: number): void {
  p.sent.push(sent);
  // What the queue dropped to make room (its QUEUE_OVERFLOW event told the listeners).
  while (p.sent.length > queued) {
    if (p.wire.queueOverflow === "drop-newest") p.sent.pop();
    else p.sent.shift();
  }
}

/** The Channel taking over from its placeholder: what the replay reads and writes of it. */
export interface AdoptTarget {
  events: Emitter<ChannelEvents>;
  typed: Emitter<Record<string, [msg: any, meta: MessageMeta]>>;
  hooks: Map<number, RouteHook>;
  slots: Map<string, number>;
  direct: boolean;
  disposed(): boolean;
  emitError(err: MetaChannelError): void;
  /** sets the URL on the new channel (its first idle -> connecting is not news) */
  connect(url: string): void;
}

/**
 * Gives the full core's channel `a` what its placeholder was given (`p`, and the listeners and
 * routes of `target`). Runs inside intoCore().
 */
export function replay(core: CoreModule, mc: CoreBridge, a: number, p: Pending, target: AdoptTarget): void {
  // The interest of the listeners added meanwhile, and the routes of the client classes.
  for (let i = target.events.count("message"); i > 0; i--) core._mc_channel_route_message(a, 1);
  for (const type of target.typed.events()) {
    for (let i = target.typed.count(type); i > 0; i--) {
      if (type === "*") core._mc_channel_route_any(a, 1);
      else {
        if (LONE_SURROGATE.test(type)) core._mc_channel_js_mirrors_type(a, 0);
        mc.route(a, 0, type, 1);
      }
    }
  }
  const hooks = new Map(target.hooks);
  target.hooks.clear();
  for (const [field, slot] of target.slots) {
    const now = slot === 0 ? 0 : mc.fieldSlot(a, field);
    target.slots.set(field, now);
    const hook = hooks.get(ROUTE.FIELD << slot);
    if (hook) target.hooks.set(ROUTE.FIELD << now, hook);
  }
  for (const [field, value, delta] of p.routes) {
    const slot = target.slots.get(field)!;
    if (slot === 0) core._mc_channel_js_mirrors_type(a, 0);
    mc.route(a, slot, value, delta);
  }
  if (p.presence !== undefined && mc.setPresence(a, p.presence) !== 0) {
    target.emitError(new MetaChannelError("INVALID_ARGUMENT", mc.lastError(a)));
  }
  if (p.url !== null) {
    // The URL first, as the constructor does (reliable delivery starts its stream there);
    // the queue below waits for the socket to open.
    target.connect(p.url);
  }
  // What was sent meanwhile, in order (reliable: tagged now).
  for (const sent of p.sent) {
    if (target.disposed()) return;
    const rc = typeof sent === "string" ? mc.sendText(a, sent, target.direct) : mc.sendBinary(a, sent);
    if (rc !== 0) target.emitError(new MetaChannelError(codeOf(rc), mc.lastError(a)));
  }
}
