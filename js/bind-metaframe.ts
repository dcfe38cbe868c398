// bindMetaframe: one Channel that follows a metaframe input holding the channel URL.
// The metapage gives each metaframe the URL as an input (default "_websocket_url_"); this
// connects when it arrives, ignores a repeat, switches when it changes (a rotated channel)
// and disconnects when it is removed or empty. Works with our MetaframeClient and with the
// real Metaframe class of @metapages/metapage.
import { Channel } from "./channel.js";
import { MetaChannelError, invalid } from "./errors.js";
import { readyFor } from "./loader.js";
import type { MetaframeClient } from "./metaframe-client.js";
import type { BindMetaframeOptions, MessageMap, UntypedMessages } from "./types.js";
import { describeSecret as describeValue, hasOwn } from "./util.js";

export const DEFAULT_INPUT = "_websocket_url_";

/** What bindMetaframe() asks for, in its INVALID_ARGUMENT message. */
const WHAT_TO_PASS = 'a MetaframeClient (`new MetaframeClient()` from "metachannel") or a Metaframe from @metapages/metapage';

interface Binding {
  promise: Promise<Channel<any>> | null;
  channel: Channel<any> | null;
}

/** What bindMetaframe() uses of a client: whichever of these it has. */
interface InputSource {
  onInput?(name: string, fn: (value: unknown) => void): unknown;
  onInputs?: unknown;
  addListener?(event: string, fn: (inputs: Record<string, unknown>) => void): unknown;
  removeListener?(event: string, fn: (inputs: Record<string, unknown>) => void): unknown;
  getInputs?(): Record<string, unknown> | undefined;
}

/** client -> { promise, channel } : binding the same client twice gives the same channel. */
const bindings = new WeakMap<object, Binding>();

/**
 * Subscribes `fn(value)` to changes of input `name` on `client`; returns the unsubscribe.
 * - MetaframeClient and the real Metaframe both have onInput(name, fn) -> disposer.
 * - Otherwise an onInputs(fn) METHOD (assigning onInputs on the real Metaframe does nothing)
 *   or addListener("inputs", fn); those deliver the changed keys, so a key that is absent
 *   from an update is not a removal.
 */
function subscribe(client: InputSource, name: string, fn: (value: unknown) => void): () => void {
  if (typeof client.onInput === "function") {
    const off = client.onInput!(name, fn);
    return typeof off === "function" ? (off as () => void) : () => {};
  }
  const onDelta = (inputs: Record<string, unknown>) => {
    if (hasOwn(inputs, name)) fn(inputs[name]);
  };
  if (typeof client.onInputs === "function") {
    const off = (client.onInputs as (fn: typeof onDelta) => unknown)(onDelta);
    return typeof off === "function" ? (off as () => void) : () => {};
  }
  if (typeof client.addListener === "function") {
    client.addListener("inputs", onDelta);
    return () => {
      if (typeof client.removeListener === "function") client.removeListener("inputs", onDelta);
    };
  }
  return invalid("bindMetaframe(client)", WHAT_TO_PASS, client);
}

function currentValue(client: InputSource, name: string): unknown {
  let inputs: Record<string, unknown> | undefined;
  try {
    inputs = typeof client.getInputs === "function" ? client.getInputs() : undefined;
  } catch {
    inputs = undefined; // a disposed client
  }
  return inputs ? inputs[name] : undefined;
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
 * `client` is a {@link MetaframeClient} or the `Metaframe` of \@metapages/metapage. Binding the
 * same client again returns the same channel (options of later calls are ignored) until that
 * channel is disposed. Rejects like `new Channel()` (e.g. HEADERS_UNSUPPORTED in a browser).
 *
 * @example
 * ```ts
 * const channel = await bindMetaframe(new MetaframeClient());
 * channel.onMessage("progress", (msg) => show(msg.value));
 * ```
 * @public
 */
export function bindMetaframe<M extends MessageMap<M> = UntypedMessages>(
  client: MetaframeClient | object,
  options?: BindMetaframeOptions,
): Promise<Channel<M>> {
  return bind(client, options) as Promise<Channel<M>>;
}

/** A client bindMetaframe() can follow: something with onInput(), an onInputs() method or addListener(). */
function isInputSource(client: unknown): client is InputSource {
  if (client === null || (typeof client !== "object" && typeof client !== "function")) return false;
  const c = client as InputSource;
  return typeof c.onInput === "function" || typeof c.onInputs === "function" || typeof c.addListener === "function";
}

function bind(client: unknown, options: unknown): Promise<Channel<any>> {
  if (!isInputSource(client)) invalid("bindMetaframe(client)", WHAT_TO_PASS, client);
  const source = client;
  const existing = bindings.get(client as object);
  if (existing && !existing.channel?.disposed) return existing.promise!;

  if (options === undefined || options === null) options = {};
  if (typeof options !== "object" || Array.isArray(options)) invalid("bindMetaframe(client, options)", "an object", options);
  const { input = DEFAULT_INPUT, ...channelOptions } = options as BindMetaframeOptions;
  if (typeof input !== "string" || input === "") invalid("options.input", "a non-empty input name", input);

  const binding: Binding = { promise: null, channel: null };
  let unsubscribe = () => {};

  const NONE: unknown = {};
  let early = NONE; // the last value an update carried before the channel existed
  let updated = false; // an update arrived after the channel existed: newer than any snapshot

  const apply = (value: unknown) => {
    const channel = binding.channel!;
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
        new MetaChannelError(
          "INVALID_URL",
          `metaframe input "${input}" must be a ws:// or wss:// URL (got ${describeValue(value)}); the channel keeps its current connection`,
          { input },
        ),
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
  unsubscribe = subscribe(source, input, (value) => {
    if (!binding.channel) {
      early = value;
      return;
    }
    updated = true;
    apply(value);
  });

  binding.promise = (async () => {
    try {
      await readyFor(channelOptions);
      binding.channel = new Channel(null, channelOptions);
    } catch (err) {
      unsubscribe();
      if (bindings.get(client as object) === binding) bindings.delete(client as object);
      throw err;
    }
    // The value the client already holds, applied after the caller got the channel (and
    // could attach an "error" listener): a macrotask runs after the caller's await resumes.
    // Skipped when an update came in meanwhile (it is newer than any snapshot).
    setTimeout(() => {
      if (updated) return;
      if (typeof source.getInputs === "function") apply(currentValue(source, input));
      else if (early !== NONE) apply(early);
    }, 0);
    return binding.channel;
  })();
  bindings.set(client as object, binding);
  return binding.promise;
}
