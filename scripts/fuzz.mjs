// npm run fuzz -- --minutes N [target ...]: longer fuzzing that the repository learns from.
//
// For each target (default: every tests/fuzz/*_fuzz.cpp and *_fuzz.mjs), under `nice -n 10`:
//  1. fuzz for N minutes (default 10) into a working corpus kept between runs in
//     build/fuzz/corpus/<target>/, reading the repository's tests/fuzz/corpus/<dir>/ as seeds;
//  2. merge the working corpus back into the repository's corpus with `-merge=1`: only the
//     inputs that add coverage the repository's corpus lacks are copied (minimised by
//     libFuzzer); nothing already there is removed (hand-written seeds and the inputs of past
//     findings stay), so `git diff --stat tests/fuzz/corpus` shows what was learned.
//     Not for the Jazzer.js targets (*_fuzz.mjs): libFuzzer's merge restarts its executable,
//     which Jazzer.js does not support (tried: every attempt fails, nothing is merged).
// Prints executions, coverage (cov/ft), corpus sizes and findings per target. Exits 1 when a
// target found something (the input is kept in build/fuzz/artifacts/, with the command that
// reproduces it), 2 on bad arguments.
// The CI run is tests/fuzz/run.mjs (the `fuzz` suite of npm test): bounded, on a copy.
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import path from "node:path";
import { artifactsDir, buildDir, buildTargets, corpusOf, fuzzDir, isJsTarget, pickTargets, reproduce, root, runTarget, sh } from "../tests/fuzz/libfuzzer.mjs";

function usage(problem) {
  console.error(`${problem}\nusage: npm run fuzz -- [--minutes N] [target ...]   (N > 0, default 10; targets default to all)`);
  process.exit(2);
}

const argv = process.argv.slice(2);
let minutes = 10;
const picked = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === "--minutes" || a.startsWith("--minutes=")) {
    const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
    minutes = Number(v);
    if (v === undefined || v === "" || !(minutes > 0) || !Number.isFinite(minutes)) usage(`--minutes must be a positive number (got ${v})`);
  } else if (a.startsWith("-")) {
    usage(`unknown option ${a}`);
  } else {
    picked.push(a);
  }
}
const targets = pickTargets(picked);
const seconds = Math.max(1, Math.round(minutes * 60));

async function main() {
  buildTargets(targets);
  mkdirSync(artifactsDir, { recursive: true });
  const results = [];
  for (const name of targets) {
    const repoCorpus = corpusOf(name) ?? path.join(fuzzDir, "corpus", name);
    mkdirSync(repoCorpus, { recursive: true });
    const work = path.join(buildDir, "corpus", name);
    mkdirSync(work, { recursive: true });
    const before = readdirSync(repoCorpus).length;
    console.log(
      `\n=== ${name}: ${minutes} min, working corpus ${path.relative(root, work)} (${readdirSync(work).length}), seeds ${path.relative(root, repoCorpus)} (${before})`,
    );
    const artifactDir = path.join(artifactsDir, name);
    mkdirSync(artifactDir, { recursive: true });
    const r = await runTarget({ name, seconds, corpora: [work, repoCorpus], artifactDir, nice: true });
    r.work = readdirSync(work).length;
    if (r.findings) {
      r.artifacts = readdirSync(artifactDir).map((f) => path.relative(root, path.join(artifactDir, f)));
    } else if (isJsTarget(name)) {
      // Jazzer.js cannot run -merge=1 (libFuzzer restarts its own executable for it, and here
      // that is Node with Jazzer.js's arguments): the working corpus stays in build/fuzz/corpus/.
      console.log(`  ${name}: no -merge=1 under Jazzer.js; copy inputs worth keeping from ${path.relative(root, work)} by hand`);
    } else {
      // -merge=1 runs every input of the later folders and copies to the first one those that
      // add features; it tolerates crashing inputs (it restarts itself), but we merge only
      // after a clean run so that no crashing input is learned as an ordinary one.
      sh("nice", ["-n", "10", path.join(buildDir, name), "-merge=1", "-rss_limit_mb=2048", "-timeout=10", repoCorpus, work]);
    }
    r.before = before;
    r.after = readdirSync(repoCorpus).length;
    r.repoCorpus = path.relative(root, repoCorpus);
    results.push(r);
  }

  console.log(`\n=== npm run fuzz: ${minutes} min per target (C++: libFuzzer + ASan + UBSan; *_fuzz.mjs: Jazzer.js)`);
  for (const r of results) {
    console.log(
      `${r.findings ? "FOUND" : r.ok ? "ok   " : "FAIL "} ${r.name}: ${r.execs} executions in ${r.secs.toFixed(0)} s (${r.execPerSec} exec/s), ` +
        `cov: ${r.cov} ft: ${r.ft}, working corpus ${r.work}, ${r.repoCorpus} ${r.before} -> ${r.after}, findings: ${r.findings}` +
        `${r.ok ? "" : `, exit ${r.code}`}`,
    );
    for (const a of r.artifacts ?? []) console.log(`      ${a}  (reproduce: ${reproduce(r.name)} ${a})`);
  }
  const bad = results.filter((r) => r.findings || !r.ok);
  if (bad.length) {
    console.log(
      `\n${bad.length} target(s) found something: fix the cause, add the input to the target's corpus and a test that replays it (docs/security.md lists every finding).`,
    );
  } else if (results.some((r) => r.after > r.before)) {
    console.log("\nNew corpus inputs: review `git status tests/fuzz/corpus` and commit them.");
  }
  process.exit(bad.length ? 1 : 0);
}

if (!existsSync(path.join(root, "CMakePresets.json"))) usage("run from the metachannel repository");
main().catch((err) => {
  console.error(err.message || err);
  process.exit(1);
});
