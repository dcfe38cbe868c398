#!/usr/bin/env node
// Reliable delivery against plain mode: receive and send throughput and bytes on the wire per
// message. Each measurement runs in its own child process (a fresh JIT and heap), rounds are
// interleaved (plain, reliable, plain, reliable, ...), and the figures are medians with the
// ratio reliable/plain from the same run.
//
//   node tests/bench/reliable.mjs [--rounds 5] [--n 100000]     (npm run bench -- --only reliable)
//
// Receive: a local `ws` server floods N ~120-byte ticks; for reliable, the same ticks carry a
// sender tag ("_mc":"<id>:<seq>", in order) as a reliable peer's would. The client counts them
// through onMessage("tick"). Send: the client sends N ticks with send(); the server counts
// frames and bytes until all arrived.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { WebSocketServer } from "ws";
import { tickObject } from "./messages.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const { values: opt } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    n: { type: "string", default: "100000" },
    client: { type: "string" },
    dist: { type: "string" },
  },
});

if (opt.client) {
  await runClient(JSON.parse(opt.client));
} else {
  await main();
}

async function runClient(spec) {
  const mc = await import(path.join(spec.distDir, "metachannel.mjs"));
  await mc.ready(spec.reliable ? { core: "full" } : {}); // new Channel() with reliable needs the full core loaded
  const ch = new mc.Channel(spec.url, { reliable: spec.reliable, reconnect: false, queue: { maxMessages: Infinity, maxBytes: Infinity } });
  await ch.opened();
  let got = 0;
  let sum = 0;
  const result = {};
  if (spec.mode === "receive") {
    const done = new Promise((resolve) => {
      ch.onMessage("tick", (m) => {
        sum += m.v;
        if (++got === spec.n) resolve();
      });
    });
    const start = performance.now();
    ch.send(JSON.stringify({ cmd: "flood", n: spec.n, tagged: spec.reliable }));
    await done;
    result.ms = performance.now() - start;
  } else {
    const start = performance.now();
    const done = new Promise((resolve) => {
      ch.onMessage("sunk", (m) => {
        result.bytes = m.bytes;
        resolve();
      });
    });
    ch.send(JSON.stringify({ cmd: "sink", n: spec.n }));
    for (let i = 0; i < spec.n; i++) ch.send(tickObject(i));
    result.sendMs = performance.now() - start;
    await done;
    result.ms = performance.now() - start;
  }
  result.sum = sum;
  ch.close();
  ch.dispose();
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
}

function startServer(n) {
  const plain = [];
  const tagged = [];
  for (let i = 0; i < n; i++) {
    const text = JSON.stringify(tickObject(i));
    plain.push(text);
    tagged.push(`{"_mc":"floodsender0:${i + 1}",${text.slice(1)}`);
  }
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false });
  wss.on("connection", (ws) => {
    let sink = null;
    ws.on("message", (data) => {
      if (sink) {
        // Only the ticks count (the client's own control frames, if any, are not ticks).
        const s = String(data);
        if (s.includes('"type":"tick"')) {
          sink.frames++;
          sink.bytes += data.length;
          if (sink.frames === sink.n) ws.send(JSON.stringify({ type: "sunk", bytes: sink.bytes }));
        }
        return;
      }
      let cmd;
      try {
        cmd = JSON.parse(String(data)); // a reliable client's command carries its "_mc" tag too
      } catch {
        return;
      }
      if (!cmd || typeof cmd.cmd !== "string") return;
      if (cmd.cmd === "sink") sink = { n: cmd.n, frames: 0, bytes: 0 };
      if (cmd.cmd === "flood") {
        const frames = cmd.tagged ? tagged : plain;
        let i = 0;
        const pump = () => {
          while (i < cmd.n && ws.bufferedAmount < 4 << 20) ws.send(frames[i++]);
          if (i < cmd.n) setImmediate(pump);
        };
        pump();
      }
    });
  });
  return new Promise((resolve) => wss.once("listening", () => resolve({ wss, url: `ws://127.0.0.1:${wss.address().port}/bench`, plain, tagged })));
}

function runChild(spec) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--client", JSON.stringify(spec)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      if (code !== 0 || !line) reject(new Error(`client exited with ${code}: ${out}`));
      else resolve(JSON.parse(line.slice(7)));
    });
  });
}

function median(a) {
  return [...a].sort((x, y) => x - y)[a.length >> 1];
}

async function main() {
  const n = Number(opt.n);
  const rounds = Number(opt.rounds);
  const distDir = opt.dist ? path.resolve(opt.dist) : path.join(root, "dist");
  const server = await startServer(n);
  const figures = { receive: { plain: [], reliable: [] }, send: { plain: [], reliable: [] }, sendBytes: { plain: 0, reliable: 0 } };
  for (let r = 0; r < rounds; r++) {
    for (const reliable of [false, true]) {
      const key = reliable ? "reliable" : "plain";
      const rec = await runChild({ mode: "receive", url: server.url, n, reliable, distDir });
      figures.receive[key].push((n / rec.ms) * 1000);
      const snd = await runChild({ mode: "send", url: server.url, n, reliable, distDir });
      figures.send[key].push((n / snd.ms) * 1000);
      figures.sendBytes[key] = snd.bytes / n;
      process.stderr.write(".");
    }
  }
  process.stderr.write("\n");
  server.wss.close();
  const recvBytes = (list) => list.reduce((a, s) => a + Buffer.byteLength(s), 0) / list.length;
  const rows = [
    ["receive, messages/s (median)", median(figures.receive.plain), median(figures.receive.reliable)],
    ["send, messages/s (median)", median(figures.send.plain), median(figures.send.reliable)],
    ["bytes on the wire per message received", recvBytes(server.plain), recvBytes(server.tagged)],
    ["bytes on the wire per message sent", figures.sendBytes.plain, figures.sendBytes.reliable],
  ];
  console.log(`\nreliable vs plain (${n} messages, ${rounds} rounds, medians; payload bytes, WebSocket framing excluded)\n`);
  console.log("| figure | plain | reliable | reliable/plain |");
  console.log("|---|---|---|---|");
  for (const [name, p, q] of rows) {
    const fmt = (v) => (v >= 1000 ? Math.round(v).toLocaleString("en-US") : v.toFixed(1));
    console.log(`| ${name} | ${fmt(p)} | ${fmt(q)} | ${(q / p).toFixed(2)}× |`);
  }
}
