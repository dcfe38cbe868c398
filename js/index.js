// metachannel: the package entry.
import { ready } from "./loader.js";
import { Channel } from "./channel.js";

export { ready, isSupported } from "./loader.js";
export { Channel } from "./channel.js";
export { MetaChannelError } from "./errors.js";
export { memoryBytes as _memoryBytes } from "./loader.js"; // internal: wasm heap size, for leak tests
export { useInlineWasm as _useInlineWasm } from "./loader.js"; // internal: metachannel/inline
export { MetaframeClient } from "./metaframe-client.js";
export { bindMetaframe } from "./bind-metaframe.js";
export { connectFromEnv } from "./connect-from-env.js";
export { ChatClient } from "./chat-client.js";
export { LiveDataClient } from "./live-data-client.js";

/* global __MC_VERSION__ */
export const version = __MC_VERSION__;

/**
 * Loads the core if needed and returns a Channel connecting to `url` (it does not wait for
 * the connection to open: use `channel.opened()` or the "open" event).
 */
export async function connect(url, options) {
  await ready();
  return new Channel(url, options);
}
