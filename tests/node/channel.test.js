// The Channel foundation against the real dev relay: messages of every kind, routing,
// listeners, close, opened(), states, the send queue while connecting, connect(), version.
// Run: node --test tests/node/channel.test.js   (and with --experimental-websocket, and Node 22)
// One file over 500 lines: the Channel's foundation, a few short tests per feature on one relay
// set-up; features with more to test have files of their own (errors, reentrancy, fast-path,
// resilience-*, reliable*).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import net from "node:net";
import { mc, root, relayFor, channelFor, sleep, waitFor } from "./helpers.js";

// Short reconnect delays, so "it never reconnected" can be checked by waiting a little longer.
const FAST = { reconnect: { minDelayMs: 20, maxDelayMs: 40 } };
const NO_RECONNECT_WAIT_MS = 300; // well past FAST's maxDelayMs (and its jitter)

/** Resolves with the first argument of the next `event` on `ch`. */
function nextEvent(ch, event, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${timeoutMs} ms`)), timeoutMs);
    ch.once(event, (e) => {
      clearTimeout(timer);
      resolve(e);
    });
  });
}

/** A fresh relay and a channel URL on it. */
async function setup(t) {
  const relay = await relayFor(t);
  const { url, token } = await relay.createChannel();
  return { relay, url, token };
}

/** Records every message (data and meta) a channel receives. */
function inbox(ch) {
  const got = [];
  ch.on("message", (data, meta) => got.push({ data, meta }));
  return got;
}

/** A channel that is open. */
async function openChannel(t, url, options) {
  const ch = channelFor(t, url, options);
  await ch.opened();
  return ch;
}

/** Records the close code/reason the relay's server-side sockets see, in connection order. */
function serverCloses(relay) {
  const closes = [];
  relay.on("connection", ({ socket }) => {
    const entry = { code: null, reason: null };
    closes.push(entry);
    socket.on("close", (code, reason) => {
      entry.code = code;
      entry.reason = reason.toString();
    });
  });
  return closes;
}

test("two channels on one token exchange typed JSON, text and binary", async (t) => {
  const { url } = await setup(t);
  const a = await openChannel(t, url);
  const b = await openChannel(t, url);
  const got = inbox(b);

  const backing = new Uint8Array([9, 9, 10, 11, 12, 9, 9]).buffer;
  const sent = [
    { type: "greet", from: "a", n: 1, nested: { ok: true, list: [1, "two", null] } },
    "plain text, not JSON",
    "{ looks like JSON but is not",
    "",
    "é ✓ 😀 multi-byte text",
    42,
    true,
    null,
    [1, { type: "inside-array" }],
    { type: 7, note: "a non-string type" },
    new Uint8Array([1, 2, 3, 0, 255]),
    new Uint8Array([4, 5, 6]).buffer,
    new Int16Array([1, -2]),
    new Float64Array([1.5]),
    new DataView(backing, 2, 3), // a view into the middle of a larger buffer
    new Uint8Array(backing, 5, 2),
  ];
  for (const m of sent) a.send(m);
  await waitFor(() => got.length >= sent.length, { what: "every message at b" });
  await sleep(50);
  assert.equal(got.length, sent.length, "no extra messages");

  const text = (data, raw, type = null) => ({ data, meta: { type, binary: false, raw, from: null, seq: null } });
  const bytes = (...b) => ({ data: new Uint8Array(b), meta: { type: null, binary: true, raw: null, from: null, seq: null } });
  const le16 = new Uint8Array(new Int16Array([1, -2]).buffer);
  const f64 = new Uint8Array(new Float64Array([1.5]).buffer);
  const expected = [
    text(sent[0], JSON.stringify(sent[0]), "greet"),
    text("plain text, not JSON", "plain text, not JSON"),
    text("{ looks like JSON but is not", "{ looks like JSON but is not"),
    text("", ""),
    text("é ✓ 😀 multi-byte text", "é ✓ 😀 multi-byte text"),
    text(42, "42"),
    text(true, "true"),
    text(null, "null"),
    text([1, { type: "inside-array" }], '[1,{"type":"inside-array"}]'),
    text({ type: 7, note: "a non-string type" }, '{"type":7,"note":"a non-string type"}'),
    bytes(1, 2, 3, 0, 255),
    bytes(4, 5, 6),
    bytes(...le16),
    bytes(...f64),
    bytes(10, 11, 12),
    bytes(9, 9),
  ];
  for (let i = 0; i < expected.length; i++) {
    assert.deepEqual(got[i], expected[i], `message ${i}`);
    if (expected[i].meta.binary) assert.ok(got[i].data instanceof Uint8Array, `message ${i} is a Uint8Array`);
  }

  // The relay echoes to the sender too: a sees its own first message.
  const echo = inbox(a);
  a.send({ type: "echo" });
  await waitFor(() => echo.length === 1, { what: "the echo at a" });
  assert.deepEqual(echo[0].data, { type: "echo" });
});

test("b answers a: both directions work at once", async (t) => {
  const { url } = await setup(t);
  const a = await openChannel(t, url);
  const b = await openChannel(t, url);
  b.onMessage("ping", (msg) => b.send({ type: "pong", n: msg.n }));
  const pongs = [];
  a.onMessage("pong", (msg) => pongs.push(msg.n));
  for (let n = 0; n < 20; n++) a.send({ type: "ping", n });
  await waitFor(() => pongs.length === 20, { what: "20 pongs" });
  assert.deepEqual(pongs, [...Array(20).keys()]);
});

test('onMessage(type) and "*" routing; on("message") sees everything', async (t) => {
  const { url } = await setup(t);
  const a = await openChannel(t, url);
  const b = await openChannel(t, url);
  const typeA = [];
  const typeB = [];
  const star = [];
  const all = [];
  b.onMessage("A", (msg, meta) => typeA.push({ msg, meta }));
  b.onMessage("B", (msg) => typeB.push(msg));
  b.onMessage("*", (msg, meta) => star.push({ msg, meta }));
  b.on("message", (data, meta) => all.push({ data, meta }));

  const sent = [
    { type: "A", i: 1 },
    { type: "B", i: 2 },
    { i: 3, note: "an object without a type" },
    [{ type: "A", i: 4 }], // an array holding a typed object is not a typed message
    "plain text",
    '{"type":"A","i":5}', // a JSON string sent as text IS a typed message once received
    { type: "AA", i: 6 }, // no prefix matching
    { type: "a", i: 7 }, // case matters
    new Uint8Array([1]),
    17,
    { type: "A", i: 8, payload: { type: "B" } }, // only the top-level type counts
    { type: "end" },
  ];
  for (const m of sent) a.send(m);
  await waitFor(() => all.length === sent.length, { what: "every message" });
  await sleep(50);

  assert.deepEqual(
    typeA.map((x) => x.msg.i),
    [1, 5, 8],
  );
  assert.deepEqual(typeA[0].meta, { type: "A", binary: false, raw: '{"type":"A","i":1}', from: null, seq: null });
  assert.deepEqual(typeA[1].meta, { type: "A", binary: false, raw: '{"type":"A","i":5}', from: null, seq: null });
  assert.deepEqual(
    typeB.map((x) => x.i),
    [2],
  );
  assert.deepEqual(
    star.map((x) => x.msg.i ?? x.msg.type),
    [1, 2, 3, 5, 6, 7, 8, "end"],
    '"*" sees every JSON object, nothing else',
  );
  assert.deepEqual(star[2].meta, { type: null, binary: false, raw: JSON.stringify(sent[2]), from: null, seq: null });
  assert.equal(all.length, sent.length);
  assert.deepEqual(
    all.map((x) => x.meta.type),
    ["A", "B", null, null, null, "A", "AA", "a", null, null, "A", "end"],
  );
  assert.deepEqual(
    all.map((x) => x.meta.binary),
    sent.map((m) => m instanceof Uint8Array),
  );
  assert.deepEqual(all[4], { data: "plain text", meta: { type: null, binary: false, raw: "plain text", from: null, seq: null } });
  assert.deepEqual(all[9], { data: 17, meta: { type: null, binary: false, raw: "17", from: null, seq: null } });
});

test("a typed listener alone gets only its type (no message listener registered)", async (t) => {
  const { url } = await setup(t);
  const a = await openChannel(t, url);
  const b = await openChannel(t, url);
  const typeA = [];
  b.onMessage("A", (msg) => typeA.push(msg.i));
  a.send({ type: "B", i: 1 });
  a.send("text");
  a.send(new Uint8Array([1, 2]));
  a.send({ type: "A", i: 2 });
  a.send({ type: "B", i: 3 });
  a.send({ type: "A", i: 4 });
  await waitFor(() => typeA.length === 2, { what: "two A messages" });
  await sleep(50);
  assert.deepEqual(typeA, [2, 4]);
});

test("off() and the unsubscribe functions", async (t) => {
  const { url } = await setup(t);
  const a = await openChannel(t, url);
  const b = await openChannel(t, url);
  const log = [];
  const l1 = (d) => log.push(`l1:${d.n}`);
  const l2 = (d) => log.push(`l2:${d.n}`);
  const un1 = b.on("message", l1);
  b.on("message", l2);
  const unTyped = b.onMessage("m", (d) => log.push(`typed:${d.n}`));
  const unStar = b.onMessage("*", (d) => log.push(`star:${d.n}`));
  const onceLog = [];
  b.once("message", (d) => onceLog.push(d.n));
  const unOnce = b.once("message", (d) => onceLog.push(`never:${d.n}`));
  unOnce(); // removed before it ever fired

  const marks = [];
  b.on("message", () => marks.push(1)); // tells us when a message has been dispatched
  const round = async (n) => {
    log.length = 0;
    const expected = marks.length + 1;
    a.send({ type: "m", n });
    await waitFor(() => marks.length === expected, { what: `message ${n}` });
  };

  await round(1);
  assert.deepEqual(log, ["l1:1", "l2:1", "typed:1", "star:1"]);
  assert.deepEqual(onceLog, [1], "once fired once; the unsubscribed once never");

  un1();
  un1(); // a second call is harmless
  await round(2);
  assert.deepEqual(log, ["l2:2", "typed:2", "star:2"]);

  b.off("message", l2);
  b.off("message", l2); // not registered any more: no-op
  b.off("message", () => {}); // never registered: no-op
  b.off("open", l2); // no listener for that event: no-op
  unTyped();
  unTyped();
  await round(3);
  assert.deepEqual(log, ["star:3"]);

  unStar();
  await round(4);
  assert.deepEqual(log, []);
  assert.deepEqual(onceLog, [1]);
});

test("a once() listener can be removed with off(event, listener)", async (t) => {
  const { url } = await setup(t);
  const a = await openChannel(t, url);
  const b = await openChannel(t, url);
  const got = [];
  const l = (d) => got.push(d.n);
  b.once("message", l);
  b.off("message", l);
  const all = inbox(b);
  a.send({ n: 1 });
  await waitFor(() => all.length === 1, { what: "the message" });
  await sleep(20);
  assert.deepEqual(got, []);
});

test("unsubscribing twice never removes another registration of the same function", async (t) => {
  const { url } = await setup(t);
  const a = await openChannel(t, url);
  const b = await openChannel(t, url);
  const got = [];
  const l = (d) => got.push(d.n);
  const first = b.on("message", l);
  first();
  b.on("message", l); // the same function, registered again: a new subscription
  first(); // the stale unsubscribe must not remove it
  const typedGot = [];
  const lt = (d) => typedGot.push(d.n);
  const typedFirst = b.onMessage("m", lt);
  typedFirst();
  b.onMessage("m", lt);
  typedFirst();
  a.send({ type: "m", n: 1 });
  await waitFor(() => got.length === 1 && typedGot.length === 1, { what: "the message at both listeners" });
});

test("once() registered twice with the same function fires twice, then never again", async (t) => {
  const { url } = await setup(t);
  const a = await openChannel(t, url);
  const b = await openChannel(t, url);
  const got = [];
  const l = (d) => got.push(d.n);
  b.once("message", l);
  b.once("message", l);
  const all = inbox(b);
  a.send({ n: 1 });
  a.send({ n: 2 });
  a.send({ n: 3 });
  await waitFor(() => all.length === 3, { what: "three messages" });
  await sleep(20);
  assert.deepEqual(got, [1, 1]);
});

test("a once() unsubscribe called after it fired does not remove an on() of the same function", async (t) => {
  const { url } = await setup(t);
  const a = await openChannel(t, url);
  const b = await openChannel(t, url);
  const got = [];
  const l = (d) => got.push(d.n);
  const unOnce = b.once("message", l);
  a.send({ n: 1 });
  await waitFor(() => got.length === 1, { what: "the once" });
  b.on("message", l);
  unOnce(); // stale: the once already fired
  a.send({ n: 2 });
  await waitFor(() => got.length === 2, { what: "the message at the on() listener" });
  assert.deepEqual(got, [1, 2]);
});

test("close(code, reason) reaches the server and the channel never reconnects", async (t) => {
  const { relay, url } = await setup(t);
  const closes = serverCloses(relay);
  const a = await openChannel(t, url, FAST);
  assert.equal(relay.connections, 1);
  const events = [];
  a.on("close", (e) => events.push(e));
  a.on("reconnecting", () => assert.fail("a closed channel must not reconnect"));
  a.close(4321, "finished: bye ✓");
  assert.equal(a.state, "closing");
  assert.equal(a.readyState, 2);
  await waitFor(() => a.state === "closed", { what: "closed" });
  await waitFor(() => closes[0].code !== null, { what: "the server to see the close" });
  assert.deepEqual(closes[0], { code: 4321, reason: "finished: bye ✓" });
  assert.equal(events.length, 1);
  assert.equal(events[0].code, 4321);
  assert.equal(events[0].wasClean, true);
  assert.equal(events[0].willReconnect, false);

  await sleep(NO_RECONNECT_WAIT_MS);
  assert.equal(a.state, "closed");
  assert.equal(a.readyState, 3);
  assert.equal(relay.connections, 1, "no new connection at the relay");
  a.close(); // closing again is a no-op
  assert.equal(a.state, "closed");
});

test("close() without arguments sends 1000 with no reason", async (t) => {
  const { relay, url } = await setup(t);
  const closes = serverCloses(relay);
  const a = await openChannel(t, url, FAST);
  a.close();
  await waitFor(() => closes[0].code !== null, { what: "the server to see the close" });
  assert.deepEqual(closes[0], { code: 1000, reason: "" });
  await waitFor(() => a.state === "closed", { what: "closed" });
});

test("close() while connecting or idle is final too", async (t) => {
  const { relay, url, token } = await setup(t);
  const a = channelFor(t, url, FAST);
  assert.equal(a.state, "connecting");
  const closeEvents = [];
  a.on("close", (e) => closeEvents.push(e));
  a.on("reconnecting", () => assert.fail("a closed channel must not reconnect"));
  a.close(4000, "never mind");
  assert.equal(a.state, "closed");
  assert.equal(closeEvents.length, 1);
  assert.equal(closeEvents[0].willReconnect, false);

  const idle = channelFor(t, null, FAST);
  idle.close();
  assert.equal(idle.state, "closed");
  await sleep(NO_RECONNECT_WAIT_MS);
  assert.equal(a.state, "closed");
  // a's socket may or may not have reached the relay before it was aborted; none stays open.
  assert.ok(relay.connections <= 1, `${relay.connections} connections`);
  await waitFor(() => relay.clientCount(token) === 0, { what: "no socket left on the channel" });
});

test("close(), setUrl() and a connect timeout while connecting: no re-entrant events from the aborted socket", async (t) => {
  // Regression: undici fires "error" synchronously inside close() on a connecting socket; the
  // core re-entered its own abort() and recursed until the stack overflowed (Node 22, and
  // Node 20 with --experimental-websocket).
  const { relay, url } = await setup(t);
  const { url: url2 } = await relay.createChannel();
  const record = (ch) => {
    const log = [];
    ch.on("state", (e) => log.push(`${e.from}>${e.to}`));
    ch.on("close", (e) => log.push(`close:${e.willReconnect}`));
    ch.on("error", (e) => log.push(`error:${e.code}`));
    return log;
  };
  const a = channelFor(t, url, FAST);
  const aLog = record(a);
  a.close();
  const b = channelFor(t, url, FAST);
  const bLog = record(b);
  b.setUrl(null);
  const c = channelFor(t, url, FAST);
  const cLog = record(c);
  c.setUrl(url2);
  await c.opened();
  assert.equal(c.url, url2);

  // A server that accepts TCP and never answers the handshake.
  const accepted = new Set();
  const silent = net.createServer((socket) => accepted.add(socket.on("error", () => {})));
  await new Promise((r) => silent.listen(0, "127.0.0.1", r));
  t.after(() => {
    for (const socket of accepted) socket.destroy();
    silent.close();
  });
  const d = channelFor(t, `ws://127.0.0.1:${silent.address().port}/ch/x`, { reconnect: { connectTimeoutMs: 100, maxRetries: 0 } });
  const dLog = record(d);
  await waitFor(() => d.state === "closed", { what: "d closed after its connect timeout" });

  await sleep(NO_RECONNECT_WAIT_MS);
  assert.deepEqual(aLog, ["close:false", "connecting>closed"]);
  assert.deepEqual(bLog, ["connecting>idle"]);
  assert.deepEqual(cLog, ["connecting>open"]);
  assert.deepEqual(
    dLog.filter((x) => x !== "close:false"),
    ["error:CONNECT_TIMEOUT", "error:RETRIES_EXHAUSTED", "connecting>closed"],
  );
});

test("a relay that drops the connection makes the channel reconnect (control for the tests above)", async (t) => {
  const { relay, url, token } = await setup(t);
  const a = await openChannel(t, url, FAST);
  const closeEvent = nextEvent(a, "close");
  relay.dropAll(token);
  const e = await closeEvent;
  assert.equal(e.willReconnect, true);
  await waitFor(() => a.state === "open", { what: "open again" });
  assert.equal(relay.connections, 2);
});

test("opened() resolves at open, at once when open, and rejects when closed for good", async (t) => {
  const { url } = await setup(t);
  const a = channelFor(t, url);
  const p = a.opened();
  await p;
  assert.equal(a.state, "open");
  let settled = false;
  a.opened().then(() => (settled = true));
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(settled, true, "already open: resolves without waiting for an event");

  // closed while connecting -> rejects with CLOSED
  const b = channelFor(t, url);
  const pb = b.opened();
  b.close();
  await assert.rejects(pb, (err) => err instanceof mc.MetaChannelError && err.code === "CLOSED");
  await assert.rejects(b.opened(), (err) => err.code === "CLOSED", "already closed: rejects at once");

  // closing -> rejects
  const c = await openChannel(t, url);
  c.close();
  await assert.rejects(c.opened(), (err) => err.code === "CLOSED");

  // a connection that fails with reconnect off -> closed -> rejects
  const relay2 = await relayFor(t);
  const bad = channelFor(t, `ws://127.0.0.1:${relay2.port}/ch/no-such-token`, { reconnect: false });
  bad.on("error", () => {});
  await assert.rejects(bad.opened(), (err) => err.code === "CLOSED");
  assert.equal(bad.state, "closed");

  // disposed -> rejects with DISPOSED
  const d = channelFor(t, url);
  d.dispose();
  await assert.rejects(d.opened(), (err) => err.code === "DISPOSED");
});

test("opened() waits across a reconnect and resolves at the next open", async (t) => {
  const { relay, url, token } = await setup(t);
  const a = await openChannel(t, url, FAST);
  const closed = nextEvent(a, "close");
  relay.dropAll(token);
  await closed;
  assert.notEqual(a.state, "open");
  await a.opened();
  assert.equal(a.state, "open");
});

test("state events: idle -> connecting -> open -> closing -> closed, with readyState", async (t) => {
  const { url } = await setup(t);
  const a = channelFor(t, null);
  assert.equal(a.state, "idle");
  assert.equal(a.readyState, 3);
  assert.equal(a.url, null);
  const seen = [];
  a.on("state", (e) => seen.push(`${e.from}>${e.to}:${a.state}:${a.readyState}`));
  a.setUrl(url);
  assert.equal(a.url, url);
  await a.opened();
  a.close();
  await waitFor(() => a.state === "closed", { what: "closed" });
  assert.deepEqual(seen, ["idle>connecting:connecting:0", "connecting>open:open:1", "open>closing:closing:2", "closing>closed:closed:3"]);
});

test("setUrl(null) goes back to idle; setUrl(same url) is a no-op", async (t) => {
  const { relay, url } = await setup(t);
  const a = await openChannel(t, url, FAST);
  const states = [];
  a.on("state", (e) => states.push(`${e.from}>${e.to}`));
  a.setUrl(url);
  await sleep(50);
  assert.deepEqual(states, []);
  assert.equal(relay.connections, 1);
  a.setUrl(null);
  assert.equal(a.state, "idle");
  assert.equal(a.url, null);
  assert.equal(a.readyState, 3);
  assert.deepEqual(states, ["open>idle"]);
  await sleep(NO_RECONNECT_WAIT_MS);
  assert.equal(a.state, "idle");
  assert.equal(relay.connections, 1);
});

test("while connecting: readyState 0, url, exact queuedCount; the queue is flushed in order before open listeners run", async (t) => {
  const { url } = await setup(t);
  const b = await openChannel(t, url);
  const got = [];
  b.on("message", (d) => got.push(d));

  const a = channelFor(t, url);
  assert.equal(a.state, "connecting");
  assert.equal(a.readyState, 0);
  assert.equal(a.url, url);
  assert.equal(a.queuedCount, 0);
  assert.equal(a.protocol, "");
  a.send({ type: "q", n: 1 });
  assert.equal(a.queuedCount, 1);
  a.send("q2");
  assert.equal(a.queuedCount, 2);
  a.send(new Uint8Array([3]));
  assert.equal(a.queuedCount, 3);
  a.send({ type: "q", n: 4 });
  assert.equal(a.queuedCount, 4);
  assert.equal(a.queuedBytes, '{"type":"q","n":1}'.length + 2 + 1 + '{"type":"q","n":4}'.length);

  let queuedAtOpen = null;
  a.on("open", (e) => {
    queuedAtOpen = a.queuedCount;
    assert.equal(e.url, url);
    a.send({ type: "from-open-listener" });
  });
  await a.opened();
  assert.equal(queuedAtOpen, 0, "the queue was flushed before the open listener ran");
  assert.equal(a.queuedCount, 0);
  await waitFor(() => got.length === 5, { what: "five messages at b" });
  assert.deepEqual(got, [{ type: "q", n: 1 }, "q2", new Uint8Array([3]), { type: "q", n: 4 }, { type: "from-open-listener" }]);
});

test("connect() resolves before the socket opens", async (t) => {
  const { url } = await setup(t);
  const ch = await mc.connect(url);
  t.after(() => ch.dispose());
  assert.ok(ch instanceof mc.Channel);
  assert.equal(ch.state, "connecting");
  assert.equal(ch.readyState, 0);
  await ch.opened();
  assert.equal(ch.state, "open");
  assert.equal(ch.readyState, 1);
});

test("isSupported() and version", () => {
  assert.equal(mc.isSupported(), true);
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
  assert.equal(mc.version, pkg.version);
  assert.match(mc.version, /^\d+\.\d+\.\d+/);
});
