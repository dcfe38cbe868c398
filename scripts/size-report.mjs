// Where every byte of what a page downloads goes: the two wasm cores by origin and the JS by
// module, raw and gzip -9. The tables in docs/benchmarks.md ("Where every KB goes") are its output.
//
//   npm run build && node scripts/size-report.mjs [--markdown]
//
// wasm: builds build/wasm-names and build/wasm-names-lite (the release CMake build plus the link
// flag --profiling-funcs, which keeps function names; same -Oz -flto code), runs the release's
// post-link wasm-opt over each with -g (names kept), and sums the code section's function
// bodies by origin (the groups of scripts/wasm-size.mjs). "gzip" per group is the group's
// function bodies gzipped on their own: gzip is not additive, so the column sums to more than
// the whole file; it ranks the groups, the file's own gzip is the total that counts. The first
// rows compare the names build with dist/ (the same code, without the name section).
// JS: the script-tag builds (dist/metachannel.core.js, dist/metachannel.js) rebuilt in memory by
// esbuild with a metafile (the options of scripts/build.mjs), bytes per input module after
// minification, and each module's minified output gzipped on its own.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { root } from "./toolchain.mjs";
import { WASM_OPT_ARGS } from "./wasm-opt.mjs";
import { glueGroups } from "./glue-size.mjs";
import { parseWasm, groupOf } from "./wasm-size.mjs";

const gz = (buf) => gzipSync(buf, { level: 9 }).length;
const fmt = (n) => n.toLocaleString("en-US");
const env = { ...process.env, NODE_PATH: "/usr/share/nodejs" };
env.PATH = (env.PATH || "")
  .split(path.delimiter)
  .filter((d) => !d.endsWith(`node_modules${path.sep}.bin`))
  .join(path.delimiter);
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal})`);
};

function namesBuild(dir, lite) {
  const buildDir = path.join(root, "build", dir);
  if (!existsSync(path.join(buildDir, "CMakeCache.txt"))) {
    run("emcmake", [
      "cmake",
      "-S",
      ".",
      "-B",
      buildDir,
      "-DCMAKE_BUILD_TYPE=Release",
      "-DMETACHANNEL_DEBUG_WASM=OFF",
      `-DMETACHANNEL_LITE=${lite ? "ON" : "OFF"}`,
      "-DCMAKE_EXE_LINKER_FLAGS=--profiling-funcs",
    ]);
  }
  run("cmake", ["--build", buildDir, "-j2"]);
  const wasmOpt = path.join(path.dirname(createRequire(import.meta.url).resolve("binaryen/package.json")), "bin/wasm-opt");
  const out = path.join(buildDir, "names-opt.wasm");
  run(process.execPath, [wasmOpt, "-g", ...WASM_OPT_ARGS, path.join(buildDir, "metachannel_core.wasm"), "-o", out]);
  return out;
}

function wasmTable(label, distFile, namesFile) {
  const bytes = readFileSync(namesFile);
  const m = parseWasm(bytes);
  const dist = readFileSync(distFile);
  const rows = [];
  const groups = new Map();
  for (const f of m.functions) {
    const g = groupOf(f.name);
    if (!groups.has(g)) groups.set(g, { size: 0, count: 0, parts: [] });
    const e = groups.get(g);
    e.size += f.size;
    e.count++;
    e.parts.push(bytes.subarray(f.start, f.start + f.size));
  }
  const code = m.sections.find((s) => s.label === "code");
  const data = m.sections.find((s) => s.label === "data");
  const lines = [];
  lines.push(`#### ${label}: ${path.relative(root, distFile)} ${fmt(dist.length)} B, gzip ${fmt(gz(dist))} B`);
  lines.push("");
  lines.push("| part | functions | raw | gzip alone |");
  lines.push("|---|---:|---:|---:|");
  for (const [g, e] of [...groups].sort((a, b) => b[1].size - a[1].size)) {
    rows.push({ g, ...e });
    lines.push(`| ${g} | ${e.count} | ${fmt(e.size)} B | ${fmt(gz(Buffer.concat(e.parts)))} B |`);
  }
  const dataBytes = bytes.subarray(data.start, data.start + data.size);
  lines.push(`| data section (strings, tables) | | ${fmt(data.size)} B | ${fmt(gz(dataBytes))} B |`);
  const other = m.sections.filter((s) => !["code", "data"].includes(s.label) && !s.label.startsWith("custom"));
  const otherSize = other.reduce((s, x) => s + x.size, 0);
  lines.push(`| other sections (${other.map((s) => s.label).join(", ")}) | | ${fmt(otherSize)} B | |`);
  lines.push(`| **code section** | ${m.functions.length} | ${fmt(code.size)} B | ${fmt(gz(bytes.subarray(code.start, code.start + code.size)))} B |`);
  lines.push("");
  return { lines, groups: rows };
}

async function jsTable(entry, outfile) {
  const esbuild = await import("esbuild");
  const glueModule = path.join(root, "build/wasm/core-glue.mjs");
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
  const common = {
    bundle: true,
    write: false,
    metafile: true,
    format: "iife",
    platform: "browser",
    globalName: "MetaChannel",
    minify: true,
    target: ["es2022", "node20"],
    alias: { "#core-glue": glueModule },
    legalComments: "none",
    logLevel: "error",
    define: { __MC_FORMAT__: '"iife"', __MC_FALLBACK__: "true", __MC_INLINE__: "false", __MC_VERSION__: JSON.stringify(pkg.version) },
    plugins: [
      {
        name: "wasm-chunk",
        setup(b) {
          b.onResolve({ filter: /^\.\/metachannel-wasm\.mjs$/ }, () => ({ path: path.join(root, "dist/metachannel-wasm.mjs") }));
        },
      },
    ],
  };
  const whole = await esbuild.build({ ...common, entryPoints: [path.join(root, entry)] });
  const text = whole.outputFiles[0].contents;
  const inputs = Object.values(whole.metafile.outputs)[0].inputs;
  const lines = [];
  const shipped = path.join(root, "dist", outfile);
  const shippedNote = existsSync(shipped) ? `; dist/${outfile} ${fmt(statSync(shipped).size)} B, gzip ${fmt(gz(readFileSync(shipped)))} B` : "";
  lines.push(`#### ${outfile} (esbuild --minify, this tree): ${fmt(text.length)} B, gzip ${fmt(gz(text))} B${shippedNote}`);
  lines.push("");
  lines.push("| module | minified | share of gzip |");
  lines.push("|---|---:|---:|");
  // esbuild's metafile gives each module's bytes in the minified output, not its text, so the
  // gzip column is the module's share of the bundle's gzip, in proportion to those bytes.
  const total = Object.values(inputs).reduce((s, v) => s + v.bytesInOutput, 0);
  const gzTotal = gz(text);
  for (const [k, v] of Object.entries(inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput)) {
    if (!v.bytesInOutput) continue;
    const name = k.includes("core-glue") ? "Emscripten glue (Embind runtime, websocket.h JS, bindings/library.js)" : k;
    lines.push(`| ${name} | ${fmt(v.bytesInOutput)} B | ≈ ${fmt(Math.round((v.bytesInOutput / total) * gzTotal))} B |`);
  }
  // The glue on its own, minified by esbuild as a module: its gzip measured, not apportioned.
  const glueOnly = await esbuild.build({ ...common, metafile: false, entryPoints: [glueModule], globalName: "G" });
  lines.push(`| (the glue minified on its own: ${fmt(glueOnly.outputFiles[0].contents.length)} B, gzip ${fmt(gz(glueOnly.outputFiles[0].contents))} B) | | |`);
  lines.push("");
  return lines;
}

/** The glue by origin (scripts/glue-size.mjs). */
async function glueTable() {
  const emcc = spawnSync("em-config", ["EMSCRIPTEN_ROOT"], { encoding: "utf8", env });
  const emscriptenRoot = emcc.status === 0 && emcc.stdout.trim() ? emcc.stdout.trim() : "/usr/share/emscripten";
  const rows = await glueGroups(path.join(root, "build/wasm/core-glue.mjs"), emscriptenRoot, path.join(root, "bindings/library.js"));
  const lines = [`#### The glue by origin: build/wasm/core-glue.mjs minified ${fmt(rows.whole.minified)} B, gzip ${fmt(rows.whole.gzip)} B`, ""];
  lines.push("| part | statements | minified | gzip (what the glue loses without it) |");
  lines.push("|---|---:|---:|---:|");
  for (const r of rows) lines.push(`| ${r.group} | ${r.statements} | ${fmt(r.minified)} B | ${fmt(r.gzip)} B |`);
  lines.push("");
  return lines;
}

const out = [];
for (const [label, dist, dir, lite] of [
  ["plain core", "dist/metachannel-lite.wasm", "wasm-names-lite", true],
  ["full core", "dist/metachannel.wasm", "wasm-names", false],
]) {
  const distFile = path.join(root, dist);
  if (!existsSync(distFile)) throw new Error(`${dist} missing: run npm run build first`);
  out.push(...wasmTable(label, distFile, namesBuild(dir, lite)).lines);
}
out.push(...(await jsTable("js/core.ts", "metachannel.core.js")));
out.push(...(await glueTable()));
out.push(...(await jsTable("js/index.ts", "metachannel.js")));
console.log(out.join("\n"));
