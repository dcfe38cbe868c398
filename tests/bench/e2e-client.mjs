// The end-to-end encryption benchmark's client loop, the same in Node (tests/bench/e2e.mjs
// runs it in a child process) and in Chromium (tests/bench/browser/e2e.html, script tag):
// `mc` is the package (Node: dist/metachannel.mjs; page: the MetaChannel global).
//
//   receive: the flood server sends n ~120-byte ticks (sealed on the e2e path), counted through
//            onMessage("tick") (typed dispatch);
//   send:    n tick objects through send(), with the backpressure loop of the other benches,
//            until the server has counted them all ("sunk");
//   rtt:     two channels A and B on the dev relay; A sends a ping, B answers a pong, A
//            measures; k sequential round trips after a warm-up.
import { tickObject } from "./messages.mjs";

const BATCH = 500;
const HIGH = 1 << 20;
const yieldToEvents = () => new Promise((r) => setTimeout(r, 0));

export async function runE2eClient(mc, spec) {
  if (spec.mode === "rtt") return rtt(mc, spec);
  const ch = await mc.connect(spec.url, { reconnect: { maxRetries: 0 }, queue: { maxMessages: Infinity, maxBytes: Infinity } });
  let count = 0;
  let target = 0;
  let wake = null;
  let sum = 0;
  ch.onMessage("tick", (m) => {
    sum += m.seq;
    if (++count === target) wake();
  });
  ch.onMessage("sunk", () => wake());
  const problems = [];
  ch.on("error", (e) => problems.push(e.code));
  await ch.opened();
  const flood = (n) =>
    new Promise((resolve) => {
      count = 0;
      target = n;
      wake = resolve;
      ch.send({ cmd: "flood", n });
    });
  const sink = async (n) => {
    const done = new Promise((r) => (wake = r));
    ch.send({ cmd: "sink", n });
    let i = 0;
    while (i < n) {
      const end = Math.min(n, i + BATCH);
      for (; i < end; i++) ch.send(tickObject(i));
      if (ch.bufferedAmount > HIGH) {
        while (ch.bufferedAmount > HIGH / 4) await yieldToEvents();
      }
    }
    await done;
  };
  const run = spec.mode === "send" ? sink : flood;
  await run(spec.warm);
  const t0 = performance.now();
  await run(spec.n);
  const ms = performance.now() - t0;
  const encrypted = ch.encrypted;
  ch.dispose();
  if (problems.length) throw new Error(`errors during the run: ${problems.join(", ")}`);
  return { ms, msgsPerSec: (spec.n / ms) * 1000, checksum: sum, encrypted };
}

async function rtt(mc, spec) {
  const [a, b] = await Promise.all([mc.connect(spec.url, { reconnect: { maxRetries: 0 } }), mc.connect(spec.url, { reconnect: { maxRetries: 0 } })]);
  await Promise.all([a.opened(), b.opened()]);
  b.onMessage("ping", (m) => b.send({ type: "pong", i: m.i, pad: m.pad }));
  let wake = null;
  a.onMessage("pong", (m) => wake?.(m.i));
  const pad = "x".repeat(80); // a ~120-byte message each way
  const once = (i) =>
    new Promise((resolve) => {
      const t0 = performance.now();
      wake = (j) => j === i && resolve(performance.now() - t0);
      a.send({ type: "ping", i, pad });
    });
  for (let i = 0; i < spec.warm; i++) await once(-1 - i);
  const times = [];
  for (let i = 0; i < spec.n; i++) times.push(await once(i));
  const encrypted = a.encrypted && b.encrypted;
  a.dispose();
  b.dispose();
  const mean = times.reduce((a, t) => a + t, 0) / times.length;
  times.sort((x, y) => x - y);
  return { p50: times[times.length >> 1], mean, p90: times[Math.floor(times.length * 0.9)], encrypted };
}
