// The names and numbers both languages know (the C++ core and this JS layer), in one module.
// Nothing else in js/ defines such a table: import it from here. The values follow the C++
// definitions (src/metachannel/types.h, router.h, the option defaults of bindings/); this file
// is meant to be generated from them.

/** Channel states, in the order of mc::State. */
export const STATES = ["idle", "connecting", "open", "reconnecting", "closing", "closed"] as const;

/** Error codes, in the order of mc::ErrorCode (src/metachannel/types.h); index 0 is "no error". */
export const ERROR_CODES = [
  "",
  "NOT_READY",
  "NOT_SUPPORTED",
  "INVALID_URL",
  "INVALID_ARGUMENT",
  "INVALID_JSON",
  "MESSAGE_TOO_LARGE",
  "QUEUE_OVERFLOW",
  "HEADERS_UNSUPPORTED",
  "CONNECT_TIMEOUT",
  "HEARTBEAT_TIMEOUT",
  "REVOKED",
  "RETRIES_EXHAUSTED",
  "LISTENER_THREW",
  "DISPOSED",
  "CLOSED",
  "SOCKET_ERROR",
  "REQUEST_TIMEOUT", // JS only (request()): mc::ErrorCode never produces it
  "LOAD_FAILED", // JS only (ready()): the wasm could not be fetched, compiled or instantiated
  "MESSAGES_LOST", // from the core's own "lost" event (reliable delivery), never an mc::ErrorCode
] as const;

/** Route bits of a delivered frame (src/metachannel/router.h). */
export const ROUTE = {
  MESSAGE: 1,
  TYPE: 2,
  ANY: 4,
  SUBSCRIPTION: 8,
  ROOM: 16,
  REPLY: 32,
  PARSE: 256,
  OBJECT: 512,
  SEQ: 2048,
  LATE: 4096,
} as const;

/** Interest kinds registered with the router (mc::Interest). */
export const INTEREST = { MESSAGE: 0, ANY: 1, TYPE: 2, CHANNEL: 3, ROOM: 4, REPLY: 5 } as const;

/** The reserved member of a reliable sender's JSON objects: "<id>:<seq>" (docs/reliability.md). */
export const RELIABLE_TAG = "_mc";

/** Option defaults (documented in README.md and the ChannelOptions doc comments). */
export const DEFAULTS = Object.freeze({
  maxMessageBytes: 1048576,
  closeTimeoutMs: 5000,
  reconnect: Object.freeze({
    minDelayMs: 500,
    maxDelayMs: 30000,
    factor: 2,
    jitter: "full",
    maxRetries: Infinity,
    connectTimeoutMs: 10000,
    stableAfterMs: 5000,
  }),
  queue: Object.freeze({ maxMessages: 1000, maxBytes: 1048576, overflow: "drop-oldest" }),
  heartbeat: Object.freeze({ message: "ping", pong: "pong" }),
});

/** Largest reliable.bufferMessages: a receiver reports larger gaps lost at once (rel::kMaxGap). */
export const MAX_BUFFER_MESSAGES = 1048576;
