// metachannel/react during server rendering (Next.js, Remix): react-dom/server renders
// components using every hook in Node with no socket opened, no browser global touched and
// no error or warning; the HTML shows the initial values ("loading", no messages, nobody).
// Run: node --test tests/node/react-ssr.test.js   (after npm run build)
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { createElement as h, StrictMode, Suspense } from "react";
import { renderToString } from "react-dom/server";
import { relayFor, root, sleep } from "./helpers.js";

const { useChannel, useMetaframeChannel, useMessage, useMessages, usePresence } = await import(path.join(root, "dist/react.mjs"));

function Peer({ url, name }) {
  const { channel, state, error, send } = useChannel(url, { presence: { state: { name } } });
  const last = useMessage(channel, "chat");
  const list = useMessages(channel, "chat", { last: 5 });
  const peers = usePresence(channel);
  const frame = useMetaframeChannel();
  const off = useChannel(url, { enabled: false });
  return h("p", { "data-name": name }, `${state}|${channel === null}|${error}|${last}|${list.length}|${peers.size}|${frame.state}|${off.state}|${typeof send}`);
}
test("renderToString of components using useChannel, useMetaframeChannel, useMessage(s), usePresence: no socket, no error, initial values", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  assert.equal(typeof globalThis.window, "undefined", "Node: no window");

  const errors = [];
  const original = { error: console.error, warn: console.warn };
  console.error = (...args) => errors.push(args.join(" "));
  console.warn = (...args) => errors.push(args.join(" "));
  let html;
  try {
    html = renderToString(h(StrictMode, null, h(Suspense, { fallback: "…" }, h(Peer, { url, name: "ada" }), h(Peer, { url, name: "bob" }))));
  } finally {
    console.error = original.error;
    console.warn = original.warn;
  }
  assert.deepEqual(errors, [], "no error or warning while rendering");
  const texts = [...html.matchAll(/<p data-name="(\w+)">([^<]*)<\/p>/g)].map((m) => [m[1], m[2]]);
  assert.deepEqual(texts, [
    ["ada", "loading|true|null|undefined|0|0|loading|idle|function"],
    ["bob", "loading|true|null|undefined|0|0|loading|idle|function"],
  ]);
  await sleep(200);
  assert.equal(relay.connections, 0, "no socket reached the relay");
  assert.equal(typeof globalThis.window, "undefined", "nothing defined a window");
});
