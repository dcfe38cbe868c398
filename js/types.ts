// The public types that are not classes: options, events, typed message maps.
import type { MetaChannelError } from "./errors.js";
import type { EVENTS, State } from "./vocabulary.js";

// ------------------------------------------------------------------------------ Loading

/** @public */
export interface ReadyOptions {
  /**
   * Where to fetch the .wasm from (a URL; in Node also a file path): called with the name of
   * the file the package ships, in every environment: "metachannel-lite.wasm" for the plain
   * core, "metachannel.wasm" for the full one (also tried for the plain core when the first
   * cannot be loaded, so a page that serves only metachannel.wasm keeps working). A
   * locateFile written before the split, answering the full core's URL whatever the name, keeps
   * working: that one file is loaded and runs every Channel. Default: next to the script
   * (bundlers that follow `new URL(…, import.meta.url)` copy it for you).
   */
  locateFile?(name: string): string;
  /** The .wasm bytes, if you already have them (no fetch, no file read). */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /**
   * Which core to load. Default (or "lite", the same): the plain core, metachannel-lite.wasm
   * (23 KB gzip), everything but reliable delivery and presence. "full": metachannel.wasm
   * (55 KB gzip) as well, to preload it: `connect()` loads it on demand the first time a Channel
   * asks for `reliable` or `presence`, and so does a synchronous `new Channel()` that asks for
   * them (it is created at once and connects when the full core is there). The inline builds
   * carry the full core and use it either way.
   */
  core?: "full" | "lite";
  /**
   * true: load the end-to-end encryption module (metachannel-e2e.mjs, about 5 KB gzip) as well,
   * to preload it. Without it, the first Channel given a URL with a key (`#k=…`, see
   * `withNewKey()`) loads it on demand (its socket opens once it is there). The script-tag
   * build loads it from beside the script, or from `locateFile("metachannel-e2e.mjs")`.
   */
  encryption?: boolean;
}

// ------------------------------------------------------------------------------ Channel

export type { State } from "./vocabulary.js";

/** @public */
export interface OpenEvent {
  url: string;
  protocol: string;
}
/** @public */
export interface CloseEvent {
  code: number;
  reason: string;
  wasClean: boolean;
  /** true when the channel will reconnect by itself (after a `reconnecting` event). */
  willReconnect: boolean;
}
/** @public */
export interface ReconnectingEvent {
  attempt: number;
  delayMs: number;
}
/** @public */
export interface StateEvent {
  from: State;
  to: State;
}

/** @public */
export interface MessageMeta {
  /** The "type" field of a JSON object, else null. */
  type: string | null;
  binary: boolean;
  /** The text frame as received (null for binary). */
  raw: string | null;
  /** The sender's id of a reliable message (its "_mc" member), else null. */
  from: string | null;
  /** The sequence number of a reliable message, else null. */
  seq: number | null;
}

/**
 * Who joined, changed state or left since the last event (ids; states are in `channel.presence`).
 * @public
 */
export interface PresenceEvent {
  joined: string[];
  updated: string[];
  left: string[];
}

/**
 * `options.reliable`: messages of sender `from` that nobody can resend any more (the same gap as
 * the MESSAGES_LOST error event, whose `detail` this is).
 * @public
 */
export interface LostEvent {
  from: string;
  count: number;
}

/**
 * Every event of a Channel and the arguments its listeners get.
 * @public
 */
export interface ChannelEvents {
  // generated from src/metachannel/vocabulary.h (MC_EVENTS) by scripts/gen-vocabulary.mjs: do not edit
  /** the socket opened (`{ url, protocol }`), the first time and after every reconnect */
  open: [e: OpenEvent];
  /** a frame: JSON text parsed, other text as the string, binary as `Uint8Array`; `meta`: `type`, `binary`, `raw` */
  message: [data: unknown, meta: MessageMeta];
  /** the socket closed (`{ code, reason, wasClean, willReconnect }`) */
  close: [e: CloseEvent];
  /** something failed later on the wire, or a listener threw: the error table below */
  error: [err: MetaChannelError];
  /** a retry is scheduled (`{ attempt, delayMs }`) */
  reconnecting: [e: ReconnectingEvent];
  /** every state change (`{ from, to }`) */
  state: [e: StateEvent];
  /** `presence`: peers joined, changed their state or left (`{ joined, updated, left }`) */
  presence: [e: PresenceEvent];
  /** `reliable`: messages of a sender nobody can resend any more (`{ from, count }`), once per gap, beside the MESSAGES_LOST error */
  lost: [e: LostEvent];
  // end of generated events
}
/** @public */
export type ChannelEvent = keyof ChannelEvents;
// ChannelEvents names exactly the events of src/metachannel/vocabulary.h (MC_EVENTS): tsc fails here otherwise.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
// biome-ignore lint/correctness/noUnusedVariables: a compile-time check, never used
type ChannelEventsMatchTheVocabulary = Holds<Same<ChannelEvent, (typeof EVENTS)[number]>>;

// ------------------------------------------------------------------------------ Typed messages

/**
 * A channel's messages, declared once, in either of two forms:
 *
 * - a discriminated union of the messages themselves, each with a literal `type`
 *   (`{ type: "chat"; text: string } | { type: "progress"; value: number }`);
 * - a map: each key is a message `type`, its value the other fields (as socket.io's typed
 *   event maps do).
 *
 * Pass it as the type argument of `connect`, `new Channel`, `bindMetaframe`, `connectFromEnv`
 * or the hooks of `metachannel/react`; then `onMessage("progress", (m) => …)` gets `m` narrowed
 * to that message, and `send()` accepts only declared messages (plus text and binary frames).
 *
 * @example
 * ```ts
 * type AppMessage = { type: "chat"; from: string; text: string } | { type: "progress"; value: number };
 * const ch = await connect<AppMessage>(url);
 * ch.onMessage("progress", (m) => bar.value = m.value);   // m: { type: "progress"; value: number }
 * ch.send({ type: "chat", from: "a", text: "hi" });       // checked
 * ```
 * @public
 */
export type MessageMap<M = any> = [M] extends [{ type: string }] ? { type: string } : { [K in keyof M]: object };
/**
 * The default: any `type`, messages typed `any` (how an undeclared channel behaves).
 * @public
 */
export interface UntypedMessages {
  [type: string]: any;
}
/**
 * The declared `type`s of `M` (a union or a map).
 * @public
 */
export type MessageTypeOf<M> = string extends keyof M ? string : [M] extends [{ type: string }] ? M["type"] : keyof M & string;
/** A flat object type (hovers show `{ type: "chat"; text: string }`, not an intersection). */
type Flat<T> = { [P in keyof T]: T[P] } & {};
/**
 * The message with type `K` of `M`, its `type` field included; `K` a union: the union of them.
 * For a union `M`, the member itself.
 * @public
 */
export type MessageOf<M, K extends string = MessageTypeOf<M>> = [M] extends [{ type: string }]
  ? Extract<M, { type: K }>
  : K extends keyof M & string
    ? Flat<{ type: K } & M[K]>
    : never;
/**
 * What `send()` accepts on a Channel<M>: a declared message, or text and binary as always.
 * @public
 */
export type Outgoing<M> = string extends keyof M ? unknown : MessageOf<M> | string | ArrayBuffer | ArrayBufferView;
/**
 * What a listener of `onMessage(type)` gets: `any` on an undeclared channel.
 * @public
 */
export type Incoming<M, K extends string> = string extends keyof M ? any : K extends "*" ? MessageOf<M> : K extends MessageTypeOf<M> ? MessageOf<M, K> : never;
/**
 * The `type` argument `onMessage` accepts on a Channel<M>: any string on an undeclared channel,
 * else a declared type or "*".
 * @public
 */
export type MessageType<M> = string extends keyof M ? string : MessageTypeOf<M> | "*";

// ------------------------------------------------------------------------------ Options

/** @public */
export interface ChannelOptions {
  /** Handshake headers. Node only; in a browser: MetaChannelError HEADERS_UNSUPPORTED. */
  headers?: Record<string, string>;
  /** WebSocket implementation to use (default: the global one, or the `ws` package in Node). */
  WebSocket?: unknown;
  queue?: QueueOptions;
  // generated from src/metachannel/vocabulary.h (ChannelOptions) by scripts/gen-vocabulary.mjs: do not edit
  /** Default 1 MiB. Larger outgoing: MESSAGE_TOO_LARGE (thrown); larger incoming: dropped + error event. */
  maxMessageBytes?: number;
  /**
   * Default 5000. How long close() waits for a connection to send what is queued (0: drop it at
   * once; Infinity: wait for good). What is dropped is reported (CLOSED, detail: count).
   */
  closeTimeoutMs?: number;
  /** Default 5000. A close handshake the server never answers is abandoned after this (close 1006, then "closed"). */
  closeHandshakeTimeoutMs?: number;
  /** Default: on, with the defaults below. false: a dropped connection closes the channel. */
  reconnect?: false | ReconnectOptions;
  /** Default: off (a broadcast channel has nobody to answer pings). */
  heartbeat?: false | HeartbeatOptions;
  /**
   * Default false. Exactly once, in order per sender, repaired by the peers themselves over a relay
   * that only broadcasts: each JSON object sent carries one reserved member `"_mc": "<id>:<seq>"`.
   * What nobody holds any more is reported once per gap as an error event MESSAGES_LOST (detail `{ from, count }`).
   * Reliability, not authentication: see docs/reliability.md.
   */
  reliable?: boolean | ReliableOptions;
  /** Default false. Who else is on the channel: `channel.presence`, `setPresence()`, the "presence" event. */
  presence?: boolean | PresenceOptions;
  /** Subprotocols to offer; the negotiated one is `channel.protocol`. */
  protocols?: string[];
  // end of generated options (ChannelOptions)
}

/**
 * The resend buffer a sender keeps for repair requests; the oldest go first when any bound is hit.
 * @public
 */
export interface ReliableOptions {
  // generated from src/metachannel/vocabulary.h (ReliableOptions) by scripts/gen-vocabulary.mjs: do not edit
  /** Default 1000 messages (at most 1048576). */
  bufferMessages?: number;
  /** Default 1 MiB. */
  bufferBytes?: number;
  /** Default 60000 ms. */
  bufferAgeMs?: number;
  // end of generated options (ReliableOptions)
}

/** @public */
export interface PresenceOptions {
  /** This peer's initial state, any JSON value. Default null. */
  state?: unknown;
  // generated from src/metachannel/vocabulary.h (PresenceOptions) by scripts/gen-vocabulary.mjs: do not edit
  /** Re-announce period. Default 15000 ms. */
  renewMs?: number;
  /** A peer not heard from for this long has left. Default 30000 ms. */
  timeoutMs?: number;
  /** Largest state (as JSON) sent or accepted. Default 4096 bytes. */
  maxStateBytes?: number;
  // end of generated options (PresenceOptions)
}

/** @public */
export interface ReconnectOptions {
  // generated from src/metachannel/vocabulary.h (ReconnectOptions) by scripts/gen-vocabulary.mjs: do not edit
  /** Default 500. */
  minDelayMs?: number;
  /** Default 30000. */
  maxDelayMs?: number;
  /** Default 2: the delay before attempt n is min(maxDelayMs, minDelayMs * factor^(n-1)) before jitter. */
  factor?: number;
  /** "full" (default): uniform in [0, delay]; a number f in [0, 1]: delay * (1 ± f). */
  jitter?: "full" | number;
  /** Default Infinity; then error RETRIES_EXHAUSTED and state "closed". */
  maxRetries?: number;
  /** Default 10000: a handshake that takes longer fails the attempt (CONNECT_TIMEOUT). */
  connectTimeoutMs?: number;
  /** Default 5000: the attempt counter resets only after the connection stayed open this long. */
  stableAfterMs?: number;
  // end of generated options (ReconnectOptions)
}

/** @public */
export interface HeartbeatOptions {
  // generated from src/metachannel/vocabulary.h (HeartbeatOptions) by scripts/gen-vocabulary.mjs: do not edit
  /** Default 30000. Send `message` every intervalMs while open. */
  intervalMs?: number;
  /** Default 10000. No frame at all for timeoutMs after a ping: HEARTBEAT_TIMEOUT, drop and reconnect. */
  timeoutMs?: number;
  /** Default "ping". A non-string is sent as JSON. */
  message?: unknown;
  /** Default "pong": a text frame equal to this is swallowed, not dispatched. */
  pong?: string;
  // end of generated options (HeartbeatOptions)
}

/** @public */
export interface QueueOptions {
  // generated from src/metachannel/vocabulary.h (QueueOptions) by scripts/gen-vocabulary.mjs: do not edit
  /** Default 1000. */
  maxMessages?: number;
  /** Default 1 MiB. */
  maxBytes?: number;
  /** Default "drop-oldest" (with a QUEUE_OVERFLOW error event); "error" makes send() throw QUEUE_OVERFLOW. */
  overflow?: "drop-oldest" | "drop-newest" | "error";
  // end of generated options (QueueOptions)
}

/** @public */
export interface RequestOptions {
  /** Reject with REQUEST_TIMEOUT after this many ms. Default 10000; Infinity: never. */
  timeoutMs?: number;
}

// ------------------------------------------------------------------------------ Metaframes and containers

/** @public */
export interface MetaframeClientOptions {
  /** This frame's id in the metapage. Default: `window.name`, which the metapage sets on the iframe. */
  id?: string;
  /** First retry of the handshake request, in ms (default 200; doubles each time). */
  retryMinMs?: number;
  /** Longest wait between handshake requests, in ms (default 5000). */
  retryMaxMs?: number;
}

/** @public */
export interface BindMetaframeOptions extends ChannelOptions {
  /** The input that carries the channel URL. Default "_websocket_url_". */
  input?: string;
}

/** @public */
export interface ConnectFromEnvOptions extends ChannelOptions {
  /** The environment variable holding the channel URL. Default "WEBSOCKET_URL". */
  env?: string;
}

// ------------------------------------------------------------------------------ Clients

/** @public */
export interface ChatClientOptions extends ChannelOptions {
  /**
   * Rooms joined at connect(). Default `["general"]` (the documents' chat app has no room).
   * `[]`: none until joinRoom().
   */
  rooms?: string[];
}

/**
 * A chat frame as received (extra fields are kept).
 * @public
 */
export interface ChatEvent {
  type: "message" | "join" | "leave" | "error";
  username?: string;
  room?: string;
  /** "message" frames. */
  text?: string;
  /** "error" frames. */
  message?: string;
  [field: string]: unknown;
}

/**
 * The events of a ChatClient: each listener gets the frame.
 * @public
 */
export interface ChatClientEvents {
  message: [e: ChatEvent];
  join: [e: ChatEvent];
  leave: [e: ChatEvent];
  error: [e: ChatEvent];
}
