/**
 * metachannel: real-time WebSocket channels for metaframes, pages and Node workers.
 * A C++ core compiled to WebAssembly owns the connection state machine, reconnects,
 * heartbeat, send queue and routing; these classes are its JavaScript face.
 *
 * Ownership: every Channel (and client built on one) holds wasm memory until dispose().
 *
 * @packageDocumentation
 */
import { type Channel, openChannel } from "./channel.js";
import type { ChannelOptions, MessageMap, UntypedMessages } from "./types.js";

export { ready, isSupported } from "./loader.js";
export { Channel } from "./channel.js";
export { withNewKey } from "./e2e-key.js";
export { MetaChannelError, type ErrorCode } from "./errors.js";
/** @internal INVALID_ARGUMENT naming the field, for metachannel/store and metachannel/react */
export { invalid as _invalid } from "./errors.js";
/** @internal ready() for a Channel with these options (the full core when they ask for reliable or presence), for metachannel/store */
export { readyFor as _readyFor } from "./loader.js";
/** @internal connect() for connectFromEnv (metachannel/metaframe) */
export { openChannel as _openChannel } from "./channel.js";
/** @internal wasm heap size, for leak tests */
export { memoryBytes as _memoryBytes } from "./loader.js";
/** @internal the route hub, shared by the clients of the root entry and of metachannel/chat, /live-data, /metaframe */
export { RouteHub as _RouteHub } from "./route-hub.js";
/** @internal the listener registry, shared likewise */
export { Emitter as _Emitter } from "./emitter.js";
/** @internal ChannelOptions checking, shared likewise */
export { normalizeOptions as _normalizeOptions } from "./options.js";
/** @internal metachannel/inline */
export { adoptInlineWasm as _useInlineWasm } from "./loader.js";
/** @internal metachannel/inline: the encryption chunk carried in the file */
export { adoptEncryption as _useEncryption } from "./e2e-load.js";
/** @internal metachannel.bundler.mjs (webpack, Parcel): the chunk as a dynamic import they split */
export { useEncryptionImport as _useEncryptionImport } from "./e2e-load.js";
export { MetaframeClient } from "./metaframe-client.js";
export { bindMetaframe } from "./bind-metaframe.js";
export { connectFromEnv } from "./connect-from-env.js";
export { metaframeDefinition, type MetaframeDefinitionOptions } from "./metaframe-definition.js";
export { ChatClient } from "./chat-client.js";
export { LiveDataClient } from "./live-data-client.js";
export type {
  BindMetaframeOptions,
  ChannelEvent,
  ChannelEvents,
  ChannelOptions,
  ChatClientEvents,
  ChatClientOptions,
  ChatEvent,
  CloseEvent,
  ConnectFromEnvOptions,
  HeartbeatOptions,
  Incoming,
  MessageMap,
  MessageMeta,
  MessageOf,
  MessageType,
  MessageTypeOf,
  MetaframeClientOptions,
  OpenEvent,
  Outgoing,
  PresenceEvent,
  LostEvent,
  PresenceOptions,
  QueueOptions,
  ReadyOptions,
  ReconnectOptions,
  ReconnectingEvent,
  ReliableOptions,
  RequestOptions,
  State,
  StateEvent,
  UntypedMessages,
} from "./types.js";

/**
 * The package version.
 * @public
 */
export const version: string = __MC_VERSION__;

/**
 * Awaits ready() (and the full core, loaded once on first use, when `options` ask for
 * `reliable` or `presence`) and returns a Channel that is connecting to `url` (it does not wait for open:
 * use `channel.opened()` or the "open" event). `M` declares the channel's messages (see
 * {@link MessageMap}); without it everything is `any`.
 *
 * @public
 */
export async function connect<M extends MessageMap<M> = UntypedMessages>(url: string, options?: ChannelOptions): Promise<Channel<M>> {
  return openChannel<M>(url, options);
}
