// The lite core (dist/metachannel-lite.wasm: no reliable delivery, no presence, no
// nlohmann/json; CMake -DMETACHANNEL_LITE=ON) is loaded by the full build's Emscripten glue, so
// the package ships one glue for two wasm files. Both links have the same imports and exports,
// but emcc names the imports by their order in the wasm's import section ("a", "b", ...), and
// that order follows the code: the lite wasm asks for `abort` later, and 10 of its 46 imports
// get other letters. adoptGlue() renames the lite wasm's imports to the full glue's letters and
// checks that nothing else differs: the lite glue with the full glue's import table must be
// the full glue byte for byte, and the two modules must export the same names.
import { readFileSync, writeFileSync } from "node:fs";

/** The glue's import table: its source text and JS function -> import name. */
function importTable(glue, file) {
  const m = /asmLibraryArg=\{([^}]*)\}/.exec(glue);
  if (!m) throw new Error(`lite core: no import table (asmLibraryArg={...}) in ${file}; did the Emscripten release change?`);
  return { text: m[0], byFunction: new Map([...m[1].matchAll(/"([^"]+)":([\w$]+)/g)].map((x) => [x[2], x[1]])) };
}

function readLeb(bytes, at) {
  let value = 0;
  let shift = 0;
  let byte;
  do {
    byte = bytes[at.p++];
    value |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80);
  return value >>> 0;
}

/** Renames function imports in place (same lengths only: no section size changes). */
function renameImports(bytes, rename) {
  const at = { p: 8 };
  while (at.p < bytes.length) {
    const id = bytes[at.p++];
    const size = readLeb(bytes, at);
    const end = at.p + size;
    if (id === 2) {
      const count = readLeb(bytes, at);
      for (let i = 0; i < count; i++) {
        const moduleName = readLeb(bytes, at);
        at.p += moduleName;
        const length = readLeb(bytes, at);
        const name = bytes.toString("latin1", at.p, at.p + length);
        const to = rename.get(name);
        if (to !== undefined) {
          if (to.length !== length) throw new Error(`lite core: import "${name}" -> "${to}" changes its length`);
          bytes.write(to, at.p, "latin1");
        }
        at.p += length;
        if (bytes[at.p++] !== 0) throw new Error(`lite core: import "${name}" is not a function`);
        readLeb(bytes, at); // type index
      }
    }
    at.p = end;
  }
}

/**
 * Writes `out`: the lite wasm with its imports renamed for the full glue. Throws, naming what
 * differs, when the full glue cannot load it.
 */
export function adoptGlue({ fullGlue, fullWasm, liteGlue, liteWasm, out }) {
  const fullJs = readFileSync(fullGlue, "utf8");
  const liteJs = readFileSync(liteGlue, "utf8");
  const full = importTable(fullJs, fullGlue);
  const lite = importTable(liteJs, liteGlue);
  const missing = [...lite.byFunction.keys()].filter((f) => !full.byFunction.has(f));
  const extra = [...full.byFunction.keys()].filter((f) => !lite.byFunction.has(f));
  if (missing.length || extra.length) {
    throw new Error(`lite core: the two links import different functions (lite only: ${missing.join(", ") || "-"}; full only: ${extra.join(", ") || "-"})`);
  }
  if (liteJs.replace(lite.text, full.text) !== fullJs) {
    throw new Error(`lite core: ${liteGlue} differs from ${fullGlue} beyond the import names: one glue cannot load both`);
  }
  const rename = new Map();
  for (const [fn, name] of lite.byFunction) if (full.byFunction.get(fn) !== name) rename.set(name, full.byFunction.get(fn));
  const bytes = readFileSync(liteWasm);
  renameImports(bytes, rename);
  const names = (m, kind) =>
    WebAssembly.Module[kind](m)
      .map((e) => e.name)
      .sort()
      .join(",");
  const fullModule = new WebAssembly.Module(readFileSync(fullWasm));
  const liteModule = new WebAssembly.Module(bytes);
  if (names(fullModule, "exports") !== names(liteModule, "exports")) throw new Error("lite core: the two wasm files export different names");
  if (names(fullModule, "imports") !== names(liteModule, "imports")) throw new Error("lite core: the renamed imports are not the full module's");
  writeFileSync(out, bytes);
  return { renamed: rename.size };
}
