// Listener isolation and re-entrancy, against the real dev relay: every public action (send,
// close, setUrl, dispose, off, adding listeners, throwing) taken from inside a listener of
// every event, including the listener being dispatched. Table-driven over (event x action);
// each pair asserts one consistent outcome: no exception escapes, the state is valid and ends
// where the action says, after dispose() every call throws DISPOSED and no event follows, and
// the wasm object is freed (no growth over thousands of dispose-in-listener cycles, no crash
// on later GC or use).
// Run: node --test tests/node/reentrancy.test.js   (and with --experimental-websocket, and Node 22)
// One file over 500 lines: one table (event x action) and the one driver that runs it; split, the
// table would be split too.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import { closeAllowingDrops, mc, sleep, waitFor } from "./helpers.js";
import { startRelay } from "../../relay/server.js";

const { Channel, MetaChannelError } = mc;
const STATES = ["idle", "connecting", "open", "reconnecting", "closing", "closed"];
const PROTOCOL = "under-test"; // marks the channel under test's sockets at the relay
const LIMIT = 256; // maxMessageBytes of the channel under test: a bigger frame is an "error" event
const FAST = { reconnect: { minDelayMs: 10, maxDelayMs: 30 } };
const SETTLE_MS = 150; // to check that something does NOT happen
const WAIT = { timeoutMs: 4000 };

let relay;
let urlA;
let urlB;
/** Server-side sockets of channels under test (offered PROTOCOL), newest last. */
const underTest = [];
let peerA;
let peerB;
const inboxA = [];
const inboxB = [];

before(async () => {
  relay = await startRelay({ port: 0 });
  urlA = (await relay.createChannel()).url;
  urlB = (await relay.createChannel()).url;
  relay.on("connection", ({ protocol, socket }) => {
    if (protocol === PROTOCOL) underTest.push(socket);
  });
  peerA = new Channel(urlA, FAST);
  peerB = new Channel(urlB, FAST);
  peerA.on("message", (d) => inboxA.push(d));
  peerB.on("message", (d) => inboxB.push(d));
  await Promise.all([peerA.opened(), peerB.opened()]);
});

after(async () => {
  peerA.dispose();
  peerB.dispose();
  await relay.close();
});

/** Drops the newest socket of the channel under test without a close frame (client sees 1006). */
function dropUnderTest() {
  const s = underTest.at(-1);
  assert.ok(s, "a socket of the channel under test");
  s.terminate();
}

// ------------------------------------------------------------------------------ the table

/**
 * Each event: how to register a listener for it (returns the unsubscribe), which occurrences
 * count (`match`), whether the channel must be open before arming, and how to cause it.
 */
const EVENTS = {
  open: { listen: (ch, fn) => ch.on("open", fn), armBeforeConnect: true, trigger: (ch, n) => (n === 1 ? ch.setUrl(urlA) : dropUnderTest()) },
  message: { listen: (ch, fn) => ch.on("message", fn), trigger: (_ch, n) => peerA.send(`plain ${n}`) },
  'onMessage("t")': { listen: (ch, fn) => ch.onMessage("t", fn), trigger: (_ch, n) => peerA.send({ type: "t", n }) },
  'onMessage("*")': { listen: (ch, fn) => ch.onMessage("*", fn), trigger: (_ch, n) => peerA.send({ type: "any", n }) },
  close: { listen: (ch, fn) => ch.on("close", fn), trigger: () => dropUnderTest() },
  error: {
    listen: (ch, fn) => ch.on("error", fn),
    match: (e) => e.code === "MESSAGE_TOO_LARGE",
    trigger: (_ch, n) => peerA.send(`${n}`.padEnd(LIMIT + 10, "x")),
  },
  reconnecting: { listen: (ch, fn) => ch.on("reconnecting", fn), trigger: () => dropUnderTest() },
  "state→connecting": {
    listen: (ch, fn) => ch.on("state", fn),
    match: (e) => e.to === "connecting",
    armBeforeConnect: true,
    trigger: (ch, n) => (n === 1 ? ch.setUrl(urlA) : dropUnderTest()),
  },
  "state→open": {
    listen: (ch, fn) => ch.on("state", fn),
    match: (e) => e.to === "open",
    armBeforeConnect: true,
    trigger: (ch, n) => (n === 1 ? ch.setUrl(urlA) : dropUnderTest()),
  },
  "state→reconnecting": { listen: (ch, fn) => ch.on("state", fn), match: (e) => e.to === "reconnecting", trigger: () => dropUnderTest() },
};

/**
 * Each action: what the acting listener does (`act(ctx)`), and what must hold afterwards
 * (`check(ctx)`, after the first occurrence; `again` means the event is caused a second time
 * before the check).
 */
const ACTIONS = {
  send: {
    act: (c) => c.ch.send({ type: "from-listener", id: c.id }),
    async check(c) {
      await waitFor(() => inboxA.some((m) => m && m.type === "from-listener" && m.id === c.id), {
        ...WAIT,
        what: "the message sent from the listener at the peer",
      });
      await waitFor(() => c.ch.state === "open", { ...WAIT, what: "open" });
    },
  },
  close: {
    act: (c) => closeAllowingDrops(c.ch, 4000, "from a listener"), // what was queued may be dropped (CLOSED)
    async check(c) {
      // Final, and promptly: no reconnect, no wait for a close handshake with a socket that is already gone.
      await waitFor(() => c.ch.state === "closed", { timeoutMs: 1500, what: `closed (state is ${c.ch.state})` });
      await sleep(SETTLE_MS);
      assert.equal(c.ch.state, "closed");
      const later = c.after().filter((e) => e.name === "open" || e.name === "reconnecting");
      assert.deepEqual(later, [], "no open or reconnecting after close()");
      const closes = c.after().filter((e) => e.name === "close");
      assert.ok(closes.length <= 1, `at most one close event after close(): ${JSON.stringify(closes)}`);
      if (closes.length) assert.equal(closes[0].arg.willReconnect, false);
      assert.throws(
        () => c.ch.send("x"),
        (e) => e instanceof MetaChannelError && e.code === "CLOSED",
      );
    },
  },
  "setUrl(other)": {
    act: (c) => c.ch.setUrl(urlB),
    async check(c) {
      await waitFor(() => c.ch.state === "open" && c.ch.url === urlB, { ...WAIT, what: `open on the other URL (${c.ch.state})` });
      c.ch.send({ type: "on-b", id: c.id });
      await waitFor(() => inboxB.some((m) => m && m.type === "on-b" && m.id === c.id), { ...WAIT, what: "a message on the other URL" });
    },
  },
  "setUrl(same)": {
    act: (c) => c.ch.setUrl(urlA),
    async check(c) {
      await waitFor(() => c.ch.state === "open" && c.ch.url === urlA, { ...WAIT, what: "open on the same URL" });
    },
  },
  "setUrl(null)": {
    act: (c) => c.ch.setUrl(null),
    async check(c) {
      await waitFor(() => c.ch.state === "idle", { ...WAIT, what: `idle (state is ${c.ch.state})` });
      assert.equal(c.ch.url, null);
      await sleep(SETTLE_MS);
      assert.equal(c.ch.state, "idle", "stays idle: no reconnect");
      assert.deepEqual(
        c.after().filter((e) => e.name === "open" || e.name === "reconnecting"),
        [],
      );
    },
  },
  dispose: {
    act: (c) => c.ch.dispose(),
    async check(c) {
      assert.equal(c.ch.disposed, true);
      assert.equal(c.ch.state, "closed");
      assert.equal(c.observerCallsAfterAct(), 0, "a later listener of the same dispatch does not run after dispose()");
      await sleep(SETTLE_MS);
      assert.deepEqual(
        c.after().map((e) => e.name),
        [],
        "no event after dispose()",
      );
      for (const [what, call] of Object.entries({
        send: () => c.ch.send("x"),
        setUrl: () => c.ch.setUrl(urlA),
        close: () => c.ch.close(),
        reconnect: () => c.ch.reconnect(),
        on: () => c.ch.on("open", () => {}),
        onMessage: () => c.ch.onMessage("t", () => {}),
      })) {
        assert.throws(call, (e) => e instanceof MetaChannelError && e.code === "DISPOSED", `${what} after dispose()`);
      }
      assert.equal(c.ch.readyState, 3);
      assert.equal(c.ch.queuedCount, 0);
    },
  },
  "off(self)": {
    act: (c) => c.offActor(),
    again: true,
    async check(c) {
      assert.equal(c.actorCalls(), 1, "the removed listener does not run again");
      assert.ok(c.observerCalls() >= 2, "the other listener still runs");
    },
  },
  "off(other)": {
    act: (c) => c.offObserver(),
    again: true,
    async check(c) {
      // Copy-on-write dispatch: the dispatch in progress still calls the listener removed
      // during it; later dispatches do not.
      assert.equal(c.observerCalls(), 1, "removed: called for the dispatch in progress only");
      assert.ok(c.actorCalls() >= 2);
    },
  },
  "add listener": {
    act: (c) => c.addLate(),
    again: true,
    async check(c) {
      assert.equal(c.lateCallsAt(1), 0, "a listener added during a dispatch does not run in it");
      assert.ok(c.lateCalls() >= 1, "it runs for the next occurrence");
    },
  },
  'add onMessage("late")': {
    act: (c) => c.ch.onMessage("late", (m) => c.lateTyped.push(m)),
    async check(c) {
      await waitFor(() => c.ch.state === "open", { ...WAIT, what: "open" });
      peerA.send({ type: "late", id: c.id });
      await waitFor(() => c.lateTyped.some((m) => m.id === c.id), { ...WAIT, what: "the typed listener added from a listener" });
    },
  },
  throw: {
    act: (c) => {
      throw c.thrown;
    },
    async check(c) {
      assert.ok(c.observerCalls() >= 1, "the next listener still ran");
      if (c.event === "error") {
        // An error listener that throws has nobody to report to: console.error, no loop.
        assert.ok(
          c.consoleErrors.some((args) => args.includes(c.thrown)),
          "console.error got the thrown value",
        );
        assert.equal(c.after().filter((e) => e.name === "error" && e.arg.code === "LISTENER_THREW").length, 0);
      } else {
        const threw = c.after().filter((e) => e.name === "error" && e.arg.code === "LISTENER_THREW");
        assert.equal(threw.length, 1, "one LISTENER_THREW");
        assert.equal(threw[0].arg.detail, c.thrown, "detail is the thrown value");
      }
      await waitFor(() => c.ch.state === "open", { ...WAIT, what: "open: the channel carries on" });
    },
  },
};

/** Runs one (event, action) pair on a fresh channel. */
async function runPair(t, eventName, actionName) {
  const event = EVENTS[eventName];
  const action = ACTIONS[actionName];
  const match = event.match || (() => true);
  const ch = new Channel(null, { ...FAST, protocols: [PROTOCOL], maxMessageBytes: LIMIT });
  t.after(() => ch.dispose());
  const id = `${eventName}/${actionName}/${Math.random()}`;

  // Everything the channel emits, in order (registered first: it sees each event before the actor).
  const log = [];
  for (const name of ["open", "message", "close", "error", "reconnecting", "state"]) ch.on(name, (arg) => log.push({ name, arg }));
  let actAt = -1; // log length when the actor acted

  const consoleErrors = [];
  const realError = console.error;
  console.error = (...args) => consoleErrors.push(args);
  t.after(() => {
    console.error = realError;
  });

  let armed = event.armBeforeConnect === true;
  let acted = false;
  let thrownOut = null;
  const actorHits = [];
  const observerHits = [];
  const lateHits = [];
  let occurrence = 0;
  const ctx = {
    ch,
    id,
    event: eventName,
    thrown: new Error(`thrown by a ${eventName} listener (${actionName})`),
    lateTyped: [],
    consoleErrors,
    after: () => (actAt < 0 ? [] : log.slice(actAt)),
    actorCalls: () => actorHits.length,
    observerCalls: () => observerHits.length,
    observerCallsAfterAct: () => observerHits.filter((h) => h.afterAct).length,
    lateCalls: () => lateHits.length,
    lateCallsAt: (n) => lateHits.filter((h) => h === n).length,
  };

  const actor = (arg) => {
    if (!armed || !match(arg)) return;
    actorHits.push(occurrence);
    if (acted) return;
    acted = true;
    actAt = log.length;
    try {
      action.act(ctx);
    } catch (err) {
      if (err === ctx.thrown) throw err; // the "throw" action: let the channel see it
      thrownOut = err;
    }
  };
  const observer = (arg) => {
    if (!armed || !match(arg)) return;
    observerHits.push({ afterAct: acted });
  };
  const offActor = event.listen(ch, actor);
  const offObserver = event.listen(ch, observer);
  ctx.offActor = offActor;
  ctx.offObserver = offObserver;
  ctx.addLate = () =>
    event.listen(ch, (arg) => {
      if (match(arg)) lateHits.push(occurrence);
    });

  if (!event.armBeforeConnect) {
    ch.setUrl(urlA);
    await ch.opened();
    armed = true;
  }
  occurrence = 1;
  event.trigger(ch, 1);
  await waitFor(() => acted, { ...WAIT, what: `the ${eventName} listener to run` });
  assert.equal(thrownOut, null, `${actionName} threw inside a ${eventName} listener: ${thrownOut && (thrownOut.stack || thrownOut)}`);
  assert.ok(STATES.includes(ch.state), `a valid state: ${ch.state}`);

  if (action.again) {
    // Cause the event a second time, once the channel is back to open.
    await waitFor(() => ch.state === "open", { ...WAIT, what: `open before the second ${eventName}` });
    const seen = actorHits.length + observerHits.length + lateHits.length;
    occurrence = 2;
    event.trigger(ch, 2);
    await waitFor(() => actorHits.length + observerHits.length + lateHits.length > seen, { ...WAIT, what: `the second ${eventName}` });
    await sleep(30);
  }
  await action.check(ctx);
  assert.ok(STATES.includes(ch.state), `a valid state: ${ch.state}`);
  const unexpected = log.filter((e) => e.name === "error" && !["MESSAGE_TOO_LARGE", "LISTENER_THREW"].includes(e.arg.code));
  assert.deepEqual(
    unexpected.map((e) => `${e.arg.code}: ${e.arg.message}`),
    [],
    "no unexpected error events",
  );
}

for (const eventName of Object.keys(EVENTS)) {
  test(`inside a ${eventName} listener: every action is safe`, async (t) => {
    for (const actionName of Object.keys(ACTIONS)) {
      await t.test(`${actionName} inside ${eventName}`, (st) => runPair(st, eventName, actionName));
    }
  });
}

// ------------------------------------------------------------------------------ isolation

test("LISTENER_THREW: detail is exactly the thrown value, whatever it is; the other listeners and the channel go on", async (t) => {
  const ch = new Channel(urlA, FAST);
  t.after(() => ch.dispose());
  await ch.opened();
  const errors = [];
  ch.on("error", (e) => errors.push(e));
  const values = [new TypeError("a TypeError"), "a string", 42, 0, null, undefined, { code: "custom" }, Symbol.for("sym"), 10n];
  let i = 0;
  const seen = [];
  ch.on("message", () => {
    throw values[i++];
  });
  ch.on("message", (d) => seen.push(d));
  for (let n = 0; n < values.length; n++) peerA.send({ type: "throw-me", n });
  await waitFor(() => seen.length === values.length, { what: "every message at the second listener" });
  assert.deepEqual(
    seen.map((d) => d.n),
    values.map((_, n) => n),
  );
  assert.equal(errors.length, values.length);
  errors.forEach((e, n) => {
    assert.ok(e instanceof MetaChannelError);
    assert.equal(e.code, "LISTENER_THREW");
    assert.equal(e.detail, values[n], `detail of error ${n}`);
    assert.equal(typeof e.message, "string");
    assert.equal(typeof String(e), "string");
  });
  assert.equal(ch.state, "open");
});

test("a listener of channel A may dispose channel B, create channels and dispose them, in the same dispatch", async (t) => {
  const a = new Channel(urlA, FAST);
  const b = new Channel(urlA, FAST);
  t.after(() => a.dispose());
  t.after(() => b.dispose());
  await Promise.all([a.opened(), b.opened()]);
  const bEvents = [];
  for (const name of ["message", "close", "state", "error"]) b.on(name, () => bEvents.push(name));
  let made = 0;
  a.on("message", () => {
    b.dispose();
    for (let k = 0; k < 50; k++) {
      const c = new Channel(urlB, FAST);
      c.on("state", () => {});
      c.send({ type: "queued" });
      c.dispose();
      made++;
    }
  });
  peerA.send({ type: "go" });
  await waitFor(() => made === 50, { what: "the listener to run" });
  await sleep(SETTLE_MS);
  assert.equal(b.disposed, true);
  assert.ok(bEvents.length <= 1, `b: at most the frame dispatched alongside: ${bEvents}`);
  assert.equal(a.state, "open");
  a.send({ type: "still-works" });
  await waitFor(() => inboxA.some((m) => m && m.type === "still-works"), { what: "a still works" });
});

test("dispose() inside listeners frees the wasm object: no memory growth over 5,000 cycles; later GC and use are safe", async () => {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc");
  const cycle = () => {
    // Synchronous: setUrl() emits "state" (idle -> connecting) from inside the core, and the
    // listener disposes the channel there (depth > 0, so the delete is deferred to depth 0).
    const ch = new Channel(null, FAST);
    let ran = false;
    ch.on("state", () => {
      ran = true;
      ch.dispose();
      assert.throws(
        () => ch.send("x"),
        (e) => e.code === "DISPOSED",
      );
    });
    ch.onMessage("t", () => {});
    ch.setUrl(urlA);
    assert.ok(ran);
    assert.equal(ch.disposed, true);
  };
  for (let i = 0; i < 200; i++) cycle(); // warm-up
  gc();
  const before = mc._memoryBytes();
  for (let i = 0; i < 5000; i++) cycle();
  gc();
  await sleep(50);
  gc();
  const afterBytes = mc._memoryBytes();
  assert.equal(afterBytes, before, `wasm memory grew from ${before} to ${afterBytes} over 5,000 dispose-in-listener cycles`);

  // Later use of the module is fine.
  const ch = new Channel(urlA, FAST);
  await ch.opened();
  ch.send({ type: "after-gc" });
  await waitFor(() => inboxA.some((m) => m && m.type === "after-gc"), { what: "a message after GC" });
  ch.dispose();
});

test("inside the REVOKED error listener (reported while the revoked socket is being dropped): every action is safe", async (t) => {
  const actions = {
    close: { act: (ch) => closeAllowingDrops(ch, 4000, "bye"), final: (ch) => ch.state === "closed" },
    "setUrl(new)": { act: (ch, fresh) => ch.setUrl(fresh), final: (ch, fresh) => ch.state === "open" && ch.url === fresh },
    "setUrl(null)": { act: (ch) => ch.setUrl(null), final: (ch) => ch.state === "idle" },
    dispose: { act: (ch) => ch.dispose(), final: (ch) => ch.disposed && ch.state === "closed" },
    send: { act: (ch) => ch.send({ type: "queued-on-revoked" }), final: (ch) => ch.state === "closed" && ch.queuedCount === 1 },
  };
  for (const [name, { act, final }] of Object.entries(actions)) {
    await t.test(name, async () => {
      const { url, token } = await relay.createChannel();
      const ch = new Channel(url, FAST);
      t.after(() => ch.dispose());
      const log = [];
      for (const e of ["open", "close", "reconnecting", "state", "error"]) ch.on(e, (arg) => log.push({ e, arg }));
      await ch.opened();
      let fresh = null;
      let thrown = null;
      let acted = false;
      ch.on("error", (e) => {
        if (e.code !== "REVOKED" || acted) return;
        acted = true;
        try {
          act(ch, fresh);
        } catch (err) {
          thrown = err;
        }
      });
      const before = relay.connections;
      fresh = (await relay.rotate(token)).url;
      await waitFor(() => acted, { what: "the REVOKED error" });
      assert.equal(thrown, null, `${name} threw: ${thrown?.stack}`);
      await waitFor(() => final(ch, fresh), { timeoutMs: 1500, what: `${name}: the final state (state ${ch.state})` });
      await sleep(SETTLE_MS);
      assert.ok(final(ch, fresh), `${name}: still in its final state`);
      if (name !== "setUrl(new)") assert.equal(relay.connections, before, "no connection to the revoked URL");
      const closes = log.filter((x) => x.e === "close");
      assert.ok(closes.length <= 1, `at most one close event: ${JSON.stringify(closes.map((x) => x.arg))}`);
      for (const c of closes) assert.equal(c.arg.willReconnect, false);
      assert.deepEqual(
        log.filter((x) => x.e === "reconnecting"),
        [],
        "no reconnect to a revoked URL",
      );
    });
  }
});

test("the same core method re-entered from a listener it triggered: no double free, no leak (Embind invoker re-entrancy)", async () => {
  // Each case calls a core method whose listener calls the SAME method again, with a large
  // string argument for the outer call: a leaked or doubly freed argument buffer shows as
  // wasm memory growth or a crash within a few thousand cycles.
  const long = `ws://127.0.0.1:1/ch/${"p".repeat(4000)}`;
  const cases = {
    "setUrl inside setUrl": () => {
      const ch = new Channel(null, FAST);
      ch.on("state", (e) => {
        if (e.to === "connecting") ch.setUrl(null);
      });
      ch.setUrl(long);
      assert.equal(ch.state, "idle");
      ch.dispose();
    },
    "send inside send": () => {
      const ch = new Channel(null, { queue: { maxMessages: 1 } });
      let nested = false;
      ch.on("error", (e) => {
        if (e.code !== "QUEUE_OVERFLOW" || nested) return;
        nested = true;
        ch.send("inner");
      });
      ch.send("first");
      ch.send("b".repeat(4000)); // drop-oldest: QUEUE_OVERFLOW from inside this send
      assert.ok(nested);
      ch.dispose();
    },
    "close inside close": () => {
      const ch = new Channel(null, FAST);
      ch.on("state", (e) => {
        if (e.to === "closed") ch.close(1000, "inner");
      });
      ch.close(1000, "r".repeat(123));
      assert.equal(ch.state, "closed");
      ch.dispose();
    },
  };
  for (const [what, cycle] of Object.entries(cases)) {
    for (let i = 0; i < 100; i++) cycle(); // warm-up
    const before = mc._memoryBytes();
    for (let i = 0; i < 3000; i++) cycle();
    await sleep(0);
    assert.equal(mc._memoryBytes(), before, `${what}: wasm memory grew from ${before} to ${mc._memoryBytes()} over 3,000 cycles`);
  }
  // The allocator is intact: a channel still works.
  const ch = new Channel(urlA, FAST);
  await ch.opened();
  ch.send({ type: "allocator-ok" });
  await waitFor(() => inboxA.some((m) => m && m.type === "allocator-ok"), { what: "a message after the re-entrant cycles" });
  ch.dispose();
});

test("nested: a listener's action emits events whose listeners act again (send, setUrl, close), without recursion trouble", async (t) => {
  const ch = new Channel(null, FAST);
  t.after(() => ch.dispose());
  const states = [];
  ch.on("state", (e) => {
    states.push(e.to);
    // Each state change sends from inside the change; the queue keeps them in order.
    if (e.to !== "closing" && e.to !== "closed") ch.send({ type: "nested", state: e.to });
    if (e.to === "connecting" && states.filter((s) => s === "connecting").length === 1) ch.setUrl(urlB); // switch while switching
    if (e.to === "open" && ch.url === urlB) ch.close(1000, "done");
  });
  ch.setUrl(urlA);
  await waitFor(() => ch.state === "closed", { what: `closed (states: ${states})` });
  assert.equal(ch.url, urlB);
  const got = inboxB.filter((m) => m && m.type === "nested");
  assert.ok(got.length >= 2, `the nested sends arrived on B: ${JSON.stringify(got)}`);
  assert.equal(states.at(-1), "closed");
  for (const s of states) assert.ok(STATES.includes(s));
});
