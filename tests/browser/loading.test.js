// Loading the wasm in Chromium (on-demand.test.js: the full core loaded on first use): locateFile gets the name the package ships, a wasm that cannot
// be loaded is LOAD_FAILED (not an abort), and the inline script works with no .wasm at all.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { startHarness, resultsDir } from "./harness.js";

let h;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** Serves `body` as test-results/<name>.html with the given script, and opens it. */
async function open(name, script, body) {
  writeFileSync(
    path.join(resultsDir, `${name}.html`),
    `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script src="/dist/${script}"></script>\n<script>${body}</script>`,
  );
  const page = await h.newPage(name);
  const wasm = [];
  page.on("request", (r) => {
    if (r.url().includes(".wasm")) wasm.push(r.url());
  });
  await page.goto(`${h.site.url}/test-results/${name}.html`);
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 15000 });
  return { page, wasm, result: await page.evaluate(() => window.result) };
}

test('locateFile is called with "metachannel-lite.wasm" (the plain core) in the browser too', async () => {
  const { page, result } = await open(
    "loading-locate",
    "metachannel.js",
    `const names = [];
     MetaChannel.ready({ locateFile: (name) => { names.push(name); return "/dist/" + name; } })
       .then(() => { window.result = { names }; }, (e) => { window.result = { error: String(e) }; });`,
  );
  assert.deepEqual(result, { names: ["metachannel-lite.wasm"] });
  h.assertNoErrors(page);
});

test("a wasm that is not there: ready() rejects with LOAD_FAILED naming the URL; a later ready() can succeed", async () => {
  const { page, result } = await open(
    "loading-404",
    "metachannel.js",
    `MetaChannel.ready({ locateFile: (name) => "/nope/" + name })
       .then(() => ({ ok: true }), (e) => ({ code: e.code, isError: e instanceof MetaChannel.MetaChannelError, message: e.message }))
       .then(async (first) => {
         let second;
         try { await MetaChannel.ready(); second = "ok"; } catch (e) { second = e.code; }
         window.result = { first, second };
       });`,
  );
  assert.equal(result.first.code, "LOAD_FAILED");
  assert.equal(result.first.isError, true);
  assert.match(result.first.message, /\/nope\/metachannel-lite\.wasm: the server answered HTTP 404/);
  assert.equal(result.second, "ok", "after a failure, ready() tries again");
  // The 404 itself is the browser's own console line; nothing else.
  h.assertNoErrors(page, [/status of 404/]);
});

test("the inline script (dist/metachannel.inline.js) loads no .wasm and round-trips a message", async () => {
  const { url } = await h.relay.createChannel();
  const { page, wasm, result } = await open(
    "loading-inline",
    "metachannel.inline.js",
    `(async () => {
       const a = await MetaChannel.connect(${JSON.stringify(url)});
       const b = await MetaChannel.connect(${JSON.stringify(url)});
       await Promise.all([a.opened(), b.opened()]);
       const got = new Promise((r) => b.onMessage("ping", (m) => r(m.n)));
       a.send({ type: "ping", n: 7 });
       window.result = { n: await got };
     })().catch((e) => { window.result = { error: String(e) }; });`,
  );
  assert.deepEqual(result, { n: 7 });
  assert.deepEqual(wasm, [], "no .wasm requested");
  h.assertNoErrors(page);
});

test('ready({ core: "lite" }) from the script tag fetches metachannel-lite.wasm alone; a channel works; a synchronous presence Channel is created at once and opens once it has fetched the full core', async () => {
  const { url } = await h.relay.createChannel();
  const { page, wasm, result } = await open(
    "loading-lite",
    "metachannel.js",
    `(async () => {
       await MetaChannel.ready({ core: "lite" });
       const a = new MetaChannel.Channel(${JSON.stringify(url)});
       const b = new MetaChannel.Channel(${JSON.stringify(url)});
       const got = new Promise((resolve) => b.onMessage("greet", (m) => resolve(m.text)));
       await Promise.all([a.opened(), b.opened()]);
       a.send({ type: "greet", text: "from the lite core" });
       const text = await got;
       window.before = performance.getEntriesByType("resource").filter((e) => e.name.endsWith(".wasm")).length;
       const p = new MetaChannel.Channel(${JSON.stringify(url)}, { presence: true });
       const deferred = p.state;
       await p.opened();
       window.result = { text, before: window.before, deferred, opened: p.state };
       p.dispose();
       a.dispose();
       b.dispose();
     })().catch((e) => { window.result = { error: String(e) }; });`,
  );
  assert.deepEqual(result, { text: "from the lite core", before: 1, deferred: "connecting", opened: "open" });
  assert.equal(wasm.length, 2, wasm.join(", "));
  assert.match(wasm[0], /\/dist\/metachannel-lite\.wasm$/, "the plain page: the lite core alone");
  assert.match(wasm[1], /\/dist\/metachannel\.wasm$/, "then the full core, for the presence channel");
  h.assertNoErrors(page);
});
