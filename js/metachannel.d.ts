/**
 * metachannel: real-time WebSocket channels for metaframes, pages and Node workers.
 * A C++ core compiled to WebAssembly owns the connection state machine, reconnects,
 * heartbeat, send queue and routing; these classes are its JavaScript face.
 *
 * Ownership: every Channel (and client built on one) holds wasm memory until dispose().
 */

// ------------------------------------------------------------------------------ Loading

export interface ReadyOptions {
  /**
   * Where to fetch the .wasm from (a URL; in Node also a file path): called with
   * "metachannel.wasm", the file the package ships, in every environment. Default: next to
   * the script (bundlers that follow `new URL(…, import.meta.url)` copy it for you).
   */
  locateFile?(name: string): string;
  /** The .wasm bytes, if you already have them (no fetch, no file read). */
  wasmBinary?: ArrayBuffer | Uint8Array;
}
/**
 * Loads the wasm core. Idempotent: later calls return the first call's promise; after a
 * failure the next call tries again. Rejects with MetaChannelError LOAD_FAILED when the wasm
 * cannot be fetched, compiled or instantiated (the message names the URL and what to do).
 */
export function ready(options?: ReadyOptions): Promise<void>;
/** True when a WebSocket implementation is reachable (global, or the `ws` package in Node). */
export function isSupported(): boolean;
/** The package version. */
export const version: string;

// ------------------------------------------------------------------------------ Channel

/**
 * Awaits ready() and returns a Channel that is connecting to `url` (it does not wait for open).
 * `M` declares the channel's messages (see {@link MessageMap}); without it everything is `any`.
 */
export function connect<M extends MessageMap<M> = UntypedMessages>(url: string, options?: ChannelOptions): Promise<Channel<M>>;

export type State = "idle" | "connecting" | "open" | "reconnecting" | "closing" | "closed";

export interface OpenEvent { url: string; protocol: string }
export interface CloseEvent {
  code: number;
  reason: string;
  wasClean: boolean;
  /** true when the channel will reconnect by itself (after a `reconnecting` event). */
  willReconnect: boolean;
}
export interface ReconnectingEvent { attempt: number; delayMs: number }
export interface StateEvent { from: State; to: State }

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

/** Who joined, changed state or left since the last event (ids; states are in `channel.presence`). */
export interface PresenceEvent { joined: string[]; updated: string[]; left: string[] }

/** Every event of a Channel and the arguments its listeners get. */
export interface ChannelEvents {
  open: [e: OpenEvent];
  /** text that parses as JSON -> the parsed value; other text -> the string; binary -> Uint8Array. */
  message: [data: unknown, meta: MessageMeta];
  close: [e: CloseEvent];
  error: [err: MetaChannelError];
  reconnecting: [e: ReconnectingEvent];
  state: [e: StateEvent];
  /** options.presence: peers that joined, changed their state or left (closed, disposed, page hidden, timed out). */
  presence: [e: PresenceEvent];
}
export type ChannelEvent = keyof ChannelEvents;

// ------------------------------------------------------------------------------ Typed messages

/**
 * A channel's messages, declared once: each key is a message `type`, its value the other
 * fields (as socket.io's typed event maps do). Pass it as the type argument of `connect`,
 * `new Channel`, `bindMetaframe` or `connectFromEnv`; then `onMessage("progress", (m) => …)`
 * gets `m` typed, and `send()` checks outgoing JSON objects against the map.
 *
 * @example
 * type Messages = {
 *   progress: { value: number };
 *   chat: { from: string; text: string };
 * };
 * const ch = await connect<Messages>(url);
 * ch.onMessage("progress", (m) => bar.value = m.value);   // m: { type: "progress"; value: number }
 * ch.send({ type: "chat", from: "a", text: "hi" });       // checked
 */
export type MessageMap<M = any> = { [K in keyof M]: object };
/** The default map: any `type`, messages typed `any` (how an undeclared channel behaves). */
export interface UntypedMessages {
  [type: string]: any;
}
/** The message with type `K` of map `M`, its `type` field included; `K` a union: the union of them. */
export type MessageOf<M, K extends keyof M = keyof M> = K extends keyof M & string ? M[K] & { type: K } : never;
/** What `send()` accepts on a Channel<M>: a declared message, or text and binary as always. */
export type Outgoing<M> = string extends keyof M
  ? unknown
  : MessageOf<M> | string | ArrayBuffer | ArrayBufferView;
/** What a listener of `onMessage(type)` gets: `any` on an undeclared channel. */
export type Incoming<M, K extends string> = string extends keyof M ? any : K extends "*" ? MessageOf<M> : K extends keyof M ? MessageOf<M, K> : never;

/**
 * A real-time channel over one WebSocket URL at a time. `M` declares its messages (see
 * {@link MessageMap}); without it every message is `any`.
 */
export class Channel<M extends MessageMap<M> = UntypedMessages> {
  /** Throws MetaChannelError NOT_READY before ready() has resolved. */
  constructor(url: string | null, options?: ChannelOptions);
  readonly url: string | null;
  readonly state: State;
  /** As WebSocket: 0 connecting (also while waiting to reconnect), 1 open, 2 closing, 3 closed/idle. */
  readonly readyState: 0 | 1 | 2 | 3;
  /** Negotiated subprotocol, "" if none (or not open). */
  readonly protocol: string;
  /** Bytes handed to the socket and not yet sent. */
  readonly bufferedAmount: number;
  /** Messages waiting for a connection. */
  readonly queuedCount: number;
  /** Bytes waiting for a connection. */
  readonly queuedBytes: number;
  /** Consecutive failed connection attempts since the last stable connection. */
  readonly attempt: number;
  readonly disposed: boolean;
  /** This instance's random id on the wire (12 of [0-9a-z]); the `from` of its reliable messages. */
  readonly id: string;
  /** The other peers on the channel (options.presence): id -> state. Empty without presence. */
  readonly presence: ReadonlyMap<string, unknown>;
  /**
   * Announces this peer's presence state (any JSON value, at most presence.maxStateBytes as
   * JSON) to the others. Throws INVALID_ARGUMENT (not JSON, too large, presence off), DISPOSED.
   */
  setPresence(state: unknown): void;
  /**
   * object/array/number/boolean/null -> JSON text frame; string -> text frame as is;
   * ArrayBuffer/TypedArray/DataView -> binary frame. Not open: queued (see QueueOptions),
   * flushed in order on open. Throws INVALID_ARGUMENT, INVALID_JSON, MESSAGE_TOO_LARGE,
   * QUEUE_OVERFLOW (overflow "error"), CLOSED, DISPOSED.
   */
  send(message: Outgoing<M>): void;
  /** Same url: no-op. Another: close the old socket (1000), connect the new one, keep the queue. null: idle. */
  setUrl(url: string | null): void;
  /**
   * Final: never reconnects. code: 1000 or 3000-4999; reason: at most 123 UTF-8 bytes.
   * Messages still queued are sent first: the channel waits up to `closeTimeoutMs` (default
   * 5000) for a connection (retrying at once, not after a backoff), sends them in order, then
   * closes; what could not be sent by then is dropped with a CLOSED error event (detail: the
   * count). Resolves once the socket has closed (at once when there is none, or after
   * dispose()); never rejects. Afterwards nothing of this channel keeps a Node process alive.
   */
  close(code?: number, reason?: string): Promise<void>;
  /** Reconnect now: cancels a backoff wait, resets the attempt counter; resumes after REVOKED or RETRIES_EXHAUSTED. */
  reconnect(): void;
  /** Closes and frees all wasm memory; idempotent; afterwards every call throws DISPOSED. */
  dispose(): void;
  /** Resolves at the next (or current) open; rejects with CLOSED if the channel closes for good first. */
  opened(): Promise<void>;
  /** Adds a listener; returns the function that removes it. */
  on<E extends ChannelEvent>(event: E, l: (...args: ChannelEvents[E]) => void): () => void;
  /** As on(), for the next event only. */
  once<E extends ChannelEvent>(event: E, l: (...args: ChannelEvents[E]) => void): () => void;
  /** Removes a listener. Like the unsubscribe functions, a no-op after dispose() (safe in clean-up code). */
  off<E extends ChannelEvent>(event: E, l: (...args: ChannelEvents[E]) => void): void;
  /**
   * JSON objects whose "type" equals `type`; "*" = every JSON object. Returns unsubscribe.
   * On a Channel<M> only declared types (and "*") are accepted and `msg` is typed.
   */
  onMessage<K extends (string extends keyof M ? string : (keyof M & string) | "*")>(
    type: K,
    l: (msg: Incoming<M, K>, meta: MessageMeta) => void,
  ): () => void;
  // @section channel-extensions
  /**
   * Request/reply over the broadcast channel. Sends the JSON frame `{type, id, ...payload}`
   * where `id` is 128 random bits (crypto.getRandomValues) in base64url (22 characters), and
   * resolves with the first frame whose top-level `"re"` equals `id` (the reply, as parsed).
   * The reply is routed in C++ (REPLY interest on the id while the request is pending); any
   * later reply for the same id is dropped there, without an error. Other clients never see
   * replies meant for this one unless they listen to every frame (`on("message")`, `onMessage("*")`).
   *
   * Throws synchronously: INVALID_ARGUMENT (`type` not a non-empty string; `payload` not a plain
   * object or undefined, or containing `type`/`id`; unknown option or `timeoutMs` <= 0),
   * and whatever `send()` throws (DISPOSED, CLOSED, MESSAGE_TOO_LARGE, QUEUE_OVERFLOW).
   * Rejects: REQUEST_TIMEOUT after `timeoutMs` (default 10000; Infinity = never; detail
   * `{ id, timeoutMs }`), CLOSED when the channel closes for good (state "closed"), DISPOSED
   * when it is disposed. A transient drop does not reject: the frame is queued or was sent,
   * and the timeout covers a lost reply.
   *
   * @example
   * responder.onMessage("price.get", (msg) => responder.reply(msg, { price: 42 }));
   * const answer = await requester.request("price.get", { symbol: "AAPL" }, { timeoutMs: 2000 });
   * // answer: { type: "price.get.reply", re: "<id>", price: 42 }
   */
  request<T = any>(type: string, payload?: Record<string, unknown>, options?: RequestOptions): Promise<T>;
  /**
   * Answers a request received from `request()`: sends `{type: msg.type + ".reply", re: msg.id,
   * ...payload}`. Throws INVALID_ARGUMENT when `msg` has no string `type` and `id`, or when
   * `payload` is not a plain object or undefined, or contains `type`/`re`; and whatever
   * `send()` throws.
   */
  reply(msg: { type: string; id: string }, payload?: Record<string, unknown>): void;
}

export interface ChannelOptions {
  /** Subprotocols to offer; the negotiated one is `channel.protocol`. */
  protocols?: string[];
  /** Handshake headers. Node only; in a browser: MetaChannelError HEADERS_UNSUPPORTED. */
  headers?: Record<string, string>;
  /** WebSocket implementation to use (default: the global one, or the `ws` package in Node). */
  WebSocket?: unknown;
  /** Default: on, with the defaults below. false: a dropped connection closes the channel. */
  reconnect?: false | ReconnectOptions;
  /** Default: off (a broadcast channel has nobody to answer pings). */
  heartbeat?: false | HeartbeatOptions;
  queue?: QueueOptions;
  /** Default 1 MiB. Larger outgoing: MESSAGE_TOO_LARGE (thrown); larger incoming: dropped + error event. */
  maxMessageBytes?: number;
  /**
   * Default 5000. How long close() waits for a connection to send what is queued (0: drop
   * it at once; Infinity: wait for good). What is dropped is reported (CLOSED, detail: count).
   */
  closeTimeoutMs?: number;
  /**
   * Default false. Exactly once, in order per sender, repaired by the peers themselves over a
   * relay that only broadcasts: each JSON object sent carries one reserved member
   * `"_mc": "<id>:<seq>"`. What nobody holds any more is reported once per gap as an error
   * event MESSAGES_LOST (detail `{ from, count }`). Reliability, not authentication: see
   * docs/reliability.md.
   */
  reliable?: boolean | ReliableOptions;
  /** Default false. Who else is on the channel: `channel.presence`, `setPresence()`, the "presence" event. */
  presence?: boolean | PresenceOptions;
}

/** The resend buffer a sender keeps for repair requests; the oldest go first when any bound is hit. */
export interface ReliableOptions {
  /** Default 1000 messages (at most 1048576). */
  bufferMessages?: number;
  /** Default 1 MiB. */
  bufferBytes?: number;
  /** Default 60000 ms. */
  bufferAgeMs?: number;
}

export interface PresenceOptions {
  /** This peer's initial state, any JSON value. Default null. */
  state?: unknown;
  /** Re-announce period. Default 15000 ms. */
  renewMs?: number;
  /** A peer not heard from for this long has left. Default 30000 ms. */
  timeoutMs?: number;
  /** Largest state (as JSON) sent or accepted. Default 4096 bytes. */
  maxStateBytes?: number;
}

export interface ReconnectOptions {
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
}

export interface HeartbeatOptions {
  /** Send `message` every intervalMs while open. */
  intervalMs: number;
  /** No frame at all for timeoutMs after a ping: HEARTBEAT_TIMEOUT, drop and reconnect. */
  timeoutMs: number;
  /** Default "ping". A non-string is sent as JSON. */
  message?: unknown;
  /** Default "pong": a text frame equal to this is swallowed, not dispatched. */
  pong?: string;
}

export interface QueueOptions {
  /** Default 1000. */
  maxMessages?: number;
  /** Default 1 MiB. */
  maxBytes?: number;
  /** Default "drop-oldest" (with a QUEUE_OVERFLOW error event); "error" makes send() throw QUEUE_OVERFLOW. */
  overflow?: "drop-oldest" | "drop-newest" | "error";
}

// ------------------------------------------------------------------------------ Errors

export type ErrorCode =
  | "NOT_READY" | "NOT_SUPPORTED" | "INVALID_URL" | "INVALID_ARGUMENT"
  | "INVALID_JSON" | "MESSAGE_TOO_LARGE" | "QUEUE_OVERFLOW" | "HEADERS_UNSUPPORTED"
  | "CONNECT_TIMEOUT" | "HEARTBEAT_TIMEOUT" | "REVOKED" | "RETRIES_EXHAUSTED"
  | "LISTENER_THREW" | "DISPOSED" | "CLOSED" | "SOCKET_ERROR"
  | "REQUEST_TIMEOUT" | "LOAD_FAILED" | "MESSAGES_LOST";

export class MetaChannelError extends Error {
  readonly code: ErrorCode;
  readonly detail?: unknown;
  constructor(code: ErrorCode, message: string, detail?: unknown);
}

// @section metaframe
// ------------------------------------------------------------------------------ Metaframes and containers

export interface MetaframeClientOptions {
  /** This frame's id in the metapage. Default: `window.name`, which the metapage sets on the iframe. */
  id?: string;
  /** First retry of the handshake request, in ms (default 200; doubles each time). */
  retryMinMs?: number;
  /** Longest wait between handshake requests, in ms (default 5000). */
  retryMaxMs?: number;
}

/**
 * The metaframe side of a metapage (protocol version "2"), with no other dependency.
 *
 * Inside an iframe it sends `SetupIframeClientRequest` to `window.parent` (retried with
 * backoff until answered), takes its inputs from the answer and from later `InputsUpdate`s,
 * and sends `OutputsUpdate`s. After the handshake it only listens to the parent window, from
 * the origin and metapage id of the first answer, for its own frame id; everything else is
 * ignored. Anywhere else (a top-level page, Node) it is an in-memory stand-in: `setInputs()`
 * feeds it, `connected()` resolves at once.
 *
 * Values are delivered as the metapage sends them: binary inputs arrive as `data:` URL
 * strings (the metapage's encoding) and are not decoded. An update key whose value is
 * `undefined` removes that input.
 *
 * @example
 * const mf = new MetaframeClient();
 * mf.onInputs = (inputs) => render(inputs);
 * mf.setOutputs({ status: "ready" });
 */
export class MetaframeClient {
  constructor(options?: MetaframeClientOptions);
  /** This frame's id in the metapage ("" when unknown). */
  readonly id: string;
  /** True when not inside an iframe: inputs come only from setInputs(). */
  readonly standalone: boolean;
  /** True after the handshake (always for the stand-in) and until dispose(). */
  readonly isConnected: boolean;
  readonly disposed: boolean;
  /**
   * Called with all current inputs (a copy) after each update, as in the metapage docs.
   * Assigning a function when inputs are already known also calls it once, on a microtask.
   */
  onInputs: ((inputs: Record<string, unknown>) => void) | null;
  /**
   * Calls `l(value)` when input `name` changes; `value` is undefined when it was removed.
   * A repeat of the same value (Object.is) is not a change. Returns the unsubscribe function.
   */
  onInput(name: string, l: (value: unknown) => void): () => void;
  /** A copy of the current inputs. */
  getInputs(): Record<string, unknown>;
  /** One input's current value. */
  getInput(name: string): unknown;
  /** A copy of every output set so far. */
  getOutputs(): Record<string, unknown>;
  /**
   * Stand-in: merges `inputs` (undefined removes a key) and notifies synchronously.
   * In an iframe: sends an `InputsUpdate` to the parent (as the metapage library does); the
   * values come back through the parent. Set before the handshake: sent right after it.
   */
  setInputs(inputs: Record<string, unknown>): void;
  /** Sends an `OutputsUpdate` with these keys. Set before the handshake: merged and sent after it. */
  setOutputs(outputs: Record<string, unknown>): void;
  setOutput(name: string, value: unknown): void;
  /** Resolves after the handshake (at once for the stand-in); rejects DISPOSED if disposed first. */
  connected(): Promise<void>;
  /** Removes the message listener and stops handshake retries. Idempotent. */
  dispose(): void;
}

export interface BindMetaframeOptions extends ChannelOptions {
  /** The input that carries the channel URL. Default "_websocket_url_". */
  input?: string;
}

/**
 * One Channel that follows a metaframe input carrying the channel URL: it connects when a
 * ws:// or wss:// URL arrives (also one already present at bind time), ignores a repeat of
 * the same URL (the metapage delivers inputs set before the handshake twice), switches when
 * it changes (a rotated channel: the old socket is closed) and disconnects (state "idle")
 * when the input is removed, null or "". Another value (not a string, not ws(s)://) is an
 * `error` event with code INVALID_URL on the channel, whose message never shows the value;
 * the current connection is kept.
 *
 * `client` is a {@link MetaframeClient} or the `Metaframe` of @metapages/metapage. Binding the
 * same client again returns the same channel (options of later calls are ignored) until that
 * channel is disposed. Rejects like `new Channel()` (e.g. HEADERS_UNSUPPORTED in a browser).
 *
 * @example
 * const channel = await bindMetaframe(new MetaframeClient());
 * channel.onMessage("progress", (msg) => show(msg.value));
 */
export function bindMetaframe<M extends MessageMap<M> = UntypedMessages>(client: MetaframeClient | object, options?: BindMetaframeOptions): Promise<Channel<M>>;

export interface ConnectFromEnvOptions extends ChannelOptions {
  /** The environment variable holding the channel URL. Default "WEBSOCKET_URL". */
  env?: string;
}

/**
 * For Node workers in a metapage container: connects to the URL in
 * `process.env[options.env ?? "WEBSOCKET_URL"]` (does not wait for open). Rejects with
 * MetaChannelError INVALID_URL when the variable is unset, empty or not a ws(s) URL.
 *
 * @example
 * const channel = await connectFromEnv();
 * channel.send({ type: "progress", value: 0.5 });
 */
export function connectFromEnv<M extends MessageMap<M> = UntypedMessages>(options?: ConnectFromEnvOptions): Promise<Channel<M>>;

// @section clients
// ------------------------------------------------------------------------------ Clients from the source documents

export interface RequestOptions {
  /** Reject with REQUEST_TIMEOUT after this many ms. Default 10000; Infinity: never. */
  timeoutMs?: number;
}

export interface ChatClientOptions extends ChannelOptions {
  /**
   * Rooms joined at connect(). Default `["general"]` (the documents' chat app has no room).
   * `[]`: none until joinRoom().
   */
  rooms?: string[];
}

/** A chat frame as received (extra fields are kept). */
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
 * The chat client of the source documents, on a metachannel Channel.
 *
 * Wire (JSON text frames): `{type:"join"|"leave", username, room}`,
 * `{type:"message", username, text, room}`, from a server `{type:"error", message, room?}`.
 *
 * Events are delivered only for joined rooms: each joined room is ROOM interest in the C++
 * router, so frames of other rooms are dropped before JS sees them. `error` frames without a
 * `room` are delivered to every client (TYPE interest on "error"); with a `room`, only if
 * joined. join/leave/message frames without a string `room` (the documents' ChatApp sends
 * none) are not delivered: use `channel.onMessage("message", …)` for those. On a broadcast
 * relay a client also receives its own frames (its join, its messages), as in the documents'
 * chat app; its own leave is not delivered (the room is left before the echo arrives).
 *
 * `connect()` (re)sends a join for every room on each "open", so rooms are rejoined after a
 * reconnect. With a URL target the client makes the Channel in connect() (after ready()),
 * owns it, and closes and disposes it in disconnect()/dispose(); a shared Channel is never
 * closed: disconnect() sends the leaves and stops listening.
 *
 * @example
 * const chat = new ChatClient(url, "alice", { rooms: ["general", "dev"] });
 * chat.on("message", (m) => console.log(`[${m.room}] ${m.username}: ${m.text}`));
 * await chat.connect();
 * chat.sendMessage("hello");            // to "general", the first joined room
 */
export class ChatClient {
  /** Throws INVALID_ARGUMENT for a bad target, username or option, DISPOSED for a disposed Channel. */
  constructor(target: string | Channel<any>, username: string, options?: ChatClientOptions);
  readonly username: string;
  /** Joined rooms, in join order. */
  readonly rooms: string[];
  /**
   * Usernames in `room`, sorted: this client (if joined) and every peer whose presence state
   * says so. Needs a channel with `presence` (the client announces `{username, rooms}` as its
   * state); without it, only this client.
   */
  members(room: string): string[];
  /** The Channel in use: the shared one, or the client's own after connect() (null before and after disconnect()). */
  readonly channel: Channel | null;
  /** Attached and the channel is open. */
  readonly connected: boolean;
  /** Attaches, joins the rooms (now if open, else on open) and resolves once open. Idempotent. */
  connect(): Promise<void>;
  /** Sends a leave per room (if open) and stops listening; closes + disposes an owned channel. connect() works again. */
  disconnect(): void;
  /** disconnect() and drop all listeners; later calls throw DISPOSED. Idempotent. */
  dispose(): void;
  /**
   * Sends `{type:"message", username, text, room}`. `room` defaults to the first joined room.
   * Throws INVALID_ARGUMENT when no room is joined or `room` is not joined, CLOSED before connect().
   */
  sendMessage(text: string, room?: string): void;
  /** Joins (no-op if joined): interest at once, a join frame if open (else at the next open). */
  joinRoom(room: string): void;
  /** Leaves (no-op if not joined): a leave frame if open, then no more events from the room. */
  leaveRoom(room: string): void;
  on(event: "message" | "join" | "leave" | "error", l: (e: ChatEvent) => void): () => void;
  off(event: "message" | "join" | "leave" | "error", l: (e: ChatEvent) => void): void;
}

/**
 * The live-data client of the source documents: named data channels with subscribers.
 *
 * A JSON object whose top-level `"channel"` is a subscribed name goes to that name's
 * subscribers only. The filtering is the C++ router's (CHANNEL interest): frames for other
 * names are dropped before JS decodes or parses them. For servers that filter, the client
 * also sends `{type:"subscribe", channel}` when a name gets its first subscriber on the
 * connection and `{type:"unsubscribe", channel}` when it loses its last, and re-sends the
 * subscribes on every reconnect. These control frames (any frame whose type is "subscribe" or
 * "unsubscribe") are never delivered to subscribers.
 *
 * With a URL target the client makes (and in dispose() disposes) its own Channel; like
 * `new Channel()` that needs `await ready()` first (else NOT_READY). A shared Channel is never
 * closed by the client.
 *
 * @example
 * const live = new LiveDataClient(channel);
 * const off = live.subscribe("AAPL", (quote) => render(quote.price));
 */
export class LiveDataClient {
  /** options: ChannelOptions for a URL target; none for a shared Channel (INVALID_ARGUMENT). */
  constructor(target: string | Channel<any>, options?: ChannelOptions);
  readonly channel: Channel;
  /** Names with at least one subscriber, in subscription order. */
  readonly channels: string[];
  /** Resolves when the channel is (or next becomes) open. */
  opened(): Promise<void>;
  /** Returns a function removing this one subscription. The same listener twice counts twice. */
  subscribe(channel: string, l: (msg: any, meta: MessageMeta) => void): () => void;
  /** Removes every subscriber of `channel` (no-op if none). */
  unsubscribe(channel: string): void;
  /** Unsubscribes everything (sending unsubscribes if open); disposes an owned channel. Idempotent. */
  dispose(): void;
}
