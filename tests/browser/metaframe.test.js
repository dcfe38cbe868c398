// A real Metapage (@metapages/metapage 1.10.10) in headless Chromium with two metaframes that
// join a channel through bindMetaframe: with our MetaframeClient and with the real Metaframe,
// with the frames on the parent's origin and on another site. Real relay, real sockets.
// Run: node --test tests/browser/metaframe.test.js   (after npm run build)
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

/** Evaluates `fn(arg)` in the metaframe `id` of `page`. */
async function inFrame(page, id, fn, arg) {
  const frame = await until(() => page.frame({ name: id }), `iframe "${id}"`);
  return frame.evaluate(fn, arg);
}

const frameState = (page, id) =>
  inFrame(page, id, () => {
    const mc = window.__mc;
    if (!mc?.ready) return null;
    return {
      url: mc.channel.url,
      state: mc.channel.state,
      inputsCount: mc.inputsCount,
      urlHistory: mc.urlHistory,
      errors: mc.errors,
      received: mc.received,
      inputs: mc.client.getInputs(),
      origin: location.origin,
    };
  });

async function waitFrames(page, what, pred, timeoutMs = 10000) {
  return until(
    async () => {
      const a = await frameState(page, "a");
      const b = await frameState(page, "b");
      return a && b && pred(a, b) ? { a, b } : null;
    },
    what,
    timeoutMs,
  );
}

/** Output deltas the parent received, merged per frame. */
async function parentOutputs(page) {
  const deltas = await page.evaluate(() => window.outputs);
  const merged = {};
  for (const d of deltas) for (const [id, o] of Object.entries(d)) merged[id] = { ...merged[id], ...o };
  return { deltas, merged };
}

const SCENARIOS = [
  { name: "ours-same-origin", impl: "ours", crossOrigin: false },
  { name: "real-same-origin", impl: "real", crossOrigin: false },
  { name: "ours-cross-origin", impl: "ours", crossOrigin: true },
  { name: "real-cross-origin", impl: "real", crossOrigin: true },
];

for (const sc of SCENARIOS) {
  test(`metapage with two metaframes (${sc.impl === "real" ? "real Metaframe" : "MetaframeClient"}, ${sc.crossOrigin ? "cross-origin" : "same-origin"}): one socket each, messages, rotation, outputs, removal`, {
    timeout: 60000,
  }, async () => {
    const { relay, site, site2 } = h;
    const t0 = Date.now();
    const page = await h.newPage(sc.name);
    const first = await relay.createChannel();
    const before = relay.connections;

    await page.goto(`${site.url}/metapage.html`);
    await page.waitForFunction(() => window.pageReady === true);
    const frameOrigin = sc.crossOrigin ? site2.url : site.url;
    // The URL input is set before the iframes exist: the metapage delivers it twice.
    await page.evaluate(
      ({ frameOrigin, impl, url }) => window.boot({ frameOrigin, impl, inputs: { a: { _websocket_url_: url }, b: { _websocket_url_: url } } }),
      { frameOrigin, impl: sc.impl, url: first.url },
    );

    // Both frames open, and both have seen the second delivery of the same inputs.
    let s = await waitFrames(page, "both frames open after both deliveries", (a, b) =>
      [a, b].every((f) => f.state === "open" && f.url === first.url && f.inputsCount >= 2),
    );
    const tOpen = Date.now() - t0;
    assert.equal(s.a.origin, frameOrigin);
    if (sc.crossOrigin) {
      const access = await page.evaluate(() => {
        try {
          return document.querySelector("iframe").contentWindow.document ? "readable" : "none";
        } catch {
          return "blocked";
        }
      });
      assert.equal(access, "blocked", "the frames really are cross-origin");
    }
    await until(() => relay.clientCount(first.token) === 2, "two sockets at the relay");
    await new Promise((r) => setTimeout(r, 300)); // time for a wrong reconnect to show up
    assert.equal(relay.connections - before, 2, "exactly one socket per frame despite the double delivery");
    assert.equal(relay.clientCount(first.token), 2);

    // Typed messages: frame a sends, frame b shows it.
    await inFrame(page, "a", () => window.__mc.send("hello from a"));
    s = await waitFrames(page, "b receives a's message", (_a, b) => b.received.some((m) => m.from === "a" && m.text === "hello from a"));
    assert.deepEqual(
      s.b.received.filter((m) => m.from === "a"),
      [{ type: "chat", from: "a", text: "hello from a" }],
    );
    const shown = await page.frame({ name: "b" }).locator("#log li").allTextContents();
    assert.ok(shown.includes("a: hello from a"), `b's page shows the message: ${JSON.stringify(shown)}`);

    // Outputs reach the parent, including the one set before the handshake.
    await until(async () => {
      const { merged } = await parentOutputs(page);
      return (
        merged.a?.loaded === true &&
        merged.b?.loaded === true &&
        merged.a?.state === "open" &&
        merged.b?.state === "open" &&
        merged.b?.lastMessage === "hello from a"
      );
    }, "outputs at the parent");
    await h.screenshot(page, `metapage-${sc.name}`);

    if (sc.impl === "ours") {
      // Messages not from the pinned parent, for another frame id, or not JSON-RPC: ignored.
      const evil = await relay.createChannel();
      const parentId = await page.evaluate(() => window.mp._id);
      const spoof = { jsonrpc: "2.0", id: "_", method: "InputsUpdate", iframeId: "a", parentId, params: { inputs: { _websocket_url_: evil.url }, parentId } };
      await inFrame(page, "b", (msg) => window.parent.frames[0].postMessage(msg, "*"), spoof); // a sibling frame
      await page.evaluate((msg) => {
        const a = document.querySelectorAll("iframe")[0].contentWindow;
        a.postMessage({ ...msg, iframeId: "b" }, "*"); // the right parent, another frame's id
        a.postMessage({ ...msg, jsonrpc: "1.0" }, "*"); // not JSON-RPC 2.0
        a.postMessage(JSON.stringify(msg), "*"); // a string
        a.postMessage({ ...msg, parentId: "someone-else" }, "*"); // another metapage
      }, spoof);
      await page.evaluate(() => window.mp.setInputs({ a: { marker: 1 } })); // a legitimate update after them
      s = await waitFrames(page, "a sees the legitimate update", (a) => a.inputs.marker === 1);
      assert.equal(s.a.url, first.url);
      assert.deepEqual(s.a.urlHistory, [first.url], "a never took the spoofed URL");
      assert.equal(relay.clientCount(evil.token), 0);
    }

    // Rotation: the relay revokes the old URL (closing its sockets) and the parent hands out the new one.
    const second = await relay.rotate(first.token);
    await page.evaluate((url) => window.mp.setInputs({ a: { _websocket_url_: url }, b: { _websocket_url_: url } }), second.url);
    s = await waitFrames(page, "both frames on the new URL", (a, b) => [a, b].every((f) => f.state === "open" && f.url === second.url));
    await until(() => relay.clientCount(second.token) === 2, "two sockets on the new channel");
    assert.equal(relay.clientCount(first.token), 0, "old sockets closed");
    for (const f of [s.a, s.b])
      assert.ok(
        f.errors.every((e) => e.code === "REVOKED"),
        `only REVOKED errors: ${JSON.stringify(f.errors)}`,
      );
    await inFrame(page, "b", () => window.__mc.send("after rotation"));
    await waitFrames(page, "a receives b's message on the new channel", (a) => a.received.some((m) => m.from === "b" && m.text === "after rotation"));

    // Removing the input disconnects: "" for a, undefined for b.
    await page.evaluate(() => window.mp.setInputs({ a: { _websocket_url_: "" }, b: { _websocket_url_: undefined } }));
    s = await waitFrames(page, "both frames idle", (a, b) => [a, b].every((f) => f.state === "idle" && f.url === null));
    await until(() => relay.clientCount(second.token) === 0, "sockets closed at the relay");
    assert.equal("_websocket_url_" in s.b.inputs, false, "undefined removed the input");
    await until(async () => (await parentOutputs(page)).merged.a?.state === "idle", "the parent sees state idle");
    assert.equal(relay.connections - before, 4, "2 sockets on the first URL, 2 on the second, nothing else");
    for (const f of [s.a, s.b])
      assert.ok(
        f.errors.every((e) => e.code === "REVOKED"),
        JSON.stringify(f.errors),
      );

    h.assertNoErrors(page);
    console.log(`# ${sc.name}: both frames open ${tOpen} ms after navigation; scenario ${Date.now() - t0} ms`);
    await page.close();
  });
}
