// Shared by the Node suites. Tests import the BUILT package (dist/), the way users do.
import { fileURLToPath } from "node:url";
import path from "node:path";
import os from "node:os";
import { mkdtempSync, writeFileSync } from "node:fs";
import { exec } from "../tools.mjs";
import { startRelay } from "../../relay/server.js";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Which runtime flavour scripts/test.mjs runs us under: node20-ws, node20-undici, node22. */
export const flavor = process.env.MC_NODE_FLAVOR || "node20-ws";
export const distDir = process.env.MC_DIST_DIR || path.join(root, "dist");

/** Runs `source` (an ES module) in a fresh process with this process's node and flags; resolves { code, signal, stdout, stderr, ms }. */
export function runScript(source, { env = {}, timeoutMs = 15000 } = {}) {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "mc-script-")), "script.mjs");
  writeFileSync(file, source);
  return exec(process.execPath, [...process.execArgv.filter((a) => !a.startsWith("--test")), file], { env, timeoutMs });
}

export const mc = await import(path.join(distDir, "metachannel.mjs"));
// The full core, preloaded, so that the suites can make reliable channels synchronously.
// MC_CORE=lite: only the plain core (what ready() loads; scripts/test.mjs runs some suites so).
await mc.ready(process.env.MC_CORE === "lite" ? {} : { core: "full" });

/** A relay for one test; closed by the returned dispose (use with t.after). */
export async function relayFor(t, options = {}) {
  const relay = await startRelay({ port: 0, ...options });
  t.after(() => relay.close());
  return relay;
}

/** A channel that is disposed after the test. */
export function channelFor(t, url, options) {
  const ch = new mc.Channel(url, options);
  t.after(() => ch.dispose());
  return ch;
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` until it is truthy; rejects with `what` after timeoutMs. */
export async function waitFor(cond, { timeoutMs = 5000, what = "condition", intervalMs = 5 } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Resolves with the args of the next `event` on `ch` (rejects after timeoutMs). */
export function nextEvent(ch, event, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = ch.on(event, (...args) => {
      clearTimeout(timer);
      off();
      // "message" listeners get (data, meta); every other event one argument.
      resolve(event === "message" ? args : args[0]);
    });
  });
}

/** Collects every `message` of `ch` into an array (data only). */
export function collect(ch, event = "message") {
  const out = [];
  ch.on(event, (d) => out.push(d));
  return out;
}

/**
 * close() where dropping queued messages is an allowed outcome (a close from a random state):
 * then it rejects, and only with CLOSED carrying the number dropped; anything else fails.
 */
export function closeAllowingDrops(ch, code, reason) {
  return ch.close(code, reason).catch((err) => {
    if (!(err instanceof mc.MetaChannelError && err.code === "CLOSED" && Number.isInteger(err.detail) && err.detail > 0)) throw err;
  });
}
