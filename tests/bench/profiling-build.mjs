// A copy of the release build with wasm function names, for the profile helper:
//
//   node tests/bench/profiling-build.mjs        -> build/bench-profiling/dist/metachannel.{mjs,wasm}
//   node tests/bench/run.mjs --profile receive --dist build/bench-profiling/dist
//
// Same sources, same -Oz -flto code, plus the `--profiling-funcs` link flag, which keeps the
// wasm name section (function names only: the code is what the release build runs, so the
// profile holds). Everything goes under build/ (git-ignored); dist/ is not touched.
// The esbuild step mirrors scripts/build.mjs (ESM only).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync, copyFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
// --src DIR: build another checkout (e.g. a copy with different compile flags, to try an
// optimisation without touching this tree); --out DIR: where build/ and dist/ go.
const argv = process.argv.slice(2);
const argOf = (name) => (argv.includes(name) ? path.resolve(argv[argv.indexOf(name) + 1]) : null);
const src = argOf("--src") || root;
const base = argOf("--out") || path.join(root, "build/bench-profiling");
const buildDir = path.join(base, "wasm");
const outDir = path.join(base, "dist");
const env = { ...process.env, NODE_PATH: "/usr/share/nodejs" };

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: src, env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal})`);
}

if (!existsSync(path.join(buildDir, "CMakeCache.txt"))) {
  run("emcmake", [
    "cmake",
    "-S",
    src,
    "-B",
    buildDir,
    "-DCMAKE_BUILD_TYPE=Release",
    "-DMETACHANNEL_DEBUG_WASM=OFF",
    "-DCMAKE_EXE_LINKER_FLAGS=--profiling-funcs",
  ]);
}
run("cmake", ["--build", buildDir, "-j2"]);

let glue = readFileSync(path.join(buildDir, "metachannel_core.js"), "utf8");
const trailer = glue.indexOf("if (typeof exports === 'object' && typeof module === 'object')");
if (trailer !== -1) glue = glue.slice(0, trailer);
const glueModule = path.join(buildDir, "core-glue.mjs");
writeFileSync(glueModule, `${glue}\nexport default createMetachannelCore;\n`);

const esbuild = await import("esbuild");
const pkg = JSON.parse(readFileSync(path.join(src, "package.json"), "utf8"));
mkdirSync(outDir, { recursive: true });
await esbuild.build({
  entryPoints: [path.join(src, "js/index.ts")],
  bundle: true,
  minify: true,
  target: ["es2020", "node20"],
  alias: { "#core-glue": glueModule },
  legalComments: "none",
  logLevel: "warning",
  format: "esm",
  platform: "neutral",
  outfile: path.join(outDir, "metachannel.mjs"),
  external: ["./metachannel-e2e.mjs"], // the encryption chunk, as scripts/build.mjs leaves it (copied from dist/)
  define: { __MC_FORMAT__: JSON.stringify("esm"), __MC_FALLBACK__: "true", __MC_INLINE__: "true", __MC_VERSION__: JSON.stringify(pkg.version) },
});
copyFileSync(path.join(buildDir, "metachannel_core.wasm"), path.join(outDir, "metachannel.wasm"));
if (existsSync(path.join(src, "dist/metachannel-e2e.mjs"))) copyFileSync(path.join(src, "dist/metachannel-e2e.mjs"), path.join(outDir, "metachannel-e2e.mjs"));
for (const f of ["metachannel.mjs", "metachannel.wasm"])
  console.log(`  ${path.relative(root, path.join(outDir, f))}  ${statSync(path.join(outDir, f)).size} bytes`);
