// metachannel/react inside a real Metapage (@metapages/metapage 1.10.10) in Chromium: two
// metaframes, each a React app (StrictMode, development build, bundled here with esbuild)
// whose two components use useMetaframeChannel. Per frame one socket at the relay despite the
// two components, StrictMode and the input delivered twice; a chat reaches both components of
// the other frame once; presence; a rotated URL is followed; the frames serve the
// metaframe.json metaframeDefinition() makes, so the parent logs nothing.
// Run: node --test tests/browser/react-metaframe.test.js   (after npm run build)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as esbuild from "esbuild";
import { resultsDir, root, startHarness, until } from "./harness.js";

const outDir = path.join(resultsDir, "react-frame");
let h;
before(async () => {
  mkdirSync(outDir, { recursive: true });
  // The package as a bundler sees it: metachannel, metachannel/store and metachannel/react from dist/.
  const own = {
    name: "metachannel-dist",
    setup(b) {
      b.onResolve({ filter: /^metachannel(\/(react|store))?$/ }, (args) => ({
        path: path.join(root, "dist", args.path === "metachannel" ? "metachannel.mjs" : `${args.path.slice("metachannel/".length)}.mjs`),
      }));
    },
  };
  await esbuild.build({
    entryPoints: [path.join(root, "tests/browser/react/frame.tsx")],
    bundle: true,
    format: "esm",
    outfile: path.join(outDir, "app.js"),
    jsx: "automatic",
    define: { "process.env.NODE_ENV": '"development"' },
    plugins: [own],
    logLevel: "warning",
  });
  writeFileSync(
    path.join(outDir, "index.html"),
    '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><div id="root"></div><script type="module" src="app.js"></script>\n',
  );
  const { metaframeDefinition } = await import(path.join(root, "dist/metachannel.mjs"));
  writeFileSync(path.join(outDir, "metaframe.json"), JSON.stringify(metaframeDefinition({ name: "react frame" })));
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** The data-* view of both components of frame `id`. */
async function views(page, id) {
  const frame = page.frame({ name: id });
  if (!frame) return [];
  return frame.$$eval("li.view", (els) =>
    els.map((e) => ({ state: e.dataset.state, url: e.dataset.url, chats: JSON.parse(e.dataset.chats), others: Number(e.dataset.others) })),
  );
}

async function waitViews(page, what, pred) {
  return until(
    async () => {
      const a = await views(page, "a");
      const b = await views(page, "b");
      return a.length === 2 && b.length === 2 && [...a, ...b].every((v) => pred(v, a, b)) ? { a, b } : null;
    },
    what,
    15000,
  );
}

test("useMetaframeChannel in two React metaframes of a real metapage: one socket per frame, messages once, presence, rotation, no console error", {
  timeout: 60000,
}, async () => {
  const { relay, site } = h;
  const page = await h.newPage("react-metaframe");
  const first = await relay.createChannel();
  const before = relay.connections;
  await page.goto(`${site.url}/metapage.html`);
  await page.waitForFunction(() => window.pageReady === true);
  await page.evaluate(({ frameUrl, url }) => window.boot({ frameUrl, inputs: { a: { _websocket_url_: url }, b: { _websocket_url_: url } } }), {
    frameUrl: `${site.url}/test-results/react-frame/`,
    url: first.url,
  });
  await waitViews(page, "both frames' components open on the channel", (v) => v.state === "open" && v.url === first.url);
  await until(() => relay.clientCount(first.token) === 2, "two sockets at the relay");
  await new Promise((r) => setTimeout(r, 300)); // a second socket would show by now
  assert.equal(relay.clientCount(first.token), 2, "one socket per frame");
  assert.equal(relay.connections - before, 2, "two components, StrictMode and the double delivery: still one socket per frame");
  await waitViews(page, "presence: each frame sees the other", (v) => v.others === 1);

  await page.frame({ name: "a" }).evaluate(() => window.send("hi from a"));
  const { b } = await waitViews(page, "b's components show a's chat", (_v, _a, bv) => bv.every((x) => x.chats.length > 0));
  await new Promise((r) => setTimeout(r, 300));
  const after = await views(page, "b");
  assert.deepEqual(
    after.map((v) => v.chats),
    [["a:hi from a"], ["a:hi from a"]],
    `delivered once to each component: ${JSON.stringify(b)}`,
  );

  const next = await relay.rotate(first.token);
  await page.evaluate((url) => window.mp.setInputs({ a: { _websocket_url_: url }, b: { _websocket_url_: url } }), next.url);
  await waitViews(page, "both frames follow the rotated URL", (v) => v.state === "open" && v.url === next.url);
  await until(() => relay.clientCount(next.token) === 2, "two sockets on the new URL");
  assert.equal(relay.clientCount(first.token), 0);
  h.assertNoErrors(page);
});
