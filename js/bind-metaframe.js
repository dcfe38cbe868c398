// bindMetaframe: one Channel that follows a metaframe input holding the channel URL.
// The metapage gives each metaframe the URL as an input (default "_websocket_url_"); this
// connects when it arrives, ignores a repeat, switches when it changes (a rotated channel)
// and disconnects when it is removed or empty. Works with our MetaframeClient and with the
// real Metaframe class of @metapages/metapage.
import { MetaChannelError, invalid } from "./errors.js";
import { ready } from "./loader.js";
import { Channel } from "./channel.js";

export const DEFAULT_INPUT = "_websocket_url_";

/** client -> { promise, channel } : binding the same client twice gives the same channel. */
const bindings = new WeakMap();

const hasOwn = (o, k) => o != null && Object.prototype.hasOwnProperty.call(o, k);

/**
 * Subscribes `fn(value)` to changes of input `name` on `client`; returns the unsubscribe.
 * - MetaframeClient and the real Metaframe both have onInput(name, fn) -> disposer.
 * - Otherwise an onInputs(fn) METHOD (assigning onInputs on the real Metaframe does nothing)
 *   or addListener("inputs", fn); those deliver the changed keys, so a key that is absent
 *   from an update is not a removal.
 */
function subscribe(client, name, fn) {
  if (typeof client.onInput === "function") {
    const off = client.onInput(name, fn);
    return typeof off === "function" ? off : () => {};
  }
  const onDelta = (inputs) => {
    if (hasOwn(inputs, name)) fn(inputs[name]);
  };
  if (typeof client.onInputs === "function") {
    const off = client.onInputs(onDelta);
    return typeof off === "function" ? off : () => {};
  }
  if (typeof client.addListener === "function") {
    client.addListener("inputs", onDelta);
    return () => (typeof client.removeListener === "function" ? client.removeListener("inputs", onDelta) : undefined);
  }
  invalid("bindMetaframe(client)", "a MetaframeClient or a Metaframe from @metapages/metapage", client);
}

function currentValue(client, name) {
  let inputs;
  try {
    inputs = typeof client.getInputs === "function" ? client.getInputs() : undefined;
  } catch {
    inputs = undefined; // a disposed client
  }
  return inputs ? inputs[name] : undefined;
}

/** The scheme of a string, for error messages that must not show the rest of it. */
function describeValue(value) {
  if (typeof value === "string") {
    const scheme = /^\s*([A-Za-z][A-Za-z0-9+.-]*):/.exec(value);
    return scheme ? `a string starting with "${scheme[1]}:"` : `a string that is not a URL`;
  }
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/**
 * Returns (a promise of) the Channel bound to `client`'s input `options.input`.
 * See metachannel.d.ts for the contract.
 */
export function bindMetaframe(client, options) {
  if (client === null || (typeof client !== "object" && typeof client !== "function")) {
    invalid("bindMetaframe(client)", "a MetaframeClient or a Metaframe from @metapages/metapage", client);
  }
  const existing = bindings.get(client);
  if (existing && !(existing.channel && existing.channel.disposed)) return existing.promise;

  if (options === undefined || options === null) options = {};
  if (typeof options !== "object" || Array.isArray(options)) invalid("bindMetaframe(client, options)", "an object", options);
  const { input = DEFAULT_INPUT, ...channelOptions } = options;
  if (typeof input !== "string" || input === "") invalid("options.input", "a non-empty input name", input);

  const binding = { promise: null, channel: null };
  let unsubscribe = () => {};

  const NONE = {};
  let early = NONE; // the last value an update carried before the channel existed
  let updated = false; // an update arrived after the channel existed: newer than any snapshot

  const apply = (value) => {
    const channel = binding.channel;
    if (channel.disposed) {
      unsubscribe();
      return;
    }
    if (value === undefined || value === null || value === "") {
      if (channel.url !== null) channel.setUrl(null);
      return;
    }
    if (typeof value !== "string" || !/^wss?:\/\/[^/]/i.test(value.trim())) {
      channel._emitError(
        new MetaChannelError("INVALID_URL", `metaframe input "${input}" must be a ws:// or wss:// URL (got ${describeValue(value)}); the channel keeps its current connection`, { input }),
      );
      return;
    }
    const url = value.trim();
    if (url === channel.url) return; // the metapage delivers inputs set before the handshake twice
    try {
      channel.setUrl(url);
    } catch (err) {
      // The core's own validation (its message shows ws://host/… only).
      if (err instanceof MetaChannelError) channel._emitError(err);
      else throw err;
    }
  };

  // Subscribe now, before any await, so that no update is missed (the real Metaframe emits
  // per-input events for the handshake only to listeners that exist at that moment).
  unsubscribe = subscribe(client, input, (value) => {
    if (!binding.channel) {
      early = value;
      return;
    }
    updated = true;
    apply(value);
  });

  binding.promise = (async () => {
    try {
      await ready();
      binding.channel = new Channel(null, channelOptions);
    } catch (err) {
      unsubscribe();
      if (bindings.get(client) === binding) bindings.delete(client);
      throw err;
    }
    // The value the client already holds, applied after the caller got the channel (and
    // could attach an "error" listener): a macrotask runs after the caller's await resumes.
    // Skipped when an update came in meanwhile (it is newer than any snapshot).
    setTimeout(() => {
      if (updated) return;
      if (typeof client.getInputs === "function") apply(currentValue(client, input));
      else if (early !== NONE) apply(early);
    }, 0);
    return binding.channel;
  })();
  bindings.set(client, binding);
  return binding.promise;
}
