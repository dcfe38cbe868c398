// Tests for the dev relay (relay/). Run: node --test tests/relay/relay.test.js
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { refusedStatus } from "../tools.mjs";
import { startRelay } from "../../relay/server.js";

const CLI = fileURLToPath(new URL("../../relay/cli.js", import.meta.url));

// --- helpers ---------------------------------------------------------------

/** Starts a relay that is closed (with its clients) when the test ends. */
async function relayFor(t, options = {}) {
  const relay = await startRelay(options);
  t.after(() => relay.close());
  return relay;
}

/** Opens a client; it is terminated when the test ends. Rejects on a refused upgrade. */
function connect(t, url, protocols, options) {
  const ws = new WebSocket(url, protocols, options);
  t.after(() => ws.terminate());
  ws.inbox = inbox(ws);
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** Buffers messages so none are lost between awaits. */
function inbox(ws) {
  const queue = [];
  const waiters = [];
  ws.on("message", (data, isBinary) => {
    const msg = { data, isBinary };
    if (waiters.length) waiters.shift()(msg);
    else queue.push(msg);
  });
  return {
    next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r))),
    get size() {
      return queue.length;
    },
  };
}

function closed(ws) {
  return new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
}

async function until(predicate, what, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Raw HTTP request (fetch cannot set the Host header). */
function request(url, { method = "GET", headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { Connection: "close", ...headers } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const TOKEN_RE = /^[A-Za-z0-9_-]{22}$/;

// --- HTTP API --------------------------------------------------------------

test("POST /api/channels creates a channel URL on the Host the client used", async (t) => {
  const relay = await relayFor(t);
  const res = await request(`${relay.baseUrl}/api/channels`, { method: "POST" });
  assert.equal(res.status, 201);
  assert.equal(res.headers["access-control-allow-origin"], "*");
  const { url, token } = JSON.parse(res.body);
  assert.match(token, TOKEN_RE);
  assert.equal(Buffer.from(token, "base64url").length, 16);
  assert.equal(url, `ws://127.0.0.1:${relay.port}/ch/${token}`);

  const viaName = JSON.parse((await request(`${relay.baseUrl}/api/channels`, { method: "POST", headers: { Host: "relay.example:4444" } })).body);
  assert.equal(viaName.url, `ws://relay.example:4444/ch/${viaName.token}`);
  assert.notEqual(viaName.token, token);

  // A Host header that is not a plain host[:port] is not echoed back.
  const weird = JSON.parse((await request(`${relay.baseUrl}/api/channels`, { method: "POST", headers: { Host: "evil/x?y" } })).body);
  assert.equal(weird.url, `ws://127.0.0.1:${relay.port}/ch/${weird.token}`);
});

test("health, CORS preflight and unknown routes", async (t) => {
  const relay = await relayFor(t);
  const health = await fetch(`${relay.baseUrl}/api/health`);
  assert.equal(health.status, 200);
  assert.equal(health.headers.get("access-control-allow-origin"), "*");
  assert.deepEqual(await health.json(), { ok: true });

  const preflight = await request(`${relay.baseUrl}/api/channels`, {
    method: "OPTIONS",
    headers: { Origin: "http://localhost:5173", "Access-Control-Request-Method": "POST" },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers["access-control-allow-origin"], "*");
  assert.match(preflight.headers["access-control-allow-methods"], /POST/);

  const missing = await fetch(`${relay.baseUrl}/nope`);
  assert.equal(missing.status, 404);
  assert.ok((await missing.json()).error);
  assert.equal((await fetch(`${relay.baseUrl}/api/channels`)).status, 404, "GET is not create");
});

// --- relaying --------------------------------------------------------------

test("two clients exchange text and binary; frame types kept, sender gets its own", async (t) => {
  const relay = await relayFor(t);
  const { url } = await (await fetch(`${relay.baseUrl}/api/channels`, { method: "POST" })).json();
  const a = await connect(t, url);
  const b = await connect(t, url);

  a.send("hello from a");
  for (const ws of [a, b]) {
    const msg = await ws.inbox.next();
    assert.equal(msg.isBinary, false);
    assert.equal(msg.data.toString(), "hello from a");
  }

  const bytes = Buffer.from([0, 1, 2, 250, 255]);
  b.send(bytes);
  for (const ws of [a, b]) {
    const msg = await ws.inbox.next();
    assert.equal(msg.isBinary, true);
    assert.deepEqual(Buffer.from(msg.data), bytes);
  }

  // Text that happens to be valid as bytes is still text, and vice versa.
  b.send(Buffer.from("looks like text"), { binary: true });
  assert.equal((await a.inbox.next()).isBinary, true);
  assert.equal((await b.inbox.next()).isBinary, true);

  assert.equal(relay.clientCount(new URL(url).pathname.slice(4)), 2);
  assert.equal(relay.connections, 2);
});

test("bursts: frames the relay takes in one turn reach every client complete, in each sender's order, types kept", { timeout: 20000 }, async (t) => {
  // The relay corks a channel's sockets for the rest of the turn in which it fans a frame out
  // (one write per socket per turn): a burst of frames from several senders arrives whole.
  const relay = await relayFor(t);
  const { url } = await (await fetch(`${relay.baseUrl}/api/channels`, { method: "POST" })).json();
  const clients = [await connect(t, url), await connect(t, url), await connect(t, url)];
  const perSender = 300;
  clients.forEach((ws, i) => {
    for (let n = 1; n <= perSender; n++) {
      if (n % 10 === 0) ws.send(Buffer.from([i, n >> 8, n & 255]), { binary: true });
      else ws.send(`${i}:${n}`);
    }
  });
  for (const ws of clients) {
    const last = [0, 0, 0];
    for (let k = 0; k < perSender * clients.length; k++) {
      const { data, isBinary } = await ws.inbox.next();
      const [i, n] = isBinary ? [data[0], (data[1] << 8) | data[2]] : data.toString().split(":").map(Number);
      assert.equal(isBinary, n % 10 === 0, `frame ${i}:${n} kept its type`);
      assert.equal(n, last[i] + 1, `sender ${i}'s frames in order`);
      last[i] = n;
    }
    assert.deepEqual(last, [perSender, perSender, perSender]);
  }
  // A lone frame after the burst is not held back (the sockets are uncorked every turn).
  clients[0].send("after");
  for (const ws of clients) assert.equal((await ws.inbox.next()).data.toString(), "after");
  assert.equal(relay.metrics.messagesOut, (perSender * clients.length + 1) * clients.length);
});

test("channels are isolated from each other", async (t) => {
  const relay = await relayFor(t);
  const one = await relay.createChannel();
  const two = await relay.createChannel();
  const a = await connect(t, one.url);
  const b = await connect(t, two.url);
  a.send("for one");
  b.send("for two");
  assert.equal((await a.inbox.next()).data.toString(), "for one");
  assert.equal((await b.inbox.next()).data.toString(), "for two");
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(a.inbox.size, 0);
  assert.equal(b.inbox.size, 0);
});

test("unknown token and other paths are refused with 404", async (t) => {
  const relay = await relayFor(t);
  const { token } = await relay.createChannel();
  const base = `ws://127.0.0.1:${relay.port}`;
  assert.equal(await refusedStatus(`${base}/ch/${"A".repeat(22)}`), 404);
  assert.equal(await refusedStatus(`${base}/ch/${token.slice(0, -1)}`), 404, "prefix of a real token");
  assert.equal(await refusedStatus(`${base}/ch/`), 404);
  assert.equal(await refusedStatus(`${base}/ch/${token}/more`), 404);
  assert.equal(await refusedStatus(`${base}/`), 404);
  assert.equal(await refusedStatus(`${base}/api/health`), 404);
  assert.equal(relay.connections, 0);
});

test("rotate: old sockets get 4001, old token refused, new URL works", async (t) => {
  const relay = await relayFor(t);
  const old = await relay.createChannel();
  const a = await connect(t, old.url);
  const b = await connect(t, old.url);
  const aClosed = closed(a);
  const bClosed = closed(b);

  const res = await fetch(`${relay.baseUrl}/api/channels/${old.token}/rotate`, { method: "POST" });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  const fresh = await res.json();
  assert.match(fresh.token, TOKEN_RE);
  assert.notEqual(fresh.token, old.token);
  assert.equal(fresh.url, `ws://127.0.0.1:${relay.port}/ch/${fresh.token}`);

  assert.deepEqual(await aClosed, { code: 4001, reason: "revoked" });
  assert.deepEqual(await bClosed, { code: 4001, reason: "revoked" });
  assert.equal(await refusedStatus(old.url), 404);
  assert.equal(relay.clientCount(old.token), 0);

  const c = await connect(t, fresh.url);
  c.send("after rotate");
  assert.equal((await c.inbox.next()).data.toString(), "after rotate");

  // Rotating the old (or any unknown) token again is a 404 with a JSON error.
  const again = await fetch(`${relay.baseUrl}/api/channels/${old.token}/rotate`, { method: "POST" });
  assert.equal(again.status, 404);
  assert.equal(typeof (await again.json()).error, "string");

  // In-process rotate behaves the same.
  const third = await relay.rotate(fresh.token);
  assert.equal((await closed(c)).code, 4001);
  assert.match(third.token, TOKEN_RE);
  await assert.rejects(relay.rotate(fresh.token), /unknown channel/);
});

// --- hardening -------------------------------------------------------------

test("a frame over maxMessageBytes closes the sender with 1009 and is not relayed", async (t) => {
  const relay = await relayFor(t, { maxMessageBytes: 1024 });
  const { url } = await relay.createChannel();
  const sender = await connect(t, url);
  const peer = await connect(t, url);

  sender.send(Buffer.alloc(1024, 1)); // exactly the limit is fine
  assert.equal((await peer.inbox.next()).data.length, 1024);

  const senderClosed = closed(sender);
  sender.send(Buffer.alloc(1025, 2));
  assert.equal((await senderClosed).code, 1009);
  await until(() => relay.clientCount(new URL(url).pathname.slice(4)) === 1, "sender removed");
  assert.equal(peer.inbox.size, 0, "oversized frame was not relayed");
  assert.equal(peer.readyState, WebSocket.OPEN);
});

test("maxClientsPerChannel: the next upgrade is refused with 429", async (t) => {
  const relay = await relayFor(t, { maxClientsPerChannel: 2 });
  const { url, token } = await relay.createChannel();
  const a = await connect(t, url);
  await connect(t, url);
  assert.equal(await refusedStatus(url), 429);
  assert.equal(relay.clientCount(token), 2);

  // Another channel is not affected by this one being full.
  const other = await relay.createChannel();
  await connect(t, other.url);

  // Once someone leaves, there is room again.
  a.close();
  await until(() => relay.clientCount(token) === 1, "a to leave");
  await connect(t, url);
  assert.equal(relay.clientCount(token), 2);
});

test('maxMessagesPerSecond: going over closes with 1008 "rate limit"', async (t) => {
  const relay = await relayFor(t, { maxMessagesPerSecond: 5 });
  const { url } = await relay.createChannel();
  const calm = await connect(t, url);
  const noisy = await connect(t, url);
  const noisyClosed = closed(noisy);

  for (let i = 0; i < 5; i++) calm.send(`calm ${i}`);
  for (let i = 0; i < 8; i++) noisy.send(`noisy ${i}`);

  assert.deepEqual(await noisyClosed, { code: 1008, reason: "rate limit" });
  // calm sent exactly the limit and stays open; only noisy's first 5 got through.
  const seen = [];
  while (calm.inbox.size) seen.push((await calm.inbox.next()).data.toString());
  assert.equal(seen.filter((m) => m.startsWith("calm")).length, 5);
  assert.equal(seen.filter((m) => m.startsWith("noisy")).length, 5);
  assert.equal(calm.readyState, WebSocket.OPEN);
});

test("allowedOrigins: other Origins get 403, listed ones connect", async (t) => {
  const relay = await relayFor(t, { allowedOrigins: ["http://good.test"] });
  const { url, token } = await relay.createChannel();
  assert.equal(await refusedStatus(url, [], { origin: "http://evil.test" }), 403);
  assert.equal(await refusedStatus(url), 403, "no Origin header at all");
  // The origin check comes first, so a foreign page cannot probe tokens.
  assert.equal(await refusedStatus(`ws://127.0.0.1:${relay.port}/ch/nope`, [], { origin: "http://evil.test" }), 403);
  await connect(t, url, [], { origin: "http://good.test" });
  assert.equal(relay.clientCount(token), 1);

  // The JSON API only grants CORS to the listed origins too.
  const good = await request(`${relay.baseUrl}/api/health`, { headers: { Origin: "http://good.test" } });
  assert.equal(good.headers["access-control-allow-origin"], "http://good.test");
  const evil = await request(`${relay.baseUrl}/api/health`, { headers: { Origin: "http://evil.test" } });
  assert.equal(evil.headers["access-control-allow-origin"], undefined);
});

test("subprotocol: first offered wins; `protocols` restricts the choice", async (t) => {
  const relay = await relayFor(t);
  const seen = [];
  relay.on("connection", ({ protocol }) => seen.push(protocol));
  const { url } = await relay.createChannel();
  assert.equal((await connect(t, url, ["mc.v2", "mc.v1"])).protocol, "mc.v2");
  assert.equal((await connect(t, url)).protocol, "");
  assert.deepEqual(seen, ["mc.v2", ""]);

  const strict = await relayFor(t, { protocols: ["mc.v1"] });
  const ch = await strict.createChannel();
  assert.equal((await connect(t, ch.url, ["mc.v3", "mc.v1"])).protocol, "mc.v1");
});

test("connection event exposes token, request headers and socket", async (t) => {
  const relay = await relayFor(t);
  const { url, token } = await relay.createChannel();
  const event = new Promise((resolve) => relay.once("connection", resolve));
  const client = await connect(t, url, ["mc.v1"], { headers: { "X-Metachannel-Test": "yes", "User-Agent": "relay-test" } });
  const { token: seenToken, headers, protocol, socket } = await event;
  assert.equal(seenToken, token);
  assert.equal(headers["x-metachannel-test"], "yes");
  assert.equal(headers["user-agent"], "relay-test");
  assert.equal(headers["sec-websocket-protocol"], "mc.v1");
  assert.equal(protocol, "mc.v1");
  socket.send("direct");
  assert.equal((await client.inbox.next()).data.toString(), "direct");
});

test("dropAll terminates sockets without a close frame (1006)", async (t) => {
  const relay = await relayFor(t);
  const one = await relay.createChannel();
  const two = await relay.createChannel();
  const a = await connect(t, one.url);
  const b = await connect(t, two.url);

  const aClosed = closed(a);
  relay.dropAll(one.token);
  assert.equal((await aClosed).code, 1006);
  assert.equal(b.readyState, WebSocket.OPEN, "only the named channel is dropped");

  const bClosed = closed(b);
  relay.dropAll();
  assert.equal((await bClosed).code, 1006);
  await until(() => relay.clientCount(two.token) === 0, "counts to drop");
  // Channels survive a drop: clients can reconnect to the same URL.
  await connect(t, one.url);
});

test("close() frees the port: restart on the same port with a client connected", async (t) => {
  const first = await startRelay();
  const port = first.port;
  const { url } = await first.createChannel();
  const client = await connect(t, url);
  const clientClosed = closed(client);
  await first.close();
  assert.equal((await clientClosed).code, 1001);
  await first.close(); // idempotent

  const second = await relayFor(t, { port });
  assert.equal(second.port, port);
  assert.equal(await refusedStatus(url), 404, "channels do not survive a restart");
  const fresh = await second.createChannel();
  const again = await connect(t, fresh.url);
  again.send("back");
  assert.equal((await again.inbox.next()).data.toString(), "back");
});

test("close() does not wait for unresponsive clients or idle keep-alive connections", async (t) => {
  const relay = await startRelay();
  const { port } = relay;
  const { token } = await relay.createChannel();

  // A peer that completes the handshake and then never answers a close frame.
  const raw = net.connect(port, "127.0.0.1");
  t.after(() => raw.destroy());
  raw.on("error", () => {});
  raw.write(
    `GET /ch/${token} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  await new Promise((resolve) => raw.once("data", resolve));
  assert.equal(relay.clientCount(token), 1);

  // An idle keep-alive HTTP connection.
  const agent = new http.Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  await new Promise((resolve, reject) => http.get(`${relay.baseUrl}/api/health`, { agent }, (res) => res.resume().on("end", resolve)).on("error", reject));

  const started = Date.now();
  await relay.close();
  assert.ok(Date.now() - started < 2000, `close() took ${Date.now() - started} ms`);
  const again = await relayFor(t, { port });
  assert.equal(again.port, port);
});

test("log output never contains a token or channel path", async (t) => {
  const lines = [];
  const relay = await relayFor(t, { log: (line) => lines.push(line), maxMessageBytes: 64 });
  const created = JSON.parse((await request(`${relay.baseUrl}/api/channels`, { method: "POST" })).body);
  const ws = await connect(t, created.url);
  ws.send("x");
  await ws.inbox.next();
  const probe = "Z".repeat(22);
  await refusedStatus(`ws://127.0.0.1:${relay.port}/ch/${probe}`);
  const wsClosed = closed(ws);
  const rotated = JSON.parse((await request(`${relay.baseUrl}/api/channels/${created.token}/rotate`, { method: "POST" })).body);
  await wsClosed;
  await request(`${relay.baseUrl}/api/channels/${probe}/rotate`, { method: "POST" });
  const big = await connect(t, rotated.url);
  const bigClosed = closed(big);
  big.send(Buffer.alloc(65));
  await bigClosed;
  await relay.close();

  const secrets = [created.token, rotated.token, probe];
  assert.ok(lines.length >= 6, `expected several log lines, got ${lines.length}`);
  assert.ok(
    lines.some((l) => l.includes("/ch/…")),
    "channel URLs are logged in redacted form",
  );
  for (const line of lines) {
    for (const secret of secrets) assert.ok(!line.includes(secret), `log line leaks a token: ${line}`);
  }
});

// --- CLI -------------------------------------------------------------------

test("CLI prints its URL, serves, and exits cleanly on SIGTERM", async (t) => {
  const child = spawn(process.execPath, [CLI, "--port", "0", "--rate", "100", "--allow-origin", "http://a.test"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.after(() => child.kill("SIGKILL"));
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));

  const line = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      out += chunk;
      if (out.includes("\n")) resolve(out.split("\n")[0]);
    });
    child.once("exit", (code) => reject(new Error(`cli exited early with ${code}`)));
  });
  const m = /^metachannel relay listening on (http:\/\/127\.0\.0\.1:(\d+))$/.exec(line);
  assert.ok(m, `unexpected first line: ${line}`);
  assert.ok(Number(m[2]) > 0);

  const res = await fetch(`${m[1]}/api/health`);
  assert.deepEqual(await res.json(), { ok: true });

  child.kill("SIGTERM");
  assert.deepEqual(await exited, { code: 0, signal: null });
});

test("CLI rejects bad flags with exit code 2", async () => {
  const child = spawn(process.execPath, [CLI, "--port", "eighty"], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (c) => (err += c));
  const code = await new Promise((resolve) => child.once("exit", resolve));
  assert.equal(code, 2);
  assert.match(err, /--port/);
});

test("startRelay rejects invalid options", async () => {
  await assert.rejects(startRelay({ maxMessagesPerSecond: -1 }), TypeError);
  await assert.rejects(startRelay({ maxClientsPerChannel: 1.5 }), TypeError);
});
