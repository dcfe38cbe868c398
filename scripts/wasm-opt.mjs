// The post-link step of the release wasm: a current Binaryen's wasm-opt over the module emcc
// wrote (emcc 3.1.6 optimises with Debian's Binaryen 108).
//
//   node scripts/wasm-opt.mjs FILE.wasm      (scripts/build.mjs calls optimize() on the release build)
//
// - `binaryen` is an exact devDependency (package.json): same input, same bytes on every machine.
// - --mvp-features: the features emcc 3.1.6 passes its own wasm-opt, so the module runs
//   wherever emcc's did (no sign-ext, bulk memory or other post-MVP opcodes introduced).
// - -Oz --converge: size first, repeated until a pass saves nothing more.
// - No -tnh/--traps-never-happen: nlohmann's JSON_NOEXCEPTION aborts are traps, and must stay
//   traps (it would let wasm-opt assume they never run).
// emcc runs its Binaryen tools by bare name from PATH, so build.mjs keeps node_modules/.bin (this
// package's wasm-opt) out of emcc's PATH: emcc's steps (import/export minification) need the
// version it expects.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

export const WASM_OPT_ARGS = ["--mvp-features", "-Oz", "--converge"];

/** Optimises `file` in place, once: a stamp beside it records the output, so a build that did
 *  not relink (the same file) is not optimised a second time. */
export function optimize(file) {
  const stamp = `${file}.wasm-opt`;
  const id = () => {
    const s = statSync(file);
    return `${s.size} ${s.mtimeMs} ${WASM_OPT_ARGS.join(" ")}`;
  };
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === id()) return null;
  const bin = path.join(path.dirname(createRequire(import.meta.url).resolve("binaryen/package.json")), "bin/wasm-opt");
  const before = statSync(file).size;
  const r = spawnSync(process.execPath, [bin, ...WASM_OPT_ARGS, file, "-o", file], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`wasm-opt ${WASM_OPT_ARGS.join(" ")} ${file} failed (${r.status ?? r.signal})`);
  writeFileSync(stamp, id());
  return { before, after: statSync(file).size };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: node scripts/wasm-opt.mjs FILE.wasm");
    process.exit(2);
  }
  const done = optimize(file);
  console.log(done ? `  wasm-opt ${WASM_OPT_ARGS.join(" ")}: ${done.before} -> ${done.after} bytes` : "  already optimised");
}
