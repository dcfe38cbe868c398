// The relay in Redis mode: three relay processes (relay/cli.js --redis) on one real
// redis-server, clients spread over them (raw `ws` clients and the built metachannel package).
// Faults (a killed relay, a restarted Redis, Redis unreachable) are in relay-redis-faults.test.js.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { refusedStatus } from "../tools.mjs";
import { channelFor, waitFor, sleep } from "../node/helpers.js";
import { startRedis, startRelayProcess, post, metrics, hasRedisServer, NO_REDIS_SERVER } from "./redis-tools.js";
import { startRelay } from "../../relay/server.js";

const skip = hasRedisServer ? false : NO_REDIS_SERVER;

/** A raw `ws` client that records every frame; terminated when the test ends. */
function rawClient(t, url) {
  const ws = new WebSocket(url);
  ws.got = [];
  ws.closedWith = null;
  ws.on("message", (data, isBinary) => ws.got.push(isBinary ? `bin:${Buffer.from(data).toString("hex")}` : data.toString()));
  ws.on("close", (code) => (ws.closedWith = code));
  t.after(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** Three relays on one fresh Redis. */
async function cluster(t, args = []) {
  const redis = await startRedis(t);
  const relays = await Promise.all([0, 1, 2].map(() => startRelayProcess(t, redis.url, { args })));
  return { redis, relays };
}

function assertNoToken(relays, tokens) {
  for (const r of relays) for (const token of tokens) assert.ok(!r.log.includes(token), "a relay log contains a token");
}

test("three relays: created through one, clients on all three, every frame reaches every client exactly once", { skip }, async (t) => {
  const { relays } = await cluster(t);
  const [a, b, c] = relays;
  const { status, body } = await post(a, "/api/channels");
  assert.equal(status, 201);
  const { token } = body;

  // Two raw clients per relay, plus the metachannel package on b and c.
  const raws = [];
  for (const r of relays) for (let i = 0; i < 2; i++) raws.push(await rawClient(t, r.wsUrl(token)));
  const chans = [b, c].map((r) => channelFor(t, r.wsUrl(token)));
  const chanGot = chans.map((ch) => {
    const got = [];
    ch.on("message", (data) =>
      got.push(typeof data === "string" ? data : data instanceof Uint8Array ? `bin:${Buffer.from(data).toString("hex")}` : JSON.stringify(data)),
    );
    return got;
  });
  await Promise.all(chans.map((ch) => ch.opened()));

  // Every raw client sends 25 text frames and 5 binary ones; each metachannel client 10 JSON objects.
  const expected = [];
  raws.forEach((ws, i) => {
    for (let n = 0; n < 30; n++) {
      if (n % 6 === 5) {
        const bytes = Buffer.from([i, n, 0, 255]);
        ws.send(bytes);
        expected.push(`bin:${bytes.toString("hex")}`);
      } else {
        ws.send(`c${i}-${n}`);
        expected.push(`c${i}-${n}`);
      }
    }
  });
  chans.forEach((ch, i) => {
    for (let n = 0; n < 10; n++) {
      ch.send({ type: "m", from: `mc${i}`, n });
      expected.push(JSON.stringify({ type: "m", from: `mc${i}`, n }));
    }
  });

  const inboxes = [...raws.map((ws) => ws.got), ...chanGot];
  await waitFor(() => inboxes.every((got) => got.length >= expected.length), { timeoutMs: 10_000, what: `${expected.length} frames at every client` });
  await sleep(300); // a duplicate would arrive in this window
  const sortedExpected = [...expected].sort();
  for (const got of inboxes) {
    assert.deepEqual([...got].sort(), sortedExpected, "each frame exactly once");
    // Frames of one sender keep their order at every client.
    for (let i = 0; i < raws.length; i++) {
      const mine = got.filter((f) => f.startsWith(`c${i}-`));
      assert.deepEqual(
        mine,
        expected.filter((f) => f.startsWith(`c${i}-`)),
      );
    }
  }
  // Each relay published its clients' frames once and took the others' from Redis.
  const m = await Promise.all(relays.map(metrics));
  const totalIn = m.reduce((s, x) => s + x.metachannel_relay_messages_in_total, 0);
  assert.equal(totalIn, expected.length);
  assert.equal(
    m.reduce((s, x) => s + x.metachannel_relay_redis_published_total, 0),
    expected.length,
  );
  assert.equal(
    m.reduce((s, x) => s + x.metachannel_relay_messages_out_total, 0),
    expected.length * inboxes.length,
  );
  assert.deepEqual(
    m.map((x) => x.metachannel_relay_clients),
    [2, 3, 3],
  );
  assert.deepEqual(
    m.map((x) => x.metachannel_relay_redis_up),
    [1, 1, 1],
  );
  assertNoToken(relays, [token]);
});

test("rotation through one relay closes the old token's sockets on every relay with 4001; the new URL works everywhere", { skip }, async (t) => {
  const { relays } = await cluster(t);
  const [a, b, c] = relays;
  const { token } = (await post(a, "/api/channels")).body;
  const raws = [];
  for (const r of relays) raws.push(await rawClient(t, r.wsUrl(token)));
  const ch = channelFor(t, a.wsUrl(token));
  const revoked = new Promise((resolve) => ch.on("error", (err) => err.code === "REVOKED" && resolve(err)));
  await ch.opened();

  const rotated = await post(c, `/api/channels/${token}/rotate`);
  assert.equal(rotated.status, 200);
  const fresh = rotated.body.token;
  assert.notEqual(fresh, token);
  await waitFor(() => raws.every((ws) => ws.closedWith !== null), { what: "every old socket closed" });
  assert.deepEqual(
    raws.map((ws) => ws.closedWith),
    [4001, 4001, 4001],
  );
  await revoked;
  assert.equal(ch.state, "closed");

  // The old token is gone everywhere (and cannot be rotated again); the new one works everywhere.
  for (const r of relays) assert.equal(await refusedStatus(r.wsUrl(token)), 404);
  assert.equal((await post(b, `/api/channels/${token}/rotate`)).status, 404);
  const fresh3 = [];
  for (const r of relays) fresh3.push(await rawClient(t, r.wsUrl(fresh)));
  fresh3[1].send("after rotation");
  await waitFor(() => fresh3.every((ws) => ws.got.length === 1), { what: "the frame on the new URL everywhere" });
  assert.deepEqual(
    fresh3.map((ws) => ws.got[0]),
    ["after rotation", "after rotation", "after rotation"],
  );
  ch.setUrl(b.wsUrl(fresh));
  await ch.opened();
  assertNoToken(relays, [token, fresh]);
});

test("maxClientsPerChannel counts the clients of every relay; a freed slot anywhere is usable anywhere", { skip }, async (t) => {
  const { relays } = await cluster(t, ["--max-clients", "3"]);
  const [a, b, c] = relays;
  const { token } = (await post(b, "/api/channels")).body;
  const first = await rawClient(t, a.wsUrl(token));
  await rawClient(t, a.wsUrl(token));
  await rawClient(t, b.wsUrl(token));
  for (const r of relays) assert.equal(await refusedStatus(r.wsUrl(token)), 429);
  first.close();
  // The slot is given back through Redis once a's socket has closed.
  const late = await waitFor(
    async () => {
      try {
        return await rawClient(t, c.wsUrl(token));
      } catch {
        return null;
      }
    },
    { what: "a free slot on c" },
  );
  assert.equal(late.readyState, WebSocket.OPEN);
  assert.equal(await refusedStatus(a.wsUrl(token)), 429);
  const m = await metrics(a);
  assert.ok(m['metachannel_relay_rejected_upgrades_total{status="429"}'] >= 2);
});

test("channels live in Redis: they survive a restart of every relay process", { skip }, async (t) => {
  const { relays } = await cluster(t);
  const { token } = (await post(relays[0], "/api/channels")).body;
  const before = await rawClient(t, relays[1].wsUrl(token));
  for (const r of relays) assert.equal(await r.stop(), 0, "SIGTERM: clean exit");
  assert.equal(before.closedWith ?? (await new Promise((r) => before.once("close", r))), 1012, "SIGTERM: service restart");

  for (const r of relays) {
    r.port = 0; // new processes on new ports
    await r.start();
  }
  const clients = [];
  for (const r of relays) clients.push(await rawClient(t, r.wsUrl(token)));
  clients[2].send("still here");
  await waitFor(() => clients.every((ws) => ws.got.length === 1), { what: "the frame at every client" });
  assert.deepEqual((await post(relays[1], `/api/channels/${token}/rotate`)).status, 200);
});

test("GET /healthz and GET /metrics, with Redis and without", { skip }, async (t) => {
  const { relays } = await cluster(t);
  const health = await fetch(`${relays[0].baseUrl}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { ok: true, redis: "up" });
  const res = await fetch(`${relays[0].baseUrl}/metrics`);
  assert.match(res.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  for (const name of [
    "clients",
    "channels",
    "messages_in_total",
    "bytes_in_total",
    "messages_out_total",
    "bytes_out_total",
    "dropped_messages_total",
    "redis_up",
    "redis_reconnects_total",
  ]) {
    assert.match(text, new RegExp(`^# TYPE metachannel_relay_${name} (gauge|counter)$`, "m"));
  }

  // Single-process mode: the same endpoints, no Redis figures.
  const solo = await startRelay({ port: 0 });
  t.after(() => solo.close());
  assert.deepEqual(await (await fetch(`${solo.baseUrl}/healthz`)).json(), { ok: true, redis: "disabled" });
  const { url } = await solo.createChannel();
  const ws = await rawClient(t, url);
  ws.send("12345");
  await waitFor(() => ws.got.length === 1, { what: "echo" });
  const m = await metrics(solo);
  assert.equal(m.metachannel_relay_clients, 1);
  assert.equal(m.metachannel_relay_channels, 1);
  assert.equal(m.metachannel_relay_messages_in_total, 1);
  assert.equal(m.metachannel_relay_bytes_in_total, 5);
  assert.equal(m.metachannel_relay_messages_out_total, 1);
  assert.equal(m.metachannel_relay_redis_up, undefined);
  assert.equal(solo.shared, false);
});

test("startRelay({ redis }) in-process: a bad URL is a TypeError, a busy port rejects; shares channels with the CLI relays", { skip }, async (t) => {
  await assert.rejects(startRelay({ port: 0, redis: "http://127.0.0.1:6379" }), { name: "TypeError", message: /redis:\/\/host:port/ });
  const redis = await startRedis(t);
  const cliRelay = await startRelayProcess(t, redis.url);
  await assert.rejects(startRelay({ port: cliRelay.port, redis: redis.url }), { code: "EADDRINUSE" });
  const inproc = await startRelay({ port: 0, redis: redis.url });
  t.after(() => inproc.close());
  assert.equal(inproc.shared, true);
  const { token } = await inproc.createChannel();
  const x = await rawClient(t, cliRelay.wsUrl(token));
  const y = await rawClient(t, `ws://127.0.0.1:${inproc.port}/ch/${token}`);
  x.send("x");
  y.send("y");
  await waitFor(() => x.got.length === 2 && y.got.length === 2, { what: "both frames at both clients" });
  assert.deepEqual(
    [x.got.sort(), y.got.sort()],
    [
      ["x", "y"],
      ["x", "y"],
    ],
  );
  assert.equal(inproc.clientCount(token), 1, "clientCount is this process's sockets");
});
