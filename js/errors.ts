// The one error class of metachannel, and the INVALID_ARGUMENT helper every check uses.
import { describe } from "./util.js";
import type { ErrorCode } from "./vocabulary.js";

export type { ErrorCode } from "./vocabulary.js";

/**
 * The one error class of metachannel. Every failure, thrown or emitted as an `error` event,
 * is a MetaChannelError with a stable `code`. No message contains a channel URL's secret part
 * (path and query): URLs are shown as `ws://host/…`.
 *
 * @public
 */
export class MetaChannelError extends Error {
  /** What went wrong, as a stable code. */
  readonly code: ErrorCode;
  /** Extra data: a count, a close code, the value a listener threw, … (absent when none). */
  declare readonly detail?: unknown;

  /**
   * @param code - one of {@link ErrorCode}
   * @param message - what happened and what to do about it (never a channel secret)
   * @param detail - extra data: a count, a close code, the value a listener threw
   */
  constructor(code: ErrorCode, message: string, detail?: unknown) {
    super(message);
    this.name = "MetaChannelError";
    this.code = code;
    if (detail !== undefined) {
      (this as { detail?: unknown }).detail = detail;
    }
  }

  override toString(): string {
    return `MetaChannelError [${this.code}]: ${this.message}`;
  }
}

/** Throws INVALID_ARGUMENT naming the field and what is allowed. @internal */
export function invalid(field: string, allowed: string, got: unknown): never {
  throw new MetaChannelError("INVALID_ARGUMENT", `${field} must be ${allowed} (got ${describe(got)})`, { field });
}
