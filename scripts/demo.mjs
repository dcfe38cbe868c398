// npm run demo: the metachannel demo, a real metapage with three metaframes and a Node worker
// on one WebSocket channel.
//
//   node scripts/demo.mjs [--port N] [--no-build]   serve the demo until Ctrl-C
//   node scripts/demo.mjs --check                   load it in headless Chromium, check that
//                                                   messages flow in every frame, rotate the URL,
//                                                   check again, save docs/demo.png; exit 0 / 1
//
// What runs:
//   relay        relay/server.js on PORT (default 8787; the next free port if busy)
//   page server  PORT+1 (or a free port): demo/ at "/", dist/ at "/dist/",
//                node_modules/@metapages/ at "/node_modules/@metapages/", plus
//                GET  /api/demo    -> { url }  the current channel URL (with its key once the
//                                              page has made one)
//                POST /api/rotate  -> { url }  rotates the channel (old sockets get 4001), stops
//                                              the worker; the new URL has no key yet
//                POST /api/worker  { url }     the page's keyed URL (the relay's URL + #k=, made
//                                  -> { url }  with withNewKey): (re)starts the worker on it
//   worker       demo/worker/progress-worker.mjs with WEBSOCKET_URL set: progress + quotes + chat bot
//
// End-to-end encrypted by default: the relay mints keyless URLs and never sees a key; the page
// adds one (demo/app.js) and hands it to this server for the worker, as a metapage host injects
// a container's WEBSOCKET_URL.
// Channel URLs are secrets: this script never prints one (only ws://host/ch/…).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { root, ensurePackages, ensureNodeModules, CHROMIUM, CHROMIUM_ARGS } from "./toolchain.mjs";

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
function option(name) {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i === -1) return undefined;
  return argv[i].includes("=") ? argv[i].slice(name.length + 1) : argv[i + 1];
}

const CHECK = flag("--check");
const HOST = "127.0.0.1";
const WORKER = path.join(root, "demo/worker/progress-worker.mjs");
// --screenshot PATH: where --check saves the page (npm test writes to test-results/; the
// README's picture is docs/demo.png, the default).
const SCREENSHOT = path.resolve(root, option("--screenshot") || "docs/demo.png");

function log(line) {
  console.log(`metachannel demo: ${line}`);
}

/** ws://host/ch/… — what may be shown of a channel URL. */
function redact(url) {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/ch/…`;
  } catch {
    return "(invalid url)";
  }
}

function requestedPort() {
  const raw = option("--port") ?? process.env.PORT;
  if (raw === undefined || raw === "") return CHECK ? 0 : 8787;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`metachannel demo: bad port ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

/** Runs start(port); if that port is taken, start(0) (any free port). */
async function withFallback(port, start, what) {
  try {
    return await start(port);
  } catch (err) {
    if (err.code !== "EADDRINUSE" || port === 0) throw err;
    log(`port ${port} is busy, ${what} uses a free port instead`);
    return start(0);
  }
}

// --- set-up ---------------------------------------------------------------------------------

ensurePackages("build", ...(CHECK ? ["browser"] : []));
ensureNodeModules();
if (!flag("--no-build")) {
  const { build } = await import("./build.mjs");
  await build();
}
const { startRelay } = await import("../relay/server.js");
const { serveStatic } = await import("./static-server.mjs");

// --- relay + channel ------------------------------------------------------------------------

const port = requestedPort();
const relay = await withFallback(port, (p) => startRelay({ port: p, host: HOST }), "the relay");
let channel = await relay.createChannel(); // { url, token }: the relay's URL, no key
/** The channel URL with the key the page made (POST /api/worker), null until then. */
let keyedUrl = null;
let rotations = 0;

// --- the worker -----------------------------------------------------------------------------

let worker = null;
let workerRestarts = 0;
let stopping = false;

function pipeLines(stream, prefix, write) {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk) => {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop();
    for (const line of lines) if (line.trim()) write(`${prefix}${line}`);
  });
}

function startWorker() {
  const child = spawn(process.execPath, [WORKER], {
    cwd: root,
    env: { ...process.env, WEBSOCKET_URL: keyedUrl },
    stdio: ["ignore", "pipe", "pipe", "ipc"], // ipc: the worker exits if this process dies
  });
  child.startedFor = channel.token;
  pipeLines(child.stdout, "  [worker] ", (l) => console.log(l));
  pipeLines(child.stderr, "  [worker] ", (l) => console.error(l));
  child.on("exit", (code, signal) => {
    if (worker !== child) return; // replaced on purpose (rotation)
    worker = null;
    if (stopping) return;
    // It died on its own: bring it back on the current URL. (Ctrl-C reaches the worker too;
    // by the time this runs, shutdown has begun and nothing is restarted.)
    setTimeout(() => {
      if (!stopping && !worker && keyedUrl) {
        log(`worker exited (${signal ?? `code ${code}`}), restarting it`);
        workerRestarts++;
        worker = startWorker();
      }
    }, 1000).unref();
  });
  return child;
}

/** Stops the worker: after `graceMs` (time to exit on its own) SIGTERM, 2 s later SIGKILL. */
function stopWorker(graceMs = 0) {
  const child = worker;
  worker = null;
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", resolve);
    setTimeout(() => {
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 2000).unref();
    }, graceMs).unref();
  });
}

// The worker starts once the page has made the channel's key (POST /api/worker).

// --- page server: static files + /api ---------------------------------------------------------

const files = await serveStatic({
  mounts: {
    "/": path.join(root, "demo"),
    "/dist/": path.join(root, "dist"),
    "/node_modules/@metapages/": path.join(root, "node_modules/@metapages"),
  },
  host: HOST,
  port: 0,
});

let rotating = null;
async function rotate() {
  // One rotation at a time; a second click while one runs gets the same answer.
  rotating ??= (async () => {
    const next = await relay.rotate(channel.token); // old sockets (frames and worker) get 4001
    channel = next;
    keyedUrl = null; // a new token gets a new key, made by the page
    rotations++;
    // The worker's socket got 4001 too: it reports REVOKED and exits by itself (it has no
    // inputs to learn the new URL from); it is restarted when the page sends the new keyed URL.
    await stopWorker(1500);
    log(`URL rotated (#${rotations}): now ${redact(channel.url)}; the worker restarts with the page's new key`);
  })().finally(() => {
    rotating = null;
  });
  await rotating;
}

function sendJson(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
  res.end(JSON.stringify(body));
}

function demoInfo() {
  return { url: keyedUrl ?? channel.url, rotations, workerRestarts, relay: relay.baseUrl };
}

/** POST /api/worker: the page's keyed URL for the current channel; (re)starts the worker on it. */
async function setWorkerUrl(body) {
  const url = typeof body?.url === "string" ? body.url : "";
  if (!url.startsWith(`${channel.url}#k=`)) return false; // another channel's URL, or no key
  if (url !== keyedUrl) {
    keyedUrl = url;
    await stopWorker();
    worker = startWorker();
    log(`worker started on ${redact(channel.url)} (end-to-end encrypted)`);
  }
  return true;
}

function readJson(req) {
  return new Promise((resolve) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (d) => {
      if (text.length < 16384) text += d;
    });
    req.on("end", () => {
      try {
        resolve(JSON.parse(text));
      } catch {
        resolve(null);
      }
    });
  });
}

const page = http.createServer(async (req, res) => {
  const pathname = new URL(req.url, "http://x").pathname;
  try {
    if (pathname === "/api/demo" && req.method === "GET") return sendJson(res, 200, demoInfo());
    if (pathname === "/api/rotate" && req.method === "POST") {
      req.resume();
      await rotate();
      return sendJson(res, 200, demoInfo());
    }
    if (pathname === "/api/worker" && req.method === "POST") {
      if (!(await setWorkerUrl(await readJson(req)))) return sendJson(res, 400, { error: "expected { url }: the current channel's URL with #k=<key>" });
      return sendJson(res, 200, demoInfo());
    }
    if (pathname.startsWith("/api/")) return sendJson(res, 404, { error: "not found" });
  } catch (err) {
    console.error(`metachannel demo: ${req.method} ${pathname} failed: ${err.message}`);
    return sendJson(res, 500, { error: "internal error" });
  }
  // Everything else: the static server.
  const upstream = http.request({ host: HOST, port: files.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
    res.writeHead(up.statusCode, up.headers);
    up.pipe(res);
  });
  upstream.on("error", () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
});
await withFallback(
  port === 0 ? 0 : port + 1,
  (p) =>
    new Promise((resolve, reject) => {
      page.once("error", reject);
      page.listen(p, HOST, () => {
        page.off("error", reject);
        resolve();
      });
    }),
  "the page",
);
const pageUrl = `http://${HOST}:${page.address().port}/`;

async function shutdown() {
  if (stopping) return;
  stopping = true;
  await stopWorker();
  page.closeAllConnections?.();
  await Promise.all([new Promise((r) => page.close(() => r())), files.close(), relay.close()]);
}

// --- run --------------------------------------------------------------------------------------

if (!CHECK) {
  log(`open ${pageUrl}`);
  console.log(`  relay ${relay.baseUrl}, channel ${redact(channel.url)}; the worker starts once the page has made the channel's key`);
  console.log("  press Ctrl-C to stop");
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.on(sig, async () => {
      console.log("\nmetachannel demo: stopping…");
      await shutdown();
      process.exit(0);
    });
  }
} else {
  let code = 1;
  try {
    await check(pageUrl);
    code = 0;
  } catch (err) {
    console.error(`metachannel demo --check: FAILED: ${err.message}`);
  } finally {
    await shutdown();
  }
  process.exit(code);
}

// --- the check ----------------------------------------------------------------------------------

async function check(url) {
  const { chromium } = await import("playwright-core");
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), "metachannel-demo-"));
  const errors = [];
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: CHROMIUM_ARGS,
  });
  try {
    const pageObj = context.pages()[0] ?? (await context.newPage());
    pageObj.on("console", (msg) => {
      if (msg.type() === "error") errors.push(`console error: ${msg.text()}`);
    });
    pageObj.on("pageerror", (err) => errors.push(`page error: ${err.message}`));
    pageObj.on("requestfailed", (req) => {
      // Sockets closed on purpose (rotation) are not request failures; anything else is.
      if (req.resourceType() !== "websocket") errors.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ""}`);
    });
    pageObj.on("response", (res) => {
      if (res.status() >= 400) errors.push(`HTTP ${res.status()} for ${new URL(res.url()).pathname}`);
    });
    const failIfErrors = () => {
      if (errors.length) throw new Error(errors.join("\n  "));
    };

    log(`--check: loading ${url} in headless Chromium`);
    await pageObj.goto(url, { waitUntil: "load" });

    // Every frame open, and every frame received messages.
    const flowing = async (label, sinceRotation, baseline = {}) => {
      const deadline = Date.now() + 30000;
      for (;;) {
        failIfErrors();
        const s = await pageObj.evaluate(() => window.__demo?.snapshot());
        const ok =
          s &&
          s.rotations >= sinceRotation &&
          ["chat", "ticker", "progress"].every((id) => {
            const st = s.frames[id];
            return st && st.state === "open" && st.generation >= sinceRotation && st.received > (baseline[id] ?? 0);
          });
        if (ok) {
          log(`--check: ${label}: ${["chat", "ticker", "progress"].map((id) => `${id} open, ${s.frames[id].received} msgs`).join("; ")}`);
          return s;
        }
        if (Date.now() > deadline) throw new Error(`${label}: messages did not flow in every frame within 30 s: ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };

    await flowing("before rotation", 0);
    const encrypted = async (label) => {
      const s = await pageObj.evaluate(() => window.__demo.snapshot());
      const plain = ["chat", "ticker", "progress"].filter((id) => s.frames[id]?.encrypted !== true);
      if (!s.encrypted || plain.length)
        throw new Error(`${label}: not end-to-end encrypted (page ${s.encrypted}, frames not encrypted: ${plain.join(", ") || "none"})`);
      log(`--check: ${label}: the page's URL has a key, every frame's channel is encrypted`);
    };
    await encrypted("before rotation");

    // Round trip through the chat: type a message, see it come back from the relay.
    const chat = pageObj.frameLocator("#frame-chat iframe");
    await chat.locator("#compose input").fill("Hello from the --check run");
    await chat.locator("#compose input").press("Enter");
    await chat.locator(".msg.mine .text", { hasText: "Hello from the --check run" }).first().waitFor({ timeout: 10000 });
    log("--check: chat message made the round trip");

    // Rotate: old sockets get 4001, the page hands every frame the new URL, the worker restarts.
    const before = await pageObj.evaluate(() => window.__demo.snapshot());
    await pageObj.click("#rotate");
    const baseline = Object.fromEntries(Object.entries(before.frames).map(([id, st]) => [id, st.received]));
    await flowing("after rotation", before.rotations + 1, baseline);
    await encrypted("after rotation");

    // Let the tables, bars and logs fill in for the picture, and the toast go away.
    await pageObj.waitForTimeout(6000);
    await pageObj.waitForSelector("#toast", { state: "hidden", timeout: 10000 });
    failIfErrors();
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await pageObj.screenshot({ path: SCREENSHOT });
    log(`--check: screenshot saved to ${path.relative(root, SCREENSHOT)}`);
    failIfErrors();
    log("--check: OK");
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}
