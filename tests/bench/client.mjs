// One benchmark client in its own process (run.mjs spawns one per client per round, so no
// GC/JIT state leaks from one client into another):
//
//   node --experimental-websocket [--expose-gc] tests/bench/client.mjs '<json spec>'
//
// spec: { client: "raw" | "rws" | "party" | "mc", mode: "receive" | "filtered" | "send" |
//         "rtt" | "memory" | "channels" | "coldstart", url, n, warm, ... }
// Prints one line `RESULT {json}` on stdout.
//
// Every client uses the same global WebSocket (undici under --experimental-websocket) and
// the same work per message: parse the JSON once, dispatch on `type` (or filter on
// `channel`), and hand the object to a listener that reads one field.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { tickObject } from "./messages.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const spec = JSON.parse(process.argv[2]);
const distDir = spec.distDir || path.join(root, "dist");

// ---------------------------------------------------------------- wasm memory spy
// The package has no public accessor for its Emscripten heap, so the instance's exported
// Memory is captured as it is instantiated (and grow() calls are counted).
let wasmMemory = null;
let growCalls = 0;
// Armed only around metachannel's ready(): undici instantiates its own (llhttp) wasm too.
let armed = false;
async function readyCaptured(mc) {
  armed = true;
  try {
    await mc.ready();
  } finally {
    armed = false;
  }
}
{
  const capture = (result) => {
    if (!armed) return result;
    const instance = result && (result.instance || result);
    if (instance?.exports) {
      for (const v of Object.values(instance.exports)) if (v instanceof WebAssembly.Memory) wasmMemory = v;
    }
    return result;
  };
  const inst = WebAssembly.instantiate;
  WebAssembly.instantiate = function (...a) {
    return inst.apply(this, a).then(capture);
  };
  if (WebAssembly.instantiateStreaming) {
    const st = WebAssembly.instantiateStreaming;
    WebAssembly.instantiateStreaming = function (...a) {
      return st.apply(this, a).then(capture);
    };
  }
  const grow = WebAssembly.Memory.prototype.grow;
  WebAssembly.Memory.prototype.grow = function (delta) {
    if (this === wasmMemory) growCalls++;
    return grow.call(this, delta);
  };
}
let filterVia = null;
const wasmBytes = () => (wasmMemory ? wasmMemory.buffer.byteLength : 0);
/** Offset just past the highest non-zero byte of the wasm memory: how far the heap has been used. */
function wasmTouchedBytes() {
  if (!wasmMemory) return 0;
  const w = new Uint32Array(wasmMemory.buffer);
  let i = w.length - 1;
  while (i >= 0 && w[i] === 0) i--;
  return (i + 1) * 4;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cpuUs = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
function gc() {
  if (globalThis.gc) {
    globalThis.gc();
    globalThis.gc();
  }
}

// ---------------------------------------------------------------- adapters
// Each adapter: { opened: Promise, on(type, fn), filter(channel, fn), sendText(s),
//                 sendObject(o), buffered(), close() }

/** The JS side of raw / reconnecting-websocket / partysocket: one "message" listener. */
function jsDispatch(addListener) {
  const handlers = Object.create(null);
  let filterChannel = null;
  let filterFn = null;
  addListener((e) => {
    const m = JSON.parse(e.data);
    if (filterFn !== null) {
      if (m.channel === filterChannel) filterFn(m);
      return;
    }
    const fn = handlers[m.type];
    if (fn !== undefined) fn(m);
  });
  return {
    on(type, fn) {
      handlers[type] = fn;
    },
    filter(channel, fn) {
      filterChannel = channel;
      filterFn = fn;
    },
  };
}

/** The bench's face of a WebSocket-like object (raw, reconnecting-websocket, partysocket). */
function wsClient(ws, dispatch, opened) {
  return {
    opened,
    ...dispatch,
    sendText: (s) => ws.send(s),
    sendObject: (o) => ws.send(JSON.stringify(o)),
    buffered: () => ws.bufferedAmount,
    close: () => ws.close(),
  };
}

async function makeClient(kind, url) {
  const WS = globalThis.WebSocket;
  if (kind === "raw") {
    const ws = new WS(url);
    const d = jsDispatch((fn) => (ws.onmessage = fn));
    const opened = new Promise((res, rej) => {
      ws.onopen = res;
      ws.onerror = () => rej(new Error("raw: socket error"));
    });
    return wsClient(ws, d, opened);
  }
  if (kind === "rws" || kind === "party") {
    let ws;
    if (kind === "rws") {
      const { default: ReconnectingWebSocket } = await import("reconnecting-websocket");
      ws = new ReconnectingWebSocket(url, [], { WebSocket: WS, maxRetries: 0 });
    } else {
      const { default: PartySocket } = await import("partysocket");
      const u = new URL(url);
      ws = new PartySocket({
        host: u.host,
        basePath: u.pathname.slice(1) || "bench",
        query: Object.fromEntries(u.searchParams),
        WebSocket: WS,
        maxRetries: 0,
      });
    }
    const d = jsDispatch((fn) => ws.addEventListener("message", fn));
    const opened = new Promise((res, rej) => {
      ws.addEventListener("open", res, { once: true });
      ws.addEventListener("error", () => rej(new Error(`${kind}: socket error`)), { once: true });
    });
    return wsClient(ws, d, opened);
  }
  if (kind === "mc") {
    const mc = await import(path.join(distDir, "metachannel.mjs"));
    await readyCaptured(mc);
    const ch = new mc.Channel(url, { reconnect: { maxRetries: 0 } });
    ch.on("error", (err) => process.stderr.write(`[mc] ${err}\n`));
    return {
      channel: ch,
      opened: ch.opened(),
      on: (type, fn) => ch.onMessage(type, fn),
      // What LiveDataClient does (docs/architecture.md): interest in the member "channel" with
      // the value "c3" and a route hook on that field; frames of other channels are dropped inside wasm.
      filter: (channel, fn) => {
        if (typeof mc.LiveDataClient === "function" && !spec.filterHook) {
          // The public client (it also sends {"type":"subscribe","channel":"c3"}: the flood
          // server echoes it, the client does not deliver it as data).
          new mc.LiveDataClient(ch).subscribe(channel, fn);
          filterVia = "LiveDataClient";
        } else {
          // What LiveDataClient does (docs/architecture.md), for builds that do not export it.
          ch._route(3, channel, 1);
          ch._hook(8, fn);
          filterVia = "_route/_hook";
        }
      },
      sendText: (s) => ch.send(s),
      sendObject: (o) => ch.send(o),
      buffered: () => ch.bufferedAmount,
      close: () => ch.dispose(),
    };
  }
  throw new Error(`unknown client ${kind}`);
}

// ---------------------------------------------------------------- modes
function filteredCount(n, k) {
  return n > k ? Math.floor((n - 1 - k) / 10) + 1 : 0;
}

/** receive / filtered / memory: floods of n messages, counted in the listener. */
async function receive(c, filtered) {
  let count = 0;
  let target = Infinity;
  let wake = null;
  let sum = 0;
  const onTick = (m) => {
    sum += m.seq;
    if (++count === target) wake();
  };
  if (filtered) c.filter("c3", onTick);
  else c.on("tick", onTick);
  await c.opened;
  const flood = (n) =>
    new Promise((resolve) => {
      count = 0;
      target = filtered ? filteredCount(n, 3) : n;
      wake = resolve;
      c.sendText(`{"cmd":"flood","n":${n}}`);
    });
  const chunked = async (n) => {
    for (let left = n; left > 0; left -= spec.chunk || n) await flood(Math.min(left, spec.chunk || n));
  };
  const out = { checksum: 0 };
  await chunked(spec.warm);
  if (spec.mode === "memory") {
    await sleep(50);
    gc();
    out.before = { wasmBytes: wasmBytes(), wasmTouched: wasmTouchedBytes(), heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss };
  }
  const cpu0 = cpuUs();
  const t0 = performance.now();
  await chunked(spec.n);
  const ms = performance.now() - t0;
  const cpu = cpuUs() - cpu0;
  out.checksum = sum;
  if (filtered) out.filterVia = filterVia || "JS filter on msg.channel";
  out.delivered = filtered ? filteredCount(spec.n, 3) : spec.n;
  out.ms = ms;
  out.msgsPerSec = (spec.n / ms) * 1000;
  out.cpuUsPerMsg = cpu / spec.n;
  if (spec.mode === "memory") {
    await sleep(50);
    gc();
    out.after = { wasmBytes: wasmBytes(), wasmTouched: wasmTouchedBytes(), heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss };
    out.growCalls = growCalls;
  }
  c.close();
  return out;
}

/** send: n ticks as objects, with the same backpressure loop for every client. */
async function send(c) {
  let wake = null;
  c.on("done", () => wake());
  await c.opened;
  const BATCH = 500;
  const HIGH = 1 << 20;
  const run = async (n) => {
    const done = new Promise((r) => (wake = r));
    c.sendText(`{"cmd":"expect","n":${n}}`);
    let i = 0;
    while (i < n) {
      const end = Math.min(n, i + BATCH);
      for (; i < end; i++) {
        c.sendObject(tickObject(i));
        // Calibration (spec.spinUs): extra busy time per send, to see how the cost of the
        // socket write itself changes when a client sends more slowly.
        if (spec.spinUs) for (const until = performance.now() + spec.spinUs / 1000; performance.now() < until; );
      }
      if (c.buffered() > HIGH) {
        while (c.buffered() > HIGH / 4) await new Promise((r) => setImmediate(r));
      }
    }
    await done;
  };
  await run(spec.warm);
  const cpu0 = cpuUs();
  const t0 = performance.now();
  await run(spec.n);
  const ms = performance.now() - t0;
  const cpu = cpuUs() - cpu0;
  c.close();
  return { ms, msgsPerSec: (spec.n / ms) * 1000, cpuUsPerMsg: cpu / spec.n };
}

/** rtt: ping objects at a fixed rate through the relay; each client gets its own echo. */
async function rtt(c) {
  const samples = [];
  let recording = false;
  let received = 0;
  c.on("ping", (m) => {
    const d = performance.now() - m.t;
    received++;
    if (recording && m.r === 1) samples.push(d);
  });
  await c.opened;
  let sent = 0;
  const phase = (seconds, record) =>
    new Promise((resolve) => {
      const start = performance.now();
      let k = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        const due = Math.min(Math.floor(((now - start) * spec.rate) / 1000), Math.floor(seconds * spec.rate));
        while (k < due) {
          c.sendObject({ type: "ping", seq: sent++, r: record ? 1 : 0, t: performance.now() });
          k++;
        }
        if (now - start >= seconds * 1000) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
  await phase(spec.warmSeconds, false);
  recording = true;
  const cpu0 = cpuUs();
  await phase(spec.seconds, true);
  const deadline = performance.now() + 3000;
  while (received < sent && performance.now() < deadline) await sleep(5);
  const cpu = cpuUs() - cpu0;
  samples.sort((a, b) => a - b);
  const q = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
  c.close();
  return {
    samples: samples.length,
    lost: sent - received,
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    max: samples[samples.length - 1],
    cpuUsPerMsg: cpu / samples.length,
  };
}

/** channels: n concurrent connections in this process (metachannel Channels or raw sockets). */
async function channels() {
  let mc = null;
  if (spec.client === "mc") {
    mc = await import(path.join(distDir, "metachannel.mjs"));
    await readyCaptured(mc);
  }
  // One warm-up connection, so the first-use costs are not counted per channel.
  const warmups = [];
  const open = async (count, list) => {
    const waits = [];
    for (let i = 0; i < count; i++) {
      if (mc) {
        const ch = new mc.Channel(spec.url, { reconnect: { maxRetries: 0 } });
        list.push(ch);
        waits.push(ch.opened());
      } else {
        const ws = new WebSocket(spec.url);
        list.push(ws);
        waits.push(
          new Promise((res, rej) => {
            ws.onopen = res;
            ws.onerror = () => rej(new Error("socket error"));
          }),
        );
      }
    }
    await Promise.all(waits);
  };
  await open(1, warmups);
  await sleep(100);
  gc();
  const m0 = process.memoryUsage();
  const w0 = wasmBytes();
  const u0 = wasmTouchedBytes();
  const list = [];
  const t0 = performance.now();
  await open(spec.n, list);
  const openMs = performance.now() - t0;
  await sleep(200);
  gc();
  const m1 = process.memoryUsage();
  const w1 = wasmBytes();
  const u1 = wasmTouchedBytes();
  for (const x of [...list, ...warmups]) mc ? x.dispose() : x.close();
  return {
    n: spec.n,
    openMs,
    wasmBytesPerChannel: (w1 - w0) / spec.n,
    heapBytesPerChannel: (m1.heapUsed - m0.heapUsed) / spec.n,
    rssBytesPerChannel: (m1.rss - m0.rss) / spec.n,
    wasmBytes: w1,
    wasmTouchedBefore: u0,
    wasmTouchedAfter: u1,
    wasmTouchedPerChannel: (u1 - u0) / spec.n,
  };
}

/** coldstart: import of the built package to ready() resolved. */
async function coldstart() {
  // preload: the global WebSocket is touched first. Node 20/22 load undici lazily on the first
  // access of globalThis.WebSocket (~30 ms), which any WebSocket client pays; this variant
  // leaves it out, so only metachannel's own import + ready() is timed.
  if (spec.preload) void globalThis.WebSocket;
  const t0 = performance.now();
  const mc = await import(path.join(distDir, spec.file || "metachannel.mjs"));
  const t1 = performance.now();
  await (mc.ready || mc.default.ready)();
  const t2 = performance.now();
  return { importMs: t1 - t0, readyMs: t2 - t1, totalMs: t2 - t0, sinceProcessStartMs: t2 };
}

/**
 * cold: import of the built package → the first plain channel open (issue 21's cold start),
 * split into import, connect() resolved (the core's load, of which WebAssembly.compile and
 * .instantiate; the socket's handshake runs meanwhile) and from there to the "open" event. client "raw": `new WebSocket(url)` → open, the socket's own share of the last step.
 * The WebSocket global is touched before the clock (Node loads undici lazily on its first
 * access, ~20-30 ms that any WebSocket client pays; `sinceProcessStartMs` keeps it in).
 */
async function cold() {
  void globalThis.WebSocket;
  if (spec.client === "raw") {
    const t0 = performance.now();
    const ws = new WebSocket(spec.url);
    await new Promise((res, rej) => {
      ws.onopen = res;
      ws.onerror = () => rej(new Error("raw: socket error"));
    });
    const t1 = performance.now();
    ws.close();
    return { openMs: t1 - t0, totalMs: t1 - t0, sinceProcessStartMs: t1 };
  }
  // Time spent inside the two WebAssembly calls ready() makes (the bench's spy above wraps
  // instantiate already; this wraps the outside of everything).
  const spans = { compileMs: 0, instantiateMs: 0 };
  const timed = (name, key) => {
    const f = WebAssembly[name];
    WebAssembly[name] = function (...a) {
      const t = performance.now();
      return f.apply(this, a).finally(() => (spans[key] += performance.now() - t));
    };
  };
  timed("compile", "compileMs");
  timed("instantiate", "instantiateMs");
  const t0 = performance.now();
  const mc = await import(path.join(distDir, spec.file || "metachannel.mjs"));
  const t1 = performance.now();
  const api = mc.ready ? mc : mc.default;
  // What a program does: connect() (which loads the core; its socket opens meanwhile), then
  // the "open". readyMs: until connect() resolved; openMs: from there to the open event.
  const ch = await api.connect(spec.url);
  const t2 = performance.now();
  await ch.opened();
  const t3 = performance.now();
  ch.close();
  return { importMs: t1 - t0, readyMs: t2 - t1, ...spans, openMs: t3 - t2, totalMs: t3 - t0, sinceProcessStartMs: t3 };
}

// ---------------------------------------------------------------- main
let result;
const timeout = setTimeout(() => {
  process.stderr.write(`client ${spec.client}/${spec.mode}: timed out\n`);
  process.exit(3);
}, spec.timeoutMs || 120000);
try {
  if (spec.mode === "coldstart") result = await coldstart();
  else if (spec.mode === "cold") result = await cold();
  else if (spec.mode === "channels") result = await channels();
  else {
    const c = await makeClient(spec.client, spec.url);
    if (spec.mode === "receive" || spec.mode === "memory") result = await receive(c, false);
    else if (spec.mode === "filtered") result = await receive(c, true);
    else if (spec.mode === "send") result = await send(c);
    else if (spec.mode === "rtt") result = await rtt(c);
    else throw new Error(`unknown mode ${spec.mode}`);
  }
} catch (err) {
  process.stderr.write(`client ${spec.client}/${spec.mode}: ${err?.stack ? err.stack : err}\n`);
  process.exit(2);
}
clearTimeout(timeout);
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
// Sockets may still be closing; the figures are out, so do not wait for them.
setTimeout(() => process.exit(0), 50);
