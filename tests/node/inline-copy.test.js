// The inline copy of the wasm (metachannel-wasm.mjs: the fallback esbuild and Rollup bundle with
// no configuration, and the wasm of metachannel/inline) is the full core gzipped, then base64
// (scripts/build.mjs; js/loader.ts decodeInline unpacks it with DecompressionStream). Each case
// runs in a fresh process (a loaded core cannot be unloaded); the relay runs here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { distDir, relayFor, runScript } from "./helpers.js";

const dist = path.join(distDir, "metachannel.mjs");
const chunk = path.join(distDir, "metachannel-wasm.mjs");

/** Runs `body` in a fresh process with `mc`, `inline` (the chunk's string) and `url`; resolves what it printed last, as JSON. */
async function scenario(url, body, { before = "" } = {}) {
  const r = await runScript(
    `${before}
     const mc = await import(${JSON.stringify(dist)});
     const inline = (await import(${JSON.stringify(chunk)})).default;
     const url = ${JSON.stringify(url)};
     const out = {};
     try {
       ${body}
     } catch (err) {
       out.error = { code: err.code, message: err.message };
     }
     console.log(JSON.stringify(out));
     process.exit(0);`,
    { timeoutMs: 20000 },
  );
  assert.equal(r.code, 0, `the scenario failed:\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1));
}

test("the inline copy is the full core, gzipped then base64, byte for byte metachannel.wasm", async () => {
  const text = (await import(chunk)).default;
  assert.equal(typeof text, "string");
  const bytes = Buffer.from(text, "base64");
  assert.deepEqual([...bytes.subarray(0, 2)], [0x1f, 0x8b], "a gzip stream");
  assert.ok(gunzipSync(bytes).equals(readFileSync(path.join(distDir, "metachannel.wasm"))), "it unpacks to dist/metachannel.wasm");
});

test("a page on the inline copy alone: ready() unpacks it, and reliable and plain channels round-trip on it", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const out = await scenario(
    url,
    `mc._useInlineWasm(inline);
     await mc.ready();
     const a = await mc.connect(url, { reliable: true });
     const b = await mc.connect(url, { reliable: true });
     await Promise.all([a.opened(), b.opened()]);
     const got = new Promise((resolve) => b.onMessage("x", (m) => resolve(m.n)));
     a.send({ type: "x", n: 42 });
     out.reliable = await got;
     const p = await mc.connect(url);
     await p.opened();
     out.plain = p.state;
     a.dispose(); b.dispose(); p.dispose();`,
  );
  assert.deepEqual(out, { reliable: 42, plain: "open" });
});

test("an inline copy that is not gzip (base64 of the bare wasm, what _useInlineWasm took before) still loads", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const bare = readFileSync(path.join(distDir, "metachannel.wasm")).toString("base64");
  const out = await scenario(
    url,
    `mc._useInlineWasm(${JSON.stringify(bare)});
     const ch = await mc.connect(url, { reliable: true });
     await ch.opened();
     out.state = ch.state;
     ch.dispose();`,
  );
  assert.deepEqual(out, { state: "open" });
});

test("a corrupt inline copy rejects ready() with LOAD_FAILED saying it does not unpack", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const out = await scenario(
    url,
    `// The gzip header kept, the deflate stream cut in half.
     const bytes = Buffer.from(inline, "base64");
     mc._useInlineWasm(bytes.subarray(0, bytes.length >> 1).toString("base64"));
     await mc.ready();
     out.loaded = true;`,
  );
  assert.equal(out.error?.code, "LOAD_FAILED", JSON.stringify(out));
  assert.match(out.error.message, /the inline copy: it does not unpack \(corrupt gzip\)/);
});

test("without DecompressionStream, ready() on the inline copy rejects LOAD_FAILED naming what is missing", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const out = await scenario(url, `mc._useInlineWasm(inline);\n await mc.ready();\n out.loaded = true;`, {
    before: "delete globalThis.DecompressionStream;",
  });
  assert.equal(out.error?.code, "LOAD_FAILED", JSON.stringify(out));
  assert.match(out.error.message, /no DecompressionStream/);
  assert.match(out.error.message, /Serve dist\/metachannel\.wasm/, "the message says what to do instead");
});
