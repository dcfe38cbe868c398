// Property-based tests (fast-check) of the JS layer, through the built package:
//  1. MetaframeClient against arbitrary postMessage traffic from any window and origin;
//  2. option validation on arbitrary option objects;
//  3. listener re-entrancy: random programs of on/off/send/close/setUrl/reconnect/dispose/throw
//     run from inside listeners of a channel on the real dev relay.
// A failing property prints its smallest counterexample and the seed (replay with
// MC_FC_SEED=<seed> MC_FC_PATH=<path>). Run: node --test tests/node/properties.test.js
// One file over 500 lines: the fast-check properties of the JS layer share their arbitraries
// (options, postMessage traffic, programs of calls).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { closeAllowingDrops, mc, root, sleep, waitFor } from "./helpers.js";
import { startRelay } from "../../relay/server.js";

const { Channel, MetaframeClient, MetaChannelError } = mc;

/** The documented error codes: the union ErrorCode spells out in the published types. */
const CODES = (() => {
  const dts = readFileSync(path.join(root, "dist/metachannel.d.ts"), "utf8");
  const union = /export declare type ErrorCode = ((?:"[A-Z_]+"(?: \| )?)+);/.exec(dts);
  assert.ok(union, "ErrorCode in dist/metachannel.d.ts is a union of the codes");
  const codes = [...union[1].matchAll(/"([A-Z_]+)"/g)].map((m) => m[1]);
  assert.ok(codes.length > 15 && codes.includes("INVALID_ARGUMENT"));
  return codes;
})();

/** fast-check parameters: a fixed budget, and a replayable seed when asked. */
function params(numRuns, examples = []) {
  const p = { numRuns, examples, verbose: 1, includeErrorInReport: true };
  if (process.env.MC_FC_SEED) p.seed = Number(process.env.MC_FC_SEED);
  if (process.env.MC_FC_PATH) p.path = process.env.MC_FC_PATH;
  return p;
}

/** A MetaChannelError with a documented code and a message, or the assertion fails. */
function assertDocumented(err, what) {
  assert.ok(err instanceof MetaChannelError, `${what} threw something other than a MetaChannelError: ${err?.stack ? err.stack : String(err)}`);
  assert.ok(CODES.includes(err.code), `${what}: undocumented code ${err.code}`);
  assert.equal(typeof err.message, "string");
  assert.ok(err.message.length > 0, `${what}: empty message`);
}

const isPlainObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const ANY = {
  withNullPrototype: true,
  withBigInt: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withSparseArray: true,
  withBoxedValues: true,
  maxDepth: 3,
};
/** Keys that are also names on Object.prototype, and "__proto__". */
const TRICKY_KEYS = ["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty", "__defineGetter__"];

// =========================================================================== 1. MetaframeClient

const FRAME_ID = "frame-7";
const PARENT_ID = "metapage-1";
const PARENT_ORIGIN = "https://parent.example";

/**
 * The browser around a metaframe: `window` (this iframe) whose `parent` records what is posted
 * to it, and the message listeners the client adds. Delivery structured-clones the data, as
 * postMessage does, and calls each listener directly so an exception is seen, not swallowed.
 */
function installFrame() {
  const listeners = new Set();
  const posted = [];
  const parent = { postMessage: (message, targetOrigin) => posted.push({ message: structuredClone(message), targetOrigin }) };
  const other = { postMessage() {} };
  const self = {
    name: FRAME_ID,
    parent,
    addEventListener: (type, l) => type === "message" && listeners.add(l),
    removeEventListener: (type, l) => type === "message" && listeners.delete(l),
  };
  globalThis.window = self;
  const sources = { parent, other, self, null: null };
  return {
    listeners,
    posted,
    parent,
    deliver({ source, origin, data }) {
      const event = { data: structuredClone(data), origin, source: sources[source] };
      for (const l of [...listeners]) l(event);
    },
    uninstall() {
      delete globalThis.window;
    },
  };
}

/** Usually the right value, sometimes anything. */
const mostly = (valid, other) => fc.oneof({ weight: 4, arbitrary: fc.constant(valid) }, { weight: 1, arbitrary: other });
const keyArb = fc.oneof(fc.constantFrom(...TRICKY_KEYS, "url", "n", ""), fc.string({ maxLength: 4 }));
const valueArb = fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 3 }), fc.jsonValue({ maxDepth: 2 }), fc.anything(ANY));
// Object.fromEntries makes "__proto__" an own key, as JSON.parse and structured clone do.
const inputsArb = fc.array(fc.tuple(keyArb, valueArb), { maxLength: 5 }).map((e) => Object.fromEntries(e));
const rpcArb = fc.record(
  {
    jsonrpc: mostly("2.0", fc.oneof(fc.constant("1.0"), fc.anything(ANY))),
    method: fc.oneof(fc.constantFrom("InputsUpdate", "SetupIframeServerResponse", "OutputsUpdate", "SetupIframeClientRequest"), fc.string({ maxLength: 8 })),
    iframeId: mostly(FRAME_ID, fc.oneof(fc.constantFrom("frame-8", ""), fc.anything(ANY))),
    parentId: mostly(PARENT_ID, fc.oneof(fc.constantFrom("metapage-2", null), fc.anything(ANY))),
    params: fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record(
          { inputs: inputsArb, state: fc.record({ inputs: inputsArb }), parentId: mostly(PARENT_ID, fc.string()), iframeId: mostly(FRAME_ID, fc.string()) },
          { requiredKeys: [] },
        ),
      },
      { weight: 1, arbitrary: fc.anything(ANY) },
    ),
  },
  { requiredKeys: ["method"] },
);
const eventArb = fc.record({
  source: fc.constantFrom("parent", "parent", "parent", "other", "self", "null"),
  origin: fc.oneof(
    { weight: 4, arbitrary: fc.constant(PARENT_ORIGIN) },
    { weight: 1, arbitrary: fc.constantFrom("null", "", "https://evil.example", "https://parent.example:8443") },
  ),
  data: fc.oneof({ weight: 5, arbitrary: rpcArb }, { weight: 1, arbitrary: fc.anything(ANY) }),
});

/**
 * What the metapage protocol says the frame accepts. Before the handshake: only a
 * SetupIframeServerResponse for this frame from the parent window (which pins its origin and
 * metapage id). After: only InputsUpdate for this frame from the parent window, at the pinned
 * origin, from the pinned metapage.
 */
class FrameModel {
  pinned = null; // { origin, parentId }
  inputs = new Map();
  onInputsCalls = 0;
  changes = []; // [key, value] per change, in order

  accept({ source, origin, data }) {
    if (source !== "parent" || !isPlainObject(data) || data.jsonrpc !== "2.0" || data.iframeId !== FRAME_ID) return;
    const params = isPlainObject(data.params) ? data.params : {};
    if (!this.pinned) {
      if (data.method !== "SetupIframeServerResponse") return;
      if (params.iframeId !== undefined && params.iframeId !== FRAME_ID) return;
      this.pinned = { origin, parentId: data.parentId ?? params.parentId ?? null };
      const initial = isPlainObject(params.state) && isPlainObject(params.state.inputs) ? params.state.inputs : null;
      if (initial && Object.keys(initial).length > 0) this.apply(initial);
      return;
    }
    if (origin !== this.pinned.origin) return;
    if (this.pinned.parentId !== null && data.parentId !== this.pinned.parentId) return;
    if (data.method === "InputsUpdate" && isPlainObject(params.inputs)) this.apply(params.inputs);
  }

  apply(update) {
    for (const [k, v] of Object.entries(update)) {
      if (v === undefined) {
        if (!this.inputs.has(k)) continue;
        this.inputs.delete(k);
      } else {
        if (this.inputs.has(k) && Object.is(this.inputs.get(k), v)) continue;
        this.inputs.set(k, v);
      }
      this.changes.push([k, v]);
    }
    this.onInputsCalls++;
  }
}

test("MetaframeClient: arbitrary postMessage traffic from any window and origin", { timeout: 60000 }, () => {
  fc.assert(
    fc.property(fc.array(eventArb, { maxLength: 25 }), fc.boolean(), (events, handshakeFirst) => {
      const frame = installFrame();
      let mf;
      try {
        mf = new MetaframeClient({ id: FRAME_ID });
        assert.equal(mf.standalone, false);
        const model = new FrameModel();
        const seen = []; // [key, value] from onInput listeners
        const allCalls = [];
        mf.onInputs = (inputs) => allCalls.push(inputs);
        const LISTENED = [...TRICKY_KEYS, "url", "n"];
        const keys = new Set(LISTENED);
        for (const k of LISTENED) mf.onInput(k, (v) => seen.push([k, v]));

        const valid = {
          source: "parent",
          origin: PARENT_ORIGIN,
          data: {
            jsonrpc: "2.0",
            method: "SetupIframeServerResponse",
            iframeId: FRAME_ID,
            parentId: PARENT_ID,
            params: { state: { inputs: { url: "ws://x/1" } } },
          },
        };
        const all = handshakeFirst ? [valid, ...events] : [...events, valid, ...events];
        for (const e of all) {
          if (isPlainObject(e.data))
            for (const src of [e.data.params?.inputs, e.data.params?.state?.inputs]) if (isPlainObject(src)) for (const k of Object.keys(src)) keys.add(k);
          frame.deliver(e); // must not throw: there is nobody to catch it in a browser
          model.accept({ ...e, data: structuredClone(e.data) }); // what the frame received
          assert.equal(mf.isConnected, model.pinned !== null, "connected exactly when the model accepted a handshake");
        }

        // The inputs are exactly the model's, as own keys only: nothing inherited, no prototype change.
        const got = mf.getInputs();
        assert.equal(Object.getPrototypeOf(got), Object.prototype);
        assert.deepEqual(Object.keys(got).sort(), [...model.inputs.keys()].sort());
        for (const k of keys) assert.deepEqual(mf.getInput(k), model.inputs.get(k), `getInput(${JSON.stringify(k)})`);
        assert.equal(allCalls.length, model.onInputsCalls, "onInputs once per accepted update");
        if (allCalls.length) assert.deepEqual(Object.keys(allCalls.at(-1)).sort(), [...model.inputs.keys()].sort());
        assert.deepEqual(
          seen,
          model.changes.filter(([k]) => LISTENED.includes(k)),
          "onInput(name) fires once per change of that input",
        );

        // Everything posted went to the parent window, for this frame, to the pinned origin.
        const target = model.pinned?.origin && model.pinned.origin !== "null" ? model.pinned.origin : "*";
        let acked = false;
        for (const { message, targetOrigin } of frame.posted) {
          assert.equal(message.iframeId, FRAME_ID);
          if (message.method === "SetupIframeClientRequest") {
            assert.equal(targetOrigin, "*");
          } else {
            assert.equal(targetOrigin, target, `${message.method} posted to ${targetOrigin}`);
            if (message.method === "SetupIframeServerResponseAck") acked = true;
          }
        }
        assert.equal(acked, model.pinned !== null, "the handshake is acknowledged once accepted");
        if (model.pinned) {
          mf.setOutputs({ done: 1 });
          assert.deepEqual(frame.posted.at(-1), {
            message: {
              jsonrpc: "2.0",
              id: frame.posted.at(-1).message.id,
              method: "OutputsUpdate",
              params: { done: 1 },
              iframeId: FRAME_ID,
              parentId: model.pinned.parentId,
            },
            targetOrigin: target,
          });
        }

        // After dispose(): no listener left, nothing changes.
        mf.dispose();
        assert.equal(frame.listeners.size, 0, "dispose() removes the message listener");
      } finally {
        if (mf) mf.dispose();
        frame.uninstall();
      }
    }),
    // Regressions (docs/security.md): inputs named like Object.prototype members.
    params(1000, [
      [
        [
          {
            source: "parent",
            origin: PARENT_ORIGIN,
            data: {
              jsonrpc: "2.0",
              method: "InputsUpdate",
              iframeId: FRAME_ID,
              parentId: PARENT_ID,
              params: {
                inputs: Object.fromEntries([
                  ["__proto__", { polluted: 1 }],
                  ["constructor", 2],
                  ["toString", undefined],
                ]),
              },
            },
          },
        ],
        true,
      ],
    ]),
  );
});

// =========================================================================== 2. options

const numArb = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    1,
    2,
    0.5,
    -1,
    123,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 32 + 3,
    2 ** 40,
    2 ** 53 - 1,
    2 ** 53,
    1e308,
    Infinity,
    -Infinity,
    NaN,
  ),
  fc.integer({ min: -10, max: 10 }),
  fc.double(),
  fc.anything(ANY),
);
const someOf = (obj) => fc.record(obj, { requiredKeys: [] });
const reconnectArb = fc.oneof(
  fc.constantFrom(true, false, undefined, null),
  someOf({
    minDelayMs: numArb,
    maxDelayMs: numArb,
    factor: numArb,
    jitter: fc.oneof(fc.constant("full"), numArb),
    maxRetries: numArb,
    connectTimeoutMs: numArb,
    stableAfterMs: numArb,
    bogus: numArb,
  }),
  fc.anything(ANY),
);
const heartbeatArb = fc.oneof(
  fc.constantFrom(false, undefined, true),
  someOf({ intervalMs: numArb, timeoutMs: numArb, message: fc.anything(ANY), pong: fc.anything(ANY) }),
  fc.anything(ANY),
);
const queueArb = fc.oneof(
  someOf({
    maxMessages: numArb,
    maxBytes: numArb,
    overflow: fc.oneof(fc.constantFrom("drop-oldest", "drop-newest", "error", "DROP-OLDEST"), fc.anything(ANY)),
  }),
  fc.anything(ANY),
);
const protocolsArb = fc.oneof(
  fc.array(fc.oneof(fc.constantFrom("chat.v1", "chat.v2", "a", "", "a b", "a,b", "é"), fc.string({ maxLength: 4 })), { maxLength: 3 }),
  // biome-ignore lint/suspicious/noSparseArray: holes in a protocols array are the input under test
  fc.constantFrom([, "chat.v1"], [undefined], ["chat.v1", , "chat.v2"]),
  fc.anything(ANY),
);
const headersArb = fc.oneof(
  fc.dictionary(
    fc.oneof(fc.constantFrom("Authorization", "X-Token", "bad name", "__proto__"), fc.string({ maxLength: 4 })),
    fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("a\r\nb", "x\0"), fc.anything(ANY)),
    { maxKeys: 2 },
  ),
  fc.anything(ANY),
);
const optionsArb = fc.oneof(
  {
    weight: 6,
    arbitrary: someOf({
      protocols: protocolsArb,
      headers: headersArb,
      WebSocket: fc.constantFrom(undefined, null, 5, "WebSocket", class {}, function WS() {}),
      reconnect: reconnectArb,
      heartbeat: heartbeatArb,
      queue: queueArb,
      maxMessageBytes: numArb,
    }),
  },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...TRICKY_KEYS, "reconect", "Queue"), fc.anything(ANY)).map(([k, v]) => Object.fromEntries([[k, v]])) },
  { weight: 1, arbitrary: fc.anything(ANY) },
);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

test("options: arbitrary option objects give a working Channel or a documented MetaChannelError", { timeout: 60000 }, () => {
  fc.assert(
    fc.property(optionsArb, fc.integer({ min: 1, max: 4 }), (options, sends) => {
      let ch;
      try {
        ch = new Channel(null, options);
      } catch (err) {
        assertDocumented(err, "new Channel(null, options)");
        return;
      }
      try {
        assert.equal(ch.state, "idle");
        // What was accepted is what the types allow.
        const o = options ?? {}; // null and undefined mean "no options"
        if (o.protocols !== undefined) {
          assert.ok(Array.isArray(o.protocols));
          const list = Array.from(o.protocols);
          assert.ok(
            list.every((p) => typeof p === "string" && TOKEN.test(p)),
            `accepted protocols ${JSON.stringify(list)}`,
          );
          assert.equal(new Set(list).size, list.length);
        }
        // The queue holds what the options say: while idle, sends are queued up to the limits.
        const q = isPlainObject(o.queue) ? o.queue : {};
        const maxMessages = q.maxMessages ?? 1000;
        const maxBytes = q.maxBytes ?? 1048576;
        // each message is one byte; an option of -0 is a limit of 0 (and the count is +0)
        const room = Math.max(0, Math.min(maxMessages, maxBytes));
        const overflow = q.overflow ?? "drop-oldest";
        const errors = [];
        ch.on("error", (e) => errors.push(e.code));
        for (let i = 0; i < sends; i++) {
          let thrown = null;
          try {
            ch.send("x");
          } catch (err) {
            assertDocumented(err, "send()");
            thrown = err.code;
          }
          const fits = i < room;
          if (room === 0 || (!fits && overflow === "error")) assert.equal(thrown, "QUEUE_OVERFLOW", `send #${i + 1} with queue ${JSON.stringify(q)}`);
          else assert.equal(thrown, null, `send #${i + 1} with queue ${JSON.stringify(q)} threw ${thrown}`);
        }
        assert.equal(ch.queuedCount, Math.min(sends, room), `queuedCount with queue ${JSON.stringify({ maxMessages, maxBytes })}`);
        assert.equal(ch.queuedBytes, Math.min(sends, room));
        if (room > 0 && sends > room && overflow !== "error") assert.deepEqual(errors, Array(sends - room).fill("QUEUE_OVERFLOW"));
      } finally {
        ch.dispose();
      }
    }),
    // Regressions (docs/security.md): a sparse protocols array; queue limits of 2^32 and more.
    params(2000, [
      // biome-ignore lint/suspicious/noSparseArray: the regression is a sparse protocols array
      [{ protocols: [, "chat.v1"] }, 1],
      [{ queue: { maxMessages: 2 ** 32 } }, 3],
      [{ queue: { maxBytes: 2 ** 40, maxMessages: 2 ** 53 - 1, overflow: "error" } }, 2],
    ]),
  );
});

// =========================================================================== 3. re-entrancy

const EVENT_NAMES = ["open", "message", "close", "error", "reconnecting", "state"];
const ACTION_NAMES = [
  "send",
  "sendHuge",
  "close",
  "setUrlA",
  "setUrlB",
  "setUrlNull",
  "setUrlBad",
  "reconnect",
  "dispose",
  "offSelf",
  "offOther",
  "onNew",
  "throw",
];
const STATE_NAMES = ["idle", "connecting", "open", "reconnecting", "closing", "closed"];
const programArb = fc.record({
  listeners: fc.array(
    fc.record({
      event: fc.constantFrom(...EVENT_NAMES),
      actions: fc.array(fc.constantFrom(...ACTION_NAMES), { minLength: 1, maxLength: 3 }),
      times: fc.integer({ min: 1, max: 3 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  steps: fc.array(fc.constantFrom("peerSends", "drop", "send", "setUrlA", "setUrlB", "close", "reconnect", "dispose", "wait"), { minLength: 1, maxLength: 6 }),
});

test("re-entrancy: random listener programs never break the channel's invariants", { timeout: 90000 }, async (t) => {
  const relay = await startRelay({ port: 0 });
  t.after(() => relay.close());
  const urlA = (await relay.createChannel()).url;
  const urlB = (await relay.createChannel()).url;
  const sockets = [];
  relay.on("connection", ({ protocol, socket }) => protocol === "under-test" && sockets.push(socket));
  const peer = new Channel(urlA, { reconnect: { minDelayMs: 10, maxDelayMs: 20 } });
  t.after(() => peer.dispose());
  await peer.opened();

  await fc.assert(
    fc.asyncProperty(programArb, async ({ listeners, steps }) => {
      const ch = new Channel(null, { protocols: ["under-test"], maxMessageBytes: 256, reconnect: { minDelayMs: 5, maxDelayMs: 20 } });
      const violations = [];
      const states = [];
      let disposedAt = -1; // index in `log` of dispose()
      let closedByUser = false;
      const log = [];
      const offs = [];
      const guard = (what, fn) => {
        try {
          fn();
        } catch (err) {
          if (!(err instanceof MetaChannelError) || !CODES.includes(err.code)) violations.push(`${what} threw ${err?.stack ? err.stack : err}`);
          else if (ch.disposed && err.code !== "DISPOSED") violations.push(`${what} after dispose threw ${err.code}, not DISPOSED`);
        }
      };
      const act = (name, self) => {
        switch (name) {
          case "send":
            return guard("send", () => ch.send({ type: "t", n: log.length }));
          case "sendHuge":
            return guard("send(huge)", () => ch.send("x".repeat(300)));
          case "close":
            return guard("close", () => {
              closeAllowingDrops(ch, 4000, "from a listener"); // what was queued may be dropped (CLOSED)
              if (!ch.disposed) closedByUser = true;
            });
          case "setUrlA":
            return guard("setUrl(A)", () => ch.setUrl(urlA));
          case "setUrlB":
            return guard("setUrl(B)", () => ch.setUrl(urlB));
          case "setUrlNull":
            return guard("setUrl(null)", () => ch.setUrl(null));
          case "setUrlBad":
            return guard("setUrl(bad)", () => ch.setUrl("http://nope/x"));
          case "reconnect":
            return guard("reconnect", () => ch.reconnect());
          case "dispose":
            guard("dispose", () => ch.dispose());
            if (disposedAt < 0) disposedAt = log.length;
            return;
          case "offSelf":
            return guard("off(self)", () => self?.());
          case "offOther":
            return guard("off(other)", () => offs.length && offs[0]());
          case "onNew":
            return guard("on(new)", () => offs.push(ch.on("message", () => {})));
          case "throw":
            throw new Error("listener threw on purpose");
        }
      };
      // Observers first: they record every event (and must see none after dispose()).
      for (const ev of EVENT_NAMES) {
        guard("on(observer)", () =>
          ch.on(ev, (arg) => {
            log.push({ ev, arg });
            if (ch.disposed && disposedAt >= 0) violations.push(`event ${ev} after dispose()`);
            if (ev === "state") {
              if (!STATE_NAMES.includes(arg.to)) violations.push(`invalid state ${arg.to}`);
              const prev = states.length ? states.at(-1) : "idle";
              if (arg.from !== prev) violations.push(`state ${arg.from}->${arg.to} after ${prev}`);
              states.push(arg.to);
            }
          }),
        );
      }
      for (const l of listeners) {
        let left = l.times;
        let off = null;
        guard("on(program)", () => {
          off = ch.on(l.event, () => {
            if (left-- <= 0) return;
            for (const a of l.actions) act(a, off);
          });
        });
        offs.push(off);
      }

      guard("setUrl(A)", () => ch.setUrl(urlA));
      for (const step of steps) {
        switch (step) {
          case "peerSends":
            peer.send({ type: "t", from: "peer" });
            peer.send("y".repeat(300));
            break;
          case "drop":
            sockets.at(-1)?.terminate();
            break;
          case "wait":
            await sleep(30);
            break;
          default:
            act(step, null);
        }
        await sleep(15);
      }
      await sleep(60);

      // Invariants at rest.
      assert.deepEqual(violations, []);
      if (ch.disposed) {
        assert.equal(ch.state, "closed");
        for (const call of [() => ch.send("x"), () => ch.setUrl(urlA), () => ch.close(), () => ch.reconnect()]) {
          assert.throws(call, (e) => e instanceof MetaChannelError && e.code === "DISPOSED");
        }
      } else {
        assert.ok(STATE_NAMES.includes(ch.state));
        assert.equal(ch.state, states.length ? states.at(-1) : "idle", "the state is the last state event's");
        if (closedByUser) {
          await waitFor(() => ch.state === "closed", { timeoutMs: 1500, what: `closed after close() (state ${ch.state})` });
          const reopened = log.findIndex(
            (e, i) => i > log.findIndex((x) => x.ev === "state" && x.arg.to === "closed") && (e.ev === "open" || e.ev === "reconnecting"),
          );
          assert.equal(reopened, -1, "nothing opens or reconnects after close()");
          assert.throws(
            () => ch.send("x"),
            (e) => e instanceof MetaChannelError && e.code === "CLOSED",
          );
        }
        ch.dispose();
      }
    }),
    params(60),
  );
});
