// The script-tag build (dist/metachannel.js, global MetaChannel) in headless Chromium: two
// channels on one page talk through a real relay; browser-only errors (HEADERS_UNSUPPORTED);
// MetaframeClient at top level is the in-memory stand-in.
// Run: node --test tests/browser/script-tag.test.js   (after npm run build)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startHarness, until } from "./harness.js";

let h;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

async function openScriptTagPage(name) {
  const page = await h.newPage(name);
  const wasm = [];
  page.on("response", (r) => {
    if (r.url().endsWith(".wasm")) wasm.push({ url: r.url(), status: r.status(), type: r.headers()["content-type"] });
  });
  await page.goto(`${h.site.url}/script-tag.html`);
  await page.waitForFunction(() => window.pageReady === true);
  return { page, wasm };
}

test("script tag only: two channels connect and messages flow both ways; no console errors", { timeout: 60000 }, async () => {
  const { relay, site } = h;
  const t0 = Date.now();
  const { page, wasm } = await openScriptTagPage("script-tag");
  const { url, token } = await relay.createChannel();

  const globals = await page.evaluate(() => ({
    type: typeof window.MetaChannel,
    exports: ["ready", "connect", "Channel", "MetaChannelError", "MetaframeClient", "bindMetaframe", "connectFromEnv"].filter(
      (k) => !(k in window.MetaChannel),
    ),
    leaked: ["Channel", "MetaframeClient", "bindMetaframe", "connect", "ready"].filter((k) => k in window),
    version: window.MetaChannel.version,
  }));
  assert.equal(globals.type, "object");
  assert.deepEqual(globals.exports, [], "every export is on the global");
  assert.deepEqual(globals.leaked, [], "one global only");
  assert.match(globals.version, /^\d+\.\d+\.\d+/);

  await page.evaluate((u) => window.run(u), url);
  const tOpen = Date.now() - t0;
  await until(() => relay.clientCount(token) === 2, "two sockets at the relay");
  assert.deepEqual(wasm, [{ url: `${site.url}/dist/metachannel-lite.wasm`, status: 200, type: "application/wasm" }], "the plain core found next to the script");

  await page.evaluate(() => {
    window.say("alice", "hi Bob");
    window.say("alice", "the wasm core is up");
    window.say("alice", "typed messages work");
    window.say("bob", "hi Alice, got all three");
  });
  await page.waitForFunction(() => window.panes.bob.received.length === 4 && window.panes.alice.received.length === 4);
  const got = await page.evaluate(() => ({
    bob: window.panes.bob.received.filter((m) => m.from === "alice").map((m) => m.text),
    alice: window.panes.alice.received.filter((m) => m.from === "bob").map((m) => m.text),
    bobList: [...document.querySelectorAll("#bob li")].map((li) => li.textContent),
    states: [...document.querySelectorAll(".state")].map((s) => s.textContent),
  }));
  assert.deepEqual(got.bob, ["hi Bob", "the wasm core is up", "typed messages work"], "in order");
  assert.deepEqual(got.alice, ["hi Alice, got all three"]);
  assert.deepEqual(got.bobList.slice(0, 3), ["alice: hi Bob", "alice: the wasm core is up", "alice: typed messages work"]);
  assert.deepEqual(got.states, ["open", "open"]);

  const file = await h.screenshot(page, "script-tag");
  assert.ok(file.endsWith("script-tag.png"));
  h.assertNoErrors(page);
  console.log(`# script tag: both channels open ${tOpen} ms after navigation; test ${Date.now() - t0} ms`);

  await page.evaluate(() => {
    window.panes.alice.channel.dispose();
    window.panes.bob.channel.dispose();
  });
  await until(() => relay.clientCount(token) === 0, "sockets closed after dispose");
  await page.close();
});

test("in the browser, options.headers is HEADERS_UNSUPPORTED (thrown or rejected) and opens no socket", { timeout: 60000 }, async () => {
  const { relay } = h;
  const { page } = await openScriptTagPage("headers");
  const { url, token } = await relay.createChannel();
  const before = relay.connections;
  const result = await page.evaluate(async (u) => {
    await MetaChannel.ready();
    const headers = { Authorization: "Bearer abc" };
    const out = {};
    try {
      new MetaChannel.Channel(u, { headers });
      out.ctor = "no throw";
    } catch (err) {
      out.ctor = { code: err.code, name: err.name, isError: err instanceof MetaChannel.MetaChannelError, message: err.message };
    }
    out.connect = await MetaChannel.connect(u, { headers }).then(
      () => "resolved",
      (err) => err.code,
    );
    out.bind = await MetaChannel.bindMetaframe(new MetaChannel.MetaframeClient(), { headers }).then(
      () => "resolved",
      (err) => err.code,
    );
    // The same options without headers are fine.
    const ch = await MetaChannel.connect(u, { protocols: [] });
    await ch.opened();
    out.plain = ch.state;
    ch.dispose();
    return out;
  }, url);
  assert.equal(result.ctor.code, "HEADERS_UNSUPPORTED");
  assert.equal(result.ctor.name, "MetaChannelError");
  assert.equal(result.ctor.isError, true);
  assert.match(result.ctor.message, /query string|protocols/);
  assert.ok(!result.ctor.message.includes(token));
  assert.equal(result.connect, "HEADERS_UNSUPPORTED");
  assert.equal(result.bind, "HEADERS_UNSUPPORTED");
  assert.equal(result.plain, "open");
  assert.equal(relay.connections - before, 1, "only the channel without headers connected");
  h.assertNoErrors(page);
  await page.close();
});

test("MetaframeClient at top level is the stand-in: bindMetaframe follows setInputs", { timeout: 60000 }, async () => {
  const { relay } = h;
  const { page } = await openScriptTagPage("standin");
  const { url, token } = await relay.createChannel();
  await page.evaluate(async (u) => {
    await MetaChannel.ready();
    const mf = new MetaChannel.MetaframeClient();
    const channel = await MetaChannel.bindMetaframe(mf);
    const errors = [];
    channel.on("error", (e) => errors.push(e.code));
    window.standin = { mf, channel, errors, standalone: mf.standalone };
    await mf.connected(); // at once
    mf.setInputs({ _websocket_url_: u });
    await channel.opened();
  }, url);
  assert.equal(await page.evaluate(() => window.standin.standalone), true);
  await until(() => relay.clientCount(token) === 1, "one socket");
  const after = await page.evaluate((u) => {
    const { mf, channel, errors } = window.standin;
    mf.setInputs({ _websocket_url_: u }); // repeat: ignored
    mf.setInputs({ _websocket_url_: 42 }); // invalid: error event, connection kept
    return { errors: [...errors], state: channel.state, same: channel.url === u };
  }, url);
  assert.deepEqual(after, { errors: ["INVALID_URL"], state: "open", same: true });
  await page.evaluate(() => window.standin.mf.setInputs({ _websocket_url_: "" }));
  await page.waitForFunction(() => window.standin.channel.state === "idle");
  await until(() => relay.clientCount(token) === 0, "socket closed");
  assert.equal(relay.connections >= 1, true);
  await page.evaluate(() => window.standin.channel.dispose());
  h.assertNoErrors(page);
  await page.close();
});
