// End-to-end encryption in Chromium (issue 26): a script-tag page mints a key with
// withNewKey(), opens encrypted channels and round-trips text, binary, reliable messages and
// presence with Node peers through the relay; the relay records every frame and none carries
// the plaintext, the key or a "type" in the clear; no upgrade request carries the fragment; the
// encryption chunk is a file beside metachannel.js, fetched once and only when a URL has a key.
// Run: node --test tests/browser/e2e.test.js   (after npm run build)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { startHarness, until, resultsDir, root } from "./harness.js";

let h;
/** The package in Node (the peers), with the full core for the reliable one. */
let mc;
before(async () => {
  [h, mc] = await Promise.all([startHarness(), import(path.join(root, "dist/metachannel.mjs"))]);
  await mc.ready({ core: "full" });
});
after(() => h?.close());

/** A page with the script tag and nothing else; every request under /dist/ and every WebSocket URL recorded. */
async function scriptTagPage(name) {
  writeFileSync(
    path.join(resultsDir, `${name}.html`),
    `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script src="/dist/metachannel.js"></script>`,
  );
  const page = await h.newPage(name);
  const fetched = [];
  const sockets = [];
  page.on("request", (r) => {
    const { pathname } = new URL(r.url());
    if (pathname.startsWith("/dist/")) fetched.push(pathname);
  });
  page.on("websocket", (ws) => sockets.push(ws.url()));
  await page.goto(`${h.site.url}/test-results/${name}.html`);
  return { page, fetched, sockets };
}

/** Every frame the relay receives on `token`'s channel, and the upgrade headers. */
function recordChannel(relay, token) {
  const rec = { frames: [], upgrades: 0 };
  const onConnection = ({ token: t, socket }) => {
    if (t !== token) return;
    rec.upgrades++;
    socket.on("message", (data, isBinary) => rec.frames.push({ binary: isBinary, bytes: Buffer.from(data) }));
  };
  relay.on("connection", onConnection);
  rec.stop = () => relay.off("connection", onConnection);
  return rec;
}

const PLAIN_FILES = ["/dist/metachannel.js", "/dist/metachannel-lite.wasm"];

test("a plain script-tag page fetches no encryption chunk", async () => {
  const { url } = await h.relay.createChannel();
  const { page, fetched } = await scriptTagPage("e2e-plain");
  const result = await page.evaluate(async (url) => {
    const a = await MetaChannel.connect(url);
    const b = await MetaChannel.connect(url);
    await Promise.all([a.opened(), b.opened()]);
    const got = new Promise((resolve) => b.onMessage("plain", (m) => resolve(m.n)));
    a.send({ type: "plain", n: 1 });
    return { n: await got, encrypted: [a.encrypted, b.encrypted] };
  }, url);
  assert.deepEqual(result, { n: 1, encrypted: [false, false] });
  assert.deepEqual(fetched, PLAIN_FILES, "a plain page: the plain core only");
  h.assertNoErrors(page);
});

test("an encrypted page (connect(withNewKey(url))) round-trips text, binary, reliable messages and presence with Node peers; the relay sees none of it in the clear; the chunk is fetched once, beside metachannel.js", async (t) => {
  const { url, token } = await h.relay.createChannel();
  const rec = recordChannel(h.relay, token);
  t.after(() => rec.stop());
  const { page, fetched, sockets } = await scriptTagPage("e2e");
  const SECRET = "attack at dawn, the relay must not read this";

  // The page mints the key and opens a plain-mode and a reliable encrypted channel.
  const keyed = await page.evaluate(async (url) => {
    const keyed = MetaChannel.withNewKey(url);
    const [p, r] = await Promise.all([MetaChannel.connect(keyed), MetaChannel.connect(keyed, { reliable: true, presence: { state: { who: "page" } } })]);
    await Promise.all([p.opened(), r.opened()]);
    window.e2e = { p, r, binary: [], texts: [], errors: [] };
    p.on("message", (d) => (d instanceof Uint8Array ? window.e2e.binary.push([...d]) : typeof d === "string" && window.e2e.texts.push(d)));
    for (const ch of [p, r]) ch.on("error", (e) => window.e2e.errors.push(e.code));
    // The relay echoes to the sender too: wait for the Node peers' messages, not the page's own.
    window.e2e.fromNode = new Promise((resolve) => r.onMessage("rel", (m, meta) => m.n === 42 && resolve({ n: m.n, seq: meta.seq })));
    window.e2e.typed = new Promise((resolve) => p.onMessage("chat.msg", (m) => m.text.endsWith("(node)") && resolve(m)));
    return keyed;
  }, url);
  assert.match(keyed, /^ws:\/\/[^#]+\/ch\/[^#]+#k=[A-Za-z0-9_-]{43}$/);
  const key = keyed.slice(keyed.indexOf("#k=") + 3);
  assert.equal(await page.evaluate(() => [window.e2e.p.encrypted, window.e2e.r.encrypted].join()), "true,true");

  // The Node peers, on the URL the page made.
  const peer = await mc.connect(keyed);
  const relPeer = await mc.connect(keyed, { reliable: true, presence: { state: { who: "node" } } });
  t.after(() => {
    peer.dispose();
    relPeer.dispose();
  });
  const nodeErrors = [];
  for (const ch of [peer, relPeer]) ch.on("error", (e) => nodeErrors.push(e.code));
  const typed = new Promise((resolve) => peer.onMessage("chat.msg", (m) => !m.text.endsWith("(node)") && resolve(m)));
  const text = new Promise((resolve) => peer.on("message", (d) => typeof d === "string" && resolve(d)));
  const rel = new Promise((resolve) => relPeer.onMessage("rel", (m, meta) => m.n === 41 && resolve({ n: m.n, seq: meta.seq })));
  await Promise.all([peer.opened(), relPeer.opened()]);
  assert.equal(peer.encrypted && relPeer.encrypted, true);

  // Page → Node: typed JSON, plain text, a reliable message.
  await page.evaluate((s) => {
    window.e2e.p.send({ type: "chat.msg", text: s });
    window.e2e.p.send(`plain text: ${s}`);
    window.e2e.r.send({ type: "rel", n: 41 });
  }, SECRET);
  assert.deepEqual(await typed, { type: "chat.msg", text: SECRET });
  assert.equal(await text, `plain text: ${SECRET}`);
  const relGot = await rel;
  assert.equal(relGot.n, 41);
  assert.ok(relGot.seq >= 1, "delivered as a reliable message");

  // Node → page: typed JSON, binary, a reliable message.
  peer.send({ type: "chat.msg", text: `${SECRET} (node)` });
  peer.send(new Uint8Array([0, 1, 2, 250, 255]));
  relPeer.send({ type: "rel", n: 42 });
  assert.deepEqual(await page.evaluate(() => window.e2e.typed), { type: "chat.msg", text: `${SECRET} (node)` });
  await page.waitForFunction(() => window.e2e.binary.length === 1, null, { timeout: 10000 });
  assert.deepEqual(await page.evaluate(() => window.e2e.binary[0]), [0, 1, 2, 250, 255]);
  const fromNode = await page.evaluate(() => window.e2e.fromNode);
  assert.equal(fromNode.n, 42);
  assert.ok(fromNode.seq >= 1);

  // Presence both ways.
  await until(() => [...relPeer.presence.values()].some((s) => s?.who === "page"), "the page in the Node peer's presence");
  await page.waitForFunction(() => [...window.e2e.r.presence.values()].some((s) => s?.who === "node"), null, { timeout: 10000 });

  assert.deepEqual(await page.evaluate(() => window.e2e.errors), [], "no error event on the page's channels");
  assert.deepEqual(nodeErrors, [], "no error event on the Node peers");

  // The relay's view: every frame binary and sealed; no plaintext, no key, no type.
  assert.ok(rec.upgrades >= 4, `the relay saw ${rec.upgrades} sockets on the channel`);
  assert.ok(rec.frames.length >= 8, `the relay recorded ${rec.frames.length} frames`);
  const keyBytes = Buffer.from(key, "base64url").toString("latin1");
  for (const f of rec.frames) {
    assert.equal(f.binary, true, "every frame on the wire is binary");
    assert.equal(f.bytes[0], 1, "every frame starts with the version byte");
    const s = f.bytes.toString("latin1");
    for (const clear of [SECRET, "attack", '"type"', "chat.msg", '"rel"', '"who"', "page", key, keyBytes]) {
      assert.ok(!s.includes(clear), `a recorded frame contains ${JSON.stringify(clear)} in the clear`);
    }
  }
  // The upgrade requests: the page's sockets went to the URL without the fragment.
  assert.equal(sockets.length, 2);
  for (const s of sockets) {
    assert.ok(!s.includes("#") && !s.includes(key), `the page opened ${s}`);
    assert.equal(s, url);
  }

  // The network log: the encryption chunk, once, a file beside metachannel.js.
  const extra = fetched.filter((f) => !PLAIN_FILES.includes(f) && f !== "/dist/metachannel.wasm");
  assert.equal(extra.length, 1, `one encryption chunk fetched: ${fetched.join(", ")}`);
  assert.equal(path.posix.dirname(extra[0]), "/dist", "beside metachannel.js");
  assert.equal(fetched.filter((f) => f === extra[0]).length, 1, "fetched once for two channels");
  const file = path.join(root, "dist", path.posix.basename(extra[0]));
  assert.ok(existsSync(file));
  console.log(`encryption chunk ${extra[0]}: ${(gzipSync(readFileSync(file), { level: 9 }).length / 1000).toFixed(1)} KB gzip`);
  h.assertNoErrors(page);
});
