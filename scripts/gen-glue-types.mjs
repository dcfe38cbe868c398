// The wasm module's exports, from one source: the C++ that defines them.
//   - raw exports: every `EMSCRIPTEN_KEEPALIVE` function of bindings/*.cpp;
//   - Embind: every `emscripten::function("name", …)` / `emscripten::constant("name", …)` of
//     bindings/bindings.cpp.
// generate(): writes the raw exports' declarations into js/core-glue.d.ts (between the marker
// lines); the Embind members
// there are written by hand, with their types, and checked here by name. checkBuilt(): at build time, fails if a built glue (full and lite core) does not export
// exactly those raw functions, or its wasm lacks an Embind name (so the declaration cannot
// drift from the wasm without failing the build).
//   node scripts/gen-glue-types.mjs           write js/core-glue.d.ts
//   node scripts/gen-glue-types.mjs --check   fail if it is stale (lint suite)
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dts = path.join(root, "js/core-glue.d.ts");
const BEGIN = "    // generated from bindings/*.cpp (EMSCRIPTEN_KEEPALIVE) by scripts/gen-glue-types.mjs: do not edit";
const END = "    // end of generated raw exports";
function between(text, begin, end, body) {
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a === -1 || b < a) throw new Error(`js/core-glue.d.ts: the markers are missing (${begin.trim()} ... ${end.trim()})`);
  return `${text.slice(0, a + begin.length)}\n${body}\n${text.slice(b)}`;
}

/** C parameter or return type -> TypeScript. Every pointer is an address (a number). */
function tsType(c) {
  const t = c.replace(/\s+/g, " ").trim();
  if (t === "void") return "void";
  if (/^(const )?(unsigned )?(int|double|float|uint8_t|uint16_t|uint32_t|int32_t|size_t|bool|char|unsigned char)( const)?\s*\*$/.test(t)) return "number";
  if (/\*$/.test(t)) return "number";
  if (/^(int|double|float|uint32_t|int32_t|bool|unsigned)$/.test(t)) return "number";
  throw new Error(`gen-glue-types: no TypeScript type for the C type "${c}" (an i64 would need BigInt: keep it out of the boundary)`);
}

/** The raw exports of bindings/*.cpp: [{ name, params: [[name, ts]], ret, file }]. */
export function rawExports() {
  const out = [];
  for (const f of readdirSync(path.join(root, "bindings"))
    .filter((x) => x.endsWith(".cpp"))
    .sort()) {
    const src = readFileSync(path.join(root, "bindings", f), "utf8");
    for (const m of src.matchAll(/EMSCRIPTEN_KEEPALIVE\s+([\w\s*]+?)\s*\b(mc_\w+)\s*\(([^)]*)\)/g)) {
      const params =
        m[3].trim() === ""
          ? []
          : m[3].split(",").map((p) => {
              const pm = /^(.*?)(\w+)$/.exec(p.trim());
              if (!pm) throw new Error(`gen-glue-types: cannot read parameter "${p}" of ${m[2]} (bindings/${f})`);
              const [, type, name] = pm;
              return /WasmChannel\s*\*/.test(type) ? ["channel", "Address"] : [name, tsType(type)];
            });
      out.push({ name: m[2], params, ret: tsType(m[1]), file: f });
    }
  }
  return out;
}

/** The names Embind registers in bindings/bindings.cpp. */
export function embindNames() {
  const src = readFileSync(path.join(root, "bindings/bindings.cpp"), "utf8");
  return [...new Set([...src.matchAll(/emscripten::(?:function|constant)\("(\w+)"/g)].map((m) => m[1]))];
}

function declarations() {
  return rawExports()
    .map((e) => `    _${e.name}(${e.params.map(([n, t]) => `${n}: ${t}`).join(", ")}): ${e.ret};`)
    .join("\n");
}

export function generate({ check = false } = {}) {
  const text = readFileSync(dts, "utf8");
  const wanted = between(text, BEGIN, END, declarations());
  // The Embind members are declared by hand (their types are not in the C++ text): by name, exactly those.
  const iface = wanted.slice(wanted.indexOf("export interface CoreModule {"));
  const declared = [...iface.slice(0, iface.indexOf("\n  }")).matchAll(/^ {4}([A-Za-z]\w*)[(:]/gm)].map((m) => m[1]).filter((n) => n !== "mc");
  const embind = embindNames();
  const missing = embind.filter((n) => !declared.includes(n));
  const extra = declared.filter((n) => !embind.includes(n));
  if (missing.length || extra.length) {
    throw new Error(
      `js/core-glue.d.ts: CoreModule's Embind members differ from bindings/bindings.cpp (not declared: ${missing.join(", ") || "-"}; not in the C++: ${extra.join(", ") || "-"})`,
    );
  }
  if (wanted === text) return [];
  if (!check) writeFileSync(dts, wanted);
  return ["js/core-glue.d.ts"];
}

/**
 * Fails (throws) if a built glue + wasm do not export what the declaration says: the glue's
 * `Module["_mc_…"]` names must be exactly the raw exports, and each Embind name must be in the wasm.
 */
export function checkBuilt(glueFile, wasmFile, what) {
  if (!existsSync(glueFile) || !existsSync(wasmFile)) throw new Error(`${what}: ${glueFile} or ${wasmFile} is missing`);
  const glue = readFileSync(glueFile, "utf8");
  const wasm = readFileSync(wasmFile).toString("latin1");
  const built = new Set([...glue.matchAll(/Module\["_(mc_\w+)"\]/g)].map((m) => m[1]));
  const declared = new Set(rawExports().map((e) => e.name));
  const notBuilt = [...declared].filter((n) => !built.has(n));
  const notDeclared = [...built].filter((n) => !declared.has(n));
  const noEmbind = embindNames().filter((n) => !wasm.includes(n));
  if (notBuilt.length || notDeclared.length || noEmbind.length) {
    throw new Error(
      `${what}: the built module and js/core-glue.d.ts disagree: declared but not exported: ${notBuilt.join(", ") || "-"}; ` +
        `exported but not declared: ${notDeclared.join(", ") || "-"}; Embind names not in the wasm: ${noEmbind.join(", ") || "-"} ` +
        "(run node scripts/gen-glue-types.mjs, and rebuild)",
    );
  }
  return built.size;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const check = process.argv.includes("--check");
  const stale = generate({ check });
  if (check && stale.length) {
    console.error(`stale generated file: ${stale.join(", ")}; run \`node scripts/gen-glue-types.mjs\` and commit it`);
    process.exit(1);
  }
  console.log(stale.length ? `${check ? "stale" : "wrote"}: ${stale.join(", ")}` : "glue types: up to date");
}
