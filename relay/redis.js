// The relay's Redis mode: channels live in Redis, frames fan out to the other relay
// processes through Redis pub/sub. Loaded (with the ioredis client) only when the relay
// is started with --redis / { redis }; without it the relay never imports this file.
//
// What is kept in Redis (keys never hold a token, only its SHA-256 digest):
//   mc:ch:<digest>     "1" while the channel is valid (created, not rotated away)
//   mc:n:<digest>      hash relay id -> sockets that relay holds on the channel
//                      (sums to the channel's client count; maxClientsPerChannel checks it)
//   mc:relay:<id>      present while relay <id> is alive (refreshed every HEARTBEAT_MS,
//                      expires after RELAY_TTL_MS): counts of a killed relay stop counting
//   mc:active          sorted set: digest -> last time (ms) a relay had a client on it; every
//                      relay marks its channels with clients at each tick and deletes the
//                      channels nobody marked for --channel-idle-ttl (SWEEP)
//   mc:m:<digest>      pub/sub: frames, as <8-byte relay id><1 flag byte><payload>
//   mc:ctl             pub/sub: "revoke <digest>" after a rotation
//
// A relay sends a frame to its own clients directly and publishes it once; every other
// relay subscribed to the channel (it has clients there) sends it to its clients and the
// publisher skips its own copy, so each client gets each frame exactly once.

import { EventEmitter } from "node:events";
import { randomBytes } from "node:crypto";

const PREFIX = "mc:";
const KEYS = {
  channel: (d) => `${PREFIX}ch:${d}`,
  clients: (d) => `${PREFIX}n:${d}`,
  relayPrefix: `${PREFIX}relay:`,
  messages: (d) => `${PREFIX}m:${d}`,
  messagesPrefix: `${PREFIX}m:`,
  control: `${PREFIX}ctl`,
  active: `${PREFIX}active`,
};

// Channels swept per SWEEP call (each call is atomic; a big backlog takes several).
const SWEEP_BATCH = 1000;

export const RELAY_TTL_MS = 15_000;
const HEARTBEAT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 5_000;
const HEALTH_TIMEOUT_MS = 1_000;
const ID_BYTES = 8;
const FLAG_BINARY = 1;

// Admission, counted across every relay: -2 unknown channel, -1 full, else the new count.
// Fields of relays whose liveness key is gone (killed) are removed, not counted. An admitted
// channel is active now: no sweep can take it before this relay's next touch.
const ADMIT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
local max = tonumber(ARGV[1])
if max > 0 then
  local fields = redis.call('HGETALL', KEYS[2])
  local total = 0
  for i = 1, #fields, 2 do
    if fields[i] == ARGV[2] or redis.call('EXISTS', ARGV[3] .. fields[i]) == 1 then
      total = total + tonumber(fields[i + 1])
    else
      redis.call('HDEL', KEYS[2], fields[i])
    end
  end
  if total >= max then return -1 end
end
redis.call('ZADD', KEYS[3], 'XX', ARGV[4], ARGV[5])
return redis.call('HINCRBY', KEYS[2], ARGV[2], 1)`;

const RELEASE = `
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return n`;

// Atomic: of two rotations of one token only one wins; the revoke is published in the
// same step, so no relay can admit a socket on the old token after it.
const ROTATE = `
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[3], '1')
redis.call('ZREM', KEYS[4], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[4])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1`;

// Deletes up to ARGV[2] channels not marked active since ARGV[1] (ms); returns how many.
const SWEEP = `
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, d in ipairs(gone) do
  redis.call('DEL', ARGV[3] .. d, ARGV[4] .. d)
  redis.call('ZREM', KEYS[1], d)
end
return #gone`;

// After a reconnect: is the channel still valid, and restore this relay's count on it.
const RESYNC = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1`;

/** A Redis URL without its credentials, path or query: safe to log. */
export function describeRedisUrl(url) {
  const u = new URL(url);
  return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ""}`;
}

/** Throws a TypeError unless `url` is a redis:// or rediss:// URL (never echoes it: it may hold a password). */
export function checkRedisUrl(url) {
  let u = null;
  try {
    u = typeof url === "string" ? new URL(url) : null;
  } catch {
    // reported below
  }
  if (!u || (u.protocol !== "redis:" && u.protocol !== "rediss:") || !u.hostname) {
    throw new TypeError("redis must be a URL like redis://host:port (or rediss:// for TLS)");
  }
  return url;
}

function redisError(message, cause) {
  const err = new Error(message, cause ? { cause } : undefined);
  err.code = "EREDIS";
  return err;
}

async function loadClient() {
  try {
    return (await import("ioredis")).Redis;
  } catch (err) {
    if (err.code !== "ERR_MODULE_NOT_FOUND") throw err;
    const e = new Error("--redis needs the ioredis package (an optional dependency of metachannel): run `npm install ioredis`");
    e.code = "EREDISCLIENT";
    throw e;
  }
}

function withTimeout(promise, ms) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("timed out")), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Events: 'message' (digest, payload: Buffer, isBinary), 'revoke' (digest),
 * 'up' (after a lost connection came back), 'down'.
 */
export class RedisBackplane extends EventEmitter {
  #cmd; // commands and PUBLISH; no offline queue: when Redis is away, calls fail at once
  #sub; // subscriber; ioredis re-subscribes after a reconnect
  #id = randomBytes(ID_BYTES);
  #idHex = this.#id.toString("hex");
  #subscriptions = new Map(); // digest -> Promise of the SUBSCRIBE
  #log;
  #metrics;
  #where;
  #started = false;
  #closing = false;
  #up = false;
  #subSynced = false; // the subscriber's subscriptions are in place on the current connection
  #downSince = 0;
  #heartbeat = null;

  static async connect(url, options) {
    const Redis = await loadClient();
    const backplane = new RedisBackplane(Redis, url, options);
    await backplane.#start();
    return backplane;
  }

  constructor(Redis, url, { log, metrics }) {
    super();
    this.#log = log;
    this.#metrics = metrics;
    this.#where = describeRedisUrl(url);
    // Reconnect forever once running (backoff capped at 2 s); at start, fail at once.
    const retryStrategy = (times) => (this.#started && !this.#closing ? Math.min(50 * 2 ** Math.min(times, 6), 2000) : null);
    const common = { lazyConnect: true, connectTimeout: CONNECT_TIMEOUT_MS, retryStrategy, connectionName: `metachannel-relay-${this.#idHex}` };
    this.#cmd = new Redis(url, {
      ...common,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false, // a PUBLISH is never sent twice
      maxRetriesPerRequest: 0,
      scripts: {
        mcAdmit: { numberOfKeys: 3, lua: ADMIT },
        mcRelease: { numberOfKeys: 1, lua: RELEASE },
        mcRotate: { numberOfKeys: 4, lua: ROTATE },
        mcSweep: { numberOfKeys: 1, lua: SWEEP },
        mcResync: { numberOfKeys: 2, lua: RESYNC },
      },
    });
    this.#sub = new Redis(url, { ...common, maxRetriesPerRequest: null });
    for (const conn of [this.#cmd, this.#sub]) {
      conn.on("error", (err) => this.#onError(err));
      conn.on("close", () => this.#onStatus());
    }
    this.#cmd.on("ready", () => this.#onStatus());
    this.#sub.on("close", () => (this.#subSynced = false));
    // ioredis writes the SUBSCRIBEs of the lost connection right before 'ready'; the reply
    // to a PING sent after them means Redis has processed them, and only then are we up.
    this.#sub.on("ready", () => {
      if (!this.#started) return;
      this.#sub.ping().then(
        () => {
          this.#subSynced = this.#sub.status === "ready";
          this.#onStatus();
        },
        () => {},
      );
    });
    this.#sub.on("messageBuffer", (channel, message) => this.#onPubSub(channel, message));
  }

  /** Both connections are ready and the subscriptions restored. */
  get up() {
    return this.#cmd.status === "ready" && this.#sub.status === "ready" && this.#subSynced;
  }

  get where() {
    return this.#where;
  }

  async #start() {
    let lastError = null;
    const remember = (err) => (lastError ??= err);
    this.#cmd.on("error", remember);
    this.#sub.on("error", remember);
    try {
      await Promise.all([this.#cmd.connect(), this.#sub.connect()]);
      await this.#sub.subscribe(KEYS.control);
      this.#subSynced = true;
      await this.#cmd.set(KEYS.relayPrefix + this.#idHex, "1", "PX", RELAY_TTL_MS);
    } catch (err) {
      this.#cmd.disconnect();
      this.#sub.disconnect();
      const why = (lastError ?? err).code ?? (lastError ?? err).message;
      throw redisError(`cannot connect to Redis at ${this.#where}: ${why}`, lastError ?? err);
    } finally {
      this.#cmd.off("error", remember);
      this.#sub.off("error", remember);
    }
    this.#started = true;
    this.#up = true;
    this.#heartbeat = setInterval(() => {
      if (this.#cmd.status === "ready") this.#cmd.set(KEYS.relayPrefix + this.#idHex, "1", "PX", RELAY_TTL_MS).catch(() => {});
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
    this.#log(`redis connected: ${this.#where}`);
  }

  #onError(err) {
    // Reported once per outage by #onStatus; ioredis also emits an error per retry.
    if (this.#started && this.#up && !this.#closing) this.#log(`redis error: ${err.code ?? err.message}`);
  }

  #onStatus() {
    if (!this.#started || this.#closing) return;
    const up = this.up;
    if (up === this.#up) return;
    this.#up = up;
    if (!up) {
      this.#downSince = Date.now();
      this.#log(`redis connection lost (${this.#where}); reconnecting`);
      this.emit("down");
      return;
    }
    this.#metrics.redisReconnects += 1;
    const secs = ((Date.now() - this.#downSince) / 1000).toFixed(1);
    this.#log(`redis connection restored (${this.#where}) after ${secs} s`);
    this.#cmd.set(KEYS.relayPrefix + this.#idHex, "1", "PX", RELAY_TTL_MS).catch(() => {});
    this.emit("up");
  }

  #onPubSub(channelBuf, message) {
    const channel = channelBuf.toString("latin1");
    if (channel.startsWith(KEYS.messagesPrefix)) {
      if (message.length < ID_BYTES + 1 || this.#id.equals(message.subarray(0, ID_BYTES))) return; // our own
      this.#metrics.redisReceived += 1;
      const binary = (message[ID_BYTES] & FLAG_BINARY) !== 0;
      this.emit("message", channel.slice(KEYS.messagesPrefix.length), message.subarray(ID_BYTES + 1), binary);
    } else if (channel === KEYS.control) {
      const m = /^revoke ([A-Za-z0-9_-]+)$/.exec(message.toString("latin1"));
      if (m) this.emit("revoke", m[1]);
    }
  }

  async #call(fn) {
    if (this.#cmd?.status !== "ready") throw redisError("redis unavailable");
    try {
      return await fn(this.#cmd);
    } catch (err) {
      throw redisError(`redis command failed: ${err.message}`, err);
    }
  }

  /** Registers a channel (digest of its token), active as of `now` (ms). */
  create(digest, now) {
    return this.#call((r) => r.multi().set(KEYS.channel(digest), "1").zadd(KEYS.active, now, digest).exec());
  }

  /** Marks channels (digests) active as of `now`; only channels that still exist (XX). */
  async touch(digests, now) {
    for (let i = 0; i < digests.length; i += SWEEP_BATCH) {
      const args = [];
      for (const d of digests.slice(i, i + SWEEP_BATCH)) args.push(now, d);
      await this.#call((r) => r.zadd(KEYS.active, "XX", ...args));
    }
  }

  /** Deletes every channel not marked active since `cutoff` (ms); returns how many. */
  async sweep(cutoff) {
    let total = 0;
    for (;;) {
      const n = await this.#call((r) => r.mcSweep(KEYS.active, cutoff, SWEEP_BATCH, KEYS.channel(""), KEYS.clients("")));
      total += n;
      if (n < SWEEP_BATCH) return total;
    }
  }

  /** How many channels exist (those in mc:active: created by this version of the relay). */
  count() {
    return this.#call((r) => r.zcard(KEYS.active));
  }

  /** 'ok' (a slot on the channel is now counted for this relay), 'missing' or 'full'. */
  async admit(digest, maxClients) {
    const n = await this.#call((r) =>
      r.mcAdmit(KEYS.channel(digest), KEYS.clients(digest), KEYS.active, maxClients, this.#idHex, KEYS.relayPrefix, Date.now(), digest),
    );
    return n === -2 ? "missing" : n === -1 ? "full" : "ok";
  }

  /** Gives back a slot taken by admit(); best effort (a relay that dies loses its counts with its liveness key). */
  release(digest) {
    this.#call((r) => r.mcRelease(KEYS.clients(digest), this.#idHex)).catch(() => {});
  }

  /** Atomically retires `digest` for `freshDigest` (active as of `now`) and tells every relay; false if `digest` is unknown. */
  async rotate(digest, freshDigest, now) {
    const done = await this.#call((r) =>
      r.mcRotate(
        KEYS.channel(digest),
        KEYS.clients(digest),
        KEYS.channel(freshDigest),
        KEYS.active,
        KEYS.control,
        `revoke ${digest}`,
        digest,
        freshDigest,
        now,
      ),
    );
    return done === 1;
  }

  /**
   * After a reconnect: restores this relay's counts and returns the digests (of `local`,
   * [digest, count] pairs) whose channel no longer exists (rotated while we were away).
   */
  async resync(local) {
    const gone = [];
    await Promise.all(
      local.map(async ([digest, count]) => {
        const exists = await this.#call((r) => r.mcResync(KEYS.channel(digest), KEYS.clients(digest), this.#idHex, count));
        if (exists === 0) gone.push(digest);
      }),
    );
    return gone;
  }

  /** Starts receiving the channel's frames; resolves once Redis confirmed the subscription. */
  subscribe(digest) {
    let p = this.#subscriptions.get(digest);
    if (!p) {
      p = this.#sub.subscribe(KEYS.messages(digest));
      this.#subscriptions.set(digest, p);
      p.catch(() => this.#subscriptions.get(digest) === p && this.#subscriptions.delete(digest));
    }
    return p;
  }

  unsubscribe(digest) {
    if (!this.#subscriptions.delete(digest)) return;
    this.#sub.unsubscribe(KEYS.messages(digest)).catch(() => {});
  }

  /** Sends a frame to the other relays; false (and nothing sent) while Redis is away. */
  publish(digest, data, isBinary) {
    if (this.#cmd.status !== "ready") return false;
    const frame = Buffer.allocUnsafe(ID_BYTES + 1 + data.length);
    this.#id.copy(frame, 0);
    frame[ID_BYTES] = isBinary ? FLAG_BINARY : 0;
    data.copy(frame, ID_BYTES + 1);
    this.#cmd.publish(KEYS.messages(digest), frame).then(
      () => (this.#metrics.redisPublished += 1),
      () => this.#metrics.drop("redis_unavailable"),
    );
    return true;
  }

  /** Round trip to Redis within HEALTH_TIMEOUT_MS. */
  async healthy() {
    if (!this.up) return false;
    try {
      await withTimeout(this.#cmd.ping(), HEALTH_TIMEOUT_MS);
      return true;
    } catch {
      return false;
    }
  }

  /** Forgets this relay's liveness key and closes both connections (after pending commands). */
  async close() {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#heartbeat);
    if (this.#cmd.status === "ready") {
      try {
        await withTimeout(this.#cmd.del(KEYS.relayPrefix + this.#idHex), HEALTH_TIMEOUT_MS);
        await withTimeout(this.#cmd.quit(), HEALTH_TIMEOUT_MS);
      } catch {
        // Redis away: its keys expire on their own
      }
    }
    this.#cmd.disconnect();
    this.#sub.disconnect();
    this.#log("redis disconnected");
  }
}
