// Browser signals (online / offline / visibilitychange) reaching the core. Node has no window,
// so this file gives the process one: a real EventTarget as `window` and another as `document`
// (set after the package is loaded, so the package still runs as in Node and uses real
// sockets). Events are dispatched the way a browser dispatches them; the relay, the sockets
// and the faults are real. Own file: the globals must not leak into other suites.
import { test } from "node:test";
import assert from "node:assert/strict";
import { channelFor, waitFor, sleep } from "./helpers.js";
import { restartableRelay, tcpProxy, record } from "./fault-tools.js";

/** An EventTarget that knows how many listeners it holds. */
class CountingTarget extends EventTarget {
  listeners = 0;
  addEventListener(type, l, o) {
    this.listeners++;
    super.addEventListener(type, l, o);
  }
  removeEventListener(type, l, o) {
    this.listeners--;
    super.removeEventListener(type, l, o);
  }
}
const win = new CountingTarget();
const doc = new CountingTarget();
doc.visibilityState = "visible";
globalThis.window = win;
globalThis.document = doc;

// A long fixed backoff: anything that connects sooner than this was triggered by a signal.
const SLOW = { minDelayMs: 5000, maxDelayMs: 5000, jitter: 0 };

test("offline: a drop burns no retries and waits; online: retries at once", async (t) => {
  const relay = await restartableRelay(t);
  const { url } = await relay.createChannel();
  const ch = channelFor(t, url, { reconnect: { minDelayMs: 20, maxDelayMs: 200 } });
  const log = record(ch);
  await ch.opened();
  win.dispatchEvent(new Event("offline"));
  await relay.restart(); // the drop happens while offline; the relay is back at once
  await waitFor(() => ch.state === "reconnecting", { what: "reconnecting" });
  const connections = relay.connections;
  await sleep(400); // 20 x minDelayMs: an online channel would have reconnected long ago
  assert.equal(ch.state, "reconnecting");
  assert.equal(ch.attempt, 0, "no attempt counted while offline");
  assert.equal(log.of("reconnecting").length, 0, "no retry scheduled while offline");
  assert.equal(relay.connections, connections, "no connection attempt while offline");

  const onlineAt = performance.now();
  win.dispatchEvent(new Event("online"));
  await ch.opened();
  assert.ok(performance.now() - onlineAt < 1000);
});

test("visibilitychange to visible: a waiting retry happens now; hidden does nothing", async (t) => {
  const relay = await restartableRelay(t);
  const { url } = await relay.createChannel();
  const ch = channelFor(t, url, { reconnect: SLOW });
  await ch.opened();
  await relay.restart();
  await waitFor(() => ch.state === "reconnecting", { what: "reconnecting (5 s backoff)" });
  doc.visibilityState = "hidden";
  doc.dispatchEvent(new Event("visibilitychange"));
  await sleep(200);
  assert.equal(ch.state, "reconnecting", "hidden: still waiting");
  doc.visibilityState = "visible";
  const shownAt = performance.now();
  doc.dispatchEvent(new Event("visibilitychange"));
  await ch.opened();
  assert.ok(performance.now() - shownAt < 1000, "reconnected well before the 5 s backoff");
});

test("visibilitychange to visible with a heartbeat: a stale socket is probed at once", async (t) => {
  const relay = await restartableRelay(t);
  const { url } = await relay.createChannel();
  const proxy = await tcpProxy(t, relay.port);
  const ch = channelFor(t, proxy.url(url), { heartbeat: { intervalMs: 60000, timeoutMs: 300 }, reconnect: { minDelayMs: 20, maxDelayMs: 200 } });
  const log = record(ch);
  await ch.opened();
  proxy.pause(); // the socket died while the page was in the background
  await sleep(100);
  const shownAt = performance.now();
  doc.dispatchEvent(new Event("visibilitychange"));
  await waitFor(() => log.errors("HEARTBEAT_TIMEOUT").length === 1, { timeoutMs: 3000, what: "HEARTBEAT_TIMEOUT" });
  const detected = log.errors("HEARTBEAT_TIMEOUT")[0].at - shownAt;
  assert.ok(detected < 1000, `detected ${Math.round(detected)} ms after the page came back (interval is 60 s)`);
  proxy.resume();
  await waitFor(() => ch.state === "open", { timeoutMs: 3000, what: "reopened" });
});

test("dispose() removes the browser listeners", async (t) => {
  const before = [win.listeners, doc.listeners];
  const a = channelFor(t, null);
  const b = channelFor(t, null);
  assert.deepEqual([win.listeners, doc.listeners], [before[0] + 4, before[1] + 2]);
  a.dispose();
  b.dispose();
  b.dispose(); // idempotent
  assert.deepEqual([win.listeners, doc.listeners], before);
  // Signals after dispose reach nobody (a listener left behind would call a deleted object).
  win.dispatchEvent(new Event("online"));
  doc.dispatchEvent(new Event("visibilitychange"));
});
