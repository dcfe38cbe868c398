// Presence and reliable delivery in Chromium: a page's reliable channel and a Node channel on
// the real relay. The page's messages carry its id and sequence numbers; it appears in the
// Node peer's presence, and leaving the page (pagehide) removes it at once, long before the
// 30 s presence timeout.
// Run: node --test tests/browser/presence.test.js   (after npm run build)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { startHarness, until, root } from "./harness.js";

const mc = await import(path.join(root, "dist/metachannel.mjs"));
await mc.ready({ core: "full" });

let h;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

test("a page's reliable channel: meta.from/seq at the peer; presence joined, then left at once on pagehide", async () => {
  const { url } = await h.relay.createChannel();
  const watcher = new mc.Channel(url, { presence: { state: { who: "node" } }, reliable: true });
  try {
    await watcher.opened();
    const got = [];
    watcher.onMessage("hello", (m, meta) => got.push({ n: m.n, from: meta.from, seq: meta.seq }));
    const page = await h.newPage("presence");
    await page.goto(`${h.site.url}/script-tag.html`);
    const pageId = await page.evaluate(async (channelUrl) => {
      await MetaChannel.ready({ core: "full" });
      const ch = new MetaChannel.Channel(channelUrl, { reliable: true, presence: { state: { who: "page" } } });
      window.presenceChannel = ch;
      await ch.opened();
      for (let n = 1; n <= 3; n++) ch.send({ type: "hello", n });
      return ch.id;
    }, url);
    await until(() => got.length === 3 && watcher.presence.has(pageId), "the page's messages and presence");
    assert.deepEqual(
      got,
      [1, 2, 3].map((n) => ({ n, from: pageId, seq: n })),
    );
    assert.deepEqual(watcher.presence.get(pageId), { who: "page" });
    // The page sees the Node peer too.
    await page.waitForFunction((id) => window.presenceChannel.presence.has(id), watcher.id, { timeout: 5000 });

    const left = performance.now();
    await page.goto("about:blank"); // pagehide: the page says goodbye before its socket goes
    await until(() => !watcher.presence.has(pageId), "the page gone from presence", 3000);
    const ms = performance.now() - left;
    console.log(`# page left presence ${ms.toFixed(0)} ms after navigating away (timeout is 30000 ms)`);
    assert.ok(ms < 3000);
    h.assertNoErrors(page);
  } finally {
    watcher.dispose();
  }
});
