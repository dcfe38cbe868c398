// A relay's channels over time, with real relay processes (and a real redis-server): idle
// channels expire (--channel-idle-ttl) in memory and in Redis, whichever relay swept them,
// while a channel with a client never does; a relay without Redis keeps its channels across
// a restart in its --state-file; SIGTERM closes clients with 1012 and exits after the drain.
// Relay-side behaviour: runs once (node 20 + ws).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { WebSocket } from "ws";
import { Redis } from "ioredis";
import { flavor, channelFor, relayFor, root, waitFor, sleep } from "../node/helpers.js";
import { startRedis, startRelayProcess, post, metrics, hasRedisServer, NO_REDIS_SERVER } from "./redis-tools.js";
import { startRelay } from "../../relay/server.js";
import { rawClient } from "./relay-tools.js";

const once = flavor === "node20-ws" ? false : "relay-side only: runs once, under node 20 + ws";
const skipRedis = once || (hasRedisServer ? false : NO_REDIS_SERVER);

function tempDir(t) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "mc-relay-state-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("memory mode: an idle channel expires after --channel-idle-ttl (404, REVOKED for the client); one with a client stays until it leaves", {
  skip: once,
}, async (t) => {
  const relay = await relayFor(t, { channelIdleTtl: 1 });
  const idle = await relay.createChannel();
  const live = await relay.createChannel();
  const ws = await rawClient(t, live.url);
  await sleep(1600);
  const m = await metrics(relay);
  assert.equal(m.metachannel_relay_channels_expired_total, 1);
  assert.equal(m.metachannel_relay_channels_known, 1);
  await assert.rejects(rawClient(t, idle.url), /Unexpected server response: 404/);
  const late = channelFor(t, idle.url, { WebSocket });
  const err = await new Promise((resolve) => late.on("error", resolve));
  assert.equal(err.code, "REVOKED");
  assert.equal(err.detail, 404);

  // Alive past the TTL; then its client leaves and the idle time starts.
  const second = await rawClient(t, live.url);
  ws.send("alive");
  await waitFor(() => second.got.includes("alive"), { what: "the live channel still delivering" });
  ws.close();
  second.close();
  await Promise.all([ws.closed, second.closed]);
  await sleep(400);
  await rawClient(t, live.url).then((c) => c.close()); // not yet expired
  await waitFor(async () => (await metrics(relay)).metachannel_relay_channels_expired_total === 2, { what: "the second expiry", timeoutMs: 4000 });
  await assert.rejects(rawClient(t, live.url), /Unexpected server response: 404/);
});

test("Redis mode: 10,000 idle channels are gone from Redis after the idle time, swept by whichever relay; a channel with a client stays", {
  skip: skipRedis,
}, async (t) => {
  const TTL = 2;
  const N = 10_000;
  const redis = await startRedis(t);
  const r = new Redis(redis.url);
  t.after(() => r.disconnect());
  const a = await startRelay({ port: 0, redis: redis.url, channelIdleTtl: TTL });
  t.after(() => a.close());
  const b = await startRelayProcess(t, redis.url, { args: ["--channel-idle-ttl", String(TTL)] });

  // Through relay a, in-process (POST /api/channels without the HTTP: the same code path after it).
  const started = Date.now();
  const tokens = [];
  for (let i = 0; i < N; i += 1000) {
    const batch = await Promise.all(Array.from({ length: 1000 }, () => a.createChannel()));
    tokens.push(...batch.map((c) => c.token));
  }
  const createdIn = Date.now() - started;
  const live = (await post(b, "/api/channels")).body.token;
  const holder = await rawClient(t, b.wsUrl(live));
  if (createdIn < TTL * 1000 - 300) {
    assert.equal((await r.keys("mc:ch:*")).length, N + 1, "nothing expired before its idle time");
  }
  const gone = await waitFor(async () => (await r.keys("mc:ch:*")).length === 1 && Date.now(), {
    what: "the idle channels gone from Redis",
    timeoutMs: TTL * 1000 + 10_000,
    intervalMs: 100,
  });
  const [liveDigest] = await r.zrange("mc:active", 0, -1);
  assert.equal(await r.zcard("mc:active"), 1);
  assert.deepEqual(await r.keys("mc:ch:*"), [`mc:ch:${liveDigest}`], "only the live channel is left");
  assert.deepEqual(await r.keys("mc:n:*"), [`mc:n:${liveDigest}`], "and its client count");
  const expired = a.metrics.channelsExpired + (await metrics(b)).metachannel_relay_channels_expired_total;
  assert.equal(expired, N, "every expiry counted once, by the relay that swept it");
  console.log(
    `[relay-expiry] ${N} channels created in ${createdIn} ms, gone from Redis ${gone - started - createdIn} ms after creation ended (TTL ${TTL} s); swept by a: ${a.metrics.channelsExpired}, by b: ${N - a.metrics.channelsExpired}`,
  );

  // The live channel outlives several TTLs, through both relays.
  await sleep(TTL * 1000);
  const other = await rawClient(t, `ws://127.0.0.1:${a.port}/ch/${live}`);
  other.send("still alive");
  await waitFor(() => holder.got.includes("still alive"), { what: "the live channel across relays" });
  await waitFor(async () => (await metrics(b)).metachannel_relay_channels_known === 1, { what: "channels_known" });
  await assert.rejects(rawClient(t, b.wsUrl(tokens[0])), /Unexpected server response: 404/);
  // A rotation's new token is active at once (it expires like any other).
  const rotated = (await post(b, `/api/channels/${live}/rotate`)).body.token;
  assert.equal(await holder.closed, 4001);
  assert.equal(await r.zcard("mc:active"), 1);
  await rawClient(t, `ws://127.0.0.1:${a.port}/ch/${rotated}`);
  assert.ok(!b.log.includes(live) && !b.log.includes(rotated), "no token in the log");
});

test("--state-file: a relay without Redis keeps its channels (and their rotations) across a restart, even after SIGKILL", { skip: once }, async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, "relay-state.json");
  const relay = await startRelayProcess(t, null, { args: ["--state-file", file] });
  const kept = (await post(relay, "/api/channels")).body;
  const old = (await post(relay, "/api/channels")).body;
  const rotated = (await post(relay, `/api/channels/${old.token}/rotate`)).body;
  const ws = await rawClient(t, relay.wsUrl(kept.token));
  assert.equal(await relay.stop(), 0, "SIGTERM: clean exit");
  assert.equal(await ws.closed, 1012);
  const text = readFileSync(file, "utf8");
  assert.ok(!text.includes(kept.token) && !text.includes(rotated.token), "the file holds digests, never tokens");
  assert.equal(JSON.parse(text).channels.length, 2);

  await relay.start(); // same port, same file
  const back = await rawClient(t, relay.wsUrl(kept.token));
  await rawClient(t, relay.wsUrl(rotated.token));
  await assert.rejects(rawClient(t, relay.wsUrl(old.token)), /Unexpected server response: 404/);
  back.close();

  // 201 means on disk: a crash right after it does not lose the channel.
  const fresh = (await post(relay, "/api/channels")).body;
  await relay.kill();
  await relay.start();
  await rawClient(t, relay.wsUrl(fresh.token));
  assert.match(relay.log, /state file: 3 channel\(s\) loaded/);
  assert.ok(!relay.log.includes(fresh.token));
});

test("--state-file that is not a state file: exit code 1 and a message saying what to do", { skip: once }, async (t) => {
  const file = path.join(tempDir(t), "bad.json");
  writeFileSync(file, "{ not json");
  const child = spawn(process.execPath, [`${root}/relay/cli.js`, "--port", "0", "--state-file", file], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  assert.equal(await new Promise((resolve) => child.once("exit", resolve)), 1);
  assert.match(err, /is not a metachannel relay state file \(version 1\); move it away to start empty/);
});

test("SIGTERM: clients closed with 1012 at once, the port released, exit after --drain-timeout when a client never answers", { skip: once }, async (t) => {
  const relay = await startRelayProcess(t, null, { args: ["--drain-timeout", "1"] });
  const { token } = (await post(relay, "/api/channels")).body;
  const polite = await rawClient(t, relay.wsUrl(token));
  const deaf = await rawClient(t, relay.wsUrl(token));
  deaf._socket.pause(); // never reads the close frame, never answers it
  const ch = channelFor(t, relay.wsUrl(token), { reconnect: { minDelayMs: 5000, maxDelayMs: 5000 } });
  await ch.opened();
  const closes = [];
  ch.on("close", (e) => closes.push(e.code));
  const t0 = Date.now();
  const exited = relay.stop();
  assert.equal(await polite.closed, 1012);
  await waitFor(() => closes.includes(1012), { what: "the metachannel client closed with 1012" });
  await assert.rejects(fetch(`${relay.baseUrl}/healthz`), "no longer accepting");
  assert.equal(await exited, 0);
  const took = Date.now() - t0;
  assert.ok(took >= 900, `waited for the deaf client (${took} ms)`);
  console.log(`[relay-drain] SIGTERM -> exit ${took} ms with one client that never answers (--drain-timeout 1)`);
});
