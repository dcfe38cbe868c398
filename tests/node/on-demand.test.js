// Plain by default, reliable on demand (issue 21): ready() loads only the plain core
// (metachannel-lite.wasm); the first Channel that asks for reliable or presence loads the full
// one (metachannel.wasm), once, and works; a failed load rejects only that connect(). Each case
// runs in a fresh process (the cores a process loaded cannot be unloaded); the relay runs here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
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
     try { new mc.Channel(url, { reliable: true }); } catch (e) { out.sync = { code: e.code, message: e.message }; }
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
  assert.equal(out.sync.code, "NOT_READY");
  assert.match(out.sync.message, /ready\(\{ core: "full" \}\)/);
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
  assert.deepEqual(binary, { asked: [], n: 4 }, "a full wasmBinary serves reliable channels: no file read");
  const fixed = await scenario(url, `await mc.ready({ locateFile: (name) => { asked.push(name); return ${JSON.stringify(full)}; } }); ${use}`);
  assert.deepEqual(fixed, { asked: ["metachannel-lite.wasm"], n: 4 }, "what locateFile answered was the full core: it is not read again");
  const folder = await scenario(url, `await mc.ready({ locateFile: locate }); ${use}`, { dir: onlyFull });
  assert.deepEqual(folder, { asked: ["metachannel-lite.wasm", "metachannel.wasm"], n: 4 }, "no plain core there: the full one runs everything");
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
