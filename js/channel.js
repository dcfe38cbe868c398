// Channel: the public face of one wasm mc::Channel. The C++ core owns the state machine,
// the queue, reconnects and routing; this class validates arguments, holds the listener
// functions and turns core events into JS values.
import { MetaChannelError, invalid, describe } from "./errors.js";
import { ERROR_CODES, READY_STATES, STATES } from "./vocabulary.js";
import { requireCore } from "./loader.js";
import { normalizeOptions, jsonText } from "./options.js";
import { defaultWebSocket } from "./platform.js";
import { registerSocketOwner, unregisterSocketOwner } from "./socket-factory.js";
import { request as sendRequest, reply as sendReply } from "./request.js";

export { STATES };
const EVENTS = ["open", "message", "close", "error", "reconnecting", "state", "presence"];

// Route bits (src/metachannel/router.h) and interest kinds (mc::Interest): the one copy of
// these numbers in JS; the client classes import them from here.
export const ROUTE = { MESSAGE: 1, TYPE: 2, ANY: 4, SUBSCRIPTION: 8, ROOM: 16, REPLY: 32, PARSE: 256, OBJECT: 512, SEQ: 2048, LATE: 4096 };
/** The reserved member of a reliable sender's JSON objects: "<id>:<seq>" (docs/reliability.md). */
const TAG = "_mc";
export const INTEREST = { MESSAGE: 0, ANY: 1, TYPE: 2, CHANNEL: 3, ROOM: 4, REPLY: 5 };

/** handle -> event sink of a live Channel; the wasm core calls into these. */
const sinks = new Map();
let nextHandle = 1;
/**
 * Depth of core->JS callbacks and JS->core calls on the stack. A channel disposed at depth > 0
 * may still have C++ frames below (the core called out to JS and continues after the listener
 * returns), so its wasm object is deleted only once that C++ code has returned: at the end of
 * the outermost JS->core call, or in a microtask (the stack is empty then; a core->JS callback
 * returning to depth 0 is NOT such a point: it returns into C++).
 */
let depth = 0;
const pendingDeletes = [];
let flushQueued = false;

function flushDeletes() {
  flushQueued = false;
  for (const w of pendingDeletes.splice(0)) w.delete();
}

function deleteLater(w) {
  pendingDeletes.push(w);
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
function intoCore(fn) {
  depth++;
  try {
    return fn();
  } finally {
    if (--depth === 0 && pendingDeletes.length) flushDeletes(); // the C++ call has returned
  }
}

function installEvents(core) {
  const mc = core.mc;
  if (mc.events) return;
  const enter = (h, fn) => {
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
    text: (h, text, route) => {
      const sink = sinks.get(h);
      if (!sink) return;
      depth++;
      try {
        sink.text(text, route);
      } finally {
        depth--;
      }
    },
    binary: (h, bytes, route) => enter(h, (s) => s.binary(bytes, route)),
    close: (h, code, reason, clean, again) => enter(h, (s) => s.close(code, reason, clean, again)),
    error: (h, code, message, detail) => enter(h, (s) => s.error(ERROR_CODES[code] || "SOCKET_ERROR", message, detail)),
    reconnecting: (h, attempt, delay) => enter(h, (s) => s.reconnecting(attempt, delay)),
    lost: (h, from, count, message) => enter(h, (s) => s.lost(from, count, message)),
    presence: (h, json) => enter(h, (s) => s.presence(json)),
  };
}

function isPlainObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * A real-time channel over one WebSocket URL at a time. See metachannel.d.ts for the full
 * documentation of each member.
 */
export class Channel {
  #w; // the wasm WasmChannel (Embind: its lifetime)
  #handle;
  #mc; // core.mc: bindings/library.js
  #core;
  #a = 0; // the WasmChannel's address, which the core's raw exports take
  #disposed = false;
  #unwatch = null; // removes the browser signal listeners
  #url = null;
  #protocol = "";
  #maxMessageBytes;
  /** event name -> array of listeners (replaced, never mutated: safe to change mid-dispatch) */
  #listeners = new Map();
  /** message type ("*" for any object) -> array of listeners */
  #typed = new Map();
  /** extra routes used by the client classes: route bit -> (data, meta) => void */
  #hooks = new Map();
  #onceWrappers = new WeakMap();
  /** run by dispose() before anything is freed (client classes settle their promises) */
  #disposeHooks = [];
  /** errors the core reported while the constructor ran, delivered once listeners can exist */
  #early = null;
  #id = null;
  /** the other peers on the channel (presence option): id -> state */
  #presence = new Map();

  /**
   * @param {string | null} url ws:// or wss:// URL, or null to start idle
   * @param {import("./metachannel").ChannelOptions} [options]
   */
  constructor(url, options) {
    const core = requireCore("new Channel()");
    installEvents(core);
    const { wire, WebSocket, headers, maxMessageBytes, presenceState } = normalizeOptions(options);
    if (url !== null && url !== undefined && typeof url !== "string") invalid("url", "a ws:// or wss:// URL string, or null", url);
    if (!WebSocket && !defaultWebSocket()) {
      throw new MetaChannelError(
        "NOT_SUPPORTED",
        "no WebSocket implementation is available: on Node 20 run `npm install ws` (or start node with --experimental-websocket), or pass options.WebSocket",
      );
    }
    if (typeof url === "string") {
      const problem = core.validateUrl(url); // "" included: null (not "") means "no URL"
      if (problem) throw new MetaChannelError("INVALID_URL", `invalid channel URL ${core.redactUrl(url)}: ${problem}`);
    }
    this.#core = core;
    this.#mc = core.mc;
    this.#maxMessageBytes = maxMessageBytes;
    this.#handle = nextHandle++;
    registerSocketOwner(this.#handle, { WebSocket, headers });
    sinks.set(this.#handle, this.#makeSink());
    this.#w = new core.WasmChannel(this.#handle, wire);
    this.#a = this.#w.address();
    if (presenceState !== undefined) {
      const rc = this.#mc.setPresence(this.#a, presenceState); // the core checks presence.maxStateBytes
      if (rc !== 0) {
        const err = new MetaChannelError(ERROR_CODES[rc], this.#mc.lastError(this.#a).replace("setPresence(state)", "options.presence.state"));
        this.dispose();
        throw err;
      }
    }
    this.#watchBrowserSignals(wire.presence);
    if (typeof url === "string") {
      // An error the first attempt reports at once (a WebSocket constructor that throws) waits
      // for a microtask, so that listeners added right after `new Channel()` hear it.
      this.#early = [];
      try {
        this.setUrl(url);
      } finally {
        const early = this.#early;
        this.#early = null;
        if (early.length) queueMicrotask(() => early.forEach((err) => this._emitError(err)));
      }
    }
  }

  // ------------------------------------------------------------------ observers

  /** The URL in use (null while idle). */
  get url() {
    return this.#url;
  }
  get state() {
    return this.#disposed ? "closed" : STATES[this.#core._mc_channel_state(this.#a)];
  }
  get readyState() {
    return this.#disposed ? 3 : READY_STATES[this.#core._mc_channel_state(this.#a)];
  }
  get protocol() {
    return this.#disposed ? "" : this.#protocol;
  }
  get bufferedAmount() {
    return this.#disposed ? 0 : this.#core._mc_channel_buffered_amount(this.#a);
  }
  get queuedCount() {
    return this.#disposed ? 0 : this.#core._mc_channel_queued_count(this.#a);
  }
  /** Bytes waiting in the send queue. */
  get queuedBytes() {
    return this.#disposed ? 0 : this.#core._mc_channel_queued_bytes(this.#a);
  }
  /** Consecutive failed attempts since the last stable connection. */
  get attempt() {
    return this.#disposed ? 0 : this.#core._mc_channel_attempt(this.#a);
  }
  get disposed() {
    return this.#disposed;
  }
  /** This instance's random id on the wire (reliable delivery and presence). */
  get id() {
    if (this.#id === null && !this.#disposed) this.#id = this.#mc.id(this.#a);
    return this.#id ?? "";
  }
  /** The other peers on the channel (with options.presence): id -> state. */
  get presence() {
    return this.#presence;
  }

  // ------------------------------------------------------------------ actions

  send(message) {
    this.#live("send()");
    let rc;
    if (typeof message === "string") {
      rc = this.#sendText(message);
    } else if (message instanceof ArrayBuffer) {
      this.#checkSize(message.byteLength);
      rc = intoCore(() => this.#mc.sendBinary(this.#a, new Uint8Array(message)));
    } else if (ArrayBuffer.isView(message)) {
      this.#checkSize(message.byteLength);
      rc = intoCore(() => this.#mc.sendBinary(this.#a, new Uint8Array(message.buffer, message.byteOffset, message.byteLength)));
    } else if (message === undefined) {
      invalid("send(message)", "a JSON value, a string, an ArrayBuffer or a typed array", message);
    } else if (typeof message === "function" || typeof message === "symbol") {
      throw new MetaChannelError("INVALID_JSON", `send(message): ${describe(message)} has no JSON form`);
    } else if (typeof Blob !== "undefined" && message instanceof Blob) {
      invalid("send(message)", "an ArrayBuffer (a Blob must be read first: await blob.arrayBuffer())", message);
    } else {
      let text;
      try {
        text = JSON.stringify(message);
      } catch (err) {
        throw new MetaChannelError("INVALID_JSON", `send(message): the message cannot be serialised to JSON (${err && err.message ? err.message : err})`);
      }
      if (typeof text !== "string") throw new MetaChannelError("INVALID_JSON", `send(message): ${describe(message)} has no JSON form`);
      rc = this.#sendText(text);
    }
    this.#check(rc);
  }

  #sendText(text) {
    this.#checkSize(text.length);
    // intoCore(), written out: the hot send path allocates no closure.
    depth++;
    try {
      return this.#mc.sendText(this.#a, text);
    } finally {
      if (--depth === 0 && pendingDeletes.length) flushDeletes();
    }
  }

  setUrl(url) {
    this.#live("setUrl()");
    if (url !== null && typeof url !== "string") invalid("setUrl(url)", "a ws:// or wss:// URL string, or null", url);
    // The core reads "" as "disconnect"; for callers only null means that.
    if (url === "") throw new MetaChannelError("INVALID_URL", "invalid channel URL: the URL is empty; pass null to disconnect");
    intoCore(() => {
      this.#check(this.#mc.setUrl(this.#a, url || ""));
      this.#url = this.#mc.url(this.#a) || null;
    });
  }

  close(code, reason) {
    this.#live("close()");
    if (code !== undefined && (typeof code !== "number" || !Number.isInteger(code))) invalid("close(code)", "1000 or an integer in 3000-4999", code);
    if (reason !== undefined && typeof reason !== "string") invalid("close(code, reason)", "a string of at most 123 UTF-8 bytes", reason);
    if (code !== undefined && code !== 1000 && !(code >= 3000 && code <= 4999)) {
      throw new MetaChannelError("INVALID_ARGUMENT", `close code must be 1000 or in 3000-4999 (got ${code})`, { field: "code" });
    }
    intoCore(() => this.#check(this.#mc.close(this.#a, code ?? 0, reason ?? "")));
    return this.#closedPromise();
  }

  /** Resolves once the channel is closed (at once if it is) or disposed. */
  #closedPromise() {
    if (this.#disposed || this.state === "closed") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        off();
        resolve();
      };
      const off = this.on("state", ({ to }) => {
        if (to === "closed") done();
      });
      this.#disposeHooks.push(done);
    });
  }

  /** Announces this peer's presence state (any JSON value, at most presence.maxStateBytes as JSON). */
  setPresence(state) {
    this.#live("setPresence()");
    const text = jsonText(state, "setPresence(state)");
    intoCore(() => this.#check(this.#mc.setPresence(this.#a, text)));
  }

  /** Internal: drops an open socket as a network failure would (1006, then reconnect); for demos. @internal */
  _dropConnection() {
    this.#live("_dropConnection()");
    intoCore(() => this.#core._mc_channel_drop_connection(this.#a));
  }

  /** Internal: reliable-delivery counters (resends, requests, duplicates, losses). @internal */
  _reliableStats() {
    return this.#disposed ? null : JSON.parse(this.#mc.reliableStats(this.#a));
  }

  /** Reconnects now: cancels a backoff wait, or resumes after REVOKED / RETRIES_EXHAUSTED. */
  reconnect() {
    this.#live("reconnect()");
    intoCore(() => this.#check(this.#core._mc_channel_reconnect(this.#a)));
  }

  dispose() {
    if (this.#disposed) return;
    for (const fn of this.#disposeHooks.splice(0)) fn();
    this.#disposed = true;
    if (this.#unwatch) this.#unwatch();
    this.#core._mc_channel_dispose(this.#a);
    sinks.delete(this.#handle);
    unregisterSocketOwner(this.#handle);
    this.#listeners.clear();
    this.#typed.clear();
    this.#hooks.clear();
    this.#presence.clear();
    if (depth > 0) deleteLater(this.#w);
    else this.#w.delete();
  }

  opened() {
    if (this.#disposed) return Promise.reject(new MetaChannelError("DISPOSED", "this channel was disposed"));
    const s = this.state;
    if (s === "open") return Promise.resolve();
    if (s === "closed" || s === "closing") return Promise.reject(new MetaChannelError("CLOSED", "the channel is closed; call setUrl() or reconnect() first"));
    return new Promise((resolve, reject) => {
      const offOpen = this.on("open", () => {
        offOpen();
        offState();
        resolve();
      });
      const offState = this.on("state", ({ to }) => {
        if (to === "closed") {
          offOpen();
          offState();
          reject(new MetaChannelError("CLOSED", "the channel closed before it opened"));
        }
      });
    });
  }

  // ------------------------------------------------------------------ listeners

  on(event, listener) {
    this.#live("on()");
    if (!EVENTS.includes(event)) invalid("on(event)", `one of ${EVENTS.join(", ")}`, event);
    if (typeof listener !== "function") invalid(`on("${event}", listener)`, "a function", listener);
    this.#listeners.set(event, [...(this.#listeners.get(event) || []), listener]);
    if (event === "message") this.#mc.route(this.#a, INTEREST.MESSAGE, "", 1);
    // Idempotent: a second call must not remove a later registration of the same function.
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.off(event, listener);
    };
  }

  once(event, listener) {
    if (typeof listener !== "function") invalid(`once("${event}", listener)`, "a function", listener);
    let active = true;
    // The wrapper removes itself (not "the latest once wrapper of `listener`"), so the same
    // function registered twice with once() fires twice and is then gone.
    const wrapper = (...args) => {
      if (!active) return;
      active = false;
      this.off(event, wrapper);
      listener(...args);
    };
    this.on(event, wrapper);
    this.#onceWrappers.set(listener, wrapper);
    return () => {
      if (!active) return;
      active = false;
      this.off(event, wrapper);
    };
  }

  off(event, listener) {
    if (this.#disposed) return;
    const list = this.#listeners.get(event);
    if (!list) return;
    const target = this.#onceWrappers.get(listener) || listener;
    const i = list.lastIndexOf(target) !== -1 ? list.lastIndexOf(target) : list.lastIndexOf(listener);
    if (i === -1) return;
    const next = list.slice(0, i).concat(list.slice(i + 1));
    if (next.length) this.#listeners.set(event, next);
    else this.#listeners.delete(event);
    if (event === "message") this.#mc.route(this.#a, INTEREST.MESSAGE, "", -1);
  }

  onMessage(type, listener) {
    this.#live("onMessage()");
    if (typeof type !== "string" || type === "") invalid("onMessage(type)", 'a non-empty string ("*" for every JSON object)', type);
    if (typeof listener !== "function") invalid("onMessage(type, listener)", "a function", listener);
    this.#typed.set(type, [...(this.#typed.get(type) || []), listener]);
    const kind = type === "*" ? INTEREST.ANY : INTEREST.TYPE;
    this.#mc.route(this.#a, kind, type, 1);
    let active = true;
    return () => {
      if (!active || this.#disposed) return;
      active = false;
      const list = this.#typed.get(type) || [];
      const i = list.lastIndexOf(listener);
      if (i === -1) return;
      const next = list.slice(0, i).concat(list.slice(i + 1));
      if (next.length) this.#typed.set(type, next);
      else this.#typed.delete(type);
      this.#mc.route(this.#a, kind, type, -1);
    };
  }

  /** Sends {type, id, ...payload}; resolves with the first reply ({re: id}). See request.js. */
  request(type, payload, options) {
    return sendRequest(this, type, payload, options);
  }
  /** Sends {type: msg.type + ".reply", re: msg.id, ...payload}. See request.js. */
  reply(msg, payload) {
    sendReply(this, msg, payload);
  }

  /**
   * Internal, for the client classes (ChatClient, LiveDataClient, request/reply): registers
   * interest of `kind` in `key` and a hook called for frames routed with `routeBit`.
   * @internal
   */
  _route(kind, key, delta) {
    this.#live("route");
    this.#mc.route(this.#a, kind, key, delta);
  }
  /** Internal: `fn` runs at the start of dispose(). @internal */
  _onDispose(fn) {
    this.#disposeHooks.push(fn);
  }
  /** @internal */
  _hook(routeBit, fn) {
    this.#hooks.set(routeBit, fn);
  }
  /**
   * Internal, for helpers that drive a channel from outside (bindMetaframe): delivers `err`
   * (a MetaChannelError) to the "error" listeners exactly as an error from the core would be.
   * @internal
   */
  _emitError(err) {
    if (this.#disposed) return;
    this.#emitError(err);
  }

  // ------------------------------------------------------------------ internals

  /** In a browser: offline pauses retries, online retries now, a page shown again checks its socket. */
  #watchBrowserSignals(presence) {
    if (typeof window === "undefined" || typeof window.addEventListener !== "function") return;
    const doc = typeof document !== "undefined" && typeof document.addEventListener === "function" ? document : window;
    const core = this.#core;
    const a = this.#a;
    const on = { online: () => intoCore(() => core._mc_channel_set_online(a, 1)), offline: () => intoCore(() => core._mc_channel_set_online(a, 0)) };
    const visibility = () => {
      if (doc.visibilityState === "visible") intoCore(() => core._mc_channel_resume(a));
    };
    if (presence) {
      // A page that is left (or frozen in the back/forward cache) leaves presence at once.
      on.pagehide = () => intoCore(() => core._mc_channel_set_hidden(a, 1));
      on.pageshow = () => intoCore(() => core._mc_channel_set_hidden(a, 0));
    }
    for (const [name, l] of Object.entries(on)) window.addEventListener(name, l);
    doc.addEventListener("visibilitychange", visibility);
    this.#unwatch = () => {
      for (const [name, l] of Object.entries(on)) window.removeEventListener(name, l);
      doc.removeEventListener("visibilitychange", visibility);
    };
  }

  #live(what) {
    if (this.#disposed) throw new MetaChannelError("DISPOSED", `${what}: this channel was disposed; create a new Channel`);
  }

  #checkSize(lowerBound) {
    // UTF-8 is never shorter than the UTF-16 length, so this rejects hopeless strings
    // before they are copied into wasm memory; the core checks the exact byte count.
    if (lowerBound > this.#maxMessageBytes) {
      throw new MetaChannelError("MESSAGE_TOO_LARGE", `the message is at least ${lowerBound} bytes; maxMessageBytes is ${this.#maxMessageBytes}`);
    }
  }

  #check(rc) {
    if (rc !== 0) throw new MetaChannelError(ERROR_CODES[rc], this.#mc.lastError(this.#a));
  }

  #call(listener, a, b, event) {
    try {
      listener(a, b);
    } catch (err) {
      if (event === "error") {
        // An error listener that throws has nobody left to tell.
        if (typeof console !== "undefined") console.error("[metachannel] an error listener threw:", err);
        return;
      }
      this.#emitError(new MetaChannelError("LISTENER_THREW", `a ${event} listener threw: ${err && err.message ? err.message : String(err)}`, err));
    }
  }

  #emit(event, a, b) {
    const list = this.#listeners.get(event);
    if (!list) return;
    for (let i = 0; i < list.length; i++) {
      if (this.#disposed) return;
      this.#call(list[i], a, b, event);
    }
  }

  #emitError(err) {
    if (!this.#listeners.get("error")) {
      // Unhandled: say so once on the console rather than lose it.
      if (typeof console !== "undefined") console.warn(`[metachannel] unhandled error: ${err.toString()}`);
      return;
    }
    this.#emit("error", err);
  }

  #dispatchTyped(key, data, meta) {
    const list = this.#typed.get(key);
    if (!list) return;
    for (let i = 0; i < list.length; i++) {
      if (this.#disposed) return;
      this.#call(list[i], data, meta, "onMessage");
    }
  }

  #makeSink() {
    return {
      state: (from, to) => this.#emit("state", { from: STATES[from], to: STATES[to] }),
      open: (protocol) => {
        this.#protocol = protocol;
        this.#emit("open", { url: this.#url, protocol });
      },
      text: (raw, route) => {
        let data = raw;
        let parsed = false;
        if (route & ROUTE.PARSE) {
          try {
            data = JSON.parse(raw);
            parsed = true;
          } catch {
            data = raw; // looked like JSON but is not: delivered as text
          }
        }
        const object = parsed && isPlainObject(data);
        // from/seq: the sender id and sequence number of a reliable message, else null.
        const meta = { type: object && typeof data.type === "string" ? data.type : null, binary: false, raw, from: null, seq: null };
        if (route & ROUTE.SEQ && object) {
          const tag = data[TAG]; // "<id>:<seq>", checked by the core
          const colon = tag.lastIndexOf(":");
          meta.from = tag.slice(0, colon);
          meta.seq = Number(tag.slice(colon + 1));
        }
        if (route & ROUTE.MESSAGE) this.#emit("message", data, meta);
        if (!object) return;
        if (route & ROUTE.TYPE && meta.type !== null) this.#dispatchTyped(meta.type, data, meta);
        if (route & ROUTE.ANY) this.#dispatchTyped("*", data, meta);
        if (this.#hooks.size) {
          for (const [bit, hook] of this.#hooks) {
            if (route & bit && !this.#disposed) this.#call(hook, data, meta, "route");
          }
        }
      },
      binary: (bytes, route) => {
        if (route & ROUTE.MESSAGE) {
          this.#emit("message", bytes, { type: null, binary: true, raw: null, from: null, seq: null });
        }
      },
      lost: (from, count, message) => this.#emitError(new MetaChannelError("MESSAGES_LOST", message, { from, count })),
      presence: (json) => {
        const change = JSON.parse(json);
        for (const [id, state] of Object.entries(change.joined)) this.#presence.set(id, state);
        for (const [id, state] of Object.entries(change.updated)) this.#presence.set(id, state);
        for (const id of change.left) this.#presence.delete(id);
        this.#emit("presence", { joined: Object.keys(change.joined), updated: Object.keys(change.updated), left: change.left });
      },
      close: (code, reason, wasClean, willReconnect) => {
        this.#protocol = "";
        this.#emit("close", { code, reason, wasClean, willReconnect });
      },
      error: (code, message, detail) => {
        const err = new MetaChannelError(code, message, detail || undefined);
        if (this.#early) this.#early.push(err);
        else this.#emitError(err);
      },
      reconnecting: (attempt, delayMs) => this.#emit("reconnecting", { attempt, delayMs }),
    };
  }
}
