#!/usr/bin/env node
// The relay's Redis mode, measured: fan-out throughput with one relay process against three
// (on one redis-server), and the latency the Redis hop adds (p50, p99).
//
//   npm run bench:relay [-- options]       (node tests/bench/relay-redis.mjs)
//   --rounds N      rounds, configurations interleaved in each (default 5; quick 3)
//   --receivers N   receiving clients on the channel (default 30)
//   --messages N    frames sent per fan-out run (default 3000; quick 1000)
//   --quick         small counts
//   --no-limits     relays without the per-connection limits (by default every relay runs with
//                   --rate and --max-bytes-per-second set, far above what the bench sends, so
//                   the limit checks run on every frame: the figures are with the limits on)
//   --json          results as JSON on stdout
//
// Set-ups (each relay its own process, relay/cli.js; redis-server on a free port; the
// clients, raw `ws`, all in this process):
//   single   one relay, no Redis (the dev relay as it was)
//   redis-1  one relay with --redis
//   redis-3  three relays with --redis, receivers spread evenly, the sender on the first
// Fan-out: one sender sends N frames of ~100 bytes as fast as the receivers keep up (at most
// WINDOW frames ahead of the slowest receiver); deliveries/s = N x receivers / time until the
// last receiver has the last frame. Latency: a sender on relay A, a receiver on relay A
// (same process) or relay B (the frame goes through Redis), 200 frames/s, one-way time in
// this process's clock.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { WebSocket } from "ws";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(root, "relay/cli.js");

const { values: opt } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    rounds: { type: "string" },
    receivers: { type: "string" },
    messages: { type: "string" },
    "no-limits": { type: "boolean", default: false },
  },
});
// Per connection, far above the sender's rate: checked on every frame, never hit.
const LIMIT_ARGS = opt["no-limits"] ? [] : ["--rate", "10000000", "--max-bytes-per-second", "10000000000"];
const ROUNDS = Number(opt.rounds ?? (opt.quick ? 3 : 5));
const RECEIVERS = Number(opt.receivers ?? 30);
const MESSAGES = Number(opt.messages ?? (opt.quick ? 1000 : 3000));
const LATENCY_SAMPLES = opt.quick ? 300 : 1000;
const WINDOW = 500;
const say = (line) => (opt.json ? process.stderr : process.stdout).write(`${line}\n`);

if (spawnSync("sh", ["-c", "command -v redis-server"]).status !== 0) {
  console.error("relay-redis bench: redis-server is missing (apt-get install redis-server)");
  process.exit(1);
}

function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function waitForLine(child, re, what) {
  return new Promise((resolve, reject) => {
    let buf = "";
    child.stdout.setEncoding("utf8");
    const onData = (d) => {
      buf += d;
      const m = re.exec(buf);
      if (m) {
        child.stdout.off("data", onData);
        child.stdout.resume();
        resolve(m);
      }
    };
    child.stdout.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${what} exited (${code})`)));
  });
}

async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "mc-bench-redis-"));
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await waitForLine(child, /Ready to accept connections/, "redis-server");
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid,
    stop: () => {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startRelays(n, redisUrl) {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const args = [CLI, "--port", "0", "--max-clients", "0", ...LIMIT_ARGS, ...(redisUrl ? ["--redis", redisUrl] : [])];
      const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "ignore"] });
      const m = await waitForLine(child, /listening on (http:\/\/[^\s]+)/, "relay");
      return { base: m[1], child };
    }),
  );
}

async function stopRelays(relays) {
  await Promise.all(
    relays.map(
      ({ child }) =>
        new Promise((resolve) => {
          child.once("exit", resolve);
          child.kill("SIGTERM");
        }),
    ),
  );
}

function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

async function newChannel(relay) {
  const { token } = await (await fetch(`${relay.base}/api/channels`, { method: "POST" })).json();
  return token;
}

const wsUrl = (relay, token) => `${relay.base.replace("http", "ws")}/ch/${token}`;

const TICK_MS = 1000 / 100; // USER_HZ: /proc times are in 1/100 s on Linux

/** CPU milliseconds (user + system) a process has used, from /proc. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime
}

/** Deliveries per second for one set-up, and the servers' CPU per delivery (relays + Redis). */
async function fanOut(relays, serverPids) {
  const token = await newChannel(relays[0]);
  const counts = new Array(RECEIVERS).fill(0);
  const receivers = [];
  for (let i = 0; i < RECEIVERS; i++) {
    const ws = await open(wsUrl(relays[i % relays.length], token));
    ws.on("message", () => counts[i]++);
    receivers.push(ws);
  }
  const sender = await open(wsUrl(relays[0], token));
  const payload = JSON.stringify({ type: "tick", pad: "x".repeat(70), n: 0 }).length;
  const cpuBefore = serverPids.map(cpuMs);
  const started = performance.now();
  let sent = 0;
  await new Promise((resolve) => {
    const pump = () => {
      const slowest = Math.min(...counts);
      if (slowest >= MESSAGES) return resolve();
      while (sent < MESSAGES && sent - slowest < WINDOW) {
        sender.send(JSON.stringify({ type: "tick", pad: "x".repeat(70), n: sent }));
        sent++;
      }
      setImmediate(pump);
    };
    pump();
  });
  const secs = (performance.now() - started) / 1000;
  const cpu = serverPids.map(cpuMs).reduce((sum, ms, i) => sum + ms - cpuBefore[i], 0);
  for (const ws of [...receivers, sender]) ws.terminate();
  return { deliveriesPerSec: (MESSAGES * RECEIVERS) / secs, serverCpuUsPerDelivery: (cpu * 1000) / (MESSAGES * RECEIVERS), bytes: payload };
}

/** One-way latency, sender on relays[0], receiver on relays[receiverAt]. */
async function latency(relays, receiverAt) {
  const token = await newChannel(relays[0]);
  const receiver = await open(wsUrl(relays[receiverAt], token));
  const sender = await open(wsUrl(relays[0], token));
  const samples = [];
  await new Promise((resolve) => {
    receiver.on("message", (data) => {
      samples.push(performance.now() - Number(data.toString()));
      if (samples.length === LATENCY_SAMPLES) resolve();
    });
    let n = 0;
    const timer = setInterval(() => {
      sender.send(String(performance.now()));
      if (++n === LATENCY_SAMPLES) clearInterval(timer);
    }, 5);
  });
  receiver.terminate();
  sender.terminate();
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(samples.length * 0.5)], p99: samples[Math.floor(samples.length * 0.99)] };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const redis = await startRedis();
  const setups = {
    single: await startRelays(1, null),
    "redis-1": await startRelays(1, redis.url),
    "redis-3": await startRelays(3, redis.url),
  };
  const results = { fanOut: {}, cpu: {}, latency: {} };
  for (const k of Object.keys(setups)) {
    results.fanOut[k] = [];
    results.cpu[k] = [];
  }
  const pidsOf = (name) => [...setups[name].map((r) => r.child.pid), ...(name === "single" ? [] : [redis.pid])];
  for (const k of ["single", "redis-same", "redis-hop"]) results.latency[k] = [];
  try {
    say(`relay fan-out: 1 sender, ${RECEIVERS} receivers, ${MESSAGES} frames of ~100 B, ${ROUNDS} rounds (set-ups interleaved)`);
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, relays] of Object.entries(setups)) {
        const run = await fanOut(relays, pidsOf(name));
        results.fanOut[name].push(run.deliveriesPerSec);
        results.cpu[name].push(run.serverCpuUsPerDelivery);
      }
      results.latency.single.push(await latency(setups.single, 0));
      results.latency["redis-same"].push(await latency(setups["redis-3"], 0));
      results.latency["redis-hop"].push(await latency(setups["redis-3"], 1));
      say(
        `  round ${r + 1}: ${Object.entries(results.fanOut)
          .map(([k, v]) => `${k} ${Math.round(v.at(-1))}/s`)
          .join(", ")}`,
      );
    }
  } finally {
    for (const relays of Object.values(setups)) await stopRelays(relays);
    redis.stop();
  }

  const fan = Object.fromEntries(Object.entries(results.fanOut).map(([k, v]) => [k, median(v)]));
  const cpu = Object.fromEntries(Object.entries(results.cpu).map(([k, v]) => [k, median(v)]));
  const lat = Object.fromEntries(Object.entries(results.latency).map(([k, v]) => [k, { p50: median(v.map((x) => x.p50)), p99: median(v.map((x) => x.p99)) }]));
  const summary = {
    node: process.version,
    cpus: os.cpus().length,
    receivers: RECEIVERS,
    messages: MESSAGES,
    rounds: ROUNDS,
    fanOutDeliveriesPerSec: fan,
    serverCpuUsPerDelivery: cpu,
    ratio3vs1: fan["redis-3"] / fan.single,
    latencyMs: lat,
    addedByRedisHopMs: { p50: lat["redis-hop"].p50 - lat.single.p50, p99: lat["redis-hop"].p99 - lat.single.p99 },
  };
  if (opt.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  const f = (x) => Math.round(x).toLocaleString("en-US");
  const ms = (x) => x.toFixed(3);
  say("");
  say(`| set-up | deliveries/s (median) | vs single | server CPU per delivery (relays + Redis) |`);
  say(`|---|---:|---:|---:|`);
  for (const [k, v] of Object.entries(fan)) say(`| ${k} | ${f(v)} | ${(v / fan.single).toFixed(2)}x | ${cpu[k].toFixed(2)} µs |`);
  say("");
  say(`| one-way latency, 200 frames/s | p50 ms | p99 ms |`);
  say(`|---|---:|---:|`);
  say(`| single process, no Redis | ${ms(lat.single.p50)} | ${ms(lat.single.p99)} |`);
  say(`| Redis mode, sender and receiver on one relay | ${ms(lat["redis-same"].p50)} | ${ms(lat["redis-same"].p99)} |`);
  say(`| Redis mode, receiver on another relay (Redis hop) | ${ms(lat["redis-hop"].p50)} | ${ms(lat["redis-hop"].p99)} |`);
  say(`| added by the Redis hop | ${ms(summary.addedByRedisHopMs.p50)} | ${ms(summary.addedByRedisHopMs.p99)} |`);
  say(`\n${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0].model}); every process shares them.`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err.stack || err);
    process.exit(1);
  },
);
