// The defaults a user reads are the defaults the code applies. Each option's default is defined
// once (src/metachannel/vocabulary.h, generated into js/vocabulary.ts as WIRE_DEFAULTS and the
// option lists); the TSDoc of the public types (js/types.ts), README's options table and
// docs/reliability.md restate them in prose, and this file checks each of those by value.
// The heartbeat defaults are also checked by behaviour: `heartbeat: { intervalMs }` alone (or
// `{}`) turns the heartbeat on with the other defaults.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";
import { channelFor, relayFor, waitFor, sleep } from "./helpers.js";
import { tcpProxy } from "./fault-tools.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** A generated list of js/vocabulary.ts (object literals only, so it evaluates as JS). */
function list(name) {
  const text = readFileSync(path.join(root, "js/vocabulary.ts"), "utf8");
  const m = new RegExp(`export const ${name} = (\\[[\\s\\S]*?\\]) as const;`).exec(text);
  assert.ok(m, `js/vocabulary.ts has ${name}`);
  return Function(`return ${m[1]};`)();
}
const NUMBER_OPTIONS = list("NUMBER_OPTIONS");
const BOOL_OPTIONS = list("BOOL_OPTIONS");
const STRING_OPTIONS = list("STRING_OPTIONS");
const types = readFileSync(path.join(root, "js/types.ts"), "utf8");
const readme = readFileSync(path.join(root, "README.md"), "utf8");
const reliabilityDoc = readFileSync(path.join(root, "docs/reliability.md"), "utf8");
const INTERFACE = {
  "": "ChannelOptions",
  reconnect: "ReconnectOptions",
  heartbeat: "HeartbeatOptions",
  queue: "QueueOptions",
  reliable: "ReliableOptions",
  presence: "PresenceOptions",
};

/** The value a piece of prose states: 1 MiB, 60000 ms, 60 s, 4096 bytes, Infinity, ∞, "ping", on/off. */
function statedValue(text) {
  const t = text.trim();
  let m = /^"([^"]*)"/.exec(t);
  if (m) return m[1];
  if (/^(Infinity|∞)/.test(t)) return Infinity;
  if (/^(on|true)\b/.test(t)) return true;
  if (/^(off|false)\b/.test(t)) return false;
  if (/^none\b/.test(t)) return "";
  m = /^(\d+(?:\.\d+)?)\s*(MiB|KiB|ms|s\b|messages|bytes)?/.exec(t);
  if (!m) return undefined;
  const n = Number(m[1]);
  return { MiB: n * 1048576, KiB: n * 1024, s: n * 1000 }[m[2]] ?? n;
}

/** The TSDoc comment of `member` in interface `name` of js/types.ts. */
function tsdoc(name, member) {
  const body = types.slice(types.indexOf(`export interface ${name} {`));
  const end = body.indexOf("\n}");
  const m = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*${member}\\?:`).exec(body.slice(0, end));
  return m ? m[1].replace(/\s*\*\s*/g, " ") : undefined;
}

/** Every option with its group and leaf name, its default, and whether it is a boolean. */
const options = [...NUMBER_OPTIONS, ...BOOL_OPTIONS, ...STRING_OPTIONS].map((o) => {
  const dot = o.path.indexOf(".");
  return { ...o, group: dot < 0 ? "" : o.path.slice(0, dot), leaf: o.path.slice(dot + 1) };
});
// reconnect.jitter is a number option and a boolean (fullJitter, default true: "full").
const skip = (o) => o.wire === "jitter" || o.wire === "fullJitter";

test("the TSDoc of every option states its default, and it is the vocabulary's", () => {
  let checked = 0;
  for (const o of options) {
    if (skip(o) || o.default === "") continue;
    const doc = o.group === "" || BOOL_OPTIONS.includes(o) ? tsdoc("ChannelOptions", o.path.split(".")[0]) : tsdoc(INTERFACE[o.group], o.leaf);
    assert.ok(doc, `js/types.ts documents ${o.path}`);
    const m = /Default:?\s+([^.;(]*)/.exec(doc) ?? /^\s*("[^"]*") \(default\)/.exec(doc);
    assert.ok(m, `js/types.ts's TSDoc of ${o.path} states a default: "${doc.trim()}"`);
    assert.equal(statedValue(m[1]), o.default, `js/types.ts's TSDoc of ${o.path} says "${m[1].trim()}"; the default is ${o.default}`);
    checked++;
  }
  assert.ok(checked >= 24, `${checked} defaults checked`);
  assert.match(tsdoc("ReconnectOptions", "jitter"), /"full" \(default\)/, "reconnect.jitter: full by default (fullJitter)");
  assert.equal(options.find((o) => o.wire === "fullJitter").default, true);
});

test("README's options table states every default, and it is the vocabulary's", () => {
  const table = readme.slice(readme.indexOf("| option |"), readme.indexOf("### Errors"));
  const row = (name) => table.split("\n").find((l) => l.startsWith(`| \`${name}\` |`));
  let checked = 0;
  for (const o of options) {
    if (skip(o)) continue;
    if (o.group === "" || BOOL_OPTIONS.includes(o)) {
      const r = row(o.path.split(".")[0]);
      assert.ok(r, `README's options table has a row for ${o.path}`);
      const cell = r.split("|")[2];
      const stated = statedValue(cell);
      // An option group's row starts with on/off (its BOOL), a plain option's with its value.
      assert.equal(stated, o.default, `README: ${o.path} is "${cell.trim()}"; the default is ${JSON.stringify(o.default)}`);
    } else {
      const r = row(o.group);
      assert.ok(r, `README's options table has a row for ${o.group}`);
      const m = new RegExp(`\`${o.leaf}\`\\s+([^,|]+)|\\b${o.leaf}: ([^,|}]+)`).exec(r);
      assert.ok(m, `README's ${o.group} row states ${o.leaf}'s default: ${r}`);
      const text = m[1] ?? m[2];
      assert.equal(statedValue(text), o.default, `README: ${o.path} is "${text.trim()}"; the default is ${JSON.stringify(o.default)}`);
    }
    checked++;
  }
  assert.ok(checked >= 25, `${checked} defaults checked`);
});

test("docs/reliability.md's limits and presence timing state the vocabulary's defaults", () => {
  const numbers = new Map(NUMBER_OPTIONS.map((o) => [o.path, o.default]));
  const limits = reliabilityDoc.split("\n").find((l) => l.startsWith("| resend buffer |"));
  for (const leaf of ["bufferMessages", "bufferBytes", "bufferAgeMs"]) {
    const m = new RegExp(`\`${leaf}\` ([^,|]+)`).exec(limits);
    assert.ok(m, `docs/reliability.md's resend-buffer row states ${leaf}`);
    assert.equal(statedValue(m[1]), numbers.get(`reliable.${leaf}`), `docs/reliability.md: ${leaf} is "${m[1]}"`);
  }
  for (const leaf of ["renewMs", "timeoutMs"]) {
    const m = new RegExp(`\`${leaf}\` \\((\\d+ s)\\)`).exec(reliabilityDoc);
    assert.ok(m, `docs/reliability.md's presence section states ${leaf} (N s)`);
    assert.equal(statedValue(m[1]), numbers.get(`presence.${leaf}`), `docs/reliability.md: presence.${leaf} is ${m[1]}`);
  }
});

test("heartbeat: the members not given keep their defaults (intervalMs 30000, timeoutMs 10000)", async (t) => {
  const wss = new WebSocketServer({ port: 0 });
  // ws 8's close() waits for its clients: end them first (the channel on the default 30 s
  // heartbeat would otherwise hold the test for 40 s, until its HEARTBEAT_TIMEOUT).
  t.after(
    () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(r);
      }),
  );
  await new Promise((r) => wss.once("listening", r));
  const frames = [];
  wss.on("connection", (ws) => ws.on("message", (d) => frames.push(String(d)))); // never answers a ping
  const url = `ws://127.0.0.1:${wss.address().port}/hb`;

  // {}: on, with every default: no ping within 400 ms (intervalMs 30000), still open.
  const all = channelFor(t, url, { heartbeat: {} });
  const errors = [];
  all.on("error", (e) => errors.push(e.code));
  await all.opened();

  // intervalMs only: pings ("ping", the default message) every 40 ms; nobody answers, and no
  // HEARTBEAT_TIMEOUT within 600 ms, because timeoutMs is its default, 10000.
  const fast = channelFor(t, url, { heartbeat: { intervalMs: 40 } });
  fast.on("error", (e) => errors.push(e.code));
  await fast.opened();
  await waitFor(() => frames.filter((f) => f === "ping").length >= 3, { what: "three pings from intervalMs: 40" });
  await sleep(600);
  assert.deepEqual(errors, [], "no HEARTBEAT_TIMEOUT: timeoutMs kept its default");
  assert.equal(fast.state, "open");
  assert.equal(all.state, "open");
  const pings = frames.filter((f) => f === "ping").length;
  assert.ok(pings >= 10 && pings <= 25, `${pings} pings in ~700 ms: only the 40 ms channel pings (the other waits 30 s)`);
});

test("closeHandshakeTimeoutMs: a close handshake the server never answers is abandoned after it", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const proxy = await tcpProxy(t, relay.port);
  const ch = channelFor(t, proxy.url(url), { closeHandshakeTimeoutMs: 200 });
  const closes = [];
  ch.on("close", (e) => closes.push(e));
  await ch.opened();
  proxy.pause(); // the close frame goes nowhere and no answer comes back
  const started = performance.now();
  await ch.close();
  const took = performance.now() - started;
  assert.equal(ch.state, "closed");
  assert.ok(took >= 150 && took < 2000, `close() gave up after ${Math.round(took)} ms (closeHandshakeTimeoutMs: 200; the default is 5000)`);
  assert.equal(closes.at(-1).wasClean, false);
  assert.equal(closes.at(-1).code, 1006);
});
