// Bounded fuzzing: builds the `fuzz` CMake preset (clang++, libFuzzer + ASan + UBSan) and runs
// every tests/fuzz/*_fuzz target for a fixed time on a COPY of its corpus (the repository's
// corpus is never modified), then prints executions, exec/s and coverage per target.
//   node tests/fuzz/run.mjs [target ...]      default: every target
//   MC_FUZZ_SECONDS=60                        time per target (default 60)
//   MC_FUZZ_KEEP_CORPUS=dir                   copy the grown corpora there afterwards
// Exits non-zero if a target crashes (the crashing input is kept under build/fuzz/artifacts/)
// or does not build. Ends with "N passed, N failed" (and the "# pass"/"# fail" lines that
// scripts/test.mjs counts).
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { artifactsDir, buildDir, buildTargets, corpusOf, pickTargets, root, runTarget } from "./libfuzzer.mjs";

const seconds = Number(process.env.MC_FUZZ_SECONDS || 60);
if (!(seconds > 0)) {
  console.error(`MC_FUZZ_SECONDS must be a positive number (got ${process.env.MC_FUZZ_SECONDS})`);
  process.exit(2);
}

/** Runs one target on a copy of its corpus; resolves with its figures. */
async function fuzz(name) {
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
    console.log("no tests/fuzz/*_fuzz.cpp targets\n0 passed, 0 failed");
    return;
  }
  buildTargets(targets);

  const results = [];
  for (const name of targets) results.push(await fuzz(name));

  console.log("\n=== fuzz summary (libFuzzer + ASan + UBSan)");
  for (const r of results) {
    console.log(
      `${r.ok ? "ok  " : "FAIL"} ${r.name}: ${r.execs} executions in ${r.secs.toFixed(0)} s (${r.execPerSec} exec/s), ` +
        `cov: ${r.cov} ft: ${r.ft}, corpus ${r.seeds} -> ${r.corpus}${r.newUnits !== null ? ` (+${r.newUnits} new units)` : ""}` +
        `${r.rssMb !== null ? `, peak RSS ${r.rssMb} MB` : ""}${r.ok ? "" : `, exit ${r.code}`}`,
    );
    if (r.artifacts) console.log(`     crashing input(s): ${r.artifacts.join(", ")}  (reproduce: ${path.relative(root, path.join(buildDir, r.name))} <file>)`);
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
