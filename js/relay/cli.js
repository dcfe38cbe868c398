#!/usr/bin/env node
// metachannel-relay: run the dev relay from the command line.
// Prints exactly one line on stdout once listening:
//   metachannel relay listening on http://127.0.0.1:8787
// (tools and tests read the URL from it). --verbose logs to stderr, and those
// lines never contain tokens.

import { parseArgs } from "node:util";
import { startRelay } from "./server.js";
import { checkRedisUrl } from "./redis.js";

const HELP = `Usage: metachannel-relay [options]

Development broadcast relay for metachannel.

  POST /api/channels                 create a channel -> { url, token }
  POST /api/channels/<token>/rotate  new channel, old sockets closed 4001
  GET  /api/health                   { ok: true }
  GET  /healthz                      { ok, redis }; 503 while Redis is unreachable
  GET  /metrics                      Prometheus text format
  ws://host:port/ch/<token>          every message goes to every socket

Options:
  --port <n>                port to listen on (default 8787; 0 = any free port)
  --host <addr>             address to bind (default 127.0.0.1)
  --max-message-bytes <n>   bigger frames close the sender with 1009 (default 1048576; 0 = no limit)
  --max-clients <n>         sockets per channel; more get HTTP 429 (default 256; 0 = no limit)
  --rate <n>                messages/s per socket, over it: close 1008 (default 0 = unlimited)
  --allow-origin <origin>   accept upgrades only from this Origin (repeatable; default any)
  --redis <url>             redis://host:port: keep channels in Redis and share them with every
                            relay process started with the same URL (needs the ioredis package)
  --verbose                 log connections to stderr (Redis connection changes are always
                            logged; tokens never are)
  --help                    show this help
`;

function fail(message) {
  process.stderr.write(`metachannel-relay: ${message}\n`);
  process.exit(2);
}

function int(value, flag) {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) fail(`${flag} expects a non-negative integer`);
  return n;
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      port: { type: "string", default: "8787" },
      host: { type: "string", default: "127.0.0.1" },
      "max-message-bytes": { type: "string" },
      "max-clients": { type: "string" },
      rate: { type: "string" },
      "allow-origin": { type: "string", multiple: true },
      redis: { type: "string" },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  }));
} catch (err) {
  fail(`${err.message}\n\n${HELP}`);
}

if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const port = int(args.port, "--port");
if (port > 65535) fail("--port must be at most 65535");
if (args.redis !== undefined) {
  try {
    checkRedisUrl(args.redis);
  } catch {
    fail("--redis expects a URL like redis://host:port (or rediss:// for TLS)");
  }
}

let relay;
try {
  relay = await startRelay({
    port,
    host: args.host,
    maxMessageBytes: int(args["max-message-bytes"], "--max-message-bytes"),
    maxClientsPerChannel: int(args["max-clients"], "--max-clients"),
    maxMessagesPerSecond: int(args.rate, "--rate"),
    allowedOrigins: args["allow-origin"],
    redis: args.redis,
    // Redis connection changes ('notice') are always logged; connections only with --verbose.
    log: (line, level) => {
      if (args.verbose || level === "notice") process.stderr.write(`${new Date().toISOString()} ${line}\n`);
    },
  });
} catch (err) {
  // EREDIS / EREDISCLIENT messages name the Redis host and port only, never credentials.
  if (err.code === "EREDIS" || err.code === "EREDISCLIENT") process.stderr.write(`metachannel-relay: ${err.message}\n`);
  else process.stderr.write(`metachannel-relay: cannot listen on ${args.host}:${port}: ${err.code ?? err.message}\n`);
  process.exit(1);
}

process.stdout.write(`metachannel relay listening on ${relay.baseUrl}\n`);

let stopping = false;
function stop() {
  // A second Ctrl-C while closing means "now".
  if (stopping) process.exit(130);
  stopping = true;
  relay.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
