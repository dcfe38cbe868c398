// Transport options against real servers: subprotocols, handshake headers (the `ws` package and
// Node's built-in WebSocket), binary frames and size limits, and many concurrent channels with
// independent failures.
// Run: node --test tests/node/transport-options.test.js   (and with --experimental-websocket, Node 22)
import { test } from "node:test";
import assert from "node:assert/strict";
import { WebSocket as WsSocket, WebSocketServer } from "ws";
import { mc, flavor, relayFor, channelFor, waitFor, sleep } from "./helpers.js";

const FAST = { reconnect: { minDelayMs: 20, maxDelayMs: 40 } };
const builtin = typeof globalThis.WebSocket === "function" ? globalThis.WebSocket : null;

/** Resolves with the next 'connection' of the relay ({ token, headers, protocol, socket }). */
function nextConnection(relay) {
  return new Promise((resolve) => relay.once("connection", resolve));
}

/** A plain `ws` server (not the relay), closed after the test. */
async function plainServer(t, options = {}) {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", ...options });
  await new Promise((resolve) => wss.once("listening", resolve));
  t.after(
    () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(resolve);
      }),
  );
  return { wss, url: `ws://127.0.0.1:${wss.address().port}/plain` };
}

// ------------------------------------------------------------------------------ subprotocols

test("protocols: the relay picks the first offered one, and channel.protocol says so", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const conn = nextConnection(relay);
  const ch = channelFor(t, url, { protocols: ["chat-v2", "chat-v1"] });
  const opened = new Promise((resolve) => ch.once("open", resolve));
  const [server, open] = await Promise.all([conn, opened]);
  assert.equal(server.protocol, "chat-v2");
  assert.equal(open.protocol, "chat-v2");
  assert.equal(ch.protocol, "chat-v2");
  assert.deepEqual(server.headers["sec-websocket-protocol"].split(/\s*,\s*/), ["chat-v2", "chat-v1"], "offered in order");

  // No protocols offered: "".
  const plain = channelFor(t, url);
  await plain.opened();
  assert.equal(plain.protocol, "");
});

test("protocols: a relay that only speaks the second one picks it", async (t) => {
  const relay = await relayFor(t, { protocols: ["chat-v1"] });
  const { url } = await relay.createChannel();
  const ch = channelFor(t, url, { protocols: ["chat-v2", "chat-v1"] });
  await ch.opened();
  assert.equal(ch.protocol, "chat-v1");
});

test("protocols: a plain ws server whose handleProtocols picks the second offer", async (t) => {
  const { wss, url } = await plainServer(t, { handleProtocols: (set) => [...set][1] });
  const seen = new Promise((resolve) => wss.once("connection", (sock, req) => resolve({ sock, req })));
  const ch = channelFor(t, url, { protocols: ["v1.json", "v2.json", "v3.json"], headers: { "X-Client": "metachannel-test" } });
  const got = [];
  ch.on("message", (d) => got.push(d));
  await ch.opened();
  const { sock, req } = await seen;
  assert.equal(sock.protocol, "v2.json");
  assert.equal(ch.protocol, "v2.json");
  assert.equal(req.headers["x-client"], "metachannel-test");
  sock.send(JSON.stringify({ hello: sock.protocol }));
  await waitFor(() => got.length === 1, { what: "a frame from the server" });
  assert.deepEqual(got[0], { hello: "v2.json" });
});

// ------------------------------------------------------------------------------ headers

const HEADERS = { Authorization: "Bearer s3cr3t-token", "X-Tenant": "acme" };

async function headersArrive(t, options) {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const conn = nextConnection(relay);
  const ch = channelFor(t, url, { headers: HEADERS, protocols: ["chat-v2"], ...options });
  const [server] = await Promise.all([conn, ch.opened()]);
  assert.equal(server.headers.authorization, "Bearer s3cr3t-token");
  assert.equal(server.headers["x-tenant"], "acme");
  assert.equal(ch.protocol, "chat-v2", "protocols still negotiated alongside headers");
  // And the channel works.
  const echo = new Promise((resolve) => ch.onMessage("hi", resolve));
  ch.send({ type: "hi" });
  await echo;
}

test("headers arrive at the server with the `ws` package", async (t) => {
  await headersArrive(t, { WebSocket: WsSocket });
});

test("headers arrive at the server with Node's built-in WebSocket (undici)", {
  skip: builtin ? false : "no global WebSocket here (run with --experimental-websocket or Node 22)",
}, async (t) => {
  await headersArrive(t, { WebSocket: builtin });
});

test(`headers arrive with the default WebSocket of this runtime (${flavor})`, async (t) => {
  await headersArrive(t, {});
});

test("bad headers are refused before any socket exists", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  assert.throws(() => new mc.Channel(url, { headers: { "Bad Name": "x" } }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new mc.Channel(url, { headers: { "X-Ok": "a\r\nInjected: 1" } }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new mc.Channel(url, { headers: { "X-Ok": 5 } }), { code: "INVALID_ARGUMENT" });
  assert.equal(relay.connections, 0);
});

// ------------------------------------------------------------------------------ binary

test("binary round trips: 0, 1 and 65,536 bytes from ArrayBuffer and typed arrays, Uint8Array out", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const tx = channelFor(t, url);
  const rx = channelFor(t, url);
  const got = [];
  rx.on("message", (data, meta) => got.push({ data, meta }));
  await Promise.all([tx.opened(), rx.opened()]);

  const pattern = (n, seed) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
  const big = pattern(65536, 7);
  const inputs = [
    ["ArrayBuffer(0)", new ArrayBuffer(0), new Uint8Array(0)],
    ["Uint8Array(0)", new Uint8Array(0), new Uint8Array(0)],
    ["ArrayBuffer(1)", Uint8Array.of(0xab).buffer, Uint8Array.of(0xab)],
    ["Uint8Array(1)", Uint8Array.of(0), Uint8Array.of(0)],
    ["ArrayBuffer(65536)", big.slice().buffer, big],
    ["Uint8Array(65536)", big, big],
    ["Int16Array(32768)", new Int16Array(big.slice().buffer), big],
    ["Float64Array(8192)", new Float64Array(big.slice().buffer), big],
    ["DataView(65536)", new DataView(big.slice().buffer), big],
    ["Buffer(65536)", Buffer.from(big), big],
    // A view into the middle of a larger buffer: only the view's bytes go out.
    ["Uint8Array subarray(1)", pattern(10, 1).subarray(4, 5), pattern(10, 1).subarray(4, 5)],
    ["Uint8Array subarray(65536)", pattern(65536 + 100, 3).subarray(50, 65586), pattern(65536 + 100, 3).subarray(50, 65586)],
  ];
  for (const [, input] of inputs) tx.send(input);
  await waitFor(() => got.length === inputs.length, { what: `${inputs.length} binary frames` });
  inputs.forEach(([name, , expected], i) => {
    const { data, meta } = got[i];
    assert.ok(data instanceof Uint8Array, `${name}: a Uint8Array`);
    assert.equal(data.constructor, Uint8Array, `${name}: exactly Uint8Array`);
    assert.equal(data.byteLength, expected.byteLength, `${name}: length`);
    assert.ok(Buffer.from(data).equals(Buffer.from(expected)), `${name}: bytes`);
    assert.deepEqual(meta, { type: null, binary: true, raw: null, from: null, seq: null });
  });
  // Each delivered array owns its bytes (later frames do not overwrite earlier ones).
  assert.ok(Buffer.from(got[4].data).equals(Buffer.from(big)));
});

test("size limits: too large to send throws; too large to receive is dropped with an error", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const tx = channelFor(t, url, { maxMessageBytes: 1000 });
  const rx = channelFor(t, url, { maxMessageBytes: 100 });
  const got = [];
  rx.on("message", (d) => got.push(d));
  const errors = [];
  rx.on("error", (e) => errors.push(e));
  await Promise.all([tx.opened(), rx.opened()]);

  assert.throws(() => tx.send(new Uint8Array(1001)), { code: "MESSAGE_TOO_LARGE" });
  assert.throws(() => tx.send(new ArrayBuffer(1001)), { code: "MESSAGE_TOO_LARGE" });
  assert.throws(() => tx.send("x".repeat(1001)), { code: "MESSAGE_TOO_LARGE" });
  assert.throws(() => tx.send("é".repeat(501)), { code: "MESSAGE_TOO_LARGE" }, "counted in UTF-8 bytes");
  assert.throws(() => tx.send({ s: "x".repeat(1000) }), { code: "MESSAGE_TOO_LARGE" });

  tx.send(new Uint8Array(1000)); // at the sender's limit: sent; over the receiver's: dropped
  tx.send("y".repeat(101)); // over the receiver's limit
  tx.send(new Uint8Array(100)); // at the receiver's limit: delivered
  tx.send("z".repeat(100));
  await waitFor(() => got.length === 2, { what: "the two frames within the limit" });
  assert.equal(got[0].byteLength, 100);
  assert.equal(got[1], "z".repeat(100));
  assert.deepEqual(
    errors.map((e) => [e.code, e.detail]),
    [
      ["MESSAGE_TOO_LARGE", 1000],
      ["MESSAGE_TOO_LARGE", 101],
    ],
  );
  assert.equal(rx.state, "open", "an oversized frame does not drop the connection");
});

test("size limits: a relay limit smaller than the message closes the sender with 1009, which reconnects", async (t) => {
  const relay = await relayFor(t, { maxMessageBytes: 1024 });
  const { url } = await relay.createChannel();
  const tx = channelFor(t, url, FAST);
  await tx.opened();
  const closed = new Promise((resolve) => tx.once("close", resolve));
  tx.send(new Uint8Array(2048));
  const e = await closed;
  assert.equal(e.code, 1009);
  assert.equal(e.willReconnect, true);
  await tx.opened();
  const echo = new Promise((resolve) => tx.on("message", resolve));
  tx.send(new Uint8Array(1024));
  assert.equal((await echo).byteLength, 1024);
});

// ------------------------------------------------------------------------------ many connections

test("20 concurrent channels: independent failures, disposing one leaves the others alone", async (t) => {
  const relay = await relayFor(t);
  const tokens = [];
  const groups = [];
  for (let g = 0; g < 4; g++) {
    const { url, token } = await relay.createChannel();
    tokens.push(token);
    const members = [];
    for (let i = 0; i < 5; i++) {
      const ch = channelFor(t, url, FAST);
      const rec = { ch, name: `g${g}c${i}`, got: [], closes: [], errors: [], opens: 0 };
      ch.onMessage("note", (m) => rec.got.push(m.from));
      ch.on("close", (e) => rec.closes.push(e.code));
      ch.on("error", (e) => rec.errors.push(e.code));
      ch.on("open", () => rec.opens++);
      members.push(rec);
    }
    groups.push(members);
  }
  const everyone = () => groups.flat();
  await Promise.all(everyone().map((r) => r.ch.opened()));
  assert.equal(relay.connections, 20);

  /** Every open member of `group` sends one note; waits until all of them have all notes. */
  async function round(group, tag) {
    const live = group.filter((r) => !r.ch.disposed);
    for (const r of live) r.ch.send({ type: "note", from: `${r.name}:${tag}` });
    const want = live.map((r) => `${r.name}:${tag}`).sort();
    await waitFor(() => live.every((r) => want.every((w) => r.got.includes(w))), { what: `round ${tag}` });
    for (const r of live) assert.deepEqual(r.got.filter((x) => x.endsWith(`:${tag}`)).sort(), want, `${r.name} round ${tag}`);
  }
  await Promise.all(groups.map((g) => round(g, "1")));

  // Group 0: the relay drops its sockets (1006): those 5 reconnect, the other 15 see nothing.
  relay.dropAll(tokens[0]);
  // Group 1: its URL is rotated: those 5 are revoked (4001) and stop.
  await relay.rotate(tokens[1]);
  await waitFor(() => groups[0].every((r) => r.opens === 2), { what: "group 0 to reconnect" });
  await waitFor(() => groups[1].every((r) => r.ch.state === "closed"), { what: "group 1 to be revoked" });
  // Groups 2 and 3 kept talking meanwhile.
  await Promise.all([round(groups[0], "2"), round(groups[2], "2"), round(groups[3], "2")]);

  for (const r of groups[0]) {
    assert.deepEqual(r.closes, [1006], r.name);
    assert.equal(r.ch.state, "open");
  }
  for (const r of groups[1]) {
    assert.deepEqual(r.closes, [4001], r.name);
    assert.ok(r.errors.includes("REVOKED"), r.name);
    assert.equal(r.opens, 1);
  }
  for (const r of [...groups[2], ...groups[3]]) {
    assert.deepEqual(r.closes, [], r.name);
    assert.deepEqual(r.errors, [], r.name);
    assert.equal(r.opens, 1, r.name);
  }

  // Disposing one channel of group 2: its socket goes, the other 4 and every other group stay.
  groups[2][0].ch.dispose();
  await waitFor(() => relay.clientCount(tokens[2]) === 4, { what: "the disposed socket to close" });
  await Promise.all([round(groups[2], "3"), round(groups[3], "3"), round(groups[0], "3")]);
  assert.equal(relay.clientCount(tokens[3]), 5);
  assert.equal(relay.clientCount(tokens[0]), 5);
  for (const r of [...groups[2].slice(1), ...groups[3]]) assert.deepEqual(r.closes, [], r.name);
  assert.ok(!groups[2][1].got.some((x) => x.startsWith("g2c0:3")));
  await sleep(0);
});
