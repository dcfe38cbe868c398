/**
 * metachannel: real-time WebSocket channels for metaframes, pages and Node workers.
 * A C++ core compiled to WebAssembly owns the connection state machine, reconnects,
 * heartbeat, send queue and routing; these classes are its JavaScript face.
 *
 * Ownership: every Channel (and client built on one) holds wasm memory until dispose().
 */

// ------------------------------------------------------------------------------ Loading

export interface ReadyOptions {
  /** Where to fetch the .wasm from: called with "metachannel.wasm". Default: next to the script. */
  locateFile?(name: string): string;
  /** The .wasm bytes, if you already have them (no fetch, no file read). */
  wasmBinary?: ArrayBuffer | Uint8Array;
}
/** Loads the wasm core. Idempotent: later calls return the first call's promise. */
export function ready(options?: ReadyOptions): Promise<void>;
/** True when a WebSocket implementation is reachable (global, or the `ws` package in Node). */
export function isSupported(): boolean;
/** The package version. */
export const version: string;

// ------------------------------------------------------------------------------ Channel

/** Awaits ready() and returns a Channel that is connecting to `url` (it does not wait for open). */
export function connect(url: string, options?: ChannelOptions): Promise<Channel>;

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
}

export type ChannelEvent = "open" | "message" | "close" | "error" | "reconnecting" | "state";

export class Channel {
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
  /**
   * object/array/number/boolean/null -> JSON text frame; string -> text frame as is;
   * ArrayBuffer/TypedArray/DataView -> binary frame. Not open: queued (see QueueOptions),
   * flushed in order on open. Throws INVALID_ARGUMENT, INVALID_JSON, MESSAGE_TOO_LARGE,
   * QUEUE_OVERFLOW (overflow "error"), CLOSED, DISPOSED.
   */
  send(message: unknown): void;
  /** Same url: no-op. Another: close the old socket (1000), connect the new one, keep the queue. null: idle. */
  setUrl(url: string | null): void;
  /** Final: never reconnects. code: 1000 or 3000-4999; reason: at most 123 UTF-8 bytes. */
  close(code?: number, reason?: string): void;
  /** Reconnect now: cancels a backoff wait, resets the attempt counter; resumes after REVOKED or RETRIES_EXHAUSTED. */
  reconnect(): void;
  /** Closes and frees all wasm memory; idempotent; afterwards every call throws DISPOSED. */
  dispose(): void;
  /** Resolves at the next (or current) open; rejects with CLOSED if the channel closes for good first. */
  opened(): Promise<void>;
  on(event: "open", l: (e: OpenEvent) => void): () => void;
  on(event: "message", l: (data: unknown, meta: MessageMeta) => void): () => void;
  on(event: "close", l: (e: CloseEvent) => void): () => void;
  on(event: "error", l: (err: MetaChannelError) => void): () => void;
  on(event: "reconnecting", l: (e: ReconnectingEvent) => void): () => void;
  on(event: "state", l: (e: StateEvent) => void): () => void;
  once(event: ChannelEvent, l: (...args: any[]) => void): () => void;
  off(event: ChannelEvent, l: (...args: any[]) => void): void;
  /** JSON objects whose "type" equals `type`; "*" = every JSON object. Returns unsubscribe. */
  onMessage(type: string, l: (msg: any, meta: MessageMeta) => void): () => void;
  // @section channel-extensions
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
  | "LISTENER_THREW" | "DISPOSED" | "CLOSED" | "SOCKET_ERROR";

export class MetaChannelError extends Error {
  readonly code: ErrorCode;
  readonly detail?: unknown;
  constructor(code: ErrorCode, message: string, detail?: unknown);
}

// @section metaframe

// @section clients
