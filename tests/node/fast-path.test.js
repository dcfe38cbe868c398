// The receive fast path (docs/architecture.md, "Receive path"): a channel whose core reads
// nothing in a frame lets JS route it by its own JSON.parse (route bit UNSCANNED). Whatever
// path a frame takes, the listeners get the same deliveries: here one channel takes the fast
// path and another, identical but with the heartbeat on (the core must compare every frame
// with the heartbeat strings), the scanned path, against the real dev relay.
import { test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { mc, relayFor, channelFor, waitFor } from "./helpers.js";

// Frames where the scanner and JSON.parse must agree (sent as raw text).
const FRAMES = [
  '{"type":"tick","n":1}',
  ' \t\r\n{"type":"tick","n":2} ',
  '{"type":"other","n":3}',
  '{"type":"*","n":4}', // onMessage("*") is not interest in the type "*"
  '{"type":7,"n":5}',
  '{"n":6}',
  '{"type":"tick","type":"other","n":7}', // the last duplicate wins
  '{"type":"other","type":"tick","n":8}',
  '{"type":"t\\u0069ck","n":9}', // escaped
  '{"type":"a\\"b","n":10}',
  '{"type":"tick","n":11', // truncated: not JSON
  '{"type":"tick","n":12}x', // trailing bytes
  '{"type":"tick","nested":{"type":"other","deep":[1,{"a":[true,false,null]}]},"n":13}',
  "[1,2,3]",
  '"a string"',
  "42",
  "-x", // starts like JSON, is not
  "true",
  "nul",
  "plain text",
  "",
  '{"type":"h\u00e9llo \u{1F600}","n":14}',
  '{"type":"\\ud800","n":15}', // a lone surrogate escape
  '{"type":"tick","big":1e400,"n":16}',
  '{"type":"tick","s":"\u0000"}', // a raw NUL inside a string: not JSON
  "\uFEFF{}", // a byte-order mark is not JSON whitespace
  '{"__proto__":{"type":"tick"},"n":17}',
];

/** A plain `ws` client on the channel (frames sent as raw text), closed after the test. */
async function rawSender(t, url, options) {
  const sender = new WebSocket(url, options);
  t.after(() => sender.terminate());
  await new Promise((resolve, reject) => {
    sender.once("open", resolve);
    sender.once("error", reject);
  });
  return sender;
}

function listen(ch, log, name) {
  ch.on("message", (data, meta) => log.push([name, "message", data, { ...meta }]));
  for (const type of ["tick", 'a"b', "héllo \u{1F600}", "\uFFFD"]) {
    ch.onMessage(type, (msg, meta) => log.push([name, `onMessage(${type})`, msg, { ...meta }]));
  }
  ch.onMessage("*", (msg, meta) => log.push([name, "onMessage(*)", msg, { ...meta }]));
}

test("the fast path and the scanned path deliver the same frames to the same listeners", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const fast = [];
  const scanned = [];
  const typedOnly = [];
  const a = channelFor(t, url);
  const b = channelFor(t, url, { heartbeat: { intervalMs: 60000, timeoutMs: 60000, message: "hb-ping", pong: "hb-pong" } });
  // Only typed listeners: frames of other types are dropped (in wasm, or by JS after its parse).
  const c = channelFor(t, url);
  listen(a, fast, "x");
  listen(b, scanned, "x");
  c.onMessage("tick", (msg, meta) => typedOnly.push([msg, { ...meta }]));
  await Promise.all([a.opened(), b.opened(), c.opened()]);

  const sender = await rawSender(t, url);
  for (const f of FRAMES) sender.send(f);
  sender.send('{"type":"tick","end":true}');
  const ended = (log) => log.some((e) => e[1] === "onMessage(tick)" && e[2].end);
  await waitFor(() => ended(fast) && ended(scanned) && typedOnly.some(([m]) => m.end), { what: "the last frame everywhere" });

  assert.deepEqual(fast, scanned);
  // Sanity: what the listeners got is what JSON.parse says.
  const messages = fast.filter((e) => e[1] === "message");
  assert.equal(messages.length, FRAMES.length + 1);
  assert.deepEqual(
    fast.filter((e) => e[1] === "onMessage(tick)").map((e) => e[2].n),
    [1, 2, 8, 9, 13, 16, undefined],
  );
  assert.deepEqual(
    typedOnly.map(([m]) => m.n),
    [1, 2, 8, 9, 13, 16, undefined],
  );
  assert.equal(typedOnly[0][1].raw, FRAMES[0]);
});

test("interest in `type` from the internal route API turns the fast path off: hooks on `type` still see their frames", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const ch = channelFor(t, url);
  const hooked = [];
  const typed = [];
  ch._hook("type", (msg) => hooked.push(msg.n));
  ch._route("type", "hooked", 1);
  ch.onMessage("typed", (msg) => typed.push(msg.n));
  await ch.opened();
  const sender = await rawSender(t, url);
  for (const [i, type] of ["hooked", "typed", "neither", "hooked"].entries()) sender.send(JSON.stringify({ type, n: i }));
  await waitFor(() => hooked.length === 3 && typed.length === 1, { what: "the routed frames" });
  // FIELD << 0 is the route bit of both: the hook sees every frame of a wanted type.
  assert.deepEqual(hooked, [0, 1, 3]);
  assert.deepEqual(typed, [1]);
});

// The receive prefilter (Router::prefilter, bindings/library.js): with interest only in values
// of members other than `type` (a LiveDataClient's "channel", a ChatClient's "room"), a frame
// that contains none of the wanted values, quoted, and no backslash is dropped before it is
// copied into wasm. Deliveries are those of the scanned path (a twin channel with the heartbeat
// on, which scans everything).
const ROUTED = [
  '{"type":"data","channel":"c3","n":1}',
  '{"type":"data","channel":"c4","n":2}',
  '{"type":"data","channel":"c4","note":"c3","n":3}', // c3 unquoted elsewhere
  '{"type":"data","channel":"c4","note":"\\"c3\\"","n":4}', // "c3" quoted elsewhere: scanned, not wanted
  '{"type":"data","channel":"\\u00633","n":5}', // an escape spells c3
  '{"type":"data","nested":{"channel":"c3"},"n":6}', // not top level
  '{"channel" : "c3" , "n":7}',
  '{"channel":"c3","channel":"c4","n":8}', // the last duplicate wins
  '{"channel":"c4","channel":"c3","n":9}',
  '{"channel":"a\\"b","n":10}',
  '{"channel":"h\u00e9llo \u{1F600}","n":11}',
  '{"channel":3,"n":12}',
  '["c3"]',
  '"c3"',
  "plain c3",
  '{"channel":"c3","n":13', // truncated
  '{"channel":"subscribe","type":"subscribe","n":14}',
];

test("the prefilter drops frames nobody routes on, and delivers what the scanned path delivers", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const logs = { pre: [], scanned: [] };
  const pre = channelFor(t, url);
  const scanned = channelFor(t, url, { heartbeat: { intervalMs: 60000, timeoutMs: 60000, message: "hb-ping", pong: "hb-pong" } });
  for (const [name, ch] of [
    ["pre", pre],
    ["scanned", scanned],
  ]) {
    const data = new mc.LiveDataClient(ch);
    for (const c of ["c3", 'a"b', "h\u00e9llo \u{1F600}", "end"]) data.subscribe(c, (msg) => logs[name].push(["data", c, msg.n]));
    // A second routed member, through the route API the clients use.
    ch._hook("room", (msg) => logs[name].push(["room", msg.n]));
    ch._route("room", "lobby", 1);
  }
  await Promise.all([pre.opened(), scanned.opened()]);
  const sender = await rawSender(t, url);
  for (const f of ROUTED) sender.send(f);
  sender.send('{"room":"lobby","n":15}');
  sender.send('{"channel":"end","n":16}');
  await waitFor(() => logs.pre.some((e) => e[2] === 16) && logs.scanned.some((e) => e[2] === 16), { what: "the last frame on both" });
  assert.deepEqual(logs.pre, logs.scanned);
  assert.deepEqual(
    logs.pre.map((e) => e.at(-1)),
    [1, 5, 7, 9, 10, 11, 15, 16],
  );
});

test("a frame the prefilter drops is never copied into wasm: memory does not grow for it", async (t) => {
  const limit = 32 << 20; // over 3 bytes a character of the 8 MiB frame: the size limit needs no bytes
  const relay = await relayFor(t, { maxMessageBytes: limit });
  const { url } = await relay.createChannel();
  const ch = channelFor(t, url, { maxMessageBytes: limit });
  const got = [];
  new mc.LiveDataClient(ch).subscribe("wanted", (msg) => got.push(msg.pad.length));
  await ch.opened();
  const sender = await rawSender(t, url, { maxPayload: limit });
  const big = (channel) => JSON.stringify({ channel, pad: "x".repeat(8 << 20) });
  const before = mc._memoryBytes();
  sender.send(big("other"));
  sender.send('{"channel":"wanted","pad":""}');
  await waitFor(() => got.length === 1, { what: "the small wanted frame" });
  assert.equal(mc._memoryBytes(), before, "an unwanted 8 MiB frame grew the wasm memory");
  // The same frame, wanted, is scanned in wasm (the check above can fail).
  sender.send(big("wanted"));
  await waitFor(() => got.length === 2, { what: "the big wanted frame", timeoutMs: 20000 });
  assert.ok(mc._memoryBytes() >= 8 << 20, `memory ${mc._memoryBytes()} after an 8 MiB wanted frame (${before} before)`);
});
