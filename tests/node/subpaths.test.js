// The client subpaths (issue 21, "only what the page imports"): metachannel/chat,
// metachannel/live-data and metachannel/metaframe hold the client code alone and take the
// Channel, the loader, the errors and the route hubs from the package root, so a page that
// imports only `connect` bundles none of them, and clients from a subpath and from the root
// work together on one Channel. Imported by the package's own name (Node's self-reference
// resolves it through package.json "exports", as an installed package would).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { distDir, mc, relayFor, channelFor, waitFor } from "./helpers.js";

const chat = await import("metachannel/chat");
const liveData = await import("metachannel/live-data");
const metaframe = await import("metachannel/metaframe");
const root = await import("metachannel");

test("each subpath exports its clients, and the root entry still exports them all", () => {
  assert.equal(root, mc, "the package root by name is the module the suites load");
  assert.deepEqual(Object.keys(chat), ["ChatClient"]);
  assert.deepEqual(Object.keys(liveData), ["LiveDataClient"]);
  assert.deepEqual(Object.keys(metaframe).sort(), ["MetaframeClient", "bindMetaframe", "connectFromEnv", "metaframeDefinition"]);
  for (const name of ["ChatClient", "LiveDataClient", "MetaframeClient", "bindMetaframe", "connectFromEnv", "metaframeDefinition"]) {
    assert.equal(typeof mc[name], "function", `the root still exports ${name}`);
  }
  const require = createRequire(import.meta.url);
  assert.deepEqual(Object.keys(require("metachannel/chat")), ["ChatClient"], "CommonJS: dist/chat.cjs");
  assert.deepEqual(Object.keys(require("metachannel/live-data")), ["LiveDataClient"]);
});

test("the subpath files hold the client code only: the channel, the loader and the glue come from the root entry", () => {
  for (const name of ["chat", "live-data", "metaframe"]) {
    for (const ext of ["mjs", "cjs"]) {
      const text = readFileSync(path.join(distDir, `${name}.${ext}`), "utf8");
      const imports = [...text.matchAll(/(?:from |require\()"([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual([...new Set(imports)], ["metachannel"], `${name}.${ext} imports only the root entry`);
      for (const marker of ["createMetachannelCore", "instantiateWasm", "class Channel ", "metachannel-lite.wasm", "class MetaChannelError"]) {
        assert.ok(!text.includes(marker), `${name}.${ext} holds no ${marker}`);
      }
    }
  }
});

test("clients from a subpath and from the root share a Channel: their routes, errors and loader are one", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const shared = channelFor(t, url);
  const probe = channelFor(t, url);
  await Promise.all([shared.opened(), probe.opened()]);
  const alice = new chat.ChatClient(shared, "alice", { rooms: ["general"] });
  const bob = new mc.ChatClient(shared, "bob", { rooms: ["dev"] });
  t.after(() => {
    alice.dispose();
    bob.dispose();
  });
  const heard = { alice: [], bob: [] };
  alice.on("message", (m) => heard.alice.push(`${m.room}:${m.text}`));
  bob.on("message", (m) => heard.bob.push(`${m.room}:${m.text}`));
  await Promise.all([alice.connect(), bob.connect()]);
  const feed = new liveData.LiveDataClient(shared);
  t.after(() => feed.dispose());
  const quotes = [];
  feed.subscribe("stocks", (q) => quotes.push(q.price));
  probe.onMessage("price.get", (msg) => probe.reply(msg, { price: 42 }));
  const answer = shared.request("price.get", {}, { timeoutMs: 5000 });
  probe.send({ type: "message", username: "carol", text: "hi", room: "general" });
  probe.send({ type: "message", username: "carol", text: "yo", room: "dev" });
  probe.send({ type: "quote", channel: "stocks", price: 7 });
  assert.equal((await answer).price, 42, "request/reply (the root's route hub on the same channel)");
  await waitFor(() => heard.alice.length && heard.bob.length && quotes.length, { what: "the routed frames" });
  assert.deepEqual(heard, { alice: ["general:hi"], bob: ["dev:yo"] });
  assert.deepEqual(quotes, [7]);
  assert.throws(
    () => new chat.ChatClient(shared, ""),
    (err) => err instanceof mc.MetaChannelError && err.code === "INVALID_ARGUMENT",
    "a subpath client throws the root's MetaChannelError",
  );
});
