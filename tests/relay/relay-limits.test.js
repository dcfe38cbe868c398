// The relay's production limits and URLs over real HTTP and real sockets: each limit exceeded
// gives its documented close code or HTTP status (docs/deploy.md), its /metrics counter moves,
// and the other clients on the relay carry on; the API token; --public-url and --trust-proxy;
// bad flags and variables are clear errors. Relay-side behaviour: runs once (node 20 + ws).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import { WebSocket } from "ws";
import { flavor, relayFor, root, waitFor } from "../node/helpers.js";
import { metrics } from "./redis-tools.js";
import { rawClient as client } from "./relay-tools.js";

const skip = flavor === "node20-ws" ? false : "relay-side only: runs once, under node 20 + ws";
const CLI = `${root}/relay/cli.js`;

/** Raw HTTP (fetch cannot set Host), from a chosen local address. */
function request(url, { method = "GET", headers = {}, localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, localAddress, headers: { Connection: "close", ...headers } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      res.on("end", () => {
        let json = null;
        try {
          json = JSON.parse(body);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode, headers: res.headers, body: json ?? body });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

async function bystander(t, relay) {
  const { url } = await relay.createChannel();
  const a = await client(t, url);
  const b = await client(t, url);
  return {
    async stillWorks() {
      const n = b.got.length;
      a.send("still here");
      await waitFor(() => b.got.length > n, { what: "a bystander's frame" });
      assert.equal(a.readyState, WebSocket.OPEN);
    },
  };
}

test("connections per address: the one over the limit gets HTTP 429, the counter moves, a slot freed is usable", { skip }, async (t) => {
  const relay = await relayFor(t, { maxConnectionsPerIp: 3 });
  const { url } = await relay.createChannel();
  const open = [await client(t, url), await client(t, url), await client(t, url)];
  await assert.rejects(client(t, url), /Unexpected server response: 429/);
  const m = await metrics(relay);
  assert.equal(m['metachannel_relay_limited_total{limit="connections_per_ip"}'], 1);
  assert.equal(m['metachannel_relay_rejected_upgrades_total{status="429"}'], 1);
  // Another address is not affected (127.0.0.2 is loopback too on Linux).
  const other = new WebSocket(url, { localAddress: "127.0.0.2" });
  t.after(() => other.terminate());
  await new Promise((resolve, reject) => other.once("open", resolve).once("error", reject));
  open[0].close();
  await open[0].closed;
  await waitFor(
    async () => {
      try {
        await client(t, url);
        return true;
      } catch {
        return false;
      }
    },
    { what: "the freed slot" },
  );
});

test("messages per second per connection: over it, close 1008; bytes per second: close 1008; others unaffected", { skip }, async (t) => {
  const relay = await relayFor(t, { maxMessagesPerSecond: 20, maxBytesPerSecond: 4000 });
  const others = await bystander(t, relay);
  const { url } = await relay.createChannel();
  const chatty = await client(t, url);
  for (let i = 0; i < 50; i++) chatty.send(`m${i}`);
  assert.equal(await chatty.closed, 1008);
  const big = await client(t, url);
  for (let i = 0; i < 10; i++) big.send("x".repeat(1000)); // 10 kB in well under a second
  assert.equal(await big.closed, 1008);
  const m = await metrics(relay);
  assert.equal(m['metachannel_relay_limited_total{limit="message_rate"}'], 1);
  assert.equal(m['metachannel_relay_limited_total{limit="byte_rate"}'], 1);
  assert.equal(m['metachannel_relay_server_closes_total{code="1008"}'], 2);
  assert.ok(m['metachannel_relay_dropped_messages_total{reason="rate_limit"}'] >= 1);
  await others.stillWorks();
});

test("max message size: a bigger frame closes its sender with 1009; others unaffected", { skip }, async (t) => {
  const relay = await relayFor(t, { maxMessageBytes: 1000 });
  const others = await bystander(t, relay);
  const { url } = await relay.createChannel();
  const ws = await client(t, url);
  ws.send("y".repeat(1001));
  assert.equal(await ws.closed, 1009);
  assert.equal((await metrics(relay))['metachannel_relay_limited_total{limit="message_size"}'], 1);
  await others.stillWorks();
});

test("channels minted per address per minute: the one over gets HTTP 429 with Retry-After; other addresses can still mint", { skip }, async (t) => {
  const relay = await relayFor(t, { maxChannelsPerMinute: 3 });
  for (let i = 0; i < 3; i++) assert.equal((await request(`${relay.baseUrl}/api/channels`, { method: "POST" })).status, 201);
  const over = await request(`${relay.baseUrl}/api/channels`, { method: "POST" });
  assert.equal(over.status, 429);
  assert.equal(over.headers["retry-after"], "60");
  assert.match(over.body.error, /at most 3 a minute/);
  assert.equal((await request(`${relay.baseUrl}/api/channels`, { method: "POST", localAddress: "127.0.0.2" })).status, 201);
  assert.equal((await metrics(relay))['metachannel_relay_limited_total{limit="mint_rate"}'], 1);
});

test("METACHANNEL_API_TOKEN: minting and rotating need the bearer token (else 401); sockets and health do not", { skip }, async (t) => {
  const secret = "an-api-token-of-some-length";
  const relay = await relayFor(t, { apiToken: secret });
  const post = (path, auth) => request(`${relay.baseUrl}${path}`, { method: "POST", headers: auth ? { Authorization: auth } : {} });
  const none = await post("/api/channels");
  assert.equal(none.status, 401);
  assert.equal(none.headers["www-authenticate"], 'Bearer realm="metachannel-relay"');
  assert.match(none.body.error, /Authorization: Bearer/);
  assert.equal((await post("/api/channels", "Bearer wrong-token-wrong-token")).status, 401);
  assert.equal((await post("/api/channels", secret)).status, 401, "the scheme is required");
  const ok = await post("/api/channels", `Bearer ${secret}`);
  assert.equal(ok.status, 201);
  assert.equal((await post(`/api/channels/${ok.body.token}/rotate`)).status, 401);
  assert.equal((await post(`/api/channels/${ok.body.token}/rotate`, `Bearer ${secret}`)).status, 200);
  assert.equal((await request(`${relay.baseUrl}/healthz`)).status, 200);
  assert.equal((await metrics(relay))['metachannel_relay_limited_total{limit="api_token"}'], 4);
  await assert.rejects(relayFor(t, { apiToken: "short" }), /apiToken must be a string of 16 or more/);
});

test("--public-url is the base of minted URLs; X-Forwarded-* count only from --trust-proxy addresses", { skip }, async (t) => {
  const fixed = await relayFor(t, { publicUrl: "https://chat.example.com/relay/" });
  const minted = await request(`${fixed.baseUrl}/api/channels`, { method: "POST", headers: { Host: "evil.example" } });
  assert.match(minted.body.url, /^wss:\/\/chat\.example\.com\/relay\/ch\/[A-Za-z0-9_-]{22}$/);
  const rotated = await request(`${fixed.baseUrl}/api/channels/${minted.body.token}/rotate`, { method: "POST" });
  assert.match(rotated.body.url, /^wss:\/\/chat\.example\.com\/relay\/ch\//);

  const proxied = await relayFor(t, { trustProxy: ["127.0.0.1"] });
  const https = { Host: "10.0.0.7:8787", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "chat.example.com" };
  const fromProxy = await request(`${proxied.baseUrl}/api/channels`, { method: "POST", headers: https });
  assert.match(fromProxy.body.url, /^wss:\/\/chat\.example\.com\/ch\//, "https page behind a trusted proxy: wss://");
  const notProxy = await request(`${proxied.baseUrl}/api/channels`, { method: "POST", headers: https, localAddress: "127.0.0.2" });
  assert.match(notProxy.body.url, /^ws:\/\/10\.0\.0\.7:8787\/ch\//, "an untrusted peer's X-Forwarded-* are ignored");
  const badHost = await request(`${proxied.baseUrl}/api/channels`, { method: "POST", headers: { ...https, "X-Forwarded-Host": "a b/c" } });
  assert.match(badHost.body.url, /^wss:\/\/10\.0\.0\.7:8787\/ch\//, "a malformed forwarded host is not echoed");
  const plain = await request(`${proxied.baseUrl}/api/channels`, { method: "POST", headers: { Host: "chat.example.com" } });
  assert.match(plain.body.url, /^ws:\/\/chat\.example\.com\/ch\//);
  // The URL minted behind the proxy reaches the channel (through the relay's own port here).
  const path = new URL(fromProxy.body.url).pathname;
  await client(t, `ws://127.0.0.1:${proxied.port}${path}`);

  // A subnet works too (127.0.0.2 is in it: trusted; here the peer is 127.0.0.1).
  const subnet = await relayFor(t, { trustProxy: ["127.0.0.0/8"] });
  const viaSubnet = await request(`${subnet.baseUrl}/api/channels`, { method: "POST", headers: https, localAddress: "127.0.0.2" });
  assert.match(viaSubnet.body.url, /^wss:\/\/chat\.example\.com\/ch\//);

  // Per-address limits count the forwarded client, not the proxy.
  const limited = await relayFor(t, { trustProxy: ["127.0.0.1"], maxChannelsPerMinute: 1 });
  const as = (ip) => request(`${limited.baseUrl}/api/channels`, { method: "POST", headers: { "X-Forwarded-For": `${ip}, 127.0.0.1` } });
  assert.equal((await as("192.0.2.1")).status, 201);
  assert.equal((await as("192.0.2.2")).status, 201);
  assert.equal((await as("192.0.2.1")).status, 429);
});

function runCli(args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, "--port", "0", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("listening")) child.kill("SIGTERM");
    });
    child.stderr.on("data", (d) => (err += d));
    child.once("exit", (code) => resolve({ code, out, err }));
  });
}

test("bad flags and variables: exit code 2 and a message that says what to fix; the token is never a flag", { skip }, async () => {
  const cases = [
    [["--api-token", "abcdefghijklmnopq"], {}, /--api-token is not accepted .* set the environment variable METACHANNEL_API_TOKEN/],
    [[], { METACHANNEL_API_TOKEN: "short" }, /METACHANNEL_API_TOKEN must be 16 or more characters/],
    [["--public-url", "ftp://x"], {}, /--public-url expects a URL like wss:\/\/chat\.example\.com/],
    [["--public-url", "wss://u:p@x"], {}, /--public-url expects/],
    [["--trust-proxy", "10.0.0.1,proxy.local"], {}, /--trust-proxy expects comma-separated IP addresses or subnets \(10\.0\.0\.0\/8\): \(got "proxy\.local"\)/],
    [["--trust-proxy", "10.0.0.0/33"], {}, /--trust-proxy expects .*\(got "10\.0\.0\.0\/33"\)/],
    [["--channel-idle-ttl", "1.5"], {}, /--channel-idle-ttl expects a non-negative integer/],
    [["--drain-timeout", "x"], {}, /--drain-timeout expects a non-negative integer/],
    [["--max-connections-per-ip", "-3"], {}, /--max-connections-per-ip/],
    [["--state-file", "/tmp/x.json", "--redis", "redis://127.0.0.1:1"], {}, /--state-file is for a relay without --redis/],
  ];
  for (const [args, env, message] of cases) {
    const r = await runCli(args, env);
    assert.equal(r.code, 2, `${args.join(" ")}: exit code`);
    assert.equal(r.out, "", "never listening");
    assert.match(r.err, message);
  }
  const ok = await runCli([], { METACHANNEL_API_TOKEN: "a-good-token-1234567" });
  assert.equal(ok.code, 0);
  assert.match(ok.out, /listening on http:\/\/127\.0\.0\.1:\d+/);
});
