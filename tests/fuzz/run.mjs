// Bounded fuzzing: builds the `fuzz` CMake preset (clang++, libFuzzer + ASan + UBSan) and runs
// every tests/fuzz/*_fuzz target (C++ ones and the Jazzer.js ones, *_fuzz.mjs, which fuzz the
// built dist/) for a fixed time on a COPY of its corpus (the repository's corpus is never
// modified), then prints executions, exec/s and coverage per target.
//   node tests/fuzz/run.mjs [target ...]      default: every target
//   MC_FUZZ_SECONDS=52                        time per C++ target (default 52)
//   MC_FUZZ_JS_SECONDS=40                     time per Jazzer.js target (default 40)
// The defaults keep the stage at about 5 minutes of fuzzing (5 x 52 s + 40 s) plus the build.
//   MC_FUZZ_KEEP_CORPUS=dir                   copy the grown corpora there afterwards
// Exits non-zero if a target crashes (the crashing input is kept under build/fuzz/artifacts/)
// or does not build. Ends with "N passed, N failed" (and the "# pass"/"# fail" lines that
// scripts/test.mjs counts).
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { artifactsDir, buildTargets, corpusOf, isJsTarget, pickTargets, reproduce, root, runTarget } from "./libfuzzer.mjs";

/** A positive number of seconds from environment variable `name`, else `fallback`. */
function secondsFrom(name, fallback) {
  const v = Number(process.env[name] || fallback);
  if (!(v > 0) || !Number.isFinite(v)) {
    console.error(`${name} must be a positive number of seconds (got ${process.env[name]})`);
    process.exit(2);
  }
  return v;
}
const cppSeconds = secondsFrom("MC_FUZZ_SECONDS", 52);
const jsSeconds = secondsFrom("MC_FUZZ_JS_SECONDS", 40);

/** Runs one target on a copy of its corpus; resolves with its figures. */
async function fuzz(name) {
  const seconds = isJsTarget(name) ? jsSeconds : cppSeconds;
  const work = mkdtempSync(path.join(os.tmpdir(), `mc-${name}-`));
  const corpus = path.join(work, "corpus");
  mkdirSync(corpus);
  const seed = corpusOf(name);
  const seeds = seed ? readdirSync(seed).length : 0;
  if (seed) cpSync(seed, corpus, { recursive: true });
  const crashes = path.join(work, "artifacts");
  mkdirSync(crashes);
  console.log(`\n=== ${name}: ${seconds} s, ${seeds} seed input(s)${seed ? ` from ${path.relative(root, seed)}` : ""}`);
  const figures = await runTarget({ name, seconds, corpora: [corpus], artifactDir: crashes, cwd: work });
  figures.corpus = readdirSync(corpus).length;
  figures.seeds = seeds;
  const found = readdirSync(crashes);
  if (found.length) {
    mkdirSync(artifactsDir, { recursive: true });
    for (const f of found) cpSync(path.join(crashes, f), path.join(artifactsDir, `${name}-${f}`));
    figures.artifacts = found.map((f) => path.relative(root, path.join(artifactsDir, `${name}-${f}`)));
  }
  if (process.env.MC_FUZZ_KEEP_CORPUS) cpSync(corpus, path.join(process.env.MC_FUZZ_KEEP_CORPUS, name), { recursive: true });
  rmSync(work, { recursive: true, force: true });
  return figures;
}

async function main() {
  const targets = pickTargets(process.argv.slice(2));
  if (!targets.length) {
    console.log("no tests/fuzz/*_fuzz.cpp or *_fuzz.mjs targets\n0 passed, 0 failed");
    return;
  }
  buildTargets(targets);

  const results = [];
  for (const name of targets) results.push(await fuzz(name));

  console.log("\n=== fuzz summary (C++: libFuzzer + ASan + UBSan; *_fuzz.mjs: Jazzer.js)");
  for (const r of results) {
    console.log(
      `${r.ok ? "ok  " : "FAIL"} ${r.name}: ${r.execs} executions in ${r.secs.toFixed(0)} s (${r.execPerSec} exec/s), ` +
        `cov: ${r.cov} ft: ${r.ft}, corpus ${r.seeds} -> ${r.corpus}${r.newUnits !== null ? ` (+${r.newUnits} new units)` : ""}` +
        `${r.rssMb !== null ? `, peak RSS ${r.rssMb} MB` : ""}${r.ok ? "" : `, exit ${r.code}`}`,
    );
    if (r.artifacts) console.log(`     crashing input(s): ${r.artifacts.join(", ")}  (reproduce: ${reproduce(r.name)} <file>)`);
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`# pass ${passed}\n# fail ${failed}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(err.message || err);
  console.log("# fail 1\n0 passed, 1 failed");
  process.exit(1);
});
