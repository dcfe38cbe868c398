// A rolling restart of three relay processes (Redis mode) behind one port, under load: each
// relay in turn gets SIGTERM (it stops accepting, closes its clients with 1012 and exits after
// draining) and is started again. 30 reliable clients keep sending through it: nothing lost,
// nothing doubled, and each client is back within a second of its relay's close.
// Real processes throughout; runs once (node 20 + ws): the client side of 1012 is covered in
// every flavour by relay-restart-client.test.js.
import { test } from "node:test";
import assert from "node:assert/strict";
import { flavor, channelFor, waitFor, sleep } from "../node/helpers.js";
import { startRedis, startRelayProcess, post, hasRedisServer, NO_REDIS_SERVER } from "./redis-tools.js";
import { balancer, pump, tally, timeline } from "./relay-tools.js";

const skip = flavor !== "node20-ws" ? "heavy: runs once, under node 20 + ws" : hasRedisServer ? false : NO_REDIS_SERVER;
const CLIENTS = 30;
const PER_SECOND = 2; // per client: 60 frames/s into the channel, 1,800 deliveries/s

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

test("rolling restart of 3 relays behind one port with 30 reliable clients: 0 lost, 0 duplicated, back within 1 s", { skip, timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t);
  const relays = await Promise.all([0, 1, 2].map(() => startRelayProcess(t, redis.url, { args: ["--drain-timeout", "2"] })));
  const lb = await balancer(
    t,
    relays.map((r) => r.port),
  );
  const { token } = (await post(relays[0], "/api/channels")).body;
  const url = `ws://127.0.0.1:${lb.port}/ch/${token}`;
  // stableAfterMs 1000: a client moved by one restart counts as settled before the next one
  // (the restarts are 1.5 s apart); the 1012 rule skips the wait once per settled connection.
  const options = { reliable: { bufferMessages: 10_000 }, queue: { maxMessages: 10_000 }, reconnect: { stableAfterMs: 1000 } };
  const channels = Array.from({ length: CLIENTS }, () => channelFor(t, url, options));
  const lines = channels.map((ch) => timeline(ch));
  const seen = tally(channels, "r");
  await Promise.all(channels.map((ch) => ch.opened()));
  const load = pump(channels, PER_SECOND, "r");
  await sleep(1000);

  const exits = [];
  for (const relay of relays) {
    exits.push(await relay.stop()); // SIGTERM; resolves when the process has exited
    await relay.start(); // same port
    await sleep(1500);
  }
  await sleep(500);
  load.stop();
  await waitFor(() => seen.complete(load.sent), { what: "every frame at every client", timeoutMs: 20_000, intervalMs: 50 });
  await sleep(300); // late duplicates would show up here

  assert.deepEqual(exits, [0, 0, 0], "each relay exited cleanly after draining");
  assert.deepEqual(seen.problems, [], "in order, no duplicates");
  assert.deepEqual(seen.lost, [], "no MESSAGES_LOST");
  assert.ok(seen.complete(load.sent), "nothing lost");
  // Every client closed by a relay came back: the time from each 1012 to the next open.
  const backIn = [];
  const waits = [];
  for (const events of lines) {
    events.forEach((e, i) => {
      if (e.open !== false) return;
      const after = events.slice(i + 1);
      const reopen = after.find((x) => x.open);
      assert.ok(reopen, "reopened after its relay's close");
      backIn.push(reopen.at - e.at);
      waits.push(after.find((x) => x.reconnecting).delayMs);
    });
  }
  const closes = lines.flat().filter((e) => e.open === false);
  assert.ok(backIn.length >= CLIENTS, `every client was moved at least once (${backIn.length} moves)`);
  assert.deepEqual([...new Set(closes.map((e) => e.code))], [1012], "every close was a 1012");
  const total = load.sent.reduce((a, b) => a + b, 0);
  console.log(
    `[relay-rolling-restart] ${CLIENTS} reliable clients, ${total} frames sent, ${total * (CLIENTS - 1)} deliveries: 0 lost, 0 duplicated; ` +
      `${backIn.length} moves, back after 1012 in median ${median(backIn).toFixed(0)} ms, max ${Math.max(...backIn).toFixed(0)} ms`,
  );
  // The behaviour behind "back within 1 s" (the time itself is the printed figure): no
  // backoff wait after a 1012, the balancer sends the client to a relay that is up.
  assert.deepEqual([...new Set(waits)], [0], "no backoff wait after a 1012");
  for (const r of relays) assert.ok(!r.log.includes(token), "no token in the log");
});
