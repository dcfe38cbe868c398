// metachannel dev relay: a small broadcast WebSocket server.
//
//   POST /api/channels                -> 201 { url, token }
//   POST /api/channels/<token>/rotate -> 200 { url, token } (old sockets closed 4001 "revoked")
//   GET  /api/health                  -> 200 { ok: true }
//   GET  /healthz                     -> 200 { ok: true, redis } (503 while Redis is away)
//   GET  /metrics                     -> Prometheus text format (js/relay/metrics.js)
//   ws://host/ch/<token>              -> every message goes to every socket of that token,
//                                        the sender included, keeping its frame type.
//
// Used for development, the demo and the tests. On its own it keeps everything in
// memory: channels disappear when the process stops. With `redis` (--redis) channels
// live in Redis and any number of relay processes share them (js/relay/redis.js,
// loaded only then).

import { EventEmitter } from "node:events";
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { WebSocketServer } from "ws";
import { RelayMetrics, METRICS_CONTENT_TYPE } from "./metrics.js";
// redis.js needs nothing outside Node; it imports the Redis client (ioredis) only when
// a relay is started with `redis`.
import { RedisBackplane, checkRedisUrl } from "./redis.js";

// How long a rotated token is remembered, so that an upgrade admitted just before the
// rotation (its Redis round trip in flight) is still refused. Redis mode only.
const REVOKED_MEMORY_MS = 60_000;

const MiB = 1024 * 1024;

// How long close() waits for clients to answer our close frame before it
// terminates them, so shutdown (and a restart on the same port) stays fast.
const CLOSE_GRACE_MS = 250;

const JSON_CORS_HEADERS = {
  "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
  "Access-Control-Allow-Headers": "Content-Type",
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

// Only a plain hostname[:port] or [ipv6][:port] from the Host header is echoed
// back in channel URLs; anything else falls back to the listen address.
const HOST_HEADER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

function formatHost(host) {
  // A wildcard bind address is not something a client can connect to.
  if (host === "0.0.0.0" || host === "::" || host === "") host = "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

function nonNegativeInt(value, name, fallback) {
  if (value === undefined || value === null) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new TypeError(`${name} must be a non-negative integer`);
  }
  return n;
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
  #opts;
  #log;
  #closing = null;
  #redisUrl = null;
  #backplane = null; // RedisBackplane in Redis mode
  #pending = new Map(); // digest -> upgrades awaiting Redis (Redis mode)
  #revoked = new Map(); // digest -> time revoked (Redis mode)

  /** Counters behind GET /metrics. */
  metrics = new RelayMetrics();
  port = 0;
  host;

  constructor(options = {}) {
    super();
    this.host = options.host ?? "127.0.0.1";
    this.#opts = {
      port: nonNegativeInt(options.port, "port", 0),
      maxMessageBytes: nonNegativeInt(options.maxMessageBytes, "maxMessageBytes", MiB),
      maxClientsPerChannel: nonNegativeInt(options.maxClientsPerChannel, "maxClientsPerChannel", 256),
      maxMessagesPerSecond: nonNegativeInt(options.maxMessagesPerSecond, "maxMessagesPerSecond", 0),
      allowedOrigins: options.allowedOrigins?.length ? new Set(options.allowedOrigins) : null,
      protocols: options.protocols?.length ? options.protocols : null,
    };
    if (options.redis !== undefined && options.redis !== null && options.redis !== false) {
      this.#redisUrl = checkRedisUrl(options.redis);
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
    return new Promise((resolve, reject) => {
      const onError = (err) => {
        // Do not leave the Redis connections of a relay that never listened open.
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
    if (!/^[A-Za-z0-9_-]{16,}$/.test(token)) throw new TypeError("token must be 16+ base64url characters");
    if (this.#backplane) await this.#backplane.create(digest(token));
    else this.#channels.set(digest(token), new Set());
    this.#log(`channel created ws://${this.#urlHost(host)}/ch/…`);
    return { url: this.#channelUrl(token, host), token };
  }

  /**
   * Same as POST /api/channels/<token>/rotate: returns a fresh channel, closes
   * every socket of the old one with 4001 "revoked" and forgets the old token.
   * Throws (err.code = 'ENOCHANNEL') for an unknown token.
   */
  async rotate(token, host) {
    const key = digest(token);
    if (this.#backplane) return this.#rotateShared(key, host);
    const sockets = this.#channels.get(key);
    if (!sockets) {
      const err = new Error("unknown channel");
      err.code = "ENOCHANNEL";
      throw err;
    }
    this.#channels.delete(key);
    for (const ws of sockets) ws.close(4001, "revoked");
    this.#log(`channel rotated, ${sockets.size} socket(s) revoked`);
    return this.createChannel(host);
  }

  async #rotateShared(key, host) {
    const fresh = newToken();
    if (!(await this.#backplane.rotate(key, digest(fresh)))) {
      const err = new Error("unknown channel");
      err.code = "ENOCHANNEL";
      throw err;
    }
    // Every relay (this one too) also hears the revoke through Redis; closing here
    // first does not wait for that round trip.
    const n = this.#revokeLocal(key);
    this.#log(`channel rotated, ${n} socket(s) revoked here, the other relays told`);
    return { url: this.#channelUrl(fresh, host), token: fresh };
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

  /** Closes every socket and the HTTP server; resolves when the port is free. */
  close() {
    this.#closing ??= (async () => {
      const sockets = [...this.#sockets];
      await Promise.all(
        sockets.map(
          (ws) =>
            new Promise((resolve) => {
              if (ws.readyState === ws.CLOSED) return resolve();
              ws.once("close", resolve);
              ws.close(1001, "relay shutting down");
              // A client that never answers the close frame must not hold the port.
              setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
            }),
        ),
      );
      this.#channels.clear();
      await this.#backplane?.close();
      this.#wss.close();
      await new Promise((resolve) => {
        if (!this.#server.listening) return resolve();
        this.#server.close(() => resolve());
        // Idle keep-alive HTTP connections would otherwise delay 'close'.
        this.#server.closeAllConnections();
      });
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
    this.#backplane = bp;
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
    for (const ws of sockets) ws.close(4001, "revoked");
    return sockets.size;
  }

  /** Sends a frame to every open socket of a channel on this process. */
  #fanOut(channel, data, isBinary) {
    const m = this.metrics;
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
    this.#channels.delete(key);
    this.#backplane.unsubscribe(key);
  }

  #refuse(socket, status, why, where) {
    this.metrics.reject(status);
    if (status !== 503 || why) this.#log(`reject ${status}${why} ${where}`);
    rejectUpgrade(socket, status);
  }

  async #healthz(req, res) {
    if (!this.#backplane) return this.#sendJson(req, res, 200, { ok: true, redis: "disabled" });
    const up = await this.#backplane.healthy();
    this.#sendJson(req, res, up ? 200 : 503, { ok: up, redis: up ? "up" : "down" });
  }

  #sendMetrics(res) {
    const body = this.metrics.render({
      clients: this.#sockets.size,
      channels: [...this.#channels.values()].filter((set) => set.size > 0).length,
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

  #urlHost(hostHeader) {
    if (typeof hostHeader === "string" && HOST_HEADER.test(hostHeader)) return hostHeader;
    return `${formatHost(this.host)}:${this.port}`;
  }

  #channelUrl(token, hostHeader) {
    return `ws://${this.#urlHost(hostHeader)}/ch/${token}`;
  }

  #corsOrigin(req) {
    // Open by default (the demo page is served from another port). With an
    // origin allowlist, the JSON API only answers those origins too, so a
    // foreign page cannot mint channels the sockets would refuse anyway.
    if (!this.#opts.allowedOrigins) return "*";
    const origin = req.headers.origin;
    return origin && this.#opts.allowedOrigins.has(origin) ? origin : null;
  }

  #sendJson(req, res, status, body) {
    const headers = { "Content-Type": "application/json", "Cache-Control": "no-store", ...JSON_CORS_HEADERS };
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
      if (path === "/api/channels" && req.method === "POST") {
        return this.#sendJson(req, res, 201, await this.createChannel(req.headers.host));
      }
      if (rotate && req.method === "POST") {
        return this.#sendJson(req, res, 200, await this.rotate(rotate[1], req.headers.host));
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

  #onUpgrade(req, socket, head) {
    socket.on("error", () => socket.destroy()); // until ws takes over the socket
    const where = `ws://${this.#urlHost(req.headers.host)}/ch/…`;
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
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onSocket(ws, req, token, key, where));
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
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onSocket(ws, req, token, key, where));
  }

  #onSocket(ws, req, token, key, where) {
    const m = this.metrics;
    m.connections += 1;
    let channel = this.#channels.get(key);
    if (!channel) {
      channel = new Set();
      this.#channels.set(key, channel);
    }
    channel.add(ws);
    this.#sockets.add(ws);
    this.#log(`connect ${where} (${channel.size} on channel${this.#backplane ? " here" : ""})`);

    const limit = this.#opts.maxMessagesPerSecond;
    let windowStart = Date.now();
    let count = 0;

    ws.on("message", (data, isBinary) => {
      m.messagesIn += 1;
      m.bytesIn += data.length;
      if (limit > 0) {
        // Fixed one-second window: simple, and enough to stop a runaway client.
        const now = Date.now();
        if (now - windowStart >= 1000) {
          windowStart = now;
          count = 0;
        }
        if (++count > limit) {
          m.drop("rate_limit");
          if (count === limit + 1) {
            this.#log(`close 1008 (rate limit) ${where}`);
            ws.close(1008, "rate limit");
          }
          return;
        }
      }
      this.#fanOut(channel, data, isBinary);
      if (this.#backplane && !this.#backplane.publish(key, data, isBinary)) m.drop("redis_unavailable");
    });
    // ws emits 'error' for protocol violations (e.g. 1009 too big) and then
    // closes; without a listener the error would crash the process.
    ws.on("error", (err) => {
      if (err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") m.drop("too_large");
      this.#log(`socket error ${where}: ${err.message}`);
    });
    ws.on("close", (code) => {
      channel.delete(ws);
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
