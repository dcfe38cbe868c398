// Secrets stay out of everything the SDK says. One long scenario (connect, bad URLs with
// secret-looking paths, unreachable hosts, refused handshakes, timeouts, revocation,
// reconnects, oversize frames, server closes with reasons, unhandled errors, a WebSocket
// constructor that throws, requests that time out) captures everything the SDK emits:
//   - every error event: message, String(detail), JSON of detail, toString(), stack
//   - every thrown error and rejected promise: the same
//   - console.* output (patched for the whole file), process warnings
//   - the dev relay's log lines
// and the last test scans all of it for the secret parts of the channel URLs used (paths,
// queries, userinfo) and for credentials passed as header values or subprotocols.
// Run: node --test tests/node/secrets.test.js   (and with --experimental-websocket, and Node 22)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import util from "node:util";
import { mc, channelFor, flavor, sleep, waitFor } from "./helpers.js";
import { startRelay } from "../../relay/server.js";
import { startHostileServer } from "./hostile-server.js";
import { silentListener, tcpProxy, closedPort } from "./fault-tools.js";

const { Channel } = mc;
const FAST = { reconnect: { minDelayMs: 10, maxDelayMs: 30 } };

/** Every secret used below; the final test checks none of them was ever emitted. */
const secrets = new Set();
function secret(label) {
  const s = `${label}${randomBytes(9).toString("base64url")}`;
  secrets.add(s);
  return s;
}

// ------------------------------------------------------------------------------ capture

/** Every string the SDK produced, with where it came from. */
const captured = [];
function capture(where, text) {
  captured.push({ where, text: String(text) });
}
function captureError(where, err) {
  if (err === null || err === undefined) return capture(where, String(err));
  capture(`${where} String()`, String(err));
  if (typeof err === "object") {
    capture(`${where} message`, err.message);
    capture(`${where} stack`, err.stack);
    capture(`${where} toString()`, typeof err.toString === "function" ? err.toString() : "");
    capture(`${where} inspect`, util.inspect(err, { depth: 5 }));
    if ("detail" in err) {
      capture(`${where} String(detail)`, String(err.detail));
      try {
        capture(`${where} JSON(detail)`, JSON.stringify(err.detail));
      } catch {
        capture(`${where} inspect(detail)`, util.inspect(err.detail));
      }
    }
  }
}
/** Records every error event (and close reason) of a channel. */
function watch(ch, label) {
  const errors = [];
  ch.on("error", (e) => {
    errors.push(e);
    captureError(`${label} error event ${e.code}`, e);
  });
  ch.on("close", (e) => capture(`${label} close event`, JSON.stringify(e)));
  ch.on("reconnecting", (e) => capture(`${label} reconnecting event`, JSON.stringify(e)));
  ch.on("state", (e) => capture(`${label} state event`, JSON.stringify(e)));
  return errors;
}
/** Disposes what a call that should have failed made anyway (so a failing test cannot hang). */
function discard(made) {
  if (made && typeof made.dispose === "function") made.dispose();
  else if (made && typeof made.disconnect === "function") made.disconnect();
}
/** Runs fn; captures what it throws (it must throw). */
function throws(where, fn) {
  let made;
  try {
    made = fn();
  } catch (err) {
    captureError(`${where} threw`, err);
    return err;
  }
  discard(made);
  assert.fail(`${where}: expected a throw`);
}
async function rejects(where, promise) {
  let made;
  try {
    made = await promise;
  } catch (err) {
    captureError(`${where} rejected`, err);
    return err;
  }
  discard(made);
  assert.fail(`${where}: expected a rejection`);
}

const CONSOLE = ["log", "info", "warn", "error", "debug", "trace"];
const realConsole = {};
const onWarning = (w) => captureError("process warning", w);
let relay;
const relayLog = [];
let hostile;

before(async () => {
  for (const name of CONSOLE) {
    realConsole[name] = console[name];
    console[name] = (...args) => {
      capture(`console.${name}`, util.format(...args));
      realConsole[name].apply(console, args);
    };
  }
  process.on("warning", onWarning);
  relay = await startRelay({ port: 0, log: (line) => relayLog.push(line) });
  hostile = await startHostileServer();
});

after(async () => {
  for (const name of CONSOLE) console[name] = realConsole[name];
  process.off("warning", onWarning);
  await hostile.close();
  await relay.close();
});

/** A real channel URL on the relay, with a secret query too. */
async function channelUrl() {
  const { url, token } = await relay.createChannel();
  secrets.add(token);
  return { base: url, url: `${url}?key=${secret("SECRETQ")}&sig=${secret("SECRETQ")}`, token };
}

// ------------------------------------------------------------------------------ the scenario

test("connect with a secret path, query and Authorization header; exchange messages", async (t) => {
  const { url } = await channelUrl();
  const ch = channelFor(t, url, { ...FAST, headers: { Authorization: `Bearer ${secret("SECRETH")}` } });
  watch(ch, "good");
  await ch.opened();
  const peer = channelFor(t, url, FAST);
  watch(peer, "peer");
  await peer.opened();
  const got = [];
  peer.on("message", (d) => got.push(d));
  ch.send({ type: "hello" });
  await waitFor(() => got.length === 1, { what: "the message" });
  capture("inspect(channel)", util.inspect(ch, { depth: 5, showHidden: true }));
  capture("String(channel)", String(ch));
});

test("bad URLs with secret-looking paths, queries and userinfo: INVALID_URL everywhere they can be given", async (t) => {
  const p = () => secret("SECRETP");
  const bad = [
    `http://127.0.0.1:8080/ch/${p()}?key=${p()}`,
    `https://example.com/ch/${p()}`,
    `ws://example.com/ch/${p()} ${p()}`,
    `ws://example.com/ch/${p()}#k=${p()}`, // a fragment is allowed; a k= in it must be a key
    `ws://example.com:99999/ch/${p()}?k=${p()}`,
    `ws://example.com:abc/ch/${p()}`,
    `ws://user:${p()}@/ch/${p()}`,
    `ws:///ch/${p()}`,
    `wss://:443/${p()}`,
    `${p()}`,
    `ws:/example.com/${p()}`,
    ` ws://example.com/${p()}`,
    `ws://example.com/${p()}\n`,
    `ws://[::1/${p()}`,
    `ws://127.0.0.1:80x\\ch\\${p()}`, // "\\" is "/" to browsers: still the path
    `ws://${"h".repeat(9000)}/${p()}`,
  ];
  const idle = channelFor(t, null);
  watch(idle, "idle");
  for (const url of bad) {
    throws("new Channel(bad)", () => new Channel(url));
    throws("setUrl(bad)", () => idle.setUrl(url));
    await rejects("connect(bad)", mc.connect(url));
    if (mc.LiveDataClient) throws("LiveDataClient(bad)", () => new mc.LiveDataClient(url));
  }
  if (mc.connectFromEnv) {
    for (const url of bad.slice(0, 4)) {
      process.env.MC_SECRETS_TEST_URL = url;
      await rejects("connectFromEnv(bad)", mc.connectFromEnv({ env: "MC_SECRETS_TEST_URL" }));
    }
    delete process.env.MC_SECRETS_TEST_URL;
  }
  if (mc.bindMetaframe && mc.MetaframeClient) {
    const mf = new mc.MetaframeClient();
    t.after(() => mf.dispose());
    const ch = await mc.bindMetaframe(mf, FAST);
    t.after(() => ch.dispose());
    const errs = watch(ch, "metaframe");
    for (const url of bad.slice(0, 6)) mf.setInputs({ _websocket_url_: url });
    await waitFor(() => errs.length >= 6, { what: "INVALID_URL events from the metaframe input" });
  }
  if (mc.ChatClient) {
    const chat = new mc.ChatClient(bad[0], "me");
    await rejects("ChatClient(bad).connect()", chat.connect());
    chat.disconnect();
  }
});

test("credentials in header values and subprotocols are never echoed by INVALID_ARGUMENT", () => {
  throws("bad header value", () => new Channel(null, { headers: { Authorization: `Bearer ${secret("SECRETH")}\r\n` } }));
  throws("header value not a string", () => new Channel(null, { headers: { "X-Api-Key": [secret("SECRETH")] } }));
  throws("bad subprotocol", () => new Channel(null, { protocols: [`token ${secret("SECRETS")}`] }));
  const dup = `auth.${secret("SECRETS")}`;
  throws("duplicate subprotocol", () => new Channel(null, { protocols: [dup, dup] }));
});

test("unreachable host, refused handshake (unknown token), connect timeout, retries exhausted", async (t) => {
  const port = await closedPort();
  const refused = channelFor(t, `ws://127.0.0.1:${port}/ch/${secret("SECRETP")}?t=${secret("SECRETQ")}`, {
    reconnect: { minDelayMs: 5, maxDelayMs: 10, maxRetries: 2 },
  });
  const refusedErrs = watch(refused, "refused");
  await waitFor(() => refusedErrs.some((e) => e.code === "RETRIES_EXHAUSTED"), { what: "RETRIES_EXHAUSTED" });
  await rejects("opened() after RETRIES_EXHAUSTED", refused.opened());

  const unknown = channelFor(t, `${relay.baseUrl.replace("http", "ws")}/ch/${secret("SECRETP")}?k=${secret("SECRETQ")}`, {
    reconnect: { minDelayMs: 5, maxDelayMs: 10, maxRetries: 1 },
  });
  const unknownErrs = watch(unknown, "unknown");
  // The 404 itself is known only where the WebSocket tells the status (the `ws` package): REVOKED.
  const after404 = flavor === "node20-ws" ? "REVOKED" : "RETRIES_EXHAUSTED";
  await waitFor(() => unknownErrs.some((e) => e.code === after404), { what: `${after404} (404)` });

  // "\\" ends the host for browsers and for the URL parser of Node's WebSocket: a valid URL whose path is secret.
  const backslash = channelFor(t, `ws://127.0.0.1:${port}\\ch\\${secret("SECRETP")}?k=${secret("SECRETQ")}`, {
    reconnect: { minDelayMs: 5, maxDelayMs: 10, maxRetries: 1 },
  });
  const backslashErrs = watch(backslash, "backslash");
  await waitFor(() => backslashErrs.some((e) => e.code === "RETRIES_EXHAUSTED"), { what: "RETRIES_EXHAUSTED (backslash URL)" });

  const silent = await silentListener(t);
  const slow = channelFor(t, silent.url(`/ch/${secret("SECRETP")}?k=${secret("SECRETQ")}`), {
    reconnect: { connectTimeoutMs: 50, minDelayMs: 5, maxDelayMs: 10, maxRetries: 1 },
  });
  const slowErrs = watch(slow, "slow");
  await waitFor(() => slowErrs.some((e) => e.code === "CONNECT_TIMEOUT"), { what: "CONNECT_TIMEOUT" });
  await waitFor(() => slowErrs.some((e) => e.code === "RETRIES_EXHAUSTED"), { what: "RETRIES_EXHAUSTED (timeouts)" });
});

test("heartbeat timeout through a stalled proxy, reconnects after drops", async (t) => {
  const { url, token } = await channelUrl();
  const proxy = await tcpProxy(t, relay.port);
  const ch = channelFor(t, proxy.url(url), { ...FAST, heartbeat: { intervalMs: 30, timeoutMs: 60 } });
  const errs = watch(ch, "heartbeat");
  await ch.opened();
  proxy.pause();
  await waitFor(() => errs.some((e) => e.code === "HEARTBEAT_TIMEOUT"), { what: "HEARTBEAT_TIMEOUT" });
  proxy.resume();
  await waitFor(() => ch.state === "open", { what: "open again" });

  const direct = channelFor(t, url, FAST);
  watch(direct, "drops");
  await direct.opened();
  let opens = 0;
  direct.on("open", () => opens++);
  for (let i = 0; i < 3; i++) {
    relay.dropAll(token);
    await waitFor(() => opens > i, { what: `reopen ${i + 1}` });
  }
});

test("revocation (4001) and a switch to the new secret URL", async (t) => {
  const { url, token } = await channelUrl();
  const ch = channelFor(t, url, FAST);
  const errs = watch(ch, "revoked");
  await ch.opened();
  const rotated = await relay.rotate(token);
  secrets.add(rotated.token);
  await waitFor(() => errs.some((e) => e.code === "REVOKED"), { what: "REVOKED" });
  await waitFor(() => ch.state === "closed", { what: "closed" });
  await rejects("opened() after REVOKED", ch.opened());
  ch.setUrl(`${rotated.url}?key=${secret("SECRETQ")}`);
  await ch.opened();
});

test("oversize frames both ways, queue overflow, close with reasons, server closes with reasons", async (t) => {
  const { url } = await channelUrl();
  const ch = channelFor(t, url, { ...FAST, maxMessageBytes: 1000, queue: { maxMessages: 1 } });
  const errs = watch(ch, "oversize");
  await ch.opened();
  const peer = channelFor(t, url, FAST);
  await peer.opened();
  peer.send("x".repeat(2000));
  peer.send(new Uint8Array(2000));
  await waitFor(() => errs.filter((e) => e.code === "MESSAGE_TOO_LARGE").length === 2, { what: "MESSAGE_TOO_LARGE events" });
  throws("send(oversize)", () => ch.send("y".repeat(2000)));
  throws("send(oversize binary)", () => ch.send(new Uint8Array(2000)));

  const queued = channelFor(t, null, { queue: { maxMessages: 1, overflow: "error" } });
  watch(queued, "queue");
  queued.send("one");
  throws("send(queue full)", () => queued.send("two"));
  queued.setUrl(`${url}&extra=${secret("SECRETQ")}`);
  queued.close(4000, "closing while connecting");
  throws("send after close", () => queued.send("x"));
  throws("setUrl after close", () => queued.setUrl(url));

  // The hostile server closes with codes and reasons of its choosing.
  for (const [code, reason] of [
    [1008, "policy violation"],
    [1011, "internal error"],
    [4001, "revoked"],
    [1000, "bye"],
  ]) {
    const id = secret("SECRETP");
    const c = channelFor(t, `${hostile.url(id)}?k=${secret("SECRETQ")}`, { reconnect: { minDelayMs: 5, maxDelayMs: 10, maxRetries: 1 } });
    watch(c, `server close ${code}`);
    const closes = [];
    c.on("close", (e) => closes.push(e));
    await c.opened();
    hostile.drop(id, code, reason);
    await waitFor(() => closes.length > 0, { what: `the close ${code}` });
    assert.equal(closes[0].code, code);
  }
  ch.close(4000, "a reason of our own");
  await waitFor(() => ch.state === "closed", { what: "closed" });
  ch.dispose();
  throws("send after dispose", () => ch.send("x"));
  throws("on after dispose", () => ch.on("open", () => {}));
  await rejects("opened() after dispose", ch.opened());
});

test("unhandled errors, a WebSocket constructor that throws the URL back, requests that time out", async (t) => {
  // No error listener: the SDK says it once on the console.
  const port = await closedPort();
  const lonely = channelFor(t, `ws://127.0.0.1:${port}/ch/${secret("SECRETP")}?k=${secret("SECRETQ")}`, {
    reconnect: { minDelayMs: 5, maxDelayMs: 10, maxRetries: 1 },
  });
  await waitFor(() => lonely.state === "closed", { what: "closed" });

  // A WebSocket implementation whose constructor error message contains the URL.
  class Leaky {
    constructor(url) {
      throw new Error(`cannot open ${url}`);
    }
  }
  const leaky = channelFor(t, `ws://127.0.0.1:9/ch/${secret("SECRETP")}?k=${secret("SECRETQ")}`, {
    WebSocket: Leaky,
    reconnect: { minDelayMs: 5, maxDelayMs: 10, maxRetries: 1 },
  });
  const leakyErrs = watch(leaky, "leaky");
  // A constructor that throws fails the same way every time: one SOCKET_ERROR with its cause
  // (redacted), and no retries.
  await waitFor(() => leaky.state === "closed", { what: "closed (constructor throws)" });
  await sleep(50);
  assert.deepEqual(
    leakyErrs.map((e) => e.code),
    ["SOCKET_ERROR"],
  );
  assert.match(leakyErrs[0].message, /the WebSocket constructor threw Error: cannot open ws:\/\/127\.0\.0\.1:9\/…; not retrying/);

  if (typeof Channel.prototype.request === "function") {
    const { url } = await channelUrl();
    const ch = channelFor(t, url, FAST);
    watch(ch, "request");
    await ch.opened();
    await rejects("request() timeout", ch.request("nobody-answers", { n: 1 }, { timeoutMs: 30 }));
    const pending = ch.request("never", {}, { timeoutMs: 10000 });
    ch.close();
    await rejects("request() on close", pending);
  }
});

// ------------------------------------------------------------------------------ the scan

test("nothing the SDK emitted contains a secret", (t) => {
  for (const line of relayLog) capture("relay log", line);
  // The capture is not empty: every kind of source contributed.
  const kinds = new Set(captured.map((c) => c.where.split(" ")[0]));
  for (const kind of ["good", "refused", "unknown", "slow", "heartbeat", "revoked", "oversize", "leaky", "console.warn", "relay"]) {
    assert.ok(
      [...kinds].some((k) => k.startsWith(kind)),
      `nothing captured from ${kind}: ${[...kinds].join(", ")}`,
    );
  }
  const codes = new Set(captured.filter((c) => / error event /.test(c.where)).map((c) => c.where.split(" error event ")[1].split(" ")[0]));
  for (const code of ["SOCKET_ERROR", "RETRIES_EXHAUSTED", "CONNECT_TIMEOUT", "HEARTBEAT_TIMEOUT", "REVOKED", "MESSAGE_TOO_LARGE", "INVALID_URL"]) {
    assert.ok(codes.has(code), `no ${code} event was captured (got ${[...codes].join(", ")})`);
  }
  assert.ok(
    captured.some((c) => c.text.includes("/…")),
    "redacted URLs (ws://host/…) are in the messages",
  );
  assert.ok(secrets.size >= 40, `${secrets.size} secrets`);

  // The scanner itself finds a secret when there is one.
  const probe = [...secrets][0];
  const find = (list) => list.filter((c) => [...secrets].some((s) => c.text.includes(s)));
  assert.equal(find([{ where: "probe", text: `x ${probe} y` }]).length, 1);

  const leaks = find(captured).map((c) => {
    const s = [...secrets].find((x) => c.text.includes(x));
    const at = c.text.indexOf(s);
    return `${c.where}: …${c.text.slice(Math.max(0, at - 60), at + s.length + 20)}…`;
  });
  assert.deepEqual(leaks, [], `${leaks.length} leak(s) of ${secrets.size} secrets in ${captured.length} captured strings`);
  t.diagnostic(`${secrets.size} secrets, ${captured.length} captured strings, ${codes.size} error codes, no leak`);
});
