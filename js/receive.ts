// The receive path of a Channel: a text or binary frame the core delivered, with its route
// bits (docs/architecture.md, "the path of one frame"), becomes the values and events its
// listeners get: "message", onMessage(type), onMessage("*") and the client classes' route hooks.
import type { Emitter } from "./emitter.js";
import type { ChannelEvents, MessageMeta } from "./types.js";
import { isObject } from "./util.js";
import { ROUTE } from "./vocabulary.js";

/** A route hook of a client class: frames routed with its bit. @internal */
export type RouteHook = (msg: any, meta: MessageMeta) => void;

/**
 * Whether Envelope::scan would call `text` JSON (an object or another JSON value) by its first
 * byte after JSON whitespace: `{ [ " - 0-9 t f n`.
 */
function looksLikeJson(text: string): boolean {
  let i = 0;
  let c = text.charCodeAt(0);
  while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++i);
  return c === 123 || c === 91 || c === 34 || c === 45 || (c >= 48 && c <= 57) || c === 116 || c === 102 || c === 110;
}

/**
 * The route bits of a frame the core did not read (receive plan Route: Channel::update_receive
 * chose it, bindings/library.js delivered the frame with the interest bits `route` | UNSCANNED,
 * src/metachannel/router.h route_unscanned). The one place they are derived: the bits the
 * envelope scanner and Router::route_text would have set, from JS's own parse (`data`,
 * `parsed`) and the onMessage(type) listeners the core mirrors (`typed`). 0: nobody wants it.
 */
export function routeUnscanned(route: number, data: unknown, parsed: boolean, typed: Emitter<Record<string, [msg: any, meta: MessageMeta]>>): number {
  let r = route & ROUTE.MESSAGE;
  if (parsed && isObject(data)) {
    r |= route & ROUTE.ANY;
    const type = (data as Record<string, unknown>).type;
    // onMessage("*") is ANY interest, never interest in the type "*"
    if (route & ROUTE.FIELD && typeof type === "string" && type !== "*" && typed.has(type)) r |= ROUTE.FIELD;
    if (r) r |= ROUTE.OBJECT | ROUTE.PARSE;
  } else if (parsed) {
    r |= ROUTE.PARSE;
  }
  return r;
}

/** What the receive path emits to, and asks, of its Channel. */
export interface Listeners {
  /** on()/once() listeners */
  events: Emitter<ChannelEvents>;
  /** onMessage(type) listeners, by type ("*" for any object) */
  typed: Emitter<Record<string, [msg: any, meta: MessageMeta]>>;
  /** route bit (FIELD << slot) -> hook of a client class */
  hooks: Map<number, RouteHook>;
  /** the channel was disposed (by a listener of this very frame) */
  disposed: () => boolean;
  /** a route hook threw */
  listenerThrew: (err: unknown, event: string) => void;
}

/** The Sink's `text` and `binary` of a Channel (see core-bridge.ts). */
export function receiver({ events, typed, hooks, disposed, listenerThrew }: Listeners): {
  text(raw: string, route: number, from: string, seq: number): void;
  binary(bytes: Uint8Array, route: number): void;
} {
  return {
    text: (raw, route, from, seq) => {
      let data: unknown = raw;
      let parsed = false;
      const unscanned = route & ROUTE.UNSCANNED;
      // Scanned: the core says whether it looks like JSON. Unscanned (the core did not read
      // the frame: the receive plan Route, docs/architecture.md): the first byte says, as to the scanner.
      if (unscanned ? looksLikeJson(raw) : route & ROUTE.PARSE) {
        try {
          data = JSON.parse(raw);
          parsed = true;
        } catch {
          data = raw; // looked like JSON but is not: delivered as text
        }
      }
      if (unscanned) {
        route = routeUnscanned(route, data, parsed, typed);
        if (!route) return; // the core would have dropped it
      }
      const object = parsed && isObject(data);
      const msg = data as Record<string, any>;
      // from/seq: the sender id and sequence number of a reliable message (read by the core
      // from its tag, route bit SEQ), else null.
      const meta: MessageMeta = { type: object && typeof msg.type === "string" ? msg.type : null, binary: false, raw, from: null, seq: null };
      if (route & ROUTE.SEQ && object) {
        meta.from = from;
        meta.seq = seq;
      }
      if (route & ROUTE.MESSAGE) events.emit("message", data, meta);
      if (!object) return;
      if (route & ROUTE.FIELD && meta.type !== null) typed.emit(meta.type, data, meta); // FIELD << 0: "type"
      if (route & ROUTE.ANY) typed.emit("*", data, meta);
      if (hooks.size) {
        for (const [bit, hook] of hooks) {
          if (route & bit && !disposed()) {
            try {
              hook(data, meta);
            } catch (err) {
              listenerThrew(err, "route");
            }
          }
        }
      }
    },
    binary: (bytes, route) => {
      if (route & ROUTE.MESSAGE) {
        events.emit("message", bytes, { type: null, binary: true, raw: null, from: null, seq: null });
      }
    },
  };
}
