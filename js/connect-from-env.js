// connectFromEnv: the Node worker side of a metapage container. The container gets its
// channel URL injected as an environment variable (WEBSOCKET_URL by default); this reads it
// and connects, or fails with a message that says what to do.
import { MetaChannelError, invalid } from "./errors.js";
import { ready } from "./loader.js";
import { Channel } from "./channel.js";

export const DEFAULT_ENV = "WEBSOCKET_URL";

/**
 * Connects to the URL in `process.env[options.env ?? "WEBSOCKET_URL"]`. The other options are
 * ChannelOptions. Rejects with INVALID_URL when the variable is unset, empty or not a ws(s) URL.
 */
export async function connectFromEnv(options) {
  if (options === undefined || options === null) options = {};
  if (typeof options !== "object" || Array.isArray(options)) invalid("connectFromEnv(options)", "an object", options);
  const { env = DEFAULT_ENV, ...channelOptions } = options;
  if (typeof env !== "string" || env === "") invalid("options.env", "the name of an environment variable", env);
  const vars = typeof process !== "undefined" && process && process.env ? process.env : {};
  const value = typeof vars[env] === "string" ? vars[env].trim() : "";
  if (!value) {
    throw new MetaChannelError("INVALID_URL", `${env} is not set; a metapage container gets it injected, or set it to a ws:// URL`, { env });
  }
  await ready();
  try {
    return new Channel(value, channelOptions);
  } catch (err) {
    if (err instanceof MetaChannelError && err.code === "INVALID_URL") {
      // The core's message shows ws://host/… only; say where the URL came from.
      throw new MetaChannelError("INVALID_URL", `${env}: ${err.message}`, { env });
    }
    throw err;
  }
}
