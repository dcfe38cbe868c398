// Redis stopped for 5 s under 200 frames/s, two relay processes: a relay never accepts a frame
// it cannot forward. It closes its clients with 1013 while Redis is away (and refuses upgrades
// with 503), so a plain client loses only frames a close it saw accounts for, and reliable
// clients lose nothing. Real processes; runs once (node 20 + ws): heavy, relay-side.
import { test } from "node:test";
import assert from "node:assert/strict";
import { flavor, channelFor, waitFor, sleep } from "../node/helpers.js";
import { startRedis, startRelayProcess, post, metrics, hasRedisServer, NO_REDIS_SERVER } from "./redis-tools.js";
import { pump, tally, timeline } from "./relay-tools.js";

const skip = flavor !== "node20-ws" ? "heavy: runs once, under node 20 + ws" : hasRedisServer ? false : NO_REDIS_SERVER;
// A frame written this long before a close may still have been in flight when Redis went
// away (the relay notices a stopped Redis within milliseconds).
const IN_FLIGHT_MS = 300;

/** Where `line` (a timeline) was not open: [from, to] intervals, `to` Infinity if never reopened. */
function downtimes(line) {
  const out = [];
  let from = null;
  for (const e of line) {
    if (e.open === false && from === null) from = e.at;
    if (e.open === true && from !== null) {
      out.push([from, e.at]);
      from = null;
    }
  }
  if (from !== null) out.push([from, Infinity]);
  return out;
}

/** When frame n (1-based) of a sender left it: at send() if open, else at its next open (the queue). */
function writtenAt(load, s, n, line) {
  const at = load.sentAt[s][n - 1];
  if (load.state[s][n - 1] === "open") return at;
  return line.find((e) => e.open === true && e.at >= at)?.at ?? Infinity;
}

test("Redis stopped for 5 s under 200 frames/s: plain clients lose only what a close they saw accounts for; reliable clients lose nothing", {
  skip,
  timeout: 60_000,
}, async (t) => {
  const redis = await startRedis(t, { persist: true }); // the channel outlives the Redis restart
  const [a, b] = await Promise.all([0, 1].map(() => startRelayProcess(t, redis.url)));
  const { token } = (await post(a, "/api/channels")).body;
  const on = (relay) => relay.wsUrl(token);
  const reconnect = { minDelayMs: 100, maxDelayMs: 500 };
  const queue = { maxMessages: 10_000 };
  // Plain: one sender on a, receivers on a and b. Reliable: a sender and a receiver on each.
  const plain = [on(a), on(a), on(b)].map((u) => channelFor(t, u, { reconnect, queue }));
  const reliable = [on(a), on(b)].map((u) => channelFor(t, u, { reconnect, queue, reliable: { bufferMessages: 10_000 } }));
  const plainLines = plain.map(timeline);
  const reliableLines = reliable.map(timeline);
  const plainSeen = tally(plain, "p");
  const reliableSeen = tally(reliable, "q");
  await Promise.all([...plain, ...reliable].map((ch) => ch.opened()));

  // 200 frames/s: the plain sender 100/s, each reliable client 50/s.
  const plainLoad = pump(plain.slice(0, 1), 100, "p");
  const reliableLoad = pump(reliable, 50, "q");
  await sleep(1000);
  await redis.stop();
  const downAt = performance.now();
  await sleep(5000);
  await redis.start();
  await sleep(2500);
  plainLoad.stop();
  reliableLoad.stop();
  await waitFor(() => reliableSeen.complete(reliableLoad.sent), { what: "every reliable frame", timeoutMs: 20_000, intervalMs: 50 });
  await waitFor(() => [...plain, ...reliable].every((ch) => ch.state === "open"), { what: "everyone back" });
  await sleep(500);

  // Reliable: everything, once, in order.
  assert.deepEqual(reliableSeen.problems, []);
  assert.deepEqual(reliableSeen.lost, []);
  // Plain: every frame a receiver lacks was written while that receiver was away, or shortly
  // before a close the sender saw (in flight when Redis went).
  const sent = plainLoad.sent[0];
  const senderDown = downtimes(plainLines[0]);
  let lostTotal = 0;
  for (const r of [1, 2]) {
    assert.deepEqual(plainSeen.problems, [], "plain: in order, no duplicates");
    const have = new Set(plainSeen.got[r][0]);
    const receiverDown = downtimes(plainLines[r]);
    const unexplained = [];
    for (let n = 1; n <= sent; n++) {
      if (have.has(n)) continue;
      lostTotal += 1;
      const w = writtenAt(plainLoad, 0, n, plainLines[0]);
      const inside = (spans) => spans.some(([from, to]) => w >= from - IN_FLIGHT_MS && w <= to);
      if (!inside(receiverDown) && !inside(senderDown)) unexplained.push(n);
    }
    assert.deepEqual(unexplained, [], `receiver ${r}: frames lost without a close to account for them`);
  }
  // Everybody was told: every client saw a 1013 close soon after Redis went.
  for (const line of [...plainLines, ...reliableLines]) {
    const close = line.find((e) => e.open === false);
    assert.equal(close?.code, 1013);
    assert.ok(close.at - downAt < 1000, "told within a second");
  }
  const closed = [
    (await metrics(a))['metachannel_relay_server_closes_total{code="1013"}'],
    (await metrics(b))['metachannel_relay_server_closes_total{code="1013"}'],
  ];
  assert.equal(closed[0] + closed[1], plain.length + reliable.length);
  const reliableTotal = reliableLoad.sent.reduce((x, y) => x + y, 0);
  console.log(
    `[relay-redis-outage] Redis down 5 s: plain ${sent} frames, ${lostTotal} missing at the 2 receivers, all accounted for by a close they or the sender saw; ` +
      `reliable ${reliableTotal} frames, 0 lost, 0 duplicated`,
  );
});
