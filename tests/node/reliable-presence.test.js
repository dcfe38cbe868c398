// Presence against the real dev relay: peers seen soon after they open, gone at once when they
// close or dispose, and gone after the timeout when their process is killed without a word.
import test from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { WebSocket as WsSocket } from "ws";
import path from "node:path";
import { mc, relayFor, channelFor, distDir, waitFor, sleep } from "./helpers.js";

function presenceLog(ch) {
  const log = [];
  ch.on("presence", (e) => log.push({ at: performance.now(), ...e }));
  return log;
}

test("presence: seen within 1 s of open, updated, gone within 1 s of close and of dispose", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const a = channelFor(t, url, { presence: { state: { name: "ada" } } });
  const aLog = presenceLog(a);
  await a.opened();
  const b = channelFor(t, url, { presence: { state: { name: "bob" } }, reliable: true });
  const opened = performance.now();
  await b.opened();
  await waitFor(() => a.presence.has(b.id) && b.presence.has(a.id), { timeoutMs: 1000, what: "both see each other within 1 s" });
  assert.ok(performance.now() - opened < 1000);
  assert.deepEqual(a.presence.get(b.id), { name: "bob" });
  assert.deepEqual(b.presence.get(a.id), { name: "ada" });
  assert.deepEqual(aLog.at(-1), { at: aLog.at(-1).at, joined: [b.id], updated: [], left: [] });

  b.setPresence({ name: "bob", typing: true });
  await waitFor(() => a.presence.get(b.id)?.typing === true, { timeoutMs: 1000, what: "the update" });
  assert.deepEqual(aLog.at(-1).updated, [b.id]);
  assert.throws(() => b.setPresence({ big: "x".repeat(5000) }), { code: "INVALID_ARGUMENT", message: /maxStateBytes is 4096/ });
  assert.throws(() => b.setPresence(undefined), { code: "INVALID_ARGUMENT" });

  const closedAt = performance.now();
  await b.close();
  await waitFor(() => !a.presence.has(b.id), { timeoutMs: 1000, what: "b gone within 1 s of close" });
  assert.ok(performance.now() - closedAt < 1000);
  assert.deepEqual(aLog.at(-1).left, [b.id]);

  const c = new mc.Channel(url, { presence: true });
  await c.opened();
  await waitFor(() => a.presence.has(c.id), { timeoutMs: 1000, what: "c seen" });
  assert.equal(a.presence.get(c.id), null, "presence: true announces the state null");
  const cid = c.id;
  c.dispose();
  await waitFor(() => !a.presence.has(cid), { timeoutMs: 1000, what: "c gone within 1 s of dispose" });
  assert.equal(c.presence.size, 0);
});

test("presence: a peer whose process is killed (SIGKILL) is gone after the timeout", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const timeoutMs = 1500;
  const a = channelFor(t, url, { presence: { renewMs: 500, timeoutMs } });
  await a.opened();
  const script = `
    const mc = await import(${JSON.stringify(path.join(distDir, "metachannel.mjs"))});
    await mc.ready({ core: "full" });
    const ch = new mc.Channel(${JSON.stringify(url)}, { presence: { state: { who: "child" }, renewMs: 500 } });
    await ch.opened();
    console.log(ch.id);
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => child.kill("SIGKILL"));
  const childId = await new Promise((resolve, reject) => {
    child.stdout.once("data", (d) => resolve(String(d).trim()));
    child.once("exit", (code) => reject(new Error(`child exited with ${code}`)));
  });
  await waitFor(() => a.presence.has(childId), { timeoutMs: 2000, what: "the child seen" });
  assert.deepEqual(a.presence.get(childId), { who: "child" });
  await sleep(timeoutMs); // renewed meanwhile: still there
  assert.ok(a.presence.has(childId), "renewed before the timeout");
  child.kill("SIGKILL");
  const killedAt = performance.now();
  await waitFor(() => !a.presence.has(childId), { timeoutMs: timeoutMs + 2000, what: "the killed child gone" });
  const after = performance.now() - killedAt;
  console.log(`# killed peer dropped from presence after ${after.toFixed(0)} ms (timeoutMs ${timeoutMs})`);
  assert.ok(after >= timeoutMs - 600, `not before the timeout (its last renew was at most 500 ms before the kill): ${after}`);
});

test("ChatClient lists a room's members from presence", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const ada = new mc.ChatClient(url, "ada", { presence: true });
  const bob = new mc.ChatClient(url, "bob", { presence: true });
  t.after(() => {
    ada.disconnect();
    bob.disconnect();
  });
  await ada.connect();
  await bob.connect();
  ada.joinRoom("lobby");
  bob.joinRoom("lobby");
  bob.joinRoom("dev");
  await waitFor(() => ada.members("lobby").length === 2 && ada.members("dev").length === 1, { timeoutMs: 2000, what: "members" });
  assert.deepEqual(ada.members("lobby"), ["ada", "bob"]);
  assert.deepEqual(ada.members("dev"), ["bob"]);
  bob.leaveRoom("lobby");
  await waitFor(() => ada.members("lobby").length === 1, { timeoutMs: 2000, what: "bob left the lobby" });
  assert.deepEqual(ada.members("lobby"), ["ada"]);
  bob.disconnect();
  await waitFor(() => ada.members("dev").length === 0, { timeoutMs: 2000, what: "bob gone" });
});

// The core's JSON writer escapes control characters with snprintf("\\u%04x") and its reader
// names a raw one in its error text with snprintf("<U+%.4X>"): the wasm's integer-only
// snprintf (bindings/emscripten_platform.cpp) must do both.
test("presence: control characters in a state arrive intact; a control message with a raw one is dropped", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const state = { note: "a\u0001b\u001fc\u0000d\n", n: 1 };
  const a = channelFor(t, url, { presence: { state } });
  const b = channelFor(t, url, { presence: true });
  await a.opened();
  await b.opened();
  await waitFor(() => b.presence.has(a.id), { timeoutMs: 2000, what: "a seen by b" });
  assert.deepEqual(b.presence.get(a.id), state);

  // A raw U+0001 inside a string: not JSON. The reader refuses it; nothing else changes.
  const raw = new WsSocket(url);
  t.after(() => raw.terminate());
  await new Promise((resolve, reject) => {
    raw.once("open", resolve);
    raw.once("error", reject);
  });
  raw.send('{"type":"_mc","op":"hi","from":"zz","state":"x\u0001y"}');
  raw.send('{"type":"_mc","op":"hi","from":"zy","state":"ok"}');
  await waitFor(() => b.presence.has("zy"), { timeoutMs: 2000, what: "the valid hi after the invalid one" });
  assert.equal(b.presence.has("zz"), false);
  a.setPresence({ note: "\u0002" });
  await waitFor(() => b.presence.get(a.id)?.note === "\u0002", { timeoutMs: 2000, what: "a's update" });
});

test("presence: a state's numbers arrive as the same doubles (the core rewrites each number it reads: JavaScript's spelling in the wasm)", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  // Fractions, exponents both ways, the extremes, integers past 2^53 and past 10^21, and
  // doubles whose shortest text needs 17 digits.
  const values = [
    0.1,
    0.5,
    100.5,
    1e-7,
    1.5e-300,
    5e-324,
    2.2250738585072014e-308,
    1e21,
    1.7976931348623157e308,
    2 ** 53 + 2,
    123456789.12345679,
    -2.5e-5,
    -1e100,
    0.30000000000000004,
    1 / 3,
  ];
  const a = channelFor(t, url, { reliable: true, presence: { state: { values } } });
  const b = channelFor(t, url, { presence: { state: { values: [] } } });
  await Promise.all([a.opened(), b.opened()]);
  await waitFor(() => b.presence.get(a.id)?.values?.length === values.length, { timeoutMs: 2000, what: "a's state at b" });
  const got = b.presence.get(a.id).values;
  for (let i = 0; i < values.length; i++) assert.ok(Object.is(got[i], values[i]), `values[${i}]: sent ${values[i]}, got ${got[i]}`);
  // The counters the core writes as doubles (its stats JSON) read back as numbers.
  a.send({ type: "x" });
  const stats = a._reliableStats();
  assert.equal(stats.sequencedSent, 1);
  for (const [k, v] of Object.entries(stats)) assert.ok(typeof v === "boolean" || Number.isFinite(v), `${k}: ${v}`);
});
