// Plain by default, reliable on demand (issue 21): ready() loads only the plain core
// (metachannel-lite.wasm); the first Channel that asks for reliable or presence loads the full
// one (metachannel.wasm), once, and works; a failed load rejects only that connect(). Each case
// runs in a fresh process (the cores a process loaded cannot be unloaded); the relay runs here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { distDir, relayFor, runScript } from "./helpers.js";

const dist = path.join(distDir, "metachannel.mjs");

/**
 * Runs `body` in a fresh process after a prelude that defines `url`, `mc`, `at(name)` (the file
 * in `dir`), `locate` (a locateFile that records the names it is called with in `asked`) and
 * `out` (printed as JSON at the end). Resolves the printed object.
 */
async function scenario(url, body, { dir = distDir } = {}) {
  const r = await runScript(
    `import assert from "node:assert/strict";
     import path from "node:path";
     const mc = await import(${JSON.stringify(dist)});
     const url = ${JSON.stringify(url)};
     const asked = [];
     const at = (name) => path.join(${JSON.stringify(dir)}, name);
     const locate = (name) => { asked.push(name); return at(name); };
     const out = { asked };
     const until = (ch, type) => new Promise((resolve) => ch.onMessage(type, resolve));
     const WS = (await import("node:module")).createRequire(${JSON.stringify(dist)})("ws");
     // A raw WebSocket on the channel: what actually went over the wire, in order.
     const raw = async () => {
       const ws = new WS(url);
       const frames = [];
       ws.on("message", (data) => frames.push(String(data)));
       await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
       return { ws, frames };
     };
     const tick = async (ms = 20) => new Promise((r) => setTimeout(r, ms));
     const waitFor = async (fn, ms = 5000) => { const t0 = Date.now(); while (!fn()) { if (Date.now() - t0 > ms) throw new Error("timed out waiting for " + fn); await tick(); } };
     const unhandled = [];
     process.on("unhandledRejection", (e) => unhandled.push(String(e)));
     out.unhandled = unhandled;
     ${body}
     console.log(JSON.stringify(out));
     process.exit(0);`,
    { timeoutMs: 20000 },
  );
  assert.equal(r.code, 0, `the scenario failed:\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1));
}

test("a plain page loads only the plain core; the first reliable connect() loads the full core once and reliable messages and presence work", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const out = await scenario(
    url,
    `await mc.ready({ locateFile: locate });
     const a = await mc.connect(url);
     const b = await mc.connect(url);
     await Promise.all([a.opened(), b.opened()]);
     out.afterPlain = [...asked];
     // Synchronous, as code written before the split does it: returned at once, connecting.
     const early = new mc.Channel(url, { reliable: true });
     out.sync = early.state;
     early.dispose();
     // Two reliable channels racing for the full core, and a presence one.
     const [r1, r2, p] = await Promise.all([
       mc.connect(url, { reliable: true }),
       mc.connect(url, { reliable: true }),
       mc.connect(url, { presence: { state: { who: "p" } } }),
     ]);
     out.afterReliable = [...asked];
     await Promise.all([r1.opened(), r2.opened(), p.opened()]);
     const got = until(r2, "rel");
     r1.send({ type: "rel", n: 1 });
     out.reliable = (await got).n;
     const seen = Date.now();
     const q = await mc.connect(url, { presence: { state: { who: "q" } } });
     while (![...p.presence.values()].some((s) => s && s.who === "q") && Date.now() - seen < 5000) await new Promise((r) => setTimeout(r, 20));
     out.presence = [...p.presence.values()].map((s) => s && s.who);
     // The plain channels still exchange messages.
     const plain = until(b, "plain");
     a.send({ type: "plain", n: 2 });
     out.plain = (await plain).n;
     out.asked = asked;
     for (const ch of [a, b, r1, r2, p, q]) ch.dispose();`,
  );
  assert.deepEqual(out.afterPlain, ["metachannel-lite.wasm"], "a plain page reads the plain core only");
  assert.equal(out.sync, "connecting", "new Channel(url, { reliable: true }) after ready() is created at once and connects when the full core is there");
  assert.deepEqual(out.afterReliable, ["metachannel-lite.wasm", "metachannel.wasm"], "the full core is read once for three racing channels");
  assert.equal(out.reliable, 1);
  assert.ok(out.presence.includes("q"), `presence ${JSON.stringify(out.presence)}`);
  assert.equal(out.plain, 2);
  assert.deepEqual(out.asked, ["metachannel-lite.wasm", "metachannel.wasm"], "nothing loaded again");
});

test("the full core failing to load rejects that connect() with LOAD_FAILED naming the file; plain channels open stay untouched; a later try loads it", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const out = await scenario(
    url,
    `let missing = true;
     await mc.ready({ locateFile: (name) => { asked.push(name); return name === "metachannel.wasm" && missing ? "/nowhere/metachannel.wasm" : at(name); } });
     asked.length = 0;
     const a = await mc.connect(url);
     const b = await mc.connect(url);
     await Promise.all([a.opened(), b.opened()]);
     const results = await Promise.allSettled([mc.connect(url, { reliable: true }), mc.connect(url, { presence: true })]);
     out.failed = results.map((r) => r.status === "rejected" && { code: r.reason.code, message: r.reason.message });
     out.states = [a.state, b.state];
     const got = until(b, "plain");
     a.send({ type: "plain", n: 3 });
     out.plain = (await got).n;
     missing = false;
     const r = await mc.connect(url, { reliable: true });
     await r.opened();
     out.retried = r.state;
     for (const ch of [a, b, r]) ch.dispose();`,
  );
  for (const f of out.failed) {
    assert.equal(f.code, "LOAD_FAILED");
    assert.match(f.message, /\/nowhere\/metachannel\.wasm/);
  }
  assert.deepEqual(out.asked, ["metachannel.wasm", "metachannel.wasm"], "one failed read for the two racing connects, one on the retry");
  assert.deepEqual(out.states, ["open", "open"]);
  assert.equal(out.plain, 3);
  assert.equal(out.retried, "open");
});

test("compatibility: a full wasmBinary, a locateFile answering metachannel.wasm for every name, and a folder holding only metachannel.wasm each load one core that does everything", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const full = path.join(distDir, "metachannel.wasm");
  const onlyFull = mkdtempSync(path.join(os.tmpdir(), "mc-only-full-"));
  copyFileSync(full, path.join(onlyFull, "metachannel.wasm"));
  const use = `const r = await mc.connect(url, { reliable: true, presence: true });
     const s = await mc.connect(url, { reliable: true });
     const p = await mc.connect(url);
     await Promise.all([r.opened(), s.opened(), p.opened()]);
     const got = until(s, "rel");
     r.send({ type: "rel", n: 4 });
     out.n = (await got).n;
     for (const ch of [r, s, p]) ch.dispose();`;
  const binary = await scenario(
    url,
    `await mc.ready({ wasmBinary: (await import("node:fs")).readFileSync(${JSON.stringify(full)}), locateFile: locate }); ${use}`,
  );
  assert.deepEqual(binary, { asked: [], n: 4, unhandled: [] }, "a full wasmBinary serves reliable channels: no file read");
  const fixed = await scenario(url, `await mc.ready({ locateFile: (name) => { asked.push(name); return ${JSON.stringify(full)}; } }); ${use}`);
  assert.deepEqual(fixed, { asked: ["metachannel-lite.wasm"], n: 4, unhandled: [] }, "what locateFile answered was the full core: it is not read again");
  const folder = await scenario(url, `await mc.ready({ locateFile: locate }); ${use}`, { dir: onlyFull });
  assert.deepEqual(folder, { asked: ["metachannel-lite.wasm", "metachannel.wasm"], n: 4, unhandled: [] }, "no plain core there: the full one runs everything");
  assert.ok(readFileSync(full).length > 0);
});

test("the lite core where the full one should be is LOAD_FAILED, not a crash", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const out = await scenario(
    url,
    `await mc.ready({ locateFile: (name) => { asked.push(name); return at("metachannel-lite.wasm"); } });
     try { await mc.connect(url, { reliable: true }); out.ok = true; } catch (e) { out.code = e.code; out.message = e.message; }`,
  );
  assert.equal(out.code, "LOAD_FAILED");
  assert.match(out.message, /metachannel-lite\.wasm: it holds the lite core/);
});

// ------------------------------------------------------------------ the synchronous constructor (compatibility)

test("await ready(); new Channel(url, { reliable: true, presence }) works unchanged: created at once, sends before the full core arrives are queued and delivered in order, then reliable messages and presence round-trip with a Node peer", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const out = await scenario(
    url,
    `await mc.ready({ locateFile: locate });
     const peer = await raw();
     const a = new mc.Channel(url, { reliable: true, presence: { state: { who: "a" } } });
     out.before = { state: a.state, readyState: a.readyState, id: a.id, asked: [...asked] };
     const states = [];
     a.on("state", (e) => states.push(e.from + ">" + e.to));
     const opened = a.opened();
     const heard = [];
     a.onMessage("back", (msg, meta) => heard.push({ n: msg.n, from: meta.from, seq: meta.seq }));
     for (let n = 1; n <= 3; n++) a.send({ type: "early", n });
     a.send("text before load");
     a.send(new Uint8Array([7, 8, 9]));
     out.queued = [a.queuedCount, a.queuedBytes > 0];
     // A small queue: the placeholder applies the channel's own queue rules.
     const small = new mc.Channel(url, { reliable: true, queue: { maxMessages: 2, overflow: "drop-oldest" } });
     const overflow = [];
     small.on("error", (e) => overflow.push(e.code + ":" + e.detail));
     for (let n = 1; n <= 3; n++) small.send({ type: "small", n });
     const strict = new mc.Channel(url, { presence: true, queue: { maxMessages: 1, overflow: "error" } });
     strict.send({ type: "strict", n: 1 });
     try { strict.send({ type: "strict", n: 2 }); } catch (e) { out.strict = e.code; }
     out.overflow = overflow;
     await opened;
     out.after = { state: a.state, idLength: a.id.length, asked: [...asked] };
     await waitFor(() => peer.frames.filter((f) => f.includes("small")).length === 2 && peer.frames.filter((f) => f.includes("early")).length === 3 && peer.frames.some((f) => f.includes("strict")));
     const early = peer.frames.filter((f) => f.startsWith("{") && f.includes('"early"')).map((f) => JSON.parse(f));
     out.early = early.map((m) => m.n);
     out.tags = early.map((m) => m._mc);
     out.text = peer.frames.includes("text before load");
     out.small = peer.frames.filter((f) => f.includes('"small"')).map((f) => JSON.parse(f).n);
     out.states = states;
     // A Node peer with reliable delivery and presence: round trips both ways.
     const q = await mc.connect(url, { reliable: true, presence: { state: { who: "q" } } });
     await q.opened();
     await waitFor(() => [...a.presence.values()].some((s) => s && s.who === "q") && [...q.presence.values()].some((s) => s && s.who === "a"));
     const got = until(q, "hello");
     a.send({ type: "hello", n: 10 });
     const hello = await got;
     out.hello = { n: hello.n, from: hello._mc.split(":")[0] === a.id };
     q.send({ type: "back", n: 11 });
     await waitFor(() => heard.length === 1);
     out.heard = heard.map((h) => ({ n: h.n, fromQ: h.from === q.id, seq: h.seq }));
     a.setPresence({ who: "a2" });
     await waitFor(() => [...q.presence.values()].some((s) => s && s.who === "a2"));
     out.asked = asked;
     peer.ws.close();
     for (const ch of [a, small, strict, q]) ch.dispose();`,
  );
  assert.deepEqual(out.before, { state: "connecting", readyState: 0, id: "", asked: ["metachannel-lite.wasm"] });
  assert.deepEqual(out.queued, [5, true]);
  assert.deepEqual(out.overflow, ["QUEUE_OVERFLOW:1"], "drop-oldest before the full core: the same QUEUE_OVERFLOW event as a connecting channel");
  assert.equal(out.strict, "QUEUE_OVERFLOW", 'overflow "error" before the full core: send() throws');
  assert.deepEqual(out.after, { state: "open", idLength: 12, asked: ["metachannel-lite.wasm", "metachannel.wasm"] });
  assert.deepEqual(out.early, [1, 2, 3], "sent before the load, delivered in order");
  for (const [i, tag] of out.tags.entries()) assert.match(tag, new RegExp(`^[0-9a-z]{12}:${i + 1}$`), "each tagged by the full core, in sequence");
  assert.ok(out.text, "a text frame sent before the load is delivered");
  assert.deepEqual(out.small, [2, 3], "the message the queue dropped is not sent");
  assert.deepEqual(out.states, ["connecting>open"], "no idle>connecting news: state read connecting all along");
  assert.deepEqual(out.hello, { n: 10, from: true });
  assert.deepEqual(out.heard, [{ n: 11, fromQ: true, seq: 1 }]);
  assert.deepEqual(out.asked, ["metachannel-lite.wasm", "metachannel.wasm"], "the full core read once");
  assert.deepEqual(out.unhandled, []);
});

test("close() or dispose() before the full core arrives: no socket is ever opened, what was queued is reported dropped, and the channel reads closed", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const out = await scenario(
    url,
    `await mc.ready({ locateFile: locate });
     out.sockets = 0;
     const WebSocket = class extends WS { constructor(...args) { out.sockets++; super(...args); } };
     const c = new mc.Channel(url, { reliable: true, WebSocket });
     const states = [];
     c.on("state", (e) => states.push(e.from + ">" + e.to));
     const errors = [];
     c.on("error", (e) => errors.push(e.code + ":" + e.detail));
     c.send({ type: "never", n: 1 });
     const closing = c.close();
     out.closedAt = c.state;
     try { await closing; out.close = "resolved"; } catch (e) { out.close = e.code + ":" + e.detail; }
     try { c.setUrl(url); } catch (e) { out.setUrl = e.code; }
     try { c.send("late"); } catch (e) { out.send = e.code; }
     const d = new mc.Channel(url, { presence: true, WebSocket });
     d.dispose();
     const e = new mc.Channel(null, { reliable: true, WebSocket });
     out.idle = e.state;
     e.setUrl(url);
     out.idleThenUrl = e.state;
     e.close();
     await mc.ready({ core: "full" });
     await tick(100);
     out.states = states;
     out.errors = errors;
     out.final = [c.state, d.disposed, e.state];
     out.asked = asked;`,
  );
  assert.equal(out.closedAt, "closed");
  assert.equal(out.close, "CLOSED:1", "close() rejects with the CLOSED error of the message it dropped");
  assert.deepEqual(out.errors, ["CLOSED:1"]);
  assert.deepEqual(out.states, ["connecting>closed"]);
  assert.equal(out.setUrl, "CLOSED");
  assert.equal(out.send, "CLOSED");
  assert.equal(out.idle, "idle");
  assert.equal(out.idleThenUrl, "connecting");
  assert.deepEqual(out.final, ["closed", true, "closed"]);
  assert.equal(out.sockets, 0, "no socket was ever opened");
  assert.deepEqual(out.asked, ["metachannel-lite.wasm", "metachannel.wasm"]);
  assert.deepEqual(out.unhandled, []);
});

test("the full core 404 under a synchronous new Channel(): an error event LOAD_FAILED naming the URL, the channel ends closed, no unhandled rejection; plain channels are untouched", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const out = await scenario(
    url,
    `await mc.ready({ locateFile: (name) => { asked.push(name); return name === "metachannel.wasm" ? "/nowhere/metachannel.wasm" : at(name); } });
     const a = await mc.connect(url);
     const b = await mc.connect(url);
     await Promise.all([a.opened(), b.opened()]);
     const r = new mc.Channel(url, { reliable: true });
     const errors = [];
     r.on("error", (e) => errors.push({ code: e.code, message: e.message, detail: e.detail }));
     const states = [];
     r.on("state", (e) => states.push(e.from + ">" + e.to));
     r.send({ type: "lost", n: 1 });
     try { await r.opened(); } catch (e) { out.opened = e.code; }
     // No error listener: a console warning, never an unhandled rejection.
     const quiet = new mc.Channel(url, { presence: true });
     await tick(100);
     out.errors = errors;
     out.states = states;
     out.state = [r.state, quiet.state];
     try { r.reconnect(); } catch (e) { out.reconnect = { code: e.code, message: e.message }; }
     const got = until(b, "plain");
     a.send({ type: "plain", n: 5 });
     out.plain = (await got).n;
     out.plainStates = [a.state, b.state];
     for (const ch of [a, b, r, quiet]) ch.dispose();`,
  );
  assert.equal(out.errors[0].code, "LOAD_FAILED");
  assert.match(out.errors[0].message, /\/nowhere\/metachannel\.wasm/);
  assert.equal(out.errors[1].code, "CLOSED", "what was queued is reported dropped");
  assert.equal(out.errors[1].detail, 1);
  assert.equal(out.errors.length, 2);
  assert.deepEqual(out.states, ["connecting>closed"]);
  assert.equal(out.opened, "CLOSED");
  assert.deepEqual(out.state, ["closed", "closed"]);
  assert.equal(out.reconnect.code, "CLOSED");
  assert.match(out.reconnect.message, /failed to load/);
  assert.equal(out.plain, 5);
  assert.deepEqual(out.plainStates, ["open", "open"]);
  assert.deepEqual(out.unhandled, []);
});

test("locateFile is called with metachannel-lite.wasm for the plain core and metachannel.wasm for the full one; old code that knows only metachannel.wasm (a fixed URL, or a folder without the plain core) still works, new Channel(url, { reliable: true }) included", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const full = path.join(distDir, "metachannel.wasm");
  const use = `const r = new mc.Channel(url, { reliable: true });
     const s = new mc.Channel(url, { reliable: true, presence: true });
     const p = await mc.connect(url);
     await Promise.all([r.opened(), s.opened(), p.opened()]);
     const got = until(s, "rel");
     r.send({ type: "rel", n: 6 });
     out.n = (await got).n;
     for (const ch of [r, s, p]) ch.dispose();`;
  const oldCode = await scenario(url, `await mc.ready({ locateFile: (name) => { asked.push(name); return ${JSON.stringify(full)}; } }); ${use}`);
  assert.deepEqual(oldCode.asked, ["metachannel-lite.wasm"], "the URL locateFile answered holds the full core: used for both, not read again");
  assert.equal(oldCode.n, 6);
  const onlyFull = mkdtempSync(path.join(os.tmpdir(), "mc-only-full-"));
  copyFileSync(full, path.join(onlyFull, "metachannel.wasm"));
  writeFileSync(path.join(onlyFull, "README"), "metachannel.wasm alone, as the package shipped it before the split");
  const folder = await scenario(url, `await mc.ready({ locateFile: locate }); ${use}`, { dir: onlyFull });
  assert.deepEqual(folder.asked, ["metachannel-lite.wasm", "metachannel.wasm"]);
  assert.equal(folder.n, 6);
});
