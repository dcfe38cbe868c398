// Many peers on one channel (issue 22), reduced: 30 reliable+presence peers in 3 processes on
// the real relay, each sending 5 messages/s while the relay drops every socket 3 times, then a
// relay restart. Asserts exactly once, in order, nothing reported lost, and that presence
// converges after the restart; prints the frame figures of tests/bench/fanout.mjs (the full
// run, N = 10, 50, 100: npm run bench -- --only fanout). Asserts no timing.
import test from "node:test";
import assert from "node:assert/strict";
import { distDir } from "./helpers.js";
import { FANOUT_HEADER, fanoutRow, runFanout } from "../bench/fanout.mjs";

test("30 peers in 3 processes through 3 drops and a relay restart: every message once, in order; frames printed", async () => {
  const r = await runFanout({
    n: 30,
    mode: "reliable",
    reconnect: "fast",
    seconds: 4,
    settle: 4,
    idle: 0,
    drops: 3,
    rate: 5,
    perProcess: 10,
    distDir,
    joinMs: 1500,
  });
  console.log(`${FANOUT_HEADER.split("\n")[0]}\n${fanoutRow(r)}`);
  assert.ok(r.sent > 30 * 5 * 3, `sent ${r.sent}`);
  assert.equal(r.lost, 0, "nothing reported lost");
  assert.equal(r.complete, 30, "every peer got every other's messages exactly once, in order");
  assert.ok(r.converged, "every peer saw every other's new presence state after the restart");
  assert.ok(r.stats.rttMs > 0, "the dev relay echoes: its round trip was timed");
});
