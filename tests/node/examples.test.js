// Runs each example in demo/examples/ as its own Node process against a real relay, and
// checks what it prints (and, at the relay, what it sent).
// Run: node --test tests/node/examples.test.js   (and with --experimental-websocket, Node 22)
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { root, relayFor, channelFor, waitFor } from "./helpers.js";

const EXAMPLES = path.join(root, "demo/examples");

// The examples run in the same flavour as this suite: with Node 20's built-in WebSocket when
// this process has it.
const childFlags = typeof globalThis.WebSocket === "function" && process.versions.node.split(".")[0] === "20" ? ["--experimental-websocket"] : [];

/** Starts an example; `lines` fills as it prints; `exited` resolves with { code, out, err }. */
function runExample(t, name, args = [], { env = {}, timeoutMs = 20000 } = {}) {
  const child = spawn(process.execPath, [...childFlags, path.join(EXAMPLES, name), ...args], {
    cwd: root,
    env: { ...process.env, WEBSOCKET_URL: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines = [];
  let out = "";
  let err = "";
  let partial = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
    partial += chunk;
    const parts = partial.split("\n");
    partial = parts.pop();
    lines.push(...parts);
  });
  child.stderr.on("data", (chunk) => (err += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const exited = new Promise((resolve) =>
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (partial) lines.push(partial);
      resolve({ code, signal, out, err });
    }),
  );
  t.after(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
    return exited;
  });
  const waitLine = (re, what = String(re)) => waitFor(() => lines.some((l) => re.test(l)), { what: `a line ${what}`, timeoutMs });
  return { child, lines, exited, waitLine };
}

/** A relay, a channel on it, and every frame sent to it, per connection (parsed when JSON). */
async function setup(t) {
  const relay = await relayFor(t);
  const { url, token } = await relay.createChannel();
  const conns = [];
  relay.on("connection", ({ headers, socket }) => {
    const entry = { headers, frames: [] };
    conns.push(entry);
    socket.on("message", (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      try {
        entry.frames.push(JSON.parse(text));
      } catch {
        entry.frames.push(text);
      }
    });
  });
  return { relay, url, token, conns };
}

function assertClean(result, token) {
  assert.equal(result.err, "", "nothing on stderr");
  assert.equal(result.code, 0, `exit code (stderr: ${result.err})`);
  assert.ok(!result.out.includes(token), "the channel secret is never printed");
}

test("chat.mjs: two ChatClients talk in #general; #random stays with bob", async (t) => {
  const { url, token, conns } = await setup(t);
  const run = runExample(t, "chat.mjs", [url, "--count", "4", "--interval-ms", "0"]);
  const result = await run.exited;
  assertClean(result, token);
  const out = run.lines;
  const must = [
    "alice connected, rooms: general",
    "bob connected, rooms: general, random",
    "[alice] * bob joined #general",
    "[bob] * bob joined #random",
    "[bob] #general <alice> hi bob!",
    "[alice] #general <bob> hi alice, how is the build?",
    "[bob] #general <alice> green on every suite",
    "[alice] #general <bob> nice, let's ship it",
    "[bob] #random <bob> anyone in here?",
    "[alice] * bob left #general",
    "done: 4 message(s) exchanged",
  ];
  for (const line of must) assert.ok(out.includes(line), `prints ${JSON.stringify(line)}\n${out.join("\n")}`);
  assert.ok(!out.some((l) => l.startsWith("[alice] #random") || l === "[alice] * bob joined #random"), "alice never sees #random");
  assert.ok(!out.includes("[bob] * bob left #general"), "bob does not see his own leave");
  // In order: the conversation as bob saw it.
  assert.deepEqual(
    out.filter((l) => l.startsWith("[bob] #general")),
    [
      "[bob] #general <alice> hi bob!",
      "[bob] #general <bob> hi alice, how is the build?",
      "[bob] #general <alice> green on every suite",
      "[bob] #general <bob> nice, let's ship it",
    ],
  );
  // The documents' wire format, at the relay.
  const bob = conns.find((c) => c.frames.some((f) => f.username === "bob"));
  assert.deepEqual(
    bob.frames.filter((f) => f.type !== "message"),
    [
      { type: "join", username: "bob", room: "general" },
      { type: "join", username: "bob", room: "random" },
      { type: "leave", username: "bob", room: "general" },
      { type: "leave", username: "bob", room: "random" },
    ],
  );
  assert.deepEqual(
    bob.frames.find((f) => f.type === "message"),
    { type: "message", username: "bob", text: "hi alice, how is the build?", room: "general" },
  );
});

test("stock-ticker.mjs: a table of the five subscribed symbols, NFLX never delivered", async (t) => {
  const { url, token, conns } = await setup(t);
  const run = runExample(t, "stock-ticker.mjs", [url, "--count", "3", "--interval-ms", "40"]);
  const result = await run.exited;
  assertClean(result, token);
  const out = run.lines;
  assert.ok(out.includes("subscribed to AAPL, GOOGL, MSFT, TSLA, AMZN"));
  for (let r = 1; r <= 3; r++) assert.ok(out.includes(`round ${r}: ${5 * r} update(s) so far`), `round ${r}`);
  assert.ok(out.includes("done: 3 round(s), 15 quote update(s) delivered, 0 for another symbol (NFLX is published but not subscribed)"));
  const rows = out.filter((l) => /^\| [A-Z]+ +\| +\$[\d.]+ \| +[+-][\d.]+ \| +[\d,]+ \|$/.test(l));
  assert.equal(rows.length, 15, "5 rows per table, 3 tables");
  assert.deepEqual(
    rows.slice(0, 5).map((r) => r.split("|")[1].trim()),
    ["AAPL", "GOOGL", "MSFT", "TSLA", "AMZN"],
  );
  assert.ok(!out.some((l) => l.includes("NFLX |")));
  // At the relay: the ticker subscribed to each symbol; the feed published NFLX too.
  const frames = conns.flatMap((c) => c.frames);
  assert.deepEqual(
    frames.filter((f) => f.type === "subscribe").map((f) => f.channel),
    ["AAPL", "GOOGL", "MSFT", "TSLA", "AMZN"],
  );
  assert.ok(frames.some((f) => f.type === "quote" && f.channel === "NFLX"));
});

test("reliable.mjs: heartbeat traffic, then a dropped connection comes back with backoff", async (t) => {
  const { relay, url, token, conns } = await setup(t);
  const run = runExample(t, "reliable.mjs", [url, "--heartbeat-ms", "100", "--min-delay-ms", "50", "--reconnects", "1"]);
  await run.waitLine(/^Connected successfully$/);
  await waitFor(() => conns.length === 1 && conns[0].frames.filter((f) => f === "ping").length >= 2, { what: "two heartbeat pings at the relay" });
  relay.dropAll(token);
  const result = await run.exited;
  assertClean(result, token);
  const out = run.lines;
  const expectInOrder = [
    "state: connecting -> open",
    "Connected successfully",
    "Connection closed (code 1006)",
    "state: open -> reconnecting",
    "Reconnecting in 50ms (attempt 1)",
    "state: reconnecting -> connecting",
    "state: connecting -> open",
    "Reconnected successfully (1 reconnect(s))",
    "state: open -> closing",
    "done: 2 open(s), 1 reconnect(s)",
  ];
  let at = -1;
  for (const line of expectInOrder) {
    const i = out.indexOf(line, at + 1);
    assert.ok(i > at, `"${line}" after line ${at}:\n${out.join("\n")}`);
    at = i;
  }
  assert.ok(!out.some((l) => l.includes("HEARTBEAT_TIMEOUT")), "the echoed pings kept the heartbeat satisfied");
  assert.ok(!out.some((l) => l.startsWith("Received: ping")), "heartbeat echoes are not messages");
  assert.ok(conns.length === 2 && conns[1].frames.every((f) => f === "ping"), "the second connection: only pings");
});

test("progress.mjs: a worker with WEBSOCKET_URL streams progress that another client sees", async (t) => {
  const { url, token } = await setup(t);
  const page = channelFor(t, url); // the browser side of the metapage
  const seen = [];
  page.onMessage("progress", (m) => seen.push(m.value));
  await page.opened();
  const run = runExample(t, "progress.mjs", ["--count", "4", "--interval-ms", "5"], { env: { WEBSOCKET_URL: url } });
  const result = await run.exited;
  assertClean(result, token);
  const out = run.lines;
  assert.ok(
    out.some((l) => /^worker connected to ws:\/\/127\.0\.0\.1:\d+\/… via connectFromEnv\(\)$/.test(l)),
    out.join("\n"),
  );
  assert.deepEqual(
    out.filter((l) => l.startsWith("sent progress")),
    ["sent progress 25%", "sent progress 50%", "sent progress 75%", "sent progress 100%"],
  );
  assert.deepEqual(
    out.filter((l) => l.startsWith("received progress")),
    ["received progress 25%", "received progress 50%", "received progress 75%", "received progress 100%"],
  );
  assert.deepEqual(out.slice(-2), ["received done (4 steps)", "worker finished"]);
  await waitFor(() => seen.length === 4, { what: "the page to see every report" });
  assert.deepEqual(seen, [0.25, 0.5, 0.75, 1]);
});

test("progress.mjs: without WEBSOCKET_URL or an argument it runs on its own dev relay", async (t) => {
  const run = runExample(t, "progress.mjs", ["--once", "--interval-ms", "0"]);
  const result = await run.exited;
  assert.equal(result.code, 0, result.err);
  assert.ok(run.lines[0].startsWith("(no channel URL given: started a local dev relay"));
  assert.deepEqual(run.lines.slice(-2), ["received done (1 steps)", "worker finished"]);
});

test("price-feed.mjs: trades with a bearer token header, reconnecting after a drop", async (t) => {
  const { relay, url, token, conns } = await setup(t);
  const run = runExample(t, "price-feed.mjs", [url, "--count", "6", "--interval-ms", "30", "--min-delay-ms", "50", "--token", "tok-123"]);
  await run.waitLine(/^trade 2: /);
  relay.dropAll(token);
  const result = await run.exited;
  assertClean(result, token);
  const out = run.lines;
  assert.ok(out.includes("price feed connected"));
  assert.ok(out.includes("closed (1006)"));
  assert.ok(out.includes("reconnecting in 50 ms (retry 1 of 5)"), out.join("\n"));
  assert.ok(out.includes("price feed reconnected"));
  assert.deepEqual(
    out.filter((l) => l.startsWith("trade ")).map((l) => l.split(":")[0]),
    ["trade 1", "trade 2", "trade 3", "trade 4", "trade 5", "trade 6"],
  );
  assert.ok(out.filter((l) => l.startsWith("trade ")).every((l) => /^trade \d: BTCUSDT \d+\.\d\d x 0\.\d{3}$/.test(l)));
  assert.equal(out.at(-1), "done: 6 trade(s)");
  // The consumer's handshakes (first and after the drop) carried the header; the exchange's did not.
  const withHeader = conns.filter((c) => c.headers.authorization === "Bearer tok-123");
  assert.equal(withHeader.length, 2);
  assert.ok(conns.some((c) => c.frames.some((f) => f && f.e === "trade") && !c.headers.authorization));
});
