// The package in the bundlers people use, from the `npm pack` tarball: one tiny app (app/)
// per bundler, built (or served) the way its users do, opened in headless Chromium, where it
// creates a channel on the dev relay (POST /api/channels), round-trips a typed message between
// two channels and writes the result into the page. Per app: the build succeeds, its output has
// no warning that mentions metachannel, the round trip happens, and the page logs no console
// error and throws nothing. Printed per app: where the wasm came from (a file the bundler
// emitted, or the inline copy: the fallback chunk metachannel-wasm.mjs), the bytes of the
// output (raw and gzip) and the build time.
// One file over 500 lines: one runner for every bundler: the tarball, the relay, Chromium and the
// checks are shared; each bundler's app is in app/.
//
// The bundlers are pinned in tools/package.json + package-lock.json and installed once into
// .cache/bundlers/ (again only when the lock changes); each run extracts the fresh tarball
// into each app's node_modules/metachannel, as `npm install <tarball>` lays it out.
//
//   node tests/bundlers/run.mjs [name…]   (names: vite-build vite-dev webpack esbuild-esm esbuild-iife
//                                          rollup rollup-dir vite-inline webpack-inline rollup-inline
//                                          react19-dev react19-build react18-dev react18-build svelte
//                                          vue parcel react-weight; MC_KEEP_TMP=1 keeps the apps)
//
// The framework apps (react-app/, svelte-app/, vue-app/) are their own folders: React 18 and 19
// under StrictMode in strict TypeScript (metachannel/react; sockets counted at the relay, see
// reactChecks), Svelte 5 and Vue 3 with the framework-neutral stores.
// Prints TAP-ish lines, then "# pass N" / "# fail N" and "N passed, N failed"; exit 1 on failure.
import { spawn } from "node:child_process";
import { exec, npmPack, tap } from "../tools.mjs";
import { createHash } from "node:crypto";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { startRelay } from "../../relay/server.js";
import { serveStatic } from "../../scripts/static-server.mjs";
import { CHROMIUM, CHROMIUM_ARGS } from "../../scripts/toolchain.mjs";

const { report, end } = tap();

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const cache = path.join(root, ".cache/bundlers");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const bin = (p) => path.join(cache, "node_modules", p);
/**
 * The bundlers whose output must hold no base64 copy of the wasm (they copy the files
 * `new URL("./x.wasm", import.meta.url)` names): webpack sets the "webpack" export condition
 * (metachannel.files.mjs, no fallback); Parcel resolves through the "module" field
 * (metachannel.files.mjs too: Parcel reads "exports" only with packageExports on); Vite defines
 * import.meta.env.MODE, which makes the fallback branch of metachannel.mjs dead code there
 * (docs/architecture.md). The "-files" apps are esbuild and Rollup with the README's two
 * changes (the metachannel-files condition, the .wasm files copied beside the bundle).
 */
const COPY_TOOLS = ["webpack", "vite", "parcel"];
/** Markers of each client's code (string literals that survive minifying): a plain page's JS must hold none. */
const CLIENT_MARKERS = {
  ChatClient: "ChatClient(target)",
  LiveDataClient: "LiveDataClient(target)",
  MetaframeClient: "SetupIframeClientRequest",
  bindMetaframe: "bindMetaframe(client)",
};
/**
 * Markers of the package's Node-only path (reading the .wasm with fs, js/loader.ts): a web
 * build that resolves the package with the "browser" condition gets the browser build, which
 * holds neither (Parcel takes metachannel.bundler.mjs through the "module" field: its own
 * minifier drops them).
 */
const NODE_MARKERS = ["node:fs", "getBuiltinModule"];
/** The apps that run tests/bundlers/app/main.js, whose pages get the network checks and the reliable round. */
const PLAIN_APP = (app) => !app.source && !app.serve;
/**
 * Marks the inline copy: the first 9 bytes of the gzip scripts/build.mjs writes (gzip -9, no
 * time stamp), in base64; the inline copy is the wasm gzipped, then base64 (js/loader.ts decodeInline).
 */
const WASM_BASE64_HEAD = "H4sIAAAAAAAC";

// ------------------------------------------------------------------ the apps
// Each: how its users build it (the command, and only the config its users write anyway), where
// the output goes and how the page loads the bundle. `extra` names anything beyond "install the
// package and import it" that the app needed; it goes into the report.
// (An empty icon: else Chromium asks for /favicon.ico and logs the 404 as a console error.)
const HEAD = '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>metachannel</title>';
const MODULE_PAGE = (src) => `${HEAD}<pre id="out">loading…</pre><script type="module" src="${src}"></script>\n`;
/** The Svelte and Vue apps' page: their main.js mounts the app (which renders #out) into #app. */
const MOUNT_PAGE = `${HEAD}<div id="app"></div><script type="module" src="/main.js"></script>\n`;
const CLASSIC_PAGE = (src) => `${HEAD}<pre id="out">loading…</pre><script src="${src}" defer></script>\n`;
const ROLLUP_CONFIG = (output, resolve = "{ browser: true }") =>
  `import { nodeResolve } from "@rollup/plugin-node-resolve";\n\nexport default {\n  input: "main.js",\n  output: ${output},\n  plugins: [nodeResolve(${resolve})],\n};\n`;

// webpack's zero-config layout: src/index.js in, dist/main.js out, dist/index.html by hand.
function webpackLayout(dir) {
  mkdirSync(path.join(dir, "src"));
  copyFileSync(path.join(dir, "main.js"), path.join(dir, "src/index.js"));
  rmSync(path.join(dir, "main.js"));
}

const APPS = [
  {
    name: "vite-build",
    tool: "vite",
    label: "Vite (vite build)",
    build: [bin("vite/bin/vite.js"), "build"],
    out: "dist",
    extra: "nothing",
  },
  {
    name: "vite-dev",
    tool: "vite",
    label: "Vite (dev server)",
    serve: (port) => [bin("vite/bin/vite.js"), "--host", "127.0.0.1", "--port", String(port), "--strictPort"],
    extra: "nothing",
  },
  {
    name: "webpack",
    tool: "webpack",
    label: "webpack 5 + webpack-cli (webpack --mode production)",
    layout: webpackLayout,
    build: [bin("webpack-cli/bin/cli.js"), "--mode", "production"],
    out: "dist",
    page: ["index.html", CLASSIC_PAGE("main.js")],
    extra: "nothing",
  },
  {
    name: "esbuild-esm",
    tool: "esbuild",
    label: "esbuild --bundle --format=esm",
    build: [bin("esbuild/bin/esbuild"), "main.js", "--bundle", "--format=esm", "--outfile=out/main.js"],
    out: "out",
    page: ["index.html", MODULE_PAGE("main.js")],
    extra: "nothing",
  },
  {
    name: "esbuild-iife",
    tool: "esbuild",
    label: "esbuild --bundle (default IIFE)",
    build: [bin("esbuild/bin/esbuild"), "main.js", "--bundle", "--outfile=out/main.js"],
    out: "out",
    page: ["index.html", CLASSIC_PAGE("main.js")],
    extra: "nothing",
  },
  {
    // The usual config: nodeResolve() and output.file. Without the "browser" condition the
    // package resolves to its inline entry (the wasm in the bundle, no dynamic import).
    name: "rollup",
    tool: "rollup",
    label: "Rollup + @rollup/plugin-node-resolve (nodeResolve(), output.file)",
    files: { "rollup.config.mjs": ROLLUP_CONFIG('{ file: "out/main.js", format: "es" }', "") },
    build: [bin("rollup/dist/bin/rollup"), "-c"],
    out: "out",
    page: ["index.html", MODULE_PAGE("main.js")],
    extra: "nothing",
    noBrowserCondition: true, // the one app whose resolver sets no "browser" condition
  },
  {
    name: "rollup-browser",
    tool: "rollup",
    label: "Rollup + @rollup/plugin-node-resolve (nodeResolve({ browser: true }), output.file)",
    files: { "rollup.config.mjs": ROLLUP_CONFIG('{ file: "out/main.js", format: "es", inlineDynamicImports: true }') },
    build: [bin("rollup/dist/bin/rollup"), "-c"],
    out: "out",
    page: ["index.html", MODULE_PAGE("main.js")],
    extra:
      "output.inlineDynamicImports: true (with the browser condition and output.file alone Rollup refuses the fallback chunk: see the rollup-file-alone check)",
  },
  {
    name: "rollup-dir",
    tool: "rollup",
    label: "Rollup + @rollup/plugin-node-resolve (output.dir)",
    files: { "rollup.config.mjs": ROLLUP_CONFIG('{ dir: "out", format: "es" }') },
    build: [bin("rollup/dist/bin/rollup"), "-c"],
    out: "out",
    page: ["index.html", MODULE_PAGE("main.js")],
    extra: "nothing (output.dir)",
  },
  // esbuild and Rollup as the README tells their users to get the file-based build: the
  // metachannel-files condition, and the two .wasm files copied beside the bundle.
  {
    name: "esbuild-files",
    tool: "esbuild",
    label: "esbuild --bundle --minify --format=esm --conditions=metachannel-files, the .wasm files and the encryption chunk copied",
    build: [bin("esbuild/bin/esbuild"), "main.js", "--bundle", "--minify", "--format=esm", "--conditions=metachannel-files", "--outfile=out/main.js"],
    copyWasm: "out",
    out: "out",
    page: ["index.html", MODULE_PAGE("main.js")],
    filesBuild: true,
    extra: "--conditions=metachannel-files; cp node_modules/metachannel/dist/*.wasm node_modules/metachannel/dist/metachannel-e2e.mjs out/",
  },
  {
    name: "esbuild-iife-files",
    tool: "esbuild",
    label: "esbuild --bundle --conditions=metachannel-files (IIFE), the .wasm files and the encryption chunk copied",
    build: [bin("esbuild/bin/esbuild"), "main.js", "--bundle", "--conditions=metachannel-files", "--outfile=out/main.js"],
    copyWasm: "out",
    out: "out",
    page: ["index.html", CLASSIC_PAGE("main.js")],
    filesBuild: true,
    extra: "--conditions=metachannel-files; cp node_modules/metachannel/dist/*.wasm node_modules/metachannel/dist/metachannel-e2e.mjs out/",
  },
  {
    name: "rollup-files",
    tool: "rollup",
    label: 'Rollup + nodeResolve({ browser: true, exportConditions: ["metachannel-files"] }), the .wasm files and the encryption chunk copied',
    // output.file: metachannel.files.mjs imports no chunk (the encryption chunk is a file copied beside the bundle).
    files: {
      "rollup.config.mjs": ROLLUP_CONFIG('{ file: "out/main.js", format: "es" }', '{ browser: true, exportConditions: ["metachannel-files"] }'),
    },
    build: [bin("rollup/dist/bin/rollup"), "-c"],
    copyWasm: "out",
    out: "out",
    page: ["index.html", MODULE_PAGE("main.js")],
    filesBuild: true,
    extra: 'exportConditions: ["metachannel-files"]; cp node_modules/metachannel/dist/*.wasm node_modules/metachannel/dist/metachannel-e2e.mjs out/',
  },
  // metachannel/inline: the wasm inside the JS, nothing to serve beside it.
  {
    name: "vite-inline",
    tool: "vite",
    label: "Vite (vite build), metachannel/inline",
    inline: true,
    build: [bin("vite/bin/vite.js"), "build"],
    out: "dist",
    extra: "nothing",
  },
  {
    name: "webpack-inline",
    tool: "webpack",
    label: "webpack 5 (webpack --mode production), metachannel/inline",
    inline: true,
    layout: webpackLayout,
    build: [bin("webpack-cli/bin/cli.js"), "--mode", "production"],
    out: "dist",
    page: ["index.html", CLASSIC_PAGE("main.js")],
    extra: "nothing",
  },
  {
    name: "rollup-inline",
    tool: "rollup",
    label: "Rollup + @rollup/plugin-node-resolve (output.file alone), metachannel/inline",
    inline: true,
    files: { "rollup.config.mjs": ROLLUP_CONFIG('{ file: "out/main.js", format: "es" }') },
    build: [bin("rollup/dist/bin/rollup"), "-c"],
    out: "out",
    page: ["index.html", MODULE_PAGE("main.js")],
    extra: "nothing",
  },
  // Frameworks, from their own folders: React 18 and 19 (strict TypeScript, StrictMode, the
  // hooks of metachannel/react) under the dev server and in a production build, checked by
  // reactChecks (sockets counted at the relay); Svelte and Vue round-tripping through the
  // framework-neutral stores.
  ...[19, 18].flatMap((react) => [
    {
      name: `react${react}-dev`,
      tool: "vite",
      label: `Vite dev server + React ${react} (StrictMode, strict TypeScript), metachannel/react`,
      source: "react-app",
      react,
      serve: (port) => [bin("vite/bin/vite.js"), "--host", "127.0.0.1", "--port", String(port), "--strictPort"],
      check: reactChecks,
      extra: "@vitejs/plugin-react",
    },
    {
      name: `react${react}-build`,
      tool: "vite",
      label: `Vite build + React ${react} (StrictMode, strict TypeScript), metachannel/react`,
      source: "react-app",
      react,
      build: [bin("vite/bin/vite.js"), "build"],
      out: "dist",
      check: reactChecks,
      extra: "@vitejs/plugin-react",
    },
  ]),
  ...[
    ["svelte", "Svelte 5", "@sveltejs/vite-plugin-svelte", "Svelte stores"],
    ["vue", "Vue 3", "@vitejs/plugin-vue", "Vue refs"],
  ].map(([name, framework, plugin, as]) => ({
    name,
    tool: "vite",
    label: `Vite build + ${framework} (${plugin}), channelStore/messagesStore as ${as}`,
    source: `${name}-app`,
    files: { "index.html": MOUNT_PAGE },
    build: [bin("vite/bin/vite.js"), "build"],
    out: "dist",
    extra: plugin,
  })),
  {
    name: "parcel",
    tool: "parcel",
    label: "Parcel 2 (parcel build index.html)",
    build: [bin("parcel/lib/bin.js"), "build", "index.html", "--dist-dir", "dist", "--no-cache"],
    out: "dist",
    extra: "nothing",
  },
];

// ------------------------------------------------------------------ TAP

// biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour escapes (ESC [ ... m)
const plain = (text) => String(text).replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");

/**
 * The warnings in a tool's output that mention this package: a paragraph (or, for one-line
 * formats, a line) that says warning/critical/⚠ and names metachannel.
 */
function packageWarnings(output) {
  const text = plain(output);
  const blocks = text.split(/\n\s*\n/);
  return blocks.filter((b) => /warn|critical|⚠|▲/i.test(b) && /metachannel/i.test(b)).map((b) => b.trim());
}

function anyWarnings(output) {
  return plain(output)
    .split("\n")
    .filter((l) => /warn|critical|⚠|▲/i.test(l))
    .map((l) => l.trim());
}

/** Bytes of a built app: every file but source maps, raw and gzip. */
function outputBytes(dir) {
  let raw = 0;
  let gz = 0;
  let wasm = 0;
  const files = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.endsWith(".map")) {
        const data = readFileSync(p);
        raw += data.length;
        gz += gzipSync(data).length;
        if (e.name.endsWith(".wasm")) wasm += data.length;
        files.push(`${path.relative(dir, p)} ${data.length}`);
      }
    }
  };
  walk(dir);
  return { raw, gz, wasm, files };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// ------------------------------------------------------------------ set-up
/**
 * The pinned bundlers in .cache/bundlers/ (and React 18 in .cache/bundlers/react18/), each
 * installed with `npm ci` when its lock changed.
 */
async function ensureTools() {
  let installed = false;
  let ms = 0;
  for (const [from, to, probe] of [
    [path.join(here, "tools"), cache, "vite/bin/vite.js"],
    [path.join(here, "tools/react18"), path.join(cache, "react18"), "react/package.json"],
  ]) {
    const stamp = createHash("sha256")
      .update(readFileSync(path.join(from, "package.json")))
      .update(readFileSync(path.join(from, "package-lock.json")))
      .digest("hex");
    const stampFile = path.join(to, ".installed");
    if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp && existsSync(path.join(to, "node_modules", probe))) continue;
    mkdirSync(to, { recursive: true });
    rmSync(path.join(to, "node_modules"), { recursive: true, force: true });
    copyFileSync(path.join(from, "package.json"), path.join(to, "package.json"));
    copyFileSync(path.join(from, "package-lock.json"), path.join(to, "package-lock.json"));
    console.log(`# installing ${path.relative(root, to)} (npm ci; once, or when ${path.relative(root, from)} changes)`);
    const r = await exec(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: to, timeoutMs: 600000 });
    if (r.code !== 0) return { installed, error: r.stdout + r.stderr };
    writeFileSync(stampFile, stamp);
    installed = true;
    ms += r.ms;
  }
  return { installed, ms };
}

function toolVersion(name) {
  return JSON.parse(readFileSync(bin(`${name}/package.json`), "utf8")).version;
}

/** A fresh app folder: the app's sources, its config, and the tarball as node_modules/metachannel. */
async function makeApp(work, app, tarball) {
  const dir = path.join(work, app.name);
  mkdirSync(path.join(dir, "node_modules/metachannel"), { recursive: true });
  if (app.source) cpSync(path.join(here, app.source), dir, { recursive: true });
  else for (const f of ["index.html", "main.js"]) copyFileSync(path.join(here, "app", f), path.join(dir, f));
  if (app.react === 18) {
    // React 18 beside the app (the cache one folder up holds React 19), as `npm install react@18` lays it out.
    mkdirSync(path.join(dir, "node_modules/@types"));
    for (const p of ["react", "react-dom", "@types/react", "@types/react-dom"]) {
      symlinkSync(path.join(cache, "react18/node_modules", p), path.join(dir, "node_modules", p), "dir");
    }
  }
  if (app.inline) {
    const main = path.join(dir, "main.js");
    const source = readFileSync(main, "utf8");
    const changed = source.replace('from "metachannel";', 'from "metachannel/inline";');
    if (changed === source) throw new Error('app/main.js: no `from "metachannel";` to point at metachannel/inline');
    writeFileSync(main, changed);
  }
  writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({ name: `metachannel-${app.name}-app`, private: true, type: "module", dependencies: { metachannel: "file:metachannel.tgz" } }, null, 2),
  );
  for (const [f, text] of Object.entries(app.files || {})) writeFileSync(path.join(dir, f), text);
  if (app.layout) app.layout(dir);
  const tar = await exec("tar", ["-xzf", tarball, "-C", path.join(dir, "node_modules/metachannel"), "--strip-components=1"]);
  if (tar.code !== 0) throw new Error(`tar: ${tar.stderr}`);
  return dir;
}

// ------------------------------------------------------------------ in the browser
/** Opens the page, waits for the app's result; what happened on the page and on the network. */
async function openApp(browser, url, { keep = false } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const { errors, consoleLines, responses } = watchPage(page);
  let status = null;
  let text = "";
  try {
    await page.goto(url, { waitUntil: "load", timeout: 30000 });
    await page.waitForSelector("#out[data-status]", { timeout: 30000 });
    status = await page.getAttribute("#out", "data-status");
    text = await page.textContent("#out");
  } catch (err) {
    errors.push(`the page did not finish: ${err.message.split("\n")[0]}`);
    text = await page.textContent("#out").catch(() => "");
  }
  await settled(responses);
  if (keep) return { status, text, errors, consoleLines, responses, page, context };
  await context.close();
  return { status, text, errors, consoleLines, responses };
}

/** A body that never comes (a response cut short) must not hang the run. */
function settled(responses) {
  return Promise.race([Promise.all(responses.map((r) => r.done)), new Promise((r) => setTimeout(r, 5000))]);
}

/** Records a page's console errors, uncaught exceptions and responses (with their bytes). */
function watchPage(page) {
  const errors = [];
  const consoleLines = [];
  const responses = [];
  page.on("console", (msg) => {
    const line = `[${msg.type()}] ${msg.text()}${msg.location()?.url ? ` (${msg.location().url})` : ""}`;
    consoleLines.push(line);
    if (msg.type() === "error") errors.push(`console.error ${line}`);
  });
  page.on("pageerror", (err) => errors.push(`uncaught ${err?.stack ? err.stack : err}`));
  page.on("requestfailed", (req) => responses.push({ url: req.url(), status: "failed", failure: req.failure()?.errorText }));
  page.on("response", (res) => {
    const entry = { url: res.url(), status: res.status(), type: res.headers()["content-type"] || "", wasm: false, inline: false, bytes: 0 };
    responses.push(entry);
    entry.done = res.body().then(
      (body) => {
        entry.bytes = body.length;
        entry.gz = gzipSync(body).length;
        entry.sha = createHash("sha256").update(body).digest("hex");
        entry.body = /javascript/.test(entry.type) ? body.toString("latin1") : null;
        entry.wasm = body.length >= 4 && body[0] === 0 && body[1] === 0x61 && body[2] === 0x73 && body[3] === 0x6d;
        entry.inline = /javascript/.test(entry.type) && body.includes(WASM_BASE64_HEAD);
      },
      () => {},
    );
  });
  return { errors, consoleLines, responses };
}

function wasmSource(responses) {
  const file = responses.find((r) => r.wasm && r.status === 200);
  const inline = responses.find((r) => r.inline && r.status === 200);
  if (file) return `file ${new URL(file.url).pathname}`;
  if (inline) return `inline copy (${new URL(inline.url).pathname})`;
  return "unknown";
}

// ------------------------------------------------------------------ one app
async function runApp(app, { work, tarball, browser, relay, summary }) {
  const dir = await makeApp(work, app, tarball);
  const label = `${app.name}: ${app.label}`;
  if (existsSync(path.join(dir, "tsconfig.json"))) {
    const tsc = await exec(process.execPath, [bin("typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: dir, timeoutMs: 120000 });
    report(tsc.code === 0, `${label}: tsc --strict passes (the app's own tsconfig.json)`, tsc.stdout + tsc.stderr);
  }
  let pageUrl;
  let buildOutput = "";
  let buildMs = 0;
  let cleanup = async () => {};
  let bytes = null;
  if (app.serve) {
    const port = await freePort();
    const started = Date.now();
    const child = spawn(process.execPath, app.serve(port), { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    cleanup = async () => {
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    };
    const up = await new Promise((resolve) => {
      const end = Date.now() + 60000;
      const poll = setInterval(() => {
        if (/ready in|Local:/.test(plain(out))) resolve(true);
        else if (child.exitCode !== null || Date.now() > end) resolve(false);
        else return;
        clearInterval(poll);
      }, 50);
    });
    buildMs = Date.now() - started;
    report(up, `${label}: the dev server starts`, out);
    if (!up) {
      await cleanup();
      return;
    }
    pageUrl = `http://127.0.0.1:${port}/`;
    const result = await (app.check || pageChecks)(app, label, { browser, relay, pageUrl, dir });
    buildOutput = out; // everything the server printed while the page loaded
    const warnings = packageWarnings(buildOutput);
    report(warnings.length === 0, `${label}: the dev server prints no warning about metachannel`, warnings.join("\n\n"));
    await cleanup();
    summary.push({ app, result, buildMs, bytes: null, otherWarnings: anyWarnings(buildOutput) });
    return;
  }

  // esbuild's bin is its native executable; the others are Node scripts.
  const [cmd, ...args] = app.build[0].endsWith("esbuild/bin/esbuild") ? app.build : [process.execPath, ...app.build];
  const b = await exec(cmd, args, { cwd: dir, timeoutMs: 180000, env: { NO_COLOR: "1", FORCE_COLOR: "0" } });
  buildOutput = b.stdout + b.stderr;
  buildMs = b.ms;
  report(b.code === 0, `${label}: builds`, `exit ${b.code}\n${buildOutput}`);
  if (b.code !== 0) {
    summary.push({
      app,
      result: null,
      buildMs,
      bytes: null,
      otherWarnings: [],
      failure: plain(buildOutput)
        .split("\n")
        .find((l) => /error/i.test(l)),
    });
    return;
  }
  const warnings = packageWarnings(buildOutput);
  report(warnings.length === 0, `${label}: the build prints no warning about metachannel`, warnings.join("\n\n"));
  const outDir = path.join(dir, app.out);
  if (app.page) writeFileSync(path.join(outDir, app.page[0]), app.page[1]);
  if (app.copyWasm) {
    // What the README tells esbuild and Rollup users: cp node_modules/metachannel/dist/*.wasm node_modules/metachannel/dist/metachannel-e2e.mjs out/
    for (const f of ["metachannel.wasm", "metachannel-lite.wasm", "metachannel-e2e.mjs"])
      copyFileSync(path.join(dir, "node_modules/metachannel/dist", f), path.join(dir, app.copyWasm, f));
  }
  bytes = outputBytes(outDir);
  if ((COPY_TOOLS.includes(app.tool) || app.filesBuild) && !app.name.endsWith("-inline")) {
    // These bundlers copy the .wasm files: the base64 fallback (metachannel-wasm.mjs, 160 KB)
    // has no business in their output, where the page would never fetch it.
    const named = (f) => f.replace(/ \d+$/, ""); // bytes.files: "<path> <bytes>"
    const inline = bytes.files.filter((f) => /\.m?js \d+$/.test(f) && readFileSync(path.join(outDir, named(f)), "latin1").includes(WASM_BASE64_HEAD));
    report(inline.length === 0, `${label}: the output holds no base64 copy of the wasm (only the .wasm files)`, `base64 wasm in: ${inline.join(", ")}`);
    if (app.filesBuild) {
      // The metachannel-files build loads the encryption chunk by URL (the file copied above): its code stays out of the bundle.
      const sealed = bytes.files.filter(
        (f) =>
          /\.m?js \d+$/.test(f) &&
          !named(f).endsWith("metachannel-e2e.mjs") &&
          readFileSync(path.join(outDir, named(f)), "latin1").includes("a text frame, not sealed"),
      );
      report(
        sealed.length === 0,
        `${label}: the encryption chunk is not in the bundle (metachannel-e2e.mjs beside it, loaded for a keyed URL only)`,
        `chunk code in: ${sealed.join(", ")}`,
      );
    }
  }
  const site = await serveStatic({ mounts: { "/": outDir } });
  try {
    pageUrl = `${site.url}/`;
    const result = await (app.check || pageChecks)(app, label, { browser, relay, pageUrl, dir });
    summary.push({ app, result, buildMs, bytes, otherWarnings: anyWarnings(buildOutput), weights: result?.weights ?? null });
  } finally {
    await site.close();
  }
  await cleanup();
}

async function pageChecks(app, label, { browser, relay, pageUrl, dir }) {
  const plainApp = PLAIN_APP(app);
  // The same app under a dev server (vite-dev): the keyed round too (the encryption chunk as the dev server serves it).
  const devApp = !!app.serve && !app.source;
  const result = await openApp(browser, `${pageUrl}?relay=${encodeURIComponent(relay.baseUrl)}`, { keep: plainApp || devApp });
  let roundTrip = null;
  try {
    roundTrip = result.status === "ok" ? JSON.parse(result.text) : null;
  } catch {
    roundTrip = null;
  }
  const ok =
    roundTrip &&
    roundTrip.ok === true &&
    roundTrip.n === 42 &&
    roundTrip.echo === "hello from a bundle" &&
    (roundTrip.pongs === undefined || roundTrip.pongs === 1);
  report(
    !!ok,
    `${label}: the page round-trips a typed message through the dev relay in Chromium`,
    `status ${result.status}: ${result.text}\n${result.errors.join("\n")}\n${result.consoleLines.join("\n")}`,
  );
  if (plainApp && result.page) {
    try {
      result.weights = await networkChecks(app, label, { result, relay, dir, ok });
    } finally {
      await settled(result.responses);
      await result.context.close();
    }
  }
  if (devApp && result.page) {
    try {
      const mc = await import(path.join(root, "dist/metachannel.mjs"));
      await encryptedRound(app, label, { page: result.page, responses: result.responses, relay, plain: [], fileBased: false, mc });
    } finally {
      await settled(result.responses);
      await result.context.close();
    }
  }
  report(
    result.errors.length === 0,
    `${label}: no console error or uncaught exception on the page`,
    `${result.errors.join("\n")}\nrequests:\n${result.responses.map((r) => `${r.status} ${r.url}`).join("\n")}`,
  );
  return result;
}

/** The JS and wasm a page fetched (status 200), from `responses`. */
const loadedCode = (responses) => responses.filter((r) => r.status === 200 && (/javascript|wasm/.test(r.type) || r.wasm));
const kb = (bytes) => (bytes / 1000).toFixed(1);

/**
 * The plain page's network log (issue 21): what it fetched for a plain connect() (printed, gzip
 * total); no full core and no client code it did not import (file-based builds: no base64 copy
 * either); then, in the same page, a plain and two reliable channels at once (the two racing
 * for the full core, one with presence) round-trip reliable messages and presence with a Node
 * peer, and the page fetches the rest exactly once (the full core: one .wasm, or nothing more
 * where it travels inside the JS).
 */
async function networkChecks(app, label, { result, relay, dir, ok }) {
  const { page, responses } = result;
  const sha = (f) =>
    createHash("sha256")
      .update(readFileSync(path.join(dir, "node_modules/metachannel/dist", f)))
      .digest("hex");
  const FULL = sha("metachannel.wasm");
  const LITE = sha("metachannel-lite.wasm");
  const plain = loadedCode(responses);
  const fullFiles = plain.filter((r) => r.sha === FULL);
  const inlineCopies = plain.filter((r) => r.inline);
  const clients = Object.entries(CLIENT_MARKERS)
    .filter(([, marker]) => plain.some((r) => r.body?.includes(marker)))
    .map(([name]) => name);
  const plainGz = plain.reduce((sum, r) => sum + r.gz, 0);
  const fileBased = (COPY_TOOLS.includes(app.tool) || app.filesBuild) && !app.inline;
  const where = fileBased ? "file" : "inline";
  console.log(
    `# ${app.name}: plain page loads ${plain.map((r) => `${new URL(r.url).pathname.slice(1)} ${kb(r.gz)}`).join(" + ")} = ${kb(plainGz)} KB gzip` +
      (inlineCopies.length ? " (the full core inside the JS, gzip + base64)" : ""),
  );
  report(
    ok && plain.some((r) => r.sha === LITE || r.inline),
    `${label}: the plain page fetched its core (${where === "file" ? "metachannel-lite.wasm" : "the inline copy"})`,
  );
  if (fileBased) {
    report(
      fullFiles.length === 0 && inlineCopies.length === 0,
      `${label}: the plain page fetched no full core (neither metachannel.wasm nor a base64 copy)`,
      plain.map((r) => `${r.url} ${r.bytes}`).join("\n"),
    );
  }
  report(clients.length === 0, `${label}: the plain page's JS holds no client code it did not import`, `found: ${clients.join(", ")}`);
  if (!app.noBrowserCondition) {
    const nodePaths = NODE_MARKERS.filter((marker) => plain.some((r) => r.body?.includes(marker)));
    report(
      nodePaths.length === 0,
      `${label}: the plain page's JS holds none of the package's Node-only paths (its browser build)`,
      `found: ${nodePaths.join(", ")}`,
    );
  }
  if (!ok) return { plainGz, reliableGz: null, where };

  // The reliable round, with a Node peer (the package built in this checkout: the same wire).
  const mc = await import(path.join(root, "dist/metachannel.mjs"));
  await mc.ready({ core: "full" });
  const { url } = await relay.createChannel();
  const peer = await mc.connect(url, { reliable: true, presence: { state: { who: "node" } } });
  try {
    await peer.opened();
    // Seen while the page's channels are up (they leave presence when the round disposes them).
    let sawPage = false;
    peer.on("presence", () => {
      if ([...peer.presence.values()].some((s) => s && s.who === "page")) sawPage = true;
    });
    const fromPage = new Promise((resolve) =>
      peer.onMessage("rel", (m, meta) => {
        if (m.n !== 41) return;
        resolve({ n: m.n, from: meta.from, seq: meta.seq });
        peer.send({ type: "rel", n: 42 });
      }),
    );
    const before = responses.length;
    const started = Date.now();
    let round = null;
    try {
      round = await page.evaluate(RELIABLE_ROUND, url);
    } catch (err) {
      round = { error: err.message.split("\n")[0] };
    }
    const got = await Promise.race([fromPage, new Promise((r) => setTimeout(() => r(null), 5000))]);
    await settled(responses);
    const added = loadedCode(responses.slice(before));
    const addedGz = added.reduce((sum, r) => sum + r.gz, 0);
    report(
      round &&
        !round.error &&
        round.got?.n === 42 &&
        round.got.from === peer.id &&
        round.presence === true &&
        got?.n === 41 &&
        got.from &&
        got.seq >= 1 &&
        sawPage,
      `${label}: then a plain and two reliable channels at once round-trip reliable messages and presence with a Node peer`,
      `${JSON.stringify(round)} node got ${JSON.stringify(got)}; page in node's presence: ${sawPage}`,
    );
    report(
      JSON.stringify(round?.states) === '["open","open","open"]',
      `${label}: the three channels (plain, reliable + presence, reliable) are open`,
      JSON.stringify(round?.states),
    );
    const addedFull = added.filter((r) => r.sha === FULL).length;
    report(
      fileBased ? addedFull === 1 && added.length === 1 : added.length === 0,
      `${label}: the reliable channels fetched the rest exactly once (${fileBased ? "metachannel.wasm, one request for two racing channels" : "nothing: it is in the JS"})`,
      added.map((r) => `${r.url} ${r.bytes}`).join("\n") || "nothing fetched",
    );
    console.log(
      `# ${app.name}: the first reliable channels fetched ${added.map((r) => `${new URL(r.url).pathname.slice(1)} ${kb(r.gz)}`).join(" + ") || "nothing more"}; page total with reliable + presence ${kb(plainGz + addedGz)} KB gzip (round ${Date.now() - started} ms)`,
    );
    await encryptedRound(app, label, { page, responses, relay, plain, fileBased, mc });
    return { plainGz, reliableGz: plainGz + addedGz, where };
  } finally {
    peer.dispose();
  }
}

/**
 * The reliable round, run in the page with the app's own `connect` (window.connect, set by
 * app/main.js): a plain and two reliable channels opened at once (the two racing for the full
 * core, one with presence), a reliable message each way with the test's Node peer (it answers
 * 41 with 42), and presence. Sent by the test, not bundled in the app, so that the app's page is
 * a plain channel's.
 */
const RELIABLE_ROUND = async (url) => {
  const { connect } = window;
  const [r1, r2, p] = await Promise.all([
    connect(url, { reliable: true, presence: { state: { who: "page" } } }),
    connect(url, { reliable: true }),
    connect(url),
  ]);
  await Promise.all([r1.opened(), r2.opened(), p.opened()]);
  const fromNode = new Promise((resolve) => r2.onMessage("rel", (m, meta) => meta.from !== r1.id && resolve({ n: m.n, from: meta.from })));
  r1.send({ type: "rel", n: 41 });
  const got = await Promise.race([fromNode, new Promise((resolve) => setTimeout(() => resolve(null), 10000))]);
  const end = Date.now() + 10000;
  const seesNode = () => [...r1.presence.values()].some((s) => s && s.who === "node");
  while (!seesNode() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const presence = seesNode();
  const states = [r1.state, r2.state, p.state];
  for (const ch of [r1, r2, p]) ch.dispose();
  return { got, presence, states };
};

/**
 * The encrypted round, likewise: two channels on a keyed URL the test made (withNewKey in Node,
 * so that the app imports nothing a plain page does not) round-trip a sealed message.
 */
const ENCRYPTED_ROUND = async (url) => {
  const { connect } = window;
  const [a, b] = await Promise.all([connect(url), connect(url)]);
  await Promise.all([a.opened(), b.opened()]);
  const got = new Promise((resolve) => b.onMessage("secret", (m) => resolve(m.n)));
  a.send({ type: "secret", n: 7 });
  const n = await Promise.race([got, new Promise((resolve) => setTimeout(() => resolve(null), 10000))]);
  const encrypted = [a.encrypted, b.encrypted];
  a.dispose();
  b.dispose();
  return { n, encrypted };
};

/**
 * End-to-end encryption in the same page: two channels on a keyed URL (withNewKey, made here so
 * that the app imports nothing more than a plain page) round-trip a sealed message. The plain
 * page fetched none of the encryption chunk where the build can keep it apart (the bundlers that
 * copy files, and the -files builds, which load it by URL: then it is metachannel-e2e.mjs itself),
 * and the keyed channels fetched it once.
 */
async function encryptedRound(app, label, { page, responses, relay, plain, fileBased, mc }) {
  const MARK = "a text frame, not sealed"; // a string of the chunk (js/e2e-chunk.ts)
  const { url } = await relay.createChannel();
  const keyed = mc.withNewKey(url);
  const before = responses.length;
  let round = null;
  try {
    round = await page.evaluate(ENCRYPTED_ROUND, keyed);
  } catch (err) {
    round = { error: err.message.split("\n")[0] };
  }
  await settled(responses);
  const added = loadedCode(responses.slice(before)).filter((r) => r.body?.includes(MARK));
  report(
    round?.n === 7 && JSON.stringify(round.encrypted) === "[true,true]",
    `${label}: then two channels on a keyed URL (withNewKey) round-trip a sealed message`,
    JSON.stringify(round),
  );
  if (fileBased) {
    const inPlain = plain.filter((r) => r.body?.includes(MARK));
    report(
      inPlain.length === 0 && added.length === 1 && (!app.filesBuild || new URL(added[0].url).pathname.endsWith("/metachannel-e2e.mjs")),
      `${label}: the plain page fetched no encryption code; the keyed channels fetched it once (${app.filesBuild ? "metachannel-e2e.mjs, the copied file" : "a chunk of the app, or an asset it imports by URL (Vite, webpack)"})`,
      `plain: ${inPlain.map((r) => r.url).join(", ") || "none"}; keyed: ${added.map((r) => r.url).join(", ") || "none"}`,
    );
  }
}

/**
 * The React apps: two tabs on one channel, each with three components using useChannel with
 * the same URL and options. At the relay: exactly one socket per tab; presence shows the other
 * tab; a chat from one tab reaches every component of the other exactly once; unmounting every
 * component of a tab closes its socket; mounting two again opens exactly one.
 */
async function reactChecks(app, label, { browser, relay, pageUrl, dir }) {
  const { url, token } = await relay.createChannel();
  const sockets = () => relay.clientCount(token);
  const context = await browser.newContext();
  const tabs = {};
  const seen = { errors: [], consoleLines: [], responses: [] };
  const step = async (what, fn) => {
    try {
      const detail = await fn();
      report(detail === true, `${label}: ${what}`, detail === true ? "" : String(detail));
      return detail === true;
    } catch (err) {
      report(false, `${label}: ${what}`, `${err.message}\n${seen.errors.join("\n")}\n${seen.consoleLines.join("\n")}`);
      return false;
    }
  };
  /** The data-* view of every component of a tab. */
  const peers = (name) =>
    tabs[name].$$eval("li.peer", (els) =>
      els.map((e) => ({ state: e.dataset.state, chats: JSON.parse(e.dataset.chats), peers: JSON.parse(e.dataset.peers), error: e.dataset.error })),
    );
  const waitPeers = async (name, count, pred, what) => {
    const end = Date.now() + 15000;
    for (;;) {
      const list = await peers(name);
      if (list.length === count && list.every(pred)) return list;
      if (Date.now() > end) throw new Error(`${what}: ${JSON.stringify(list)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const waitSockets = async (n, what) => {
    const end = Date.now() + 10000;
    while (sockets() !== n) {
      if (Date.now() > end) throw new Error(`${what}: ${sockets()} sockets at the relay, expected ${n}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const before = relay.connections;
  try {
    for (const name of ["ann", "ben"]) {
      const page = await context.newPage();
      const w = watchPage(page);
      tabs[name] = page;
      tabs[name].watch = w;
      await page.goto(`${pageUrl}?channel=${encodeURIComponent(url)}&name=${name}`, { waitUntil: "load", timeout: 30000 });
    }
    await step("two tabs, three components each: every component open, one socket per tab at the relay", async () => {
      await waitPeers("ann", 3, (p) => p.state === "open", "ann's components open");
      await waitPeers("ben", 3, (p) => p.state === "open", "ben's components open");
      await new Promise((r) => setTimeout(r, 300)); // a second socket would show by now
      return sockets() === 2 && relay.connections - before === 2 ? true : `${sockets()} sockets open, ${relay.connections - before} opened`;
    });
    await step("presence: every component of each tab shows the other tab", async () => {
      await waitPeers("ann", 3, (p) => JSON.stringify(p.peers) === '["ben"]', "ann sees ben");
      await waitPeers("ben", 3, (p) => JSON.stringify(p.peers) === '["ann"]', "ben sees ann");
      return true;
    });
    await step("a chat from one tab reaches every component of the other exactly once (useMessages, useMessage)", async () => {
      await tabs.ben.evaluate(() => window.app.send("hello"));
      await waitPeers("ann", 3, (p) => p.chats.length > 0, "ann's components got the chat");
      await new Promise((r) => setTimeout(r, 300)); // a duplicate would show by now
      const list = await peers("ann");
      const last = await tabs.ann.$$eval("li.peer", (els) => els.map((e) => e.dataset.last));
      return list.every((p) => JSON.stringify(p.chats) === '["ben:hello"]') && last.every((t) => t === "hello")
        ? true
        : `${JSON.stringify(list)} ${JSON.stringify(last)}`;
    });
    await step("unmounting every component of a tab closes its socket (the other tab's stays)", async () => {
      await tabs.ann.evaluate(() => window.app.setCount(0));
      await waitSockets(1, "after the last unmount");
      await new Promise((r) => setTimeout(r, 200));
      return sockets() === 1 ? true : `${sockets()} sockets`;
    });
    await step("mounting two components again opens exactly one socket", async () => {
      const opened = relay.connections;
      await tabs.ann.evaluate(() => window.app.setCount(2));
      await waitPeers("ann", 2, (p) => p.state === "open", "ann's components open again");
      await new Promise((r) => setTimeout(r, 300));
      return sockets() === 2 && relay.connections - opened === 1 ? true : `${sockets()} sockets open, ${relay.connections - opened} opened`;
    });
    await step("Suspense: the components' boundary suspends and resumes; the socket stays and a chat sent meanwhile arrives once", async () => {
      const opened = relay.connections;
      await tabs.ann.evaluate(() => window.app.suspend());
      await tabs.ann.waitForSelector("#fallback", { state: "visible", timeout: 10000 });
      await tabs.ben.evaluate(() => window.app.send("meanwhile"));
      await new Promise((r) => setTimeout(r, 300));
      const during = sockets();
      await tabs.ann.evaluate(() => window.app.resume());
      await tabs.ann.waitForSelector("#fallback", { state: "detached", timeout: 10000 });
      // (the components were remounted on a new channel after "hello": only what came since)
      const list = await waitPeers("ann", 2, (p) => p.chats.includes("ben:meanwhile"), "ann's components after resuming");
      await new Promise((r) => setTimeout(r, 300));
      const ok = during === 2 && sockets() === 2 && relay.connections === opened && list.every((p) => JSON.stringify(p.chats) === '["ben:meanwhile"]');
      return ok ? true : `${during} sockets while suspended, ${sockets()} after, ${relay.connections - opened} opened; ${JSON.stringify(await peers("ann"))}`;
    });
    if (app.serve) {
      await step("fast refresh: an edit of App.tsx re-renders both tabs (HMR) and opens no socket", async () => {
        const opened = relay.connections;
        const file = path.join(dir, "src/App.tsx");
        const source = readFileSync(file, "utf8");
        if (!source.includes('const EDIT = "v1";')) return 'src/App.tsx has no `const EDIT = "v1";` to edit';
        writeFileSync(file, source.replace('const EDIT = "v1";', 'const EDIT = "v2";'));
        for (const name of ["ann", "ben"]) await tabs[name].waitForSelector('ul[data-edit="v2"]', { timeout: 15000 });
        await waitPeers("ann", 2, (p) => p.state === "open", "ann's components after the refresh");
        await waitPeers("ben", 3, (p) => p.state === "open", "ben's components after the refresh");
        await new Promise((r) => setTimeout(r, 300));
        return sockets() === 2 && relay.connections === opened ? true : `${sockets()} sockets open, ${relay.connections - opened} opened`;
      });
    }
  } finally {
    for (const name of Object.keys(tabs)) {
      const w = tabs[name].watch;
      await settled(w.responses);
      seen.errors.push(...w.errors.map((e) => `${name}: ${e}`));
      seen.consoleLines.push(...w.consoleLines.map((l) => `${name}: ${l}`));
      if (name === "ann") seen.responses.push(...w.responses);
    }
    await context.close();
  }
  report(
    seen.errors.length === 0,
    `${label}: no console error or uncaught exception in either tab`,
    `${seen.errors.join("\n")}\n${seen.consoleLines.join("\n")}`,
  );
  return { status: "ok", text: "", ...seen };
}

/**
 * What metachannel/react adds to a page (esbuild --bundle --minify, gzip -9, React itself
 * left out): the hooks over the core, and with useMetaframeChannel over a metaframe that
 * already uses MetaframeClient and bindMetaframe. Printed figures (target: ≤ 2 KB each).
 */
async function reactWeight(work, tarball) {
  const HOOKS = "useChannel, useMessage, useMessages, usePresence";
  const entries = {
    "core.js": 'import { connect } from "metachannel";\nconsole.log(connect);\n',
    "hooks.js": `import { connect } from "metachannel";\nimport { ${HOOKS} } from "metachannel/react";\nconsole.log(connect, ${HOOKS});\n`,
    "frame.js": 'import { bindMetaframe, MetaframeClient } from "metachannel";\nconsole.log(bindMetaframe, MetaframeClient);\n',
    "frame-hooks.js": `import { bindMetaframe, MetaframeClient } from "metachannel";\nimport { ${HOOKS}, useMetaframeChannel } from "metachannel/react";\nconsole.log(bindMetaframe, MetaframeClient, ${HOOKS}, useMetaframeChannel);\n`,
  };
  const dir = await makeApp(work, { name: "react-weight", files: entries }, tarball);
  const gz = {};
  for (const f of Object.keys(entries)) {
    const b = await exec(bin("esbuild/bin/esbuild"), [f, "--bundle", "--minify", "--format=esm", "--external:react", `--outfile=out/${f}`], { cwd: dir });
    if (b.code !== 0) return report(false, `react-weight: esbuild --bundle --minify ${f}`, b.stdout + b.stderr);
    gz[f] = gzipSync(readFileSync(path.join(dir, "out", f)), { level: 9 }).length;
  }
  const hooks = gz["hooks.js"] - gz["core.js"];
  const frame = gz["frame-hooks.js"] - gz["frame.js"];
  console.log(`# metachannel/react adds ${hooks} B gzip to the core (${HOOKS}; esbuild --minify, gzip -9, react external; target ≤ 2048)`);
  console.log(`# with useMetaframeChannel, over a metaframe that imports MetaframeClient and bindMetaframe: ${frame} B gzip`);
  report(hooks > 0 && frame > 0, `react-weight: metachannel/react measured over the core (${hooks} B and ${frame} B gzip)`);
}

/**
 * README's page-weight table (between <!-- bundler-weights:start --> and :end -->), from the
 * totals this run measured: one row per app, keyed by its name; rows of apps not run this time
 * are kept as they were. `node tests/bundlers/run.mjs --readme [app…]` writes it.
 */
function writeReadmeWeights(measured) {
  const file = path.join(root, "README.md");
  const text = readFileSync(file, "utf8");
  const start = "<!-- bundler-weights:start -->";
  const end = "<!-- bundler-weights:end -->";
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a === -1 || b === -1) throw new Error(`README.md has no ${start} ... ${end} block`);
  const rows = new Map();
  for (const line of text.slice(a + start.length, b).split("\n")) {
    const name = /^\| `([a-z0-9-]+)`/.exec(line)?.[1];
    if (name) rows.set(name, line);
  }
  for (const { app, weights } of measured) {
    const core = weights.where === "file" ? "`metachannel-lite.wasm` (file)" : "the full core, gzip + base64 in the JS";
    const rest = weights.where === "file" ? "+ `metachannel.wasm`, fetched once" : "nothing more";
    rows.set(
      app.name,
      `| \`${app.name}\` ${app.label.replace(/\|/g, "\\|")} | ${core} | **${kb(weights.plainGz)} KB** | ${weights.reliableGz === null ? "-" : `${kb(weights.reliableGz)} KB`} (${rest}) |`,
    );
  }
  const order = APPS.map((x) => x.name);
  const body = [...rows.entries()].sort(([x], [y]) => order.indexOf(x) - order.indexOf(y)).map(([, line]) => line);
  const table = [
    "| app (`tests/bundlers`) | a plain page's core | plain `connect()`: JS + wasm, gzip | then `reliable` + `presence` |",
    "|---|---|---|---|",
    ...body,
  ].join("\n");
  writeFileSync(file, `${text.slice(0, a + start.length)}\n${table}\n${text.slice(b)}`);
  console.log(`# README.md: page weights of ${measured.map((m) => m.app.name).join(", ")} written`);
}

// ------------------------------------------------------------------ main
async function main() {
  const started = Date.now();
  const picked = process.argv.slice(2).filter((a) => !a.startsWith("-"));
  const apps = picked.length ? APPS.filter((a) => picked.includes(a.name)) : APPS;
  if (picked.length && apps.length !== picked.filter((n) => n !== "react-weight").length) {
    throw new Error(`unknown app; choose from: ${APPS.map((a) => a.name).join(" ")} react-weight`);
  }

  if (!existsSync(path.join(root, "dist/metachannel.mjs")) || !existsSync(path.join(root, "dist/metachannel.wasm"))) {
    console.log("# dist/ is missing: building");
    const b = await exec(process.execPath, [path.join(root, "scripts/build.mjs")], { timeoutMs: 900000 });
    if (b.code !== 0) return report(false, "npm run build", b.stdout + b.stderr);
  }
  const tools = await ensureTools();
  report(!tools.error, "the pinned bundlers are installed in .cache/bundlers (tests/bundlers/tools)", tools.error);
  if (tools.error) return;
  if (tools.installed) console.log(`# npm ci of the bundlers took ${tools.ms} ms`);
  const versions = Object.fromEntries(
    ["vite", "webpack", "webpack-cli", "esbuild", "rollup", "@rollup/plugin-node-resolve", "parcel", "react", "svelte", "vue", "typescript"].map((t) => [
      t,
      toolVersion(t),
    ]),
  );
  console.log(
    `# ${Object.entries(versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
  );

  const work = mkdtempSync(path.join(os.tmpdir(), "metachannel-bundlers-"));
  const cleanups = [];
  try {
    // The apps' node_modules/metachannel comes from the tarball; everything else they resolve
    // (the bundlers, ws) from the cache, one folder up, as if installed beside it.
    symlinkSync(path.join(cache, "node_modules"), path.join(work, "node_modules"), "dir");
    const { info, tarball, output } = await npmPack(work);
    report(info !== null, "npm pack", output);
    if (!info) return;

    const relay = await startRelay({ port: 0 });
    cleanups.push(() => relay.close());
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    cleanups.push(() => browser.close());

    const summary = [];
    for (const app of apps) {
      try {
        await runApp(app, { work, tarball, browser, relay, summary });
      } catch (err) {
        report(false, `${app.name}: the harness ran`, err?.stack ? err.stack : String(err));
      }
    }

    // Rollup's usual config (output.file) without the extra line: does it refuse the chunk?
    if (!picked.length || picked.includes("rollup")) {
      const alone = { name: "rollup-file-alone", files: { "rollup.config.mjs": ROLLUP_CONFIG('{ file: "out/main.js", format: "es" }') } };
      const dir = await makeApp(work, alone, tarball);
      const r = await exec(process.execPath, [bin("rollup/dist/bin/rollup"), "-c"], { cwd: dir, env: { NO_COLOR: "1" } });
      const refused = r.code !== 0 && /inlineDynamicImports/.test(r.stdout + r.stderr);
      console.log(
        `# rollup with output.file alone: ${r.code === 0 ? "builds" : refused ? 'refuses ("when building multiple chunks, the output.dir option must be used"): add output.inlineDynamicImports: true, or use output.dir' : "fails"}`,
      );
      report(
        r.code === 0 || refused,
        "rollup-file-alone: Rollup's usual output.file config builds, or fails only asking for output.dir / inlineDynamicImports (documented)",
        r.stdout + r.stderr,
      );
    }

    if (!picked.length || picked.includes("react-weight")) await reactWeight(work, tarball);

    console.log("#");
    console.log("# output: every file the build wrote but source maps, raw (gzip); loaded: the JS and wasm the page fetched, raw (gzip)");
    console.log("# app            tool version    wasm from                                   output bytes     loaded (gzip)  build ms  needed");
    for (const { app, result, buildMs, bytes, otherWarnings, failure } of summary) {
      const tool = `${app.tool} ${versions[app.tool]}`;
      const from = result ? wasmSource(result.responses) : failure || "-";
      const size = bytes ? `${bytes.raw} (${bytes.gz})` : "(served)";
      const fetched = result ? result.responses.filter((r) => r.status === 200 && (/javascript|wasm/.test(r.type) || r.wasm)) : [];
      const loaded = `${fetched.reduce((sum, r) => sum + r.bytes, 0)} (${fetched.reduce((sum, r) => sum + r.gz, 0)})`;
      console.log(
        `# ${app.name.padEnd(14)} ${tool.padEnd(15)} ${from.padEnd(43)} ${size.padEnd(16)} ${loaded.padEnd(16)} ${String(buildMs).padStart(6)}   ${app.extra}`,
      );
      if (bytes) {
        console.log(`#   files: ${bytes.files.join(", ")}`);
        const paths = new Set(fetched.map((r) => new URL(r.url).pathname.slice(1)));
        const unused = bytes.files.filter((f) => !f.startsWith("index.html ") && !paths.has(f.split(" ")[0]));
        if (unused.length) console.log(`#   written but never loaded by the page: ${unused.join(", ")}`);
      }
      const failedRequests = result
        ? result.responses.filter((r) => r.status !== 200 && r.status !== 101 && r.status !== 201 && r.status !== 204 && r.status !== 304)
        : [];
      if (failedRequests.length) console.log(`#   not 200: ${failedRequests.map((r) => `${r.status} ${new URL(r.url).pathname}`).join(", ")}`);
      if (otherWarnings.length) console.log(`#   other warnings: ${otherWarnings.slice(0, 5).join(" | ")}`);
    }
    const weights = summary.filter((x) => x.weights);
    if (weights.length && process.argv.includes("--readme")) writeReadmeWeights(weights);
  } finally {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
    if (process.env.MC_KEEP_TMP) console.log(`# kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
    console.log(`# duration_ms ${Date.now() - started}`);
  }
}

main()
  .catch((err) => report(false, "bundlers suite", err?.stack ? err.stack : String(err)))
  .finally(end);
