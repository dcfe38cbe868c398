// What the bounded CI run (tests/fuzz/run.mjs) and the long run (scripts/fuzz.mjs, `npm run
// fuzz`) share: where things are, the list of targets, building them, and running one libFuzzer
// target and reading its figures.
// Two kinds of target, run and reported alike:
//   tests/fuzz/<name>_fuzz.cpp  C++, built by the `fuzz` CMake preset (clang, libFuzzer + ASan + UBSan)
//   tests/fuzz/<name>_fuzz.mjs  JavaScript, run by Jazzer.js (@jazzer.js/core: libFuzzer in a Node
//                               addon) with the files of JS_INSTRUMENT instrumented for coverage;
//                               it fuzzes the built dist/, so `npm run build` comes first.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const fuzzDir = path.join(root, "tests/fuzz");
export const buildDir = path.join(root, "build/fuzz");
export const artifactsDir = path.join(buildDir, "artifacts");

/** Every tests/fuzz/*_fuzz.cpp and *_fuzz.mjs target, sorted. */
export function allTargets() {
  return readdirSync(fuzzDir)
    .filter((f) => f.endsWith("_fuzz.cpp") || f.endsWith("_fuzz.mjs"))
    .map((f) => f.replace(/\.(cpp|mjs)$/, ""))
    .sort();
}

/** A Jazzer.js target (tests/fuzz/<name>.mjs), not a C++ one. */
export const isJsTarget = (name) => existsSync(path.join(fuzzDir, `${name}.mjs`));

/**
 * What Jazzer.js instruments for each JS target (parts of file paths): the built code under test,
 * whose branches guide the fuzzer, and the target itself (its choices of input shape).
 */
const JS_INSTRUMENT = {
  e2e_open_fuzz: ["dist/metachannel-e2e.mjs"],
};

/** The targets named on the command line (all when none), or exits 2 naming the unknown one. */
export function pickTargets(picked) {
  const all = allTargets();
  for (const p of picked) {
    if (!all.includes(p)) {
      console.error(`unknown fuzz target "${p}"; targets: ${all.join(", ")}`);
      process.exit(2);
    }
  }
  return picked.length ? picked : all;
}

/** The repository's corpus folder of a target: corpus/<name>, or corpus/<name without _fuzz>. */
export function corpusOf(name) {
  for (const dir of [name, name.replace(/_fuzz$/, "")]) {
    const full = path.join(fuzzDir, "corpus", dir);
    if (existsSync(full)) return full;
  }
  return null;
}

export function sh(cmd, args) {
  console.log(`$ ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal})`);
}

/**
 * Configures the `fuzz` CMake preset (clang++, libFuzzer + ASan + UBSan) and builds the C++ ones
 * of `targets`; checks that what the JS ones fuzz is built.
 */
export function buildTargets(targets) {
  const cpp = targets.filter((t) => !isJsTarget(t));
  if (cpp.length) {
    sh("cmake", ["--preset", "fuzz"]);
    sh("cmake", ["--build", buildDir, "-j2", "--target", ...cpp]);
  }
  for (const t of targets.filter(isJsTarget)) {
    for (const file of JS_INSTRUMENT[t] ?? []) {
      if (!existsSync(path.join(root, file))) throw new Error(`${t} fuzzes ${file}, which is not built: run \`npm run build\` first`);
    }
  }
}

/** The command that replays one input (a file named after it) of target `name`, from the repository's root. */
export function reproduce(name) {
  if (!isJsTarget(name)) return path.relative(root, path.join(buildDir, name));
  return `node --require ./tests/fuzz/jazzer-addon.cjs node_modules/@jazzer.js/core/dist/cli.js tests/fuzz/${name}.mjs --sync --mode=regression`;
}

/** The command that runs target `name` with libFuzzer flags `flags`. */
function command(name, flags) {
  if (!isJsTarget(name)) return [path.join(buildDir, name), flags];
  const instrument = [...(JS_INSTRUMENT[name] ?? []), `tests/fuzz/${name}.mjs`].flatMap((p) => ["-i", p]);
  return [
    process.execPath,
    [
      // the prebuilt addon on an older glibc/libstdc++ (tests/fuzz/jazzer-addon.cjs says how)
      "--require",
      path.join(fuzzDir, "jazzer-addon.cjs"),
      path.join(root, "node_modules/@jazzer.js/core/dist/cli.js"),
      path.join(fuzzDir, `${name}.mjs`),
      ...flags.filter((f) => !f.startsWith("-")), // the corpus folders
      "--sync",
      ...instrument,
      "--timeout=10000", // one input taking longer than this is a finding (a hang)
      "--",
      ...flags.filter((f) => f.startsWith("-") && !f.startsWith("-timeout=")),
    ],
  ];
}

/**
 * Runs libFuzzer target `name` for `seconds` on `corpora` (new inputs go into the first
 * folder; the others are read only), crashing inputs into `artifactDir`. With `nice`, under
 * `nice -n 10` (the machine is shared). Resolves with the figures libFuzzer printed.
 */
export function runTarget({ name, seconds, corpora, artifactDir, nice = false, cwd }) {
  return new Promise((resolve) => {
    const args = [
      `-max_total_time=${seconds}`,
      "-print_final_stats=1",
      "-timeout=10", // one input taking longer than this is a finding (a hang)
      "-rss_limit_mb=2048",
      `-artifact_prefix=${artifactDir}/`,
    ];
    const dict = path.join(fuzzDir, `${name}.dict`);
    if (existsSync(dict)) args.push(`-dict=${dict}`);
    args.push(...corpora);
    const [bin, binArgs] = command(name, args);
    const before = readdirSync(artifactDir).length;
    const started = Date.now();
    const [cmd, argv] = nice ? ["nice", ["-n", "10", bin, ...binArgs]] : [bin, binArgs];
    const child = spawn(cmd, argv, { cwd: cwd ?? root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let partial = "";
    const onData = (chunk) => {
      out += chunk;
      // libFuzzer's progress lines are many; echo only the interesting ones (whole lines).
      const lines = (partial + chunk).split("\n");
      partial = lines.pop();
      for (const line of lines) {
        if (/ERROR|SUMMARY|Test unit written|deadly signal|runtime error|INITED|DONE|mismatch|_fuzz:|Uncaught/.test(line)) console.log(`  ${line}`);
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
      resolve({
        name,
        ok: code === 0,
        code: code ?? signal,
        secs: (Date.now() - started) / 1000,
        execs: stat("number_of_executed_units") ?? Number(last(/^#(\d+)\s/gm) ?? 0),
        execPerSec: stat("average_exec_per_sec") ?? Number(last(/exec\/s: (\d+)/g) ?? 0),
        cov: last(/cov: (\d+)/g),
        ft: last(/ft: (\d+)/g),
        newUnits: stat("new_units_added"),
        rssMb: stat("peak_rss_mb"),
        findings: readdirSync(artifactDir).length - before,
      });
    });
  });
}
