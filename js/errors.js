/**
 * The one error class of metachannel. Every failure, thrown or emitted as an `error` event,
 * is a MetaChannelError with a stable `code` (see ErrorCode in metachannel.d.ts).
 */
export class MetaChannelError extends Error {
  /**
   * @param {string} code one of ERROR_CODES
   * @param {string} message what happened and what to do about it (never a channel secret)
   * @param {unknown} [detail] extra data: a count, a close code, the value a listener threw
   */
  constructor(code, message, detail) {
    super(message);
    this.name = "MetaChannelError";
    /** @readonly */
    this.code = code;
    if (detail !== undefined) {
      /** @readonly */
      this.detail = detail;
    }
  }

  toString() {
    return `MetaChannelError [${this.code}]: ${this.message}`;
  }
}

/** In the order of mc::ErrorCode (src/metachannel/types.h); index 0 is "no error". */
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
];

/** Throws INVALID_ARGUMENT naming the field and what is allowed. */
export function invalid(field, allowed, got) {
  throw new MetaChannelError("INVALID_ARGUMENT", `${field} must be ${allowed} (got ${describe(got)})`, { field });
}

export function describe(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (typeof value === "function") return "a function";
  if (value === undefined) return "undefined";
  return `a ${value?.constructor?.name || typeof value}`;
}
