// Framework-neutral stores: a channel (shared per URL and options, counted by subscribers),
// the messages of one type, and presence, each as `subscribe(listener) -> unsubscribe` plus
// `get()`. That is the Svelte store contract (subscribe calls the listener at once) and what
// React's useSyncExternalStore takes (metachannel/react is a thin layer over these); Vue,
// Solid and Preact adapt it in a few lines (README).
//
// Sharing: one Channel per key (URL + options by value) per page, opened on the first
// subscriber and closed when the last one leaves. Both happen a timer tick later, so that a
// subscribe + unsubscribe in one task (React StrictMode's mount/unmount/mount, fast refresh,
// Svelte's server rendering) neither opens a second socket nor drops the first, and nothing
// is opened where only one task looks (server rendering).
//
// metachannel/store: built on its own into dist/store.mjs/.cjs/.d.ts (scripts/build.mjs) with
// the package's main entry left as an import of "metachannel", so a page has one loader and
// one set of shared channels, and pages that use none of this (the script tag) carry none of it.
import {
  type BindMetaframeOptions,
  Channel,
  type ChannelOptions,
  type Incoming,
  MetaChannelError,
  type MessageMap,
  type MessageType,
  MetaframeClient,
  type Outgoing,
  type State,
  type UntypedMessages,
  _invalid as invalid,
  _readyFor as readyFor,
  bindMetaframe,
} from "./index.js";

/**
 * What a value store holds and how to follow it: the Svelte store contract (`subscribe` calls
 * `listener` at once with the current value, then on every change; returns the unsubscribe)
 * plus `get()`, the current value without subscribing (a new object only when it changed, as
 * React's `useSyncExternalStore` needs).
 * @public
 */
export interface Readable<T> {
  subscribe(listener: (value: T) => void): () => void;
  get(): T;
}

/**
 * The value of a {@link ChannelStore}.
 * @public
 */
export interface ChannelSnapshot<M extends MessageMap<M> = UntypedMessages> {
  /** The shared Channel, once created; null while loading, when idle or when it failed. */
  readonly channel: Channel<M> | null;
  /**
   * The channel's state; "loading": the core is loading or nobody subscribed yet; "idle": no
   * URL, or `enabled: false`; "closed" with `error` set: the channel could not be created.
   */
  readonly state: State | "loading";
  /** The last error the channel reported (or why it could not be created), else null. */
  readonly error: MetaChannelError | null;
}

/**
 * A shared channel as a store. Every store with the same key (URL and options, by value) uses
 * one Channel: the first subscriber opens it, the last one to leave closes it.
 * @public
 */
export interface ChannelStore<M extends MessageMap<M> = UntypedMessages> extends Readable<ChannelSnapshot<M>> {
  /** The URL and options this store shares a channel by. */
  readonly key: string;
  /** The value before any subscriber (and on the server): "loading", or "idle" without a URL. */
  readonly initial: ChannelSnapshot<M>;
  /**
   * Sends on the shared channel; while it is being created the message is held and sent (in
   * order) once it exists (if it cannot be created, they are dropped and the snapshot has the
   * error, state "closed"). Throws CLOSED when the store has no URL, is disabled or has no
   * subscriber, the creation error once that failed, and what `Channel.send()` throws.
   */
  send(message: Outgoing<M>): void;
}

/** @public */
export interface ChannelStoreOptions extends ChannelOptions {
  /** Default true. false: no channel (state "idle"), as with a null URL. */
  enabled?: boolean;
}

/** @public */
export interface MetaframeStoreOptions extends BindMetaframeOptions {
  /** Default true. false: no channel (state "idle"). */
  enabled?: boolean;
}

/** @public */
export interface MessagesStoreOptions {
  /** How many of the newest messages the store keeps. Default 100. */
  last?: number;
}

interface Shared {
  users: number;
  snapshot: ChannelSnapshot<any>;
  listeners: Set<{ fn: (value: ChannelSnapshot<any>) => void }>;
  channel: Channel<any> | null;
  held: unknown[];
  timer: ReturnType<typeof setTimeout> | null;
  started: boolean;
  released: boolean;
  create: () => Promise<Channel<any>>;
}

const shared = new Map<string, Shared>();
const LOADING: ChannelSnapshot<any> = Object.freeze({ channel: null, state: "loading", error: null });
const IDLE: ChannelSnapshot<any> = Object.freeze({ channel: null, state: "idle", error: null });

/** Functions in options (a WebSocket class) are compared by identity: each gets a number. */
const functionIds = new WeakMap<object, number>();
let nextFunctionId = 1;

/** The options by value, keys sorted; functions by identity. */
function optionsKey(options: object): string {
  return JSON.stringify(options, (_key, value: unknown) => {
    if (typeof value === "function") {
      let id = functionIds.get(value);
      if (id === undefined) {
        id = nextFunctionId++;
        functionIds.set(value, id);
      }
      return `[function ${id}]`;
    }
    if (value && typeof value === "object" && !Array.isArray(value)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(value).sort()) sorted[k] = (value as Record<string, unknown>)[k];
      return sorted;
    }
    return value;
  });
}

function splitEnabled<O extends { enabled?: boolean }>(options: O | undefined, what: string): [boolean, Omit<O, "enabled">] {
  if (options !== undefined && (options === null || typeof options !== "object" || Array.isArray(options))) invalid(what, "an object", options);
  const { enabled = true, ...rest } = (options ?? {}) as O;
  if (typeof enabled !== "boolean") invalid(`${what}.enabled`, "true or false", enabled);
  return [enabled, rest];
}

function publish(s: Shared, next: ChannelSnapshot<any>): void {
  s.snapshot = next;
  for (const l of [...s.listeners]) l.fn(next);
}

function follow(s: Shared, ch: Channel<any>): void {
  s.channel = ch;
  const update = (error: MetaChannelError | null) => publish(s, Object.freeze({ channel: ch, state: ch.state, error }));
  ch.on("state", () => update(s.snapshot.error));
  ch.on("error", (err) => update(err));
  const held = s.held.splice(0);
  update(null);
  for (const m of held) ch.send(m);
}

function start(s: Shared): void {
  s.started = true;
  s.create().then(
    (ch) => {
      if (s.released) closeShared(ch);
      else follow(s, ch);
    },
    (err: unknown) => {
      if (s.released) return;
      const error = err instanceof MetaChannelError ? err : new MetaChannelError("LOAD_FAILED", String(err));
      s.held.length = 0;
      publish(s, Object.freeze({ channel: null, state: "closed", error }));
    },
  );
}

/** The last user left: what is queued is sent first (close()), then the memory is freed. */
function closeShared(ch: Channel<any>): void {
  if (ch.disposed) return;
  ch.close().then(
    () => ch.dispose(),
    () => ch.dispose(), // dropped messages were reported as an error event (close() says so)
  );
}

function release(key: string, s: Shared): void {
  s.timer = null;
  if (s.users > 0) return;
  s.released = true;
  shared.delete(key);
  if (s.channel) closeShared(s.channel);
}

function makeStore<M extends MessageMap<M>>(key: string | null, create: () => Promise<Channel<any>>): ChannelStore<M> {
  const initial = (key === null ? IDLE : LOADING) as ChannelSnapshot<M>;
  const entry = (): Shared | undefined => (key === null ? undefined : shared.get(key));
  const store: ChannelStore<M> = {
    key: key ?? "",
    initial,
    get: () => (entry()?.snapshot ?? initial) as ChannelSnapshot<M>,
    subscribe(listener) {
      if (typeof listener !== "function") invalid("subscribe(listener)", "a function", listener);
      if (key === null) {
        listener(initial);
        return () => {};
      }
      let s = entry();
      if (!s) {
        s = { users: 0, snapshot: LOADING, listeners: new Set(), channel: null, held: [], timer: null, started: false, released: false, create };
        shared.set(key, s);
      }
      const current = s;
      current.users++;
      if (current.timer !== null) clearTimeout(current.timer);
      current.timer = null;
      if (!current.started) {
        // A tick later: a subscribe that is undone in the same task opens nothing.
        current.timer = setTimeout(() => {
          current.timer = null;
          if (current.users > 0) start(current);
          else release(key, current);
        }, 0);
      }
      const l = { fn: listener as (value: ChannelSnapshot<any>) => void };
      current.listeners.add(l);
      listener(current.snapshot as ChannelSnapshot<M>);
      let left = false;
      return () => {
        if (left) return;
        left = true;
        current.listeners.delete(l);
        if (--current.users === 0 && current.timer === null) current.timer = setTimeout(() => release(key, current), 0);
      };
    },
    send(message) {
      const s = entry();
      if (key === null || !s || s.released) {
        throw new MetaChannelError(
          "CLOSED",
          key === null
            ? "send(): this store has no channel (its URL is empty or enabled is false)"
            : "send(): nobody subscribes to this store, so it has no channel: subscribe first (useChannel does)",
        );
      }
      if (s.channel) s.channel.send(message);
      else if (s.snapshot.state === "closed") throw s.snapshot.error ?? new MetaChannelError("CLOSED", "send(): the channel could not be created");
      else s.held.push(message);
    },
  };
  return store;
}

/**
 * A store of the channel at `url`, shared by every store (and `useChannel`) with the same URL
 * and options: one socket per page. Options are compared by value (JSON, keys sorted);
 * functions in them (a `WebSocket` class) by identity; changing any option means another
 * channel (use `channel.setPresence()` to change presence state, not the options). A null or
 * empty URL, or `enabled: false`: state "idle", no channel.
 *
 * @example
 * ```ts
 * const chat = channelStore<AppMessage>(url);            // Svelte: {$chat.state}
 * const off = chat.subscribe(({ state }) => console.log(state));
 * ```
 * @public
 */
export function channelStore<M extends MessageMap<M> = UntypedMessages>(url: string | null | undefined, options?: ChannelStoreOptions): ChannelStore<M> {
  const [enabled, rest] = splitEnabled(options, "channelStore(url, options)");
  if (url !== null && url !== undefined && typeof url !== "string") invalid("channelStore(url)", "a ws:// or wss:// URL, or null", url);
  const active = enabled && !!url;
  return makeStore<M>(active ? `url ${url} ${optionsKey(rest)}` : null, () => readyFor(rest).then(() => new Channel<any>(url!, rest)));
}

let pageClient: MetaframeClient | null = null;

/**
 * A store of this metaframe's own channel: the URL from the metapage's `_websocket_url_` input
 * (options.input) through one MetaframeClient per page and `bindMetaframe()`. One such channel
 * per page: the options of the first subscriber win until the last one leaves.
 * @public
 */
export function metaframeStore<M extends MessageMap<M> = UntypedMessages>(options?: MetaframeStoreOptions): ChannelStore<M> {
  const [enabled, rest] = splitEnabled(options, "metaframeStore(options)");
  return makeStore<M>(enabled ? "metaframe" : null, () => {
    if (!pageClient) pageClient = new MetaframeClient();
    return bindMetaframe<any>(pageClient, rest);
  });
}

const EMPTY: readonly never[] = Object.freeze([]);
const NOBODY: ReadonlyMap<string, unknown> = new Map();

/** A store whose value never changes (no channel). */
function constant<T>(value: T): Readable<T> {
  return {
    get: () => value,
    subscribe(listener) {
      listener(value);
      return () => {};
    },
  };
}

/**
 * A store fed by one listener on `channel`, attached while anyone subscribes: `attach(changed)`
 * adds it (calling `changed()` after each update of what `value()` returns) and returns its
 * removal.
 */
function listenerStore<T>(channel: Channel<any>, value: () => T, attach: (changed: () => void) => () => void): Readable<T> {
  const listeners = new Set<{ fn: (v: T) => void }>();
  let off: (() => void) | null = null;
  return {
    get: value,
    subscribe(listener) {
      if (!off && !channel.disposed) {
        off = attach(() => {
          const v = value();
          for (const l of [...listeners]) l.fn(v);
        });
      }
      const l = { fn: listener };
      listeners.add(l);
      listener(value());
      return () => {
        if (!listeners.delete(l) || listeners.size > 0 || !off) return;
        if (!channel.disposed) off();
        off = null;
      };
    },
  };
}

const messageStores = new WeakMap<Channel<any>, Map<string, Readable<readonly unknown[]>>>();

/**
 * The newest messages of one `type` ("*": every JSON object) on `channel`, oldest first, as a
 * store (an empty array for a null channel). Counting starts at the first subscriber; stores
 * for the same channel, type and `last` are one.
 * @public
 */
export function messagesStore<M extends MessageMap<M>, T extends MessageType<M>>(
  channel: Channel<M> | null | undefined,
  type: T,
  options?: MessagesStoreOptions,
): Readable<readonly Incoming<M, T>[]> {
  if (typeof type !== "string" || type === "") invalid("messagesStore(channel, type)", 'a message type or "*"', type);
  const last = options?.last ?? 100;
  if (!Number.isInteger(last) || last < 1) invalid("options.last", "an integer >= 1", last);
  if (!channel) return constant(EMPTY);
  let byKey = messageStores.get(channel);
  if (!byKey) {
    byKey = new Map();
    messageStores.set(channel, byKey);
  }
  const key = `${last} ${type}`;
  let store = byKey.get(key);
  if (!store) {
    let list: readonly unknown[] = EMPTY;
    store = listenerStore(
      channel,
      () => list,
      (changed) =>
        channel.onMessage(type, (msg: unknown) => {
          list = Object.freeze([...(list.length >= last ? list.slice(list.length - last + 1) : list), msg]);
          changed();
        }),
    );
    byKey.set(key, store);
  }
  return store as Readable<readonly Incoming<M, T>[]>;
}

const presenceStores = new WeakMap<Channel<any>, Readable<ReadonlyMap<string, unknown>>>();

/**
 * The other peers on `channel` (id -> presence state; the channel needs `presence`), as a
 * store whose value is a new Map after each change (an empty Map for a null channel).
 * @public
 */
export function presenceStore(channel: Channel<any> | null | undefined): Readable<ReadonlyMap<string, unknown>> {
  if (!channel) return constant(NOBODY);
  let store = presenceStores.get(channel);
  if (!store) {
    let peers: ReadonlyMap<string, unknown> = channel.disposed ? NOBODY : new Map(channel.presence);
    store = listenerStore(
      channel,
      () => peers,
      (changed) => {
        const off = channel.on("presence", () => {
          peers = new Map(channel.presence);
          changed();
        });
        // A change while nobody listened: a fresh copy before the first subscriber reads it.
        if (peers.size !== channel.presence.size || [...channel.presence].some(([id, v]) => peers.get(id) !== v)) peers = new Map(channel.presence);
        return off;
      },
    );
    presenceStores.set(channel, store);
  }
  return store;
}
