// The Node suite on the debug wasm: builds dist-debug/ (ASSERTIONS=1, SAFE_HEAP=1, -g; see
// scripts/build.mjs --debug) and runs tests/node/*.test.js against it (MC_DIST_DIR), so memory
// errors that the release build would survive by luck abort with a stack trace instead.
//   node tests/wasm-debug/run.mjs [test file ...]   default: every tests/node/*.test.js and tests/relay/*.test.js except EXCLUDED
//   MC_WASM_DEBUG_NODE_FLAGS="--experimental-websocket"   extra flags for the test processes
// Ends with "N passed, N failed" (the "# pass"/"# fail" lines of node --test are counted by
// scripts/test.mjs).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const distDebug = path.join(root, "dist-debug");

// Files that do not load the wasm core (nothing to check there), or that measure timing the
// debug build is too slow for; each with the reason.
const EXCLUDED = {
  "tests/relay/relay.test.js": "the dev relay only: no wasm",
  "tests/relay/relay-limits.test.js": "the relay's limits and URLs only: no wasm",
  "tests/relay/relay-lifecycle.test.js": "the relay's expiry, state file and drain: runs once, in the node suite",
  "tests/relay/relay-redis-outage.test.js": "heavy relay-side fault test: runs once, in the node suite",
  "tests/relay/relay-rolling-restart.test.js": "heavy relay-side fault test: runs once, in the node suite",
  "tests/node/react-ssr.test.js": "metachannel/react is built into dist/ only",
  "tests/node/store.test.js": "metachannel/store is built into dist/ only (it imports the release build)",
  "tests/node/subpaths.test.js":
    "metachannel/chat, /live-data, /metaframe are built into dist/ only (they import the release root entry by the package's name)",
  "tests/node/on-demand.test.js": "dist-debug holds the full core only (no debug lite core): which file loads when is JS, tested in the node suites",
};

function build() {
  console.log("$ node scripts/build.mjs --debug");
  const r = spawnSync(process.execPath, ["scripts/build.mjs", "--debug"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`the debug build failed (${r.status ?? r.signal})`);
}

/** The debug bundle must load in Node (it is built for web, worker and node). */
function smoke() {
  const code = `const mc = await import(${JSON.stringify(path.join(distDebug, "metachannel.mjs"))}); await mc.ready(); new mc.Channel(null).dispose(); console.log("dist-debug loads: " + mc.version);`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: root, encoding: "utf8" });
  process.stdout.write(r.stdout);
  if (r.status !== 0) throw new Error(`dist-debug does not load in Node:\n${r.stderr}`);
}

async function main() {
  build();
  smoke();
  const picked = process.argv.slice(2);
  const files = picked.length
    ? picked
    : ["tests/node", "tests/relay"].flatMap((dir) =>
        readdirSync(path.join(root, dir))
          .filter((f) => f.endsWith(".test.js") && !EXCLUDED[`${dir}/${f}`])
          .sort()
          .map((f) => `${dir}/${f}`),
      );
  for (const f of Object.keys(EXCLUDED)) if (!existsSync(path.join(root, f))) throw new Error(`EXCLUDED names a file that does not exist: ${f}`);
  if (!picked.length) for (const [f, why] of Object.entries(EXCLUDED)) console.log(`skipping ${f}: ${why}`);
  for (const f of files) if (!existsSync(path.join(root, f))) throw new Error(`no such test file: ${f}`);
  const flags = (process.env.MC_WASM_DEBUG_NODE_FLAGS || "").split(" ").filter(Boolean);
  const args = [...flags, "--test", "--test-concurrency=1", ...files];
  console.log(`$ MC_DIST_DIR=dist-debug node ${args.join(" ")}`);
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, MC_DIST_DIR: distDebug },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
    process.stdout.write(chunk);
  });
  const code = await new Promise((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  const count = (kind) => {
    const m = new RegExp(`^# ${kind} (\\d+)$`, "m").exec(out);
    return m ? Number(m[1]) : 0;
  };
  const passed = count("pass");
  const failed = count("fail") + (code !== 0 && count("fail") === 0 ? 1 : 0);
  const aborts = (out.match(/Aborted\(/g) || []).length;
  if (aborts) console.log(`wasm aborts (ASSERTIONS/SAFE_HEAP): ${aborts}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err.message || err);
  console.log("# fail 1\n0 passed, 1 failed");
  process.exit(1);
});
