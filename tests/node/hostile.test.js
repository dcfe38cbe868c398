// Hostile input: frames a buggy or malicious server can send (tests/node/hostile-server.js),
// and hostile arguments to every public function. For each frame case: the documented outcome
// (delivered as text/value/bytes, or dropped with an error event and its code), the channel
// stays usable (the server's next frame arrives, and a message we send is echoed back), the
// process stays alive, and wasm memory does not grow when the case is repeated (for frames
// that never enter wasm memory, it does not grow at all). docs/security.md lists the outcomes.
// Run: node --test tests/node/hostile.test.js   (and with --experimental-websocket, and Node 22)
// One file over 500 lines: one table of hostile cases, run against one hostile server and one set
// of public functions.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { mc, distDir, flavor, channelFor, sleep, waitFor } from "./helpers.js";
import { startHostileServer, CASES } from "./hostile-server.js";

const { Channel, MetaChannelError } = mc;
const MiB = 1024 * 1024;
const DEFAULT_LIMIT = MiB;
const BIG_LIMIT = 16 * MiB;
const FAST = { reconnect: { minDelayMs: 20, maxDelayMs: 50 } };
// The debug wasm (SAFE_HEAP) is several times slower: waits are generous, they are not measurements.
const CASE_TIMEOUT_MS = 120000;

let hostile;
const report = [];
let nextId = 0;

before(async () => {
  hostile = await startHostileServer();
  // Warm-up: the first channel and frame allocate the core's long-lived buffers, so that
  // memory figures below are about the hostile frames only.
  const id = `warmup-${nextId++}`;
  const ch = new Channel(hostile.url(id), FAST);
  const got = [];
  ch.on("message", (d) => got.push(d));
  await ch.opened();
  await hostile.send(id, "invalid-json");
  await waitFor(() => got.length === CASES["invalid-json"]().length + 1, { what: "the warm-up frames" });
  ch.dispose();
});

after(async () => {
  await hostile.close();
  if (report.length) {
    console.log(
      `\n[hostile ${flavor}${process.env.MC_DIST_DIR ? ` ${path.basename(process.env.MC_DIST_DIR)}` : ""}] case | outcome | first run ms | wasm memory before -> after first -> after repeats`,
    );
    for (const r of report) console.log(`[hostile] ${r}`);
  }
});

const memory = () => mc._memoryBytes();
const kib = (n) => `${Math.round(n / 1024)} KiB`;

/**
 * A channel on the hostile server with everything recorded: messages (data, meta), typed
 * deliveries per type (for the `types` given), "*" deliveries, errors, closes.
 */
async function hostileChannel(t, options = {}, types = []) {
  const id = `c${nextId++}`;
  const ch = channelFor(t, hostile.url(id), { ...FAST, ...options });
  const rec = { id, ch, messages: [], typed: new Map(), star: [], errors: [], closes: [] };
  ch.on("message", (data, meta) => rec.messages.push({ data, meta }));
  for (const type of types) {
    rec.typed.set(type, []);
    ch.onMessage(type, (msg, meta) => rec.typed.get(type).push({ msg, meta }));
  }
  ch.onMessage("*", (msg, meta) => rec.star.push({ msg, meta }));
  ch.on("error", (e) => rec.errors.push(e));
  ch.on("close", (e) => rec.closes.push(e));
  await ch.opened();
  return rec;
}

const isSentinel = (m, name, seq) => m.meta.type === "after" && m.data.case === name && (seq === undefined || m.data.seq === seq);

/**
 * Runs hostile case `name` and waits for its sentinel. Returns what arrived before the
 * sentinel (messages, typed, star, errors) and the elapsed time.
 */
async function runCase(rec, name, params = {}) {
  const start = { m: rec.messages.length, s: rec.star.length, e: rec.errors.length };
  const typedStart = new Map([...rec.typed].map(([k, v]) => [k, v.length]));
  const t0 = performance.now();
  const seq = await hostile.send(rec.id, name, params);
  await waitFor(() => rec.messages.length > start.m && isSentinel(rec.messages[rec.messages.length - 1], name, seq), {
    what: `the sentinel after "${name}"`,
    timeoutMs: CASE_TIMEOUT_MS,
    intervalMs: 2,
  });
  const ms = performance.now() - t0;
  const messages = rec.messages.slice(start.m, -1);
  const star = rec.star.slice(start.s).filter((s) => s.meta.type !== "after");
  const typed = new Map([...rec.typed].map(([k, v]) => [k, v.slice(typedStart.get(k))]));
  return { ms, messages, star, typed, errors: rec.errors.slice(start.e) };
}

/** The channel still works both ways: open, and a message we send comes back (echo). */
async function assertUsable(rec, what) {
  assert.equal(rec.ch.state, "open", `${what}: the channel is open`);
  const n = Math.random();
  const before = rec.messages.length;
  rec.ch.send({ type: "echo-check", n });
  await waitFor(() => rec.messages.slice(before).some((m) => m.meta.type === "echo-check" && m.data.n === n), {
    what: `${what}: our own message echoed back`,
    timeoutMs: CASE_TIMEOUT_MS,
  });
}

/**
 * The full check of one case: first run (checked by `expect`), usability, then `repeats`
 * more runs (each checked again) with wasm memory compared. `noGrowth`: memory must not grow
 * even on the first run.
 */
async function hostileCase(t, { name, params, options, types, expect, repeats = 2, noGrowth = false, outcome }) {
  const rec = await hostileChannel(t, options, types);
  const m0 = memory();
  const first = await runCase(rec, name, params);
  expect(first, rec);
  await assertUsable(rec, name);
  const m1 = memory();
  for (let i = 0; i < repeats; i++) {
    const again = await runCase(rec, name, params);
    expect(again, rec);
    await assertUsable(rec, `${name} (repeat ${i + 1})`);
  }
  const m2 = memory();
  if (noGrowth) assert.equal(m1, m0, `${name}: wasm memory grew on the first run (${m0} -> ${m1})`);
  assert.equal(m2, m1, `${name}: wasm memory grew on repeated runs (${m1} -> ${m2}): a leak`);
  const line = `${name}${options?.maxMessageBytes ? ` (maxMessageBytes ${options.maxMessageBytes})` : ""} | ${outcome} | ${first.ms.toFixed(0)} | ${kib(m0)} -> ${kib(m1)} -> ${kib(m2)}`;
  report.push(line);
  t.diagnostic(line);
  return first;
}

/** Median wall time of JSON.parse(text) over 3 runs, in ms. */
function parseMs(text) {
  const times = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    JSON.parse(text);
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[1];
}

/** Depth of nested single-element arrays / single-key objects, walked without recursion. */
function depthOf(value, key) {
  let depth = 0;
  let v = value;
  while (v !== null && typeof v === "object") {
    depth++;
    v = key === undefined ? v[0] : v[key];
  }
  return { depth, leaf: v };
}

const frames = (name, params) => [...CASES[name](params)];
const noErrors = (r, what) =>
  assert.deepEqual(
    r.errors.map((e) => `${e.code}: ${e.message}`),
    [],
    `${what}: no error events`,
  );

// ------------------------------------------------------------------------------ text that is not JSON

test("invalid JSON: delivered as the text itself, never routed by type", async (t) => {
  const sent = frames("invalid-json").map((f) => f.data);
  await hostileCase(t, {
    name: "invalid-json",
    types: ["x"],
    noGrowth: true,
    outcome: "delivered as text (meta.type null), not routed",
    expect(r) {
      // A leading byte-order mark is kept by the \`ws\` package, but stripped by WHATWG
      // WebSockets (undici, browsers) before the SDK sees the frame: then it is plain JSON.
      const bom = sent.findIndex((s) => s.startsWith("\uFEFF"));
      const stripped = r.messages[bom]?.meta.raw === sent[bom].slice(1);
      const expected = sent.map((s, i) => (i === bom && stripped ? { type: "x" } : s));
      assert.deepEqual(
        r.messages.map((m) => m.data),
        expected,
      );
      r.messages.forEach((m, i) => {
        if (i === bom && stripped) assert.deepEqual(m.meta, { type: "x", binary: false, raw: sent[bom].slice(1), from: null, seq: null });
        else assert.deepEqual(m.meta, { type: null, binary: false, raw: m.data, from: null, seq: null });
      });
      assert.equal(r.typed.get("x").length, stripped ? 1 : 0, 'onMessage("x") never sees malformed JSON');
      assert.equal(r.star.length, stripped ? 1 : 0, 'onMessage("*") never sees malformed JSON');
      noErrors(r, "invalid-json");
    },
  });
});

test("truncated UTF-8 in binary frames: delivered as the exact bytes", async (t) => {
  const sent = frames("truncated-utf8-binary").map((f) => new Uint8Array(f.data));
  await hostileCase(t, {
    name: "truncated-utf8-binary",
    types: ["x"],
    noGrowth: true,
    outcome: "delivered as Uint8Array, bytes intact",
    expect(r) {
      assert.equal(r.messages.length, sent.length);
      r.messages.forEach((m, i) => {
        assert.ok(m.data instanceof Uint8Array, `frame ${i} is a Uint8Array`);
        assert.deepEqual(m.data, sent[i], `frame ${i} bytes`);
        assert.deepEqual(m.meta, { type: null, binary: true, raw: null, from: null, seq: null });
      });
      assert.equal(r.typed.get("x").length, 0, "JSON bytes in a binary frame are not routed");
      assert.equal(r.star.length, 0);
      noErrors(r, "truncated-utf8-binary");
    },
  });
});

test("invalid UTF-8 in a text frame: the WebSocket fails the connection; SOCKET_ERROR, reconnect, usable again", async (t) => {
  const rec = await hostileChannel(t, {}, []);
  const m0 = memory();
  const before = rec.messages.length;
  for (let round = 1; round <= 3; round++) {
    const errorsBefore = rec.errors.length;
    const closesBefore = rec.closes.length;
    await hostile.send(rec.id, "invalid-utf8-text");
    await waitFor(() => rec.closes.length > closesBefore, { what: "the connection to fail", timeoutMs: CASE_TIMEOUT_MS });
    const close = rec.closes[closesBefore];
    assert.equal(close.willReconnect, true, "a broken frame is not a reason to give up");
    assert.ok([1006, 1007].includes(close.code), `close code ${close.code}`);
    assert.ok(
      rec.errors.slice(errorsBefore).some((e) => e.code === "SOCKET_ERROR"),
      "a SOCKET_ERROR event",
    );
    await rec.ch.opened();
    await assertUsable(rec, `invalid-utf8-text round ${round}`);
  }
  const broken = rec.messages.slice(before).filter((m) => m.meta.type !== "after" && m.meta.type !== "echo-check");
  assert.deepEqual(broken, [], "the broken frame is never delivered");
  assert.equal(memory(), m0, "no wasm memory growth");
  const line = `invalid-utf8-text | WebSocket fails the connection: SOCKET_ERROR, close ${rec.closes[0].code}, reconnect | - | ${kib(m0)} -> ${kib(memory())}`;
  report.push(line);
  t.diagnostic(line);
});

// ------------------------------------------------------------------------------ deep and wide JSON

test("JSON nested 100,000 deep (array): delivered parsed", async (t) => {
  const text = frames("deep-array")[0].data;
  const first = await hostileCase(t, {
    name: "deep-array",
    repeats: 1,
    outcome: "delivered parsed (100,000-deep array)",
    expect(r) {
      assert.equal(r.messages.length, 1);
      const [m] = r.messages;
      assert.equal(m.meta.type, null);
      assert.equal(m.meta.raw.length, text.length);
      const { depth, leaf } = depthOf(m.data);
      assert.equal(depth, 100000);
      assert.equal(leaf, undefined, "the innermost array is empty");
      noErrors(r, "deep-array");
    },
  });
  const line = `deep-array: end to end ${first.ms.toFixed(0)} ms; JSON.parse alone ${parseMs(text).toFixed(1)} ms (${kib(text.length)})`;
  report.push(line);
  t.diagnostic(line);
});

test("JSON nested 100,000 deep inside a routed object: the scanner skips it, routed by type", async (t) => {
  const text = frames("deep-object")[0].data;
  const first = await hostileCase(t, {
    name: "deep-object",
    types: ["deep"],
    repeats: 1,
    outcome: 'delivered parsed, routed to onMessage("deep")',
    expect(r) {
      assert.equal(r.messages.length, 1);
      assert.equal(r.messages[0].meta.type, "deep");
      assert.equal(r.typed.get("deep").length, 1);
      assert.equal(r.star.length, 1);
      const { depth, leaf } = depthOf(r.typed.get("deep")[0].msg.v, "a");
      assert.equal(depth, 100000);
      assert.equal(leaf, 1);
      noErrors(r, "deep-object");
    },
  });
  const line = `deep-object: end to end ${first.ms.toFixed(0)} ms; JSON.parse alone ${parseMs(text).toFixed(1)} ms (${kib(text.length)})`;
  report.push(line);
  t.diagnostic(line);
});

test("a 200,000-key object: routed by the type after all the keys (limit raised); dropped at the default limit", async (t) => {
  const text = frames("many-keys")[0].data;
  assert.ok(text.length > DEFAULT_LIMIT, "the case is bigger than the default limit");
  await hostileCase(t, {
    name: "many-keys",
    options: { maxMessageBytes: BIG_LIMIT },
    types: ["many"],
    repeats: 1,
    outcome: 'delivered parsed, routed to onMessage("many")',
    expect(r) {
      assert.equal(r.messages.length, 1);
      assert.equal(r.messages[0].meta.type, "many");
      const typed = r.typed.get("many");
      assert.equal(typed.length, 1);
      assert.equal(Object.keys(typed[0].msg).length, 200001);
      assert.equal(typed[0].msg.k199999, 199999);
      noErrors(r, "many-keys");
    },
  });
  await hostileCase(t, {
    name: "many-keys",
    types: ["many"],
    repeats: 1,
    noGrowth: true,
    outcome: "dropped before wasm: MESSAGE_TOO_LARGE",
    expect(r) {
      assert.equal(r.messages.length, 0);
      assert.deepEqual(
        r.errors.map((e) => [e.code, e.detail]),
        [["MESSAGE_TOO_LARGE", text.length]],
      );
    },
  });
  const line = `many-keys: JSON.parse alone ${parseMs(text).toFixed(1)} ms (${kib(text.length)})`;
  report.push(line);
  t.diagnostic(line);
});

// ------------------------------------------------------------------------------ "type"

test('a "type" that is a number, object, array, null, boolean or a duplicate: only a string type routes', async (t) => {
  await hostileCase(t, {
    name: "type-not-string",
    types: ["x", "42", "6", "[object Object]", "null", "true"],
    noGrowth: true,
    outcome: 'delivered (meta.type null); only a string "type" reaches onMessage(type); "*" sees every object',
    expect(r) {
      assert.deepEqual(
        r.messages.map((m) => m.data.n),
        [1, 2, 3, 4, 5, 6, 7],
      );
      assert.deepEqual(
        r.messages.map((m) => m.meta.type),
        [null, null, null, null, null, null, "x"],
      );
      assert.deepEqual(
        r.messages.map((m) => m.data.type),
        [42, { x: "y" }, ["x"], null, true, 6, "x"],
      );
      assert.deepEqual(
        r.typed.get("x").map((d) => d.msg.n),
        [7],
        "the later duplicate wins, as in JSON.parse",
      );
      for (const k of ["42", "6", "[object Object]", "null", "true"]) assert.equal(r.typed.get(k).length, 0, `nothing routed as "${k}"`);
      assert.deepEqual(
        r.star.map((s) => s.msg.n),
        [1, 2, 3, 4, 5, 6, 7],
        '"*" gets every object',
      );
      noErrors(r, "type-not-string");
    },
  });
});

test('a 10 MB "type": delivered with maxMessageBytes raised; dropped before wasm (no growth) at the default 1 MiB', async (t) => {
  const text = frames("type-10mb")[0].data;
  const first = await hostileCase(t, {
    name: "type-10mb",
    options: { maxMessageBytes: BIG_LIMIT },
    types: ["x"],
    repeats: 1,
    outcome: 'delivered parsed; meta.type is the 10 MB string; "*" gets it',
    expect(r) {
      assert.equal(r.messages.length, 1);
      const [m] = r.messages;
      assert.equal(m.data.type.length, 10 * MiB);
      assert.equal(m.meta.type, m.data.type);
      assert.equal(m.data.n, 1);
      assert.equal(r.star.length, 1);
      assert.equal(r.typed.get("x").length, 0);
      noErrors(r, "type-10mb");
    },
  });
  await hostileCase(t, {
    name: "type-10mb",
    types: ["x"],
    repeats: 2,
    noGrowth: true,
    outcome: "dropped before wasm: MESSAGE_TOO_LARGE (detail = frame length)",
    expect(r) {
      assert.equal(r.messages.length, 0);
      assert.equal(r.star.length, 0);
      assert.deepEqual(
        r.errors.map((e) => [e.code, e.detail]),
        [["MESSAGE_TOO_LARGE", text.length]],
      );
      assert.match(r.errors[0].message, /1048576/);
    },
  });
  const line = `type-10mb: end to end ${first.ms.toFixed(0)} ms (limit raised); JSON.parse alone ${parseMs(text).toFixed(1)} ms (${kib(text.length)})`;
  report.push(line);
  t.diagnostic(line);
});

// ------------------------------------------------------------------------------ NUL, numbers

test("NUL bytes: raw U+0000 in a text frame and \\u0000 escapes are delivered intact, and route", async (t) => {
  await hostileCase(t, {
    name: "nul",
    types: ["nul", "t\u0000x", "t"],
    noGrowth: true,
    outcome: "delivered intact (raw NUL text, \\u0000 in values and in a routed type)",
    expect(r) {
      const [raw, escaped, typedNul, rawInJson, bytes] = r.messages;
      assert.equal(r.messages.length, 5);
      assert.equal(raw.data, "a\u0000b");
      assert.equal(raw.meta.raw, "a\u0000b");
      assert.deepEqual(escaped.data, { type: "nul", s: "a\u0000b" });
      assert.deepEqual(typedNul.data, { type: "t\u0000x", n: 1 });
      assert.equal(typedNul.meta.type, "t\u0000x");
      assert.equal(rawInJson.data, '{"type":"nul","s":"a\u0000b"}', "a raw NUL inside a JSON string is not JSON: delivered as text");
      assert.deepEqual(bytes.data, new Uint8Array([0, 0, 0]));
      assert.deepEqual(
        r.typed.get("nul").map((d) => d.msg.s),
        ["a\u0000b"],
      );
      assert.deepEqual(
        r.typed.get("t\u0000x").map((d) => d.msg.n),
        [1],
        "a type with an escaped NUL routes exactly",
      );
      assert.equal(r.typed.get("t").length, 0, "…and not as its prefix before the NUL");
      noErrors(r, "nul");
    },
  });
});

test("numbers beyond double range: delivered as JSON.parse gives them (±Infinity, 0, rounded)", async (t) => {
  await hostileCase(t, {
    name: "huge-numbers",
    types: ["num"],
    noGrowth: true,
    outcome: "delivered parsed: 1e400 -> Infinity, 1e-400 -> 0",
    expect(r) {
      assert.equal(r.messages.length, 3);
      const obj = r.messages[0].data;
      assert.equal(obj.a, Infinity);
      assert.equal(obj.b, -Infinity);
      assert.equal(obj.c, 0);
      assert.equal(obj.d, 1.2345678901234568e29);
      assert.ok(Object.is(obj.e, -0));
      assert.equal(r.typed.get("num").length, 1);
      assert.equal(r.messages[1].data, Infinity);
      assert.deepEqual(r.messages[2].data, [Infinity]);
      noErrors(r, "huge-numbers");
    },
  });
});

// ------------------------------------------------------------------------------ size limits

test("frames just over maxMessageBytes (text, binary, multi-byte text): MESSAGE_TOO_LARGE each, nothing delivered", async (t) => {
  await hostileCase(t, {
    name: "over-limit-just",
    params: { limit: DEFAULT_LIMIT },
    types: ["x"],
    outcome: "dropped: MESSAGE_TOO_LARGE (detail = size); multi-byte text checked in C++",
    expect(r) {
      assert.equal(r.messages.length, 0);
      assert.deepEqual(
        r.errors.map((e) => [e.code, e.detail]),
        [
          ["MESSAGE_TOO_LARGE", DEFAULT_LIMIT + 1],
          ["MESSAGE_TOO_LARGE", DEFAULT_LIMIT + 1],
          ["MESSAGE_TOO_LARGE", DEFAULT_LIMIT + 2], // 524,289 "é": 1,048,578 bytes of UTF-8
        ],
      );
      assert.match(r.errors[0].message, /text/);
      assert.match(r.errors[1].message, /binary/);
    },
  });
});

test("frames exactly at maxMessageBytes: delivered", async (t) => {
  await hostileCase(t, {
    name: "at-limit",
    params: { limit: DEFAULT_LIMIT },
    outcome: "delivered",
    expect(r) {
      assert.equal(r.messages.length, 2);
      assert.equal(r.messages[0].data.length, DEFAULT_LIMIT);
      assert.equal(r.messages[1].data.length, DEFAULT_LIMIT);
      assert.ok(r.messages[1].data.every((b) => b === 7));
      noErrors(r, "at-limit");
    },
  });
});

test("frames far over maxMessageBytes (32 MiB text and binary): MESSAGE_TOO_LARGE, no wasm memory growth at all", async (t) => {
  await hostileCase(t, {
    name: "over-limit-far",
    noGrowth: true,
    outcome: "dropped before wasm: MESSAGE_TOO_LARGE (detail = size), heap untouched",
    expect(r) {
      assert.equal(r.messages.length, 0);
      assert.deepEqual(
        r.errors.map((e) => [e.code, e.detail]),
        [
          ["MESSAGE_TOO_LARGE", 32 * MiB],
          ["MESSAGE_TOO_LARGE", 32 * MiB],
        ],
      );
    },
  });
});

// ------------------------------------------------------------------------------ volume

test("100,000 tiny frames in a burst: all delivered, in order; no memory growth after", async (t) => {
  const count = 100000;
  let rate = 0;
  await hostileCase(t, {
    name: "burst",
    params: { count },
    types: ["b"],
    repeats: 1,
    outcome: "all delivered, in order",
    expect(r) {
      assert.equal(r.messages.length, count);
      const typed = r.typed.get("b");
      assert.equal(typed.length, count);
      for (let i = 0; i < count; i++) {
        if (r.messages[i].data.i !== i || typed[i].msg.i !== i) assert.fail(`frame ${i} out of order or missing (got ${r.messages[i].data.i})`);
      }
      assert.equal(r.star.length, count);
      noErrors(r, "burst");
      if (!rate) rate = Math.round(count / (r.ms / 1000)); // the first run
    },
  });
  const line = `burst: ${count} frames at ${rate} frames/s end to end`;
  report.push(line);
  t.diagnostic(line);
});

// ------------------------------------------------------------------------------ wire commands

test("the hostile server also runs a case on command from the client itself", async (t) => {
  const rec = await hostileChannel(t, {}, ["x"]);
  rec.ch.send({ hostile: "type-not-string" });
  await waitFor(() => rec.messages.some((m) => isSentinel(m, "type-not-string")), { what: "the sentinel" });
  assert.deepEqual(
    rec.typed.get("x").map((d) => d.msg.n),
    [7],
  );
  rec.ch.send({ hostile: "no-such-case" });
  await waitFor(() => rec.messages.some((m) => m.meta.type === "hostile-error"), { what: "the error reply" });
  await assertUsable(rec, "after wire commands");
});

// ------------------------------------------------------------------------------ hostile arguments

/** Asserts fn throws MetaChannelError INVALID_ARGUMENT whose message names `field`. */
function throwsInvalid(fn, field, what) {
  let thrown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown, `${what}: nothing was thrown`);
  assert.ok(thrown instanceof MetaChannelError, `${what}: not a MetaChannelError: ${thrown?.stack}`);
  assert.equal(thrown.code, "INVALID_ARGUMENT", `${what}: ${thrown.code} ${thrown.message}`);
  assert.ok(thrown.message.includes(field), `${what}: "${thrown.message}" does not name ${field}`);
  return thrown;
}

async function rejectsInvalid(promiseFn, field, what) {
  let thrown;
  try {
    await promiseFn();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown, `${what}: it did not fail`);
  assert.ok(thrown instanceof MetaChannelError, `${what}: not a MetaChannelError: ${thrown?.stack}`);
  assert.equal(thrown.code, "INVALID_ARGUMENT", `${what}: ${thrown.code} ${thrown.message}`);
  assert.ok(thrown.message.includes(field), `${what}: "${thrown.message}" does not name ${field}`);
}

// tests/node/errors.test.js covers every ChannelOptions field (type, range, unknown names) and
// the Channel methods' main arguments. This covers the rest of the public surface.
test("INVALID_ARGUMENT for the rest of the public surface, naming the argument", async (t) => {
  const ch = channelFor(t, null);
  const fn = () => {};
  const channelCases = [
    [() => ch.close(undefined, 5), "reason", "close(undefined, 5)"],
    [() => ch.close(undefined, {}), "reason", "close(undefined, {})"],
    [() => ch.close("1000"), "code", 'close("1000")'],
    [() => ch.once("mesage", fn), "event", 'once("mesage")'],
    [() => ch.once("message", 5), "listener", 'once("message", 5)'],
    [() => ch.on(undefined, fn), "event", "on(undefined)"],
    [() => ch.on("*", fn), "event", 'on("*") (the "*" type is for onMessage)'],
    [() => ch.onMessage({}, fn), "type", "onMessage({})"],
    [() => ch.onMessage("x"), "listener", 'onMessage("x")'],
    [() => ch.setUrl({ href: "ws://x/y" }), "url", "setUrl(an object)"],
    [() => ch.setUrl(new URL("ws://x/y")), "url", "setUrl(a URL object)"],
  ];
  if (typeof Blob === "function") channelCases.push([() => ch.send(new Blob(["x"])), "message", "send(a Blob)"]);
  for (const [call, field, what] of channelCases) throwsInvalid(call, field, what);
  assert.equal(ch.state, "idle");
  assert.equal(ch.queuedCount, 0);

  // connect(): the same validation, as a rejection.
  await rejectsInvalid(() => mc.connect(5), "url", "connect(5)");
  await rejectsInvalid(() => mc.connect(null, { nope: 1 }), "nope", "connect(null, { nope })");
  await rejectsInvalid(() => mc.connect(null, { queue: { maxBytes: -1 } }), "queue.maxBytes", "connect(null, queue.maxBytes -1)");

  // request() / reply()
  if (typeof ch.request === "function") {
    await rejectsInvalid(async () => ch.request("", {}), "type", 'request("")');
    await rejectsInvalid(async () => ch.request(5, {}), "type", "request(5)");
    await rejectsInvalid(async () => ch.request("t", "payload"), "payload", 'request("t", "payload")');
    await rejectsInvalid(async () => ch.request("t", { id: "mine" }), "id", "request() payload with its own id");
    await rejectsInvalid(async () => ch.request("t", {}, { timeoutMs: -1 }), "timeoutMs", "request() timeoutMs -1");
    await rejectsInvalid(async () => ch.request("t", {}, { timeoutMs: "5" }), "timeoutMs", 'request() timeoutMs "5"');
    await rejectsInvalid(async () => ch.request("t", {}, { timeout: 5 }), "timeout", "request() unknown option");
    throwsInvalid(() => ch.reply({ type: "t" }, {}), "msg", "reply() to a message without id");
    throwsInvalid(() => ch.reply("t", {}), "msg", "reply() to a string");
  }
});

test("INVALID_ARGUMENT for the client classes and helpers, naming the argument", async (t) => {
  const fn = () => {};
  const url = "ws://127.0.0.1:9/ch/x";
  const shared = channelFor(t, null);
  /** Like throwsInvalid for a constructor; disposes what a constructor that did not throw made. */
  const constructs = (make, field, what) => {
    let made = null;
    try {
      throwsInvalid(
        () => {
          made = make();
        },
        field,
        what,
      );
    } finally {
      if (made) (made.dispose || made.disconnect).call(made);
    }
  };
  if (mc.ChatClient) {
    constructs(() => new mc.ChatClient(5, "me"), "target", "ChatClient(5)");
    constructs(() => new mc.ChatClient(url, ""), "username", 'ChatClient(url, "")');
    constructs(() => new mc.ChatClient(url, 5), "username", "ChatClient(url, 5)");
    constructs(() => new mc.ChatClient(url, "me", "x"), "options", 'ChatClient(url, "me", "x")');
    constructs(() => new mc.ChatClient(url, "me", { bogus: 1 }), "bogus", "ChatClient unknown option");
    constructs(() => new mc.ChatClient(url, "me", { maxMessageBytes: -1 }), "maxMessageBytes", "ChatClient channel option");
    constructs(() => new mc.ChatClient(url, "me", { rooms: "lobby" }), "rooms", "ChatClient rooms not an array");
    constructs(() => new mc.ChatClient(url, "me", { rooms: [""] }), "rooms[0]", "ChatClient empty room");
    constructs(() => new mc.ChatClient(shared, "me", { queue: {} }), "queue", "ChatClient over a shared channel with channel options");
    const chat = new mc.ChatClient(shared, "me");
    t.after(() => chat.disconnect());
    throwsInvalid(() => chat.joinRoom(""), "room", 'joinRoom("")');
    throwsInvalid(() => chat.joinRoom(5), "room", "joinRoom(5)");
    throwsInvalid(() => chat.leaveRoom(null), "room", "leaveRoom(null)");
    throwsInvalid(() => chat.on("bogus", fn), "event", 'chat.on("bogus")');
    throwsInvalid(() => chat.on("message", 5), "listener", 'chat.on("message", 5)');
  }
  if (mc.LiveDataClient) {
    constructs(() => new mc.LiveDataClient(5), "target", "LiveDataClient(5)");
    constructs(() => new mc.LiveDataClient(url, { bogus: 1 }), "bogus", "LiveDataClient unknown option");
    constructs(() => new mc.LiveDataClient(shared, { queue: {} }), "options", "LiveDataClient over a shared channel with options");
    const live = new mc.LiveDataClient(shared);
    t.after(() => live.dispose());
    throwsInvalid(() => live.subscribe("", fn), "channel", 'subscribe("")');
    throwsInvalid(() => live.subscribe("c", 5), "listener", 'subscribe("c", 5)');
    throwsInvalid(() => live.unsubscribe(5), "channel", "unsubscribe(5)");
  }
  if (mc.MetaframeClient) {
    constructs(() => new mc.MetaframeClient("x"), "options", 'MetaframeClient("x")');
    constructs(() => new mc.MetaframeClient({ bogus: 1 }), "bogus", "MetaframeClient unknown option");
    constructs(() => new mc.MetaframeClient({ id: 5 }), "id", "MetaframeClient id 5");
    const mf = new mc.MetaframeClient();
    t.after(() => mf.dispose());
    throwsInvalid(() => mf.onInput("", fn), "name", 'onInput("")');
    throwsInvalid(() => mf.onInput("a", 5), "listener", 'onInput("a", 5)');
    throwsInvalid(() => mf.setInputs("x"), "inputs", 'setInputs("x")');
    throwsInvalid(() => mf.setOutputs([1]), "outputs", "setOutputs([1])");
    throwsInvalid(
      () => {
        mf.onInputs = 5;
      },
      "onInputs",
      "onInputs = 5",
    );
    if (mc.bindMetaframe) {
      await rejectsInvalid(() => mc.bindMetaframe(mf, { input: "" }), "input", 'bindMetaframe(mf, { input: "" })');
      await rejectsInvalid(() => mc.bindMetaframe(mf, "x"), "options", 'bindMetaframe(mf, "x")');
    }
  }
  if (mc.bindMetaframe) {
    await rejectsInvalid(() => mc.bindMetaframe(5), "client", "bindMetaframe(5)");
    // An object that is not a metaframe client: says what to pass.
    await rejectsInvalid(() => mc.bindMetaframe({ notAMetaframe: 1 }), "new MetaframeClient()", "bindMetaframe({ notAMetaframe: 1 })");
    await rejectsInvalid(() => mc.bindMetaframe({ getInputs: () => ({}) }), "@metapages/metapage", "bindMetaframe({ getInputs })");
  }
  if (mc.connectFromEnv) {
    await rejectsInvalid(() => mc.connectFromEnv({ env: "" }), "env", 'connectFromEnv({ env: "" })');
    await rejectsInvalid(() => mc.connectFromEnv([]), "options", "connectFromEnv([])");
  }
});

test("INVALID_ARGUMENT for ready() options (in a fresh process: ready() is idempotent)", async () => {
  const dist = JSON.stringify(path.join(distDir, "metachannel.mjs"));
  const source = `
    const mc = await import(${dist});
    const out = [];
    for (const [what, arg] of [["5", 5], ["null", null], ["unknown", { wasmUrl: "x" }], ["locateFile", { locateFile: "x" }], ["wasmBinary", { wasmBinary: "x" }], ["core", { core: "small" }]]) {
      try { mc.ready(arg); out.push([what, "no throw"]); } catch (e) { out.push([what, e.code, e.message]); }
    }
    await mc.ready();
    out.push(["after", typeof mc.Channel]);
    console.log(JSON.stringify(out));
  `;
  const stdout = await new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [...process.execArgv.filter((a) => a.startsWith("--experimental")), "--input-type=module", "-e", source],
      { timeout: 30000 },
      (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
    ),
  );
  const rows = JSON.parse(stdout.trim().split("\n").pop());
  const expected = { 5: "options", null: "options", unknown: "wasmUrl", locateFile: "locateFile", wasmBinary: "wasmBinary", core: "options.core" };
  for (const [what, code, message] of rows.slice(0, -1)) {
    assert.equal(code, "INVALID_ARGUMENT", `ready(${what}): ${code} ${message ?? ""}`);
    assert.ok(message.includes(expected[what]), `ready(${what}): "${message}" names ${expected[what]}`);
  }
  assert.deepEqual(rows.at(-1), ["after", "function"], "a bad call does not poison ready()");
});

test("after all the hostile cases the process is healthy and a fresh channel works", async (t) => {
  const rec = await hostileChannel(t);
  await assertUsable(rec, "fresh channel");
  await sleep(10);
});
