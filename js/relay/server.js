// metachannel dev relay: a small broadcast WebSocket server.
//
//   POST /api/channels                -> 201 { url, token }
//   POST /api/channels/<token>/rotate -> 200 { url, token } (old sockets closed 4001 "revoked")
//   GET  /api/health                  -> 200 { ok: true }
//   ws://host/ch/<token>              -> every message goes to every socket of that token,
//                                        the sender included, keeping its frame type.
//
// Used for development, the demo and the tests. It is a real server, but it
// keeps everything in memory: channels disappear when the process stops.

import { EventEmitter } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { WebSocketServer } from 'ws';

const MiB = 1024 * 1024;

// How long close() waits for clients to answer our close frame before it
// terminates them, so shutdown (and a restart on the same port) stays fast.
const CLOSE_GRACE_MS = 250;

const JSON_CORS_HEADERS = {
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type',
  'Access-Control-Max-Age': '600',
};

// Tokens are secrets, so they are never used as Map keys or compared directly:
// a lookup goes through this digest, and Map lookup by the digest does not
// reveal how many leading characters of a guessed token were right.
function digest(token) {
  return createHash('sha256').update(String(token)).digest('base64url');
}

// 128 random bits, base64url: 22 characters, safe in a URL path.
function newToken() {
  return randomBytes(16).toString('base64url');
}

// Anything that looks like a channel path or rotate path loses its token.
// Applied to every log line as a last line of defence, on top of never
// formatting a token into a message in the first place.
function redact(text) {
  return String(text)
    .replace(/\/ch\/[^\s/?#"']*/g, '/ch/…')
    .replace(/\/api\/channels\/[^\s/?#"']+/g, '/api/channels/…');
}

// Only a plain hostname[:port] or [ipv6][:port] from the Host header is echoed
// back in channel URLs; anything else falls back to the listen address.
const HOST_HEADER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

function formatHost(host) {
  // A wildcard bind address is not something a client can connect to.
  if (host === '0.0.0.0' || host === '::' || host === '') host = '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
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
  const body = http.STATUS_CODES[status] ?? 'Error';
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${body}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export class Relay extends EventEmitter {
  #server;
  #wss;
  #channels = new Map(); // digest(token) -> Set<WebSocket>
  #sockets = new Set(); // every open socket, for close() and dropAll()
  #opts;
  #log;
  #closing = null;

  /** Total number of accepted WebSocket upgrades since start. */
  connections = 0;
  port = 0;
  host;

  constructor(options = {}) {
    super();
    this.host = options.host ?? '127.0.0.1';
    this.#opts = {
      port: nonNegativeInt(options.port, 'port', 0),
      maxMessageBytes: nonNegativeInt(options.maxMessageBytes, 'maxMessageBytes', MiB),
      maxClientsPerChannel: nonNegativeInt(options.maxClientsPerChannel, 'maxClientsPerChannel', 256),
      maxMessagesPerSecond: nonNegativeInt(options.maxMessagesPerSecond, 'maxMessagesPerSecond', 0),
      allowedOrigins: options.allowedOrigins?.length ? new Set(options.allowedOrigins) : null,
      protocols: options.protocols?.length ? options.protocols : null,
    };
    const log = options.log;
    this.#log = typeof log === 'function' ? (line) => log(redact(line)) : () => {};

    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false, // we track sockets per channel ourselves
      maxPayload: this.#opts.maxMessageBytes, // ws closes the sender with 1009; 0 = unlimited
      handleProtocols: (offered) => this.#pickProtocol(offered),
    });

    this.#server = http.createServer((req, res) => this.#onRequest(req, res));
    this.#server.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head));
    // Malformed HTTP: answer 400 without echoing anything from the request.
    this.#server.on('clientError', (err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  get baseUrl() {
    return `http://${formatHost(this.host)}:${this.port}`;
  }

  /** Resolves once listening. Node sets SO_REUSEADDR, so a port freed by close() can be bound again at once. */
  listen() {
    return new Promise((resolve, reject) => {
      const onError = (err) => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(this.#opts.port, this.host, () => {
        this.#server.off('error', onError);
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
    if (!/^[A-Za-z0-9_-]{16,}$/.test(token)) throw new TypeError('token must be 16+ base64url characters');
    this.#channels.set(digest(token), new Set());
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
    const sockets = this.#channels.get(key);
    if (!sockets) {
      const err = new Error('unknown channel');
      err.code = 'ENOCHANNEL';
      throw err;
    }
    this.#channels.delete(key);
    for (const ws of sockets) ws.close(4001, 'revoked');
    this.#log(`channel rotated, ${sockets.size} socket(s) revoked`);
    return this.createChannel(host);
  }

  /** Number of open sockets on a channel (0 for unknown tokens). */
  clientCount(token) {
    return this.#channels.get(digest(token))?.size ?? 0;
  }

  /** Fault injection: kill sockets without a close frame (the client sees 1006). */
  dropAll(token) {
    const targets = token === undefined ? this.#sockets : this.#channels.get(digest(token)) ?? [];
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
              ws.once('close', resolve);
              ws.close(1001, 'relay shutting down');
              // A client that never answers the close frame must not hold the port.
              setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
            }),
        ),
      );
      this.#channels.clear();
      this.#wss.close();
      await new Promise((resolve) => {
        if (!this.#server.listening) return resolve();
        this.#server.close(() => resolve());
        // Idle keep-alive HTTP connections would otherwise delay 'close'.
        this.#server.closeAllConnections();
      });
      this.#log('relay closed');
    })();
    return this.#closing;
  }

  // --- internals -----------------------------------------------------------

  #pickProtocol(offered) {
    for (const p of offered) {
      if (!this.#opts.protocols || this.#opts.protocols.includes(p)) return p;
    }
    return false; // no common subprotocol: the client decides whether to give up
  }

  #urlHost(hostHeader) {
    if (typeof hostHeader === 'string' && HOST_HEADER.test(hostHeader)) return hostHeader;
    return `${formatHost(this.host)}:${this.port}`;
  }

  #channelUrl(token, hostHeader) {
    return `ws://${this.#urlHost(hostHeader)}/ch/${token}`;
  }

  #corsOrigin(req) {
    // Open by default (the demo page is served from another port). With an
    // origin allowlist, the JSON API only answers those origins too, so a
    // foreign page cannot mint channels the sockets would refuse anyway.
    if (!this.#opts.allowedOrigins) return '*';
    const origin = req.headers.origin;
    return origin && this.#opts.allowedOrigins.has(origin) ? origin : null;
  }

  #sendJson(req, res, status, body) {
    const headers = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...JSON_CORS_HEADERS };
    const origin = this.#corsOrigin(req);
    if (origin) headers['Access-Control-Allow-Origin'] = origin;
    if (origin && origin !== '*') headers.Vary = 'Origin';
    res.writeHead(status, headers);
    res.end(status === 204 ? undefined : JSON.stringify(body));
  }

  async #onRequest(req, res) {
    req.resume(); // request bodies are ignored, but must be drained
    try {
      const path = new URL(req.url, 'http://relay').pathname;
      const rotate = /^\/api\/channels\/([^/]+)\/rotate$/.exec(path);
      if (req.method === 'OPTIONS' && path.startsWith('/api/')) {
        return this.#sendJson(req, res, 204);
      }
      if (path === '/api/health' && req.method === 'GET') {
        return this.#sendJson(req, res, 200, { ok: true });
      }
      if (path === '/api/channels' && req.method === 'POST') {
        return this.#sendJson(req, res, 201, await this.createChannel(req.headers.host));
      }
      if (rotate && req.method === 'POST') {
        return this.#sendJson(req, res, 200, await this.rotate(rotate[1], req.headers.host));
      }
      this.#sendJson(req, res, 404, { error: 'not found' });
    } catch (err) {
      if (err.code === 'ENOCHANNEL') return this.#sendJson(req, res, 404, { error: 'unknown channel' });
      this.#log(`http error: ${err.message}`);
      this.#sendJson(req, res, 500, { error: 'internal error' });
    }
  }

  #onUpgrade(req, socket, head) {
    socket.on('error', () => socket.destroy()); // until ws takes over the socket
    const where = `ws://${this.#urlHost(req.headers.host)}/ch/…`;
    let match = null;
    try {
      match = /^\/ch\/([A-Za-z0-9_-]+)$/.exec(new URL(req.url, 'http://relay').pathname);
    } catch {
      // unparsable path: falls through to 404
    }

    if (this.#closing) return rejectUpgrade(socket, 503);

    if (this.#opts.allowedOrigins && !this.#opts.allowedOrigins.has(req.headers.origin)) {
      this.#log(`reject 403 (origin not allowed) ${where}`);
      return rejectUpgrade(socket, 403);
    }
    const token = match?.[1];
    const channel = token && this.#channels.get(digest(token));
    if (!channel) {
      this.#log(`reject 404 ${where}`);
      return rejectUpgrade(socket, 404);
    }
    // A full channel refuses the upgrade with HTTP 429 rather than accepting it
    // and closing with 1013: no socket is set up just to be torn down, and
    // 429 sits with the other refusals (403/404) that all happen before the
    // handshake. Browsers see both as a failed connection either way.
    const maxClients = this.#opts.maxClientsPerChannel; // 0 = unlimited
    if (maxClients > 0 && channel.size >= maxClients) {
      this.#log(`reject 429 (channel full) ${where}`);
      return rejectUpgrade(socket, 429);
    }

    // handleUpgrade completes synchronously here (no verifyClient), so the
    // size check above cannot race with another upgrade on the same channel.
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onSocket(ws, req, token, channel, where));
  }

  #onSocket(ws, req, token, channel, where) {
    this.connections += 1;
    channel.add(ws);
    this.#sockets.add(ws);
    this.#log(`connect ${where} (${channel.size} on channel)`);

    const limit = this.#opts.maxMessagesPerSecond;
    let windowStart = Date.now();
    let count = 0;

    ws.on('message', (data, isBinary) => {
      if (limit > 0) {
        // Fixed one-second window: simple, and enough to stop a runaway client.
        const now = Date.now();
        if (now - windowStart >= 1000) {
          windowStart = now;
          count = 0;
        }
        if (++count > limit) {
          this.#log(`close 1008 (rate limit) ${where}`);
          ws.close(1008, 'rate limit');
          return;
        }
      }
      for (const peer of channel) {
        if (peer.readyState === peer.OPEN) peer.send(data, { binary: isBinary });
      }
    });
    // ws emits 'error' for protocol violations (e.g. 1009 too big) and then
    // closes; without a listener the error would crash the process.
    ws.on('error', (err) => this.#log(`socket error ${where}: ${err.message}`));
    ws.on('close', (code) => {
      channel.delete(ws);
      this.#sockets.delete(ws);
      this.#log(`disconnect ${where} code ${code}`);
    });

    this.emit('connection', { token, headers: req.headers, protocol: ws.protocol, socket: ws });
  }
}

/**
 * Starts a relay and resolves once it is listening.
 * @param {{port?: number, host?: string, maxMessageBytes?: number,
 *   maxClientsPerChannel?: number, maxMessagesPerSecond?: number,
 *   allowedOrigins?: string[], protocols?: string[],
 *   log?: false | ((line: string) => void)}} [options]
 * @returns {Promise<Relay>}
 */
export async function startRelay(options = {}) {
  return new Relay(options).listen();
}
