// Bounded fuzzing: builds the `fuzz` CMake preset (clang++, libFuzzer + ASan + UBSan) and runs
// every tests/fuzz/*_fuzz target for a fixed time on a COPY of its corpus (the repository's
// corpus is never modified), then prints executions, exec/s and coverage per target.
//   node tests/fuzz/run.mjs [target ...]      default: every target
//   MC_FUZZ_SECONDS=60                        time per target (default 60)
//   MC_FUZZ_KEEP_CORPUS=dir                   copy the grown corpora there afterwards
// Exits non-zero if a target crashes (the crashing input is kept under build/fuzz/artifacts/)
// or does not build. Ends with "N passed, N failed" (and the "# pass"/"# fail" lines that
// scripts/test.mjs counts).
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const fuzzDir = path.join(root, "tests/fuzz");
const buildDir = path.join(root, "build/fuzz");
const artifactsDir = path.join(buildDir, "artifacts");
const seconds = Number(process.env.MC_FUZZ_SECONDS || 60);
if (!(seconds > 0)) {
  console.error(`MC_FUZZ_SECONDS must be a positive number (got ${process.env.MC_FUZZ_SECONDS})`);
  process.exit(2);
}

function sh(cmd, args) {
  console.log(`$ ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal})`);
}

/** The corpus folder of a target: corpus/<name>, or corpus/<name without _fuzz>. */
function corpusOf(name) {
  for (const dir of [name, name.replace(/_fuzz$/, "")]) {
    const full = path.join(fuzzDir, "corpus", dir);
    if (existsSync(full)) return full;
  }
  return null;
}

/** Runs one target; resolves with its figures. */
function fuzz(name) {
  return new Promise((resolve) => {
    const bin = path.join(buildDir, name);
    const work = mkdtempSync(path.join(os.tmpdir(), `mc-${name}-`));
    const corpus = path.join(work, "corpus");
    mkdirSync(corpus);
    const seed = corpusOf(name);
    const seeds = seed ? readdirSync(seed).length : 0;
    if (seed) cpSync(seed, corpus, { recursive: true });
    const crashes = path.join(work, "artifacts");
    mkdirSync(crashes);
    const args = [
      `-max_total_time=${seconds}`,
      "-print_final_stats=1",
      "-timeout=10", // one input taking longer than this is a finding (a hang)
      "-rss_limit_mb=2048",
      `-artifact_prefix=${crashes}/`,
    ];
    const dict = path.join(fuzzDir, `${name}.dict`);
    if (existsSync(dict)) args.push(`-dict=${dict}`);
    args.push(corpus);
    console.log(`\n=== ${name}: ${seconds} s, ${seeds} seed input(s)${seed ? ` from ${path.relative(root, seed)}` : ""}`);
    const started = Date.now();
    const child = spawn(bin, args, { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let lastStatus = "";
    let partial = "";
    const onData = (chunk) => {
      out += chunk;
      // libFuzzer's progress lines are many; echo only the interesting ones (whole lines).
      const lines = (partial + chunk).split("\n");
      partial = lines.pop();
      for (const line of lines) {
        if (/^#\d+\s+(INITED|DONE|pulse|REDUCE|NEW)/.test(line)) lastStatus = line;
        if (/ERROR|SUMMARY|Test unit written|deadly signal|runtime error|INITED|DONE|mismatch|_fuzz:/.test(line)) console.log(`  ${line}`);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("close", (code, signal) => {
      const stat = (key) => {
        const m = new RegExp(`stat::${key}:\\s+(\\d+)`).exec(out);
        return m ? Number(m[1]) : null;
      };
      const last = (re) => {
        const all = [...out.matchAll(re)];
        return all.length ? all[all.length - 1][1] : null;
      };
      const figures = {
        name,
        ok: code === 0,
        code: code ?? signal,
        secs: (Date.now() - started) / 1000,
        execs: stat("number_of_executed_units") ?? Number(last(/^#(\d+)\s/gm) ?? 0),
        execPerSec: stat("average_exec_per_sec") ?? Number(last(/exec\/s: (\d+)/g) ?? 0),
        cov: last(/cov: (\d+)/g),
        ft: last(/ft: (\d+)/g),
        corpus: readdirSync(corpus).length,
        seeds,
        newUnits: stat("new_units_added"),
        rssMb: stat("peak_rss_mb"),
        status: lastStatus,
      };
      const found = readdirSync(crashes);
      if (found.length) {
        mkdirSync(artifactsDir, { recursive: true });
        for (const f of found) cpSync(path.join(crashes, f), path.join(artifactsDir, `${name}-${f}`));
        figures.artifacts = found.map((f) => path.relative(root, path.join(artifactsDir, `${name}-${f}`)));
      }
      if (process.env.MC_FUZZ_KEEP_CORPUS) cpSync(corpus, path.join(process.env.MC_FUZZ_KEEP_CORPUS, name), { recursive: true });
      rmSync(work, { recursive: true, force: true });
      resolve(figures);
    });
  });
}

async function main() {
  const all = readdirSync(fuzzDir).filter((f) => f.endsWith("_fuzz.cpp")).map((f) => f.replace(/\.cpp$/, "")).sort();
  const picked = process.argv.slice(2);
  for (const p of picked) {
    if (!all.includes(p)) {
      console.error(`unknown fuzz target "${p}"; targets: ${all.join(", ")}`);
      process.exit(2);
    }
  }
  const targets = picked.length ? picked : all;
  if (!targets.length) {
    console.log("no tests/fuzz/*_fuzz.cpp targets\n0 passed, 0 failed");
    return;
  }
  sh("cmake", ["--preset", "fuzz"]);
  sh("cmake", ["--build", buildDir, "-j2", "--target", ...targets]);

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
