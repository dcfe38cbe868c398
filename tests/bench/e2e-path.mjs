// Encrypted send and receive through the sealing socket's real path (dist/metachannel-e2e.mjs's
// adopt(): what js/socket-factory.ts's placeholder becomes for a keyed channel), without the
// network and the core: a 120-byte JSON text frame per call, `send` (text -> sealed bytes handed
// to the real socket) and `onmessage` (a sealed ArrayBuffer -> the string the core's handler
// gets), interleaved with @noble/ciphers called directly on the same plaintext (what is the
// cipher's, what is ours). Medians of 5 rounds. Figures, not assertions.
//   node tests/bench/e2e-path.mjs [--ms 400] [--stablelib DIR]
// --stablelib DIR: also @stablelib/xchacha20poly1305 from DIR/node_modules (not a dependency:
// `npm install --prefix DIR @stablelib/xchacha20poly1305@2.0.1`), for the comparison in
// docs/architecture.md. For a profile: node --no-turbo-inlining --cpu-prof tests/bench/e2e-path.mjs
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { xchacha20poly1305 as noble } from "@noble/ciphers/chacha.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const ms = Number(arg("--ms")) || 400;
const chunk = await import(path.join(process.env.MC_DIST_DIR || path.join(root, "dist"), "metachannel-e2e.mjs"));

const message = JSON.stringify({ type: "chat.msg", from: "alice-12345", room: "general", text: "x".repeat(34), at: 1733540000000 });
const key = crypto.getRandomValues(new Uint8Array(32));
const nonce = crypto.getRandomValues(new Uint8Array(24));
const AD = new Uint8Array([1]);
const plain = new TextEncoder().encode(`\0${message}`);
const frame = new Uint8Array(plain.length + 42);
const sealedByNoble = noble(key, nonce, AD).encrypt(plain);

// A keyed socket over a stand-in for the real WebSocket that keeps the last frame sent.
const real = {
  readyState: 1,
  sent: null,
  send(d) {
    this.sent = d;
  },
  close() {},
};
const held = {
  readyState: 0,
  bufferedAmount: 0,
  protocol: "",
  extensions: "",
  binaryType: "arraybuffer",
  onopen: null,
  onmessage: null,
  onerror: null,
  onclose: null,
  send() {},
  close() {},
};
chunk.adopt(held, () => real, { key: Buffer.from(key).toString("base64url"), maxBytes: 1 << 20, drops: {}, report() {} }, true);
let got = null;
held.onmessage = (e) => {
  got = e.data;
};
held.send(message);
const buffer = real.sent.buffer.slice(real.sent.byteOffset, real.sent.byteOffset + real.sent.byteLength);
real.onmessage({ data: buffer });
if (got !== message) throw new Error("the round trip failed");

/** µs per call of fn, over about `ms`. */
function cost(fn) {
  for (let i = 0; i < 3000; i++) fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 500; i++) fn();
    n += 500;
    now = performance.now();
  }
  return ((now - start) * 1000) / n;
}

const rows = {
  "noble encrypt, in place": () => {
    frame.set(plain, 25);
    noble(key, nonce, AD).encrypt(frame.subarray(25, frame.length - 16), frame.subarray(25));
  },
  "socket send (seal)": () => held.send(message),
  "noble decrypt": () => noble(key, nonce, AD).decrypt(sealedByNoble),
  "socket receive (open)": () => real.onmessage({ data: buffer }),
  "JSON.parse, for scale": () => JSON.parse(message),
};
const dir = arg("--stablelib");
if (dir) {
  const { XChaCha20Poly1305 } = await import(
    pathToFileURL(path.join(path.resolve(dir), "node_modules/@stablelib/xchacha20poly1305/lib/xchacha20poly1305.js")).href
  );
  const aead = new XChaCha20Poly1305(key);
  if (String(aead.open(nonce, sealedByNoble, AD)) !== String(plain)) throw new Error("stablelib does not open noble's frame");
  rows["stablelib seal"] = () => aead.seal(nonce, plain, AD);
  rows["stablelib open"] = () => aead.open(nonce, sealedByNoble, AD);
}
const runs = Object.fromEntries(Object.keys(rows).map((k) => [k, []]));
for (let round = 0; round < 5; round++) for (const [k, fn] of Object.entries(rows)) runs[k].push(cost(fn));
const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
console.log(`Node ${process.versions.node}, a ${message.length}-byte text frame (${real.sent.length} bytes sealed); µs per call, median of 5 (all 5)`);
for (const [k, v] of Object.entries(runs)) console.log(`${k.padEnd(24)} ${median(v).toFixed(2).padStart(6)}   (${v.map((x) => x.toFixed(1)).join(" ")})`);
