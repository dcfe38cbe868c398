// Resilience around the URL: a rotated (revoked) channel, giving up after maxRetries and
// starting again, and switching URLs with setUrl.
import { test } from "node:test";
import assert from "node:assert/strict";
import { channelFor, relayFor, waitFor, sleep } from "./helpers.js";
import { restartableRelay, closedPort, record } from "./fault-tools.js";

const FAST = { minDelayMs: 20, maxDelayMs: 200 };

test("rotation (close 4001): REVOKED, no reconnect; setUrl(newUrl) resumes with the queue", async (t) => {
  const relay = await relayFor(t);
  const old = await relay.createChannel();
  const ch = channelFor(t, old.url, { reconnect: FAST });
  const log = record(ch);
  await ch.opened();
  const connectionsBefore = relay.connections;

  const fresh = await relay.rotate(old.token);
  await waitFor(() => ch.state === "closed", { what: "closed after the rotation" });
  const revoked = log.errors("REVOKED");
  assert.equal(revoked.length, 1);
  assert.equal(revoked[0].arg.detail, 4001);
  assert.ok(!revoked[0].arg.message.includes(old.token), "the error does not show the token");
  const close = log.of("close").at(-1).arg;
  assert.equal(close.code, 4001);
  assert.equal(close.willReconnect, false);
  assert.equal(log.of("reconnecting").length, 0);

  // Several minimum delays later: still closed, no new connection at the relay.
  ch.send({ type: "held", n: 1 }); // waits for a connection
  ch.send({ type: "held", n: 2 });
  assert.equal(ch.queuedCount, 2);
  await sleep(FAST.minDelayMs * 15);
  assert.equal(ch.state, "closed");
  assert.equal(relay.connections, connectionsBefore, "no reconnect to a revoked URL");

  const peer = channelFor(t, fresh.url);
  const got = [];
  peer.onMessage("held", (m) => got.push(m.n));
  await peer.opened();
  ch.setUrl(fresh.url);
  assert.equal(ch.url, fresh.url);
  await ch.opened();
  await waitFor(() => got.length === 2, { what: "the queue flushed on the new URL" });
  assert.deepEqual(got, [1, 2]);
});

test("maxRetries: RETRIES_EXHAUSTED after exactly maxRetries retries; reconnect() starts again", async (t) => {
  const relay = await restartableRelay(t);
  const { url } = await relay.createChannel();
  await relay.stop(); // the port now refuses connections
  const ch = channelFor(t, url, { reconnect: { ...FAST, maxRetries: 2 } });
  const log = record(ch);
  await waitFor(() => ch.state === "closed", { timeoutMs: 5000, what: "closed after the retries" });
  const exhausted = log.errors("RETRIES_EXHAUSTED");
  assert.equal(exhausted.length, 1);
  assert.equal(exhausted[0].arg.detail, 2);
  assert.deepEqual(
    log.of("reconnecting").map((e) => e.arg.attempt),
    [1, 2],
  );
  assert.equal(log.errors("SOCKET_ERROR").length, 3, "the first attempt and two retries");
  assert.equal(log.of("close").at(-1).arg.willReconnect, false, "the last failure is final");
  await sleep(FAST.maxDelayMs * 2);
  assert.equal(ch.state, "closed", "no retry after giving up");
  assert.equal(log.errors("SOCKET_ERROR").length, 3);

  await relay.start();
  ch.reconnect();
  await ch.opened();
  assert.equal(ch.attempt, 0);
  // And the counter starts from zero: another outage gets its full maxRetries again.
  await relay.stop();
  await waitFor(() => ch.state === "closed", { timeoutMs: 5000, what: "closed again" });
  assert.equal(log.errors("RETRIES_EXHAUSTED").length, 2);
  assert.deepEqual(
    log.of("reconnecting").map((e) => e.arg.attempt),
    [1, 2, 1, 2],
  );
});

test("setUrl: same URL is a no-op; a new URL closes the old socket with 1000, resets backoff, flushes there; null goes idle", async (t) => {
  const relay = await relayFor(t);
  const a = await relay.createChannel();
  const b = await relay.createChannel();
  const serverSockets = [];
  relay.on("connection", ({ token, socket }) => {
    const entry = { token, closeCode: null };
    socket.on("close", (code) => (entry.closeCode = code));
    serverSockets.push(entry);
  });
  const ch = channelFor(t, a.url, { reconnect: FAST });
  const log = record(ch);
  await ch.opened();

  // Same URL: nothing happens.
  const states = log.of("state").length;
  ch.setUrl(a.url);
  await sleep(150);
  assert.equal(relay.connections, 1);
  assert.equal(log.of("state").length, states);
  assert.equal(ch.state, "open");

  // Another URL: the old socket is closed with 1000 (seen by the relay), the new one opens and
  // gets the queue.
  const got = [];
  const peer = channelFor(t, b.url);
  peer.onMessage("m", (m) => got.push(m.n));
  await peer.opened();
  ch.setUrl(b.url);
  ch.send({ type: "m", n: 1 }); // queued while the new socket connects
  assert.equal(ch.queuedCount, 1);
  const closeAtSwitch = log.of("close").at(-1).arg;
  assert.deepEqual([closeAtSwitch.code, closeAtSwitch.willReconnect], [1000, true]);
  await ch.opened();
  await waitFor(() => serverSockets[0].closeCode !== null, { what: "the old server-side socket closed" });
  assert.equal(serverSockets[0].token, a.token);
  assert.equal(serverSockets[0].closeCode, 1000);
  await waitFor(() => got.length === 1, { what: "the queue flushed on the new URL" });
  assert.deepEqual(got, [1]);
  assert.equal(relay.clientCount(a.token), 0);

  // Backoff reset: build up attempts against a dead port with a long fixed delay, then switch.
  const dead = `ws://127.0.0.1:${await closedPort()}/ch/dead`;
  const slow = channelFor(t, dead, { reconnect: { minDelayMs: 300, maxDelayMs: 10000, jitter: 0 } });
  const slowLog = record(slow);
  await waitFor(() => slow.attempt >= 3, { timeoutMs: 5000, what: "three failed attempts" });
  assert.ok(slowLog.of("reconnecting").at(-1).arg.delayMs >= 1200, "a long wait is pending");
  slow.send({ type: "m", n: 2 });
  const switchedAt = performance.now();
  slow.setUrl(b.url);
  await slow.opened();
  assert.ok(performance.now() - switchedAt < 600, "connected at once, not after the pending backoff");
  assert.equal(slow.attempt, 0);
  await waitFor(() => got.length === 2, { what: "the slow channel's queue flushed" });
  assert.deepEqual(got, [1, 2]);

  // null: disconnect and stay idle.
  const connections = relay.connections;
  ch.setUrl(null);
  assert.equal(ch.state, "idle");
  assert.equal(ch.url, null);
  const finalClose = log.of("close").at(-1).arg;
  assert.equal(finalClose.willReconnect, false);
  await sleep(FAST.maxDelayMs * 2);
  assert.equal(ch.state, "idle");
  assert.equal(relay.connections, connections, "no reconnect while idle");
  await waitFor(() => relay.clientCount(b.token) === 2, { what: "the relay saw the idle channel leave" });
});
