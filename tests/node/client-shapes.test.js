// One shape for the same idea across the client classes (issue 12): isConnected, disposed,
// opened()/connect() promises and once(), against the real dev relay. The older names keep
// working (ChatClient's `connected` getter is deprecated, not removed).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mc, relayFor, channelFor, waitFor } from "./helpers.js";

const { ChatClient, LiveDataClient, MetaChannelError } = mc;

async function channelUrl(t) {
  const relay = await relayFor(t);
  return (await relay.createChannel()).url;
}

test("ChatClient: isConnected, opened(), disposed", async (t) => {
  const url = await channelUrl(t);
  const chat = new ChatClient(url, "alice");
  t.after(() => chat.dispose());
  assert.equal(chat.isConnected, false);
  assert.equal(chat.disposed, false);
  await assert.rejects(chat.opened(), (err) => err instanceof MetaChannelError && err.code === "CLOSED", "before connect()");
  const connecting = chat.connect();
  const opened = chat.opened(); // while connect() makes the channel
  await connecting;
  await opened;
  assert.equal(chat.isConnected, true);
  assert.equal(chat.connected, undefined, "the deprecated name is gone (it was not in the contract)");
  await chat.opened(); // open: at once
  chat.disconnect();
  assert.equal(chat.isConnected, false);
  await assert.rejects(chat.opened(), (err) => err.code === "CLOSED", "after disconnect()");
  chat.dispose();
  assert.equal(chat.disposed, true);
  await assert.rejects(chat.opened(), (err) => err.code === "DISPOSED");
});

test("ChatClient.once() fires once; off() removes a once listener; bad arguments throw INVALID_ARGUMENT", async (t) => {
  const url = await channelUrl(t);
  const ch = channelFor(t, url);
  const chat = new ChatClient(ch, "bob");
  t.after(() => chat.dispose());
  const once = [];
  const removed = [];
  chat.once("message", (m) => once.push(m.text));
  const l = (m) => removed.push(m.text);
  chat.once("message", l);
  chat.off("message", l);
  const all = [];
  chat.on("message", (m) => all.push(m.text));
  await chat.connect();
  chat.sendMessage("one");
  chat.sendMessage("two");
  await waitFor(() => all.length === 2, { what: "both echoes" });
  assert.deepEqual(once, ["one"]);
  assert.deepEqual(removed, []);
  assert.throws(
    () => chat.once("bogus", () => {}),
    (err) => err.code === "INVALID_ARGUMENT",
  );
  assert.throws(
    () => chat.once("message", 1),
    (err) => err.code === "INVALID_ARGUMENT",
  );
});

test("LiveDataClient: connect() resolves when open, isConnected, disposed", async (t) => {
  const url = await channelUrl(t);
  const live = new LiveDataClient(url);
  t.after(() => live.dispose());
  assert.equal(live.disposed, false);
  await live.connect();
  assert.equal(live.isConnected, true);
  assert.equal(live.channel.state, "open");
  live.dispose();
  assert.equal(live.disposed, true);
  assert.equal(live.isConnected, false);
  await assert.rejects(live.connect(), (err) => err.code === "DISPOSED");
});
