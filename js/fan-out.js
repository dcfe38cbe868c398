// Delivery of one routed frame to every listener of a key (a chat room, a live-data channel):
// all of them run even if one throws; the first error is rethrown for the channel to report
// as LISTENER_THREW.

/**
 * @param {Iterable<(msg: any, meta: any) => void>} listeners copied first, so a listener may
 *   add or remove listeners of the same key
 */
export function fanOut(listeners, msg, meta) {
  let failed = false;
  let first;
  for (const deliver of [...listeners]) {
    try {
      deliver(msg, meta);
    } catch (err) {
      if (!failed) first = err;
      failed = true;
    }
  }
  if (failed) throw first;
}
