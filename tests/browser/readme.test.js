// The README's html blocks in Chromium, as written: the script src points at the built
// dist/metachannel.js, the placeholder URL at a real channel; the page has the `bar` element
// the snippets update. A raw peer on the channel checks what they send and feeds them input.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { rawPeer } from "../tools.mjs";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { startHarness, until, resultsDir } from "./harness.js";
import { readmeSnippets, PLACEHOLDER_URL } from "../readme/snippets.js";

const blocks = readmeSnippets().filter((s) => s.lang === "html" && !s.skipped);

let h;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** How each block is driven, found by a line it contains. */
const DRIVE = [
  {
    marker: 'MetaChannel.connect("ws://127.0.0.1:8787/ch/<token>")',
    run: async (page, { ws }, _url, token) => {
      await until(() => h.relay.clientCount(token) === 2, "the page's channel open");
      ws.send(JSON.stringify({ type: "greeting", n: 1 }));
      await until(() => page.consoleLines.some((l) => l.includes("[log]") && l.includes("greeting")), "the message logged by the snippet");
    },
  },
  {
    marker: "new MetaChannel.MetaframeClient()",
    run: async (page, p, url) => {
      await page.waitForFunction(() => typeof mf === "object"); // eslint-disable-line no-undef
      // At top level MetaframeClient is the stand-in: give it the input a metapage would.
      await page.evaluate((u) => mf.setInputs({ _websocket_url_: u }), url); // eslint-disable-line no-undef
      await until(() => p.got.some((m) => m.type === "hello" && m.from === "frame-a"), "hello from the frame");
      p.ws.send(JSON.stringify({ type: "progress", value: 0.25 }));
      await until(() => page.evaluate(() => document.getElementById("bar").value === 0.25), "bar.value = 0.25");
      assert.ok(
        page.consoleLines.some((l) => l.includes("inputs")),
        "onInputs logged the inputs",
      );
    },
  },
];

test("every html block of the README has a driver here", () => {
  assert.ok(blocks.length > 0);
  const missing = blocks.filter((b) => !DRIVE.some((d) => b.code.includes(d.marker))).map((b) => `README.md:${b.line}`);
  assert.deepEqual(missing, []);
});

for (const block of blocks) {
  const drive = DRIVE.find((d) => block.code.includes(d.marker));
  if (!drive) continue;
  test(`README.md:${block.line} (${block.heading}) works in Chromium as written`, { timeout: 60000 }, async () => {
    const { url, token } = await h.relay.createChannel();
    const p = await rawPeer(url);
    try {
      const html = block.code
        .replace(/<script src="[^"]*metachannel\.js"><\/script>/, '<script src="/dist/metachannel.js"></script>')
        .split(PLACEHOLDER_URL)
        .join(url);
      const page = await h.newPage(`readme-${block.line}`);
      // A real page from the static server (a routed response would count as a public address
      // and Chromium's local network checks would block the loopback relay).
      const name = `readme-${block.line}.html`;
      writeFileSync(
        path.join(resultsDir, name),
        `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><progress id="bar" max="1" value="0"></progress>\n${html}`,
      );
      const address = `${h.site.url}/test-results/${name}`;
      await page.goto(address);
      try {
        await drive.run(page, p, url, token);
      } catch (err) {
        err.message += `\nconsole:\n  ${page.consoleLines.join("\n  ")}\nerrors:\n  ${page.errors.join("\n  ")}`;
        throw err;
      }
      h.assertNoErrors(page);
    } finally {
      p.ws.terminate();
    }
  });
}
