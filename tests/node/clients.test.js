// ChatClient, LiveDataClient and request/reply against the real dev relay.
// Run: node --test tests/node/clients.test.js   (and with --experimental-websocket, and Node 22)
// One file over 500 lines: the three clients share the relay-side frame counting that proves what
// was not delivered.
//
// How the tests know what was NOT delivered: every action's frames are counted at the relay
// (server side, per socket), then a "sync" frame is broadcast and awaited by every client.
// The relay forwards frames to each socket in one order, so once a client has the sync frame
// it has had every frame before it; whatever it did not report by then, it never will.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WebSocket as WsSocket } from "ws";
import { mc, relayFor, channelFor, waitFor, sleep } from "./helpers.js";

const FAST = { reconnect: { minDelayMs: 20, maxDelayMs: 40 } };
// The members the client classes route on (the internal Channel._hook(field, fn) is keyed by them).
const ROUTE = { SUBSCRIPTION: "channel", ROOM: "room", REPLY: "re" };

/** Every frame every client sent to the relay, per connection, in order (parsed when JSON). */
function serverLog(relay) {
  const conns = [];
  relay.on("connection", ({ socket }) => {
    const frames = [];
    conns.push(frames);
    socket.on("message", (data, isBinary) => {
      if (isBinary) return frames.push(data);
      const text = data.toString();
      try {
        frames.push(JSON.parse(text));
      } catch {
        frames.push(text);
      }
    });
  });
  return {
    conns,
    /** Frames from all connections except "sync" ones. */
    all: () => conns.flat().filter((f) => f && f.type !== "sync"),
  };
}

async function setup(t) {
  const relay = await relayFor(t);
  const { url, token } = await relay.createChannel();
  const log = serverLog(relay);
  return { relay, url, token, log };
}

/** Chat events as short strings, in arrival order. */
function record(client) {
  const out = [];
  for (const ev of ["join", "leave", "message", "error"]) {
    client.on(ev, (m) => {
      const room = m.room ?? "-";
      if (ev === "message") out.push(`message ${room} ${m.username}: ${m.text}`);
      else if (ev === "error") out.push(`error ${room}: ${m.message}`);
      else out.push(`${ev} ${room} ${m.username}`);
    });
  }
  return out;
}

/**
 * A barrier: waits until the relay has received `expected()` non-sync frames, then broadcasts
 * {type:"sync"} from `probe` and waits until every channel in `channels()` has it.
 */
function barrier(probe, log, channels) {
  let n = 0;
  const seen = new Map();
  return async function sync(expected) {
    await waitFor(() => log.all().length >= expected, { what: `${expected} frames at the relay` });
    assert.equal(log.all().length, expected, "frames at the relay");
    const k = ++n;
    for (const ch of channels()) {
      if (!seen.has(ch)) {
        seen.set(ch, 0);
        ch.onMessage("sync", (m) => seen.set(ch, m.n));
      }
    }
    probe.send({ type: "sync", n: k });
    await waitFor(() => channels().every((ch) => seen.get(ch) >= k), { what: `sync ${k}` });
  };
}

/** Counts calls of the hooks the client classes install on `ch` (internal API), per routed field. */
function countHooks(ch) {
  const calls = { [ROUTE.SUBSCRIPTION]: 0, [ROUTE.ROOM]: 0, [ROUTE.REPLY]: 0 };
  const original = ch._hook.bind(ch);
  ch._hook = (field, fn) =>
    original(field, (...args) => {
      calls[field] = (calls[field] || 0) + 1;
      return fn(...args);
    });
  return calls;
}

function errorsOf(ch) {
  const errors = [];
  ch.on("error", (e) => errors.push(e));
  return errors;
}

// ------------------------------------------------------------------------------ ChatClient

test("two ChatClients in overlapping rooms see exactly the events of their rooms", async (t) => {
  const { url, log } = await setup(t);
  const probe = channelFor(t, url);
  await probe.opened();
  const alice = new mc.ChatClient(url, "alice", { rooms: ["general", "dev"] });
  const bob = new mc.ChatClient(url, "bob", { rooms: ["general", "random"] });
  t.after(() => {
    alice.dispose();
    bob.dispose();
  });
  const a = record(alice);
  const b = record(bob);
  const sync = barrier(probe, log, () => [alice.channel, bob.channel].filter(Boolean));
  let sent = 0;

  await alice.connect();
  sent += 2;
  await sync(sent);
  await bob.connect();
  sent += 2;
  await sync(sent);
  assert.deepEqual(log.conns[1], [
    { type: "join", username: "alice", room: "general" },
    { type: "join", username: "alice", room: "dev" },
  ]);

  alice.sendMessage("hello everyone"); // first joined room: general
  await sync(++sent);
  bob.sendMessage("anyone in random?", "random");
  await sync(++sent);
  alice.sendMessage("dev stuff", "dev");
  await sync(++sent);
  bob.joinRoom("dev");
  await sync(++sent);
  bob.sendMessage("hi dev", "dev");
  await sync(++sent);
  alice.leaveRoom("general");
  await sync(++sent);
  bob.sendMessage("alice left?"); // general
  await sync(++sent);
  probe.send({ type: "error", message: "server restarting" });
  await sync(++sent);
  probe.send({ type: "error", message: "random is read-only", room: "random" });
  await sync(++sent);
  probe.send({ type: "message", username: "carol", text: "elsewhere", room: "lobby" });
  probe.send({ type: "typing", username: "carol", room: "dev" }); // routed, but not a chat event
  probe.send({ type: "message", username: "carol", text: "no room" });
  sent += 3;
  await sync(sent);

  assert.deepEqual(a, [
    "join general alice",
    "join dev alice",
    "join general bob",
    "message general alice: hello everyone",
    "message dev alice: dev stuff",
    "join dev bob",
    "message dev bob: hi dev",
    "error -: server restarting",
  ]);
  assert.deepEqual(b, [
    "join general bob",
    "join random bob",
    "message general alice: hello everyone",
    "message random bob: anyone in random?",
    "join dev bob",
    "message dev bob: hi dev",
    "leave general alice",
    "message general bob: alice left?",
    "error -: server restarting",
    "error random: random is read-only",
  ]);
  assert.deepEqual(alice.rooms, ["dev"]);
  assert.deepEqual(bob.rooms, ["general", "random", "dev"]);
  // The wire format of the documents.
  assert.deepEqual(log.conns[2].slice(2, 3), [{ type: "message", username: "bob", text: "anyone in random?", room: "random" }]);
  assert.ok(log.conns[1].some((f) => f.type === "leave" && f.username === "alice" && f.room === "general"));

  // disconnect(): a leave per room, then the client's own channel is closed (1000).
  const aliceFramesBefore = log.conns[1].length;
  const aliceChannel = alice.channel;
  alice.disconnect();
  assert.equal(alice.channel, null);
  assert.equal(aliceChannel.disposed, true);
  sent += 1;
  await sync(sent);
  assert.deepEqual(log.conns[1].slice(aliceFramesBefore), [{ type: "leave", username: "alice", room: "dev" }]);
  assert.equal(b.at(-1), "leave dev alice");
});

test("ChatClient: default room, rejoin after a reconnect, connect() again after disconnect()", async (t) => {
  const { relay, url, token, log } = await setup(t);
  const alice = new mc.ChatClient(url, "alice", FAST);
  t.after(() => alice.dispose());
  assert.deepEqual(alice.rooms, ["general"]);
  const events = record(alice);
  await alice.connect();
  await alice.connect(); // idempotent: no second join
  await waitFor(() => events.length === 1, { what: "own join" });
  alice.joinRoom("dev");
  alice.joinRoom("dev"); // no-op
  await waitFor(() => events.length === 2, { what: "own join dev" });

  const ch = alice.channel;
  const reopened = new Promise((resolve) => ch.once("open", resolve));
  relay.dropAll(token);
  await reopened;
  await waitFor(() => log.conns.length === 2 && log.conns[1].length === 2, { what: "rejoin frames" });
  assert.deepEqual(log.conns[0], [
    { type: "join", username: "alice", room: "general" },
    { type: "join", username: "alice", room: "dev" },
  ]);
  assert.deepEqual(log.conns[1], log.conns[0], "the same joins after the reconnect");
  await waitFor(() => events.length === 4, { what: "own rejoin events" });
  assert.deepEqual(events, ["join general alice", "join dev alice", "join general alice", "join dev alice"]);

  // Leaving while disconnected: no frame now, and no join for it on the next open.
  alice.disconnect();
  assert.equal(alice.isConnected, false);
  assert.throws(() => alice.sendMessage("x"), { code: "CLOSED" });
  await waitFor(() => relay.clientCount(token) === 0, { what: "the socket to close" });
  alice.leaveRoom("general");
  await alice.connect();
  assert.equal(alice.isConnected, true);
  await waitFor(() => log.conns.length === 3 && log.conns[2].length === 1, { what: "join on the new connection" });
  assert.deepEqual(log.conns[1].slice(2), [
    { type: "leave", username: "alice", room: "general" },
    { type: "leave", username: "alice", room: "dev" },
  ]);
  assert.deepEqual(log.conns[2], [{ type: "join", username: "alice", room: "dev" }]);
});

test("ChatClients on one shared Channel: disconnect() of one leaves the channel and the other alone", async (t) => {
  const { url, log } = await setup(t);
  const shared = channelFor(t, url);
  const probe = channelFor(t, url);
  await Promise.all([shared.opened(), probe.opened()]);
  const alice = new mc.ChatClient(shared, "alice", { rooms: ["general", "dev"] });
  const bob = new mc.ChatClient(shared, "bob", { rooms: ["general"] });
  const a = record(alice);
  const b = record(bob);
  const sync = barrier(probe, log, () => [shared]);
  await Promise.all([alice.connect(), bob.connect()]); // the shared channel is open: joins go now
  await sync(3);
  probe.send({ type: "message", username: "carol", text: "hi all", room: "general" });
  probe.send({ type: "message", username: "carol", text: "hi dev", room: "dev" });
  await sync(5);
  bob.disconnect();
  assert.equal(shared.state, "open", "a shared channel is never closed by a client");
  assert.equal(bob.channel, shared);
  await sync(6);
  probe.send({ type: "message", username: "carol", text: "still here?", room: "general" });
  await sync(7);
  alice.dispose();
  await sync(9);
  assert.equal(shared.state, "open");
  probe.send({ type: "message", username: "carol", text: "nobody listens", room: "general" });
  await sync(10);

  assert.deepEqual(a, [
    "join general alice",
    "join dev alice",
    "join general bob",
    "message general carol: hi all",
    "message dev carol: hi dev",
    "leave general bob",
    "message general carol: still here?",
  ]);
  assert.deepEqual(b, ["join general alice", "join general bob", "message general carol: hi all"]);
  assert.deepEqual(
    log.all().filter((f) => f.username === "bob"),
    [
      { type: "join", username: "bob", room: "general" },
      { type: "leave", username: "bob", room: "general" },
    ],
  );
  assert.throws(() => alice.joinRoom("x"), { code: "DISPOSED" });
});

test("ChatClient: frames of rooms nobody joined never reach JS (the C++ ROOM route)", async (t) => {
  const { url } = await setup(t);
  const rx = channelFor(t, url);
  const hooks = countHooks(rx);
  const all = channelFor(t, url);
  let allCount = 0;
  all.onMessage("*", () => allCount++);
  const chat = new mc.ChatClient(rx, "alice");
  const got = record(chat);
  await Promise.all([chat.connect(), all.opened()]);
  await waitFor(() => got.length === 1, { what: "own join" });

  const sender = new WsSocket(url);
  t.after(() => sender.terminate());
  await new Promise((resolve, reject) => {
    sender.once("open", resolve);
    sender.once("error", reject);
  });
  for (let i = 0; i < 2000; i++) {
    const room = i % 100 === 0 ? "general" : `room-${i % 7}`;
    sender.send(JSON.stringify({ type: "message", username: "bot", text: String(i), room }));
  }
  sender.send(JSON.stringify({ type: "message", username: "bot", text: "end", room: "general" }));
  await waitFor(() => got.at(-1) === "message general bot: end", { what: "the last message", timeoutMs: 15000 });
  await waitFor(() => allCount >= 2002, { what: "every frame at the other channel" });

  assert.equal(got.length, 1 + 20 + 1);
  assert.deepEqual(got.slice(1, 4), ["message general bot: 0", "message general bot: 100", "message general bot: 200"]);
  assert.equal(hooks[ROUTE.ROOM], got.length, "the ROOM hook ran once per delivered event, never for other rooms");
  assert.equal(allCount, 2002, "while 2,002 frames flowed through the channel");
});

test("ChatClient: arguments, listener errors", async (t) => {
  const { url } = await setup(t);
  assert.throws(() => new mc.ChatClient(42, "a"), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new mc.ChatClient(url, ""), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new mc.ChatClient(url, "a", { rooms: "general" }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new mc.ChatClient(url, "a", { rooms: [""] }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new mc.ChatClient(url, "a", { bogus: 1 }), { code: "INVALID_ARGUMENT" });
  const shared = channelFor(t, url);
  assert.throws(() => new mc.ChatClient(shared, "a", { protocols: ["x"] }), { code: "INVALID_ARGUMENT" });

  const none = new mc.ChatClient(shared, "nobody", { rooms: [] });
  assert.throws(() => none.sendMessage("hi"), { code: "INVALID_ARGUMENT" });
  const c = new mc.ChatClient(shared, "c", { rooms: ["general"] });
  assert.throws(() => c.sendMessage("hi"), { code: "CLOSED" }, "before connect()");
  assert.throws(() => c.sendMessage("hi", "dev"), { code: "INVALID_ARGUMENT" }, "a room not joined");
  assert.throws(() => c.sendMessage(5), { code: "INVALID_ARGUMENT" });
  assert.throws(() => c.on("nope", () => {}), { code: "INVALID_ARGUMENT" });
  assert.throws(() => c.joinRoom(""), { code: "INVALID_ARGUMENT" });

  const errors = errorsOf(shared);
  const seen = [];
  c.on("message", () => {
    throw new Error("boom");
  });
  const off = c.on("message", (m) => seen.push(m.text));
  await c.connect();
  c.sendMessage("one");
  await waitFor(() => seen.length === 1, { what: "the second listener" });
  assert.equal(errors.length, 1);
  assert.equal(errors[0].code, "LISTENER_THREW");
  off();
  off();
  c.sendMessage("two");
  await waitFor(() => errors.length === 2, { what: "the second throw" });
  assert.deepEqual(seen, ["one"]);
});

// ------------------------------------------------------------------------------ LiveDataClient

test("LiveDataClient on 1 of 10 channels: exactly its messages while 10,000 flow; the rest never reach JS", async (t) => {
  const { url } = await setup(t);
  const rx = channelFor(t, url);
  const hooks = countHooks(rx);
  const all = channelFor(t, url);
  let allCount = 0;
  all.onMessage("*", () => allCount++);
  const live = new mc.LiveDataClient(rx);
  const got = [];
  live.subscribe("ch3", (msg) => got.push(msg));
  assert.deepEqual(live.channels, ["ch3"]);
  await Promise.all([live.opened(), all.opened()]);
  await waitFor(() => hooks[ROUTE.SUBSCRIPTION] === 1, { what: "the echo of our own subscribe frame" });
  assert.equal(got.length, 0, "control frames are not data");

  const sender = new WsSocket(url);
  t.after(() => sender.terminate());
  await new Promise((resolve, reject) => {
    sender.once("open", resolve);
    sender.once("error", reject);
  });
  const N = 10000;
  for (let i = 0; i < N; i++) {
    // Mixed: 10 channels, frames with a nested "channel" only, plain text, arrays.
    if (i % 250 === 1) sender.send(`plain text ${i}`);
    else if (i % 250 === 2) sender.send(JSON.stringify([{ channel: "ch3" }]));
    else if (i % 250 === 3) sender.send(JSON.stringify({ type: "quote", data: { channel: "ch3" } }));
    else sender.send(JSON.stringify({ type: "quote", channel: `ch${i % 10}`, seq: i, price: i / 100 }));
  }
  sender.send(JSON.stringify({ type: "quote", channel: "ch3", seq: "end" }));
  await waitFor(() => got.length && got.at(-1).seq === "end", { what: "the end marker", timeoutMs: 30000 });
  await waitFor(() => allCount >= N + 1 - 80, { what: "every object at the other channel", timeoutMs: 30000 });

  const expected = [];
  for (let i = 0; i < N; i++) {
    if (i % 10 === 3 && ![1, 2, 3].includes(i % 250)) expected.push(i);
  }
  assert.deepEqual(
    got.slice(0, -1).map((m) => m.seq),
    expected,
  );
  assert.ok(got.every((m) => m.channel === "ch3"));
  assert.equal(hooks[ROUTE.SUBSCRIPTION], got.length + 1, "the hook ran for ch3's frames (and our subscribe echo) only");
  // 10,000 frames: 40 are text, 40 arrays; the rest (and the end marker, and our subscribe) are objects.
  assert.equal(allCount, N - 80 + 1 + 1);
});

test("LiveDataClient: subscribe/unsubscribe frames, several listeners, re-subscribe after a reconnect", async (t) => {
  const { relay, url, token, log } = await setup(t);
  const live = new mc.LiveDataClient(url, FAST);
  t.after(() => live.dispose());
  const pub = channelFor(t, url, FAST);
  const a1 = [];
  const a2 = [];
  const m1 = [];
  const off1 = live.subscribe("AAPL", (msg) => a1.push(msg.price));
  live.subscribe("AAPL", (msg) => a2.push(msg.price));
  live.subscribe("MSFT", (msg) => m1.push(msg.price));
  await Promise.all([live.opened(), pub.opened()]);
  // Subscribed before open: one frame per name, sent on open.
  await waitFor(() => log.all().length === 2, { what: "subscribe frames" });
  const liveConn = log.conns.findIndex((c) => c.length === 2);
  assert.deepEqual(log.conns[liveConn], [
    { type: "subscribe", channel: "AAPL" },
    { type: "subscribe", channel: "MSFT" },
  ]);

  pub.send({ channel: "AAPL", price: 1 });
  pub.send({ channel: "MSFT", price: 2 });
  pub.send({ channel: "TSLA", price: 3 });
  await waitFor(() => m1.length === 1, { what: "MSFT" });
  assert.deepEqual(a1, [1]);
  assert.deepEqual(a2, [1]);

  off1();
  off1();
  assert.deepEqual(live.channels, ["AAPL", "MSFT"]);
  pub.send({ channel: "AAPL", price: 4 });
  await waitFor(() => a2.length === 2, { what: "AAPL again" });
  assert.deepEqual(a1, [1]);
  live.unsubscribe("AAPL");
  live.unsubscribe("AAPL"); // no-op
  assert.deepEqual(live.channels, ["MSFT"]);
  await waitFor(() => log.conns[liveConn].length === 3, { what: "the unsubscribe frame" });
  assert.deepEqual(log.conns[liveConn][2], { type: "unsubscribe", channel: "AAPL" });
  pub.send({ channel: "AAPL", price: 5 });
  pub.send({ channel: "MSFT", price: 6 });
  await waitFor(() => m1.length === 2, { what: "MSFT again" });
  assert.deepEqual(a2, [1, 4]);

  const reopened = new Promise((resolve) => live.channel.once("open", resolve));
  relay.dropAll(token);
  await reopened;
  await waitFor(() => log.conns.some((c, i) => i > 1 && c.length === 1), { what: "re-subscribe" });
  assert.deepEqual(
    log.conns.slice(2).filter((c) => c.length),
    [[{ type: "subscribe", channel: "MSFT" }]],
  );
  await pub.opened();
  pub.send({ channel: "MSFT", price: 7 });
  await waitFor(() => m1.length === 3, { what: "MSFT after the reconnect" });
  assert.deepEqual(m1, [2, 6, 7]);
});

test("LiveDataClients sharing a Channel count subscriptions per connection", async (t) => {
  const { url, log } = await setup(t);
  const shared = channelFor(t, url);
  const pub = channelFor(t, url);
  await Promise.all([shared.opened(), pub.opened()]);
  const A = new mc.LiveDataClient(shared);
  const B = new mc.LiveDataClient(shared);
  const a = [];
  const b = [];
  A.subscribe("X", (m) => a.push(m.v));
  B.subscribe("X", (m) => b.push(m.v));
  pub.send({ channel: "X", v: 1 });
  await waitFor(() => a.length === 1 && b.length === 1, { what: "both" });
  A.dispose();
  assert.equal(shared.state, "open", "a shared channel is never closed by the client");
  pub.send({ channel: "X", v: 2 });
  await waitFor(() => b.length === 2, { what: "B" });
  assert.deepEqual(a, [1]);
  B.unsubscribe("X");
  await waitFor(() => log.all().length === 4, { what: "frames" });
  assert.deepEqual(
    log.all().filter((f) => f.type === "subscribe" || f.type === "unsubscribe"),
    [
      { type: "subscribe", channel: "X" },
      { type: "unsubscribe", channel: "X" },
    ],
    "one subscribe and one unsubscribe for the connection",
  );
  assert.throws(() => A.subscribe("Y", () => {}), { code: "DISPOSED" });
  assert.throws(() => new mc.LiveDataClient(shared, { reconnect: false }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => B.subscribe("", () => {}), { code: "INVALID_ARGUMENT" });
  assert.throws(() => B.subscribe("Y", "nope"), { code: "INVALID_ARGUMENT" });
});

// ------------------------------------------------------------------------------ request/reply

/** A channel that answers `type` requests with { from: name }, after `delayMs`. */
async function responder(t, url, type, name, delayMs = 0) {
  const ch = channelFor(t, url);
  ch.onMessage(type, (msg) => {
    if (delayMs) setTimeout(() => ch.reply(msg, { from: name, echo: msg.q }), delayMs);
    else ch.reply(msg, { from: name, echo: msg.q });
  });
  await ch.opened();
  return ch;
}

test("request/reply: the wire format, and the answer", async (t) => {
  const { url, log } = await setup(t);
  await responder(t, url, "price.get", "r1");
  const req = channelFor(t, url);
  await req.opened();
  const answer = await req.request("price.get", { q: "AAPL" }, { timeoutMs: 5000 });
  const [sent] = log.all().filter((f) => f.type === "price.get");
  assert.deepEqual(Object.keys(sent), ["type", "id", "q"]);
  assert.match(sent.id, /^[A-Za-z0-9_-]{22}$/);
  assert.deepEqual(answer, { type: "price.get.reply", re: sent.id, from: "r1", echo: "AAPL" });
  assert.deepEqual(Object.keys(log.all().find((f) => f.type === "price.get.reply")), ["type", "re", "from", "echo"]);
  // No payload.
  const bare = await req.request("price.get");
  assert.equal(bare.from, "r1");
  assert.equal(bare.echo, undefined);

  // Ids: 128 random bits each, all distinct.
  const many = await Promise.all(Array.from({ length: 200 }, (_, i) => req.request("price.get", { q: i })));
  assert.deepEqual(
    many.map((m) => m.echo),
    Array.from({ length: 200 }, (_, i) => i),
    "each reply went to its own request",
  );
  const ids = new Set(
    log
      .all()
      .filter((f) => f.type === "price.get")
      .map((f) => f.id),
  );
  assert.equal(ids.size, 202);
});

test("request/reply: two responders, the first reply wins, the second is dropped without error", async (t) => {
  const { url } = await setup(t);
  await responder(t, url, "who", "fast");
  await responder(t, url, "who", "slow", 100);
  const observer = channelFor(t, url);
  const replies = [];
  observer.onMessage("who.reply", (m) => replies.push(m));
  const req = channelFor(t, url);
  const hooks = countHooks(req);
  const errors = errorsOf(req);
  let messages = 0;
  req.onMessage("who.reply", () => messages++); // a listener of the reply type sees both: it asked for them
  await Promise.all([req.opened(), observer.opened()]);
  const answer = await req.request("who", { q: 1 });
  assert.equal(answer.from, "fast");
  await waitFor(() => replies.length === 2, { what: "both replies on the wire" });
  assert.deepEqual(
    replies.map((r) => r.from),
    ["fast", "slow"],
  );
  assert.equal(replies[1].re, answer.re);
  await waitFor(() => messages === 2, { what: "both replies at the requester's own listener" });
  assert.equal(hooks[ROUTE.REPLY], 1, "the REPLY route fired once: the second reply had no interest left");
  assert.deepEqual(errors, []);
});

test("request/reply: timeout, and replies meant for others never reach JS", async (t) => {
  const { url } = await setup(t);
  const req = channelFor(t, url);
  const other = channelFor(t, url);
  const reqHooks = countHooks(req);
  const otherHooks = countHooks(other);
  const otherErrors = errorsOf(other);
  const late = channelFor(t, url);
  let asked = null;
  late.onMessage("slow.op", (m) => (asked = m));
  await Promise.all([req.opened(), other.opened(), late.opened()]);

  // `other` waits for a reply of its own the whole time.
  const otherPending = other.request("never", {}, { timeoutMs: 1000 }).catch((e) => e);
  const started = Date.now();
  const err = await req.request("slow.op", { q: 1 }, { timeoutMs: 150 }).catch((e) => e);
  const elapsed = Date.now() - started;
  assert.ok(err instanceof mc.MetaChannelError);
  assert.equal(err.code, "REQUEST_TIMEOUT");
  assert.equal(err.detail.timeoutMs, 150);
  assert.ok(elapsed >= 140 && elapsed < 2000, `rejected after ${elapsed} ms`);
  // A reply after the timeout: no interest left for its id at the requester, none ever at `other`.
  await waitFor(() => asked, { what: "the request at the late responder" });
  late.reply(asked, { from: "late" });
  let seen = 0;
  late.onMessage("slow.op.reply", () => seen++);
  const marker = new Promise((resolve) => other.onMessage("marker", resolve));
  await waitFor(() => seen === 1, { what: "the late reply on the wire" });
  late.send({ type: "marker" });
  await marker; // `other` has had the late reply by now
  assert.equal(reqHooks[ROUTE.REPLY], 0);
  assert.equal(otherHooks[ROUTE.REPLY], 0);
  assert.deepEqual(otherErrors, []);
  const otherErr = await otherPending;
  assert.equal(otherErr.code, "REQUEST_TIMEOUT");
});

test("request/reply: rejects on close and dispose; arguments", async (t) => {
  const { url } = await setup(t);
  const a = new mc.Channel(url);
  t.after(() => a.dispose());
  await a.opened();
  const p1 = a.request("x", {}, { timeoutMs: 60000 });
  const p2 = a.request("y");
  a.close();
  await assert.rejects(p1, { code: "CLOSED" });
  await assert.rejects(p2, { code: "CLOSED" });
  assert.throws(() => a.request("x"), { code: "CLOSED" }, "after close(): like send()");

  const b = new mc.Channel(url);
  await b.opened();
  const p3 = b.request("x", undefined, { timeoutMs: 60000 });
  b.dispose();
  await assert.rejects(p3, { code: "DISPOSED" });
  assert.throws(() => b.request("x"), { code: "DISPOSED" });

  // Queued while connecting: sent on open, answered.
  await responder(t, url, "q", "r");
  const c = channelFor(t, url);
  assert.notEqual(c.state, "open");
  assert.equal((await c.request("q", { q: 7 })).echo, 7);

  for (const bad of [null, [], "x", 5, new Date(), new Map(), { type: "t" }, { id: "i" }]) {
    assert.throws(() => c.request("q", bad), { code: "INVALID_ARGUMENT" }, `payload ${String(bad)}`);
  }
  for (const bad of ["", 5, undefined, null]) assert.throws(() => c.request(bad), { code: "INVALID_ARGUMENT" });
  for (const bad of [{ timeoutMs: 0 }, { timeoutMs: -1 }, { timeoutMs: "1" }, { timeout: 5 }, 5]) {
    assert.throws(() => c.request("q", {}, bad), { code: "INVALID_ARGUMENT" });
  }
  assert.throws(() => c.reply({ type: "q" }, {}), { code: "INVALID_ARGUMENT" }, "no id");
  assert.throws(() => c.reply("nope"), { code: "INVALID_ARGUMENT" });
  assert.throws(() => c.reply({ type: "q", id: "1" }, { re: "2" }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => c.reply({ type: "q", id: "1" }, [1]), { code: "INVALID_ARGUMENT" });
  // Infinity: no timer at all; settled by the reply.
  assert.equal((await c.request("q", { q: 8 }, { timeoutMs: Infinity })).echo, 8);
  await sleep(0);
});
