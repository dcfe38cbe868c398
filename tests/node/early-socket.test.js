// connect() opens its socket while the core loads (js/channel.ts openChannel, js/socket-factory.ts
// EarlySocket): the handshake runs during the wasm's fetch and compile, the channel's first
// attempt takes that socket, and what it received meanwhile reaches the channel in order after
// connect() has resolved. Each case runs in a fresh process (a loaded core cannot be unloaded);
// the wasm is served over HTTP here with a delay, so "the socket opened before the wasm arrived"
// is a fact of the clock, not a race.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { WebSocketServer } from "ws";
import { distDir, runScript } from "./helpers.js";

const dist = path.join(distDir, "metachannel.mjs");
const WASM_DELAY_MS = 400;

/** A WebSocket server that greets each connection with two messages and echoes what it gets. */
async function greeter(t, { refuse = 0 } = {}) {
  const log = { connections: 0, connectedAt: [], closedAt: [] };
  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    if (refuse) {
      socket.end(`HTTP/1.1 ${refuse} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      log.connections++;
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      log.connections++;
      log.connectedAt.push(performance.now());
      ws.send(JSON.stringify({ type: "hello", n: 1 }));
      ws.send(JSON.stringify({ type: "hello", n: 2 }));
      ws.on("message", (data) => ws.send(String(data)));
      ws.on("close", () => log.closedAt.push(performance.now()));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => {
    for (const c of wss.clients) c.terminate();
    server.close();
  });
  return { url: `ws://127.0.0.1:${server.address().port}/ch`, log };
}

/** Serves dist/'s wasm files after WASM_DELAY_MS (404 for `missing`, or a file not there); records when each was sent. */
async function slowWasm(t, { missing = false } = {}) {
  const sent = [];
  const server = http.createServer((req, res) => {
    setTimeout(() => {
      const name = req.url.slice(1);
      sent.push({ name, at: performance.now() });
      // dist-debug (the debug wasm suite) has no plain core: a 404, and the loader falls back to the full one.
      const file = path.join(distDir, name);
      if (missing || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/wasm" }).end(readFileSync(file));
    }, WASM_DELAY_MS);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  return { base: `http://127.0.0.1:${server.address().port}/`, sent };
}

/**
 * A greeter (`refuse`: answers every upgrade with that HTTP status) and a slow wasm server
 * (`missing`: 404), then `body` in a fresh process that has started ready() on that server and
 * has `mc`, `url`, `tick` and `out` (printed). Resolves { out, server, wasm }.
 */
async function scenario(t, body, { refuse = 0, missing = false } = {}) {
  const server = await greeter(t, { refuse });
  const wasm = await slowWasm(t, { missing });
  const r = await runScript(
    `const mc = await import(${JSON.stringify(dist)});
     const url = ${JSON.stringify(server.url)};
     const out = { events: [], unhandled: [] };
     process.on("unhandledRejection", (e) => out.unhandled.push(String(e)));
     const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));
     mc.ready({ locateFile: (name) => ${JSON.stringify(wasm.base)} + name }).catch(() => {}); // connect() reports a failed load
     ${body}
     console.log(JSON.stringify(out));
     process.exit(0);`,
    { timeoutMs: 20000 },
  );
  assert.equal(r.code, 0, `the scenario failed:\n${r.stderr}\n${r.stdout}`);
  return { out: JSON.parse(r.stdout.trim().split("\n").at(-1)), server, wasm };
}

for (const [what, options] of [
  ["a plain connect()", "undefined"],
  ["the first reliable connect()", "{ reliable: true }"],
]) {
  test(`${what} opens its socket while the core loads; the channel takes it and gets what arrived meanwhile, in order`, async (t) => {
    const { out, server, wasm } = await scenario(
      t,
      `const ch = await mc.connect(url, ${options});
       ch.on("open", () => out.events.push("open"));
       ch.on("error", (e) => out.events.push("error " + e.code));
       ch.onMessage("hello", (m) => out.events.push("hello " + m.n));
       ch.onMessage("echo", () => out.events.push("echo"));
       await ch.opened();
       ch.send({ type: "echo" });
       while (!out.events.includes("echo")) await tick();
       out.state = ch.state;
       ch.close();
       await tick(100);`,
    );
    assert.deepEqual(out.events, ["open", "hello 1", "hello 2", "echo"]);
    assert.equal(out.state, "open");
    assert.deepEqual(out.unhandled, []);
    assert.equal(server.log.connections, 1, "one socket: the channel took the one connect() opened");
    const core = wasm.sent.at(-1);
    assert.ok(
      server.log.connectedAt[0] < core.at,
      `the handshake was done before the wasm (${core.name}) was even sent: ${(core.at - server.log.connectedAt[0]).toFixed(0)} ms earlier`,
    );
  });
}

test("the core's load failing rejects connect() with LOAD_FAILED and closes the socket it had opened", async (t) => {
  const { out, server } = await scenario(
    t,
    `try {
       await mc.connect(url);
     } catch (err) {
       out.code = err.code;
       out.message = err.message;
     }
     await tick(200);`,
    { missing: true },
  );
  assert.equal(out.code, "LOAD_FAILED");
  assert.match(out.message, /HTTP 404/);
  assert.deepEqual(out.unhandled, []);
  assert.equal(server.log.connections, 1);
  assert.equal(server.log.closedAt.length, 1, "the socket opened early was closed");
});

test("a URL the core refuses gets no early socket: connect() rejects with INVALID_URL and nothing connects", async (t) => {
  const { out, server } = await scenario(
    t,
    `for (const bad of [url + "/a b", "ws://127.0.0.1:0/ch"]) {
       try {
         await mc.connect(bad);
       } catch (err) {
         out.events.push(err.code);
       }
     }`,
  );
  assert.deepEqual(out.events, ["INVALID_URL", "INVALID_URL"]);
  assert.equal(server.log.connections, 0);
});

test("close() right after connect(), before the early socket's events reach the core: closed, no error, the socket closed", async (t) => {
  const { out, server } = await scenario(
    t,
    `const ch = await mc.connect(url);
     ch.on("error", (e) => out.events.push("error " + e.code));
     ch.on("message", () => out.events.push("message"));
     await ch.close();
     out.state = ch.state;
     await tick(200);`,
  );
  assert.equal(out.state, "closed");
  assert.deepEqual(out.events, []);
  assert.deepEqual(out.unhandled, []);
  assert.equal(server.log.connections, 1);
  assert.equal(server.log.closedAt.length, 1);
});

test("an upgrade refused on the early socket is reported as on any other attempt (the same error, then a reconnect)", async (t) => {
  const { out } = await scenario(
    t,
    `const first = await mc.connect(url, { reconnect: { minDelayMs: 50, maxDelayMs: 50 } });
     const errors = [];
     first.on("error", (e) => errors.push(e.code + ": " + e.message));
     first.on("reconnecting", () => errors.push("reconnecting"));
     while (errors.length < 2) await tick();
     first.dispose();
     // The same URL once the core is there: no early socket.
     const second = await mc.connect(url, { reconnect: { minDelayMs: 50, maxDelayMs: 50 } });
     const again = [];
     second.on("error", (e) => again.push(e.code + ": " + e.message));
     second.on("reconnecting", () => again.push("reconnecting"));
     while (again.length < 2) await tick();
     second.dispose();
     out.first = errors.slice(0, 2);
     out.second = again.slice(0, 2);`,
    { refuse: 403 },
  );
  assert.deepEqual(out.first, out.second);
  assert.match(out.first[0], /^SOCKET_ERROR/);
  assert.equal(out.first[1], "reconnecting");
  assert.deepEqual(out.unhandled, []);
});
