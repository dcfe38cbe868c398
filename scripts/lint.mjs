// The lint checks, one place for `npm run lint`, `npm run format` and `npm test -- lint`.
//   node scripts/lint.mjs            check: Biome (lint + format), tsc (if tsconfig.json), import
//                                    cycles (Biome's noImportCycles), clang-format, clang-tidy
//   node scripts/lint.mjs --write    format: Biome's formatter and clang-format rewrite the files
// Configuration: biome.jsonc, .clang-format, .clang-tidy, .editorconfig. Each check prints what
// to fix; the last lines count checks as "# pass N" / "# fail N" and "N passed, N failed".
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { root, ensurePackages, ensureNodeModules } from "./toolchain.mjs";

/** C++ the formatter owns; clang-tidy reads the core's sources (with the native build's flags). */
export const CXX_DIRS = ["src", "bindings", "tests/native", "tests/fuzz"];
const TIDY_DIR = "src/metachannel";
import { generate } from "./gen-vocabulary.mjs";
import { generate as generateGlueTypes } from "./gen-glue-types.mjs";

const CLANG_FORMAT = "clang-format-14";
const CLANG_TIDY = "clang-tidy-14";
const BIOME = path.join(root, "node_modules/.bin/biome");

function cxxFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(path.join(root, d), { withFileTypes: true })) {
      const rel = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== "corpus") walk(rel);
      } else if (/\.(cpp|cc|h|hpp)$/.test(e.name)) out.push(rel);
    }
  };
  if (existsSync(path.join(root, dir))) walk(dir);
  return out.sort();
}

function sh(cmd, args, opts = {}) {
  console.log(`$ ${cmd} ${args.length > 12 ? `${args.slice(0, 12).join(" ")} … (${args.length} args)` : args.join(" ")}`);
  return spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...opts }).status === 0;
}

/** Runs clang-tidy on `files` in `jobs` parallel processes; true if all are clean. */
function tidy(files, jobs) {
  const chunks = Array.from({ length: jobs }, (_, i) => files.filter((_, k) => k % jobs === i)).filter((c) => c.length);
  console.log(`$ ${CLANG_TIDY} -p build/native --quiet ${TIDY_DIR}/*.cpp (${files.length} files, ${chunks.length} processes)`);
  return Promise.all(
    chunks.map(
      (chunk) =>
        new Promise((resolve) => {
          const child = spawn(CLANG_TIDY, ["-p", "build/native", "--quiet", ...chunk], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
          let out = "";
          child.stdout.on("data", (c) => {
            out += c;
          });
          // stderr carries only "N warnings generated" (system headers); keep it for failures.
          let err = "";
          child.stderr.on("data", (c) => {
            err += c;
          });
          child.on("close", (code) => {
            if (out.trim()) process.stdout.write(out);
            if (code !== 0 && !out.trim()) process.stderr.write(err);
            resolve(code === 0);
          });
        }),
    ),
  ).then((oks) => oks.every(Boolean));
}

export async function lint({ write = false } = {}) {
  ensurePackages("native", "lint");
  ensureNodeModules();
  const results = [];
  const check = async (name, fn) => {
    console.log(`\n--- ${name}`);
    const started = Date.now();
    const ok = await fn();
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    results.push({ name, ok, secs });
    console.log(`${ok ? "ok" : "FAIL"}: ${name} (${secs} s)`);
  };
  const cxx = CXX_DIRS.flatMap(cxxFiles);

  if (write) {
    await check("biome format --write", () => sh(BIOME, ["format", "--write", "."]));
    await check(`${CLANG_FORMAT} -i`, () => sh(CLANG_FORMAT, ["-i", ...cxx]));
  } else {
    // Lint (recommended rules, noImportCycles as an error: js/ has no import cycles, type-only
    // imports aside) and the formatter's check, on js/ scripts/ tests/ demo/ (biome.jsonc).
    await check("biome check (lint, import cycles, format)", () => sh(BIOME, ["check", "--error-on-warnings", "--max-diagnostics=200", "."]));
    // js/vocabulary.ts and README's error codes are what src/metachannel/vocabulary.h gives.
    await check("generated vocabulary is current (scripts/gen-vocabulary.mjs --check)", () => {
      const stale = generate({ check: true });
      if (stale.length) console.log(`stale: ${stale.join(", ")}; run \`node scripts/gen-vocabulary.mjs\` and commit them`);
      return stale.length === 0;
    });
    // js/core-glue.d.ts declares the raw exports bindings/*.cpp defines (the build checks the wasm).
    await check("generated glue declarations are current (scripts/gen-glue-types.mjs --check)", () => {
      const stale = generateGlueTypes({ check: true });
      if (stale.length) console.log(`stale: ${stale.join(", ")}; run \`node scripts/gen-glue-types.mjs\` and commit it`);
      return stale.length === 0;
    });
    if (existsSync(path.join(root, "tsconfig.json"))) {
      await check("tsc --noEmit -p tsconfig.json", () =>
        sh(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", "tsconfig.json"]),
      );
    } else {
      console.log("\n--- tsc: skipped (no tsconfig.json at the root yet)");
    }
    await check(`${CLANG_FORMAT} --dry-run -Werror (${cxx.length} files in ${CXX_DIRS.join(", ")})`, () => sh(CLANG_FORMAT, ["--dry-run", "-Werror", ...cxx]));
    await check(`${CLANG_TIDY} (${TIDY_DIR}/*.cpp)`, async () => {
      // The native build's compile commands: the flags, include paths and defines it really uses.
      // The option is cached in build/native, so the native suite's configure keeps exporting.
      if (!sh("cmake", ["--preset", "native", "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"], { stdio: "ignore" })) return false;
      const files = readdirSync(path.join(root, TIDY_DIR))
        .filter((f) => f.endsWith(".cpp"))
        .sort()
        .map((f) => path.join(TIDY_DIR, f));
      return tidy(files, Math.min(2, os.availableParallelism ? os.availableParallelism() : os.cpus().length));
    });
  }

  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`\n=== lint${write ? " --write" : ""}`);
  for (const r of results) console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name} (${r.secs} s)`);
  if (failed && !write) console.log("To fix the formatting: npm run format; the lint findings above name the rule and the line.");
  console.log(`# pass ${passed}\n# fail ${failed}`);
  console.log(`lint: ${passed} passed, ${failed} failed`);
  return failed === 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  lint({ write: process.argv.includes("--write") }).then(
    (ok) => process.exit(ok ? 0 : 1),
    (err) => {
      console.error(err.stack || err);
      process.exit(1);
    },
  );
}
