#!/usr/bin/env node
// How 200 clients come back after a relay restart: with full jitter, and with jitter 0 (every
// client retries at the same instant). A real relay runs in its own process; it is stopped
// (clients see 1001), kept down for --down-ms, and started again on the same port with the
// same channel. Each client's reconnect time is measured from the moment the new relay is
// listening to that client's "open".
//
//   node tests/bench/reconnect-spread.mjs [--clients 200] [--down-ms 3000] [--min 500] [--max 30000]
//                                         [--jitters full,0] [--bucket-ms N] [--json]
//
// --min/--max default to the library's defaults (reconnect.minDelayMs 500, maxDelayMs 30000).
// --bucket-ms: histogram bucket width (default: a round width giving at most ~20 buckets).
// --json prints the figures as JSON on stdout (progress goes to stderr).
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const { values: opt } = parseArgs({
  options: {
    clients: { type: "string", default: "200" },
    "down-ms": { type: "string", default: "3000" },
    min: { type: "string", default: "500" },
    max: { type: "string", default: "30000" },
    jitters: { type: "string", default: "full,0" },
    "bucket-ms": { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const CLIENTS = Number(opt.clients);
const DOWN_MS = Number(opt["down-ms"]);
const jitters = opt.jitters.split(",").map((j) => (j === "full" ? "full" : Number(j)));
const log = (...a) => (opt.json ? console.error : console.log)(...a);

const mc = await import(pathToFileURL(path.join(process.env.MC_DIST_DIR || path.join(root, "dist"), "metachannel.mjs")).href);
await mc.ready();
const now = () => performance.timeOrigin + performance.now(); // wall clock, sub-ms, same in both processes

// The relay process: listens on `port` (0: any), registers `token` (or creates one), prints
// {port, token, upAt} once listening, closes (1001 to every client) on SIGTERM.
const RELAY = `
import { startRelay } from ${JSON.stringify(pathToFileURL(path.join(root, "relay/server.js")).href)};
const [port, token] = process.argv.slice(1);
const relay = await startRelay({ port: Number(port), maxClientsPerChannel: 0 });
const upAt = performance.timeOrigin + performance.now();
const ch = token ? await relay.createChannel(undefined, token) : await relay.createChannel();
console.log(JSON.stringify({ port: relay.port, token: ch.token, url: ch.url, upAt }));
process.on("SIGTERM", async () => { await relay.close(); process.exit(0); });
`;

function startRelayProcess(port = 0, token = "") {
  const child = spawn(process.execPath, ["--input-type=module", "-e", RELAY, String(port), token], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl !== -1) resolve({ child, ...JSON.parse(out.slice(0, nl)) });
    });
    child.once("exit", (code) => reject(new Error(`relay process exited with ${code}`)));
  });
}

function stopRelayProcess(relay) {
  return new Promise((resolve) => {
    relay.child.removeAllListeners("exit");
    relay.child.once("exit", resolve);
    relay.child.kill("SIGTERM");
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(cond, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

async function run(jitter) {
  let relay = await startRelayProcess();
  const channels = [];
  const opens = new Array(CLIENTS).fill(null).map(() => []);
  let failedAttempts = 0;
  for (let i = 0; i < CLIENTS; i++) {
    const ch = new mc.Channel(relay.url, { reconnect: { minDelayMs: Number(opt.min), maxDelayMs: Number(opt.max), jitter } });
    ch.on("open", () => opens[i].push(now()));
    ch.on("error", (e) => {
      if (e.code === "SOCKET_ERROR" || e.code === "CONNECT_TIMEOUT") failedAttempts++;
    });
    channels.push(ch);
  }
  await until(() => channels.every((c) => c.state === "open"), 30000, "every client open");
  const firstOpens = opens.map((o) => o.length);

  await stopRelayProcess(relay);
  const downAt = now();
  await sleep(DOWN_MS);
  const attemptsWhileDown = failedAttempts;
  relay = await startRelayProcess(relay.port, relay.token);
  const upAt = relay.upAt;
  await until(() => channels.every((c) => c.state === "open"), 120000, "every client back");
  const times = opens.map((o, i) => o[firstOpens[i]] - upAt).sort((a, b) => a - b);
  for (const ch of channels) ch.dispose();
  await stopRelayProcess(relay);

  const BUCKET = opt["bucket-ms"] ? Number(opt["bucket-ms"]) : [50, 100, 250, 500, 1000, 2000, 5000, 10000].find((w) => times.at(-1) / w <= 20) || 30000;
  const hist = [];
  for (const t of times) {
    const b = Math.max(0, Math.floor(t / BUCKET));
    hist[b] = (hist[b] || 0) + 1;
  }
  // Busiest 100 ms at the relay: how hard the herd hits it.
  let peak100 = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] > 100) j++;
    peak100 = Math.max(peak100, i - j + 1);
  }
  return {
    jitter: jitter === "full" ? "full" : jitter,
    clients: CLIENTS,
    downMs: Math.round(upAt - downAt),
    failedAttemptsWhileDown: attemptsWhileDown,
    reconnectMs: {
      min: Math.round(times[0]),
      median: Math.round(quantile(times, 0.5)),
      p90: Math.round(quantile(times, 0.9)),
      max: Math.round(times.at(-1)),
    },
    peakPer100ms: peak100,
    bucketMs: BUCKET,
    histogram: Array.from({ length: hist.length }, (_, i) => hist[i] || 0),
  };
}

function print(r) {
  log(
    `\njitter ${r.jitter === "full" ? '"full"' : r.jitter}: ${r.clients} clients, relay down ${r.downMs} ms, ${r.failedAttemptsWhileDown} failed attempts while down`,
  );
  log(`  reconnect after restart (ms): min ${r.reconnectMs.min}  median ${r.reconnectMs.median}  p90 ${r.reconnectMs.p90}  max ${r.reconnectMs.max}`);
  log(`  busiest 100 ms: ${r.peakPer100ms} connections`);
  const scale = Math.max(1, Math.ceil(Math.max(...r.histogram) / 60));
  r.histogram.forEach((n, i) => {
    const from = String(i * r.bucketMs).padStart(6);
    const to = String((i + 1) * r.bucketMs).padEnd(6);
    log(`  ${from}-${to} ms ${String(n).padStart(4)} ${"#".repeat(Math.ceil(n / scale))}`);
  });
}

const ws = typeof globalThis.WebSocket === "function" ? "global WebSocket" : "ws package";
log(`reconnect spread: Node ${process.versions.node} (${ws}), ${CLIENTS} clients, minDelayMs ${opt.min}, maxDelayMs ${opt.max}, factor 2`);
const results = [];
for (const j of jitters) {
  const r = await run(j);
  results.push(r);
  print(r);
}
if (opt.json)
  console.log(JSON.stringify({ node: process.versions.node, webSocket: ws, minDelayMs: Number(opt.min), maxDelayMs: Number(opt.max), results }, null, 2));
process.exit(0);
