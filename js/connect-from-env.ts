// connectFromEnv: the Node worker side of a metapage container. The container gets its
// channel URL injected as an environment variable (WEBSOCKET_URL by default); this reads it
// and connects, or fails with a message that says what to do.
import { type Channel, openChannel } from "./channel.js";
import { MetaChannelError, invalid } from "./errors.js";
import type { ConnectFromEnvOptions, MessageMap, UntypedMessages } from "./types.js";

export const DEFAULT_ENV = "WEBSOCKET_URL";

/**
 * For Node workers in a metapage container: connects to the URL in
 * `process.env[options.env ?? "WEBSOCKET_URL"]` (does not wait for open). The other options
 * are ChannelOptions. Rejects with MetaChannelError INVALID_URL when the variable is unset,
 * empty or not a ws(s) URL.
 *
 * @example
 * ```ts
 * const channel = await connectFromEnv();
 * channel.send({ type: "progress", value: 0.5 });
 * ```
 * @public
 */
export async function connectFromEnv<M extends MessageMap<M> = UntypedMessages>(options?: ConnectFromEnvOptions): Promise<Channel<M>> {
  if (options === undefined || options === null) options = {};
  if (typeof options !== "object" || Array.isArray(options)) invalid("connectFromEnv(options)", "an object", options);
  const { env = DEFAULT_ENV, ...channelOptions } = options;
  if (typeof env !== "string" || env === "") invalid("options.env", "the name of an environment variable", env);
  const vars = typeof process !== "undefined" && process && process.env ? process.env : {};
  const raw = vars[env];
  const value = typeof raw === "string" ? raw.trim() : "";
  if (!value) {
    throw new MetaChannelError("INVALID_URL", `${env} is not set; a metapage container gets it injected, or set it to a ws:// URL`, { env });
  }
  try {
    return await openChannel<M>(value, channelOptions);
  } catch (err) {
    if (err instanceof MetaChannelError && err.code === "INVALID_URL") {
      // The core's message shows ws://host/… only; say where the URL came from.
      throw new MetaChannelError("INVALID_URL", `${env}: ${err.message}`, { env });
    }
    throw err;
  }
}
