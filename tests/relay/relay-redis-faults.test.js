// The relay in Redis mode under real faults: a relay process killed (SIGKILL) mid-stream and
// started again, a redis-server stopped and started again under running relays, and a Redis
// that is not there at start. Real processes throughout (relay/cli.js, redis-server).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { WebSocket } from "ws";
import { channelFor, waitFor, sleep, root } from "../node/helpers.js";
import { startRedis, startRelayProcess, post, metrics, freePort, cuttableProxy, hasRedisServer, NO_REDIS_SERVER } from "./redis-tools.js";
import { startRelay } from "../../relay/server.js";

const skip = hasRedisServer ? false : NO_REDIS_SERVER;

function rawClient(t, url) {
  const ws = new WebSocket(url);
  ws.got = [];
  ws.on("message", (data) => ws.got.push(data.toString()));
  t.after(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

async function healthz(relay) {
  const res = await fetch(`${relay.baseUrl}/healthz`);
  return { status: res.status, body: await res.json() };
}

test("a relay killed mid-stream: its client reconnects when it is back, queued frames arrive once, in order, everywhere", { skip }, async (t) => {
  const redis = await startRedis(t);
  const [a, b, c] = await Promise.all([0, 1, 2].map(() => startRelayProcess(t, redis.url)));
  const { token } = (await post(a, "/api/channels")).body;

  const onA = await rawClient(t, a.wsUrl(token));
  const onC = channelFor(t, c.wsUrl(token));
  const gotC = [];
  onC.onMessage("seq", (m) => gotC.push(m.n));
  await onC.opened();
  const sender = channelFor(t, b.wsUrl(token), { reconnect: { minDelayMs: 100, maxDelayMs: 300 } });
  const senderErrors = [];
  sender.on("error", (err) => senderErrors.push(err.code)); // refused while b is down
  await sender.opened();

  // 400 frames, one every 2 ms; b is killed after the 80th and started again 300 ms later.
  const queued = new Set(); // sent while the sender was not open: these must all arrive
  let n = 0;
  let killed = null;
  let noticedAt = Infinity; // the last n sent before the sender saw its socket close
  sender.on("close", () => (noticedAt = Math.min(noticedAt, n)));
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      n += 1;
      if (sender.state !== "open") queued.add(n);
      sender.send({ type: "seq", n });
      if (n === 80) {
        killed = b
          .kill()
          .then(() => sleep(300))
          .then(() => b.start());
      }
      if (n === 400) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  await killed;
  await waitFor(() => sender.state === "open", { what: "the sender back on the restarted relay" });
  const gotA = () => onA.got.map((f) => JSON.parse(f).n);
  await waitFor(() => gotC.at(-1) === 400 && gotA().at(-1) === 400, { timeoutMs: 10_000, what: "the last frame at a and c" });
  await sleep(200);

  assert.ok(queued.size > 0, "some frames were sent while the relay was down (else the test proves nothing)");
  for (const got of [gotA(), gotC]) {
    for (let i = 1; i < got.length; i++) assert.ok(got[i] > got[i - 1], `in order, no duplicates (${got[i - 1]} then ${got[i]})`);
    const have = new Set(got);
    for (const q of queued) assert.ok(have.has(q), `frame ${q}, queued while the relay was down, arrived`);
    // Only frames already handed to the killed relay's socket may be lost (a broadcast relay
    // has no acks): those sent before the sender saw the close. Everything after arrived.
    const lost = [];
    for (let k = 1; k <= 400; k++) if (!have.has(k)) lost.push(k);
    assert.ok(
      lost.every((k) => k <= noticedAt),
      `lost only before the close was seen (#${noticedAt}): ${lost}`,
    );
    t.diagnostic(`lost in flight at the kill: ${lost.length} of 400`);
  }
  assert.ok(
    senderErrors.every((code) => code === "SOCKET_ERROR"),
    String(senderErrors),
  );
  assert.ok(!b.log.includes(token) && !a.log.includes(token));
});

test("Redis restarted under running relays: they close their clients with 1013, /healthz says so, and fan-out resumes without a relay restart", {
  skip,
}, async (t) => {
  const redis = await startRedis(t, { persist: true });
  const [a, b] = await Promise.all([0, 1].map(() => startRelayProcess(t, redis.url)));
  const { token } = (await post(a, "/api/channels")).body;
  const x = await rawClient(t, a.wsUrl(token));
  const y = await rawClient(t, b.wsUrl(token));
  const closedWith = (ws) => new Promise((resolve) => ws.once("close", resolve));
  const [xClosed, yClosed] = [closedWith(x), closedWith(y)];
  const ch = channelFor(t, b.wsUrl(token), { reconnect: { minDelayMs: 100, maxDelayMs: 400 } });
  const chGot = [];
  ch.on("message", (d) => chGot.push(d));
  const chCloses = [];
  ch.on("close", (e) => chCloses.push(e.code));
  await ch.opened();
  x.send("before");
  await waitFor(() => y.got.includes("before") && chGot.includes("before"), { what: "a frame before the outage" });

  await redis.stop();
  for (const r of [a, b]) {
    await waitFor(async () => (await healthz(r)).status === 503, { what: "healthz 503" });
    assert.deepEqual((await healthz(r)).body, { ok: false, redis: "down" });
  }
  // While Redis is away a relay accepts no frame it could not forward: its clients are closed
  // with 1013 (try again later), new channels and upgrades get 503.
  assert.equal(await xClosed, 1013);
  assert.equal(await yClosed, 1013);
  await waitFor(() => chCloses.includes(1013), { what: "the metachannel client closed with 1013" });
  assert.equal((await metrics(a)).metachannel_relay_redis_up, 0);
  assert.equal((await metrics(a))['metachannel_relay_server_closes_total{code="1013"}'], 1);
  assert.equal((await post(b, "/api/channels")).status, 503);
  await assert.rejects(rawClient(t, b.wsUrl(token)), /Unexpected server response: 503/);

  await redis.start(); // same port, same data directory
  for (const r of [a, b]) await waitFor(async () => (await healthz(r)).status === 200, { timeoutMs: 10_000, what: "healthz 200 again" });
  // The channel survived (Redis persistence): clients come back to it.
  await waitFor(() => ch.state === "open", { timeoutMs: 10_000, what: "the metachannel client back by itself" });
  const x2 = await rawClient(t, a.wsUrl(token));
  const y2 = await rawClient(t, b.wsUrl(token));
  x2.send("after-a");
  y2.send("after-b");
  const all = [x2.got, y2.got, chGot];
  await waitFor(() => all.every((got) => got.includes("after-a") && got.includes("after-b")), { what: "frames both ways after the restart" });
  await sleep(200);
  for (const got of all) assert.deepEqual(got.filter((f) => f.startsWith("after")).sort(), ["after-a", "after-b"], "exactly once");
  for (const r of [a, b]) {
    assert.match(r.log, /redis connection lost \(redis:\/\/127\.0\.0\.1:\d+\); reconnecting/);
    assert.match(r.log, /redis connection restored \(redis:\/\/127\.0\.0\.1:\d+\) after [\d.]+ s/);
    assert.ok(!r.log.includes(token), "no token in the log");
    assert.equal((await metrics(r)).metachannel_relay_redis_reconnects_total, 1);
  }
});

test("a rotation while one relay was cut off from Redis: its sockets were closed (1013) at the cut, and the old token is refused (404) when it is back", {
  skip,
}, async (t) => {
  const redis = await startRedis(t);
  const proxy = await cuttableProxy(t, redis.port);
  const a = await startRelayProcess(t, redis.url);
  const b = await startRelayProcess(t, proxy.url); // b reaches Redis through the proxy
  const { token } = (await post(a, "/api/channels")).body;
  const y = await rawClient(t, b.wsUrl(token));
  const yClosed = new Promise((resolve) => y.once("close", resolve));

  proxy.cut();
  await waitFor(async () => (await healthz(b)).status === 503, { what: "b cut off" });
  assert.equal(await yClosed, 1013);
  const rotated = await post(a, `/api/channels/${token}/rotate`);
  assert.equal(rotated.status, 200);

  proxy.heal();
  await waitFor(async () => (await healthz(b)).status === 200, { timeoutMs: 10_000, what: "b back" });
  await assert.rejects(rawClient(t, b.wsUrl(token)), /Unexpected server response: 404/);
  const fresh = await rawClient(t, b.wsUrl(rotated.body.token));
  assert.equal(fresh.readyState, WebSocket.OPEN);
});

test("Redis unreachable at start: a clear error naming host and port (never the password), exit code 1", async () => {
  const port = await freePort();
  const url = `redis://user:s3cret-pw@127.0.0.1:${port}/0`;
  const child = spawn(process.execPath, [`${root}/relay/cli.js`, "--port", "0", "--redis", url], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const code = await new Promise((resolve) => child.once("exit", resolve));
  assert.equal(code, 1);
  assert.equal(stdout, "", "never claimed to be listening");
  assert.equal(stderr.trim(), `metachannel-relay: cannot connect to Redis at redis://127.0.0.1:${port}: ECONNREFUSED`);

  await assert.rejects(startRelay({ port: 0, redis: url }), (err) => {
    assert.equal(err.code, "EREDIS");
    assert.ok(!err.message.includes("s3cret"));
    return true;
  });

  const bad = spawn(process.execPath, [`${root}/relay/cli.js`, "--redis", "localhost:6379"], { stdio: ["ignore", "ignore", "pipe"] });
  let badErr = "";
  bad.stderr.on("data", (d) => (badErr += d));
  assert.equal(await new Promise((resolve) => bad.once("exit", resolve)), 2);
  assert.match(badErr, /--redis expects a URL like redis:\/\/host:port/);
});
