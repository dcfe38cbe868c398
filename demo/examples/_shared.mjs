// Shared by the examples: command-line parsing, and where the channel URL comes from.
//
//   node <example>.mjs [ws://…channel-url] [--count N] [--once] [--name value …]
//
// The URL is the first argument, else $WEBSOCKET_URL; with neither, the example starts a
// local dev relay (relay/server.js) in-process and makes a channel on it, so every
// example also runs on its own. Channel URLs are secrets: examples print only ws://host/….
import { startRelay } from "../../relay/server.js";

/** Parses argv: positional URL, `--flag value` pairs, bare `--flag`s (true). */
export function parseArgs(argv = process.argv.slice(2)) {
  const opts = {};
  let url = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith("--")) {
      const [name, inline] = a.slice(2).split("=", 2);
      if (inline !== undefined) opts[name] = inline;
      else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) opts[name] = argv[++i];
      else opts[name] = true;
    } else if (url === null) {
      url = a;
    }
  }
  if (opts.once) opts.count = 1;
  return { url, opts };
}

/** A positive integer option, or `fallback`. */
export function intOption(opts, name, fallback) {
  if (opts[name] === undefined) return fallback;
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer`);
    process.exit(2);
  }
  return n;
}

/** ws://host/… : what may be printed of a channel URL. */
export function redact(url) {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return "(invalid URL)";
  }
}

/**
 * The channel URL to use: argv, else $WEBSOCKET_URL, else a channel on a local dev relay
 * started here. `done()` stops that relay (a no-op otherwise).
 */
export async function channelUrl(url) {
  const given = url || process.env.WEBSOCKET_URL;
  if (given) return { url: given, done: async () => {} };
  const relay = await startRelay({ port: 0 });
  const channel = await relay.createChannel();
  console.log(`(no channel URL given: started a local dev relay, channel ${redact(channel.url)})`);
  return { url: channel.url, done: () => relay.close() };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
