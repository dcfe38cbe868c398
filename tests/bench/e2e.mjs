#!/usr/bin/env node
// End-to-end encryption against plain metachannel (issue 26), in the same run, on Node 22 and in
// Chromium (the script-tag build): receive and send throughput, the round trip's added latency
// and the bytes a page downloads for encryption. Each Node measurement runs in its own child
// process (a fresh JIT and heap), each Chromium one in a fresh page; rounds are interleaved
// (plain, encrypted, plain, encrypted, ...) and the figures are medians.
//
//   node tests/bench/e2e.mjs [--rounds 5] [--n 100000] [--warm 20000] [--browser-n 20000]
//                            [--browser-warm 5000] [--rtt-n 2000] [--runtimes node22,node22-noble,chromium]
//   (npm run bench -- --only e2e)
//
// receive: a flood server (this process, a separate writer) sends n ~120-byte ticks
//   (tests/bench/messages.mjs), sealed in advance with the channel's key on the encrypted path
//   (XChaCha20-Poly1305 as docs/security.md frames it, @noble/ciphers); the client counts them
//   through onMessage("tick"). send: the client sends n ticks with send() and a backpressure
//   loop; the server counts frames until all arrived. rtt: two channels of one client on the
//   dev relay (this process), ping → pong, p50 over sequential round trips; each round trip
//   seals twice and opens four times (the relay echoes to the sender too), as two real peers do.
// node22: Node 22 with sodium-native (a devDependency here; an optional peer dependency for
//   users) sealing and opening; node22-noble: the same build where sodium-native does not resolve,
//   so @noble/ciphers does (what a Node application without it gets). Each run checks which.
// chunk: gzip (level 9) of the files an encrypted script-tag page fetches that a plain one does
//   not (the network log of two Chromium pages).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { WebSocketServer } from "ws";
import { tickText } from "./messages.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const { values: opt } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    n: { type: "string", default: "100000" },
    warm: { type: "string", default: "20000" },
    "rtt-n": { type: "string", default: "2000" },
    // Chromium receives far fewer frames a second than Node: fewer per round there.
    "browser-n": { type: "string", default: "20000" },
    "browser-warm": { type: "string", default: "5000" },
    runtimes: { type: "string", default: "node22,node22-noble,chromium" },
    client: { type: "string" },
    dist: { type: "string" },
  },
});

// Issue 26's targets.
const TARGETS = { receive: 0.5, send: 0.5, addedRttMs: 0.2, chunkKB: 8 };

const VERSION = 0x01;

/** The sealing of docs/security.md: 0x01 ‖ nonce ‖ XChaCha20-Poly1305(kind ‖ payload, ad = 0x01). */
async function sealer(key) {
  const { xchacha20poly1305 } = await import("@noble/ciphers/chacha.js");
  const ad = new Uint8Array([VERSION]);
  return {
    seal(text) {
      const nonce = randomBytes(24);
      const payload = Buffer.from(text);
      const plain = new Uint8Array(payload.length + 1);
      plain[0] = 0x00;
      plain.set(payload, 1);
      const sealed = xchacha20poly1305(key, nonce, ad).encrypt(plain);
      return Buffer.concat([Buffer.from([VERSION]), nonce, sealed]);
    },
    open(frame) {
      if (frame.length < 42 || frame[0] !== VERSION) return null;
      try {
        const plain = xchacha20poly1305(key, frame.subarray(1, 25), ad).decrypt(frame.subarray(25));
        return plain[0] === 0x00 ? Buffer.from(plain.subarray(1)).toString("utf8") : null;
      } catch {
        return null;
      }
    },
  };
}

/** The flood/sink server: ws://…/plain speaks plain text, ws://…/e2e sealed frames. */
async function startFloodServer(count, crypt) {
  const plain = [];
  const sealed = [];
  for (let i = 0; i < count; i++) {
    plain.push(tickText(i));
    sealed.push(crypt.seal(plain[i]));
  }
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false });
  wss.on("connection", (ws, req) => {
    const e2e = req.url.startsWith("/e2e");
    const reply = (obj) => ws.send(e2e ? crypt.seal(JSON.stringify(obj)) : JSON.stringify(obj));
    let sink = null;
    ws.on("message", (data, isBinary) => {
      if (sink) {
        if (++sink.frames === sink.n) {
          sink = null;
          reply({ type: "sunk" });
        }
        return;
      }
      let cmd;
      try {
        cmd = JSON.parse(e2e ? (isBinary && crypt.open(data)) || "null" : String(data));
      } catch {
        return;
      }
      if (cmd?.cmd === "sink") sink = { n: cmd.n, frames: 0 };
      if (cmd?.cmd === "flood") {
        const frames = e2e ? sealed : plain;
        let i = 0;
        const pump = () => {
          while (i < cmd.n && ws.bufferedAmount < 4 << 20) ws.send(frames[i++ % frames.length]);
          if (i < cmd.n) setImmediate(pump);
        };
        pump();
      }
    });
  });
  await new Promise((resolve) => wss.once("listening", resolve));
  return { wss, base: `ws://127.0.0.1:${wss.address().port}` };
}

function nodeChild(node, spec) {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [fileURLToPath(import.meta.url), "--client", JSON.stringify(spec)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      if (code !== 0 || !line) reject(new Error(`client exited with ${code}: ${out}`));
      else resolve(JSON.parse(line.slice(7)));
    });
  });
}

async function startChromium(distDir) {
  const { chromium } = await import("playwright-core");
  const { serveStatic } = await import(path.join(root, "scripts/static-server.mjs"));
  const { CHROMIUM, CHROMIUM_ARGS } = await import(path.join(root, "scripts/toolchain.mjs"));
  // Cross-origin isolated (COOP + COEP): performance.now() then ticks in 5 µs, not 100 µs, so
  // the round trip's p50 is measured, not rounded (WebSockets are not subject to COEP).
  const server = await serveStatic({
    mounts: { "/dist/": distDir, "/bench/": here, "/": path.join(here, "browser") },
    headers: { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" },
  });
  const profile = mkdtempSync(path.join(os.tmpdir(), "mc-bench-e2e-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  return {
    version: context.browser()?.version?.() ?? "Chromium",
    /** Runs one measurement in a fresh page; `fetched`: the files it loaded from /dist/. */
    async run(spec) {
      const page = await context.newPage();
      const fetched = [];
      page.on("request", (r) => {
        const { pathname } = new URL(r.url());
        if (pathname.startsWith("/dist/")) fetched.push(pathname.slice("/dist/".length));
      });
      await page.goto(`${server.url}/e2e.html`);
      await page.waitForFunction(() => window.benchReady === true);
      if (!(await page.evaluate(() => window.crossOriginIsolated)))
        throw new Error("the bench page is not cross-origin isolated: its clock would tick in 0.1 ms");
      const result = await page.evaluate((s) => window.benchE2e(s), spec);
      await page.close();
      return { ...result, fetched };
    },
    async close() {
      await context.close();
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

function median(a) {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main() {
  const n = Number(opt.n);
  const warm = Number(opt.warm);
  const rttN = Number(opt["rtt-n"]);
  const rounds = Number(opt.rounds);
  const distDir = opt.dist ? path.resolve(opt.dist) : path.join(root, "dist");
  const runtimes = opt.runtimes.split(",");
  const key = randomBytes(32);
  const fragment = `#k=${key.toString("base64url")}`;
  const crypt = await sealer(key);
  const browserN = Number(opt["browser-n"]);
  const browserWarm = Number(opt["browser-warm"]);
  const flood = await startFloodServer(Math.max(n, warm, browserN, browserWarm), crypt);
  const { startRelay } = await import(path.join(root, "relay/server.js"));
  const relay = await startRelay({ port: 0, log: false });
  const { url: relayUrl } = await relay.createChannel();

  const runners = {};
  const versions = {};
  const cleanups = [];
  for (const rt of runtimes) {
    if (rt === "node22" || rt === "node22-noble") {
      const { node22Path } = await import(path.join(root, "scripts/toolchain.mjs"));
      const node = node22Path();
      // node22-noble: the same dist/ copied where no node_modules is above it, so that
      // sodium-native does not resolve (Node 22's own WebSocket needs no package).
      let dir = distDir;
      if (rt === "node22-noble") {
        dir = path.join(mkdtempSync(path.join(os.tmpdir(), "mc-bench-noble-")), "dist");
        cpSync(distDir, dir, { recursive: true });
        cleanups.push(() => rmSync(path.dirname(dir), { recursive: true, force: true }));
      }
      const expected = rt === "node22" ? "sodium-native" : "@noble/ciphers";
      runners[rt] = async (spec) => {
        const res = await nodeChild(node, { ...spec, distDir: dir });
        if (res.encrypted && res.cipher !== expected)
          throw new Error(`${rt}: sealed with ${res.cipher}, expected ${expected}${rt === "node22" ? " (npm install: sodium-native is a devDependency)" : ""}`);
        return res;
      };
      versions[rt] = `Node ${(await import("node:child_process")).execFileSync(node, ["--version"], { encoding: "utf8" }).trim()}, ${expected}`;
    } else if (rt === "node") {
      runners.node = (spec) => nodeChild(process.execPath, { ...spec, distDir });
      versions.node = `Node ${process.version}`;
    } else if (rt === "chromium") {
      const browser = await startChromium(distDir);
      runners.chromium = (spec) => browser.run(spec);
      runners.chromium.close = () => browser.close();
      versions.chromium = `Chromium ${browser.version}`;
    } else throw new Error(`unknown runtime "${rt}": node22, node22-noble, node, chromium`);
  }

  const figures = {};
  const fetched = { plain: null, e2e: null };
  for (const rt of runtimes)
    figures[rt] = { receive: { plain: [], e2e: [] }, send: { plain: [], e2e: [] }, rtt: { plain: [], e2e: [] }, rttMean: { plain: [], e2e: [] } };
  for (let r = 0; r < rounds; r++) {
    for (const rt of runtimes) {
      const line = [];
      for (const mode of ["receive", "send", "rtt"]) {
        for (const variant of ["plain", "e2e"]) {
          const url = mode === "rtt" ? relayUrl : `${flood.base}/${variant}`;
          const browser = rt === "chromium";
          const spec =
            mode === "rtt"
              ? { mode, url: variant === "e2e" ? url + fragment : url, n: rttN, warm: Math.ceil(rttN / 10) }
              : { mode, url: variant === "e2e" ? url + fragment : url, n: browser ? browserN : n, warm: browser ? browserWarm : warm };
          const res = await runners[rt](spec);
          if (res.encrypted !== (variant === "e2e")) throw new Error(`${rt} ${mode} ${variant}: channel.encrypted is ${res.encrypted}`);
          if (res.fetched) fetched[variant] ??= res.fetched;
          figures[rt][mode][variant].push(mode === "rtt" ? res.p50 : res.msgsPerSec);
          if (mode === "rtt") figures[rt].rttMean[variant].push(res.mean);
          line.push(`${mode} ${variant} ${mode === "rtt" ? `${res.p50.toFixed(3)} ms` : `${Math.round(res.msgsPerSec / 1000)}k/s`}`);
        }
      }
      process.stderr.write(`[e2e] round ${r + 1}/${rounds} ${rt}: ${line.join(" | ")}\n`);
    }
  }
  for (const rt of runtimes) await runners[rt].close?.();
  for (const c of cleanups) c();
  flood.wss.close();
  await relay.close();

  // The encryption chunk: what the encrypted page fetched that the plain page did not.
  let chunk = null;
  if (fetched.e2e && fetched.plain) {
    const extra = fetched.e2e.filter((f) => !fetched.plain.includes(f));
    const kb = extra.reduce((sum, f) => sum + gzipSync(readFileSync(path.join(distDir, f)), { level: 9 }).length, 0) / 1000;
    chunk = { files: extra, kb };
  }

  const fmt = (v) => (v >= 1000 ? Math.round(v).toLocaleString("en-US") : v.toFixed(3));
  const met = (ok) => (ok ? "met" : "**not met**");
  const signed = (v) => `${v < 0 ? "−" : "+"}${Math.abs(v).toFixed(3)}`;
  console.log(
    `\nend-to-end encryption vs plain (${n.toLocaleString("en-US")} ticks in Node, ${browserN.toLocaleString("en-US")} in Chromium, ${rttN} round trips, ${rounds} rounds, medians; ${runtimes.map((r) => versions[r]).join(", ")})\n`,
  );
  console.log("| figure | runtime | plain | encrypted | encrypted vs plain | target |");
  console.log("|---|---|---|---|---|---|");
  for (const rt of runtimes) {
    const f = figures[rt];
    for (const mode of ["receive", "send"]) {
      const p = median(f[mode].plain);
      const e = median(f[mode].e2e);
      console.log(
        `| ${mode}, messages/s | ${versions[rt]} | ${fmt(p)} | ${fmt(e)} | ${(e / p).toFixed(2)}× | ≥ ${TARGETS[mode]}×: ${met(e / p >= TARGETS[mode])} |`,
      );
    }
    const p = median(f.rtt.plain);
    const e = median(f.rtt.e2e);
    const pm = median(f.rttMean.plain);
    const em = median(f.rttMean.e2e);
    console.log(
      `| round trip p50 (mean), ms (relay, 2 peers) | ${versions[rt]} | ${p.toFixed(3)} (${pm.toFixed(3)}) | ${e.toFixed(3)} (${em.toFixed(3)}) | ${signed(e - p)} ms (mean ${signed(em - pm)}) | ≤ +${TARGETS.addedRttMs} ms: ${met(e - p <= TARGETS.addedRttMs)} |`,
    );
  }
  if (chunk) {
    console.log(
      `| encryption chunk, KB gzip (script tag: ${chunk.files.join(", ") || "nothing"}) | Chromium | 0 | ${chunk.kb.toFixed(1)} | | ≤ ${TARGETS.chunkKB} KB: ${met(chunk.kb <= TARGETS.chunkKB)} |`,
    );
    console.log(`\nA plain script-tag page fetched ${fetched.plain.join(", ")}; an encrypted one also ${chunk.files.join(", ")}.`);
  }
  if (runtimes.includes("chromium")) {
    console.log("The Chromium page is cross-origin isolated (COOP + COEP), so its clock ticks in 5 µs, not 0.1 ms.");
  }
  if (runtimes.includes("node22-noble")) {
    console.log(
      "Node with sodium-native installed (an optional peer dependency) seals and opens with libsodium; without it, with @noble/ciphers (the node22-noble rows: the same build copied outside node_modules, where sodium-native does not resolve).",
    );
  }
  process.exit(0);
}

if (opt.client) {
  const spec = JSON.parse(opt.client);
  const mc = await import(path.join(spec.distDir, "metachannel.mjs"));
  const { runE2eClient } = await import("./e2e-client.mjs");
  const result = await runE2eClient(mc, spec);
  // The chunk instance metachannel.mjs loaded: which implementation sealed and opened.
  if (result.encrypted) result.cipher = (await import(path.join(spec.distDir, "metachannel-e2e.mjs"))).cipherName();
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
} else {
  await main();
}
