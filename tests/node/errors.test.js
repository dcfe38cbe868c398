// Every error of the contract: the synchronous throws (with their codes and messages) and the
// error events, against the real dev relay.
// Run: node --test tests/node/errors.test.js   (and with --experimental-websocket, and Node 22)
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { WebSocket as WsClient } from "ws";
import { mc, distDir, relayFor, channelFor, sleep, waitFor } from "./helpers.js";

const { Channel, MetaChannelError } = mc;
const FAST = { reconnect: { minDelayMs: 20, maxDelayMs: 40 } };

async function setup(t) {
  const relay = await relayFor(t);
  const { url, token } = await relay.createChannel();
  return { relay, url, token };
}

async function openChannel(t, url, options) {
  const ch = channelFor(t, url, options);
  await ch.opened();
  return ch;
}

/** Records every message a channel receives. */
function inbox(ch) {
  const got = [];
  ch.on("message", (d) => got.push(d));
  return got;
}

/** Records every error event of a channel. */
function errors(ch) {
  const got = [];
  ch.on("error", (e) => got.push(e));
  return got;
}

/** Asserts that fn throws a MetaChannelError with `code` (and, if given, a message matching `message`). */
function throwsCode(fn, code, message, what = "") {
  let thrown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown, `${what}: expected ${code}, nothing was thrown`);
  assert.ok(thrown instanceof MetaChannelError, `${what}: expected a MetaChannelError, got ${thrown?.stack}`);
  assert.ok(thrown instanceof Error);
  assert.equal(thrown.name, "MetaChannelError");
  assert.equal(thrown.code, code, `${what}: ${thrown.message}`);
  assert.equal(typeof thrown.message, "string");
  assert.ok(thrown.message.length > 0);
  if (message) assert.match(thrown.message, message, what);
  return thrown;
}

/** Runs a Node script in a child process with the flags of this process (the same WebSocket flavour). */
function runChild(source) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...process.execArgv.filter((a) => a.startsWith("--experimental")), "--input-type=module", "-e", source],
      { env: { ...process.env }, timeout: 20000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`child failed: ${err.message}\n${stdout}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

// ------------------------------------------------------------------------------ NOT_READY

test("NOT_READY: new Channel before ready() (in a fresh process)", async () => {
  const dist = JSON.stringify(path.join(distDir, "metachannel.mjs"));
  const out = await runChild(`
    const mc = await import(${dist});
    const result = {};
    for (const [name, url] of [["null", null], ["url", "ws://127.0.0.1:9/ch/x"]]) {
      try {
        new mc.Channel(url);
        result[name] = "no throw";
      } catch (err) {
        result[name] = { code: err.code, name: err.name, isMCE: err instanceof mc.MetaChannelError, message: err.message };
      }
    }
    await mc.ready();
    const ch = new mc.Channel(null);
    result.afterReady = ch.state;
    ch.dispose();
    console.log(JSON.stringify(result));
  `);
  const result = JSON.parse(out.trim().split("\n").pop());
  for (const name of ["null", "url"]) {
    assert.equal(result[name].code, "NOT_READY", JSON.stringify(result[name]));
    assert.equal(result[name].name, "MetaChannelError");
    assert.equal(result[name].isMCE, true);
    assert.match(result[name].message, /ready\(\)/, "the message says what to do");
  }
  assert.equal(result.afterReady, "idle");
});

// ------------------------------------------------------------------------------ INVALID_URL

test("INVALID_URL: bad URLs throw from the constructor and from setUrl, without their secret part", async (t) => {
  const bad = [
    "http://127.0.0.1:8080/ch/SECRET-TOKEN?key=SECRET-KEY",
    "https://example.com/ch/SECRET-TOKEN",
    "",
    "   ",
    " ws://example.com/ch/SECRET-TOKEN",
    "ws://exa mple.com/ch/SECRET-TOKEN",
    "ws://example.com/ch/SECRET TOKEN",
    "ws://example.com/ch/SECRET-TOKEN#k=SECRET-FRAGMENT", // a fragment is allowed; a k= in it must be a key
    "ws://example.com:99999/ch/SECRET-TOKEN",
    "ws://example.com:0/ch/SECRET-TOKEN",
    "ws://example.com:port/ch/SECRET-TOKEN?k=SECRET-KEY",
    "ws://example.com:/ch/SECRET-TOKEN",
    "ws:///ch/SECRET-TOKEN",
    "ws://",
    "wss://:443/ch/SECRET-TOKEN",
    "ws://user:SECRET-PASSWORD@/ch/SECRET-TOKEN",
    "not a url SECRET-TOKEN",
    "ws:/example.com/ch/SECRET-TOKEN",
  ];
  const idle = channelFor(t, null);
  for (const url of bad) {
    const e1 = throwsCode(() => new Channel(url), "INVALID_URL", null, `new Channel(${JSON.stringify(url)})`);
    const e2 = throwsCode(() => idle.setUrl(url), "INVALID_URL", null, `setUrl(${JSON.stringify(url)})`);
    for (const e of [e1, e2]) {
      assert.ok(!e.message.includes("SECRET"), `the message leaks a secret: ${e.message}`);
      assert.ok(!String(e.stack).includes("SECRET"), "the stack leaks a secret");
      assert.ok(!JSON.stringify(e.detail ?? null).includes("SECRET"), "the detail leaks a secret");
    }
  }
  assert.equal(idle.state, "idle", "a rejected setUrl changes nothing");
  assert.equal(idle.url, null);

  // The good ones are accepted (control): an IPv6 host, a port, a query.
  for (const url of ["ws://127.0.0.1:1/ch/x", "wss://example.com/ch/x?y=1", "ws://[::1]:8080/", "WS://EXAMPLE.COM/x"]) {
    const ch = new Channel(url, { reconnect: false });
    ch.on("error", () => {});
    ch.dispose();
  }

  // A switch to a bad URL keeps the current connection.
  const { url } = await setup(t);
  const open = await openChannel(t, url);
  throwsCode(() => open.setUrl("http://127.0.0.1/ch/SECRET"), "INVALID_URL");
  assert.equal(open.state, "open");
  assert.equal(open.url, url);
});

// ------------------------------------------------------------------------------ INVALID_ARGUMENT

test("INVALID_ARGUMENT: close codes and reasons", async (t) => {
  const { relay, url } = await setup(t);
  const seen = [];
  relay.on("connection", ({ socket }) => socket.on("close", (code, reason) => seen.push({ code, reason: reason.toString() })));
  const a = await openChannel(t, url);
  for (const code of [999, 1001, 1005, 1006, 1015, 2999, 5000, 1.5, -1, NaN, Infinity, "1000", null]) {
    const e = throwsCode(() => a.close(code), "INVALID_ARGUMENT", null, `close(${String(code)})`);
    assert.match(e.message, /code/, "the message names the close code");
  }
  const ascii124 = "x".repeat(124);
  const euro42 = "€".repeat(42); // 42 characters, 126 bytes of UTF-8
  const emoji31 = "😀".repeat(31); // 62 UTF-16 units, 124 bytes
  for (const reason of [ascii124, euro42, emoji31]) {
    const e = throwsCode(() => a.close(1000, reason), "INVALID_ARGUMENT", null, `close(1000, ${reason.length} chars)`);
    assert.match(e.message, /reason|123/, "the message names the reason");
  }
  throwsCode(() => a.close(1000, 5), "INVALID_ARGUMENT", /reason/);
  assert.equal(a.state, "open", "a rejected close() leaves the channel open");

  // The limits themselves are allowed: 123 bytes of multi-byte text reach the server intact.
  const euro41 = "€".repeat(41); // 123 bytes
  a.close(4999, euro41);
  await waitFor(() => seen.length === 1, { what: "the server to see the close" });
  assert.deepEqual(seen[0], { code: 4999, reason: euro41 });

  const b = await openChannel(t, url);
  b.close(3000, "y".repeat(123));
  await waitFor(() => seen.length === 2, { what: "the second close" });
  assert.deepEqual(seen[1], { code: 3000, reason: "y".repeat(123) });
});

test("INVALID_ARGUMENT: unknown option names, naming the option", () => {
  const cases = [
    [{ bogus: 1 }, "bogus"],
    [{ reconect: {} }, "reconect"],
    [{ reconnect: { minDelay: 5 } }, "reconnect.minDelay"],
    [{ heartbeat: { intervalMs: 10, timeoutMs: 10, interval: 1 } }, "heartbeat.interval"],
    [{ queue: { max: 1 } }, "queue.max"],
  ];
  for (const [options, field] of cases) {
    const e = throwsCode(() => new Channel(null, options), "INVALID_ARGUMENT", null, JSON.stringify(options));
    assert.ok(e.message.includes(field), `"${e.message}" names ${field}`);
  }
});

test("INVALID_ARGUMENT: wrong option types, for every field, naming the field", async () => {
  const fn = () => {};
  // [options, the field the message must name]
  const cases = [
    ["x", "options"],
    [5, "options"],
    [[], "options"],
    [{ protocols: "chat" }, "protocols"],
    [{ protocols: [1] }, "protocols"],
    [{ protocols: ["has space"] }, "protocols"],
    [{ protocols: ["a,b"] }, "protocols"],
    [{ protocols: ["same", "same"] }, "protocols"],
    [{ headers: "Authorization: x" }, "headers"],
    [{ headers: ["x"] }, "headers"],
    [{ headers: { "bad name": "v" } }, "headers"],
    [{ headers: { "X-Token": 1 } }, "X-Token"],
    [{ headers: { "X-Token": "a\r\nInjected: 1" } }, "X-Token"],
    [{ WebSocket: "ws" }, "WebSocket"],
    [{ WebSocket: {} }, "WebSocket"],
    [{ reconnect: "yes" }, "reconnect"],
    [{ reconnect: 1 }, "reconnect"],
    [{ reconnect: null }, "reconnect"],
    [{ reconnect: [] }, "reconnect"],
    [{ reconnect: { minDelayMs: "1" } }, "reconnect.minDelayMs"],
    [{ reconnect: { minDelayMs: -1 } }, "reconnect.minDelayMs"],
    [{ reconnect: { minDelayMs: NaN } }, "reconnect.minDelayMs"],
    [{ reconnect: { maxDelayMs: "x" } }, "reconnect.maxDelayMs"],
    [{ reconnect: { maxDelayMs: -5 } }, "reconnect.maxDelayMs"],
    [{ reconnect: { minDelayMs: 100, maxDelayMs: 50 } }, "reconnect.maxDelayMs"],
    [{ reconnect: { factor: 0.5 } }, "reconnect.factor"],
    [{ reconnect: { factor: "2" } }, "reconnect.factor"],
    [{ reconnect: { jitter: "half" } }, "reconnect.jitter"],
    [{ reconnect: { jitter: 2 } }, "reconnect.jitter"],
    [{ reconnect: { jitter: -0.1 } }, "reconnect.jitter"],
    [{ reconnect: { maxRetries: 1.5 } }, "reconnect.maxRetries"],
    [{ reconnect: { maxRetries: -1 } }, "reconnect.maxRetries"],
    [{ reconnect: { maxRetries: "3" } }, "reconnect.maxRetries"],
    [{ reconnect: { connectTimeoutMs: 0 } }, "reconnect.connectTimeoutMs"],
    [{ reconnect: { connectTimeoutMs: "x" } }, "reconnect.connectTimeoutMs"],
    [{ reconnect: { stableAfterMs: -1 } }, "reconnect.stableAfterMs"],
    [{ reconnect: { stableAfterMs: "x" } }, "reconnect.stableAfterMs"],
    [{ heartbeat: "on" }, "heartbeat"],
    [{ heartbeat: 1000 }, "heartbeat"],
    [{ heartbeat: true }, "heartbeat"],
    // { timeoutMs } alone and { intervalMs } alone are valid: the other keeps its default
    // (tests/node/option-defaults.test.js).
    [{ heartbeat: { intervalMs: null, timeoutMs: 10 } }, "heartbeat.intervalMs"],
    [{ heartbeat: { intervalMs: 0, timeoutMs: 10 } }, "heartbeat.intervalMs"],
    [{ heartbeat: { intervalMs: "1000", timeoutMs: 10 } }, "heartbeat.intervalMs"],
    [{ heartbeat: { intervalMs: 10, timeoutMs: 0 } }, "heartbeat.timeoutMs"],
    [{ heartbeat: { intervalMs: 10, timeoutMs: -1 } }, "heartbeat.timeoutMs"],
    [{ heartbeat: { intervalMs: 10, timeoutMs: 10, message: fn } }, "heartbeat.message"],
    [{ heartbeat: { intervalMs: 10, timeoutMs: 10, message: 1n } }, "heartbeat.message"],
    [{ heartbeat: { intervalMs: 10, timeoutMs: 10, pong: 1 } }, "heartbeat.pong"],
    [{ queue: "big" }, "queue"],
    [{ queue: null }, "queue"],
    [{ queue: { maxMessages: 1.5 } }, "queue.maxMessages"],
    [{ queue: { maxMessages: -1 } }, "queue.maxMessages"],
    [{ queue: { maxMessages: "10" } }, "queue.maxMessages"],
    [{ queue: { maxBytes: 2.5 } }, "queue.maxBytes"],
    [{ queue: { maxBytes: "1MB" } }, "queue.maxBytes"],
    [{ queue: { overflow: "drop" } }, "queue.overflow"],
    [{ queue: { overflow: 1 } }, "queue.overflow"],
    [{ maxMessageBytes: "1" }, "maxMessageBytes"],
    [{ maxMessageBytes: 0 }, "maxMessageBytes"],
    [{ maxMessageBytes: -1 }, "maxMessageBytes"],
    [{ maxMessageBytes: 1.5 }, "maxMessageBytes"],
    [{ maxMessageBytes: NaN }, "maxMessageBytes"],
    [{ maxMessageBytes: Infinity }, "maxMessageBytes"],
  ];
  // Every field of ChannelOptions, ReconnectOptions, HeartbeatOptions and QueueOptions is covered.
  const covered = new Set(cases.map(([, f]) => f));
  for (const field of [
    "protocols",
    "headers",
    "WebSocket",
    "reconnect",
    "heartbeat",
    "queue",
    "maxMessageBytes",
    "reconnect.minDelayMs",
    "reconnect.maxDelayMs",
    "reconnect.factor",
    "reconnect.jitter",
    "reconnect.maxRetries",
    "reconnect.connectTimeoutMs",
    "reconnect.stableAfterMs",
    "heartbeat.intervalMs",
    "heartbeat.timeoutMs",
    "heartbeat.message",
    "heartbeat.pong",
    "queue.maxMessages",
    "queue.maxBytes",
    "queue.overflow",
  ]) {
    assert.ok(covered.has(field), `no case for ${field}`);
  }
  for (const [options, field] of cases) {
    const what = `options ${describeOptions(options)}`;
    const e = throwsCode(() => new Channel(null, options), "INVALID_ARGUMENT", null, what);
    assert.ok(e.message.includes(field), `${what}: "${e.message}" does not name ${field}`);
    // connect() reports the same error as a rejection.
    await assert.rejects(mc.connect("ws://127.0.0.1:1/ch/x", options), (err) => err instanceof MetaChannelError && err.code === "INVALID_ARGUMENT");
  }

  // Valid values of each field are accepted (control: the table is not rejecting everything).
  const ok = [
    { protocols: ["chat", "v2.json"] },
    { headers: { "X-Token": "abc" } },
    { WebSocket: class {} },
    { reconnect: false },
    { reconnect: { minDelayMs: 0, maxDelayMs: 10, factor: 1, jitter: 0.5, maxRetries: Infinity, connectTimeoutMs: Infinity, stableAfterMs: 0 } },
    { reconnect: { jitter: "full", maxRetries: 0, connectTimeoutMs: 1 } },
    { heartbeat: false },
    { heartbeat: { intervalMs: 10, timeoutMs: 10, message: { type: "ping" }, pong: "pong" } },
    { queue: { maxMessages: 0, maxBytes: Infinity, overflow: "drop-newest" } },
    { queue: { overflow: "error" } },
    { maxMessageBytes: 1 },
  ];
  for (const options of ok) new Channel(null, options).dispose();
});

function describeOptions(o) {
  try {
    return JSON.stringify(o, (_k, v) =>
      typeof v === "bigint" ? `${v}n` : typeof v === "function" ? "fn" : Number.isNaN(v) ? "NaN" : v === Infinity ? "Infinity" : v,
    );
  } catch {
    return String(o);
  }
}

test("INVALID_ARGUMENT: bad arguments to the methods", async (t) => {
  const ch = channelFor(t, null);
  throwsCode(() => new Channel(5), "INVALID_ARGUMENT", /url/);
  throwsCode(() => new Channel({ url: "ws://x/y" }), "INVALID_ARGUMENT", /url/);
  throwsCode(() => ch.setUrl(5), "INVALID_ARGUMENT", /url/);
  throwsCode(() => ch.setUrl(undefined), "INVALID_ARGUMENT", /url/);
  throwsCode(() => ch.send(undefined), "INVALID_ARGUMENT", /message/);
  throwsCode(() => ch.send(Symbol("s")), "INVALID_JSON", /message/);
  throwsCode(() => ch.on("mesage", () => {}), "INVALID_ARGUMENT", /event/);
  throwsCode(() => ch.on("message", "not a function"), "INVALID_ARGUMENT", /listener/);
  throwsCode(() => ch.once("open"), "INVALID_ARGUMENT", /listener/);
  throwsCode(() => ch.onMessage("", () => {}), "INVALID_ARGUMENT", /type/);
  throwsCode(() => ch.onMessage(5, () => {}), "INVALID_ARGUMENT", /type/);
  throwsCode(() => ch.onMessage("chat", null), "INVALID_ARGUMENT", /listener/);
  assert.equal(ch.queuedCount, 0, "nothing was queued by the rejected sends");
});

// ------------------------------------------------------------------------------ INVALID_JSON

test("INVALID_JSON: messages with no JSON form", (t) => {
  const ch = channelFor(t, null);
  const cyclic = { type: "loop" };
  cyclic.self = cyclic;
  const cases = [
    ["a cyclic object", cyclic],
    [
      "a cyclic array",
      (() => {
        const a = [];
        a.push(a);
        return a;
      })(),
    ],
    ["a BigInt", 10n],
    ["an object holding a BigInt", { type: "n", n: 10n }],
    [
      "a toJSON that throws",
      {
        toJSON() {
          throw new Error("nope");
        },
      },
    ],
    [
      "a toJSON that returns undefined",
      {
        toJSON() {
          return undefined;
        },
      },
    ],
  ];
  for (const [what, message] of cases) throwsCode(() => ch.send(message), "INVALID_JSON", null, what);
  assert.equal(ch.queuedCount, 0, "nothing was queued");
});

test("INVALID_JSON: a function as the message", (t) => {
  const ch = channelFor(t, null);
  throwsCode(() => ch.send(() => 1), "INVALID_JSON", null, "a function");
});

// ------------------------------------------------------------------------------ MESSAGE_TOO_LARGE

test("MESSAGE_TOO_LARGE: outgoing strings and binary over maxMessageBytes throw; the limit itself is sent", async (t) => {
  const { url } = await setup(t);
  const a = await openChannel(t, url, { maxMessageBytes: 100 });
  const b = await openChannel(t, url);
  const got = inbox(b);
  const tooLarge = [
    ["101 ASCII characters", "x".repeat(101)],
    ["34 euro signs (102 bytes of UTF-8)", "€".repeat(34)],
    ["a 101-byte Uint8Array", new Uint8Array(101)],
    ["a 101-byte ArrayBuffer", new ArrayBuffer(101)],
    ["a 51-element Uint16Array (102 bytes)", new Uint16Array(51)],
    ["a 101-byte DataView", new DataView(new ArrayBuffer(200), 50, 101)],
    ["an object whose JSON is 101 bytes", { type: "t", pad: "p".repeat(101 - '{"type":"t","pad":""}'.length) }],
  ];
  for (const [what, message] of tooLarge) {
    const e = throwsCode(() => a.send(message), "MESSAGE_TOO_LARGE", null, what);
    assert.match(e.message, /100/, "the message names the limit");
  }
  // Exactly the limit goes through, and arrives.
  a.send("x".repeat(100));
  a.send(`${"€".repeat(33)}x`); // 100 bytes
  a.send(new Uint8Array(100).fill(7));
  a.send({ type: "t", pad: "p".repeat(100 - '{"type":"t","pad":""}'.length) });
  await waitFor(() => got.length === 4, { what: "the four messages at the limit" });
  await sleep(50);
  assert.equal(got.length, 4);
  assert.equal(got[0], "x".repeat(100));
  assert.equal(got[1], `${"€".repeat(33)}x`);
  assert.deepEqual(got[2], new Uint8Array(100).fill(7));
  assert.equal(got[3].type, "t");
  assert.equal(a.state, "open");
});

test("MESSAGE_TOO_LARGE: the default limit is 1 MiB, also while queued", (t) => {
  const ch = channelFor(t, null, { queue: { maxBytes: 4 * 1048576 } });
  throwsCode(() => ch.send(new Uint8Array(1048577)), "MESSAGE_TOO_LARGE", /1048576/);
  throwsCode(() => ch.send("a".repeat(1048577)), "MESSAGE_TOO_LARGE", /1048576/);
  throwsCode(() => ch.send("é".repeat(524289)), "MESSAGE_TOO_LARGE", /1048576/, "1048578 bytes in 524289 characters");
  assert.equal(ch.queuedCount, 0);
  ch.send(new Uint8Array(1048576));
  assert.equal(ch.queuedCount, 1);
});

// ------------------------------------------------------------------------------ DISPOSED

test("DISPOSED: every method after dispose(); dispose() is idempotent", async (t) => {
  const { url } = await setup(t);
  const ch = await openChannel(t, url);
  const unsub = ch.on("message", () => {});
  const unsubTyped = ch.onMessage("x", () => {});
  const listener = () => {};
  ch.on("open", listener);
  ch.dispose();
  ch.dispose();
  ch.dispose();
  assert.equal(ch.disposed, true);
  assert.equal(ch.state, "closed");
  assert.equal(ch.readyState, 3);
  assert.equal(ch.queuedCount, 0);
  assert.equal(ch.bufferedAmount, 0);
  assert.equal(ch.protocol, "");
  const calls = {
    send: () => ch.send("x"),
    "send(binary)": () => ch.send(new Uint8Array(1)),
    setUrl: () => ch.setUrl(url),
    "setUrl(null)": () => ch.setUrl(null),
    close: () => ch.close(),
    reconnect: () => ch.reconnect(),
    on: () => ch.on("message", () => {}),
    once: () => ch.once("open", () => {}),
    onMessage: () => ch.onMessage("x", () => {}),
  };
  // Every other public method too, present and future (called without arguments).
  const exempt = ["constructor", "dispose", "off", "opened"];
  for (const name of Object.getOwnPropertyNames(Channel.prototype)) {
    const d = Object.getOwnPropertyDescriptor(Channel.prototype, name);
    if (name.startsWith("_") || exempt.includes(name) || d.get || typeof d.value !== "function" || name in calls) continue;
    calls[`${name}()`] = () => ch[name]();
  }
  for (const name of ["send", "setUrl", "close", "reconnect", "on", "once", "onMessage"]) assert.ok(name in calls);
  for (const [what, call] of Object.entries(calls)) throwsCode(call, "DISPOSED", /dispose/, what);
  await assert.rejects(ch.opened(), (e) => e instanceof MetaChannelError && e.code === "DISPOSED");
  // Removing listeners after dispose() is harmless (cleanup code may run in any order).
  unsub();
  unsubTyped();
  ch.off("open", listener);
});

test("DISPOSED: a channel disposed from inside its own listeners", async (t) => {
  const { url } = await setup(t);
  const a = await openChannel(t, url);
  const b = channelFor(t, url);
  const after = [];
  b.on("message", () => {
    b.dispose();
    after.push(b.state);
  });
  b.on("message", () => after.push("second listener ran"));
  b.onMessage("*", () => after.push("typed listener ran"));
  await b.opened();
  a.send({ type: "x" });
  a.send({ type: "y" });
  await waitFor(() => after.length >= 1, { what: "b's listener" });
  await sleep(50);
  assert.deepEqual(after, ["closed"], "no listener runs after dispose(), not even in the same dispatch");
  throwsCode(() => b.send("x"), "DISPOSED");
});

// ------------------------------------------------------------------------------ ready()

test("ready() with either core name, in any order, resolves (both cores can be loaded at once)", async () => {
  await mc.ready({ core: "lite" });
  await mc.ready();
  await mc.ready({ core: "full" });
  await mc.ready({ core: "lite" });
});

// ------------------------------------------------------------------------------ CLOSED

test("CLOSED: send() after close(), while closing and once closed", async (t) => {
  const { url } = await setup(t);
  const a = await openChannel(t, url);
  a.close();
  assert.equal(a.state, "closing");
  throwsCode(() => a.send("x"), "CLOSED", null, "while closing");
  throwsCode(() => a.send(new Uint8Array(1)), "CLOSED", null, "binary while closing");
  await waitFor(() => a.state === "closed", { what: "closed" });
  throwsCode(() => a.send({ type: "x" }), "CLOSED", null, "once closed");
  throwsCode(() => a.setUrl(url), "CLOSED", null, "setUrl after close");
  throwsCode(() => a.reconnect(), "CLOSED", null, "reconnect after close");

  const b = channelFor(t, url);
  b.close();
  throwsCode(() => b.send("x"), "CLOSED", null, "closed while connecting");
  const c = channelFor(t, null);
  c.close();
  throwsCode(() => c.send("x"), "CLOSED", null, "closed while idle");
});

test("close() reports the queued messages it dropped, and rejects with CLOSED (detail: the count)", async (t) => {
  // Idle (no URL): nothing will send them.
  const idle = channelFor(t, null);
  const idleErrs = errors(idle);
  idle.send("one");
  idle.send("two");
  await assert.rejects(idle.close(), (err) => err instanceof MetaChannelError && err.code === "CLOSED" && err.detail === 2);
  assert.deepEqual(
    idleErrs.map((e) => [e.code, e.detail]),
    [["CLOSED", 2]],
  );
  // closeTimeoutMs: 0 drops them at once, even while connecting.
  const { url } = await setup(t);
  const ch = channelFor(t, url, { closeTimeoutMs: 0 });
  const errs = errors(ch);
  ch.send("one");
  const closing = ch.close();
  assert.equal(ch.state, "closed");
  await assert.rejects(closing, (err) => err.code === "CLOSED" && err.detail === 1);
  assert.deepEqual(
    errs.map((e) => [e.code, e.detail]),
    [["CLOSED", 1]],
  );
  // Nothing dropped: close() resolves.
  const quiet = channelFor(t, null);
  await quiet.close();
  const sent = await openChannel(t, url);
  sent.send("delivered");
  await sent.close();
});

test("a Node worker whose close() drops messages exits non-zero (unhandled rejection), not 0", async () => {
  const script = `const mc = await import(${JSON.stringify(path.join(distDir, "metachannel.mjs"))});
await mc.ready();
const ch = new mc.Channel("ws://127.0.0.1:1/x", { closeTimeoutMs: 50, reconnect: { minDelayMs: 10, maxDelayMs: 20 } });
ch.send({ type: "work", n: 1 });
await ch.close();
console.log("resolved");`;
  const r = await new Promise((resolve) => {
    execFile(process.execPath, ["--input-type=module", "-e", script], { timeout: 20000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, stdout, stderr }),
    );
  });
  assert.notEqual(r.code, 0, `the worker exited 0: ${r.stdout}${r.stderr}`);
  assert.doesNotMatch(r.stdout, /resolved/);
  assert.match(r.stderr, /CLOSED/);
});

// ------------------------------------------------------------------------------ QUEUE_OVERFLOW

test('QUEUE_OVERFLOW thrown with overflow "error"; what was queued is sent', async (t) => {
  const { url } = await setup(t);
  const b = await openChannel(t, url);
  const got = inbox(b);
  const a = channelFor(t, null, { queue: { maxMessages: 2, overflow: "error" } });
  a.send("one");
  a.send({ type: "two" });
  throwsCode(() => a.send("three"), "QUEUE_OVERFLOW", /queue/);
  throwsCode(() => a.send(new Uint8Array(1)), "QUEUE_OVERFLOW");
  assert.equal(a.queuedCount, 2);

  const c = channelFor(t, null, { queue: { maxBytes: 10, overflow: "error" } });
  c.send("abcdefgh");
  throwsCode(() => c.send("abc"), "QUEUE_OVERFLOW", null, "over maxBytes");
  c.send("ij");
  assert.equal(c.queuedBytes, 10);
  throwsCode(() => c.send("x".repeat(11)), "QUEUE_OVERFLOW", null, "can never fit");

  a.setUrl(url);
  c.setUrl(url);
  await waitFor(() => got.length === 4, { what: "the queued messages" });
  await sleep(50);
  const fromA = got.filter((m) => m === "one" || (m && m.type === "two"));
  assert.deepEqual(fromA, ["one", { type: "two" }]);
  assert.deepEqual(got.filter((m) => typeof m === "string" && m !== "one").sort(), ["abcdefgh", "ij"]);
});

test("QUEUE_OVERFLOW events: drop-oldest (detail = dropped count) and drop-newest", async (t) => {
  const { url } = await setup(t);
  const b = await openChannel(t, url);
  const got = inbox(b);

  const oldest = channelFor(t, null, { queue: { maxMessages: 3, maxBytes: 12, overflow: "drop-oldest" } });
  const oldestErrs = errors(oldest);
  oldest.send("aaa");
  oldest.send("bbb");
  oldest.send("ccc");
  assert.equal(oldestErrs.length, 0);
  oldest.send("ddd"); // 4 messages > 3: drops "aaa"
  assert.equal(oldestErrs.length, 1);
  assert.equal(oldestErrs[0].code, "QUEUE_OVERFLOW");
  assert.ok(oldestErrs[0] instanceof MetaChannelError);
  assert.equal(oldestErrs[0].detail, 1);
  oldest.send("eeeeeeeeeee"); // 11 bytes: only room once "bbb", "ccc" and "ddd" are gone
  assert.equal(oldestErrs.length, 2);
  assert.equal(oldestErrs[1].detail, 3);
  assert.equal(oldest.queuedCount, 1);
  oldest.send("f");
  assert.equal(oldestErrs.length, 2, "12 bytes fit exactly");
  assert.equal(oldest.queuedCount, 2);

  const newest = channelFor(t, null, { queue: { maxMessages: 2, overflow: "drop-newest" } });
  const newestErrs = errors(newest);
  newest.send("N1");
  newest.send("N2");
  newest.send("N3");
  newest.send("N4");
  assert.equal(newestErrs.length, 2);
  for (const e of newestErrs) {
    assert.equal(e.code, "QUEUE_OVERFLOW");
    assert.equal(e.detail, 1);
  }
  assert.equal(newest.queuedCount, 2);

  oldest.setUrl(url);
  await waitFor(() => got.length === 2, { what: "oldest's queue" });
  newest.setUrl(url);
  await waitFor(() => got.length === 4, { what: "newest's queue" });
  await sleep(50);
  assert.deepEqual(got, ["eeeeeeeeeee", "f", "N1", "N2"]);
});

// ------------------------------------------------------------------------------ incoming MESSAGE_TOO_LARGE

test("MESSAGE_TOO_LARGE event for an oversize incoming frame; the channel survives", async (t) => {
  const { url } = await setup(t);
  const ch = await openChannel(t, url, { maxMessageBytes: 1000 });
  const got = inbox(ch);
  const errs = errors(ch);
  const plain = new WsClient(url);
  t.after(() => plain.terminate());
  await new Promise((resolve, reject) => {
    plain.once("open", resolve);
    plain.once("error", reject);
  });
  plain.send("t".repeat(2000));
  plain.send(Buffer.alloc(1001, 1));
  plain.send("é".repeat(501)); // 1002 bytes in 501 characters
  plain.send("small");
  plain.send(Buffer.from([1, 2, 3]));
  plain.send("x".repeat(1000)); // exactly the limit
  await waitFor(() => got.length === 3, { what: "the small messages" });
  await sleep(50);
  assert.equal(got[0], "small");
  assert.deepEqual(got[1], new Uint8Array([1, 2, 3]));
  assert.equal(got[2], "x".repeat(1000));
  assert.deepEqual(
    errs.map((e) => [e.code, e.detail]),
    [
      ["MESSAGE_TOO_LARGE", 2000],
      ["MESSAGE_TOO_LARGE", 1001],
      ["MESSAGE_TOO_LARGE", 1002],
    ],
  );
  assert.equal(ch.state, "open");
  ch.send("still works");
  await waitFor(() => got.length === 4, { what: "the echo of our own message" });
  assert.equal(got[3], "still works");
});

// ------------------------------------------------------------------------------ LISTENER_THREW

test("LISTENER_THREW: a throwing listener stops neither the next listener nor the channel", async (t) => {
  const { url } = await setup(t);
  const a = await openChannel(t, url);
  const b = await openChannel(t, url);
  const errs = errors(b);
  const boom = new Error("listener boom");
  const order = [];
  b.on("message", () => {
    order.push("first");
    throw boom;
  });
  b.on("message", (d) => order.push(`second:${d.n}`));
  b.onMessage("m", () => {
    order.push("typed-thrower");
    throw new TypeError("typed boom");
  });
  b.onMessage("m", (d) => order.push(`typed:${d.n}`));
  b.onMessage("*", (d) => order.push(`star:${d.n}`));
  a.send({ type: "m", n: 1 });
  a.send({ type: "m", n: 2 });
  await waitFor(() => order.length === 10, { what: "all listeners twice" });
  assert.deepEqual(order, ["first", "second:1", "typed-thrower", "typed:1", "star:1", "first", "second:2", "typed-thrower", "typed:2", "star:2"]);
  assert.equal(errs.length, 4);
  for (const e of errs) {
    assert.ok(e instanceof MetaChannelError);
    assert.equal(e.code, "LISTENER_THREW");
  }
  assert.equal(errs[0].detail, boom, "detail is what the listener threw");
  assert.match(errs[0].message, /listener boom/);
  assert.ok(errs[1].detail instanceof TypeError);
  assert.equal(b.state, "open");

  // A throwing state/open/close listener does not break the state machine either.
  const c = channelFor(t, url);
  const cErrs = errors(c);
  c.on("state", () => {
    throw new Error("state boom");
  });
  c.on("open", () => {
    throw new Error("open boom");
  });
  await c.opened();
  c.close();
  await waitFor(() => c.state === "closed", { what: "c closed" });
  assert.ok(cErrs.some((e) => e.code === "LISTENER_THREW" && /open boom/.test(e.message)));
  assert.ok(cErrs.filter((e) => /state boom/.test(e.message)).length >= 3);
});

// ------------------------------------------------------------------------------ REVOKED

test("REVOKED on relay rotation (4001): no reconnect; setUrl(newUrl) resumes", async (t) => {
  const { relay, url, token } = await setup(t);
  const a = await openChannel(t, url, FAST);
  const errs = errors(a);
  const closes = [];
  a.on("close", (e) => closes.push(e));
  a.on("reconnecting", () => assert.fail("must not reconnect to a revoked URL"));
  const { url: newUrl } = await relay.rotate(token);
  await waitFor(() => a.state === "closed", { what: "closed after the rotation" });
  assert.deepEqual(
    errs.map((e) => e.code),
    ["REVOKED"],
  );
  assert.equal(errs[0].detail, 4001);
  assert.ok(!errs[0].message.includes(token), "the message does not contain the token");
  assert.equal(closes.length, 1);
  assert.equal(closes[0].code, 4001);
  assert.equal(closes[0].willReconnect, false);

  await sleep(300);
  assert.equal(a.state, "closed");
  assert.equal(relay.connections, 1, "no reconnect attempt");

  // A message sent while revoked waits in the queue for the new URL.
  a.send({ type: "queued-while-revoked" });
  assert.equal(a.queuedCount, 1);
  const b = await openChannel(t, newUrl);
  const got = inbox(b);
  a.setUrl(newUrl);
  assert.equal(a.url, newUrl);
  await a.opened();
  a.send({ type: "after" });
  await waitFor(() => got.length === 2, { what: "both messages on the new URL" });
  assert.deepEqual(got, [{ type: "queued-while-revoked" }, { type: "after" }]);
  assert.equal(errs.length, 1);
});
