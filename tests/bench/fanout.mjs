#!/usr/bin/env node
// Many peers on one channel (issue 22): N peers spread over several child processes on the real
// relay (relay/), each sending `rate` messages/s for `seconds` while the relay drops every
// socket of the channel `drops` times; then `settle` seconds, a relay restart and an idle spell.
// Frames are counted at the relay. Reliable+presence peers, with plain peers as the control.
//
//   node tests/bench/fanout.mjs [--n 10,50,100] [--modes plain,reliable] [--reconnect fast,default]
//                               [--seconds 20] [--settle 15] [--idle 30] [--dist DIR]
//                               [--idle-s 150]     (an idle phase before the send phase, below)
//                               [--cpu-prof DIR]   (a V8 CPU profile of each peer process)
//                               [--relay DIR]      (another copy of relay/, e.g. to compare two)
//   (npm run bench -- --only fanout)
//
// Printed per run: data frames / the floor (floor = messages sent + each message some peer
// missed, once: a frame the relay broadcast while fewer than N sockets of the channel were
// open), control frames / messages sent, peers that got every other peer's messages exactly
// once and in order with nothing reported lost, frames in the 3 s after a relay restart per
// peer, idle control frames per peer per minute, and how long after the last peer was back
// every peer saw every other's new presence state.
//
// `--idle-s S` (reliable mode): an idle phase of S seconds right after the joins have settled,
// before any app message or drop: every frame the relay receives on the channel in the window
// is counted (presence renewals and anything else), printed as frames per peer per minute
// beside the target (≤ 2). It should span a few renew periods (~50 s at N = 100): 150 s.
// The `--idle` window after the settle phase counts control frames only, and at N = 100 it is
// shorter than one renew period (and polluted by a repair backlog after default reconnects).
//
// Also printed (stderr, per run): the send → delivery time of the others' messages at each peer
// (percentiles; a message sent while its sender was away waits for the reconnect, a missed one
// for its repair: what holding repairs costs in time), and the peer processes' CPU time
// (process.cpuUsage, user + system) during the send phase, per message a peer received (its own
// echo included): the per-frame cost of a peer. `--drops 0` measures the steady state.
import { fork } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const FAST = { minDelayMs: 5, maxDelayMs: 40, stableAfterMs: 200 };
const LATENCY_SLOTS = 6000; // 10 ms each: up to 60 s

/** Percentiles (ms) of a 10 ms-slot histogram. */
function percentiles(h, ps) {
  const total = h.reduce((a, b) => a + b, 0);
  return ps.map((p) => {
    let acc = 0;
    for (let i = 0; i < h.length; i++) {
      acc += h[i];
      if (acc >= total * p) return i * 10;
    }
    return NaN;
  });
}

const { values: opt } = parseArgs({
  options: {
    n: { type: "string", default: "10,50,100" },
    modes: { type: "string", default: "plain,reliable" },
    reconnect: { type: "string", default: "fast,default" },
    seconds: { type: "string", default: "20" },
    settle: { type: "string", default: "15" },
    idle: { type: "string", default: "30" },
    "idle-s": { type: "string", default: "0" },
    drops: { type: "string", default: "5" },
    rate: { type: "string", default: "5" },
    "per-process": { type: "string", default: "25" },
    dist: { type: "string" },
    relay: { type: "string" }, // DIR: another copy of relay/ (to compare two relays)
    "cpu-prof": { type: "string" }, // DIR: each peer process writes a V8 CPU profile there
    child: { type: "boolean", default: false },
  },
  strict: false, // also imported by tests/node/reliable-fanout.test.js
});

// ---------------------------------------------------------------------------- child process

/** Hosts `count` peers; answers the parent's commands over IPC. */
function child() {
  let mc;
  let peers = [];
  const timers = [];
  let received = 0; // messages "r" received by the peers of this process, echoes included
  const latency = new Uint32Array(LATENCY_SLOTS); // others' messages by send → delivery time, 10 ms slots
  let cpuAt = null;
  process.on("message", async (cmd) => {
    if (cmd.cmd === "start") {
      mc = await import(path.join(cmd.distDir, "metachannel.mjs"));
      const reliable = cmd.mode === "reliable";
      await mc.ready(reliable ? { core: "full" } : {}); // new Channel() with reliable needs the full core loaded
      for (let i = 0; i < cmd.count; i++) {
        const name = `${cmd.proc}-${i}`;
        const ch = new mc.Channel(cmd.url, {
          ...(reliable ? { reliable: { bufferMessages: 5000 }, presence: { state: { name, v: 1 } } } : {}),
          reconnect: cmd.reconnect === "fast" ? FAST : {},
          queue: { maxMessages: Infinity, maxBytes: Infinity },
        });
        const peer = { ch, name, sent: 0, got: new Map(), problems: 0, lost: 0, reopened: 0 };
        ch.onMessage("r", (m) => {
          received++;
          if (m.src === name) return; // our own echo
          latency[Math.min(LATENCY_SLOTS - 1, Math.max(0, Math.floor((Date.now() - m.at) / 10)))]++;
          const last = peer.got.get(m.src) ?? 0;
          if (m.n !== last + 1) peer.problems++;
          peer.got.set(m.src, Math.max(last, m.n));
        });
        ch.on("error", (e) => {
          if (e.code === "MESSAGES_LOST") peer.lost += e.detail.count;
        });
        ch.on("open", () => {
          peer.reopened = Date.now();
        });
        peers.push(peer);
      }
      await Promise.all(peers.map((p) => p.ch.opened()));
      process.send({ ok: true, names: peers.map((p) => p.name) });
    } else if (cmd.cmd === "send") {
      // Each peer sends `rate` messages/s, spread (not all at once).
      cpuAt = { cpu: process.cpuUsage(), received, t: performance.now(), hr: process.hrtime.bigint() / 1000n };
      for (const p of peers) {
        const every = 1000 / cmd.rate;
        const start = setTimeout(() => {
          const timer = setInterval(() => p.ch.send({ type: "r", src: p.name, n: ++p.sent, at: Date.now() }), every);
          timers.push(timer);
        }, Math.random() * every);
        timers.push(start);
      }
      process.send({ ok: true });
    } else if (cmd.cmd === "stop") {
      for (const t of timers) clearInterval(t); // clears timeouts too
      const cpu = process.cpuUsage(cpuAt.cpu);
      const cpuStats = { cpuUs: cpu.user + cpu.system, received: received - cpuAt.received, ms: performance.now() - cpuAt.t };
      // the send phase on the clock of a --cpu-prof profile (µs), to read that part of it
      if (process.execArgv.includes("--cpu-prof")) console.error(`  send phase of pid ${process.pid}: ${cpuAt.hr} ${process.hrtime.bigint() / 1000n} µs`);
      process.send({ ok: true, cpu: cpuStats, sent: Object.fromEntries(peers.map((p) => [p.name, p.sent])) });
    } else if (cmd.cmd === "report") {
      // sent: every peer's count; a peer is complete if it got every other's 1..sent once, in order.
      const complete = peers.filter(
        (p) => p.problems === 0 && p.lost === 0 && Object.entries(cmd.sent).every(([src, n]) => src === p.name || (p.got.get(src) ?? 0) === n),
      ).length;
      const lost = peers.reduce((a, p) => a + p.lost, 0);
      const stats = {};
      for (const p of peers) {
        for (const [k, v] of Object.entries(p.ch._reliableStats?.() ?? {})) if (typeof v === "number") stats[k] = (stats[k] || 0) + v;
      }
      process.send({ ok: true, complete, lost, problems: peers.reduce((a, p) => a + p.problems, 0), stats, latency: Array.from(latency) });
    } else if (cmd.cmd === "presence") {
      // The relay is down: every peer changes its state; report when all see all others' new one.
      for (const p of peers) if (p.ch.setPresence) p.ch.setPresence({ name: p.name, v: 2 });
      const others = cmd.total - 1;
      const poll = setInterval(() => {
        const done = peers.every((p) => {
          if (p.ch.state !== "open") return false;
          let n = 0;
          for (const s of p.ch.presence.values()) n += s && s.v === 2 ? 1 : 0;
          return n === others;
        });
        if (done || Date.now() > cmd.deadline) {
          clearInterval(poll);
          process.send({ ok: done, at: Date.now(), lastOpen: Math.max(...peers.map((p) => p.reopened)) });
        }
      }, 20);
    } else if (cmd.cmd === "exit") {
      for (const p of peers) p.ch.dispose();
      peers = [];
      process.send({ ok: true });
      setTimeout(() => process.exit(0), 50);
    }
  });
}

// ---------------------------------------------------------------------------- parent

function ask(proc, message) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      proc.off("exit", onExit);
      resolve(m);
    };
    const onExit = (code) => reject(new Error(`bench child exited (${code})`));
    proc.once("message", onMessage);
    proc.once("exit", onExit);
    proc.send(message);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Counts what the relay receives on the channel: data frames (a "_mc" tag first, as this SDK
 * writes it, or plain "r" messages) and control frames; `missed`: tags of data frames first
 * broadcast while fewer than `n` sockets were open. Also, for the analysis of repairs
 * (`returnClusters`): when each tag was first broadcast (`seen`), and each peer's connections
 * (`conns`: id -> [{ start, end }], a socket known by the `from` of its first `hi`).
 */
function counter(relay, n) {
  const c = { data: 0, control: 0, frames: 0, hi: 0, ops: {}, seen: new Map(), missed: 0, open: 0, conns: new Map() };
  relay.on("connection", ({ socket }) => {
    c.open++;
    const conn = { start: performance.now(), end: Infinity, id: null };
    socket.on("close", () => {
      c.open--;
      conn.end = performance.now();
    });
    socket.on("message", (data) => {
      c.frames++;
      const s = String(data);
      if (s.includes('"type":"_mc"')) {
        c.control++;
        const op = /"op":"([a-z]+)"/.exec(s)?.[1] ?? "?";
        c.ops[op] = (c.ops[op] ?? 0) + 1;
        if (op === "hi") {
          c.hi++;
          const from = conn.id === null && /"from":"([^"]+)"/.exec(s);
          if (from) {
            conn.id = from[1];
            if (!c.conns.has(conn.id)) c.conns.set(conn.id, []);
            c.conns.get(conn.id).push(conn);
          }
        }
        return;
      }
      c.data++;
      const key = s.startsWith('{"_mc":"') ? s.slice(8, s.indexOf('"', 8)) : s;
      if (c.seen.has(key)) return;
      c.seen.set(key, performance.now());
      if (c.open < n) c.missed++;
    });
  });
  return c;
}

/**
 * How many times each message has to cross the relay at least if one resend serves every peer
 * that missed it and is back within `w` ms of the first of them to return (greedy clusters of
 * the return times): the floor of the bench counts one resend per missed message (w = ∞), which
 * peers returning seconds apart cannot reach without waiting that long. Returns, per w, the
 * messages sent plus those resends (reliable mode: peers are known by their `hi`).
 */
function returnClusters(c, sent, windows) {
  const out = Object.fromEntries(windows.map((w) => [w, sent]));
  let missing = 0;
  for (const [tag, t] of c.seen) {
    const colon = tag.lastIndexOf(":");
    if (tag.startsWith("{") || colon < 0) continue;
    const sender = tag.slice(0, colon);
    const returns = [];
    for (const [id, conns] of c.conns) {
      if (id === sender || conns.some((x) => x.start <= t && t < x.end)) continue;
      let back = Infinity;
      for (const x of conns) if (x.start > t && x.start < back) back = x.start;
      if (back < Infinity) returns.push(back);
    }
    if (returns.length === 0) continue;
    missing += returns.length;
    returns.sort((a, b) => a - b);
    for (const w of windows) {
      let clusters = 0;
      let from = 0;
      for (const r of returns) {
        if (clusters === 0 || r - from > w) {
          clusters++;
          from = r;
        }
      }
      out[w] += clusters;
    }
  }
  return { floors: out, missing };
}

export async function runFanout({
  n,
  mode,
  reconnect,
  seconds,
  settle,
  idle,
  idleS = 0,
  drops,
  rate,
  perProcess,
  distDir,
  cpuProf,
  relayDir,
  joinMs = 3000,
  log = () => {},
}) {
  const { startRelay } = await import(path.join(relayDir ? path.resolve(relayDir) : path.join(root, "relay"), "server.js"));
  let relay = await startRelay({ port: 0 });
  const port = relay.port;
  const { url, token } = await relay.createChannel();
  let count = counter(relay, n);
  const procs = [];
  const nProcs = Math.max(1, Math.ceil(n / perProcess));
  const names = [];
  for (let i = 0; i < nProcs; i++) {
    const execArgv = cpuProf ? ["--cpu-prof", "--cpu-prof-dir", path.resolve(cpuProf)] : [];
    const proc = fork(fileURLToPath(import.meta.url), ["--child"], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv });
    procs.push(proc);
  }
  try {
    const sizes = procs.map((_, i) => Math.floor(n / nProcs) + (i < n % nProcs ? 1 : 0));
    const started = await Promise.all(procs.map((p, i) => ask(p, { cmd: "start", proc: `p${i}`, count: sizes[i], url, mode, reconnect, distDir })));
    for (const s of started) names.push(...s.names);
    await sleep(joinMs); // joins and their answers settle
    let idlePhase;
    if (idleS > 0 && mode === "reliable") {
      // Idle: no app message, no drop; every frame at the relay counts.
      const at = { frames: count.frames, hi: count.hi };
      await sleep(idleS * 1000);
      const frames = count.frames - at.frames;
      idlePhase = { seconds: idleS, frames, hi: count.hi - at.hi, perPeerPerMin: (frames / n) * (60 / idleS) };
      log(`  idle ${idleS} s: ${frames} frames at the relay (${idlePhase.hi} hi), ${idlePhase.perPeerPerMin.toFixed(2)} per peer per minute`);
    }
    count.data = count.control = count.frames = count.missed = 0;
    count.seen.clear();
    count.ops = {};
    const relayAt = { cpu: process.cpuUsage(), out: relay.metrics.messagesOut };
    await Promise.all(procs.map((p) => ask(p, { cmd: "send", rate })));
    for (let d = 1; d <= drops; d++) {
      await sleep((seconds * 1000) / (drops + 1));
      relay.dropAll(token);
      log(`  drop ${d}`);
    }
    await sleep((seconds * 1000) / (drops + 1));
    const stopped = await Promise.all(procs.map((p) => ask(p, { cmd: "stop" })));
    const relayCpu = process.cpuUsage(relayAt.cpu);
    const relayOut = relay.metrics.messagesOut - relayAt.out;
    const sentBy = Object.assign({}, ...stopped.map((s) => s.sent));
    const sent = Object.values(sentBy).reduce((a, b) => a + b, 0);
    await sleep(settle * 1000);
    const reports = await Promise.all(procs.map((p) => ask(p, { cmd: "report", sent: sentBy })));
    const clusters = mode === "reliable" ? returnClusters(count, sent, [0, 400, 1000, 2000, 4000, Infinity]) : undefined;
    const result = {
      n,
      mode,
      reconnect,
      processes: nProcs,
      idlePhase,
      clusters,
      ops: { ...count.ops },
      sent,
      floor: sent + count.missed,
      data: count.data,
      control: count.control,
      complete: reports.reduce((a, r) => a + r.complete, 0),
      lost: reports.reduce((a, r) => a + r.lost, 0),
      stats: {},
      cpu: {
        // CPU µs per received message (all peer processes), and the share of one core each used
        usPerReceived:
          stopped.reduce((a, s) => a + s.cpu.cpuUs, 0) /
          Math.max(
            1,
            stopped.reduce((a, s) => a + s.cpu.received, 0),
          ),
        corePerProcess: stopped.map((s) => s.cpu.cpuUs / 1000 / s.cpu.ms),
        // this process (the relay, and the frame counter of the bench) per frame it sent out
        relayUsPerOut: (relayCpu.user + relayCpu.system) / Math.max(1, relayOut),
        relayCore: (relayCpu.user + relayCpu.system) / 1000 / stopped[0].cpu.ms,
      },
    };
    for (const rep of reports) for (const [k, v] of Object.entries(rep.stats)) result.stats[k] = (result.stats[k] || 0) + v;
    const hist = new Array(LATENCY_SLOTS).fill(0);
    for (const rep of reports) {
      for (let i = 0; i < LATENCY_SLOTS; i++) hist[i] += rep.latency[i];
    }
    result.latencyMs = percentiles(hist, [0.5, 0.9, 0.99, 0.999, 1]);
    if (mode === "reliable") {
      // Idle: presence renews only.
      if (idle > 0) {
        const before = count.control;
        await sleep(idle * 1000);
        result.idlePerPeerPerMin = ((count.control - before) / n) * (60 / idle);
      }
      // Relay restart: stop it, every peer changes its state, start it again on the same port.
      await relay.close();
      const deadline = Date.now() + 20000;
      const presence = procs.map((p) => ask(p, { cmd: "presence", total: n, deadline }));
      await sleep(200);
      relay = await startRelay({ port });
      await relay.createChannel(undefined, token);
      count = counter(relay, n);
      await sleep(3000);
      result.afterRestartPerPeer = count.frames / n;
      const p = await Promise.all(presence);
      result.converged = p.every((x) => x.ok);
      result.convergedMs = Math.max(...p.map((x) => x.at)) - Math.max(...p.map((x) => x.lastOpen));
    }
    return result;
  } finally {
    await Promise.all(procs.map((p) => ask(p, { cmd: "exit" }).catch(() => {})));
    await relay.close();
  }
}

export function fanoutRow(r) {
  const f = (x, d = 2) => (x === undefined ? "–" : x.toFixed(d));
  const idle = r.idlePhase
    ? `${f(r.idlePhase.perPeerPerMin)} (${r.idlePhase.frames} in ${r.idlePhase.seconds} s) ≤ 2 ${r.idlePhase.perPeerPerMin <= 2 ? "met" : "**not met**"}`
    : "–";
  return `| ${r.n} | ${r.mode} | ${r.reconnect} | ${r.sent} | ${r.floor} (${f(r.floor / r.sent)}×) | ${r.data} | **${f(r.data / r.floor)}×** | ${r.control} (${f(r.control / r.sent)}×) | ${r.complete}/${r.n} | ${r.lost} | ${f(r.afterRestartPerPeer, 1)} | ${idle} | ${f(r.idlePerPeerPerMin, 1)} | ${r.convergedMs === undefined ? "–" : `${r.converged ? "" : "not "}${r.convergedMs} ms`} |`;
}

export const FANOUT_HEADER =
  "| N | mode | reconnect | sent | floor | data frames | data / floor | control frames (/ sent) | complete | lost | frames/peer in 3 s after restart | idle phase: all frames/peer/min (target) | control frames/peer/min after settle | presence converged after restart |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

async function main() {
  const distDir = path.resolve(opt.dist || path.join(root, "dist"));
  const log = (s) => process.stderr.write(`${s}\n`);
  const rows = [];
  console.log(
    `Fanout: ${opt.rate} messages/s per peer for ${opt.seconds} s, ${opt.drops} drops of every socket, ${opt.settle} s to settle (dist: ${path.relative(root, distDir) || "."})\n`,
  );
  console.log(FANOUT_HEADER);
  for (const reconnect of opt.reconnect.split(",")) {
    for (const n of opt.n.split(",").map(Number)) {
      for (const mode of opt.modes.split(",")) {
        log(`fanout N=${n} ${mode} ${reconnect}…`);
        const r = await runFanout({
          n,
          mode,
          reconnect,
          seconds: Number(opt.seconds),
          settle: Number(opt.settle),
          idle: Number(opt.idle),
          idleS: Number(opt["idle-s"]),
          drops: Number(opt.drops),
          rate: Number(opt.rate),
          perProcess: Number(opt["per-process"]),
          distDir,
          cpuProf: opt["cpu-prof"],
          relayDir: opt.relay,
          log,
        });
        rows.push(r);
        console.log(fanoutRow(r));
        log(
          `  cpu (send phase): ${r.cpu.usPerReceived.toFixed(1)} µs per received message; core share per process ${r.cpu.corePerProcess.map((x) => x.toFixed(2)).join(", ")}; relay process ${r.cpu.relayUsPerOut.toFixed(1)} µs per frame out, core share ${r.cpu.relayCore.toFixed(2)}`,
        );
        log(
          `  send → delivery at the other peers, ms (10 ms slots): p50 ${r.latencyMs[0]}, p90 ${r.latencyMs[1]}, p99 ${r.latencyMs[2]}, p99.9 ${r.latencyMs[3]}, max ${r.latencyMs[4]}`,
        );
        if (r.mode === "reliable") log(`  stats: ${JSON.stringify(r.stats)}; control frames at the relay by op: ${JSON.stringify(r.ops)}`);
        if (r.clusters) {
          // One resend per group of peers back within w of each other: what the floor assumes (w = ∞) and what it takes with less waiting.
          const fl = Object.entries(r.clusters.floors).map(
            ([w, v]) => `w = ${w === "Infinity" ? "∞" : `${w / 1000} s`}: ${v} (data ${(r.data / v).toFixed(2)}×)`,
          );
          log(`  peers that missed a message (sum over messages): ${r.clusters.missing}; sent + one resend per group of peers back within w: ${fl.join("; ")}`);
        }
      }
    }
  }
  process.exit(0);
}

if (opt.child) child();
else if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
