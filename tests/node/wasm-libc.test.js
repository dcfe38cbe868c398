// The full core's control messages go through nlohmann/json, whose two libc calls the wasm
// links without musl's general code (bindings/libc_wraps.cpp): strtod converts through
// JavaScript's Number(), snprintf is an integer-only formatter. A reliable send is parsed and
// re-serialised by the core (the reliability fields are merged into the message), so what a
// raw peer receives shows both: every number back bit for bit, control characters escaped.
import test from "node:test";
import assert from "node:assert/strict";
import { WebSocketServer } from "ws";
import { channelFor, waitFor } from "./helpers.js";

async function recordingServer(t) {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((resolve) => wss.once("listening", resolve));
  const frames = [];
  wss.on("connection", (ws) => {
    ws.on("error", () => {});
    ws.on("message", (data, isBinary) => {
      if (!isBinary) frames.push(data.toString("utf8"));
    });
  });
  t.after(
    () =>
      new Promise((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  );
  return { url: `ws://127.0.0.1:${wss.address().port}/libc`, frames };
}

/** Doubles across the whole range: halfway-prone decimals, subnormals, the extremes, integers past 2^53 and 2^64. */
function doubles() {
  const out = [0.1, 0.2, 0.3, 1 / 3, -2 / 3, 2.5e-7, 1e21, 1e-7, 123456789.12345679, 5e-324, -5e-324, 2.2250738585072014e-308, 2.225073858507201e-308];
  out.push(
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.EPSILON,
    2 ** 53 + 2,
    2 ** 64,
    2 ** 64 * 3,
    -(2 ** 63) * 5,
    1.7976931348623157e308,
    4.9406564584124654e-324,
  );
  // A fixed pseudo-random walk over mantissas and exponents (deterministic: the same every run).
  let x = 0x9e3779b9;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  for (let i = 0; i < 300; i++) {
    const e = Math.floor(next() * 600) - 300;
    out.push((next() - 0.5) * 10 ** e);
  }
  return out;
}

test("reliable send through the full core: every double survives nlohmann's parse (strtod) and dump bit for bit", async (t) => {
  const server = await recordingServer(t);
  const ch = channelFor(t, server.url, { reliable: true });
  await ch.opened();
  const values = doubles();
  for (let i = 0; i < values.length; i += 50) ch.send({ type: "nums", at: i, values: values.slice(i, i + 50) });
  await waitFor(() => server.frames.filter((f) => f.includes('"nums"')).length === Math.ceil(values.length / 50), { what: "every batch at the server" });
  const got = [];
  for (const f of server.frames.filter((x) => x.includes('"nums"'))) {
    const m = JSON.parse(f);
    got[m.at / 50] = m.values;
  }
  const flat = got.flat();
  assert.equal(flat.length, values.length);
  const wrong = values.map((v, i) => [v, flat[i]]).filter(([a, b]) => !Object.is(a, b));
  assert.deepEqual(wrong, [], "numbers changed on the way through the core");
});

test("reliable send through the full core: control characters and non-ASCII escaped by nlohmann's dump (snprintf), text intact", async (t) => {
  const server = await recordingServer(t);
  const ch = channelFor(t, server.url, { reliable: true });
  await ch.opened();
  const text = "a\u0001b\u001fc\u0000d\u007f é 😀 \u2028";
  ch.send({ type: "ctl", text });
  await waitFor(() => server.frames.some((f) => f.includes('"ctl"')), { what: "the message at the server" });
  const frame = server.frames.find((f) => f.includes('"ctl"'));
  assert.match(frame, /a\\u0001b\\u001fc\\u0000d/, `escapes in ${JSON.stringify(frame)}`);
  assert.equal(JSON.parse(frame).text, text);
});
