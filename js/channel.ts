// Channel: the public face of one wasm mc::Channel. The C++ core owns the state machine,
// the queue, reconnects and routing; this class validates arguments, holds the listener
// functions and turns core events into JS values. Its parts: core-bridge.ts (the core's calls
// into JS, the stack depth), receive.ts (a frame -> listeners), placeholder.ts (a reliable or
// presence channel before the full core is loaded). One file over 500 lines: the class is the
// public API, and what is left here is its methods and their TSDoc (about half of the lines).
import type { CoreBridge, CoreModule } from "#core-glue";
import { createChannel, deleteLater, enterCore, inCore, installEvents, intoCore, leaveCore, newHandle, sinks, type Sink } from "./core-bridge.js";
import { splitKeyedUrl } from "./e2e-key.js";
import { loadEncryption } from "./e2e-load.js";
import { Emitter } from "./emitter.js";
import { MetaChannelError, invalid } from "./errors.js";
import { coreReadyFor, fullCore, loadFullCore, readyFor, requireCore } from "./loader.js";
import { normalizeOptions, jsonText } from "./options.js";
import { defaultWebSocket, loadNodeWebSocket } from "./platform.js";
import { request as sendRequest, reply as sendReply } from "./request.js";
import { checkPresenceState, codeOf, keep, LONE_SURROGATE, replay, type Pending } from "./placeholder.js";
import { receiver, type RouteHook } from "./receive.js";
import {
  claimEarlySocket,
  discardEarly,
  offerEarlySocket,
  openEarlySocket,
  registerSocketOwner,
  unregisterSocketOwner,
  type EarlySocket,
  type SocketOwner,
} from "./socket-factory.js";
import type {
  ChannelEvent,
  ChannelEvents,
  ChannelOptions,
  Incoming,
  MessageMap,
  MessageMeta,
  MessageType,
  Outgoing,
  RequestOptions,
  State,
  UntypedMessages,
} from "./types.js";
import { describe, messageOf } from "./util.js";
import { EVENTS, MAX_ROUTE_FIELDS, READY_STATES, RELIABLE_TAG, ROUTE, STATES } from "./vocabulary.js";

export type { RouteHook } from "./receive.js";

/**
 * A real-time channel over one WebSocket URL at a time. `M` declares its messages (see
 * {@link MessageMap}); without it every message is `any`.
 *
 * Ownership: a Channel holds wasm memory until {@link Channel.dispose}; a client that made its
 * Channel (from a URL) disposes it with itself.
 *
 * @public
 */
export class Channel<M extends MessageMap<M> = UntypedMessages> {
  #handle: number;
  #core: CoreModule;
  #mc: CoreBridge; // core.mc: bindings/library.js
  #a: number; // the WasmChannel's address, which the core's raw exports take
  #disposed = false;
  #unwatch: (() => void) | null = null; // removes the browser signal listeners
  #url: string | null = null;
  #protocol = "";
  #maxMessageBytes: number;
  /** Reliable: every JSON object gets its tag in the core, so a send never takes the direct path. */
  #direct: boolean;
  /** The listeners of on()/once(); "message" listeners are MESSAGE interest in the core. */
  #events = new Emitter<ChannelEvents>({
    report: (err, event) => this.#listenerThrew(err, event),
    stopped: () => this.#disposed,
    changed: (event, delta) => {
      if (event === "message") this.#core._mc_channel_route_message(this.#a, delta);
    },
  });
  /** onMessage(type) listeners, by type ("*" for any object); each type is TYPE (or ANY) interest. */
  #typed = new Emitter<Record<string, [msg: any, meta: MessageMeta]>>({
    report: (err) => this.#listenerThrew(err, "onMessage"),
    stopped: () => this.#disposed,
    changed: (type, delta) => {
      if (type === "*") this.#core._mc_channel_route_any(this.#a, delta);
      else {
        // A type the core would see other than JS does: it routes every frame itself from now on.
        if (delta > 0 && LONE_SURROGATE.test(type)) this.#core._mc_channel_js_mirrors_type(this.#a, 0);
        this.#mc.route(this.#a, 0, type, delta); // slot 0 is "type"
      }
    },
  });
  /** extra routes used by the client classes: route bit (FIELD << slot) -> (data, meta) => void */
  #hooks = new Map<number, RouteHook>();
  /** top-level member name -> its slot in the core's router ("type" is slot 0) */
  #slots = new Map<string, number>([["type", 0]]);
  /** run by dispose() before anything is freed (client classes settle their promises) */
  #disposeHooks: (() => void)[] = [];
  /** errors the core reported while the constructor ran, delivered once listeners can exist */
  #early: MetaChannelError[] | null = null;
  #id: string | null = null;
  /** the other peers on the channel (presence option): id -> state */
  #presence = new Map<string, unknown>();
  /** set by close() while it waits: receives the CLOSED error of the messages it dropped */
  #dropWatch: ((err: MetaChannelError) => void) | null = null;
  /** non-null while the full core this channel needs is loading (see Pending) */
  #pending: Pending | null = null;
  /** set while the full core's channel takes over: its first idle -> connecting is not news */
  #quiet = false;
  /** what the socket factory reads for this channel; `e2e` is set while the URL has a key */
  #owner: SocketOwner;
  /** the end-to-end key of the current URL (null: plain), and its fragment as given ("#k=...") */
  #key: string | null = null;
  #fragment = "";
  /** the encryption chunk's load this channel waits on (a failure is reported once) */
  #keyLoad: Promise<unknown> | null = null;
  /** the count of frames that failed to open, kept by the encryption chunk across this channel's sockets */
  #drops = {};

  /**
   * Throws MetaChannelError NOT_READY before ready() has resolved. With `reliable` or
   * `presence` while only the plain core is loaded (what ready() loads), the Channel is returned
   * at once and connects when the full core, whose load it starts, has arrived: until then it
   * reads "connecting" ("idle" without a URL), queues what is sent (QueueOptions apply), and
   * `id` is "". If that load fails, the channel emits an "error" event LOAD_FAILED naming the
   * URL, drops what was queued (a CLOSED error event) and ends "closed". close() or dispose()
   * before then cancel it: no socket is opened.
   * @param url - ws:// or wss:// URL, or null to start idle
   * @param options - see {@link ChannelOptions}
   */
  constructor(url: string | null, options?: ChannelOptions) {
    const plain = requireCore("new Channel()"); // NOT_READY before ready(), whatever the arguments
    const { wire, WebSocket, headers, maxMessageBytes, presenceState } = normalizeOptions(options);
    if (url !== null && url !== undefined && typeof url !== "string") invalid("url", "a ws:// or wss:// URL string, or null", url);
    if (!WebSocket && !defaultWebSocket()) {
      throw new MetaChannelError(
        "NOT_SUPPORTED",
        "no WebSocket implementation is available: on Node 20 run `npm install ws` (or start node with --experimental-websocket), or pass options.WebSocket",
      );
    }
    // Reliable delivery and presence run on the full core (loaded on demand), the rest on the
    // plain one. A full core not loaded yet: a placeholder until it is (see Pending).
    const full = wire.reliable || wire.presence ? fullCore() : plain;
    const core = full ?? plain;
    installEvents(core);
    if (typeof url === "string") {
      // "" included: null (not "") means "no URL". The fragment (the end-to-end key) never reaches the core.
      const problem = core.validateUrl(splitKeyedUrl(url, (u) => core.redactUrl(u)).base);
      if (problem) throw new MetaChannelError("INVALID_URL", `invalid channel URL ${core.redactUrl(url)}: ${problem}`);
    }
    this.#core = core;
    this.#mc = core.mc;
    this.#maxMessageBytes = maxMessageBytes;
    this.#direct = !wire.reliable;
    this.#handle = newHandle();
    this.#owner = { WebSocket, headers, e2e: null, early: claimEarlySocket() };
    registerSocketOwner(this.#handle, this.#owner);
    sinks.set(this.#handle, this.#makeSink());
    if (!full) {
      if (presenceState !== undefined) checkPresenceState(presenceState, wire, "options.presence.state");
      const target = typeof url === "string" ? url : null;
      this.#pending = { wire, url: target, closed: false, failed: false, sent: [], presence: presenceState, routes: [] };
      this.#url = target;
      if (target !== null) this.#keyed(target); // starts loading the encryption chunk too
      this.#a = createChannel(core, this.#handle, { ...wire, reliable: false, presence: false });
      this.#watchBrowserSignals(wire.presence);
      loadFullCore().then(
        () => this.#adopt(),
        (err) => this.#loadFailed(err),
      );
      return;
    }
    this.#a = createChannel(core, this.#handle, wire);
    if (presenceState !== undefined) {
      const rc = this.#mc.setPresence(this.#a, presenceState); // the core checks presence.maxStateBytes
      if (rc !== 0) {
        const err = new MetaChannelError(codeOf(rc), this.#mc.lastError(this.#a).replace("setPresence(state)", "options.presence.state"));
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
        if (early.length) {
          queueMicrotask(() => {
            for (const err of early) this._emitError(err);
          });
        }
      }
    }
  }

  // ------------------------------------------------------------------ observers

  /** The URL in use (null while idle). */
  get url(): string | null {
    return this.#url;
  }
  get state(): State {
    if (this.#disposed) return "closed";
    const p = this.#pending;
    if (p) return p.closed ? "closed" : p.url ? "connecting" : "idle";
    return STATES[this.#core._mc_channel_state(this.#a)]!;
  }
  /** As WebSocket: 0 connecting (also while waiting to reconnect), 1 open, 2 closing, 3 closed/idle. */
  get readyState(): 0 | 1 | 2 | 3 {
    if (this.#disposed) return 3;
    const p = this.#pending;
    if (p) return p.url && !p.closed ? 0 : 3;
    return READY_STATES[this.#core._mc_channel_state(this.#a)]!;
  }
  /** Negotiated subprotocol, "" if none (or not open). */
  get protocol(): string {
    return this.#disposed ? "" : this.#protocol;
  }
  /** Bytes handed to the socket and not yet sent. */
  get bufferedAmount(): number {
    return this.#disposed ? 0 : this.#core._mc_channel_buffered_amount(this.#a);
  }
  /** Messages waiting for a connection. */
  get queuedCount(): number {
    return this.#disposed ? 0 : this.#core._mc_channel_queued_count(this.#a);
  }
  /** Bytes waiting for a connection. */
  get queuedBytes(): number {
    return this.#disposed ? 0 : this.#core._mc_channel_queued_bytes(this.#a);
  }
  /** Consecutive failed connection attempts since the last stable connection. */
  get attempt(): number {
    return this.#disposed ? 0 : this.#core._mc_channel_attempt(this.#a);
  }
  get disposed(): boolean {
    return this.#disposed;
  }
  /**
   * This instance's random id on the wire (12 of [0-9a-z]); the `from` of its reliable messages.
   * "" while the full core a reliable or presence channel needs is still loading.
   */
  get id(): string {
    if (this.#pending) return "";
    if (this.#id === null && !this.#disposed) this.#id = this.#mc.id(this.#a);
    return this.#id ?? "";
  }
  /** The other peers on the channel (options.presence): id -> state. Empty without presence. */
  get presence(): ReadonlyMap<string, unknown> {
    return this.#presence;
  }

  // ------------------------------------------------------------------ actions

  /**
   * object/array/number/boolean/null -> JSON text frame; string -> text frame as is;
   * ArrayBuffer/TypedArray/DataView -> binary frame. Not open: queued (see QueueOptions),
   * flushed in order on open. Throws INVALID_ARGUMENT, INVALID_JSON, MESSAGE_TOO_LARGE,
   * QUEUE_OVERFLOW (overflow "error"), CLOSED, DISPOSED.
   */
  send(message: Outgoing<M>): void {
    this.#live("send()");
    const m: unknown = message;
    let rc: number;
    let sent: string | Uint8Array;
    if (typeof m === "string") {
      rc = this.#sendText(m);
      sent = m;
    } else if (m instanceof ArrayBuffer) {
      this.#checkSize(m.byteLength);
      const bytes = new Uint8Array(m);
      sent = bytes;
      rc = intoCore(() => this.#mc.sendBinary(this.#a, bytes));
    } else if (ArrayBuffer.isView(m)) {
      this.#checkSize(m.byteLength);
      const bytes = new Uint8Array(m.buffer, m.byteOffset, m.byteLength);
      sent = bytes;
      rc = intoCore(() => this.#mc.sendBinary(this.#a, bytes));
    } else if (m === undefined) {
      invalid("send(message)", "a JSON value, a string, an ArrayBuffer or a typed array", m);
    } else if (typeof m === "function" || typeof m === "symbol") {
      throw new MetaChannelError("INVALID_JSON", `send(message): ${describe(m)} has no JSON form`);
    } else if (typeof Blob !== "undefined" && m instanceof Blob) {
      invalid("send(message)", "an ArrayBuffer (a Blob must be read first: await blob.arrayBuffer())", m);
    } else {
      let text: string | undefined;
      try {
        text = JSON.stringify(m);
      } catch (err) {
        throw new MetaChannelError("INVALID_JSON", `send(message): the message cannot be serialised to JSON (${messageOf(err)})`);
      }
      if (typeof text !== "string") throw new MetaChannelError("INVALID_JSON", `send(message): ${describe(m)} has no JSON form`);
      rc = this.#sendText(text);
      sent = text;
    }
    this.#check(rc);
    if (this.#pending !== null) keep(this.#pending, typeof sent === "string" ? sent : sent.slice(), this.#core._mc_channel_queued_count(this.#a));
  }

  #sendText(text: string): number {
    this.#checkSize(text.length);
    // intoCore(), written out: the hot send path allocates no closure.
    enterCore();
    try {
      return this.#mc.sendText(this.#a, text, this.#direct);
    } finally {
      leaveCore();
    }
  }

  /** Same url: no-op. Another: close the old socket (1000), connect the new one, keep the queue. null: idle. */
  setUrl(url: string | null): void {
    this.#live("setUrl()");
    if (url !== null && typeof url !== "string") invalid("setUrl(url)", "a ws:// or wss:// URL string, or null", url);
    // The core reads "" as "disconnect"; for callers only null means that.
    if (url === "") throw new MetaChannelError("INVALID_URL", "invalid channel URL: the URL is empty; pass null to disconnect");
    const p = this.#pending;
    if (p) {
      if (p.closed) throw new MetaChannelError("CLOSED", this.#pendingClosed());
      this.#keyed(url);
      const from = this.state;
      p.url = url;
      this.#url = url;
      const to = this.state;
      if (from !== to) this.#events.emit("state", { from, to });
      return;
    }
    const before = [this.#key, this.#fragment, this.#owner.e2e] as const;
    const { base, renew } = this.#keyed(url);
    intoCore(() => {
      const rc = this.#mc.setUrl(this.#a, base, renew);
      // Refused (CLOSED, DISPOSED): the key stays the one of the URL in use.
      if (rc !== 0) [this.#key, this.#fragment, this.#owner.e2e] = before;
      this.#check(rc);
      const now = this.#mc.url(this.#a);
      this.#url = now ? now + this.#fragment : null;
    });
  }

  /**
   * True while the current URL carries an end-to-end key (`#k=…` in its fragment, see
   * {@link withNewKey}): every frame this channel sends is sealed with it, every frame it
   * receives is opened with it, and one that cannot be opened is dropped (an "error" event
   * DECRYPT_FAILED, `detail: { count, total }`).
   */
  get encrypted(): boolean {
    return this.#key !== null && !this.#disposed;
  }

  /**
   * A URL given to this channel (null: none): the URL the core gets (no fragment, "" for null)
   * and whether it must renew its socket for the same URL (the key changed). Sets the key the
   * socket factory seals with and starts loading the encryption chunk. Throws INVALID_URL (a
   * bad key, or a URL the core refuses) before anything changes.
   */
  #keyed(url: string | null): { base: string; renew: boolean } {
    const core = this.#core;
    const split = url === null ? { base: "", fragment: "", key: null } : splitKeyedUrl(url, (u) => core.redactUrl(u));
    if (url !== null) {
      const problem = core.validateUrl(split.base);
      if (problem) throw new MetaChannelError("INVALID_URL", `invalid channel URL ${core.redactUrl(url)}: ${problem}`);
    }
    const renew = split.key !== this.#key;
    this.#key = split.key;
    this.#fragment = split.fragment;
    this.#owner.e2e =
      split.key === null
        ? null
        : {
            key: split.key,
            maxBytes: this.#maxMessageBytes,
            drops: this.#drops,
            report: (message, detail) => {
              if (!this.#disposed) this.#emitError(new MetaChannelError("DECRYPT_FAILED", message, detail));
            },
          };
    if (split.key) {
      const load = loadEncryption();
      if (this.#keyLoad !== load) {
        this.#keyLoad = load;
        load.catch((err) => {
          if (this.#keyLoad === load) this.#encryptionFailed(err);
        });
      }
    }
    return { base: split.base, renew };
  }

  /** The encryption chunk could not be loaded: LOAD_FAILED, and the channel ends "closed" (as a failed full core). */
  #encryptionFailed(err: unknown): void {
    if (this.#disposed || this.#key === null) return;
    this.#emitError(err as MetaChannelError); // js/e2e-load.ts rejects with LOAD_FAILED
    const p = this.#pending;
    if (!this.#disposed)
      intoCore(() => {
        if (p) p.closed = p.failed = true;
        else this.#mc.setUrl(this.#a, "");
        this.#mc.close(this.#a, 0, "");
      });
  }

  /**
   * Final: never reconnects. code: 1000 or 3000-4999; reason: at most 123 UTF-8 bytes.
   * Messages still queued are sent first: the channel waits up to `closeTimeoutMs` (default
   * 5000) for a connection (retrying at once, not after a backoff), sends them in order, then
   * closes; what could not be sent by then is dropped with a CLOSED error event (detail: the
   * count). Resolves once the socket has closed (at once when there is none, or after
   * dispose()). Rejects, once closed, with that same MetaChannelError CLOSED (`detail`: how
   * many messages were dropped) when it had to drop queued messages, so that a worker's
   * `await channel.close()` fails instead of reporting success for work it never delivered.
   * Afterwards nothing of this channel keeps a Node process alive.
   */
  close(code?: number, reason?: string): Promise<void> {
    this.#live("close()");
    if (code !== undefined && (typeof code !== "number" || !Number.isInteger(code))) invalid("close(code)", "1000 or an integer in 3000-4999", code);
    if (reason !== undefined && typeof reason !== "string") invalid("close(code, reason)", "a string of at most 123 UTF-8 bytes", reason);
    if (code !== undefined && code !== 1000 && !(code >= 3000 && code <= 4999)) {
      throw new MetaChannelError("INVALID_ARGUMENT", `close code must be 1000 or in 3000-4999 (got ${code})`, { field: "code" });
    }
    let dropped: MetaChannelError | null = null;
    // Before the full core arrived: nothing will be created; the placeholder drops the queue.
    if (this.#pending) this.#pending.closed = true;
    this.#dropWatch = (err) => {
      dropped = err;
    };
    try {
      intoCore(() => this.#check(this.#mc.close(this.#a, code ?? 0, reason ?? "")));
    } catch (err) {
      this.#dropWatch = null;
      throw err;
    }
    return this.#closedPromise().then(() => {
      this.#dropWatch = null;
      if (dropped) throw dropped;
    });
  }

  /** Resolves once the channel is closed (at once if it is) or disposed. */
  #closedPromise(): Promise<void> {
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

  /**
   * Announces this peer's presence state (any JSON value, at most presence.maxStateBytes as
   * JSON) to the others. Throws INVALID_ARGUMENT (not JSON, too large, presence off), DISPOSED.
   */
  setPresence(state: unknown): void {
    this.#live("setPresence()");
    const text = jsonText(state, "setPresence(state)");
    const p = this.#pending;
    if (p) {
      if (!p.wire.presence) throw new MetaChannelError("INVALID_ARGUMENT", "setPresence(state): presence is off on this channel; pass options.presence");
      checkPresenceState(text, p.wire, "setPresence(state)");
      p.presence = text;
      return;
    }
    intoCore(() => this.#check(this.#mc.setPresence(this.#a, text)));
  }

  /**
   * Drops an open socket as a network failure would (1006, then reconnect); for demos.
   * @internal
   */
  _dropConnection(): void {
    this.#live("_dropConnection()");
    if (this.#pending) return;
    intoCore(() => this.#core._mc_channel_drop_connection(this.#a));
  }

  /**
   * Reliable-delivery counters (resends, requests, duplicates, losses).
   * @internal
   */
  _reliableStats(): Record<string, number> | null {
    return this.#disposed || this.#pending ? null : JSON.parse(this.#mc.reliableStats(this.#a));
  }

  /** Reconnect now: cancels a backoff wait, resets the attempt counter; resumes after REVOKED or RETRIES_EXHAUSTED. */
  reconnect(): void {
    this.#live("reconnect()");
    if (this.#pending) {
      if (this.#pending.closed) throw new MetaChannelError("CLOSED", this.#pendingClosed());
      return; // it connects as soon as the full core is there
    }
    intoCore(() => this.#check(this.#core._mc_channel_reconnect(this.#a)));
  }

  /** Closes and frees all wasm memory; idempotent; afterwards every call throws DISPOSED. */
  dispose(): void {
    if (this.#disposed) return;
    for (const fn of this.#disposeHooks.splice(0)) fn();
    this.#disposed = true;
    if (this.#unwatch) this.#unwatch();
    this.#core._mc_channel_dispose(this.#a);
    sinks.delete(this.#handle);
    unregisterSocketOwner(this.#handle);
    this.#events.clear();
    this.#typed.clear();
    this.#hooks.clear();
    this.#presence.clear();
    const a = this.#a;
    if (inCore()) deleteLater(() => this.#core._mc_channel_delete(a));
    else this.#core._mc_channel_delete(a);
  }

  /** Resolves at the next (or current) open; rejects with CLOSED if the channel closes for good first. */
  opened(): Promise<void> {
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

  /** Adds a listener; returns the function that removes it (idempotent). */
  on<E extends ChannelEvent>(event: E, listener: (...args: ChannelEvents[E]) => void): () => void {
    this.#checkListener("on", event, listener);
    // Idempotent: a second call must not remove a later registration of the same function.
    const remove = this.#events.on(event, listener);
    return () => {
      if (!this.#disposed) remove();
    };
  }

  /** As on(), for the next event only. */
  once<E extends ChannelEvent>(event: E, listener: (...args: ChannelEvents[E]) => void): () => void {
    if (typeof listener !== "function") invalid(`once("${event}", listener)`, "a function", listener);
    this.#checkListener("on", event, listener);
    const remove = this.#events.once(event, listener);
    return () => {
      if (!this.#disposed) remove();
    };
  }

  /** Removes a listener. Like the unsubscribe functions, a no-op after dispose() (safe in clean-up code). */
  off<E extends ChannelEvent>(event: E, listener: (...args: ChannelEvents[E]) => void): void {
    if (this.#disposed) return;
    this.#events.off(event, listener);
  }

  /**
   * JSON objects whose "type" equals `type`; "*" = every JSON object. Returns unsubscribe.
   * On a Channel<M> only declared types (and "*") are accepted and `msg` is typed.
   */
  onMessage<K extends MessageType<M>>(type: K, listener: (msg: Incoming<M, K>, meta: MessageMeta) => void): () => void {
    this.#live("onMessage()");
    if (typeof type !== "string" || type === "") invalid("onMessage(type)", 'a non-empty string ("*" for every JSON object)', type);
    if (typeof listener !== "function") invalid("onMessage(type, listener)", "a function", listener);
    const remove = this.#typed.on(type, listener);
    return () => {
      if (!this.#disposed) remove();
    };
  }

  /**
   * Request/reply over the broadcast channel. Sends the JSON frame `{type, id, ...payload}`
   * where `id` is 128 random bits (crypto.getRandomValues) in base64url (22 characters), and
   * resolves with the first frame whose top-level `"re"` equals `id` (the reply, as parsed).
   * The reply is routed in C++ (interest in the field "re" with the id while the request is pending); any
   * later reply for the same id is dropped there, without an error. Other clients never see
   * replies meant for this one unless they listen to every frame (`on("message")`, `onMessage("*")`).
   *
   * Throws synchronously: INVALID_ARGUMENT (`type` not a non-empty string; `payload` not a plain
   * object or undefined, or containing `type`/`id`; unknown option or `timeoutMs` \<= 0),
   * and whatever `send()` throws (DISPOSED, CLOSED, MESSAGE_TOO_LARGE, QUEUE_OVERFLOW).
   * Rejects: REQUEST_TIMEOUT after `timeoutMs` (default 10000; Infinity = never; detail
   * `{ id, timeoutMs }`), CLOSED when the channel closes for good (state "closed"), DISPOSED
   * when it is disposed. A transient drop does not reject: the frame is queued or was sent,
   * and the timeout covers a lost reply.
   *
   * @example
   * ```ts
   * responder.onMessage("price.get", (msg) => responder.reply(msg, { price: 42 }));
   * const answer = await requester.request("price.get", { symbol: "AAPL" }, { timeoutMs: 2000 });
   * // answer: { type: "price.get.reply", re: "<id>", price: 42 }
   * ```
   */
  request<T = any>(type: string, payload?: Record<string, unknown>, options?: RequestOptions): Promise<T> {
    return sendRequest(this, type, payload, options) as Promise<T>;
  }

  /**
   * Answers a request received from `request()`: sends `{type: msg.type + ".reply", re: msg.id,
   * ...payload}`. Throws INVALID_ARGUMENT when `msg` has no string `type` and `id`, or when
   * `payload` is not a plain object or undefined, or contains `type`/`re`; and whatever
   * `send()` throws.
   */
  reply(msg: { type: string; id: string }, payload?: Record<string, unknown>): void {
    sendReply(this, msg, payload);
  }

  /**
   * For the client classes (ChatClient, LiveDataClient, request/reply): adds (delta 1) or
   * removes (delta -1) interest in frames whose top-level `field` is the string `value`. The
   * core routes on any member name, up to MAX_ROUTE_FIELDS per channel ("type" included).
   * @internal
   */
  _route(field: string, value: string, delta: 1 | -1): void {
    this.#live("route");
    const slot = this.#slot(field);
    if (this.#pending) this.#pending.routes.push([field, value, delta]);
    // Interest in "type" that onMessage() does not hold: JS cannot route frames by its own parse.
    if (slot === 0) this.#core._mc_channel_js_mirrors_type(this.#a, 0);
    this.#mc.route(this.#a, slot, value, delta);
  }
  /**
   * `fn` is called for JSON objects routed on `field` (one hook per field).
   * @internal
   */
  _hook(field: string, fn: RouteHook): void {
    this.#live("route");
    this.#hooks.set(ROUTE.FIELD << this.#slot(field), fn);
  }
  /**
   * `fn` runs at the start of dispose().
   * @internal
   */
  _onDispose(fn: () => void): void {
    this.#disposeHooks.push(fn);
  }
  /** The router slot of a top-level member name, registered on first use. */
  #slot(field: string): number {
    let slot = this.#slots.get(field);
    if (slot === undefined) {
      slot = this.#mc.fieldSlot(this.#a, field);
      if (slot < 0) {
        throw new MetaChannelError(
          "INVALID_ARGUMENT",
          `cannot route on the member ${JSON.stringify(field)}: a channel routes on at most ${MAX_ROUTE_FIELDS} member names ("type" included), each a non-empty name other than "${RELIABLE_TAG}"`,
          { field: "field" },
        );
      }
      this.#slots.set(field, slot);
    }
    return slot;
  }
  /**
   * For helpers that drive a channel from outside (bindMetaframe): delivers `err` to the
   * "error" listeners exactly as an error from the core would be.
   * @internal
   */
  _emitError(err: MetaChannelError): void {
    if (this.#disposed) return;
    this.#emitError(err);
  }

  // ------------------------------------------------------------------ internals

  /** Why a channel closed before its full core arrived cannot connect. */
  #pendingClosed(): string {
    return this.#pending?.failed
      ? "the full core (reliable delivery, presence) failed to load (LOAD_FAILED); create a new Channel to try again"
      : "close() was called on this channel; create a new Channel to connect again";
  }

  /** The full core arrived: its channel takes the placeholder's place, with all it was given. */
  #adopt(): void {
    const p = this.#pending;
    if (!p || this.#disposed || p.closed) return;
    const core = fullCore()!;
    installEvents(core);
    const sink = sinks.get(this.#handle)!;
    // The placeholder goes without a word (no socket, no timers): its queue is handed over below.
    sinks.delete(this.#handle);
    this.#core._mc_channel_dispose(this.#a);
    this.#core._mc_channel_delete(this.#a);
    sinks.set(this.#handle, sink);
    this.#core = core;
    this.#mc = core.mc;
    const a = createChannel(core, this.#handle, p.wire);
    this.#a = a;
    this.#pending = null;
    intoCore(() =>
      replay(core, this.#mc, a, p, {
        events: this.#events,
        typed: this.#typed,
        hooks: this.#hooks,
        slots: this.#slots,
        direct: this.#direct,
        disposed: () => this.#disposed,
        emitError: (err) => this.#emitError(err),
        connect: (url) => {
          this.#quiet = true;
          try {
            const rc = this.#mc.setUrl(a, this.#keyed(url).base);
            if (rc !== 0) this.#emitError(new MetaChannelError(codeOf(rc), this.#mc.lastError(a)));
            else this.#url = (this.#mc.url(a) || "") + this.#fragment || null;
          } finally {
            this.#quiet = false;
          }
        },
      }),
    );
  }

  /** The full core could not be loaded: LOAD_FAILED, what was queued is dropped, the channel ends closed. */
  #loadFailed(err: unknown): void {
    const p = this.#pending;
    if (!p || this.#disposed || p.closed) return;
    p.closed = p.failed = true;
    this.#emitError(err instanceof MetaChannelError ? err : new MetaChannelError("LOAD_FAILED", `could not load the full core: ${messageOf(err)}`));
    if (this.#disposed) return;
    intoCore(() => this.#mc.close(this.#a, 0, ""));
  }

  #checkListener(method: string, event: string, listener: unknown): void {
    this.#live(`${method}()`);
    if (!(EVENTS as readonly string[]).includes(event)) invalid(`${method}(event)`, `one of ${EVENTS.join(", ")}`, event);
    if (typeof listener !== "function") invalid(`${method}("${event}", listener)`, "a function", listener);
  }

  /** In a browser: offline pauses retries, online retries now, a page shown again checks its socket. */
  #watchBrowserSignals(presence: boolean): void {
    if (typeof window === "undefined" || typeof window.addEventListener !== "function") return;
    const doc: Document | Window = typeof document !== "undefined" && typeof document.addEventListener === "function" ? document : window;
    const on: Record<string, () => void> = {
      online: () => intoCore(() => this.#core._mc_channel_set_online(this.#a, 1)),
      offline: () => intoCore(() => this.#core._mc_channel_set_online(this.#a, 0)),
    };
    const visibility = () => {
      if ((doc as Document).visibilityState === "visible") intoCore(() => this.#core._mc_channel_resume(this.#a));
    };
    if (presence) {
      // A page that is left (or frozen in the back/forward cache) leaves presence at once.
      on.pagehide = () => intoCore(() => this.#core._mc_channel_set_hidden(this.#a, 1));
      on.pageshow = () => intoCore(() => this.#core._mc_channel_set_hidden(this.#a, 0));
    }
    for (const [name, l] of Object.entries(on)) window.addEventListener(name, l);
    doc.addEventListener("visibilitychange", visibility);
    this.#unwatch = () => {
      for (const [name, l] of Object.entries(on)) window.removeEventListener(name, l);
      doc.removeEventListener("visibilitychange", visibility);
    };
  }

  #live(what: string): void {
    if (this.#disposed) throw new MetaChannelError("DISPOSED", `${what}: this channel was disposed; create a new Channel`);
  }

  #checkSize(lowerBound: number): void {
    // UTF-8 is never shorter than the UTF-16 length, so this rejects hopeless strings
    // before they are copied into wasm memory; the core checks the exact byte count.
    if (lowerBound > this.#maxMessageBytes) {
      throw new MetaChannelError("MESSAGE_TOO_LARGE", `the message is at least ${lowerBound} bytes; maxMessageBytes is ${this.#maxMessageBytes}`);
    }
  }

  #check(rc: number): void {
    if (rc !== 0) throw new MetaChannelError(codeOf(rc), this.#mc.lastError(this.#a));
  }

  /** A listener threw: an "error" event LISTENER_THREW (an error listener: the console). */
  #listenerThrew(err: unknown, event: string): void {
    if (event === "error") {
      // An error listener that throws has nobody left to tell.
      if (typeof console !== "undefined") console.error("[metachannel] an error listener threw:", err);
      return;
    }
    this.#emitError(new MetaChannelError("LISTENER_THREW", `a ${event} listener threw: ${messageOf(err)}`, err));
  }

  #emitError(err: MetaChannelError): void {
    if (err.code === "CLOSED" && this.#dropWatch) this.#dropWatch(err); // close() rejects with it too
    if (!this.#events.has("error")) {
      // Unhandled: say so once on the console rather than lose it.
      if (typeof console !== "undefined") console.warn(`[metachannel] unhandled error: ${err.toString()}`);
      return;
    }
    this.#events.emit("error", err);
  }

  #makeSink(): Sink {
    // The hot path reads these once here, not as private fields per frame.
    const receive = receiver({
      events: this.#events,
      typed: this.#typed,
      hooks: this.#hooks,
      disposed: () => this.#disposed,
      listenerThrew: (err, event) => this.#listenerThrew(err, event),
    });
    return {
      state: (from, to) => {
        if (this.#quiet && STATES[from] === "idle" && STATES[to] === "connecting") return; // state has read "connecting" all along
        const p = this.#pending; // the placeholder's own state is always idle
        this.#events.emit("state", { from: p ? (p.url ? "connecting" : "idle") : STATES[from]!, to: STATES[to]! });
      },
      open: (protocol) => {
        this.#protocol = protocol;
        this.#events.emit("open", { url: this.#url as string, protocol });
      },
      ...receive,
      lost: (from, count, message) => {
        this.#emitError(new MetaChannelError("MESSAGES_LOST", message, { from, count }));
        this.#events.emit("lost", { from, count });
      },
      presence: (json) => {
        const change: { joined: Record<string, unknown>; updated: Record<string, unknown>; left: string[] } = JSON.parse(json);
        for (const [id, state] of Object.entries(change.joined)) this.#presence.set(id, state);
        for (const [id, state] of Object.entries(change.updated)) this.#presence.set(id, state);
        for (const id of change.left) this.#presence.delete(id);
        this.#events.emit("presence", { joined: Object.keys(change.joined), updated: Object.keys(change.updated), left: change.left });
      },
      close: (code, reason, wasClean, willReconnect) => {
        this.#protocol = "";
        this.#events.emit("close", { code, reason, wasClean, willReconnect });
      },
      error: (code, message, detail) => {
        const err = new MetaChannelError(code, message, detail || undefined);
        if (this.#early) this.#early.push(err);
        else this.#emitError(err);
      },
      reconnecting: (attempt, delayMs) => this.#events.emit("reconnecting", { attempt, delayMs }),
    };
  }
}

/**
 * connect() and connectFromEnv(): awaits the core `options` need, then makes the Channel. While
 * that core is still loading, the channel's socket is opened at once (its handshake runs while
 * the wasm is fetched and compiled) and given to the channel's first attempt; if the load fails
 * or the channel is not made, it is closed.
 */
export async function openChannel<M extends MessageMap<M> = UntypedMessages>(url: string, options?: ChannelOptions): Promise<Channel<M>> {
  let early: EarlySocket | null = null;
  const wanted = typeof url === "string" && !coreReadyFor(options);
  const loading = readyFor(options);
  if (wanted) {
    loading.catch(() => {}); // awaited below; not "unhandled" while the socket opens
    try {
      const { WebSocket, headers, wire } = normalizeOptions(options);
      if (!WebSocket && !defaultWebSocket()) await loadNodeWebSocket(); // Node 20: the ws package (what ready() loads)
      early = openEarlySocket(url, WebSocket || defaultWebSocket(), headers, wire.protocols);
    } catch {
      // bad options: the Channel constructor throws the same error once the core is there
    }
  }
  try {
    await loading;
  } catch (err) {
    if (early) discardEarly(early);
    throw err;
  }
  return offerEarlySocket(early, () => new Channel<M>(url, options));
}
