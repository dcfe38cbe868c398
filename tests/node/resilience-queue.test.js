// The send queue while disconnected: exact counts, the three overflow policies, what close()
// drops, and the willReconnect flag of close events.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mc, channelFor, relayFor, waitFor, sleep } from "./helpers.js";
import { closedPort, record } from "./fault-tools.js";

const FAST = { minDelayMs: 20, maxDelayMs: 200 };
const utf8 = (v) => Buffer.byteLength(typeof v === "string" ? v : JSON.stringify(v));

/** A relay channel and a connected receiver collecting the `n` of every {type:"q"} message. */
async function receiverFor(t) {
  const relay = await relayFor(t);
  const { url, token } = await relay.createChannel();
  const receiver = channelFor(t, url, { reconnect: FAST });
  const got = [];
  receiver.onMessage("q", (m) => got.push(m.n));
  await receiver.opened();
  return { relay, url, token, got };
}

async function deadUrl() {
  return `ws://127.0.0.1:${await closedPort()}/ch/nobody`;
}

test("queuedCount and queuedBytes are exact while disconnected; the queue flushes in order before newer sends", async (t) => {
  const { url, got } = await receiverFor(t);
  const ch = channelFor(t, await deadUrl(), { reconnect: FAST });
  await waitFor(() => ch.attempt >= 1, { what: "a failed attempt" });
  let bytes = 0;
  for (let n = 1; n <= 40; n++) {
    const msg = { type: "q", n, text: "é".repeat(n % 5) }; // multi-byte UTF-8 counts in bytes
    ch.send(msg);
    bytes += utf8(msg);
    assert.equal(ch.queuedCount, n);
    assert.equal(ch.queuedBytes, bytes);
  }
  assert.notEqual(ch.state, "open");
  ch.on("open", () => ch.send({ type: "q", n: 41 })); // sent on open: after the queue
  ch.setUrl(url);
  await waitFor(() => got.length === 41, { what: "41 messages" });
  assert.deepEqual(
    got,
    Array.from({ length: 41 }, (_, i) => i + 1),
  );
  assert.equal(ch.queuedCount, 0);
  assert.equal(ch.queuedBytes, 0);
});

test('overflow "drop-oldest": by count and by bytes, with QUEUE_OVERFLOW events naming how many were dropped', async (t) => {
  const { url, got } = await receiverFor(t);
  const ch = channelFor(t, null, { reconnect: FAST, queue: { maxMessages: 5, overflow: "drop-oldest" } });
  const log = record(ch);
  for (let n = 1; n <= 8; n++) ch.send({ type: "q", n });
  assert.equal(ch.queuedCount, 5);
  assert.deepEqual(
    log.errors("QUEUE_OVERFLOW").map((e) => e.arg.detail),
    [1, 1, 1],
  );
  ch.setUrl(url);
  await waitFor(() => got.length === 5, { what: "the 5 newest" });
  await sleep(100);
  assert.deepEqual(got, [4, 5, 6, 7, 8]);

  // By bytes: three 30-byte messages fill 90 of 100 bytes; a 75-byte one evicts all three.
  const bytes = channelFor(t, null, { queue: { maxBytes: 100, overflow: "drop-oldest" } });
  const blog = record(bytes);
  const thirty = "x".repeat(30);
  for (let i = 0; i < 3; i++) bytes.send(thirty);
  assert.equal(bytes.queuedBytes, 90);
  bytes.send("y".repeat(75));
  assert.equal(bytes.queuedCount, 1);
  assert.equal(bytes.queuedBytes, 75);
  assert.deepEqual(
    blog.errors("QUEUE_OVERFLOW").map((e) => e.arg.detail),
    [3],
  );
});

test('overflow "drop-newest": the message just sent is dropped and reported', async (t) => {
  const { url, got } = await receiverFor(t);
  const ch = channelFor(t, null, { reconnect: FAST, queue: { maxMessages: 5, overflow: "drop-newest" } });
  const log = record(ch);
  for (let n = 1; n <= 8; n++) ch.send({ type: "q", n });
  assert.equal(ch.queuedCount, 5);
  assert.deepEqual(
    log.errors("QUEUE_OVERFLOW").map((e) => e.arg.detail),
    [1, 1, 1],
  );
  ch.setUrl(url);
  await waitFor(() => got.length === 5, { what: "the 5 oldest" });
  await sleep(100);
  assert.deepEqual(got, [1, 2, 3, 4, 5]);
});

test('overflow "error": send() throws QUEUE_OVERFLOW and nothing is dropped', async (t) => {
  const { url, got } = await receiverFor(t);
  const ch = channelFor(t, null, { reconnect: FAST, queue: { maxMessages: 5, maxBytes: 1000, overflow: "error" } });
  const log = record(ch);
  for (let n = 1; n <= 5; n++) ch.send({ type: "q", n });
  assert.throws(
    () => ch.send({ type: "q", n: 6 }),
    (err) => err instanceof mc.MetaChannelError && err.code === "QUEUE_OVERFLOW",
  );
  assert.throws(
    () => ch.send("z".repeat(1001)),
    (err) => err.code === "QUEUE_OVERFLOW",
    "a message that can never fit",
  );
  assert.equal(ch.queuedCount, 5);
  assert.equal(log.errors().length, 0, "a thrown overflow is not also an event");
  ch.setUrl(url);
  await waitFor(() => got.length === 5, { what: "the 5 queued" });
  await sleep(100);
  assert.deepEqual(got, [1, 2, 3, 4, 5]);
});

test("close() tries to send the queue for closeTimeoutMs, then reports what it drops (CLOSED, detail = count) and rejects with it; later sends throw CLOSED", async (t) => {
  const ch = channelFor(t, await deadUrl(), { reconnect: FAST, closeTimeoutMs: 300 });
  const log = record(ch);
  await waitFor(() => ch.state === "reconnecting", { what: "reconnecting" });
  for (let n = 1; n <= 7; n++) ch.send({ type: "q", n });
  const started = Date.now();
  const closing = ch.close();
  assert.notEqual(ch.state, "closed", "close() waits for a connection to send the queue");
  assert.throws(
    () => ch.send({ type: "q", n: 8 }),
    (err) => err.code === "CLOSED",
  );
  const rejection = await closing.then(
    () => null,
    (err) => err,
  );
  const waited = Date.now() - started;
  assert.ok(waited >= 290, `close() settled after ${waited} ms, before closeTimeoutMs (300)`);
  assert.equal(ch.state, "closed");
  const closed = log.errors("CLOSED");
  assert.equal(closed.length, 1);
  assert.equal(rejection, closed[0].arg, "close() rejects with the CLOSED error it reported (a worker's await fails)");
  assert.equal(closed[0].arg.detail, 7);
  assert.match(closed[0].arg.message, /closeTimeoutMs/);
  assert.equal(ch.queuedCount, 0);
  assert.throws(
    () => ch.send({ type: "q", n: 8 }),
    (err) => err.code === "CLOSED",
  );
  const attempts = log.errors("SOCKET_ERROR").length;
  await sleep(FAST.maxDelayMs * 2);
  assert.equal(ch.state, "closed");
  assert.equal(log.errors("SOCKET_ERROR").length, attempts, "no attempt after close()");

  // Nothing queued: nothing to report.
  const empty = channelFor(t, await deadUrl(), { reconnect: FAST });
  const elog = record(empty);
  empty.close();
  assert.equal(elog.errors("CLOSED").length, 0);
});

test("close events: willReconnect true on drops, false on the final close", async (t) => {
  const { relay, url, token } = await receiverFor(t);
  const ch = channelFor(t, url, { reconnect: FAST });
  const log = record(ch);
  await ch.opened();
  relay.dropAll(token); // both sockets of the channel, without a close frame
  await waitFor(() => log.of("close").length === 1, { what: "the drop" });
  assert.deepEqual(pick(log.of("close")[0].arg), { code: 1006, wasClean: false, willReconnect: true });
  assert.equal(log.of("reconnecting").length, 1);
  await waitFor(() => ch.state === "open", { what: "reopened" });

  ch.close(1000, "bye");
  assert.equal(ch.state, "closing");
  await waitFor(() => ch.state === "closed", { what: "closed" });
  assert.equal(log.of("close").length, 2);
  assert.deepEqual(pick(log.of("close")[1].arg), { code: 1000, wasClean: true, willReconnect: false });
  await sleep(FAST.maxDelayMs * 2);
  assert.equal(log.of("reconnecting").length, 1, "no reconnect after a final close");

  function pick({ code, wasClean, willReconnect }) {
    return { code, wasClean, willReconnect };
  }
});
