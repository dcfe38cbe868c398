// What the metachannel client (dist/) does with the relay's production signals, against a
// real relay: an upgrade refused with an HTTP status (404 for a channel the relay does not
// know: REVOKED, no retries; other statuses named in SOCKET_ERROR), and close 1012 "service
// restart" (reconnect at once, no backoff wait). docs/resilience.md has the rules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { WebSocket as WsSocket } from "ws";
import { channelFor, relayFor, waitFor, sleep, flavor, root } from "./helpers.js";
import { RELAY_CLOSE } from "../../relay/server.js";
import { closingServer, record } from "./fault-tools.js";

const SECRET = "UNKNOWNxSECRETxTOKEN0";

function rejected(relay, status) {
  return relay.metrics.rejected.get(status) ?? 0;
}

test("an upgrade refused with HTTP 404 (unknown channel) is REVOKED with `ws`: no endless retries, no secret in the message", async (t) => {
  const relay = await relayFor(t);
  const url = `ws://127.0.0.1:${relay.port}/ch/${SECRET}`;
  const ch = channelFor(t, url, { WebSocket: WsSocket, reconnect: { minDelayMs: 20, maxDelayMs: 40 } });
  const log = record(ch);
  await waitFor(() => ch.state === "closed", { what: "closed after the 404" });
  const [err] = log.errors();
  assert.equal(err.arg.code, "REVOKED");
  assert.equal(err.arg.detail, 404);
  assert.match(err.arg.message, /HTTP 404/);
  assert.doesNotMatch(err.arg.message, new RegExp(SECRET));
  assert.equal(log.errors().length, 1);
  await sleep(300); // retries would come every 20-40 ms
  assert.equal(rejected(relay, 404), 1, "one attempt only");
  assert.equal(log.of("reconnecting").length, 0);

  // setUrl() with a valid URL resumes.
  const { url: good } = await relay.createChannel();
  ch.setUrl(good);
  await ch.opened();
});

test(`the default WebSocket of this runtime (${flavor}) on a 404: REVOKED where it tells the status (ws), else retries`, async (t) => {
  const relay = await relayFor(t);
  const ch = channelFor(t, `ws://127.0.0.1:${relay.port}/ch/${SECRET}`, { reconnect: { minDelayMs: 20, maxDelayMs: 40 } });
  const log = record(ch);
  if (flavor === "node20-ws") {
    await waitFor(() => ch.state === "closed", { what: "closed after the 404" });
    assert.equal(log.errors()[0].arg.code, "REVOKED");
  } else {
    // undici never says which status refused the upgrade: a plain connection failure.
    await waitFor(() => rejected(relay, 404) >= 2, { what: "a retry" });
    assert.equal(log.errors()[0].arg.code, "SOCKET_ERROR");
    assert.doesNotMatch(log.errors()[0].arg.message, new RegExp(SECRET));
  }
});

test("an upgrade refused with another status (429: channel full) names it in SOCKET_ERROR, and the channel retries", async (t) => {
  const relay = await relayFor(t, { maxClientsPerChannel: 1 });
  const { url, token } = await relay.createChannel();
  const first = channelFor(t, url);
  await first.opened();
  const ch = channelFor(t, url, { WebSocket: WsSocket, reconnect: { minDelayMs: 50, maxDelayMs: 50, jitter: 0 } });
  const log = record(ch);
  await waitFor(() => log.errors().length >= 2, { what: "two refused attempts" });
  const err = log.errors()[0].arg;
  assert.equal(err.code, "SOCKET_ERROR");
  assert.equal(err.detail, 429);
  assert.match(err.message, /the server answered the upgrade with HTTP 429$/);
  assert.doesNotMatch(err.message, new RegExp(token));
  // Room again: the retrying channel gets in.
  first.close();
  await ch.opened();
});

test("close 1012 (service restart): the client reconnects at once, without the backoff wait", async (t) => {
  const server = await closingServer(t, 1012, "service restart");
  server.holdMs = 200;
  // A 2 s backoff floor: only the 1012 rule can bring the client back sooner.
  const ch = channelFor(t, server.url(), { reconnect: { minDelayMs: 2000, maxDelayMs: 2000, jitter: 0, stableAfterMs: 100 } });
  const log = record(ch);
  await waitFor(() => server.connections >= 2, { what: "the reconnect after 1012", timeoutMs: 1500 });
  const close = log.of("close")[0];
  assert.equal(close.arg.code, 1012);
  assert.equal(close.arg.willReconnect, true);
  assert.equal(log.of("reconnecting")[0].arg.delayMs, 0);
  const gap = server.opened[1] - close.at;
  console.log(`[relay-restart ${flavor}] 1012 -> next connection accepted after ${gap.toFixed(1)} ms (backoff floor 2000 ms)`);
  ch.close();
});

test("close 1013 (try again later, the relay while Redis is away) keeps the backoff wait", async (t) => {
  const server = await closingServer(t, 1013, "redis unavailable");
  server.holdMs = 150;
  const ch = channelFor(t, server.url(), { reconnect: { minDelayMs: 400, maxDelayMs: 400, jitter: 0 } });
  const log = record(ch);
  await waitFor(() => log.of("reconnecting").length >= 1, { what: "reconnecting after 1013" });
  assert.equal(log.of("close")[0].arg.code, 1013);
  assert.equal(log.of("reconnecting")[0].arg.delayMs, 400);
  ch.close();
});

test("the relay's close codes are the ones the client gives a meaning (src/metachannel/vocabulary.h via js/vocabulary.ts)", () => {
  const text = readFileSync(path.join(root, "js/vocabulary.ts"), "utf8");
  const block = /export const CLOSE_CODES = \{([^}]*)\}/.exec(text)[1];
  const codes = Object.fromEntries([...block.matchAll(/(\w+): (\d+)/g)].map((m) => [m[1], Number(m[2])]));
  assert.equal(RELAY_CLOSE.restart[0], codes.SERVICE_RESTART);
  assert.equal(RELAY_CLOSE.redisDown[0], codes.TRY_AGAIN_LATER);
  assert.equal(RELAY_CLOSE.revoked[0], codes.REVOKED);
});
