// The framework-neutral stores of metachannel/store (channelStore, messagesStore, presenceStore) against the real
// dev relay, counting the relay's sockets: one per URL and options however many subscribe;
// a subscribe undone in the same task opens nothing (StrictMode, server rendering); the last
// unsubscribe closes it; a later subscribe opens exactly one again.
// Run: node --test tests/node/store.test.js
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { mc, relayFor, root, sleep, waitFor } from "./helpers.js";

// metachannel/store imports "metachannel": the same module as helpers.js's (dist/).
const store = path.join(root, "dist/store.mjs");
const { channelStore, messagesStore, presenceStore } = await import(store);
const { MetaChannelError } = mc;
const presenceTests = process.env.MC_CORE !== "lite"; // the lite core has no presence

async function setup(t) {
  const relay = await relayFor(t);
  const { url, token } = await relay.createChannel();
  return { relay, url, token, sockets: () => relay.clientCount(token) };
}

/** Subscribes and records every value the store hands out. */
function follow(store) {
  const values = [];
  const off = store.subscribe((v) => values.push(v));
  return { values, off, last: () => values[values.length - 1] };
}

test("channelStore: one socket per URL and options however many subscribe; the last unsubscribe closes it; a resubscribe opens exactly one", async (t) => {
  const { relay, url, sockets } = await setup(t);
  const options = { queue: { maxMessages: 50, overflow: "drop-oldest" }, reconnect: { minDelayMs: 50 } };
  const same = { reconnect: { minDelayMs: 50 }, queue: { overflow: "drop-oldest", maxMessages: 50 } }; // same values, other order
  const a = follow(channelStore(url, options));
  const b = follow(channelStore(url, same));
  const c = follow(channelStore(url, options));
  assert.equal(a.values[0].state, "loading", "a Svelte store: the listener gets the current value at once");
  await waitFor(() => a.last().state === "open" && b.last().state === "open" && c.last().state === "open", { what: "open" });
  assert.equal(sockets(), 1, "three subscribers, one socket at the relay");
  assert.equal(a.last().channel, b.last().channel);
  assert.equal(a.last().channel, c.last().channel);
  const channel = a.last().channel;

  // Other options: another channel.
  const other = follow(channelStore(url, { reconnect: { minDelayMs: 51 } }));
  await waitFor(() => other.last().state === "open", { what: "the other channel" });
  assert.equal(sockets(), 2);
  other.off();

  a.off();
  b.off();
  await sleep(30);
  assert.equal(sockets(), 2 - 1, "one subscriber left: the shared socket stays");
  assert.equal(channel.disposed, false);
  c.off();
  c.off(); // idempotent
  await waitFor(() => sockets() === 0, { what: "the last unsubscribe closes the socket" });
  await waitFor(() => channel.disposed, { what: "and frees the channel" });

  const before = relay.connections;
  const again = follow(channelStore(url, options));
  await waitFor(() => again.last().state === "open", { what: "reopened" });
  assert.notEqual(again.last().channel, channel, "a new channel");
  assert.equal(sockets(), 1);
  assert.equal(relay.connections - before, 1, "exactly one new socket");
  again.off();
  await waitFor(() => sockets() === 0, { what: "closed again" });
});

test("channelStore: a subscribe undone in the same task (StrictMode, server rendering) opens nothing; mount/unmount/mount keeps one socket", async (t) => {
  const { relay, url, sockets } = await setup(t);
  const store = channelStore(url);
  const off = store.subscribe(() => {});
  off();
  await sleep(100);
  assert.equal(relay.connections, 0, "no socket was opened");
  assert.equal(store.get().state, "loading");

  // StrictMode: subscribe, unsubscribe, subscribe in one task, after the socket exists too.
  const first = follow(store);
  first.off();
  const second = follow(store);
  await waitFor(() => second.last().state === "open", { what: "open" });
  const ch = second.last().channel;
  second.off();
  const third = follow(store);
  await sleep(100);
  assert.equal(third.last().channel, ch, "the same channel");
  assert.equal(ch.disposed, false);
  assert.equal(relay.connections, 1, "one socket in all");
  assert.equal(sockets(), 1);
  third.off();
  await waitFor(() => sockets() === 0, { what: "closed" });
});

test("channelStore: send() while the channel is being created is held and delivered once; idle stores refuse to send", async (t) => {
  const { url } = await setup(t);
  const peer = new mc.Channel(url);
  t.after(() => peer.dispose());
  await peer.opened();
  const got = [];
  peer.onMessage("hello", (m) => got.push(m.n));
  const store = channelStore(url);
  const sub = follow(store);
  store.send({ type: "hello", n: 1 });
  store.send({ type: "hello", n: 2 });
  await waitFor(() => got.length === 2, { what: "the held messages" });
  await sleep(50);
  assert.deepEqual(got, [1, 2], "in order, once each");
  sub.off();

  for (const idle of [channelStore(null), channelStore(url, { enabled: false }), channelStore("")]) {
    const s = follow(idle);
    assert.equal(s.last().state, "idle");
    assert.equal(s.last().channel, null);
    assert.throws(
      () => idle.send({ type: "x" }),
      (err) => err instanceof MetaChannelError && err.code === "CLOSED" && /no channel/.test(err.message),
    );
    s.off();
  }
  assert.throws(
    () => channelStore(url, { queue: { maxMessages: 7 } }).send({ type: "x" }),
    (err) => err.code === "CLOSED" && /subscribe first/.test(err.message),
  );
  assert.throws(
    () => channelStore(url, { enabled: "yes" }),
    (err) => err.code === "INVALID_ARGUMENT" && /enabled/.test(err.message),
  );
  assert.throws(
    () => channelStore(5),
    (err) => err.code === "INVALID_ARGUMENT",
  );
});

test("channelStore: functions in options are compared by identity, values by value; a channel that cannot be created is state closed with the error", async (t) => {
  const { url } = await setup(t);
  class A {}
  class B {}
  assert.equal(channelStore(url, { WebSocket: A }).key, channelStore(url, { WebSocket: A }).key);
  assert.notEqual(channelStore(url, { WebSocket: A }).key, channelStore(url, { WebSocket: B }).key);
  assert.equal(channelStore(url, { protocols: ["a"] }).key, channelStore(url, { protocols: ["a"] }).key);
  assert.notEqual(channelStore(url, { protocols: ["a"] }).key, channelStore(url, { protocols: ["b"] }).key);

  const bad = follow(channelStore("http://example.com/x"));
  await waitFor(() => bad.last().state === "closed", { what: "closed" });
  assert.equal(bad.last().error.code, "INVALID_URL");
  assert.equal(bad.last().channel, null);
  bad.off();
});

test("messagesStore: the newest messages of one type, once each, at most `last`; shared per channel and type", async (t) => {
  const { url } = await setup(t);
  const store = channelStore(url);
  const sub = follow(store);
  await waitFor(() => sub.last().state === "open", { what: "open" });
  const ch = sub.last().channel;
  const chats = messagesStore(ch, "chat", { last: 2 });
  assert.equal(messagesStore(ch, "chat", { last: 2 }), chats, "one store per channel, type and last");
  const all = messagesStore(ch, "chat");
  const c = follow(chats);
  const a = follow(all);
  assert.deepEqual(c.values, [[]]);
  const sender = new mc.Channel(url);
  t.after(() => sender.dispose());
  await sender.opened();
  for (let n = 1; n <= 3; n++) sender.send({ type: "chat", n });
  sender.send({ type: "other", n: 9 });
  await waitFor(() => a.last().length === 3, { what: "three chats" });
  await sleep(50);
  assert.deepEqual(
    a.last().map((m) => m.n),
    [1, 2, 3],
  );
  assert.deepEqual(
    c.last().map((m) => m.n),
    [2, 3],
    "last: 2",
  );
  assert.equal(a.values.length, 4, "one new value per message");
  assert.equal(chats.get(), c.last());
  assert.deepEqual(messagesStore(null, "chat").get(), []);
  assert.throws(
    () => messagesStore(ch, "chat", { last: 0 }),
    (err) => err.code === "INVALID_ARGUMENT",
  );
  c.off();
  a.off();
  sub.off();
});

test("presenceStore: a new Map after each change; each of two stores on one channel sees the other", {
  skip: !presenceTests && "the lite core has no presence",
}, async (t) => {
  const { url, sockets } = await setup(t);
  const ada = follow(channelStore(url, { presence: { state: { name: "ada" } } }));
  const bob = follow(channelStore(url, { presence: { state: { name: "bob" } } }));
  await waitFor(() => ada.last().state === "open" && bob.last().state === "open", { what: "open" });
  assert.equal(sockets(), 2, "other presence state: other options, another socket");
  const seenByAda = follow(presenceStore(ada.last().channel));
  await waitFor(() => seenByAda.last().size === 1, { what: "ada sees bob" });
  assert.deepEqual([...seenByAda.last().values()], [{ name: "bob" }]);
  assert.equal(presenceStore(null).get().size, 0);
  const before = seenByAda.last();
  bob.off();
  await waitFor(() => seenByAda.last().size === 0, { what: "bob left" });
  assert.notEqual(seenByAda.last(), before, "a new Map, not the old one changed");
  assert.equal(before.size, 1);
  seenByAda.off();
  ada.off();
});

test("channelStore: a channel still being created when the last subscriber left is closed once it exists (the process exits by itself)", async (t) => {
  const { relay, url, sockets } = await setup(t);
  // A fresh process, so that ready() is still loading the wasm when the subscriber leaves.
  const script = `const { channelStore } = await import(${JSON.stringify(store)});
const off = channelStore(${JSON.stringify(url)}).subscribe(() => {});
setTimeout(() => setTimeout(() => { off(); console.log("left"); }, 0), 0);`;
  const r = await new Promise((resolve) => {
    execFile(process.execPath, ["--input-type=module", "-e", script], { timeout: 15000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (err.killed ? "killed" : err.code) : 0, stdout, stderr }),
    );
  });
  assert.equal(r.code, 0, `the process did not exit by itself: ${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /left/);
  await sleep(100);
  assert.equal(sockets(), 0, `${relay.connections} sockets reached the relay; none stays`);
});
