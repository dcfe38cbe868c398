#!/usr/bin/env node
// npm run bench [-- options]: metachannel against raw WebSocket + JSON.parse and the peers
// (reconnecting-websocket, partysocket), every client in its own child process, rounds
// interleaved (A B C D, A B C D, ...), medians and ratios to raw from the same run.
// One file over 500 lines: the runner and the report of every figure share the interleaving, the
// servers and the tables; the clients are in client.mjs, the long figures in scripts of their own.
//
//   --quick             small counts, 3 rounds, no Chromium: well under a minute
//   --json              print the results as JSON on stdout (progress goes to stderr)
//   --rounds N          rounds per figure (default 7, quick 3)
//   --save PREFIX       also write PREFIX.md and PREFIX.json
//   --only a,b          figures: receive,filtered,send,rtt,bundle,coldstart,cold,memory,channels,browser,reliable
//                       (cold: import → the first plain channel open, fresh processes, with the
//                       split import / ready (compile, instantiate) / open, and a raw socket's open;
//                       tests/bench/cold-compare.mjs runs the same for two builds interleaved)
//                       (reliable: tests/bench/reliable.mjs, reliable delivery against plain mode)
//                       fanout (only when named): tests/bench/fanout.mjs, N = 10, 50, 100 peers in
//                       several processes on the dev relay, frames counted at the relay (issue 22);
//                       --fanout-args "…" passes options on (e.g. "--n 100 --reconnect fast"; the
//                       idle presence figure at 100 peers: "--n 100 --modes reliable --idle-s 150")
//                       relay (only when named): tests/bench/relay-redis.mjs (npm run bench:relay),
//                       deliveries/s for 1 relay, 1 relay + Redis, 3 relays + Redis, limits on
//                       e2e (only when named): tests/bench/e2e.mjs, end-to-end encryption against
//                       plain metachannel on Node 22 and in Chromium: receive, send, the added
//                       round-trip p50 and the encryption chunk's gzip bytes (issue 26)
//   --no-browser        skip the Chromium figures
//   --clients a,b       only these clients (raw is always kept): raw,rws,party,mc
//   --dist DIR          metachannel from DIR instead of dist/ (e.g. build/bench-profiling/dist)
//   --compare-dist DIR  adds "mc2", metachannel from DIR, next to mc (to try an optimisation)
//   --plain-ws          flood server sends with ws.send() per message instead of pre-framed bytes
//   --profile FIGURE    run metachannel's FIGURE loop (receive|filtered|send) under --cpu-prof
//                       and print the top self-time functions
//
// Servers run in their own processes: tests/bench/flood-server.mjs (flood, sink, echo) and
// the dev relay (relay/cli.js, for the round trips and the 1,000 channels).
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, readdirSync, mkdtempSync, rmSync, existsSync, statSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");

// Node 20 has a global WebSocket (undici) only behind a flag: re-exec with it, so that every
// client (raw, the peers and metachannel) uses the same implementation.
if (typeof globalThis.WebSocket !== "function") {
  const r = spawnSync(
    process.execPath,
    ["--experimental-websocket", "--no-warnings", ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  process.exit(r.status ?? 1);
}

const { values: opt } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    rounds: { type: "string" },
    only: { type: "string" },
    "no-browser": { type: "boolean", default: false },
    "plain-ws": { type: "boolean", default: false },
    profile: { type: "string" },
    "profile-n": { type: "string" },
    "profile-client": { type: "string" },
    dist: { type: "string" },
    "compare-dist": { type: "string" },
    clients: { type: "string" },
    top: { type: "string", default: "25" },
    save: { type: "string" },
    "fanout-args": { type: "string", default: "" },
  },
});

const quick = opt.quick;
const ROUNDS = Number(opt.rounds || (quick ? 3 : 7));
const ALL_FIGURES = [
  "receive",
  "filtered",
  "send",
  "rtt",
  "bundle",
  "coldstart",
  "cold",
  "memory",
  "channels",
  "browser",
  "reliable",
  "fanout",
  "relay",
  "e2e",
];
/** Figures that run only when named with --only (each takes minutes and has its own script). */
const ON_REQUEST = ["fanout", "relay", "e2e"];
const figures = new Set(
  opt.only ? opt.only.split(",") : ALL_FIGURES.filter((f) => !ON_REQUEST.includes(f) && !(f === "browser" && (quick || opt["no-browser"]))),
);
const CFG = quick
  ? {
      recvN: 60000,
      recvWarm: 15000,
      sendN: 30000,
      sendWarm: 10000,
      rttSeconds: 0.7,
      rttWarm: 0.2,
      rate: 2000,
      coldN: 10,
      memN: 200000,
      memWarm: 50000,
      channelsN: 1000,
      browserN: 60000,
      browserRounds: 2,
      coldBrowserN: 5,
    }
  : {
      recvN: 250000,
      recvWarm: 30000,
      sendN: 150000,
      sendWarm: 20000,
      rttSeconds: 4,
      rttWarm: 0.5,
      rate: 2000,
      coldN: 15,
      memN: 1000000,
      memWarm: 100000,
      channelsN: 1000,
      browserN: 50000,
      browserRounds: 5,
      coldBrowserN: 7,
    };
const CLIENTS = ["raw", "rws", "party", "mc"];
const NAMES = { raw: "raw WebSocket + JSON.parse", rws: "reconnecting-websocket 4.4", party: "partysocket 1.3", mc: "metachannel" };
// --dist DIR: metachannel from another build (default dist/); --compare-dist DIR: adds a
// second metachannel client "mc2" from DIR to the receive/filtered/send/rtt rounds.
const DIST = opt.dist ? path.resolve(opt.dist) : undefined;
const DIST2 = opt["compare-dist"] ? path.resolve(opt["compare-dist"]) : undefined;
if (opt.clients) {
  const keep = new Set(["raw", ...opt.clients.split(",")]);
  CLIENTS.splice(0, CLIENTS.length, ...CLIENTS.filter((c) => keep.has(c)));
}
if (DIST2) {
  CLIENTS.push("mc2");
  NAMES.mc2 = `metachannel (${path.relative(root, DIST2) || DIST2})`;
}

const T0 = performance.now();
const log = (...a) => process.stderr.write(`[${((performance.now() - T0) / 1000).toFixed(1).padStart(5)} s] ${a.join(" ")}\n`);
const median = (xs) => {
  const s = xs.filter((x) => typeof x === "number" && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---------------------------------------------------------------- child processes
const started = [];
process.on("exit", () => {
  for (const p of started) if (p.exitCode === null) p.kill();
});

/** Spawns a server script and resolves with its first stdout line and the process. */
function startServer(args, { ipc = false } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit", ...(ipc ? ["ipc"] : [])], cwd: root });
    started.push(p);
    let buf = "";
    const onData = (d) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl !== -1) {
        p.stdout.off("data", onData);
        p.stdout.resume();
        resolve({ proc: p, line: buf.slice(0, nl) });
      }
    };
    p.stdout.setEncoding("utf8");
    p.stdout.on("data", onData);
    p.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}`)));
  });
}

function serverStats(server) {
  return new Promise((resolve) => {
    const onMsg = (m) => {
      if (m && "stats" in m) {
        server.off("message", onMsg);
        resolve(m.stats);
      }
    };
    server.on("message", onMsg);
    server.send({ get: "stats" });
  });
}

/** Runs client.mjs with `spec` in a fresh process; resolves with its RESULT. */
function runClient(spec, { nodeArgs = [], noFlag = false } = {}) {
  if (spec.client === "mc2") spec = { ...spec, client: "mc", distDir: DIST2 };
  else if (spec.client === "mc" && DIST && !spec.distDir) spec = { ...spec, distDir: DIST };
  return new Promise((resolve, reject) => {
    const flag = noFlag || typeof process.versions.node !== "string" ? [] : ["--experimental-websocket"];
    const args = [...flag, "--no-warnings", ...nodeArgs, path.join(here, "client.mjs"), JSON.stringify(spec)];
    const p = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], cwd: root });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      if (code !== 0 || !line) return reject(new Error(`client ${spec.client}/${spec.mode} exited ${code}: ${err.trim().slice(-2000)}`));
      if (err.trim()) log(`  (${spec.client} stderr) ${err.trim().slice(0, 400)}`);
      resolve(JSON.parse(line.slice(7)));
    });
  });
}

async function relayChannel(relayBase) {
  const r = await fetch(`${relayBase}/api/channels`, { method: "POST" });
  if (r.status !== 201) throw new Error(`relay: POST /api/channels -> ${r.status}`);
  return (await r.json()).url;
}

// ---------------------------------------------------------------- the figures
const results = {
  machine: machine(),
  command: commandLine(),
  git: gitHead(),
  dist: distInfo(DIST || path.join(root, "dist")),
  config: { quick, rounds: ROUNDS, ...CFG },
  figures: {},
};

function machine() {
  let cpu = "unknown";
  try {
    cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))[1];
  } catch {}
  return {
    nproc: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    cpu,
    node: process.version,
    platform: `${process.platform} ${os.release()}`,
    loadavgAtStart: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" "),
  };
}
function distInfo(dir) {
  const out = { dir: path.relative(root, dir) || dir };
  for (const f of ["metachannel.mjs", "metachannel.js", "metachannel.wasm"]) {
    try {
      const b = readFileSync(path.join(dir, f));
      out[f] = { bytes: b.length, sha256: createHash("sha256").update(b).digest("hex").slice(0, 12), mtime: statSync(path.join(dir, f)).mtime.toISOString() };
    } catch {}
  }
  return out;
}
function gitHead() {
  const r = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" });
  const d = spawnSync("git", ["status", "--porcelain", "--", "src", "js", "bindings", "CMakeLists.txt"], { cwd: root, encoding: "utf8" });
  return r.status === 0 ? `${r.stdout.trim()}${d.stdout.trim() ? " + uncommitted changes in src/ js/ bindings/" : ""}` : null;
}
function commandLine() {
  return `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
}

/** Interleaved rounds over `clients`; `spec(client)` builds the child's spec. */
async function rounds(figure, clients, spec, { server = null, roundsN = ROUNDS } = {}) {
  const per = Object.fromEntries(clients.map((c) => [c, []]));
  for (let r = 0; r < roundsN; r++) {
    const line = [];
    for (const c of clients) {
      const s = await spec(c);
      const res = await runClient({ client: c, mode: figure, ...s });
      if (server) res.server = await serverStats(server);
      per[c].push(res);
      line.push(`${c} ${fmtRound(figure, res)}`);
    }
    log(`  ${figure} round ${r + 1}/${roundsN}: ${line.join(" | ")}`);
  }
  return per;
}

function fmtRound(figure, r) {
  if (figure === "rtt") return `p50 ${r.p50.toFixed(3)} p99 ${r.p99.toFixed(3)} ms`;
  return `${Math.round(r.msgsPerSec / 1000)}k/s ${r.cpuUsPerMsg.toFixed(2)}µs`;
}

function summarizeThroughput(per) {
  const out = {};
  for (const [c, runs] of Object.entries(per)) {
    out[c] = {
      filterVia: runs[0].filterVia,
      msgsPerSec: median(runs.map((r) => r.msgsPerSec)),
      cpuUsPerMsg: median(runs.map((r) => r.cpuUsPerMsg)),
      rounds: runs.map((r) => ({ msgsPerSec: Math.round(r.msgsPerSec), cpuUsPerMsg: +r.cpuUsPerMsg.toFixed(3) })),
      server: runs[0].server
        ? {
            cpuUsPerMsg: median(runs.map((r) => r.server?.serverCpuUsPerMsg)),
            bufferedMedianBytes: median(runs.map((r) => r.server?.bufferedMedianBytes)),
          }
        : undefined,
    };
  }
  const raw = out.raw;
  for (const c of Object.keys(out)) {
    out[c].ratioWall = raw ? out[c].msgsPerSec / raw.msgsPerSec : null;
    // > 1 means less CPU per message than raw (the CPU-bound throughput ratio).
    out[c].ratioCpu = raw ? raw.cpuUsPerMsg / out[c].cpuUsPerMsg : null;
    // The same ratios per round (each round's client against that round's raw), then their median.
    if (raw) {
      out[c].ratioWallPerRoundMedian = median(per[c].map((r, i) => r.msgsPerSec / per.raw[i].msgsPerSec));
      out[c].ratioCpuPerRoundMedian = median(per[c].map((r, i) => per.raw[i].cpuUsPerMsg / r.cpuUsPerMsg));
    }
  }
  return out;
}

function summarizeRtt(per) {
  const out = {};
  for (const [c, runs] of Object.entries(per)) {
    out[c] = {
      p50: median(runs.map((r) => r.p50)),
      p90: median(runs.map((r) => r.p90)),
      p99: median(runs.map((r) => r.p99)),
      lost: runs.reduce((a, r) => a + r.lost, 0),
      samplesPerRound: runs[0].samples,
      rounds: runs.map((r) => ({ p50: +r.p50.toFixed(4), p99: +r.p99.toFixed(4) })),
    };
  }
  for (const c of Object.keys(out)) {
    out[c].ratioP50 = out[c].p50 / out.raw.p50;
    out[c].ratioP99 = out[c].p99 / out.raw.p99;
    // Each round against that round's raw, then the median (less sensitive to one bad round).
    out[c].ratioP50PerRoundMedian = median(per[c].map((r, i) => r.p50 / per.raw[i].p50));
    out[c].ratioP99PerRoundMedian = median(per[c].map((r, i) => r.p99 / per.raw[i].p99));
  }
  return out;
}

function gz(buf) {
  return gzipSync(buf, { level: 9 }).length;
}

async function bundleSizes() {
  const dist = path.join(root, "dist");
  const f = (n) => readFileSync(path.join(dist, n));
  const wasm = f("metachannel.wasm");
  const out = {
    scriptTag: {
      files: ["dist/metachannel.js", "dist/metachannel.wasm"],
      raw: f("metachannel.js").length + wasm.length,
      gzip: gz(f("metachannel.js")) + gz(wasm),
      js: { raw: f("metachannel.js").length, gzip: gz(f("metachannel.js")) },
      wasm: { raw: wasm.length, gzip: gz(wasm) },
    },
    // ready({ core: "lite" }): the same script, the lite wasm (no reliable delivery or presence).
    scriptTagLite: {
      files: ["dist/metachannel.js", "dist/metachannel-lite.wasm"],
      raw: f("metachannel.js").length + f("metachannel-lite.wasm").length,
      gzip: gz(f("metachannel.js")) + gz(f("metachannel-lite.wasm")),
      wasm: { raw: f("metachannel-lite.wasm").length, gzip: gz(f("metachannel-lite.wasm")) },
    },
    esm: {
      files: ["dist/metachannel.mjs", "dist/metachannel.wasm"],
      raw: f("metachannel.mjs").length + wasm.length,
      gzip: gz(f("metachannel.mjs")) + gz(wasm),
      js: { raw: f("metachannel.mjs").length, gzip: gz(f("metachannel.mjs")) },
    },
    peers: {},
  };
  // The peers: their ESM dist bundled and minified with esbuild (what an app's bundler would
  // ship), and reconnecting-websocket's own minified IIFE.
  const esbuild = await import("esbuild");
  const bundle = async (entry) => {
    const r = await esbuild.build({ entryPoints: [entry], bundle: true, minify: true, format: "esm", platform: "browser", write: false, logLevel: "silent" });
    return Buffer.from(r.outputFiles[0].contents);
  };
  const nm = path.join(root, "node_modules");
  const rws = await bundle(path.join(nm, "reconnecting-websocket/dist/reconnecting-websocket-mjs.js"));
  const party = await bundle(path.join(nm, "partysocket/dist/index.js"));
  const rwsIife = readFileSync(path.join(nm, "reconnecting-websocket/dist/reconnecting-websocket-iife.min.js"));
  out.peers.rws = { what: "reconnecting-websocket-mjs.js, esbuild --minify", raw: rws.length, gzip: gz(rws), iifeMinGzip: gz(rwsIife) };
  out.peers.party = { what: "partysocket dist/index.js (+ ws.js), esbuild --minify", raw: party.length, gzip: gz(party) };
  return out;
}

// Three ways a Node process meets metachannel, interleaved:
//   global:    --experimental-websocket, nothing touched before the import (the figure the
//              target is about; includes Node's lazy load of undici on the first WebSocket access)
//   preloaded: the same, with globalThis.WebSocket touched before the clock starts
//   ws:        Node 20 without the flag: ready() imports the `ws` package
async function coldStartNode() {
  const variants = { global: [], preloaded: [], ws: [] };
  for (let i = 0; i < CFG.coldN; i++) {
    variants.global.push(await runClient({ client: "mc", mode: "coldstart" }));
    variants.preloaded.push(await runClient({ client: "mc", mode: "coldstart", preload: true }));
    if (!hasNativeWebSocketWithoutFlag && !quick) variants.ws.push(await runClient({ client: "mc", mode: "coldstart" }, { noFlag: true }));
  }
  const sum = (runs) =>
    runs.length
      ? {
          n: runs.length,
          medianMs: median(runs.map((r) => r.totalMs)),
          importMs: median(runs.map((r) => r.importMs)),
          readyMs: median(runs.map((r) => r.readyMs)),
          sinceProcessStartMs: median(runs.map((r) => r.sinceProcessStartMs)),
          minMs: Math.min(...runs.map((r) => r.totalMs)),
          maxMs: Math.max(...runs.map((r) => r.totalMs)),
        }
      : null;
  return { ...sum(variants.global), preloaded: sum(variants.preloaded), wsPackage: sum(variants.ws) };
}
// Import → first plain channel open (issue 21's cold-start target), metachannel and a raw socket
// interleaved, each run a fresh process against the flood server (which accepts any socket).
async function coldOpenNode(url) {
  const mc = [];
  const raw = [];
  for (let i = 0; i < CFG.coldN; i++) {
    mc.push(await runClient({ client: "mc", mode: "cold", url }));
    raw.push(await runClient({ client: "raw", mode: "cold", url }));
  }
  const med = (runs, key) => median(runs.map((r) => r[key]));
  return {
    n: mc.length,
    node: process.versions.node,
    medianMs: med(mc, "totalMs"),
    importMs: med(mc, "importMs"),
    readyMs: med(mc, "readyMs"),
    compileMs: med(mc, "compileMs"),
    instantiateMs: med(mc, "instantiateMs"),
    openMs: med(mc, "openMs"),
    sinceProcessStartMs: med(mc, "sinceProcessStartMs"),
    minMs: Math.min(...mc.map((r) => r.totalMs)),
    maxMs: Math.max(...mc.map((r) => r.totalMs)),
    runsMs: mc.map((r) => +r.totalMs.toFixed(1)),
    rawOpenMs: med(raw, "openMs"),
  };
}
const hasNativeWebSocketWithoutFlag = Number(process.versions.node.split(".")[0]) >= 22;

async function memory(floodUrl) {
  const spec = (client) => ({ client, mode: "memory", url: floodUrl, n: CFG.memN, warm: CFG.memWarm, chunk: 250000, timeoutMs: 600000 });
  const out = {};
  for (const c of ["mc", "raw"]) {
    const r = await runClient(spec(c), { nodeArgs: ["--expose-gc"] });
    out[c] = {
      messages: CFG.memN,
      warm: CFG.memWarm,
      before: r.before,
      after: r.after,
      wasmGrowthBytes: r.after.wasmBytes - r.before.wasmBytes,
      heapGrowthBytes: r.after.heapUsed - r.before.heapUsed,
      growCalls: r.growCalls,
      msgsPerSec: r.msgsPerSec,
    };
    log(
      `  memory ${c}: wasm ${r.before.wasmBytes} -> ${r.after.wasmBytes} B, heapUsed ${(r.before.heapUsed / 1e6).toFixed(2)} -> ${(r.after.heapUsed / 1e6).toFixed(2)} MB`,
    );
  }
  return out;
}

// Interleaved rounds (raw, mc, raw, mc, ...; the first round warms the relay for both), each
// client in a fresh process on a fresh relay channel; the round with the median open time is
// reported for each client.
async function manyChannels(relayBase) {
  const runs = { mc: [], raw: [] };
  const rounds = Math.max(3, Math.min(ROUNDS, 5));
  for (let round = 1; round <= rounds; round++) {
    for (const c of round % 2 ? ["raw", "mc"] : ["mc", "raw"]) {
      const url = await relayChannel(relayBase);
      const r = await runClient({ client: c, mode: "channels", url, n: CFG.channelsN, timeoutMs: 120000 }, { nodeArgs: ["--expose-gc"] });
      runs[c].push(r);
    }
    log(`  channels round ${round}/${rounds}: ${["raw", "mc"].map((c) => `${c} ${runs[c].at(-1).openMs.toFixed(0)} ms`).join(" | ")}`);
  }
  const out = {};
  for (const c of ["mc", "raw"]) {
    const sorted = [...runs[c]].sort((a, b) => a.openMs - b.openMs);
    const r = sorted[Math.floor(sorted.length / 2)];
    out[c] = r;
    log(
      `  channels ${c} (median of ${rounds}): ${r.n} open in ${r.openMs.toFixed(0)} ms; per channel wasm ${r.wasmBytesPerChannel.toFixed(0)} B, JS heap ${r.heapBytesPerChannel.toFixed(0)} B, rss ${r.rssBytesPerChannel.toFixed(0)} B`,
    );
  }
  return out;
}

// ---------------------------------------------------------------- Chromium
async function browserFigures(floodPort) {
  let chromium;
  try {
    ({ chromium } = await import("playwright-core"));
  } catch (err) {
    return { skipped: `playwright-core: ${err.message}` };
  }
  const exe = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
  if (!exe) return { skipped: "no chromium" };
  const { serveStatic } = await import(path.join(root, "scripts/static-server.mjs"));
  const { CHROMIUM_ARGS } = await import(path.join(root, "scripts/toolchain.mjs"));
  const server = await serveStatic({ mounts: { "/dist/": path.join(root, "dist"), "/bench/": here, "/": path.join(here, "browser") } });
  const args = [...CHROMIUM_ARGS];
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), "mc-bench-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: exe, args, headless: true });
  const out = { chromium: context.browser()?.version?.() ?? null };
  try {
    // Receive, filtered receive, send: a fresh page per client per round (the raw page has no
    // library at all; "count" is the floor: frames counted, not parsed).
    for (const mode of ["receive", "filtered", "send"]) {
      const clients = mode === "receive" ? ["count", "raw", "mc"] : ["raw", "mc"];
      const per = Object.fromEntries(clients.map((c) => [c, []]));
      for (let r = 0; r < CFG.browserRounds; r++) {
        const line = [];
        for (const c of clients) {
          const page = await context.newPage();
          await page.goto(`${server.url}/${c}.html`);
          const cdp = await context.newCDPSession(page);
          await cdp.send("Performance.enable");
          await page.evaluate((o) => window.benchSetup(o), { url: `ws://127.0.0.1:${floodPort}/browser`, warm: 10000, mode });
          const m0 = await cdp.send("Performance.getMetrics");
          const res = await page.evaluate((n) => window.benchRun(n), CFG.browserN);
          const m1 = await cdp.send("Performance.getMetrics");
          const metric = (m, name) => m.metrics.find((x) => x.name === name)?.value ?? 0;
          res.mainThreadUsPerMsg = ((metric(m1, "TaskDuration") - metric(m0, "TaskDuration")) * 1e6) / CFG.browserN;
          res.scriptUsPerMsg = ((metric(m1, "ScriptDuration") - metric(m0, "ScriptDuration")) * 1e6) / CFG.browserN;
          per[c].push(res);
          line.push(`${c} ${Math.round(res.msgsPerSec / 1000)}k/s main ${res.mainThreadUsPerMsg.toFixed(2)}µs`);
          await page.close();
        }
        log(`  browser ${mode} round ${r + 1}/${CFG.browserRounds}: ${line.join(" | ")}`);
      }
      const fig = {};
      for (const c of clients) {
        fig[c] = {
          msgsPerSec: median(per[c].map((r) => r.msgsPerSec)),
          mainThreadUsPerMsg: median(per[c].map((r) => r.mainThreadUsPerMsg)),
          scriptUsPerMsg: median(per[c].map((r) => r.scriptUsPerMsg)),
          rounds: per[c].map((r) => ({ msgsPerSec: Math.round(r.msgsPerSec), mainThreadUsPerMsg: +r.mainThreadUsPerMsg.toFixed(3) })),
        };
      }
      fig.mc.ratioWall = fig.mc.msgsPerSec / fig.raw.msgsPerSec;
      fig.mc.ratioCpu = fig.raw.mainThreadUsPerMsg / fig.mc.mainThreadUsPerMsg;
      out[mode] = fig;
    }

    // Cold start: page load -> ready() resolved, script-tag build, a fresh context per page.
    const cold = [];
    for (let i = 0; i < CFG.coldBrowserN; i++) {
      const ctx = await context.browser()?.newContext?.();
      const page = ctx ? await ctx.newPage() : await context.newPage();
      await page.goto(`${server.url}/cold.html`);
      const t = await page.waitForFunction(() => window.__readyAt || window.__readyError, null, { timeout: 20000 }).then((h) => h.jsonValue());
      if (typeof t !== "number") throw new Error(`cold.html: ${t}`);
      cold.push(t);
      await page.close();
      if (ctx) await ctx.close();
    }
    out.coldStart = { n: cold.length, medianMs: median(cold), runsMs: cold.map((x) => +x.toFixed(1)) };
    log(`  browser cold start: ${cold.map((x) => x.toFixed(1)).join(", ")} ms`);
  } finally {
    await context.close();
    await server.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
  return out;
}

// ---------------------------------------------------------------- profile helper
async function profile(figure) {
  if (!["receive", "filtered", "send"].includes(figure)) throw new Error(`--profile takes receive, filtered or send (got ${figure})`);
  const { proc, line } = await startServer([path.join(here, "flood-server.mjs")], { ipc: true });
  const port = JSON.parse(line).port;
  const dir = mkdtempSync(path.join(os.tmpdir(), "mc-prof-"));
  const n = Number(opt["profile-n"] || 400000);
  const client = opt["profile-client"] || "mc";
  const res = await runClient(
    { client, mode: figure, url: `ws://127.0.0.1:${port}/prof`, n, warm: 30000, timeoutMs: 300000 },
    { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=100"] },
  );
  proc.kill();
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  const prof = JSON.parse(readFileSync(path.join(dir, file), "utf8"));
  rmSync(dir, { recursive: true, force: true });
  const top = topSelf(prof, Number(opt.top));
  const lines = [
    `${NAMES[client]} ${figure}: ${n} messages, ${Math.round(res.msgsPerSec)} msgs/s, ${res.cpuUsPerMsg.toFixed(2)} µs CPU/msg (under the profiler)`,
    "",
  ];
  lines.push("| self % | self ms | function | where |", "|---:|---:|---|---|");
  for (const t of top.rows) lines.push(`| ${t.pct.toFixed(1)} | ${t.ms.toFixed(0)} | \`${t.name}\` | ${t.where} |`);
  lines.push("", `By origin (self time; % of the non-idle profile; µs per message over all ${n + 30000} messages incl. warm-up):`);
  for (const [k, v] of Object.entries(top.groups).sort((a, b) => b[1] - a[1])) {
    if (v / top.busy < 0.002) continue;
    lines.push(`  ${k.padEnd(32)} ${((v / top.busy) * 100).toFixed(1).padStart(5)}%  ${(v / (n + 30000)).toFixed(2).padStart(6)} µs`);
  }
  lines.push(`  ${"total".padEnd(32)} ${"100.0".padStart(5)}%  ${(top.busy / (n + 30000)).toFixed(2).padStart(6)} µs`);
  lines.push(
    "",
    "wasm functions show as wasm-function[N] or $funcN: the release build strips the name section.",
    "For names, link with `--profiling-funcs` (keeps the name section; same -Oz code):",
    "  node tests/bench/profiling-build.mjs      # -> build/bench-profiling/dist (dist/ untouched)",
    `  node tests/bench/run.mjs --profile ${figure} --dist build/bench-profiling/dist`,
  );
  if (opt.json) process.stdout.write(`${JSON.stringify({ figure, result: res, top: top.rows, groups: top.groups }, null, 2)}\n`);
  else process.stdout.write(`${lines.join("\n")}\n`);
}

function topSelf(prof, count) {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas;
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    self.set(id, (self.get(id) || 0) + (dt[i + 1] ?? dt[i] ?? 0));
  }
  const agg = new Map();
  const groups = {};
  let busy = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const name = cf.functionName || "(anonymous)";
    if (name === "(idle)") continue;
    busy += us;
    const url = cf.url || "";
    const file = url ? url.replace(/^file:\/\//, "").replace(`${root}/`, "") : "";
    const where = file ? `${file}:${cf.lineNumber + 1}` : cf.lineNumber >= 0 && /wasm/.test(name) ? "wasm" : "";
    const key = `${name}|${where}`;
    agg.set(key, { name, where, us: (agg.get(key)?.us || 0) + us });
    let g;
    if (/wasm-function|^\$func|\.wasm/.test(name + url) || url.startsWith("wasm://")) g = "wasm (metachannel core)";
    else if (file.includes("dist/metachannel")) g = "metachannel JS (dist)";
    else if (url.startsWith("node:internal/deps/undici") || /undici/.test(url)) g = "undici WebSocket";
    else if (url.startsWith("node:")) g = "Node internals";
    else if (name === "(garbage collector)") g = "GC";
    else if (name === "(program)") g = "(program: V8/native)";
    else if (file.includes("tests/bench")) g = "bench harness";
    else if (!url) g = `native: ${name}`;
    else g = "other JS";
    groups[g] = (groups[g] || 0) + us;
  }
  const rows = [...agg.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, count)
    .map((r) => ({ ...r, ms: r.us / 1000, pct: (r.us / busy) * 100 }));
  return { rows, groups, busy };
}

// ---------------------------------------------------------------- report
const fmtK = (x) => (x == null ? "–" : x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));
const fmtR = (x) => (x == null ? "–" : `${x.toFixed(2)}×`);
const ok = (b) => (b ? "✅" : "❌");
const kb = (b) => `${(b / 1024).toFixed(1)} KB`;

// The targets of the size-and-speed issue (13), ratios to raw in the same run.
function targets(F) {
  const t = [];
  const add = (name, value, target, pass) => t.push({ name, value, target, pass });
  if (F.receive) {
    add("receive throughput (wall), mc/raw", F.receive.mc.ratioWall, "≥ 0.90×", F.receive.mc.ratioWall >= 0.9);
    add("receive CPU per msg, raw/mc", F.receive.mc.ratioCpu, "≥ 0.90×", F.receive.mc.ratioCpu >= 0.9);
  }
  if (F.filtered) {
    add("filtered receive (wall), mc/raw", F.filtered.mc.ratioWall, "≥ 1.10×", F.filtered.mc.ratioWall >= 1.1);
    add("filtered CPU per msg, raw/mc", F.filtered.mc.ratioCpu, "≥ 1.10×", F.filtered.mc.ratioCpu >= 1.1);
  }
  if (F.send) {
    add("send throughput (wall), mc/raw", F.send.mc.ratioWall, "≥ 0.90×", F.send.mc.ratioWall >= 0.9);
    add("send CPU per msg, raw/mc", F.send.mc.ratioCpu, "≥ 0.90×", F.send.mc.ratioCpu >= 0.9);
  }
  if (F.rtt) {
    add("RTT p50, mc/raw", F.rtt.mc.ratioP50, "≤ 1.05×", F.rtt.mc.ratioP50 <= 1.05);
    add("RTT p99, mc/raw", F.rtt.mc.ratioP99, "≤ 1.10×", F.rtt.mc.ratioP99 <= 1.1);
  }
  if (F.bundle) {
    add("script tag JS+wasm gzip", F.bundle.scriptTag.gzip, "≤ 30 KB", F.bundle.scriptTag.gzip <= 30 * 1024);
    add('script tag JS+wasm gzip, ready({ core: "lite" })', F.bundle.scriptTagLite.gzip, "≤ 30 KB", F.bundle.scriptTagLite.gzip <= 30 * 1024);
    add("ESM JS+wasm gzip", F.bundle.esm.gzip, "≤ 30 KB", F.bundle.esm.gzip <= 30 * 1024);
  }
  if (F.coldstart) {
    add("cold start Node, median (import → ready)", F.coldstart.medianMs, "≤ 10 ms", F.coldstart.medianMs <= 10);
    if (F.coldstart.preloaded) add("cold start Node, WebSocket preloaded", F.coldstart.preloaded.medianMs, "≤ 10 ms", F.coldstart.preloaded.medianMs <= 10);
  }
  if (F.cold) add("cold start Node, import → first plain channel open", F.cold.medianMs, "≤ 10 ms", F.cold.medianMs <= 10);
  if (F.memory) add(`wasm memory growth over ${fmtK(F.memory.mc.messages)} msgs`, F.memory.mc.wasmGrowthBytes, "= 0 B", F.memory.mc.wasmGrowthBytes === 0);
  if (F.channels?.mc && F.channels.raw) {
    const r = F.channels.mc.openMs / F.channels.raw.openMs;
    add(`${F.channels.mc.n} channels: time to open all, mc/raw`, r, "≤ 1.30×", r <= 1.3);
  }
  for (const [mode, what, goal] of [
    ["receive", "receive", 0.9],
    ["filtered", "filtered receive", 1.1],
    ["send", "send", 0.9],
  ]) {
    const b = F.browser?.[mode];
    if (!b) continue;
    add(`Chromium ${what} (wall), mc/raw`, b.mc.ratioWall, `≥ ${goal.toFixed(2)}×`, b.mc.ratioWall >= goal);
    add(`Chromium ${what}, main-thread CPU per msg, raw/mc`, b.mc.ratioCpu, `≥ ${goal.toFixed(2)}×`, b.mc.ratioCpu >= goal);
  }
  return t;
}

function markdown(R) {
  const F = R.figures;
  const L = [];
  L.push(
    `Machine: ${R.machine.nproc} CPUs, ${R.machine.cpu}, Node ${R.machine.node}, ${R.machine.platform}; load average at start ${R.machine.loadavgAtStart}.`,
  );
  L.push(
    `Package under test: ${R.dist.dir}/ (wasm sha256 ${R.dist["metachannel.wasm"]?.sha256}, mjs ${R.dist["metachannel.mjs"]?.sha256}, built ${R.dist["metachannel.wasm"]?.mtime}); git ${R.git}.`,
  );
  L.push(`Command: \`${R.command}\` — ${R.config.rounds} interleaved rounds per figure, one child process per client per round; medians.`, "");
  const tput = (title, f, clients, n) => {
    L.push(`### ${title}`, "", `${n}`, "");
    L.push(
      "| client | msgs/s (wall) | ratio to raw | client CPU µs/msg | CPU ratio (raw/client) | server CPU µs/msg | server buffered (median) |",
      "|---|---:|---:|---:|---:|---:|---:|",
    );
    for (const c of clients) {
      const x = f[c];
      if (!x) continue;
      L.push(
        `| ${NAMES[c]} | ${fmtK(x.msgsPerSec)} | ${fmtR(x.ratioWall)} | ${x.cpuUsPerMsg.toFixed(2)} | ${fmtR(x.ratioCpu)} | ${x.server?.cpuUsPerMsg != null ? x.server.cpuUsPerMsg.toFixed(2) : "–"} | ${x.server?.bufferedMedianBytes != null ? kb(x.server.bufferedMedianBytes) : "–"} |`,
      );
    }
    L.push("");
  };
  if (F.receive)
    tput(
      "1. Receive throughput (typed dispatch, every message listened to)",
      F.receive,
      CLIENTS,
      `${fmtK(R.config.recvN)} ticks of ~120 B per round after ${fmtK(R.config.recvWarm)} warm-up; raw/peers: JSON.parse + dispatch on \`type\`; metachannel: \`onMessage("tick")\`.`,
    );
  if (F.filtered)
    tput(
      "2. Filtered receive (1 of 10 channels)",
      F.filtered,
      ["raw", "mc", "mc2"],
      `Same flood; raw parses every frame and keeps \`msg.channel === "c3"\`; metachannel: ${F.filtered.mc?.filterVia === "LiveDataClient" ? '`new LiveDataClient(channel).subscribe("c3", fn)`' : 'what LiveDataClient registers (`_route(3, "c3", 1)` + `_hook(8, fn)`; this build exports no LiveDataClient)'}: the receive plan (docs/architecture.md) drops the other 9/10 before they enter wasm. Rates and µs are per flood message (delivered: 1/10).`,
    );
  if (F.send)
    tput(
      "3. Send throughput",
      F.send,
      CLIENTS,
      `${fmtK(R.config.sendN)} tick objects per round (JSON.stringify in every client; metachannel \`send(object)\`), batches of 500, waits while bufferedAmount > 1 MiB; timed until the sink server has counted all of them.`,
    );
  if (F.rtt) {
    L.push(
      "### 4. Round trip through the dev relay",
      "",
      `${R.config.rate} msgs/s for ${R.config.rttSeconds} s per round (after ${R.config.rttWarm} s warm-up); each client on its own relay channel gets its own echo.`,
      "",
    );
    L.push(
      "| client | p50 ms | p90 ms | p99 ms | p50 ratio | p99 ratio | per-round ratios (median) p50 / p99 | lost |",
      "|---|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const c of CLIENTS) {
      const x = F.rtt[c];
      if (!x) continue;
      L.push(
        `| ${NAMES[c]} | ${x.p50.toFixed(3)} | ${x.p90.toFixed(3)} | ${x.p99.toFixed(3)} | ${fmtR(x.ratioP50)} | ${fmtR(x.ratioP99)} | ${fmtR(x.ratioP50PerRoundMedian)} / ${fmtR(x.ratioP99PerRoundMedian)} | ${x.lost} |`,
      );
    }
    L.push("");
  }
  if (F.bundle) {
    const b = F.bundle;
    L.push("### 5. Bundle size (gzip -9)", "", "| what | raw | gzip |", "|---|---:|---:|");
    L.push(`| script tag: metachannel.js + metachannel.wasm | ${kb(b.scriptTag.raw)} | **${kb(b.scriptTag.gzip)}** |`);
    L.push(`| — metachannel.js | ${kb(b.scriptTag.js.raw)} | ${kb(b.scriptTag.js.gzip)} |`);
    L.push(`| — metachannel.wasm | ${kb(b.scriptTag.wasm.raw)} | ${kb(b.scriptTag.wasm.gzip)} |`);
    L.push(
      `| script tag, \`ready({ core: "lite" })\`: metachannel.js + metachannel-lite.wasm | ${kb(b.scriptTagLite.raw)} | **${kb(b.scriptTagLite.gzip)}** |`,
    );
    L.push(`| — metachannel-lite.wasm | ${kb(b.scriptTagLite.wasm.raw)} | ${kb(b.scriptTagLite.wasm.gzip)} |`);
    L.push(`| ESM: metachannel.mjs + metachannel.wasm | ${kb(b.esm.raw)} | **${kb(b.esm.gzip)}** |`);
    L.push(
      `| reconnecting-websocket (${b.peers.rws.what}) | ${kb(b.peers.rws.raw)} | ${kb(b.peers.rws.gzip)} (own iife.min: ${kb(b.peers.rws.iifeMinGzip)}) |`,
    );
    L.push(`| partysocket (${b.peers.party.what}) | ${kb(b.peers.party.raw)} | ${kb(b.peers.party.gzip)} |`, "");
  }
  if (F.coldstart || F.cold || F.browser?.coldStart) {
    L.push("### 6. Cold start (import → `ready()` resolved)", "");
    if (F.coldstart) {
      const c = F.coldstart;
      const line = (label, x) =>
        `- ${label}, ${x.n} fresh processes: median **${x.medianMs.toFixed(1)} ms** (import ${x.importMs.toFixed(1)} ms + ready ${x.readyMs.toFixed(1)} ms; min ${x.minMs.toFixed(1)}, max ${x.maxMs.toFixed(1)}); process start → ready ${x.sinceProcessStartMs.toFixed(1)} ms.`;
      L.push(line("Node, global WebSocket (--experimental-websocket)", c));
      if (c.preloaded) L.push(line("Node, global WebSocket already loaded (metachannel's own cost)", c.preloaded));
      if (c.wsPackage) L.push(line("Node 20 without the flag (`ws` package imported by ready())", c.wsPackage));
    }
    if (F.cold) {
      const c = F.cold;
      L.push(
        `- Node ${c.node}, import → first plain channel open, ${c.n} fresh processes: median **${c.medianMs.toFixed(1)} ms** (import ${c.importMs.toFixed(1)} + connect() ${c.readyMs.toFixed(1)} [the core's load: WebAssembly.compile ${c.compileMs.toFixed(1)}, instantiate ${c.instantiateMs.toFixed(1)}; the socket opens meanwhile] + → open ${c.openMs.toFixed(1)} ms; min ${c.minMs.toFixed(1)}, max ${c.maxMs.toFixed(1)}; a raw WebSocket's own open ${c.rawOpenMs.toFixed(1)} ms); process start → open ${c.sinceProcessStartMs.toFixed(1)} ms. Runs: ${c.runsMs.join(", ")}.`,
      );
    }
    if (F.browser?.coldStart)
      L.push(
        `- Chromium, ${F.browser.coldStart.n} fresh pages (script tag, page navigation start → ready resolved, performance.now()): median **${F.browser.coldStart.medianMs.toFixed(1)} ms** (${F.browser.coldStart.runsMs.join(", ")}).`,
      );
    L.push("");
  }
  if (F.memory) {
    const m = F.memory;
    L.push(`### 7. Memory (after ${fmtK(m.mc.warm)} warm-up messages, then ${fmtK(m.mc.messages)} more; gc() before each reading)`, "");
    L.push(
      "| client | wasm memory before | after | growth | wasm heap used (highest non-zero byte) before → after | JS heapUsed before | after | growth |",
      "|---|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const c of ["mc", "raw"]) {
      const x = m[c];
      L.push(
        `| ${NAMES[c]} | ${c === "mc" ? kb(x.before.wasmBytes) : "–"} | ${c === "mc" ? kb(x.after.wasmBytes) : "–"} | ${c === "mc" ? `${x.wasmGrowthBytes} B` : "–"} | ${c === "mc" ? `${x.before.wasmTouched} → ${x.after.wasmTouched} B` : "–"} | ${(x.before.heapUsed / 1e6).toFixed(2)} MB | ${(x.after.heapUsed / 1e6).toFixed(2)} MB | ${(x.heapGrowthBytes / 1024).toFixed(0)} KB |`,
      );
    }
    L.push("");
  }
  if (F.channels) {
    L.push(`### 8. ${R.config.channelsN} concurrent channels in one process (dev relay in its own process)`, "");
    L.push("Interleaved rounds (raw and mc alternate, a fresh process each); the median round per client.", "");
    L.push("wasm / channel: growth of the wasm Memory / N; in brackets, growth of the used part of the heap (offset of its highest non-zero byte) / N.", "");
    L.push("| client | time to open all | wasm / channel | JS heap / channel | RSS / channel |", "|---|---:|---:|---:|---:|");
    for (const c of ["mc", "raw"]) {
      const x = F.channels[c];
      L.push(
        `| ${NAMES[c]} | ${x.openMs.toFixed(0)} ms | ${c === "mc" ? `${x.wasmBytesPerChannel.toFixed(0)} B (heap used: ${x.wasmTouchedPerChannel.toFixed(0)} B)` : "–"} | ${x.heapBytesPerChannel.toFixed(0)} B | ${x.rssBytesPerChannel.toFixed(0)} B |`,
      );
    }
    L.push("");
  }
  if (F.browser?.receive) {
    L.push(
      `### Chromium (${F.browser.chromium || "headless"}; raw page vs script-tag build)`,
      "",
      `${fmtK(R.config.browserN)} messages per round, ${R.config.browserRounds} rounds, a fresh page per client per round; main-thread µs/msg from CDP Performance.getMetrics TaskDuration (filtered: per flood message, 1 in 10 delivered; send: the Node send loop, tests/bench/browser/bench-page.js).`,
      "",
    );
    for (const [mode, title] of [
      ["receive", "Receive"],
      ["filtered", "Filtered receive (1 of 10 channels)"],
      ["send", "Send"],
    ]) {
      const b = F.browser[mode];
      if (!b) continue;
      L.push(`${title}:`, "", "| client | msgs/s | ratio | main thread µs/msg | CPU ratio (raw/mc) |", "|---|---:|---:|---:|---:|");
      if (b.count) {
        L.push(
          `| floor: WebSocket, count only (no JSON.parse) | ${fmtK(b.count.msgsPerSec)} | ${fmtR(b.count.msgsPerSec / b.raw.msgsPerSec)} | ${b.count.mainThreadUsPerMsg.toFixed(2)} | – |`,
        );
      }
      L.push(`| ${NAMES.raw} | ${fmtK(b.raw.msgsPerSec)} | 1.00× | ${b.raw.mainThreadUsPerMsg.toFixed(2)} | 1.00× |`);
      L.push(`| ${NAMES.mc} | ${fmtK(b.mc.msgsPerSec)} | ${fmtR(b.mc.ratioWall)} | ${b.mc.mainThreadUsPerMsg.toFixed(2)} | ${fmtR(b.mc.ratioCpu)} |`, "");
    }
  } else if (F.browser?.skipped) L.push(`Chromium: skipped (${F.browser.skipped}).`, "");
  const T = targets(F);
  if (T.length) {
    L.push("### Targets", "", "| target | value | goal | met |", "|---|---:|---|:---:|");
    for (const t of T) {
      const v = /gzip/.test(t.name) ? kb(t.value) : /cold/.test(t.name) ? `${t.value.toFixed(1)} ms` : /growth/.test(t.name) ? `${t.value} B` : fmtR(t.value);
      L.push(`| ${t.name} | ${v} | ${t.target} | ${ok(t.pass)} |`);
    }
    L.push("");
  }
  return L.join("\n");
}

// ---------------------------------------------------------------- main
async function main() {
  if (opt.profile) return profile(opt.profile);
  const t0 = performance.now();
  const need = (f) => figures.has(f);
  let flood = null;
  let floodPort = 0;
  if (["receive", "filtered", "send", "memory", "browser", "cold"].some(need)) {
    const { proc, line } = await startServer([path.join(here, "flood-server.mjs"), ...(opt["plain-ws"] ? ["--plain-ws"] : [])], { ipc: true });
    flood = proc;
    floodPort = JSON.parse(line).port;
  }
  let relayBase = null;
  if (need("rtt") || need("channels")) {
    const { line } = await startServer([path.join(root, "relay/cli.js"), "--port", "0", "--max-clients", "0"]);
    relayBase = /(http:\/\/\S+)/.exec(line)[1];
  }
  const floodUrl = `ws://127.0.0.1:${floodPort}/bench`;
  const F = results.figures;

  if (need("bundle")) {
    log("bundle sizes…");
    F.bundle = await bundleSizes();
  }
  if (need("coldstart")) {
    log("cold start (Node)…");
    F.coldstart = await coldStartNode();
  }
  if (need("cold")) {
    log("cold start to the first open (Node)…");
    F.cold = await coldOpenNode(floodUrl);
  }
  if (need("receive")) {
    log("1. receive…");
    F.receive = summarizeThroughput(await rounds("receive", CLIENTS, () => ({ url: floodUrl, n: CFG.recvN, warm: CFG.recvWarm }), { server: flood }));
  }
  if (need("filtered")) {
    log("2. filtered receive…");
    F.filtered = summarizeThroughput(
      await rounds("filtered", ["raw", "mc", ...(DIST2 ? ["mc2"] : [])], () => ({ url: floodUrl, n: CFG.recvN, warm: CFG.recvWarm }), { server: flood }),
    );
  }
  if (need("send")) {
    log("3. send…");
    F.send = summarizeThroughput(await rounds("send", CLIENTS, () => ({ url: floodUrl, n: CFG.sendN, warm: CFG.sendWarm }), { server: flood }));
  }
  if (need("rtt")) {
    log("4. round trip via the dev relay…");
    F.rtt = summarizeRtt(
      await rounds("rtt", CLIENTS, async () => ({ url: await relayChannel(relayBase), rate: CFG.rate, seconds: CFG.rttSeconds, warmSeconds: CFG.rttWarm })),
    );
  }
  if (need("memory")) {
    log("7. memory…");
    F.memory = await memory(floodUrl);
  }
  if (need("channels")) {
    log(`8. ${CFG.channelsN} channels…`);
    F.channels = await manyChannels(relayBase);
  }
  if (need("browser")) {
    log("Chromium…");
    F.browser = await browserFigures(floodPort);
  }
  let reliableMd = "";
  if (need("reliable")) {
    log("reliable delivery vs plain…");
    const args = [path.join(here, "reliable.mjs"), "--rounds", String(ROUNDS), "--n", quick ? "20000" : "100000"];
    if (opt.dist) args.push("--dist", opt.dist);
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    if (r.status !== 0) throw new Error(`tests/bench/reliable.mjs failed (${r.status ?? r.signal})`);
    reliableMd = r.stdout;
    results.reliable = r.stdout.trim();
  }
  if (need("fanout")) {
    log("fanout: many peers on one channel…");
    const args = [path.join(here, "fanout.mjs"), ...(quick ? ["--n", "10,30", "--reconnect", "fast", "--seconds", "8", "--settle", "8", "--idle", "10"] : [])];
    if (opt.dist) args.push("--dist", opt.dist);
    if (opt["fanout-args"]) args.push(...opt["fanout-args"].split(" ").filter(Boolean));
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    if (r.status !== 0) throw new Error(`tests/bench/fanout.mjs failed (${r.status ?? r.signal})`);
    reliableMd += `\n${r.stdout}`;
    results.fanout = r.stdout.trim();
  }
  if (need("relay")) {
    log("relay: fan-out through 1 relay, 1 relay + Redis, 3 relays + Redis…");
    const args = [path.join(here, "relay-redis.mjs"), ...(quick ? ["--quick"] : [])];
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    if (r.status !== 0) throw new Error(`tests/bench/relay-redis.mjs failed (${r.status ?? r.signal})`);
    reliableMd += `\n${r.stdout}`;
    results.relay = r.stdout.trim();
  }
  if (need("e2e")) {
    log("end-to-end encryption vs plain (Node 22, Chromium)…");
    const args = [path.join(here, "e2e.mjs"), "--rounds", String(ROUNDS), ...(quick ? ["--n", "20000", "--warm", "5000", "--rtt-n", "500"] : [])];
    if (opt.dist) args.push("--dist", opt.dist);
    if (opt["no-browser"]) args.push("--runtimes", "node22");
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    if (r.status !== 0) throw new Error(`tests/bench/e2e.mjs failed (${r.status ?? r.signal})`);
    reliableMd += `\n${r.stdout}`;
    results.e2e = r.stdout.trim();
  }
  results.targets = targets(F);
  results.elapsedSeconds = (performance.now() - t0) / 1000;
  const md = `${markdown(results)}${reliableMd}\n(${results.elapsedSeconds.toFixed(0)} s)\n`;
  if (opt.save) {
    writeFileSync(`${opt.save}.md`, md);
    writeFileSync(`${opt.save}.json`, `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote ${opt.save}.md and ${opt.save}.json`);
  }
  if (opt.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else process.stdout.write(md);
}

main()
  .then(() => process.exit(0))
  .catch((err) => {
    log(err?.stack ? err.stack : String(err));
    process.exit(1);
  });
