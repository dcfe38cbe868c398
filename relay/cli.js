#!/usr/bin/env node
// metachannel-relay: run the dev relay from the command line.
// Prints exactly one line on stdout once listening:
//   metachannel relay listening on http://127.0.0.1:8787
// (tools and tests read the URL from it). --verbose logs to stderr, and those
// lines never contain tokens.

import { parseArgs } from "node:util";
import { startRelay, RELAY_DEFAULTS as D } from "./server.js";
import { checkRedisUrl } from "./redis.js";
import { checkPublicUrl, checkTrustProxy } from "./public-url.js";

// The API token comes from the environment only: a command-line value is visible to anyone
// who can run `ps` on the machine.
const API_TOKEN_ENV = "METACHANNEL_API_TOKEN";

const HELP = `Usage: metachannel-relay [options]

Broadcast relay for metachannel (docs/deploy.md: running it in production).

  POST /api/channels                 create a channel -> { url, token }; the URL has no key:
                                     for end-to-end encryption the client adds one,
                                     withNewKey(url) -> url#k=<key> (docs/security.md); the
                                     relay never generates, sees or holds keys
  POST /api/channels/<token>/rotate  new channel, old sockets closed 4001
  GET  /api/health                   { ok: true }
  GET  /healthz                      { ok, redis }; 503 while Redis is unreachable or shutting down
  GET  /metrics                      Prometheus text format
  ws://host:port/ch/<token>          every message goes to every socket

Options:
  --port <n>                port to listen on (default 8787; 0 = any free port)
  --host <addr>             address to bind (default 127.0.0.1)
  --redis <url>             redis://host:port: keep channels in Redis and share them with every
                            relay process started with the same URL (needs the ioredis package)
  --state-file <path>       without --redis: keep the channels in this file (atomic writes) so a
                            restart keeps them (default: none, a restart forgets them)
  --channel-idle-ttl <s>    forget a channel with no client for this many seconds, in Redis too
                            (default ${D.channelIdleTtl} = 7 days; 0 = never)
  --public-url <url>        base of minted channel URLs, e.g. wss://chat.example.com
                            (default: ws://<Host header>)
  --trust-proxy <addrs>     comma-separated proxy addresses or subnets (10.0.0.0/8) whose
                            X-Forwarded-Proto/-Host/-For are believed (default: none)
  --drain-timeout <s>       on SIGTERM: close clients with 1012, wait this long for them to go,
                            then exit (default ${D.drainTimeout})
Limits (0 = no limit):
  --max-message-bytes <n>   bigger frames close the sender with 1009 (default ${D.maxMessageBytes})
  --max-clients <n>         sockets per channel; more get HTTP 429 (default ${D.maxClientsPerChannel})
  --rate <n>                messages/s per socket; over it: close 1008 (default ${D.maxMessagesPerSecond})
  --max-bytes-per-second <n> bytes/s per socket; over it: close 1008 (default ${D.maxBytesPerSecond})
  --max-connections-per-ip <n> sockets per client address; more get HTTP 429 (default ${D.maxConnectionsPerIp})
  --max-channels-per-minute <n> channels created per client address a minute; more get HTTP 429
                            (default ${D.maxChannelsPerMinute})
  --allow-origin <origin>   accept upgrades only from this Origin (repeatable; default any)
  --verbose                 log connections to stderr (Redis connection changes are always
                            logged; tokens never are)
  --help                    show this help

Environment:
  ${API_TOKEN_ENV}     when set, creating and rotating channels needs
                            Authorization: Bearer <token> (else HTTP 401); 16+ characters
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
      "max-bytes-per-second": { type: "string" },
      "max-connections-per-ip": { type: "string" },
      "max-channels-per-minute": { type: "string" },
      "channel-idle-ttl": { type: "string" },
      "drain-timeout": { type: "string" },
      "public-url": { type: "string" },
      "trust-proxy": { type: "string" },
      "state-file": { type: "string" },
      "api-token": { type: "string" },
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
if (args["api-token"] !== undefined) {
  fail(`--api-token is not accepted (ps would show it to every user of this machine): set the environment variable ${API_TOKEN_ENV} instead`);
}
const apiToken = process.env[API_TOKEN_ENV] || undefined;
if (apiToken !== undefined && (apiToken.length < 16 || /\s/.test(apiToken))) {
  fail(`${API_TOKEN_ENV} must be 16 or more characters without spaces (e.g. openssl rand -base64 24)`);
}
if (args["public-url"] !== undefined) {
  try {
    checkPublicUrl(args["public-url"]);
  } catch {
    fail("--public-url expects a URL like wss://chat.example.com (ws, wss, http or https; a path prefix is allowed; no query or credentials)");
  }
}
const trustProxy = args["trust-proxy"]
  ?.split(",")
  .map((a) => a.trim())
  .filter(Boolean);
try {
  checkTrustProxy(trustProxy);
} catch (err) {
  fail(`--trust-proxy expects comma-separated IP addresses or subnets (10.0.0.0/8): ${err.message.replace(/^trustProxy entries must be [^(]*/, "")}`);
}
if (args["state-file"] !== undefined && args.redis !== undefined) {
  fail("--state-file is for a relay without --redis (with --redis the channels live in Redis)");
}

let relay;
try {
  relay = await startRelay({
    port,
    host: args.host,
    maxMessageBytes: int(args["max-message-bytes"], "--max-message-bytes"),
    maxClientsPerChannel: int(args["max-clients"], "--max-clients"),
    maxMessagesPerSecond: int(args.rate, "--rate"),
    maxBytesPerSecond: int(args["max-bytes-per-second"], "--max-bytes-per-second"),
    maxConnectionsPerIp: int(args["max-connections-per-ip"], "--max-connections-per-ip"),
    maxChannelsPerMinute: int(args["max-channels-per-minute"], "--max-channels-per-minute"),
    channelIdleTtl: int(args["channel-idle-ttl"], "--channel-idle-ttl"),
    drainTimeout: int(args["drain-timeout"], "--drain-timeout"),
    publicUrl: args["public-url"],
    trustProxy,
    stateFile: args["state-file"],
    apiToken,
    allowedOrigins: args["allow-origin"],
    redis: args.redis,
    // Redis connection changes ('notice') are always logged; connections only with --verbose.
    log: (line, level) => {
      if (args.verbose || level === "notice") process.stderr.write(`${new Date().toISOString()} ${line}\n`);
    },
  });
} catch (err) {
  // EREDIS / EREDISCLIENT messages name the Redis host and port only, never credentials.
  if (err.code === "EREDIS" || err.code === "EREDISCLIENT" || err.code === "ESTATEFILE") process.stderr.write(`metachannel-relay: ${err.message}\n`);
  else process.stderr.write(`metachannel-relay: cannot listen on ${args.host}:${port}: ${err.code ?? err.message}\n`);
  process.exit(1);
}

let stopping = false;
function stop() {
  // A second signal while draining means "now".
  if (stopping) process.exit(130);
  stopping = true;
  // Graceful: stop accepting, clients closed with 1012 (they reconnect at once, elsewhere),
  // up to --drain-timeout for them to go.
  relay.shutdown().then(
    () => process.exit(0),
    () => process.exit(1),
  );
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
// Last: whoever reads this line may signal us at once.
process.stdout.write(`metachannel relay listening on ${relay.baseUrl}\n`);
