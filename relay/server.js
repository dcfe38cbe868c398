// metachannel dev relay: a small broadcast WebSocket server.
// One file over 500 lines: the relay is one module (HTTP API, WebSocket fan-out, limits, expiry and
// drain share the channel table); Redis mode is relay/redis.js, the CLI relay/cli.js.
//
//   POST /api/channels                -> 201 { url, token }
//   POST /api/channels/<token>/rotate -> 200 { url, token } (old sockets closed 4001 "revoked")
//   GET  /api/health                  -> 200 { ok: true }
//   GET  /healthz                     -> 200 { ok: true, redis } (503 while Redis is away or
//                                        the relay is shutting down)
//   GET  /metrics                     -> Prometheus text format (relay/metrics.js)
//   ws://host/ch/<token>              -> every message goes to every socket of that token,
//                                        the sender included, keeping its frame type.
//
// On its own it keeps its channels in memory (and, with `stateFile`, in a file that a restart
// reads back). With `redis` (--redis) channels live in Redis and any number of relay processes
// share them (relay/redis.js, loaded only then). docs/deploy.md: the production flags.

import { EventEmitter } from "node:events";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import http from "node:http";
import { WebSocketServer } from "ws";
import { RelayMetrics, METRICS_CONTENT_TYPE } from "./metrics.js";
import { PublicUrls, formatHost } from "./public-url.js";
import { StateFile, loadState } from "./state-file.js";
// redis.js needs nothing outside Node; it imports the Redis client (ioredis) only when
// a relay is started with `redis`.
import { RedisBackplane, checkRedisUrl } from "./redis.js";

/**
 * Every option's default, defined once (the CLI's help, server.d.ts and docs/deploy.md say
 * the same). Times in seconds; 0 turns a limit off.
 */
export const RELAY_DEFAULTS = Object.freeze({
  maxMessageBytes: 1024 * 1024 + 64, // a bigger frame closes its sender with 1009; the client's 1 MiB + room for an encrypted frame's 42 bytes
  maxClientsPerChannel: 256, // more: HTTP 429 to the upgrade
  maxMessagesPerSecond: 0, // per connection; over it: close 1008
  maxBytesPerSecond: 0, // per connection; over it: close 1008
  maxConnectionsPerIp: 1000, // open sockets per client address; more: HTTP 429 to the upgrade
  maxChannelsPerMinute: 600, // POST /api/channels per client address per minute; more: HTTP 429
  channelIdleTtl: 7 * 24 * 3600, // a channel with no client for this long is forgotten
  drainTimeout: 10, // shutdown(): how long clients get to close after the 1012
});

// The relay's own close codes (the client's meaning: src/metachannel/vocabulary.h, docs/resilience.md).
export const RELAY_CLOSE = Object.freeze({
  shutdown: [1001, "relay shutting down"], // close()
  restart: [1012, "service restart"], // shutdown() (SIGTERM): reconnect at once, elsewhere
  redisDown: [1013, "redis unavailable"], // Redis away: nothing would be forwarded
  rateLimit: [1008, "rate limit"],
  byteLimit: [1008, "byte rate limit"],
  revoked: [4001, "revoked"],
});

// How long a rotated token is remembered, so that an upgrade admitted just before the
// rotation (its Redis round trip in flight) is still refused. Redis mode only.
const REVOKED_MEMORY_MS = 60_000;

// How long close() waits for clients to answer our close frame before it
// terminates them, so shutdown (and a restart on the same port) stays fast.
const CLOSE_GRACE_MS = 250;

const MINUTE_MS = 60_000;

const JSON_CORS_HEADERS = {
  "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
  "Access-Control-Allow-Headers": "Content-Type, Authorization",
  "Access-Control-Max-Age": "600",
};

// Tokens are secrets, so they are never used as Map keys or compared directly:
// a lookup goes through this digest, and Map lookup by the digest does not
// reveal how many leading characters of a guessed token were right.
function digest(token) {
  return createHash("sha256").update(String(token)).digest("base64url");
}

// 128 random bits, base64url: 22 characters, safe in a URL path.
function newToken() {
  return randomBytes(16).toString("base64url");
}

// Anything that looks like a channel path or rotate path loses its token.
// Applied to every log line as a last line of defence, on top of never
// formatting a token into a message in the first place.
function redact(text) {
  return String(text)
    .replace(/\/ch\/[^\s/?#"']*/g, "/ch/…")
    .replace(/\/api\/channels\/[^\s/?#"']+/g, "/api/channels/…");
}

function nonNegativeInt(value, name, fallback = RELAY_DEFAULTS[name]) {
  if (value === undefined || value === null) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new TypeError(`${name} must be a non-negative integer`);
  }
  return n;
}

/** A channel's sockets on this process, and when it last saw activity (memory mode: expiry). */
class LocalChannel extends Set {
  touched = Date.now();
  /** the relay's turn (#turn) in which its sockets were corked, or 0 */
  corked = 0;
}

/** A count per key in a fixed window (mints per client address per minute). */
class WindowCounter {
  #windows = new Map(); // key -> { start, n }
  #ms;
  constructor(ms) {
    this.#ms = ms;
  }
  /** Counts one for `key`; false when that makes more than `limit` in the current window. */
  take(key, limit, now = Date.now()) {
    let w = this.#windows.get(key);
    if (!w || now - w.start >= this.#ms) {
      w = { start: now, n: 0 };
      this.#windows.set(key, w);
    }
    w.n += 1;
    return w.n <= limit;
  }
  /** Forgets finished windows (bounded memory). */
  prune(now = Date.now()) {
    for (const [k, w] of this.#windows) if (now - w.start >= this.#ms) this.#windows.delete(k);
  }
}

function rejectUpgrade(socket, status) {
  // Same shape as ws's own abortHandshake: a plain HTTP response, then close.
  const body = http.STATUS_CODES[status] ?? "Error";
  socket.once("finish", () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${body}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

export class Relay extends EventEmitter {
  #server;
  #wss;
  // digest(token) -> Set<WebSocket>. On its own: every channel. With Redis: only the
  // channels this process has sockets on (Redis knows the rest).
  #channels = new Map();
  #sockets = new Set(); // every open socket, for close() and dropAll()
  // The batching of #fanOut: ws -> its net.Socket (handed to handleUpgrade), the sockets corked
  // in this turn of the event loop, and the turn's number (a channel corks its sockets once a turn).
  #netSockets = new WeakMap();
  #corked = [];
  #turn = 1;
  #uncorkScheduled = false;
  #uncork = () => {
    this.#uncorkScheduled = false;
    this.#turn += 1;
    const corked = this.#corked;
    this.#corked = [];
    for (const socket of corked) socket.uncork();
  };
  #opts;
  #log;
  #closing = null;
  #redisUrl = null;
  #backplane = null; // RedisBackplane in Redis mode
  #pending = new Map(); // digest -> upgrades awaiting Redis (Redis mode)
  #revoked = new Map(); // digest -> time revoked (Redis mode)
  #urls; // PublicUrls: the base of minted URLs, trusted proxies, client addresses
  #perIp = new Map(); // client address -> open (or upgrading) sockets
  #mints = new WindowCounter(MINUTE_MS); // client address -> channels minted this minute
  #apiToken = null; // digest of METACHANNEL_API_TOKEN, when set
  #stateFile = null; // StateFile (memory mode with stateFile)
  #tick = null; // expiry sweep, touches, pruning
  #ticking = false;
  #released = new Set(); // Redis mode: digests whose last client here left since the last tick
  #known = 0; // Redis mode: channels in Redis as of the last tick

  /** Counters behind GET /metrics. */
  metrics = new RelayMetrics();
  port = 0;
  host;

  constructor(options = {}) {
    super();
    this.host = options.host ?? "127.0.0.1";
    this.#opts = {
      port: nonNegativeInt(options.port, "port", 0),
      maxMessageBytes: nonNegativeInt(options.maxMessageBytes, "maxMessageBytes"),
      maxClientsPerChannel: nonNegativeInt(options.maxClientsPerChannel, "maxClientsPerChannel"),
      maxMessagesPerSecond: nonNegativeInt(options.maxMessagesPerSecond, "maxMessagesPerSecond"),
      maxBytesPerSecond: nonNegativeInt(options.maxBytesPerSecond, "maxBytesPerSecond"),
      maxConnectionsPerIp: nonNegativeInt(options.maxConnectionsPerIp, "maxConnectionsPerIp"),
      maxChannelsPerMinute: nonNegativeInt(options.maxChannelsPerMinute, "maxChannelsPerMinute"),
      idleTtlMs: nonNegativeInt(options.channelIdleTtl, "channelIdleTtl") * 1000,
      drainTimeoutMs: nonNegativeInt(options.drainTimeout, "drainTimeout") * 1000,
      allowedOrigins: options.allowedOrigins?.length ? new Set(options.allowedOrigins) : null,
      protocols: options.protocols?.length ? options.protocols : null,
      stateFile: options.stateFile ?? null,
    };
    this.#urls = new PublicUrls({ publicUrl: options.publicUrl, trustProxy: options.trustProxy });
    if (options.apiToken !== undefined && options.apiToken !== null) {
      if (typeof options.apiToken !== "string" || options.apiToken.length < 16 || /\s/.test(options.apiToken)) {
        throw new TypeError("apiToken must be a string of 16 or more characters without spaces");
      }
      this.#apiToken = createHash("sha256").update(options.apiToken).digest();
    }
    if (options.redis !== undefined && options.redis !== null && options.redis !== false) {
      this.#redisUrl = checkRedisUrl(options.redis);
    }
    if (this.#opts.stateFile !== null && (typeof this.#opts.stateFile !== "string" || !this.#opts.stateFile)) {
      throw new TypeError("stateFile must be a file path");
    }
    if (this.#opts.stateFile && this.#redisUrl) {
      throw new TypeError("stateFile is for a relay without redis: with redis the channels live in Redis");
    }
    const log = options.log;
    // Lines at level 'notice' (Redis connection changes) matter in production; 'info'
    // (connects, refusals) is chatter. The CLI prints notices always, info with --verbose.
    this.#log = typeof log === "function" ? (line, level = "info") => log(redact(line), level) : () => {};

    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false, // we track sockets per channel ourselves
      maxPayload: this.#opts.maxMessageBytes, // ws closes the sender with 1009; 0 = unlimited
      handleProtocols: (offered) => this.#pickProtocol(offered),
    });

    this.#server = http.createServer((req, res) => this.#onRequest(req, res));
    this.#server.on("upgrade", (req, socket, head) => this.#onUpgrade(req, socket, head));
    // Malformed HTTP: answer 400 without echoing anything from the request.
    this.#server.on("clientError", (_err, socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      else socket.destroy();
    });
  }

  /** Total number of accepted WebSocket upgrades since start. */
  get connections() {
    return this.metrics.connections;
  }

  /** True when started with `redis`: channels are shared through Redis. */
  get shared() {
    return this.#redisUrl !== null;
  }

  get baseUrl() {
    return `http://${formatHost(this.host)}:${this.port}`;
  }

  /**
   * Resolves once listening (and, with `redis`, connected to Redis: rejects with
   * err.code 'EREDIS' when it cannot be reached). Node sets SO_REUSEADDR, so a port
   * freed by close() can be bound again at once.
   */
  async listen() {
    if (this.#redisUrl && !this.#backplane) await this.#connectRedis();
    if (this.#opts.stateFile && !this.#stateFile) await this.#loadState();
    this.#startTicking();
    return new Promise((resolve, reject) => {
      const onError = (err) => {
        // Do not leave the Redis connections (or the timer) of a relay that never listened.
        clearInterval(this.#tick);
        const bp = this.#backplane;
        this.#backplane = null;
        (bp ? bp.close() : Promise.resolve()).then(() => reject(err));
      };
      this.#server.once("error", onError);
      this.#server.listen(this.#opts.port, this.host, () => {
        this.#server.off("error", onError);
        this.port = this.#server.address().port;
        this.#log(`relay listening on ${this.baseUrl}`);
        resolve(this);
      });
    });
  }

  /**
   * Same as POST /api/channels, in-process. `token` (in-process only, never from HTTP)
   * re-registers a known token, e.g. to keep a channel URL valid across a restart.
   */
  async createChannel(host, token = newToken()) {
    return this.#create(this.#urls.base(null, host, this.#listenHost()), token);
  }

  async #create(base, token = newToken()) {
    if (!/^[A-Za-z0-9_-]{16,}$/.test(token)) throw new TypeError("token must be 16+ base64url characters");
    if (this.#backplane) {
      await this.#backplane.create(digest(token), Date.now());
    } else {
      this.#channels.set(digest(token), new LocalChannel());
      await this.#stateFile?.save();
    }
    this.#log(`channel created ${base}/ch/…`);
    return { url: `${base}/ch/${token}`, token };
  }

  /**
   * Same as POST /api/channels/<token>/rotate: returns a fresh channel, closes
   * every socket of the old one with 4001 "revoked" and forgets the old token.
   * Throws (err.code = 'ENOCHANNEL') for an unknown token.
   */
  async rotate(token, host) {
    return this.#rotate(token, this.#urls.base(null, host, this.#listenHost()));
  }

  async #rotate(token, base) {
    const key = digest(token);
    if (this.#backplane) return this.#rotateShared(key, base);
    const sockets = this.#channels.get(key);
    if (!sockets) {
      const err = new Error("unknown channel");
      err.code = "ENOCHANNEL";
      throw err;
    }
    this.#channels.delete(key);
    for (const ws of sockets) this.#closeSocket(ws, RELAY_CLOSE.revoked);
    this.#log(`channel rotated, ${sockets.size} socket(s) revoked`);
    return this.#create(base);
  }

  async #rotateShared(key, base) {
    const fresh = newToken();
    if (!(await this.#backplane.rotate(key, digest(fresh), Date.now()))) {
      const err = new Error("unknown channel");
      err.code = "ENOCHANNEL";
      throw err;
    }
    // Every relay (this one too) also hears the revoke through Redis; closing here
    // first does not wait for that round trip.
    const n = this.#revokeLocal(key);
    this.#log(`channel rotated, ${n} socket(s) revoked here, the other relays told`);
    return { url: `${base}/ch/${fresh}`, token: fresh };
  }

  /** Number of open sockets on a channel on this process (0 for unknown tokens). */
  clientCount(token) {
    return this.#channels.get(digest(token))?.size ?? 0;
  }

  /** Fault injection: kill sockets without a close frame (the client sees 1006). */
  dropAll(token) {
    const targets = token === undefined ? this.#sockets : (this.#channels.get(digest(token)) ?? []);
    for (const ws of [...targets]) ws.terminate();
  }

  /** Closes every socket (1001) and the HTTP server; resolves when the port is free. */
  close() {
    return this.#stop(RELAY_CLOSE.shutdown, CLOSE_GRACE_MS);
  }

  /**
   * A graceful stop (the CLI on SIGTERM): stops accepting at once (the port is released and
   * /healthz says 503), closes every client with 1012 "service restart" (metachannel clients
   * reconnect at once, to another relay behind the same address), waits up to `timeoutMs`
   * (default: the drainTimeout option) for them to go, then closes what is left.
   */
  shutdown({ timeoutMs = this.#opts.drainTimeoutMs } = {}) {
    return this.#stop(RELAY_CLOSE.restart, nonNegativeInt(timeoutMs, "timeoutMs", 0));
  }

  #stop(how, graceMs) {
    this.#closing ??= (async () => {
      clearInterval(this.#tick);
      // Stop accepting first: a balancer sends new connections to the other relays.
      const serverClosed = new Promise((resolve) => (this.#server.listening ? this.#server.close(() => resolve()) : resolve()));
      const sockets = [...this.#sockets];
      if (sockets.length) this.#log(`closing ${sockets.length} socket(s) with ${how[0]}`, "notice");
      await Promise.all(
        sockets.map(
          (ws) =>
            new Promise((resolve) => {
              if (ws.readyState === ws.CLOSED) return resolve();
              ws.once("close", resolve);
              this.#closeSocket(ws, how);
              // A client that never answers the close frame must not hold the port.
              setTimeout(() => ws.terminate(), graceMs).unref();
            }),
        ),
      );
      await this.#stateFile?.save();
      this.#channels.clear();
      await this.#backplane?.close();
      this.#wss.close();
      // Idle keep-alive HTTP connections would otherwise delay 'close'.
      this.#server.closeAllConnections();
      await serverClosed;
      this.#log("relay closed");
    })();
    return this.#closing;
  }

  // --- internals -----------------------------------------------------------

  async #connectRedis() {
    const bp = await RedisBackplane.connect(this.#redisUrl, { log: (line) => this.#log(line, "notice"), metrics: this.metrics });
    bp.on("message", (key, data, isBinary) => {
      const channel = this.#channels.get(key);
      if (channel) this.#fanOut(channel, data, isBinary);
    });
    bp.on("revoke", (key) => {
      const n = this.#revokeLocal(key);
      if (n) this.#log(`channel rotated elsewhere, ${n} socket(s) revoked here`);
    });
    bp.on("up", () => this.#resync());
    // Honest failure: a relay that cannot reach Redis could not forward its clients' frames to
    // the other relays, nor theirs to its clients. It closes its clients with 1013 (they back
    // off and come back, to this relay or another, once one can serve them; `reliable` repairs
    // what was in flight) and refuses upgrades with 503 until Redis is back.
    bp.on("down", () => {
      const sockets = [...this.#sockets];
      for (const ws of sockets) this.#closeSocket(ws, RELAY_CLOSE.redisDown);
      if (sockets.length) this.#log(`redis unavailable: ${sockets.length} socket(s) closed with 1013`, "notice");
    });
    this.#backplane = bp;
  }

  async #loadState() {
    const saved = await loadState(this.#opts.stateFile);
    for (const [key, touched] of saved) {
      const channel = new LocalChannel();
      channel.touched = touched;
      this.#channels.set(key, channel);
    }
    this.#stateFile = new StateFile(
      this.#opts.stateFile,
      () => [...this.#channels].map(([key, channel]) => [key, channel.touched]),
      (line) => this.#log(line, "notice"),
    );
    this.#log(`state file: ${saved.size} channel(s) loaded`, "notice");
  }

  #startTicking() {
    if (this.#tick) return;
    // Often enough that a channel is forgotten within a quarter of its TTL after it expired,
    // and that a relay's touches keep its live channels far from the TTL.
    const ttl = this.#opts.idleTtlMs;
    const every = ttl ? Math.min(Math.max(Math.floor(ttl / 4), 50), 10_000) : 10_000;
    this.#tick = setInterval(() => void this.#onTick(), every);
    this.#tick.unref();
  }

  async #onTick() {
    if (this.#ticking || this.#closing) return;
    this.#ticking = true;
    try {
      const now = Date.now();
      this.#mints.prune(now);
      if (this.#backplane) await this.#tickShared(now);
      else this.#expireLocal(now);
    } catch (err) {
      this.#log(`expiry sweep failed: ${err.message}`, "notice");
    } finally {
      this.#ticking = false;
    }
  }

  /** Memory mode: forgets channels with no socket and no activity for the TTL. */
  #expireLocal(now) {
    const ttl = this.#opts.idleTtlMs;
    if (!ttl) return;
    let n = 0;
    for (const [key, channel] of this.#channels) {
      if (channel.size === 0 && now - channel.touched >= ttl) {
        this.#channels.delete(key);
        n += 1;
      }
    }
    if (!n) return;
    this.metrics.channelsExpired += n;
    this.#log(`${n} idle channel(s) expired`);
    void this.#stateFile?.save();
  }

  /**
   * Redis mode: the channels with clients here (and those whose last client here just left)
   * are marked active in Redis; then channels no relay marked for the TTL are deleted. Every
   * relay does both, so expiry works whichever relays are running.
   */
  async #tickShared(now) {
    const bp = this.#backplane;
    if (!bp.up) return;
    const active = [...this.#released];
    this.#released.clear();
    for (const [key, channel] of this.#channels) if (channel.size > 0) active.push(key);
    await bp.touch(active, now);
    if (this.#opts.idleTtlMs) {
      const n = await bp.sweep(now - this.#opts.idleTtlMs);
      if (n) {
        this.metrics.channelsExpired += n;
        this.#log(`${n} idle channel(s) expired in Redis`);
      }
    }
    this.#known = await bp.count();
  }

  /** Closes a socket with one of RELAY_CLOSE's codes, counted in /metrics. */
  #closeSocket(ws, [code, reason]) {
    if (ws.readyState !== ws.OPEN && ws.readyState !== ws.CONNECTING) return;
    this.metrics.closed(code);
    ws.close(code, reason);
  }

  /** After Redis came back: channels rotated meanwhile lose their sockets here too. */
  async #resync() {
    try {
      const gone = await this.#backplane.resync([...this.#channels].map(([key, set]) => [key, set.size]));
      for (const key of gone) this.#revokeLocal(key);
      if (gone.length) this.#log(`${gone.length} channel(s) rotated while Redis was away: sockets revoked`);
    } catch (err) {
      this.#log(`redis resync failed: ${err.message}`, "notice");
    }
  }

  /** Closes this process's sockets of a retired channel with 4001; returns how many. */
  #revokeLocal(key) {
    if (this.#backplane) {
      const now = Date.now();
      for (const [k, at] of this.#revoked) if (now - at > REVOKED_MEMORY_MS) this.#revoked.delete(k);
      this.#revoked.set(key, now);
    }
    const sockets = this.#channels.get(key);
    if (!sockets) return 0;
    this.#channels.delete(key);
    this.#backplane?.unsubscribe(key);
    for (const ws of sockets) this.#closeSocket(ws, RELAY_CLOSE.revoked);
    return sockets.size;
  }

  /**
   * Sends a frame to every open socket of a channel on this process. The channel's sockets are
   * corked for the rest of this turn of the event loop (uncorked in a setImmediate): every
   * frame a socket gets in one turn goes out in one write, not one syscall per frame (at 100
   * peers on one channel, 5 messages/s each, that was 50,000 writes a second; see the fanout
   * bench). The frames' order and content are unchanged.
   */
  #fanOut(channel, data, isBinary) {
    const m = this.metrics;
    if (channel.corked !== this.#turn) {
      channel.corked = this.#turn;
      for (const peer of channel) {
        const socket = this.#netSockets.get(peer);
        if (socket && !socket.destroyed) {
          socket.cork();
          this.#corked.push(socket);
        }
      }
      if (!this.#uncorkScheduled) {
        this.#uncorkScheduled = true;
        setImmediate(this.#uncork);
      }
    }
    for (const peer of channel) {
      if (peer.readyState === peer.OPEN) {
        peer.send(data, { binary: isBinary });
        m.messagesOut += 1;
        m.bytesOut += data.length;
      } else {
        m.drop("closing");
      }
    }
  }

  /** Forgets a Redis-mode channel that has no sockets and no upgrade in flight here. */
  #forgetIfIdle(key) {
    if (!this.#backplane || this.#pending.get(key)) return;
    const channel = this.#channels.get(key);
    if (channel && channel.size > 0) return;
    if (channel) this.#released.add(key); // its idle time starts now (marked at the next tick)
    this.#channels.delete(key);
    this.#backplane.unsubscribe(key);
  }

  #refuse(socket, status, why, where) {
    this.metrics.reject(status);
    if (status !== 503 || why) this.#log(`reject ${status}${why} ${where}`);
    rejectUpgrade(socket, status);
  }

  async #healthz(req, res) {
    const redis = this.#backplane ? ((await this.#backplane.healthy()) ? "up" : "down") : "disabled";
    const ok = redis !== "down" && !this.#closing;
    const body = { ok, redis };
    if (this.#closing) body.shuttingDown = true;
    this.#sendJson(req, res, ok ? 200 : 503, body);
  }

  #sendMetrics(res) {
    const body = this.metrics.render({
      clients: this.#sockets.size,
      channels: [...this.#channels.values()].filter((set) => set.size > 0).length,
      known: this.#backplane ? this.#known : this.#channels.size,
      redis: this.#backplane ? { up: this.#backplane.up } : null,
    });
    res.writeHead(200, { "Content-Type": METRICS_CONTENT_TYPE, "Cache-Control": "no-store" });
    res.end(body);
  }

  #pickProtocol(offered) {
    for (const p of offered) {
      if (!this.#opts.protocols || this.#opts.protocols.includes(p)) return p;
    }
    return false; // no common subprotocol: the client decides whether to give up
  }

  #listenHost() {
    return `${formatHost(this.host)}:${this.port}`;
  }

  #corsOrigin(req) {
    // Open by default (the demo page is served from another port). With an
    // origin allowlist, the JSON API only answers those origins too, so a
    // foreign page cannot mint channels the sockets would refuse anyway.
    if (!this.#opts.allowedOrigins) return "*";
    const origin = req.headers.origin;
    return origin && this.#opts.allowedOrigins.has(origin) ? origin : null;
  }

  #sendJson(req, res, status, body, extraHeaders) {
    const headers = { "Content-Type": "application/json", "Cache-Control": "no-store", ...JSON_CORS_HEADERS, ...extraHeaders };
    const origin = this.#corsOrigin(req);
    if (origin) headers["Access-Control-Allow-Origin"] = origin;
    if (origin && origin !== "*") headers.Vary = "Origin";
    res.writeHead(status, headers);
    res.end(status === 204 ? undefined : JSON.stringify(body));
  }

  async #onRequest(req, res) {
    req.resume(); // request bodies are ignored, but must be drained
    try {
      const path = new URL(req.url, "http://relay").pathname;
      const rotate = /^\/api\/channels\/([^/]+)\/rotate$/.exec(path);
      if (req.method === "OPTIONS" && path.startsWith("/api/")) {
        return this.#sendJson(req, res, 204);
      }
      if (path === "/api/health" && req.method === "GET") {
        return this.#sendJson(req, res, 200, { ok: true });
      }
      if (path === "/healthz" && req.method === "GET") return await this.#healthz(req, res);
      if (path === "/metrics" && req.method === "GET") return this.#sendMetrics(res);
      const mint = path === "/api/channels" && req.method === "POST";
      if (mint || (rotate && req.method === "POST")) {
        if (!this.#authorized(req)) {
          this.metrics.limit("api_token");
          return this.#sendJson(
            req,
            res,
            401,
            { error: "this relay needs Authorization: Bearer <its METACHANNEL_API_TOKEN>" },
            { "WWW-Authenticate": 'Bearer realm="metachannel-relay"' },
          );
        }
        const max = this.#opts.maxChannelsPerMinute;
        if (max > 0 && !this.#mints.take(this.#urls.clientAddress(req), max)) {
          this.metrics.limit("mint_rate");
          return this.#sendJson(req, res, 429, { error: `too many channels created from this address (at most ${max} a minute)` }, { "Retry-After": "60" });
        }
        const base = this.#urls.base(req, req.headers.host, this.#listenHost());
        if (mint) return this.#sendJson(req, res, 201, await this.#create(base));
        return this.#sendJson(req, res, 200, await this.#rotate(rotate[1], base));
      }
      this.#sendJson(req, res, 404, { error: "not found" });
    } catch (err) {
      if (err.code === "ENOCHANNEL") return this.#sendJson(req, res, 404, { error: "unknown channel" });
      if (err.code === "EREDIS") {
        this.#log(`http 503: ${err.message}`);
        return this.#sendJson(req, res, 503, { error: "redis unavailable" });
      }
      this.#log(`http error: ${err.message}`);
      this.#sendJson(req, res, 500, { error: "internal error" });
    }
  }

  /** True when no API token is configured, or the request carries it (compared in constant time). */
  #authorized(req) {
    if (!this.#apiToken) return true;
    const m = /^Bearer ([^\s]+)$/.exec(req.headers.authorization ?? "");
    return m !== null && timingSafeEqual(createHash("sha256").update(m[1]).digest(), this.#apiToken);
  }

  /** Counts an upgrading socket against its client address until the socket closes; false when over the limit. */
  #takeIpSlot(req, socket) {
    const max = this.#opts.maxConnectionsPerIp;
    if (max === 0) return true;
    const ip = this.#urls.clientAddress(req);
    const n = this.#perIp.get(ip) ?? 0;
    if (n >= max) return false;
    this.#perIp.set(ip, n + 1);
    socket.once("close", () => {
      const left = (this.#perIp.get(ip) ?? 1) - 1;
      if (left > 0) this.#perIp.set(ip, left);
      else this.#perIp.delete(ip);
    });
    return true;
  }

  #onUpgrade(req, socket, head) {
    socket.on("error", () => socket.destroy()); // until ws takes over the socket
    const where = `${this.#urls.base(req, req.headers.host, this.#listenHost())}/ch/…`;
    let match = null;
    try {
      match = /^\/ch\/([A-Za-z0-9_-]+)$/.exec(new URL(req.url, "http://relay").pathname);
    } catch {
      // unparsable path: falls through to 404
    }

    if (this.#closing) return this.#refuse(socket, 503, "", where);

    if (this.#opts.allowedOrigins && !this.#opts.allowedOrigins.has(req.headers.origin)) {
      return this.#refuse(socket, 403, " (origin not allowed)", where);
    }
    if (!this.#takeIpSlot(req, socket)) {
      this.metrics.limit("connections_per_ip");
      return this.#refuse(socket, 429, " (too many connections from this address)", where);
    }
    const token = match?.[1];
    if (this.#backplane) return void this.#admitShared(req, socket, head, token, where);
    const key = token && digest(token);
    const channel = key && this.#channels.get(key);
    if (!channel) return this.#refuse(socket, 404, "", where);
    // A full channel refuses the upgrade with HTTP 429 rather than accepting it
    // and closing with 1013: no socket is set up just to be torn down, and
    // 429 sits with the other refusals (403/404) that all happen before the
    // handshake. Browsers see both as a failed connection either way.
    const maxClients = this.#opts.maxClientsPerChannel; // 0 = unlimited
    if (maxClients > 0 && channel.size >= maxClients) {
      return this.#refuse(socket, 429, " (channel full)", where);
    }

    // handleUpgrade completes synchronously here (no verifyClient), so the
    // size check above cannot race with another upgrade on the same channel.
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#netSockets.set(ws, socket);
      this.#onSocket(ws, req, token, key, where);
    });
  }

  /**
   * Redis mode: Redis decides whether the channel exists and has room (counting the
   * sockets of every relay), and this process subscribes to the channel's frames before
   * the handshake completes, so a client never misses a frame sent after its `open`.
   */
  async #admitShared(req, socket, head, token, where) {
    const bp = this.#backplane;
    if (!token) return this.#refuse(socket, 404, "", where);
    if (!bp.up) return this.#refuse(socket, 503, " (redis unavailable)", where);
    const key = digest(token);
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
    let verdict = null;
    try {
      verdict = await bp.admit(key, this.#opts.maxClientsPerChannel);
      if (verdict === "ok") await bp.subscribe(key);
    } catch {
      verdict = verdict === "ok" ? "lost" : "error";
    }
    const n = this.#pending.get(key) - 1;
    if (n) this.#pending.set(key, n);
    else this.#pending.delete(key);

    if (verdict !== "ok") {
      if (verdict === "lost") bp.release(key);
      this.#forgetIfIdle(key);
      if (verdict === "missing") return this.#refuse(socket, 404, "", where);
      if (verdict === "full") return this.#refuse(socket, 429, " (channel full)", where);
      return this.#refuse(socket, 503, " (redis unavailable)", where);
    }
    // Everything below is synchronous: no revoke can slip in between the checks and the handshake.
    if (this.#closing || socket.destroyed || this.#revoked.has(key)) {
      bp.release(key);
      this.#forgetIfIdle(key);
      if (socket.destroyed) return undefined;
      return this.#refuse(socket, this.#closing ? 503 : 404, "", where);
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#netSockets.set(ws, socket);
      this.#onSocket(ws, req, token, key, where);
    });
  }

  #onSocket(ws, req, token, key, where) {
    const m = this.metrics;
    m.connections += 1;
    let channel = this.#channels.get(key);
    if (!channel) {
      channel = new LocalChannel();
      this.#channels.set(key, channel);
    }
    channel.add(ws);
    this.#sockets.add(ws);
    this.#log(`connect ${where} (${channel.size} on channel${this.#backplane ? " here" : ""})`);

    const maxMessages = this.#opts.maxMessagesPerSecond;
    const maxBytes = this.#opts.maxBytesPerSecond;
    const limited = maxMessages > 0 || maxBytes > 0;
    let windowStart = limited ? Date.now() : 0;
    let count = 0;
    let bytes = 0;
    let over = null; // the limit this socket broke: it is closing, later frames are dropped

    ws.on("message", (data, isBinary) => {
      m.messagesIn += 1;
      m.bytesIn += data.length;
      if (limited) {
        // Fixed one-second window: simple, and enough to stop a runaway client.
        const now = Date.now();
        if (now - windowStart >= 1000) {
          windowStart = now;
          count = 0;
          bytes = 0;
        }
        count += 1;
        bytes += data.length;
        if (!over && maxMessages > 0 && count > maxMessages) over = ["message_rate", RELAY_CLOSE.rateLimit];
        if (!over && maxBytes > 0 && bytes > maxBytes) over = ["byte_rate", RELAY_CLOSE.byteLimit];
        if (over) {
          m.drop("rate_limit");
          if (ws.readyState === ws.OPEN) {
            m.limit(over[0]);
            this.#log(`close ${over[1][0]} (${over[1][1]}) ${where}`);
            this.#closeSocket(ws, over[1]);
          }
          return;
        }
      }
      const bp = this.#backplane;
      if (bp && !bp.up) {
        // Never accept a frame that cannot be forwarded: the 'down' handler closes this
        // socket with 1013 (a frame can only race it by arriving in the same tick).
        m.drop("redis_unavailable");
        this.#closeSocket(ws, RELAY_CLOSE.redisDown);
        return;
      }
      this.#fanOut(channel, data, isBinary);
      if (bp && !bp.publish(key, data, isBinary)) m.drop("redis_unavailable");
    });
    // ws emits 'error' for protocol violations (e.g. 1009 too big) and then
    // closes; without a listener the error would crash the process.
    ws.on("error", (err) => {
      if (err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") {
        m.drop("too_large");
        m.limit("message_size");
      }
      this.#log(`socket error ${where}: ${err.message}`);
    });
    ws.on("close", (code) => {
      channel.delete(ws);
      channel.touched = Date.now();
      this.#sockets.delete(ws);
      this.#log(`disconnect ${where} code ${code}`);
      if (this.#backplane) {
        // A revoked channel's counts went with it in Redis.
        if (this.#channels.get(key) === channel) this.#backplane.release(key);
        this.#forgetIfIdle(key);
      }
    });

    this.emit("connection", { token, headers: req.headers, protocol: ws.protocol, socket: ws });
  }
}

/**
 * Starts a relay and resolves once it is listening.
 * @param {{port?: number, host?: string, maxMessageBytes?: number,
 *   maxClientsPerChannel?: number, maxMessagesPerSecond?: number,
 *   allowedOrigins?: string[], protocols?: string[], redis?: string,
 *   log?: false | ((line: string, level: 'info' | 'notice') => void)}} [options]
 *   `redis`: a redis:// URL; channels then live in Redis and every relay process
 *   started with the same URL shares them (needs the ioredis package).
 * @returns {Promise<Relay>}
 */
export async function startRelay(options = {}) {
  return new Relay(options).listen();
}
