// The bridge between the wasm core and the live Channels: the core calls `mc.events.*` with a
// channel's handle, and the handle's Sink (made by its Channel) turns the call into JS events.
// Also the stack depth of core<->JS calls, so that a channel disposed from a listener frees its
// wasm object only once no C++ frame of it is on the stack.
import type { CoreEvents, CoreModule } from "#core-glue";
import type { ErrorCode } from "./errors.js";
import { ERROR_CODES, WIRE_ORDER, type WireOptions } from "./vocabulary.js";

/**
 * What the core calls for one live Channel: js/core-glue.d.ts's CoreEvents without the handle
 * (derived, so that a new core event is declared once), `error` with the code's name.
 */
export type Sink = {
  [K in Exclude<keyof CoreEvents, "error">]: CoreEvents[K] extends (h: number, ...args: infer A) => void ? (...args: A) => void : never;
} & { error(code: ErrorCode, message: string, detail: unknown): void };

/**
 * Makes the core's channel for `handle` and returns its address: every option in the order the
 * core reads them (WIRE_ORDER). A missing one throws: the core must never read a made-up value.
 */
export function createChannel(core: CoreModule, handle: number, wire: Readonly<WireOptions>): number {
  return core.mc.createChannel(
    handle,
    WIRE_ORDER.map((o) => {
      const v = wire[o.wire];
      if (v === undefined) throw new TypeError(`option ${o.wire} missing`);
      return v;
    }),
  );
}

/** handle -> event sink of a live Channel; the wasm core calls into these. */
export const sinks = new Map<number, Sink>();
let nextHandle = 1;
/** A new handle for a Channel's sink. */
export function newHandle(): number {
  return nextHandle++;
}
/**
 * Depth of core->JS callbacks and JS->core calls on the stack. A channel disposed at depth > 0
 * may still have C++ frames below (the core called out to JS and continues after the listener
 * returns), so its wasm object is deleted only once that C++ code has returned: at the end of
 * the outermost JS->core call, or in a microtask (the stack is empty then; a core->JS callback
 * returning to depth 0 is NOT such a point: it returns into C++).
 */
let depth = 0;
/** Frees of wasm channels that wait until no C++ frame of theirs is on the stack. */
const pendingDeletes: (() => void)[] = [];
let flushQueued = false;

function flushDeletes(): void {
  flushQueued = false;
  for (const free of pendingDeletes.splice(0)) free();
}

export function deleteLater(free: () => void): void {
  pendingDeletes.push(free);
  if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(flushDeletes);
  }
}

/**
 * Runs a JS->core call that can emit events synchronously (setUrl, send, close, reconnect, ...)
 * as one more level of depth: a listener that disposes the channel during the call must not
 * delete the wasm object while the C++ call is still on the stack.
 */
export function intoCore<T>(fn: () => T): T {
  depth++;
  try {
    return fn();
  } finally {
    if (--depth === 0 && pendingDeletes.length) flushDeletes(); // the C++ call has returned
  }
}

/** intoCore() written out, for the hot send path (no closure): enterCore(); try { ... } finally { leaveCore(); } */
export function enterCore(): void {
  depth++;
}
export function leaveCore(): void {
  if (--depth === 0 && pendingDeletes.length) flushDeletes();
}
/** Whether a core->JS callback or a JS->core call is on the stack (a free must wait: deleteLater). */
export function inCore(): boolean {
  return depth > 0;
}

export function installEvents(core: CoreModule): void {
  const mc = core.mc;
  if (mc.events) return;
  const enter = (h: number, fn: (sink: Sink) => void) => {
    const sink = sinks.get(h);
    if (!sink) return;
    depth++;
    try {
      fn(sink);
    } finally {
      depth--; // C++ is still below this callback: pending deletes wait for the microtask
    }
  };
  mc.events = {
    state: (h, from, to) => enter(h, (s) => s.state(from, to)),
    open: (h, protocol) => enter(h, (s) => s.open(protocol)),
    // The hot path, written out (no closure per frame).
    text: (h, text, route, from, seq) => {
      const sink = sinks.get(h);
      if (!sink) return;
      depth++;
      try {
        sink.text(text, route, from, seq);
      } finally {
        depth--;
      }
    },
    binary: (h, bytes, route) => enter(h, (s) => s.binary(bytes, route)),
    close: (h, code, reason, clean, again) => enter(h, (s) => s.close(code, reason, clean, again)),
    error: (h, code, message, detail) => enter(h, (s) => s.error((ERROR_CODES[code] || "SOCKET_ERROR") as ErrorCode, message, detail)),
    reconnecting: (h, attempt, delay) => enter(h, (s) => s.reconnecting(attempt, delay)),
    lost: (h, from, count, message) => enter(h, (s) => s.lost(from, count, message)),
    presence: (h, json) => enter(h, (s) => s.presence(json)),
  };
}
