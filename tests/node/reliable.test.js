// Reliable delivery against the real dev relay (and a relay variant that does not echo a
// sender's own frames): nothing lost, nothing doubled, in order per sender, through forced
// drops, an absent receiver, a relay restart; raw clients keep working beside reliable ones.
import test from "node:test";
import assert from "node:assert/strict";
import { WebSocket, WebSocketServer } from "ws";
import { mc, relayFor, channelFor, sleep, waitFor } from "./helpers.js";
import { restartableRelay } from "./fault-tools.js";

const FAST = { minDelayMs: 5, maxDelayMs: 40, stableAfterMs: 200 };

/**
 * Follows what `channels` receive from each other: per receiver and sender, the "n" of every
 * {type: "r"} message, checked in order and exactly once as it arrives.
 */
function track(channels) {
  const byId = new Map(channels.map((c, i) => [c.id, i]));
  const got = channels.map(() => channels.map(() => []));
  const problems = [];
  const lost = [];
  channels.forEach((ch, r) => {
    ch.onMessage("r", (m, meta) => {
      const s = byId.get(meta.from);
      if (s === undefined || s === r) return; // our own echo
      const list = got[r][s];
      if (list.length && m.n !== list.at(-1) + 1) problems.push(`client ${r} got ${m.n} from ${s} after ${list.at(-1)}`);
      if (meta.seq !== m.n) problems.push(`client ${r}: seq ${meta.seq} carries n ${m.n}`);
      list.push(m.n);
    });
    ch.on("error", (e) => {
      if (e.code === "MESSAGES_LOST") lost.push(e.detail);
    });
  });
  return { got, problems, lost };
}

function complete(tracker, sent) {
  return tracker.got.every((row, r) => row.every((list, s) => s === r || list.length === sent[s]));
}

function totals(channels) {
  const sum = {};
  for (const ch of channels) {
    for (const [k, v] of Object.entries(ch._reliableStats())) if (typeof v === "number") sum[k] = (sum[k] || 0) + v;
  }
  return sum;
}

/** A broadcast relay that does NOT send a sender its own frames (unlike the dev relay). */
async function noEchoRelay(t) {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((resolve) => wss.once("listening", resolve));
  wss.on("connection", (ws) => {
    ws.on("error", () => {});
    ws.on("message", (data, isBinary) => {
      for (const peer of wss.clients) if (peer !== ws && peer.readyState === 1) peer.send(data, { binary: isBinary });
    });
  });
  t.after(
    () =>
      new Promise((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  );
  return {
    url: `ws://127.0.0.1:${wss.address().port}/noecho`,
    dropAll: () => {
      for (const ws of wss.clients) ws.terminate();
    },
    wss,
  };
}

test("three reliable clients sending every 2 ms through 100 forced drops of every socket: all arrive once, in order", async (t) => {
  const relay = await relayFor(t);
  const { url, token } = await relay.createChannel();
  const clients = [0, 1, 2].map(() => channelFor(t, url, { reliable: { bufferMessages: 5000 }, reconnect: FAST }));
  const tracker = track(clients);
  await Promise.all(clients.map((c) => c.opened()));
  const sent = [0, 0, 0];
  const timers = clients.map((c, i) => setInterval(() => c.send({ type: "r", n: ++sent[i] }), 2));
  t.after(() => timers.forEach(clearInterval));
  for (let i = 0; i < 100; i++) {
    await waitFor(() => clients.every((c) => c.state === "open"), { timeoutMs: 5000, what: `all open before drop ${i + 1}` });
    await sleep(15 + (i % 4) * 10);
    relay.dropAll(token);
  }
  timers.forEach(clearInterval);
  await waitFor(() => complete(tracker, sent), { timeoutMs: 20000, what: "every message at every client" });
  const s = totals(clients);
  console.log(
    `# 100 drops: sent ${sent.join("/")}; repaired by resend after reconnect ${s.resentAfterReconnect}, ` +
      `by request ${s.resentOnRequest} (${s.requestsSent} requests, ${s.requestsCancelled} cancelled by another's), ` +
      `duplicates dropped ${s.duplicatesDropped}, lost ${s.lost}`,
  );
  assert.deepEqual(tracker.problems, []);
  assert.deepEqual(tracker.lost, []);
  for (let r = 0; r < 3; r++) {
    for (let k = 0; k < 3; k++) {
      if (k !== r)
        assert.deepEqual(
          tracker.got[r][k],
          Array.from({ length: sent[k] }, (_, i) => i + 1),
          `client ${r} from ${k}`,
        );
    }
  }
  assert.ok(s.resentAfterReconnect + s.resentOnRequest > 0, "the drops cost messages that had to be repaired");
});

/** Two senders at 200 messages/s each while the receiver is away for 5 s (its socket killed, no retry meanwhile). */
async function awayFor5s(t, url, kill) {
  const senders = [0, 1].map(() => channelFor(t, url, { reliable: { bufferMessages: 4000 }, reconnect: FAST }));
  const receiver = channelFor(t, url, { reliable: true, protocols: ["receiver"], reconnect: { minDelayMs: 5000, maxDelayMs: 5000, jitter: 0 } });
  const all = [...senders, receiver];
  const tracker = track(all);
  await Promise.all(all.map((c) => c.opened()));
  const sent = [0, 0, 0];
  const timers = senders.map((c, i) => setInterval(() => c.send({ type: "r", n: ++sent[i] }), 5));
  t.after(() => timers.forEach(clearInterval));
  await sleep(200);
  kill(receiver);
  await waitFor(() => receiver.state === "reconnecting", { what: "the receiver noticed" });
  const before = tracker.got[2].map((l) => l.length);
  await sleep(5000);
  await waitFor(() => receiver.state === "open", { timeoutMs: 3000, what: "the receiver back" });
  await sleep(300);
  timers.forEach(clearInterval);
  await waitFor(() => tracker.got[2][0].length === sent[0] && tracker.got[2][1].length === sent[1], {
    timeoutMs: 10000,
    what: "everything sent while away",
  });
  const s = totals(all);
  console.log(
    `# away 5 s: missed ${sent[0] - before[0]}+${sent[1] - before[1]} while away; resent on request ${s.resentOnRequest}, ` +
      `after reconnect ${s.resentAfterReconnect}; requests ${s.requestsSent}; lost ${s.lost}`,
  );
  assert.deepEqual(tracker.problems, []);
  assert.deepEqual(tracker.lost, []);
  // 200/s for 5 s is 1,000; a loaded machine's timers run late, hence the margin.
  assert.ok(sent[0] - before[0] >= 300, `the senders kept sending while it was away (${sent[0] - before[0]})`);
  assert.deepEqual(
    tracker.got[2][0],
    Array.from({ length: sent[0] }, (_, i) => i + 1),
  );
  assert.deepEqual(
    tracker.got[2][1],
    Array.from({ length: sent[1] }, (_, i) => i + 1),
  );
  return s;
}

test("a receiver away for 5 s while two peers send 200 messages/s gets every one back, in order", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  let receiverSocket = null;
  relay.on("connection", ({ protocol, socket }) => {
    if (protocol === "receiver") receiverSocket = socket;
  });
  const s = await awayFor5s(t, url, () => receiverSocket.terminate());
  assert.ok(s.resentOnRequest >= 300, `repaired by request (${s.resentOnRequest})`);
});

test("the same through a relay that does not echo a sender's own frames (repair by request alone)", async (t) => {
  const relay = await noEchoRelay(t);
  let receiverSocket = null;
  relay.wss.on("connection", (ws) => {
    if (ws.protocol === "receiver") receiverSocket = ws;
  });
  const s = await awayFor5s(t, relay.url, () => receiverSocket.terminate());
  assert.equal(s.resentAfterReconnect, 0, "no echo: nothing is resent blindly");
});

test("forced drops through a non-echoing relay: in-flight losses are repaired by announce and request", async (t) => {
  const relay = await noEchoRelay(t);
  const clients = [0, 1, 2].map(() => channelFor(t, relay.url, { reliable: { bufferMessages: 5000 }, reconnect: FAST }));
  const tracker = track(clients);
  await Promise.all(clients.map((c) => c.opened()));
  const sent = [0, 0, 0];
  const timers = clients.map((c, i) => setInterval(() => c.send({ type: "r", n: ++sent[i] }), 2));
  t.after(() => timers.forEach(clearInterval));
  for (let i = 0; i < 20; i++) {
    await waitFor(() => clients.every((c) => c.state === "open"), { timeoutMs: 5000, what: `all open before drop ${i + 1}` });
    await sleep(20 + (i % 4) * 10);
    relay.dropAll();
  }
  timers.forEach(clearInterval);
  await waitFor(() => complete(tracker, sent), { timeoutMs: 20000, what: "every message at every client" });
  const s = totals(clients);
  console.log(`# no-echo relay, 20 drops: sent ${sent.join("/")}; resent on request ${s.resentOnRequest}, lost ${s.lost}`);
  assert.deepEqual(tracker.problems, []);
  assert.deepEqual(tracker.lost, []);
  for (const c of clients) assert.equal(c._reliableStats().relayEchoes, false, "no echo detected");
});

test("a relay restart: what was in flight is resent, nothing is doubled", async (t) => {
  const relay = await restartableRelay(t);
  const { url } = await relay.createChannel();
  const clients = [0, 1, 2].map(() => channelFor(t, url, { reliable: true, reconnect: FAST }));
  const tracker = track(clients);
  await Promise.all(clients.map((c) => c.opened()));
  const sent = [0, 0, 0];
  const timers = clients.map((c, i) => setInterval(() => c.send({ type: "r", n: ++sent[i] }), 2));
  t.after(() => timers.forEach(clearInterval));
  await sleep(300);
  await relay.restart();
  await waitFor(() => clients.every((c) => c.state === "open"), { timeoutMs: 5000, what: "all back after the restart" });
  await sleep(300);
  timers.forEach(clearInterval);
  await waitFor(() => complete(tracker, sent), { timeoutMs: 10000, what: "every message at every client" });
  assert.deepEqual(tracker.problems, []);
  assert.deepEqual(tracker.lost, []);
});

test("a raw ws client and reliable clients exchange plain JSON on the same channel", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const a = channelFor(t, url, { reliable: true, presence: { state: { name: "a" } } });
  const fromRaw = [];
  a.onMessage("plain", (m, meta) => fromRaw.push({ m, from: meta.from, seq: meta.seq }));
  await a.opened();
  const raw = new WebSocket(url);
  t.after(() => raw.terminate());
  const rawGot = [];
  raw.on("message", (data) => rawGot.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => {
    raw.once("open", resolve);
    raw.once("error", reject);
  });
  raw.send(JSON.stringify({ type: "plain", n: 1, text: "hi from python" }));
  a.send({ type: "chat", text: "hello raw" });
  await waitFor(() => fromRaw.length === 1 && rawGot.some((m) => m.type === "chat"), { what: "both directions" });
  assert.deepEqual(fromRaw, [{ m: { type: "plain", n: 1, text: "hi from python" }, from: null, seq: null }]);
  const chat = rawGot.find((m) => m.type === "chat");
  assert.deepEqual(chat, { _mc: `${a.id}:1`, type: "chat", text: "hello raw" }, "the same message plus the reserved member");
  // What else a raw client sees are the peers' control messages, all of {type: "_mc"}.
  for (const m of rawGot) assert.ok(m.type === "chat" || m.type === "plain" || m.type === "_mc", JSON.stringify(m));
});

test('a raw ws client that forwards what it received, "_mc" member and all, is heard: not dropped as a duplicate', async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const a = channelFor(t, url, { reliable: true });
  const b = channelFor(t, url, { reliable: true });
  const replies = { a: [], b: [] };
  const jobs = { a: [], b: [] };
  a.onMessage("job.done", (m, meta) => replies.a.push({ m, meta }));
  b.onMessage("job.done", (m, meta) => replies.b.push({ m, meta }));
  b.onMessage("job", (m, meta) => jobs.b.push({ m, meta }));
  await Promise.all([a.opened(), b.opened()]);
  // The worker of the issue: { ...received, type: "job.done" } keeps the sender's "_mc".
  const worker = new WebSocket(url);
  t.after(() => worker.terminate());
  worker.on("message", (data) => {
    const m = JSON.parse(String(data));
    if (m.type === "job") worker.send(JSON.stringify({ ...m, type: "job.done", result: m.n * 2 }));
  });
  await new Promise((resolve, reject) => {
    worker.once("open", resolve);
    worker.once("error", reject);
  });
  for (let n = 1; n <= 10; n++) a.send({ type: "job", n });
  await waitFor(() => replies.a.length === 10 && replies.b.length === 10, { what: "10 replies at both peers" });
  await sleep(100);
  for (const who of ["a", "b"]) {
    assert.deepEqual(
      replies[who].map((r) => r.m.result),
      [2, 4, 6, 8, 10, 12, 14, 16, 18, 20],
      `${who}: every reply, once`,
    );
    for (const r of replies[who]) assert.deepEqual(r.meta.from, null, "a forwarded copy is unsequenced");
    for (const r of replies[who]) assert.deepEqual(r.meta.seq, null);
  }
  // The jobs themselves still arrive exactly once, sequenced.
  assert.deepEqual(
    jobs.b.map((j) => [j.m.n, j.meta.from, j.meta.seq]),
    Array.from({ length: 10 }, (_, i) => [i + 1, a.id, i + 1]),
  );
});

test("reliable options are validated", async () => {
  assert.throws(() => new mc.Channel(null, { reliable: { bufferMessages: 0 } }), { code: "INVALID_ARGUMENT", message: /reliable.bufferMessages/ });
  assert.throws(() => new mc.Channel(null, { reliable: { nope: 1 } }), { code: "INVALID_ARGUMENT", message: /reliable.nope/ });
  assert.throws(() => new mc.Channel(null, { reliable: "yes" }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new mc.Channel(null, { presence: { state: () => 1 } }), { code: "INVALID_ARGUMENT", message: /presence.state/ });
  assert.throws(() => new mc.Channel(null, { presence: { state: "x".repeat(100), maxStateBytes: 16 } }), {
    code: "INVALID_ARGUMENT",
    message: /maxStateBytes is 16/,
  });
  const plain = new mc.Channel(null);
  assert.match(plain.id, /^[0-9a-z]{12}$/);
  assert.throws(() => plain.setPresence(1), { code: "INVALID_ARGUMENT", message: /presence is off/ });
  plain.dispose();
  assert.throws(() => plain.setPresence(1), { code: "DISPOSED" });
});

test("MESSAGES_LOST: what the sender no longer holds is reported once, with its id and the count, then delivery goes on", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  let receiverSocket = null;
  relay.on("connection", ({ protocol, socket }) => {
    if (protocol === "receiver") receiverSocket = socket;
  });
  const sender = channelFor(t, url, { reliable: { bufferMessages: 5 } });
  const receiver = channelFor(t, url, { reliable: true, protocols: ["receiver"], reconnect: { minDelayMs: 300, maxDelayMs: 300, jitter: 0 } });
  const got = [];
  const errors = [];
  receiver.onMessage("r", (m) => got.push(m.n));
  receiver.on("error", (e) => errors.push(e));
  const lostEvents = [];
  receiver.on("lost", (e) => lostEvents.push(e));
  await Promise.all([sender.opened(), receiver.opened()]);
  sender.send({ type: "r", n: 1 });
  await waitFor(() => got.length === 1, { what: "the first message" });
  receiverSocket.terminate();
  await waitFor(() => receiver.state === "reconnecting", { what: "the receiver away" });
  for (let n = 2; n <= 51; n++) sender.send({ type: "r", n }); // the buffer keeps 47..51
  await waitFor(() => receiver.state === "open", { timeoutMs: 3000, what: "the receiver back" });
  await waitFor(() => got.at(-1) === 51, { timeoutMs: 5000, what: "the last message" });
  await sleep(500);
  const lost = errors.filter((e) => e.code === "MESSAGES_LOST");
  assert.equal(lost.length, 1, "once per gap");
  assert.ok(lost[0] instanceof mc.MetaChannelError);
  assert.deepEqual(lost[0].detail, { from: sender.id, count: 45 }, "2..46 aged out of a 5-message buffer");
  assert.match(lost[0].message, /45 message\(s\) from peer [0-9a-z]{12} were lost/);
  assert.deepEqual(lostEvents, [{ from: sender.id, count: 45 }], "the lost event: the same gap, once");
  assert.deepEqual(got, [1, 47, 48, 49, 50, 51]);
});

test("a peer that steps away (setUrl(null)) and comes back to the same URL is the same peer: repaired, or told once per gap", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const sender = channelFor(t, url, { reliable: true, presence: true });
  const small = channelFor(t, url, { reliable: { bufferMessages: 5 } });
  const back = channelFor(t, url, { reliable: true, presence: true, reconnect: FAST });
  const got = { sender: [], small: [] };
  const errors = [];
  back.onMessage("r", (m, meta) => got[meta.from === sender.id ? "sender" : "small"].push(m.n));
  back.on("error", (e) => errors.push(e));
  await Promise.all([sender.opened(), small.opened(), back.opened()]);
  for (let n = 1; n <= 3; n++) {
    sender.send({ type: "r", n });
    small.send({ type: "r", n });
  }
  await waitFor(() => got.sender.length === 3 && got.small.length === 3, { what: "the first messages" });
  const id = back.id;
  back.setUrl(null);
  await waitFor(() => !sender.presence.has(id), { what: "it left the presence map" });
  for (let n = 4; n <= 30; n++) {
    sender.send({ type: "r", n });
    small.send({ type: "r", n }); // its buffer keeps 26..30
  }
  await sleep(100);
  back.setUrl(url);
  await waitFor(() => got.sender.at(-1) === 30 && got.small.at(-1) === 30, { timeoutMs: 5000, what: "the last messages" });
  await waitFor(() => sender.presence.has(id), { what: "present again" });
  await sleep(300);
  assert.equal(back.id, id, "the same id");
  assert.deepEqual(
    got.sender,
    Array.from({ length: 30 }, (_, i) => i + 1),
    "everything repaired, in order, once",
  );
  assert.deepEqual(got.small, [1, 2, 3, 26, 27, 28, 29, 30]);
  const lost = errors.filter((e) => e.code === "MESSAGES_LOST");
  assert.deepEqual(
    lost.map((e) => e.detail),
    [{ from: small.id, count: 22 }],
    "one MESSAGES_LOST for the gap nobody holds",
  );
});

/**
 * A peer written from the older wire (docs/reliability.md, "Versions"): raw `ws`, no `renew` in
 * its `hi`, fixed timers; it numbers its messages, answers `nack` from its buffer and `ask` with
 * a `hi`. `skip`: sequence numbers it numbers but never writes (lost on the way).
 */
async function olderPeer(t, url, { id, skip = new Set() }) {
  const ws = new WebSocket(url);
  t.after(() => ws.terminate());
  const sent = new Map();
  let seq = 0;
  const got = [];
  const hi = (ask) => ws.send(JSON.stringify({ type: "_mc", op: "hi", from: id, seq, low: 1, state: { name: "old" }, ...(ask ? { ask: true } : {}) }));
  ws.on("message", (data) => {
    const m = JSON.parse(String(data));
    if (m.type !== "_mc") return got.push(m);
    if (m.op === "hi" && m.ask) setTimeout(() => hi(false), 20);
    if (m.op === "nack" && m.to === id) {
      for (const [a, b] of m.ranges) for (let s = a; s <= b; s++) if (sent.has(s)) ws.send(sent.get(s));
    }
  });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  hi(true);
  return {
    got,
    send(message) {
      seq += 1;
      const text = JSON.stringify({ _mc: `${id}:${seq}`, ...message });
      sent.set(seq, text);
      if (!skip.has(seq)) ws.send(text);
    },
    announce: () => hi(false),
  };
}

test("an older-wire peer (no renew, fixed timers) beside new ones: its messages repaired in order, it stays present, it hears them", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const channels = [0, 1, 2].map(() => channelFor(t, url, { reliable: true, presence: { renewMs: 300, timeoutMs: 600 } }));
  await Promise.all(channels.map((c) => c.opened()));
  const old = await olderPeer(t, url, { id: "olderpeer001", skip: new Set([3, 7]) });
  const got = channels.map(() => []);
  channels.forEach((c, i) => {
    c.onMessage("r", (m, meta) => {
      if (meta.from === "olderpeer001") got[i].push(m.n);
    });
  });
  await waitFor(() => channels.every((c) => c.presence.has("olderpeer001")), { what: "the older peer present" });
  for (let n = 1; n <= 10; n++) old.send({ type: "r", n });
  old.announce(); // its tail announce: seq 10
  for (const c of channels) c.send({ type: "new", from: c.id });
  await waitFor(() => got.every((g) => g.length === 10), { timeoutMs: 5000, what: "all 10, 3 and 7 repaired" });
  for (const g of got) assert.deepEqual(g, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // It renews at its own period (here 200 ms) without saying so: timeoutMs (600 ms) applies to it.
  const renew = setInterval(() => old.announce(), 200);
  t.after(() => clearInterval(renew));
  await sleep(1500);
  for (const c of channels) assert.ok(c.presence.has("olderpeer001"), "still present");
  clearInterval(renew);
  await waitFor(() => channels.every((c) => !c.presence.has("olderpeer001")), { what: "gone once it stops renewing" });
  await waitFor(() => channels.every((c) => old.got.some((m) => m.type === "new" && m.from === c.id)), { what: "the older peer hears them" });
});

test("messages sent before the socket opened reach a reliable peer already on the channel, in order (the open's hi counts only what was written)", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const peer = channelFor(t, url, { reliable: true });
  await peer.opened();
  const got = [];
  const lost = [];
  peer.onMessage("early", (m, meta) => got.push([m.n, meta.seq]));
  peer.on("error", (e) => lost.push(e.code));
  const ch = channelFor(t, url, { reliable: true });
  for (let n = 1; n <= 3; n++) ch.send({ type: "early", n }); // queued: the socket is not open yet
  await ch.opened();
  ch.send({ type: "early", n: 4 });
  await waitFor(() => got.length >= 4, { timeoutMs: 5000, what: `all four messages at the peer (got ${JSON.stringify(got)})` });
  await sleep(200); // nothing doubled after
  assert.deepEqual(got, [
    [1, 1],
    [2, 2],
    [3, 3],
    [4, 4],
  ]);
  assert.deepEqual(lost, []);
});
