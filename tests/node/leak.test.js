// dispose() frees everything: thousands of channels created, used and disposed leave the wasm
// memory where it was, and the disposed Channel objects can be garbage-collected.
// Run: node --test tests/node/leak.test.js   (and with --experimental-websocket, and Node 22)
import { test } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";

// The spy goes in before the package is loaded (helpers.js imports dist/ and awaits ready()):
// every growth of any wasm memory, from instantiation on, is counted.
const realGrow = WebAssembly.Memory.prototype.grow;
let growCalls = 0;
WebAssembly.Memory.prototype.grow = function grow(...args) {
  growCalls++;
  return realGrow.apply(this, args);
};
const { mc, relayFor, waitFor } = await import("./helpers.js");

const CYCLES = 10000;
const ROUND_TRIPS = 200;
const PAD = "p".repeat(300);

function memory() {
  const bytes = mc._memoryBytes();
  assert.ok(bytes > 0, "the test hook reports the wasm memory size");
  return bytes;
}

const tick = () => new Promise((r) => setImmediate(r));
// No test here may hang a suite run.
const LIMIT = { timeout: 120000 };

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** new Channel, send (queued: it is still connecting), dispose; yields to the event loop every 100. */
async function churn(url, n) {
  for (let i = 0; i < n; i++) {
    const ch = new mc.Channel(url);
    ch.on("message", () => {});
    ch.onMessage("x", () => {});
    ch.send({ type: "x", i, pad: PAD });
    ch.send(new Uint8Array(64));
    ch.dispose();
    if (i % 100 === 99) await tick();
  }
}

/** new Channel, wait for open, round-trip a message through the relay, dispose. */
async function roundTrips(url, n) {
  for (let i = 0; i < n; i++) {
    const ch = new mc.Channel(url);
    await withTimeout(ch.opened(), 5000, `channel ${i} to open`);
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`round trip ${i} timed out`)), 5000);
      ch.onMessage("rt", (msg) => {
        if (msg.i !== i) return;
        clearTimeout(timer);
        if (i % 2) ch.dispose(); // half are disposed from inside their own listener
        resolve();
      });
      ch.send({ type: "rt", i, pad: PAD });
    });
    if (!ch.disposed) ch.dispose();
  }
}

test(`${CYCLES} channels created, used and disposed while connecting do not grow the wasm memory`, LIMIT, async (t) => {
  const relay = await relayFor(t);
  const { url, token } = await relay.createChannel();
  await churn(url, 300); // warm-up: the allocator reaches its steady state
  await waitFor(() => relay.clientCount(token) === 0, { what: "warm-up sockets gone" });
  const before = memory();
  const growsBefore = growCalls;
  const started = Date.now();
  await churn(url, CYCLES);
  const ms = Date.now() - started;
  assert.equal(growCalls - growsBefore, 0, `WebAssembly.Memory.prototype.grow was called during ${CYCLES} cycles`);
  assert.equal(memory(), before, "wasm memory size");
  // No socket outlives its channel.
  await waitFor(() => relay.clientCount(token) === 0, { what: "every socket closed", timeoutMs: 10000 });
  t.diagnostic(`${CYCLES} cycles in ${ms} ms; wasm memory ${before} bytes`);
});

test(`${ROUND_TRIPS} channels that open and round-trip a message, then are disposed, do not grow the wasm memory`, LIMIT, async (t) => {
  const relay = await relayFor(t);
  const { url, token } = await relay.createChannel();
  await roundTrips(url, 20); // warm-up
  const before = memory();
  const growsBefore = growCalls;
  const connectionsBefore = relay.connections;
  const started = Date.now();
  await roundTrips(url, ROUND_TRIPS);
  const ms = Date.now() - started;
  assert.equal(relay.connections - connectionsBefore, ROUND_TRIPS, "each cycle really connected");
  assert.equal(growCalls - growsBefore, 0, `WebAssembly.Memory.prototype.grow was called during ${ROUND_TRIPS} round trips`);
  assert.equal(memory(), before, "wasm memory size");
  await waitFor(() => relay.clientCount(token) === 0, { what: "every socket closed" });
  t.diagnostic(`${ROUND_TRIPS} round trips in ${ms} ms`);
});

test("disposed channels are garbage-collectable (nothing in the package keeps them)", LIMIT, async (t) => {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc");
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const refs = [];
  const peer = new mc.Channel(url);
  t.after(() => peer.dispose());
  await withTimeout(peer.opened(), 5000, "the peer to open");
  // Each channel lives in its own (finished) call frame, so only the package could keep it.
  const use = async (i) => {
    const ch = new mc.Channel(i % 2 ? url : null);
    ch.on("message", () => {});
    ch.onMessage("x", () => {});
    ch.on("error", () => {});
    if (i % 10 === 1) await withTimeout(ch.opened(), 5000, `channel ${i} to open`);
    ch.send({ type: "x", i });
    ch.dispose();
    return new WeakRef(ch);
  };
  for (let i = 0; i < 50; i++) refs.push(await use(i));
  // Control: a live channel is not collected.
  const live = new mc.Channel(null);
  t.after(() => live.dispose());
  const liveRef = new WeakRef(live);
  let alive = refs.length;
  for (let round = 0; round < 20 && alive > 0; round++) {
    await new Promise((r) => setTimeout(r, 20));
    gc();
    alive = refs.filter((r) => r.deref() !== undefined).length;
  }
  assert.equal(alive, 0, `${alive} of ${refs.length} disposed channels are still reachable: ${refs.flatMap((r, i) => (r.deref() ? [i] : [])).join(", ")}`);
  assert.ok(liveRef.deref() === live);
});
