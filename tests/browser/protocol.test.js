// MetaframeClient's side of the wire, observed from a hand-written parent page that speaks
// the metapage v2 protocol exactly as @metapages/metapage 1.10.10 does (see
// shared/notes/metapage-protocol.md) but answers the handshake only from the Nth request:
// the one behaviour the real Metapage cannot be made to show on demand (retries).
// Run: node --test tests/browser/protocol.test.js   (after npm run build)
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

async function rawParent(name, opts) {
  const page = await h.newPage(name);
  await page.goto(`${h.site.url}/raw-parent.html`);
  await page.waitForFunction(() => window.pageReady === true);
  await page.evaluate((o) => window.start(o), { frameUrl: `${h.site2.url}/frames/channel/?impl=ours`, ...opts });
  return page;
}
const methods = (log) => log.map((m) => m.method);
const frameEval = async (page, fn, arg) => (await until(() => page.frame({ name: "a" }), "frame a")).evaluate(fn, arg);

test("handshake: requests retried with doubling backoff until answered, then Ack, queued outputs, inputs; no more requests", { timeout: 60000 }, async () => {
  const { relay } = h;
  const { url, token } = await relay.createChannel();
  const page = await rawParent("retry", { answerAt: 3, inputs: { _websocket_url_: url } });

  await until(() => relay.clientCount(token) === 1, "the frame's channel connects after the handshake");
  await new Promise((r) => setTimeout(r, 1200)); // long enough for 2 more retries if they did not stop
  const log = await page.evaluate(() => window.log);
  const requests = log.filter((m) => m.method === "SetupIframeClientRequest");
  assert.equal(requests.length, 3, `retries stop once answered: ${JSON.stringify(methods(log))}`);
  assert.deepEqual(
    requests.map((r) => r.id),
    [1, 2, 3],
    "ids count up from 1",
  );
  for (const r of requests) {
    assert.deepEqual(r.params, { version: "2" });
    assert.equal(r.iframeId, "a", "iframeId is window.name");
  }
  const gap1 = requests[1].t - requests[0].t;
  const gap2 = requests[2].t - requests[1].t;
  // Arrival times at the parent, so allow for delivery jitter; a constant interval fails the
  // second check, no retry fails the count above.
  assert.ok(gap1 >= 120 && gap1 < 900, `first retry after ~200 ms (was ${gap1.toFixed(0)})`);
  assert.ok(gap2 >= 320 && gap2 < 1500 && gap2 > gap1, `second retry after ~400 ms, longer than the first (were ${gap1.toFixed(0)}, ${gap2.toFixed(0)})`);

  // After the answer, in order: the Ack, then the output set before the handshake.
  const afterAnswer = log.slice(log.indexOf(requests[2]) + 1);
  assert.equal(afterAnswer[0].method, "SetupIframeServerResponseAck");
  assert.deepEqual(afterAnswer[0].params, { version: "2" }, "the Ack carries params.version (the parent throws without it)");
  assert.equal(afterAnswer[0].parentId, "p1");
  assert.equal(afterAnswer[0].id, 4);
  assert.equal(afterAnswer[1].method, "OutputsUpdate");
  assert.deepEqual(afterAnswer[1].params, { loaded: true }, "outputs set before the handshake are sent after it");
  assert.ok(afterAnswer.every((m) => m.parentId === "p1" && m.iframeId === "a"));
  assert.ok(afterAnswer.filter((m) => m.method === "OutputsUpdate").some((m) => m.params.state === "open"));

  // setInputs inside an iframe asks the parent (params = the map), as the metapage child does.
  await frameEval(page, () => window.__mc.client.setInputs({ wanted: 7 }));
  const sent = await until(async () => (await page.evaluate(() => window.log)).find((m) => m.method === "InputsUpdate"), "InputsUpdate at the parent");
  assert.deepEqual(sent.params, { wanted: 7 });
  assert.equal(await frameEval(page, () => "wanted" in window.__mc.client.getInputs()), false, "not applied locally: it comes back through the parent");

  // Parent -> child InputsUpdate carries only changed keys; a removed key disconnects.
  await page.evaluate(() => window.sendInputs({ other: 1 }));
  await until(() => frameEval(page, () => window.__mc.client.getInputs().other === 1), "merged update");
  assert.equal(await frameEval(page, () => window.__mc.channel.state), "open");
  assert.equal(relay.connections >= 1, true);
  await page.evaluate(() => window.sendInputs({ _websocket_url_: undefined }));
  await until(() => frameEval(page, () => window.__mc.channel.state === "idle"), "idle after removal");
  await until(() => relay.clientCount(token) === 0, "socket closed");
  assert.deepEqual(await frameEval(page, () => window.__mc.client.getInputs()), { other: 1 });
  h.assertNoErrors(page);
  await page.close();
});

test("dispose() stops the handshake retries and the message listener", { timeout: 60000 }, async () => {
  const page = await rawParent("dispose", { answerAt: Infinity });
  await until(async () => (await page.evaluate(() => window.log.length)) >= 2, "two requests");
  // The frame's channel exists (its page awaits ready(), then bindMetaframe()): on a loaded
  // machine the wasm can arrive after the second request, and a dispose before it would leave
  // the page without a channel to check.
  await until(() => frameEval(page, () => window.__mc.ready === true), "the frame's bound channel");
  const pending = await frameEval(page, () => {
    const p = window.__mc.client.connected().then(
      () => "resolved",
      (e) => e.code,
    );
    window.__mc.client.dispose();
    return p;
  });
  assert.equal(pending, "DISPOSED", "a pending connected() rejects");
  const n = await page.evaluate(() => window.log.length);
  await new Promise((r) => setTimeout(r, 1500)); // the next retry would have come within 800 ms
  assert.equal(await page.evaluate(() => window.log.length), n, "no request after dispose");
  // A late answer changes nothing either.
  await page.evaluate(() => window.sendInputs({ _websocket_url_: "ws://127.0.0.1:1/ch/x" }));
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await frameEval(page, () => [window.__mc.channel.state, window.__mc.client.isConnected]), ["idle", false]);
  h.assertNoErrors(page);
  await page.close();
});
