// What users meet outside our own tests (issue "works the way people really install it"):
// a worker that sends and closes, close() as a promise, load failures as LOAD_FAILED, header
// values HTTP forbids, WebSocket constructors that throw, and readable uncaught errors.
// Load failures need a fresh module, so each runs in a child process of the same flavour.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { rawPeer } from "../tools.mjs";
import { mc, distDir, relayFor, channelFor, waitFor, sleep, runScript } from "./helpers.js";

const dist = path.join(distDir, "metachannel.mjs");

async function rawPeerFor(t, url) {
  const peer = await rawPeer(url);
  t.after(() => peer.ws.terminate());
  return peer.got;
}

test("a worker that sends and then awaits close(): the message arrives and the process exits by itself", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const got = await rawPeerFor(t, url);
  const r = await runScript(
    `import { connectFromEnv } from ${JSON.stringify(dist)};
     const ch = await connectFromEnv();
     ch.on("error", (e) => console.error(String(e)));
     for (let i = 0; i < 3; i++) ch.send({ type: "progress", value: i });
     await ch.close();
     console.log("state", ch.state);`,
    { env: { WEBSOCKET_URL: url } },
  );
  assert.equal(r.signal, null, `the worker did not exit by itself (killed after ${r.ms} ms): ${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.match(r.stdout, /state closed/);
  await waitFor(() => got.length === 3, { what: "the worker's three messages" });
  assert.deepEqual(
    got.map((m) => m.value),
    [0, 1, 2],
  );
});

test("a worker that disposes without closing exits too (no timer, socket or listener left)", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const r = await runScript(
    `import { connect } from ${JSON.stringify(dist)};
     const ch = await connect(${JSON.stringify(url)}, { heartbeat: { intervalMs: 50, timeoutMs: 1000 } });
     await ch.opened();
     ch.dispose();
     const idle = await connect(null);
     idle.dispose();
     const failing = await connect("ws://127.0.0.1:9/x", { reconnect: { minDelayMs: 60000, maxDelayMs: 60000 } });
     failing.on("error", () => {});
     await new Promise((r) => setTimeout(r, 100));
     failing.dispose();
     console.log("done");`,
  );
  assert.equal(r.signal, null, `the worker did not exit by itself (killed after ${r.ms} ms)`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /done/);
});

test("close() returns a promise that resolves once the socket has closed", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const ch = channelFor(t, url);
  await ch.opened();
  const closes = [];
  ch.on("close", (e) => closes.push(e));
  const p = ch.close(4000, "bye");
  assert.ok(p instanceof Promise);
  assert.equal(ch.state, "closing");
  await p;
  assert.equal(ch.state, "closed");
  assert.deepEqual(
    closes.map((e) => [e.code, e.willReconnect]),
    [[4000, false]],
  );
  await ch.close(); // again: resolves at once
  // A channel that is disposed while close() waits: the promise resolves too.
  const b = channelFor(t, url);
  b.send({ type: "x" });
  const pending = b.close();
  b.dispose();
  await pending;
});

test("close() while connecting sends the queue first, in order, then closes", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const got = await rawPeerFor(t, url);
  const ch = channelFor(t, url);
  const errs = [];
  ch.on("error", (e) => errs.push(e));
  for (let n = 0; n < 50; n++) ch.send({ type: "q", n });
  assert.equal(ch.state, "connecting");
  await ch.close();
  assert.equal(ch.state, "closed");
  assert.deepEqual(errs, []);
  await waitFor(() => got.length === 50, { what: "50 messages" });
  assert.deepEqual(
    got.map((m) => m.n),
    [...Array(50).keys()],
  );
  assert.throws(
    () => ch.send("late"),
    (e) => e.code === "CLOSED",
  );
});

test("closeTimeoutMs is validated", () => {
  for (const bad of [-1, "5", NaN]) {
    assert.throws(
      () => new mc.Channel(null, { closeTimeoutMs: bad }),
      (e) => e.code === "INVALID_ARGUMENT" && /closeTimeoutMs/.test(e.message),
    );
  }
  new mc.Channel(null, { closeTimeoutMs: Infinity }).dispose();
});

// ------------------------------------------------------------------------------ LOAD_FAILED

function serve(t, handler) {
  const server = http.createServer(handler);
  t.after(() => server.close());
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${server.address().port}`)));
}

async function loadWith(_t, readyArgs) {
  const r = await runScript(
    `import { ready, MetaChannelError } from ${JSON.stringify(dist)};
     try { await ready(${readyArgs}); console.log(JSON.stringify({ ok: true })); }
     catch (e) { console.log(JSON.stringify({ isError: e instanceof MetaChannelError, code: e.code, message: e.message })); }
     try { await ready(${readyArgs}); } catch (e) { console.log(JSON.stringify({ code: e.code })); }
     // What is checked here is the error; whether the process then exits by itself is the
     // worker tests' (the debug glue's ASSERTIONS watcher polls a failed instantiation forever).
     process.exit(0);`,
  );
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  return { first: lines[0], again: lines[1], stderr: r.stderr };
}

test("LOAD_FAILED: a wasm URL that answers 404", async (t) => {
  const base = await serve(t, (_req, res) => {
    res.writeHead(404, { "content-type": "text/html" });
    res.end("<!doctype html><h1>Not found</h1>");
  });
  const { first, again, stderr } = await loadWith(t, `{ locateFile: (name) => ${JSON.stringify(`${base}/assets/`)} + name }`);
  assert.equal(first.isError, true);
  assert.equal(first.code, "LOAD_FAILED");
  assert.match(first.message, /\/assets\/metachannel-lite\.wasm: the server answered HTTP 404/);
  assert.match(first.message, /Serve dist\/metachannel-lite\.wasm/);
  assert.match(first.message, /locateFile/);
  assert.equal(again.code, "LOAD_FAILED", "a failed ready() can be retried (and fails the same way)");
  assert.equal(stderr, "", "nothing printed by the glue");
});

test("LOAD_FAILED: an HTML page served where the wasm should be (a dev server's fallback)", async (t) => {
  const base = await serve(t, (_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end("<!doctype html><html><body>app</body></html>");
  });
  const { first } = await loadWith(t, `{ locateFile: (name) => ${JSON.stringify(`${base}/`)} + name }`);
  assert.equal(first.code, "LOAD_FAILED");
  assert.match(first.message, /3c 21 64 6f/);
  assert.match(first.message, /HTML page/);
});

test("LOAD_FAILED: a corrupt wasm file, and a wasmBinary of garbage", async (t) => {
  const good = readFileSync(path.join(distDir, "metachannel.wasm"));
  const corrupt = Buffer.from(good);
  corrupt.fill(0xff, 64, 256); // keeps the magic, breaks the sections
  const dir = mkdtempSync(path.join(os.tmpdir(), "mc-corrupt-"));
  writeFileSync(path.join(dir, "metachannel.wasm"), corrupt);
  const file = await loadWith(t, `{ locateFile: (name) => ${JSON.stringify(`${dir}/`)} + name }`);
  assert.equal(file.first.code, "LOAD_FAILED");
  assert.match(file.first.message, /not a valid wasm module/);

  const garbage = await loadWith(t, "{ wasmBinary: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) }");
  assert.equal(garbage.first.code, "LOAD_FAILED");
  assert.match(garbage.first.message, /options\.wasmBinary/);

  const missing = await loadWith(t, `{ locateFile: () => ${JSON.stringify(`${dir}/nope.wasm`)} }`);
  assert.equal(missing.first.code, "LOAD_FAILED");
  assert.match(missing.first.message, /no such file/);

  // A wasm from another build (valid, but not ours): instantiation fails.
  const other = await loadWith(t, "{ wasmBinary: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, 8, 1, 2, 122, 122, 1, 113, 0, 0]) }");
  assert.equal(other.first.code, "LOAD_FAILED");
  assert.match(other.first.message, /does not fit/);
});

test("LOAD_FAILED: a wasm whose vocabulary (states, error codes, options) is not the JS's, as from two builds", async (t) => {
  // The wasm carries the digest of src/metachannel/vocabulary.h as one f64 constant; change it
  // as a wasm built from another vocabulary would have it.
  const digest = Number(/VOCABULARY_DIGEST = (\d+)/.exec(readFileSync(path.join(distDir, "..", "js", "vocabulary.ts"), "utf8"))[1]);
  const wasm = Buffer.from(readFileSync(path.join(distDir, "metachannel.wasm")));
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleLE(digest);
  const at = wasm.indexOf(bytes);
  assert.ok(at > 0, "the digest constant is in the wasm");
  assert.equal(wasm.indexOf(bytes, at + 1), -1, "exactly once");
  bytes.writeDoubleLE(digest + 1);
  bytes.copy(wasm, at);
  const dir = mkdtempSync(path.join(os.tmpdir(), "mc-vocabulary-"));
  writeFileSync(path.join(dir, "metachannel.wasm"), wasm);
  const other = await loadWith(t, `{ locateFile: (name) => ${JSON.stringify(`${dir}/`)} + name }`);
  assert.equal(other.first.code, "LOAD_FAILED");
  assert.match(other.first.message, /vocabulary .* is not this package's .*two builds/);
});

test("locateFile is called with the name of the file the package ships for the plain core", async () => {
  const r = await runScript(
    `import { ready } from ${JSON.stringify(dist)};
     const names = [];
     await ready({ locateFile: (name) => { names.push(name); return ${JSON.stringify(path.join(distDir, "metachannel.wasm"))}; } });
     console.log(JSON.stringify(names));`,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), ["metachannel-lite.wasm"]);
});

// ------------------------------------------------------------------------------ headers, constructors

test("a header value HTTP forbids throws INVALID_ARGUMENT naming the header, not its value, before any socket exists", () => {
  let constructed = 0;
  class Counting extends WebSocket {
    constructor(...args) {
      constructed++;
      super(...args);
    }
  }
  for (const value of ["Bearer …", "Bearer x\r\nX-Evil: 1", "tab\tok-but-newline\n", "emoji 🎉"]) {
    assert.throws(
      () => new mc.Channel("ws://127.0.0.1:9/ch/x", { WebSocket: Counting, headers: { Authorization: value } }),
      (e) => {
        assert.equal(e.code, "INVALID_ARGUMENT");
        assert.match(e.message, /options\.headers\.Authorization/);
        assert.match(e.message, /percent-encode/);
        assert.ok(!e.message.includes(value), "the value is never echoed");
        assert.deepEqual(e.detail, { field: "options.headers.Authorization" });
        return true;
      },
    );
  }
  assert.equal(constructed, 0);
  // Latin-1 text and tabs are allowed (Node's http accepts them).
  new mc.Channel(null, { WebSocket: Counting, headers: { "X-Name": "Zoë\tx" } }).dispose();
});

test("a WebSocket constructor that throws: SOCKET_ERROR with its name and message (redacted), no retries", async (t) => {
  let constructed = 0;
  class Picky {
    constructor(url) {
      constructed++;
      throw new TypeError(`unsupported option for ${url} with header sekrit-value`);
    }
  }
  const ch = channelFor(t, "ws://127.0.0.1:9/ch/secret-token?key=abc", {
    WebSocket: Picky,
    headers: { "X-Key": "sekrit-value" },
    reconnect: { minDelayMs: 1, maxDelayMs: 2 },
  });
  const errs = [];
  ch.on("error", (e) => errs.push(e));
  await waitFor(() => ch.state === "closed", { what: "closed" });
  await sleep(50);
  assert.equal(constructed, 1, "no retry: the same arguments would throw again");
  assert.deepEqual(
    errs.map((e) => e.code),
    ["SOCKET_ERROR"],
  );
  assert.match(errs[0].message, /the WebSocket constructor threw TypeError: unsupported option for ws:\/\/127\.0\.0\.1:9\/…/);
  assert.ok(!/secret-token|key=abc|sekrit/.test(errs[0].message), errs[0].message);
  // setUrl() tries again (the cause may have been fixed meanwhile): only close() is final.
  ch.setUrl("ws://127.0.0.1:9/ch/another");
  assert.equal(constructed, 2);
});

test("an uncaught MetaChannelError in Node prints a readable line, not the minified bundle", async () => {
  const r = await runScript(`import { connectFromEnv } from ${JSON.stringify(dist)};\nawait connectFromEnv();\n`, {
    env: { WEBSOCKET_URL: "" },
  });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /MetaChannelError/);
  assert.match(r.stderr, /INVALID_URL|WEBSOCKET_URL/);
  const longest = Math.max(...r.stderr.split("\n").map((l) => l.length));
  assert.ok(longest < 400, `a line of ${longest} characters on stderr`);
  assert.ok(r.stderr.length < 4000, `${r.stderr.length} characters on stderr`);
});
