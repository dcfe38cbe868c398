// Benchmark server, run in its OWN process so it never competes with a client's event loop.
//
//   node tests/bench/flood-server.mjs [--port 0] [--plain-ws]
//
// Prints one line on stdout once listening: {"port": N}. With an IPC channel (spawned by
// run.mjs) it also answers {get: "stats"} with the figures of the last flood / sink.
//
// One WebSocket per client; the client drives it with JSON text commands:
//   {"cmd":"flood","n":N}   sends messages 0..N-1 as fast as the socket takes them
//   {"cmd":"expect","n":N}  sink: counts the next N frames, then sends {"type":"done","count":N}
//   anything else           echoed back (RTT through this server instead of the dev relay)
//
// The flood messages are ~120-byte JSON ticks, channels c0..c9 round-robin:
//   {"type":"tick","channel":"c3","seq":123,"ts":1732300000123,"price":100.23,"qty":24,"side":"sell","venue":"XNAS","v":1}
// They are framed ONCE at start-up into one Buffer of ready-made unmasked WebSocket frames;
// a flood writes slices of it straight to the TCP socket (ws does the handshake and the
// control traffic), so the server costs almost no CPU per message and keeps the socket's
// send buffer full: its userland buffered amount is sampled every 5 ms and reported.
// --plain-ws floods with ws.send() per message instead (slower server; for comparison).
import { WebSocketServer } from "ws";
import { parseArgs } from "node:util";
import { tickText } from "./messages.mjs";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    "plain-ws": { type: "boolean", default: false },
    "max-messages": { type: "string", default: "1100000" },
  },
});

const HIGH_WATER = 4 * 1024 * 1024; // userland bytes queued on the socket before we wait for 'drain'
const CHUNK = 256 * 1024;

// ---------------------------------------------------------------- the pre-framed flood
let frames = Buffer.alloc(0);
let offsets = new Float64Array(1); // offsets[i] = byte offset of frame i; offsets[n] = end
let framed = 0;
const texts = []; // for --plain-ws

function frameUpTo(n) {
  if (n <= framed) return;
  const parts = [];
  const newOffsets = new Float64Array(n + 1);
  newOffsets.set(offsets.subarray(0, framed + 1));
  let at = offsets[framed];
  for (let i = framed; i < n; i++) {
    const payload = Buffer.from(tickText(i));
    const len = payload.length;
    const head = len < 126 ? Buffer.from([0x81, len]) : Buffer.from([0x81, 126, len >> 8, len & 255]);
    parts.push(head, payload);
    at += head.length + len;
    newOffsets[i + 1] = at;
    if (args["plain-ws"]) texts.push(payload.toString());
  }
  frames = Buffer.concat([frames, ...parts]);
  offsets = newOffsets;
  framed = n;
}

const maxMessages = Number(args["max-messages"]);
frameUpTo(Math.min(maxMessages, 300000)); // grown on demand up to --max-messages

// ---------------------------------------------------------------- stats of the last run
let last = null;
function newStats(kind, n) {
  return { kind, n, t0: performance.now(), cpu0: process.cpuUsage(), samples: [], ms: 0, serverCpuUs: 0 };
}
function finish(stats) {
  const cpu = process.cpuUsage(stats.cpu0);
  stats.ms = performance.now() - stats.t0;
  stats.serverCpuUs = cpu.user + cpu.system;
  const s = stats.samples.sort((a, b) => a - b);
  last = {
    kind: stats.kind,
    n: stats.n,
    ms: stats.ms,
    serverCpuUsPerMsg: stats.serverCpuUs / stats.n,
    bufferedMedianBytes: s.length ? s[s.length >> 1] : null,
    bufferedP10Bytes: s.length ? s[Math.floor(s.length * 0.1)] : null,
    bufferedSamples: s.length,
    // Share of the samples with at least 64 KiB still queued in the process (the socket was full).
    bufferedFullShare: s.length ? s.filter((x) => x >= 65536).length / s.length : null,
  };
}

function flood(ws, n) {
  frameUpTo(Math.min(n, maxMessages));
  if (n > framed) n = framed;
  const stats = newStats("flood", n);
  const sock = ws._socket;
  const sampler = setInterval(() => stats.samples.push(ws.bufferedAmount), 2);
  const done = () => {
    clearInterval(sampler);
    finish(stats);
  };
  if (args["plain-ws"]) {
    let i = 0;
    const pump = () => {
      while (i < n && ws.bufferedAmount < HIGH_WATER) ws.send(texts[i++]);
      if (i < n) sock.once("drain", pump);
      else done();
    };
    pump();
    return;
  }
  const end = offsets[n];
  let at = 0;
  const pump = () => {
    if (ws.readyState !== ws.OPEN) return done();
    while (at < end && sock.writableLength < HIGH_WATER) {
      const next = Math.min(at + CHUNK, end);
      sock.write(frames.subarray(at, next));
      at = next;
    }
    if (at < end) sock.once("drain", pump);
    // The last bytes are queued: keep sampling until they have left the process.
    else if (sock.writableLength > 0) sock.once("drain", done);
    else done();
  };
  pump();
}

// ---------------------------------------------------------------- server
const wss = new WebSocketServer({
  port: Number(args.port),
  host: "127.0.0.1",
  perMessageDeflate: false,
  skipUTF8Validation: true,
  maxPayload: 16 * 1024 * 1024,
});

const CMD = Buffer.from('{"cmd"');

wss.on("connection", (ws) => {
  ws._socket.setNoDelay(true);
  let expect = 0;
  let count = 0;
  let sink = null;
  ws.on("message", (data, isBinary) => {
    if (expect > 0) {
      if (++count === expect) {
        finish(sink);
        expect = 0;
        ws.send(`{"type":"done","count":${count}}`);
      }
      return;
    }
    if (!isBinary && data.length > 6 && data.subarray(0, 6).equals(CMD)) {
      const cmd = JSON.parse(data.toString());
      if (cmd.cmd === "flood") return flood(ws, cmd.n);
      if (cmd.cmd === "expect") {
        expect = cmd.n;
        count = 0;
        sink = newStats("sink", cmd.n);
        return;
      }
    }
    ws.send(data, { binary: isBinary }); // echo
  });
  ws.on("error", () => {});
});

wss.on("listening", () => {
  process.stdout.write(`${JSON.stringify({ port: wss.address().port, framed })}\n`);
});

if (process.send) {
  process.on("message", (m) => {
    if (m && m.get === "stats") process.send({ stats: last });
  });
  process.on("disconnect", () => process.exit(0));
}
