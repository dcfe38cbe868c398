// MetaframeClient (stand-in mode), bindMetaframe and connectFromEnv in Node, against a real
// relay, through the built package. Run: node --test tests/node/metaframe.test.js
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { mc, distDir, relayFor, channelFor, waitFor, sleep, nextEvent, root } from "./helpers.js";

const { MetaframeClient, bindMetaframe, connectFromEnv, MetaChannelError } = mc;

/** Binds `client` and disposes the channel (and the client) after the test. */
async function bindFor(t, client, options) {
  const channel = await bindMetaframe(client, options);
  t.after(() => {
    channel.dispose();
    client.dispose();
  });
  return channel;
}

/** The first argument of the next `event` (listeners may be called with more arguments). */
function nextArg(channel, event, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = channel.on(event, (arg) => {
      clearTimeout(timer);
      off();
      resolve(arg);
    });
  });
}

function recordStates(channel) {
  const states = [];
  channel.on("state", ({ to }) => states.push(to));
  return states;
}

function recordErrors(channel) {
  const errors = [];
  channel.on("error", (err) => errors.push(err));
  return errors;
}

// ------------------------------------------------------------------ MetaframeClient stand-in

test("MetaframeClient in Node is a stand-in: setInputs merges and notifies onInputs and onInput", { timeout: 20000 }, async () => {
  const mf = new MetaframeClient();
  assert.equal(mf.standalone, true);
  assert.equal(mf.isConnected, true);
  await mf.connected(); // resolves at once in stand-in mode

  const all = [];
  const urls = [];
  mf.onInputs = (inputs) => all.push(inputs);
  const off = mf.onInput("url", (v) => urls.push(v));

  mf.setInputs({ url: "ws://a/1", n: 1 });
  mf.setInputs({ n: 2 }); // only the changed key: merged
  assert.deepEqual(all, [
    { url: "ws://a/1", n: 1 },
    { url: "ws://a/1", n: 2 },
  ]);
  assert.deepEqual(urls, ["ws://a/1"], "onInput fires only for its own input");

  mf.setInputs({ url: "ws://a/1" }); // same value: not a change for onInput
  assert.deepEqual(urls, ["ws://a/1"]);
  assert.equal(all.length, 3, "onInputs is called after every update");

  mf.setInputs({ url: "ws://a/2" });
  mf.setInputs({ url: undefined }); // removal
  assert.deepEqual(urls, ["ws://a/1", "ws://a/2", undefined]);
  assert.deepEqual(mf.getInputs(), { n: 2 });
  assert.equal("url" in mf.getInputs(), false);

  off();
  mf.setInputs({ url: "ws://a/3" });
  assert.equal(urls.length, 3, "unsubscribed");

  // getInputs is a copy
  mf.getInputs().n = 99;
  assert.equal(mf.getInput("n"), 2);

  // Assigning onInputs late replays the current inputs once (on a microtask).
  const late = [];
  mf.onInputs = (inputs) => late.push(inputs);
  assert.equal(late.length, 0);
  await Promise.resolve();
  assert.deepEqual(late, [{ n: 2, url: "ws://a/3" }]);

  mf.setOutputs({ done: true });
  assert.deepEqual(mf.getOutputs(), { done: true });

  mf.dispose();
  mf.dispose(); // idempotent
  assert.throws(() => mf.setInputs({ x: 1 }), { code: "DISPOSED" });
  await assert.rejects(mf.connected(), { code: "DISPOSED" });
});

test("MetaframeClient: bad arguments throw INVALID_ARGUMENT; a throwing listener does not stop the others", () => {
  assert.throws(() => new MetaframeClient({ nope: 1 }), { code: "INVALID_ARGUMENT" });
  const mf = new MetaframeClient();
  assert.throws(() => mf.setInputs("x"), { code: "INVALID_ARGUMENT" });
  assert.throws(() => mf.onInput("", () => {}), { code: "INVALID_ARGUMENT" });
  assert.throws(() => (mf.onInputs = 5), { code: "INVALID_ARGUMENT" });
  const seen = [];
  const origError = console.error;
  const logged = [];
  console.error = (...args) => logged.push(args.join(" "));
  try {
    mf.onInput("a", () => {
      throw new Error("boom");
    });
    mf.onInput("a", (v) => seen.push(v));
    mf.setInputs({ a: 1 });
  } finally {
    console.error = origError;
  }
  assert.deepEqual(seen, [1]);
  assert.equal(logged.length, 1);
  assert.match(logged[0], /onInput\("a"\) listener threw/);
  mf.dispose();
});

// ------------------------------------------------------------------ bindMetaframe

test("bindMetaframe: idle until the URL arrives, then connects once; a repeat is ignored; other inputs do not matter", { timeout: 20000 }, async (t) => {
  const relay = await relayFor(t);
  const { url, token } = await relay.createChannel();
  const mf = new MetaframeClient();
  const channel = await bindFor(t, mf);
  assert.ok(channel instanceof mc.Channel);
  await sleep(20);
  assert.equal(channel.state, "idle");
  assert.equal(channel.url, null);
  assert.equal(relay.connections, 0);

  const states = recordStates(channel);
  mf.setInputs({ _websocket_url_: url });
  await channel.opened();
  assert.equal(channel.url, url);
  await waitFor(() => relay.clientCount(token) === 1, { what: "one socket at the relay" });
  assert.equal(relay.connections, 1);

  // The same URL again (the metapage delivers early inputs twice), and unrelated inputs.
  mf.setInputs({ _websocket_url_: url });
  mf.setInputs({ _websocket_url_: url, other: 1 });
  mf.setInputs({ other: 2 });
  await sleep(300);
  assert.equal(relay.connections, 1, "no new socket for a repeated URL");
  assert.equal(relay.clientCount(token), 1);
  assert.deepEqual(states, ["connecting", "open"], "no state change after the repeats");

  // Binding the same client again gives the same channel.
  const again = await bindMetaframe(mf);
  assert.equal(again, channel);
  assert.equal(bindMetaframe(mf), bindMetaframe(mf), "the same promise");
});

test("bindMetaframe: switches on a new URL (rotation), carries messages, disconnects on removal", { timeout: 20000 }, async (t) => {
  const relay = await relayFor(t);
  const first = await relay.createChannel();
  const mf = new MetaframeClient();
  mf.setInputs({ _websocket_url_: first.url }); // present at bind time
  const channel = await bindFor(t, mf);
  const errors = recordErrors(channel);
  await channel.opened();
  await waitFor(() => relay.clientCount(first.token) === 1, { what: "first socket" });

  // Rotation: the relay revokes the old URL and the metapage hands out the new one.
  const second = await relay.rotate(first.token);
  mf.setInputs({ _websocket_url_: second.url });
  await waitFor(() => channel.url === second.url && channel.state === "open", { what: "open on the new URL" });
  await waitFor(() => relay.clientCount(second.token) === 1, { what: "socket on the new channel" });
  assert.equal(relay.clientCount(first.token), 0);
  assert.equal(relay.connections, 2);
  assert.ok(
    errors.every((e) => e.code === "REVOKED"),
    `only REVOKED errors: ${errors.map((e) => e.code)}`,
  );

  // Messages flow on the new URL.
  const peer = channelFor(t, second.url);
  await peer.opened();
  const got = nextEvent(channel, "message");
  peer.send({ type: "progress", value: 0.5 });
  assert.deepEqual(await got, [
    { type: "progress", value: 0.5 },
    { type: "progress", binary: false, raw: '{"type":"progress","value":0.5}', from: null, seq: null },
  ]);

  // Removal (undefined) and empty string both disconnect.
  mf.setInputs({ _websocket_url_: undefined });
  await waitFor(() => channel.state === "idle", { what: "idle after removal" });
  assert.equal(channel.url, null);
  await waitFor(() => relay.clientCount(second.token) === 1, { what: "only the peer left" });

  mf.setInputs({ _websocket_url_: second.url });
  await channel.opened();
  await waitFor(() => relay.clientCount(second.token) === 2, { what: "reconnected" });
  mf.setInputs({ _websocket_url_: "" });
  await waitFor(() => channel.state === "idle", { what: "idle after empty string" });
  await waitFor(() => relay.clientCount(second.token) === 1, { what: "socket closed at the relay" });
});

test("bindMetaframe: a bad value is an INVALID_URL error event without the secret, and nothing else happens", { timeout: 20000 }, async (t) => {
  const relay = await relayFor(t);
  const { url, token } = await relay.createChannel();
  const mf = new MetaframeClient();
  const channel = await bindFor(t, mf);
  const errors = recordErrors(channel);
  mf.setInputs({ _websocket_url_: url });
  await channel.opened();
  const states = recordStates(channel);

  const secret = "s3cr3t-token-value";
  for (const bad of [42, { url }, `http://127.0.0.1:${relay.port}/ch/${secret}`, `not a url ${secret}`, ["ws://x"]]) {
    mf.setInputs({ _websocket_url_: bad });
  }
  assert.equal(errors.length, 5);
  for (const err of errors) {
    assert.ok(err instanceof MetaChannelError);
    assert.equal(err.code, "INVALID_URL");
    assert.match(err.message, /_websocket_url_/);
    assert.ok(!err.message.includes(secret), `no secret in: ${err.message}`);
    assert.ok(!err.message.includes(token), `no token in: ${err.message}`);
  }
  assert.match(errors[0].message, /a number/);
  assert.match(errors[2].message, /"http:"/);
  await sleep(200);
  assert.equal(channel.state, "open", "the connection is kept");
  assert.equal(channel.url, url);
  assert.deepEqual(states, []);
  assert.equal(relay.connections, 1);

  // A bad value present at bind time reaches an error listener attached right after the await.
  const mf2 = new MetaframeClient();
  mf2.setInputs({ _websocket_url_: "ftp://example.com/x" });
  const ch2 = await bindFor(t, mf2);
  const err2 = await nextArg(ch2, "error");
  assert.equal(err2.code, "INVALID_URL");
  assert.equal(ch2.state, "idle");
});

test("bindMetaframe: option `input`, options validation, rebinding after dispose", { timeout: 20000 }, async (t) => {
  const relay = await relayFor(t);
  const { url, token } = await relay.createChannel();
  const mf = new MetaframeClient();
  await assert.rejects(bindMetaframe(mf, { reconnect: "sometimes" }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => bindMetaframe(mf, { input: "" }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => bindMetaframe(null), { code: "INVALID_ARGUMENT" });
  assert.throws(() => bindMetaframe({}), { code: "INVALID_ARGUMENT" });

  const channel = await bindMetaframe(mf, { input: "socket", protocols: ["mc.v1"] });
  mf.setInputs({ _websocket_url_: url }); // not the input it follows
  await sleep(100);
  assert.equal(channel.state, "idle");
  mf.setInputs({ socket: url });
  await channel.opened();
  assert.equal(relay.clientCount(token), 1);

  channel.dispose();
  await waitFor(() => relay.clientCount(token) === 0, { what: "disposed channel's socket closed" });
  const fresh = await bindFor(t, mf, { input: "socket" });
  assert.notEqual(fresh, channel, "a disposed binding is replaced");
  await fresh.opened(); // the current value is applied at bind time
  assert.equal(relay.clientCount(token), 1);
  mf.setInputs({ socket: "" }); // the old binding's listener is gone: it must not throw DISPOSED
  await waitFor(() => fresh.state === "idle", { what: "idle" });
});

test('bindMetaframe: clients without onInput(): an onInputs(fn) method, or addListener("inputs") (changed keys only)', { timeout: 20000 }, async (t) => {
  const relay = await relayFor(t);
  const { url, token } = await relay.createChannel();

  // An EventEmitter client, as Metaframe is one: "inputs" events carry only the changed keys.
  const emitter = new EventEmitter();
  const ch1 = await bindMetaframe(emitter);
  t.after(() => ch1.dispose());
  emitter.emit("inputs", { _websocket_url_: url });
  await ch1.opened();
  emitter.emit("inputs", { unrelated: 1 }); // no URL key: not a removal
  await sleep(100);
  assert.equal(ch1.state, "open");
  emitter.emit("inputs", { _websocket_url_: undefined });
  await waitFor(() => ch1.state === "idle", { what: "idle" });
  assert.equal(emitter.listenerCount("inputs"), 1);

  // A client whose onInputs is a method returning a disposer.
  const listeners = new Set();
  const methodClient = {
    onInputs(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    getInputs: () => ({ _websocket_url_: url }), // already known at bind time
  };
  const ch2 = await bindMetaframe(methodClient);
  t.after(() => ch2.dispose());
  await ch2.opened();
  await waitFor(() => relay.clientCount(token) === 1, { what: "one socket" });
  for (const fn of listeners) fn({ _websocket_url_: "" });
  await waitFor(() => ch2.state === "idle", { what: "idle" });

  // Once the channel is disposed the binding lets go of the client.
  ch2.dispose();
  for (const fn of [...listeners]) fn({ _websocket_url_: url });
  assert.equal(listeners.size, 0, "unsubscribed on the first update after dispose");
});

// ------------------------------------------------------------------ connectFromEnv

test("connectFromEnv: connects to WEBSOCKET_URL; unset or empty is a clear INVALID_URL", { timeout: 20000 }, async (t) => {
  const relay = await relayFor(t);
  const { url, token } = await relay.createChannel();
  const saved = { WEBSOCKET_URL: process.env.WEBSOCKET_URL, MY_URL: process.env.MY_URL };
  t.after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  delete process.env.WEBSOCKET_URL;
  await assert.rejects(connectFromEnv(), (err) => {
    assert.ok(err instanceof MetaChannelError);
    assert.equal(err.code, "INVALID_URL");
    assert.equal(err.message, "WEBSOCKET_URL is not set; a metapage container gets it injected, or set it to a ws:// URL");
    return true;
  });
  process.env.WEBSOCKET_URL = "  ";
  await assert.rejects(connectFromEnv(), { code: "INVALID_URL", message: /WEBSOCKET_URL is not set/ });
  process.env.WEBSOCKET_URL = `http://127.0.0.1:${relay.port}/ch/${token}`;
  await assert.rejects(connectFromEnv(), (err) => {
    assert.equal(err.code, "INVALID_URL");
    assert.match(err.message, /^WEBSOCKET_URL: /);
    assert.ok(!err.message.includes(token), err.message);
    return true;
  });

  process.env.WEBSOCKET_URL = url;
  const channel = await connectFromEnv({ reconnect: { minDelayMs: 50 } });
  t.after(() => channel.dispose());
  await channel.opened();
  assert.equal(channel.url, url);
  assert.equal(relay.clientCount(token), 1);

  process.env.MY_URL = url;
  const other = await connectFromEnv({ env: "MY_URL" });
  t.after(() => other.dispose());
  await other.opened();
  assert.equal(relay.clientCount(token), 2);
  await assert.rejects(connectFromEnv({ env: "METACHANNEL_SURELY_UNSET_VAR" }), { message: /^METACHANNEL_SURELY_UNSET_VAR is not set/ });
});

test("a Node worker (child process) with WEBSOCKET_URL streams progress that a channel receives", { timeout: 20000 }, async (t) => {
  const relay = await relayFor(t);
  const { url, token } = await relay.createChannel();
  const listener = channelFor(t, url);
  const progress = [];
  const done = new Promise((resolve) => listener.onMessage("done", resolve));
  listener.onMessage("progress", (msg) => progress.push(msg.value));
  await listener.opened();

  // The worker imports the built package as a user would, and only knows WEBSOCKET_URL.
  const entry = pathToFileURL(path.join(distDir, "metachannel.mjs")).href;
  const worker = `
    import { connectFromEnv } from ${JSON.stringify(entry)};
    const channel = await connectFromEnv();
    await channel.opened();
    for (let i = 1; i <= 5; i++) {
      channel.send({ type: "progress", value: i / 5 });
      await new Promise((r) => setTimeout(r, 20));
    }
    channel.send({ type: "done" });
    while (channel.bufferedAmount > 0) await new Promise((r) => setTimeout(r, 10));
    channel.close();
    channel.dispose();
  `;
  const flags = process.execArgv.filter((a) => a === "--experimental-websocket");
  const child = spawn(process.execPath, [...flags, "--input-type=module", "-e", worker], {
    env: { ...process.env, WEBSOCKET_URL: url },
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));

  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no "done" from the worker; output: ${output}`)), 10000);
  });
  await Promise.race([done, timeout]).finally(() => clearTimeout(timer));
  assert.deepEqual(progress, [0.2, 0.4, 0.6, 0.8, 1]);
  assert.equal(await exited, 0, `worker output: ${output}`);
  assert.ok(!output.includes(token), "the worker printed nothing with the secret");
  await waitFor(() => relay.clientCount(token) === 1, { what: "worker socket closed" });
  assert.equal(relay.connections, 2);
});

// ------------------------------------------------------------------ metaframe.json

test("metaframeDefinition: the metaframe.json a metapage fetches (version 2, the channel input); the demo frames serve exactly that", async () => {
  const { metaframeDefinition } = mc;
  assert.deepEqual(metaframeDefinition({ name: "chat" }), { version: "2", metadata: { name: "chat" }, inputs: { _websocket_url_: { type: "string" } } });
  assert.deepEqual(metaframeDefinition({ name: "x", description: "d", input: "ws", inputs: { n: { type: "number" } }, outputs: { out: { type: "json" } } }), {
    version: "2",
    metadata: { name: "x", description: "d" },
    inputs: { ws: { type: "string" }, n: { type: "number" } },
    outputs: { out: { type: "json" } },
  });
  for (const bad of [undefined, {}, { name: "" }, { name: "a", input: "" }, { name: "a", description: 5 }]) {
    assert.throws(
      () => metaframeDefinition(bad),
      (err) => err instanceof MetaChannelError && err.code === "INVALID_ARGUMENT",
      JSON.stringify(bad),
    );
  }
  for (const frame of ["chat", "ticker", "progress"]) {
    const served = JSON.parse(readFileSync(path.join(root, "demo/frames", frame, "metaframe.json"), "utf8"));
    assert.deepEqual(served, metaframeDefinition(served.metadata), `demo/frames/${frame}/metaframe.json`);
  }
});
