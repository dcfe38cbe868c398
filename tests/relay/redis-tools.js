// Real processes for the Redis-mode relay tests: a redis-server started on a free port
// (never a system service) and relay processes running relay/cli.js --redis.
//   startRedis(t, { persist })   redis-server; stop() / start() again on the same port (and
//                                with persist, the same data directory: AOF on)
//   startRelayProcess(t, redis)  `node relay/cli.js --port N --redis URL --verbose`; kill()
//                                (SIGKILL), stop() (SIGTERM), start() again on the same port
//   freePort()                   a port nobody listens on right now
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { root } from "../node/helpers.js";

const CLI = path.join(root, "relay/cli.js");

export const hasRedisServer = spawnSync("sh", ["-c", "command -v redis-server"], { stdio: "ignore" }).status === 0;
export const NO_REDIS_SERVER = "redis-server is not installed (npm test installs it: apt-get install redis-server)";

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves with the child's exit code (or signal name) once it has exited. */
function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? child.signalCode);
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
}

/** Waits for a line matching `re` on a child's stream; rejects if the child exits first. */
function waitForLine(child, stream, re, what, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => done(new Error(`timed out waiting for ${what}`)), timeoutMs);
    const onData = (chunk) => {
      buf += chunk;
      const m = re.exec(buf);
      if (m) done(null, m);
    };
    const onExit = (code, signal) => done(new Error(`${what}: process exited (${code ?? signal}) first:\n${buf}`));
    function done(err, m) {
      clearTimeout(timer);
      stream.off("data", onData);
      child.off("exit", onExit);
      if (err) reject(err);
      else resolve(m);
    }
    stream.on("data", onData);
    child.once("exit", onExit);
  });
}

/**
 * A redis-server of this test's own. With `persist`, it writes an append-only file (fsync
 * always) to a temporary directory, so a stop() + start() keeps every key, like a production
 * Redis with persistence; without, nothing is written anywhere.
 */
export async function startRedis(t, { persist = false } = {}) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "mc-redis-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir, "--protected-mode", "no"];
  args.push(...(persist ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]));
  let child = null;
  const redis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.setEncoding("utf8");
      await waitForLine(child, child.stdout, /Ready to accept connections/, "redis-server ready");
      child.stdout.resume();
    },
    /** SIGTERM: Redis finishes its writes and exits. */
    async stop() {
      if (!child || child.exitCode !== null) return;
      const c = child;
      c.kill("SIGTERM");
      await exited(c);
    },
  };
  await redis.start();
  t.after(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGKILL");
      await exited(child);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return redis;
}

/**
 * A relay process on `redis` (a URL; null: without Redis). `log` is everything it wrote to
 * stderr (--verbose); tests check that no token ever appears in it.
 */
export async function startRelayProcess(t, redisUrl, { port = 0, args = [] } = {}) {
  let child = null;
  const relay = {
    port,
    baseUrl: "",
    log: "",
    async start() {
      const redisArgs = redisUrl ? ["--redis", redisUrl] : []; // null: a relay without Redis
      child = spawn(process.execPath, [CLI, "--port", String(relay.port), ...redisArgs, "--verbose", ...args], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout.setEncoding("utf8");
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (chunk) => (relay.log += chunk));
      const m = await waitForLine(child, child.stdout, /listening on (http:\/\/127\.0\.0\.1:(\d+))\n/, "relay listening");
      relay.baseUrl = m[1];
      relay.port = Number(m[2]);
      return relay;
    },
    wsUrl(token) {
      return `ws://127.0.0.1:${relay.port}/ch/${token}`;
    },
    /** SIGKILL: no close frames, no clean-up in Redis (a crash). */
    async kill() {
      child.kill("SIGKILL");
      await exited(child);
    },
    /** SIGTERM: the relay closes its sockets (1001) and leaves Redis cleanly. */
    async stop() {
      child.kill("SIGTERM");
      return exited(child);
    },
    get running() {
      return child !== null && child.exitCode === null && child.signalCode === null;
    },
  };
  await relay.start();
  t.after(async () => {
    if (relay.running) {
      child.kill("SIGKILL");
      await exited(child);
    }
  });
  return relay;
}

/** POST to a relay's HTTP API; resolves with { status, body } (body parsed as JSON when it is). */
export async function post(relay, pathname) {
  const res = await fetch(`${relay.baseUrl}${pathname}`, { method: "POST" });
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body };
}

/** GET /metrics, parsed into { "name{labels}": number }. */
export async function metrics(relay) {
  const text = await (await fetch(`${relay.baseUrl}/metrics`)).text();
  const out = {};
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/**
 * Pipes `client` and `upstream` both ways, kept in `pairs` until either ends (then both are
 * destroyed). For the TCP proxies of the tests.
 */
export function splice(pairs, client, upstream) {
  const pair = [client, upstream];
  pairs.add(pair);
  const end = () => {
    pairs.delete(pair);
    client.destroy();
    upstream.destroy();
  };
  for (const s of pair) {
    s.on("error", end);
    s.on("close", end);
  }
  client.pipe(upstream);
  upstream.pipe(client);
}

/**
 * A TCP proxy to `targetPort` that can be cut: cut() drops every connection and refuses new
 * ones (a network partition between one relay and Redis), heal() lets them through again.
 */
export async function cuttableProxy(t, targetPort) {
  const pairs = new Set();
  let cut = false;
  const server = net.createServer((client) => {
    if (cut) return void client.destroy();
    splice(pairs, client, net.connect(targetPort, "127.0.0.1"));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const proxy = {
    url: `redis://127.0.0.1:${server.address().port}`,
    cut() {
      cut = true;
      for (const pair of pairs) for (const s of pair) s.destroy();
    },
    heal() {
      cut = false;
    },
  };
  t.after(() => {
    proxy.cut();
    return new Promise((resolve) => server.close(resolve));
  });
  return proxy;
}
