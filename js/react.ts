// metachannel/react: hooks over the framework-neutral stores (./store.ts), through React's
// useSyncExternalStore. A component asks for a channel by URL (or the metaframe's own); every
// component asking for the same URL and options shares one socket, opened by the first and
// closed a tick after the last one unmounts (so StrictMode's mount/unmount/mount and fast
// refresh keep the socket). On the server the hooks return their initial values ("loading",
// no channel, no messages) and nothing subscribes: no socket, no browser global.
//
// Built into dist/react.mjs and dist/react.cjs with "metachannel" and "metachannel/store" (the
// package's own entries, resolved by the user's bundler or Node) and "react" left as imports.
import { useMemo, useSyncExternalStore } from "react";
import type { Channel, Incoming, MessageMap, MessageType, MetaChannelError, Outgoing, State, UntypedMessages } from "./index.js";
import {
  type ChannelSnapshot,
  type ChannelStore,
  type ChannelStoreOptions,
  type MetaframeStoreOptions,
  channelStore,
  messagesStore,
  metaframeStore,
  presenceStore,
} from "./store.js";

/**
 * What useChannel and useMetaframeChannel return.
 * @public
 */
export interface ChannelHook<M extends MessageMap<M> = UntypedMessages> {
  /** The shared Channel once it exists (null while loading, when idle, on the server). */
  channel: Channel<M> | null;
  /** The channel's state, or "loading" before it exists (and on the server), "idle" without a URL. */
  state: State | "loading";
  /** The last error the channel reported, else null. */
  error: MetaChannelError | null;
  /** Sends on the shared channel; held while it is being created. See {@link ChannelStore.send}. */
  send(message: Outgoing<M>): void;
}

function useStore<M extends MessageMap<M>>(fresh: ChannelStore<M>): ChannelHook<M> {
  // The store is a cheap handle: keep the first one for as long as the key stays the same.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the key (URL + options by value) is the store's identity
  const store = useMemo(() => fresh, [fresh.key]);
  const snapshot: ChannelSnapshot<M> = useSyncExternalStore(store.subscribe, store.get, () => store.initial);
  return { channel: snapshot.channel, state: snapshot.state, error: snapshot.error, send: store.send };
}

/**
 * The channel at `url`, shared by every component that asks for the same URL and options (by
 * value; functions such as a `WebSocket` class by identity). A null or empty URL, or
 * `enabled: false`: no channel (state "idle").
 *
 * @example
 * ```tsx
 * const { channel, state, send } = useChannel<AppMessage>(url);
 * const last = useMessage(channel, "chat");
 * ```
 * @public
 */
export function useChannel<M extends MessageMap<M> = UntypedMessages>(url: string | null | undefined, options?: ChannelStoreOptions): ChannelHook<M> {
  return useStore(channelStore<M>(url, options));
}

/**
 * This metaframe's channel: the URL from the metapage's `_websocket_url_` input (`options.input`)
 * through the built-in MetaframeClient and bindMetaframe(). One per page.
 * @public
 */
export function useMetaframeChannel<M extends MessageMap<M> = UntypedMessages>(options?: MetaframeStoreOptions): ChannelHook<M> {
  return useStore(metaframeStore<M>(options));
}

const NO_MESSAGES: readonly never[] = [];

/**
 * The newest messages of `type` ("*": every JSON object) on `channel`, oldest first, at most
 * `options.last` (default 100), counted from the first component that asked.
 * @public
 */
export function useMessages<M extends MessageMap<M>, T extends MessageType<M>>(
  channel: Channel<M> | null | undefined,
  type: T,
  options?: { last?: number },
): readonly Incoming<M, T>[] {
  const last = options?.last;
  const store = useMemo(() => messagesStore(channel, type, last === undefined ? undefined : { last }), [channel, type, last]);
  return useSyncExternalStore(store.subscribe, store.get, () => NO_MESSAGES);
}

/**
 * The last message of `type` on `channel` (undefined until one arrives).
 * @public
 */
export function useMessage<M extends MessageMap<M>, T extends MessageType<M>>(channel: Channel<M> | null | undefined, type: T): Incoming<M, T> | undefined {
  const messages = useMessages(channel, type, { last: 1 });
  return messages[messages.length - 1];
}

const NOBODY: ReadonlyMap<string, unknown> = new Map();

/**
 * The other peers on `channel` (id -> presence state): a new Map after each change. The
 * channel needs the `presence` option.
 * @public
 */
export function usePresence(channel: Channel<any> | null | undefined): ReadonlyMap<string, unknown> {
  const store = useMemo(() => presenceStore(channel), [channel]);
  return useSyncExternalStore(store.subscribe, store.get, () => NOBODY);
}
