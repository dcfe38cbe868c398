import { ERROR_CODES } from "./vocabulary.js";

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

/** Every error code, in the order of mc::ErrorCode (src/metachannel/vocabulary.h); index 0 is "no error". */
export { ERROR_CODES };

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
