// npm test: everything, on a fresh machine too. Set-up (system packages, node_modules, the
// build) first, then each suite; a summary line "N passed, N failed" at the end.
//   npm test                    all suites
//   npm test -- native node     only these suites (native, asan, node, node-undici, node22, browser, demo, package, bundlers, fuzz, wasm-debug, lint)
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { root, ensurePackages, ensureNodeModules, run, node22Path } from "./toolchain.mjs";
import { build } from "./build.mjs";

const ALL = ["native", "asan", "node", "node-undici", "node22", "browser", "demo", "package", "bundlers", "fuzz", "wasm-debug", "lint"];
const picked = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const suites = picked.length ? picked : ALL;
for (const s of suites) {
  if (!ALL.includes(s)) {
    console.error(`unknown suite "${s}"; choose from: ${ALL.join(", ")}`);
    process.exit(2);
  }
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const results = [];

/** Runs a command, echoing its output, and counts tests from the runner's closing lines. */
function stage(name, cmd, args, opts = {}) {
  return new Promise((resolve) => {
    console.log(`\n=== ${name}: ${cmd} ${args.join(" ")}`);
    const started = Date.now();
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const echo = (stream) => (chunk) => {
      out += chunk;
      stream.write(chunk);
    };
    child.stdout.on("data", echo(process.stdout));
    child.stderr.on("data", echo(process.stderr));
    child.on("close", (code) => {
      let passed = 0;
      let failed = 0;
      let skipped = 0;
      const node = [...out.matchAll(/^# (pass|fail|skipped) (\d+)$/gm)];
      for (const [, kind, n] of node) {
        if (kind === "pass") passed += +n;
        else if (kind === "fail") failed += +n;
        else skipped += +n;
      }
      const ctest = out.match(/(\d+)% tests passed, (\d+) tests failed out of (\d+)/);
      if (ctest) {
        failed += +ctest[2];
        passed += +ctest[3] - +ctest[2];
      }
      if (opts.countAs && code === 0 && passed === 0) passed = 1;
      if (code !== 0 && failed === 0) failed = 1; // a crash or set-up failure counts
      totals.passed += passed;
      totals.failed += failed;
      totals.skipped += skipped;
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      results.push(`${code === 0 ? "ok  " : "FAIL"} ${name}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""} (${secs} s)`);
      resolve(code === 0);
    });
  });
}

function testFiles(dir) {
  const full = path.join(root, dir);
  if (!existsSync(full)) return [];
  return readdirSync(full)
    .filter((f) => f.endsWith(".test.js") || f.endsWith(".test.mjs"))
    .sort()
    .map((f) => path.join(dir, f));
}

async function main() {
  const groups = ["build", "native"];
  if (suites.includes("browser") || suites.includes("demo") || suites.includes("bundlers")) groups.push("browser");
  if (suites.includes("fuzz")) groups.push("fuzz");
  if (suites.includes("lint")) groups.push("lint");
  // tests/relay/relay-redis*.test.js run in every suite that runs tests/node (and tests/relay);
  // tests/node/e2e-python.test.js too: its Python peer's packages.
  if (["node", "node-undici", "node22", "wasm-debug"].some((s) => suites.includes(s))) groups.push("redis", "python");
  ensurePackages(...groups);
  ensureNodeModules();
  if (suites.some((s) => s !== "lint")) await build(); // the lint suite reads sources only
  // The node suites: the JS library's tests (tests/node) and the relay's (tests/relay).
  const nodeTests = [...testFiles("tests/node"), ...testFiles("tests/relay")];
  const testArgs = ["--test", "--test-concurrency=1", ...nodeTests];

  for (const s of suites) {
    if (s === "native") {
      run("cmake", ["--preset", "native"], { stdio: "ignore" });
      run("cmake", ["--build", "build/native", "-j2"]);
      await stage("native (GoogleTest)", "ctest", ["--test-dir", "build/native", "--output-on-failure", "-j2"]);
    } else if (s === "asan") {
      run("cmake", ["--preset", "native-asan"], { stdio: "ignore" });
      run("cmake", ["--build", "build/native-asan", "-j2"]);
      await stage("native under ASan+UBSan", "ctest", ["--test-dir", "build/native-asan", "--output-on-failure", "-j2"]);
    } else if (s === "node") {
      await stage("node 20 + ws", process.execPath, testArgs, { env: { MC_NODE_FLAVOR: "node20-ws" } });
      // The lite core (ready({ core: "lite" }): no reliable delivery or presence) under the
      // suites that use neither: same deliveries, same errors (tests/node/helpers.js).
      const liteFiles = ["channel", "clients", "fast-path", "generic-route", "reentrancy", "resilience-queue"].map((f) => `tests/node/${f}.test.js`);
      await stage("node 20 + ws, lite core", process.execPath, ["--test", "--test-concurrency=1", ...liteFiles], {
        env: { MC_NODE_FLAVOR: "node20-ws", MC_CORE: "lite" },
      });
    } else if (s === "node-undici") {
      await stage("node 20 built-in WebSocket", process.execPath, ["--experimental-websocket", ...testArgs], { env: { MC_NODE_FLAVOR: "node20-undici" } });
    } else if (s === "node22") {
      await stage("node 22", node22Path(), testArgs, { env: { MC_NODE_FLAVOR: "node22" } });
    } else if (s === "browser") {
      const files = testFiles("tests/browser");
      if (files.length) await stage("browser (Chromium)", process.execPath, ["--test", "--test-concurrency=1", ...files]);
    } else if (s === "demo") {
      // The demo page in headless Chromium: three frames receive, a chat message round-trips,
      // a URL rotation is followed, no console error; it writes docs/demo.png.
      await stage(
        "demo page (npm run demo -- --check)",
        process.execPath,
        ["scripts/demo.mjs", "--check", "--no-build", "--screenshot", "test-results/demo.png"],
        { countAs: true },
      );
    } else if (s === "package") {
      if (existsSync(path.join(root, "tests/package/run.mjs"))) {
        await stage("package (npm pack → install → ESM/CJS/tsc, Node 20 and 22)", process.execPath, ["tests/package/run.mjs"], {
          env: { MC_NODE22: node22Path() },
        });
      }
    } else if (s === "bundlers") {
      await stage("bundlers (tarball → Vite build/dev, webpack, esbuild, Rollup, Parcel → Chromium)", process.execPath, ["tests/bundlers/run.mjs"]);
    } else if (s === "fuzz") {
      if (existsSync(path.join(root, "tests/fuzz/run.mjs"))) await stage("fuzz (bounded)", process.execPath, ["tests/fuzz/run.mjs"]);
    } else if (s === "wasm-debug") {
      if (existsSync(path.join(root, "tests/wasm-debug/run.mjs")))
        await stage("node suite on the debug wasm (ASSERTIONS, SAFE_HEAP)", process.execPath, ["tests/wasm-debug/run.mjs"]);
    } else if (s === "lint") {
      // Biome (lint, import cycles, format), tsc when there is a tsconfig.json, clang-format,
      // clang-tidy: scripts/lint.mjs, also `npm run lint`.
      await stage("lint (biome, tsc, clang-format, clang-tidy)", process.execPath, ["scripts/lint.mjs"]);
    }
  }

  console.log("\n=== summary");
  for (const r of results) console.log(r);
  const line = `${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ""}`;
  console.log(`tests: ${line}`);
  process.exit(totals.failed === 0 && results.every((r) => r.startsWith("ok")) ? 0 : 1);
}

main().catch((err) => {
  console.error(err.stack || err);
  process.exit(1);
});
