// The cipher choice for end-to-end encryption (docs/architecture.md, "End-to-end encryption:
// where the seal sits and why"): seal and open of a ~120-byte JSON message per second with
// the package's chunk (@noble/ciphers XChaCha20-Poly1305, synchronous: what a channel runs per
// frame) against WebCrypto AES-256-GCM (crypto.subtle, one awaited call per frame, as a
// per-frame pipeline that keeps frames in order would have to run it). Figures, not assertions.
//   node tests/bench/e2e-aead.mjs [--ms 1500]     (run it on Node 22 for the documented figures)
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ms = Number(process.argv[process.argv.indexOf("--ms") + 1]) || 1500;
const { sealer } = await import(path.join(process.env.MC_DIST_DIR || path.join(root, "dist"), "metachannel-e2e.mjs"));

const message = JSON.stringify({ type: "chat.msg", from: "alice-12345", room: "general", text: "x".repeat(34), at: 1733540000000 });
const bytes = new TextEncoder().encode(message);
const key = crypto.getRandomValues(new Uint8Array(32));
const s = sealer(key);

/** Calls fn (sync or async) repeatedly for about `ms`; returns operations per second. */
async function rate(fn) {
  for (let i = 0; i < 2000; i++) await fn(); // warm-up
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 500; i++) await fn();
    n += 500;
    now = performance.now();
  }
  return n / ((now - start) / 1000);
}
function rateSync(fn) {
  for (let i = 0; i < 2000; i++) fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 500; i++) fn();
    n += 500;
    now = performance.now();
  }
  return n / ((now - start) / 1000);
}

const sealed = s.sealText(message);
const nobleSeal = rateSync(() => s.sealText(message));
const nobleOpen = rateSync(() => s.open(sealed));

const aesKey = await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt", "decrypt"]);
const iv = crypto.getRandomValues(new Uint8Array(12));
const aesSealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, aesKey, bytes);
const aesSeal = await rate(() => crypto.subtle.encrypt({ name: "AES-GCM", iv: crypto.getRandomValues(new Uint8Array(12)) }, aesKey, bytes));
const aesOpen = await rate(() => crypto.subtle.decrypt({ name: "AES-GCM", iv }, aesKey, aesSealed));

const f = (n) => `${Math.round(n).toLocaleString("en-US")} ops/s (${(1e6 / n).toFixed(2)} µs)`;
console.log(`Node ${process.versions.node}, a ${bytes.length}-byte message (${sealed.length} bytes sealed)`);
console.log(`noble XChaCha20-Poly1305 seal (sync):   ${f(nobleSeal)}`);
console.log(`noble XChaCha20-Poly1305 open (sync):   ${f(nobleOpen)}`);
console.log(`WebCrypto AES-256-GCM encrypt (await):  ${f(aesSeal)}`);
console.log(`WebCrypto AES-256-GCM decrypt (await):  ${f(aesOpen)}`);
