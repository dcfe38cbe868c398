// Where the bytes of the Emscripten glue (build/wasm/core-glue.mjs, the trimmed release glue the
// script-tag and bundler builds carry) come from: Emscripten's runtime, Embind's JS runtime,
// emscripten/websocket.h's JS, and bindings/library.js. scripts/size-report.mjs prints the table.
//
// Each top-level statement of the glue (esbuild pretty-prints it, one statement per line at the
// wrapper's indentation) is put in the group of the library that defines the name it declares,
// read from the library files themselves (a `$name` entry is `name` in the glue, any other
// entry `_name`); a statement that declares nothing (`Module["x"] = ...`, start-up calls) goes
// with the first group name it mentions, else the runtime. A group's bytes are what the glue
// loses without it, minified by esbuild and gzipped -9 (gzip is not additive: the rows sum to
// about the whole, not exactly).
import { readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";

const gz = (text) => gzipSync(Buffer.from(text), { level: 9 }).length;

/** The names a --js-library file defines, as the glue spells them. */
function libraryNames(file) {
  const names = new Set();
  for (const m of readFileSync(file, "utf8").matchAll(/^ {2}(\$?[A-Za-z_][\w]*?)(?:__[a-z]+)?\s*:/gm)) {
    const key = m[1];
    names.add(key.startsWith("$") ? key.slice(1) : `_${key}`);
  }
  return names;
}

/**
 * @param {string} glueFile the trimmed glue (build/wasm/core-glue.mjs)
 * @param {string} emscriptenRoot the Emscripten install (its src/ holds the libraries)
 * @param {string} libraryJs bindings/library.js
 * @returns {Promise<{ group: string, statements: number, minified: number, gzip: number }[] & { whole: { minified: number, gzip: number } }>}
 */
export async function glueGroups(glueFile, emscriptenRoot, libraryJs) {
  const esbuild = await import("esbuild");
  const groups = [
    [
      "Embind JS runtime (embind/embind.js, embind/emval.js)",
      new Set([...libraryNames(path.join(emscriptenRoot, "src/embind/embind.js")), ...libraryNames(path.join(emscriptenRoot, "src/embind/emval.js"))]),
    ],
    ["websocket.h JS (library_websocket.js)", libraryNames(path.join(emscriptenRoot, "src/library_websocket.js"))],
    ["bindings/library.js (MC, the core's mc_* imports)", libraryNames(libraryJs)],
  ];
  const runtime = "Emscripten runtime (start-up, heap views, memory growth, strings, abort)";
  const pretty = (await esbuild.transform(readFileSync(glueFile, "utf8"), { format: "esm" })).code;
  const lines = pretty.split("\n");
  // The wrapper's body: the statements at the smallest indentation deeper than 2.
  const indent = Math.min(...lines.filter((l) => /^ {3,}\S/.test(l)).map((l) => l.match(/^ */)[0].length));
  // The wrapper's own lines (before and after the body) are kept in every variant.
  const statements = [];
  let current = null;
  for (const line of lines) {
    const depth = line.match(/^ */)[0].length;
    if (depth === indent && /\S/.test(line) && !/^\s*[}\])]/.test(line)) {
      current = { text: [line], group: null };
      statements.push(current);
    } else if (current && depth >= indent) current.text.push(line);
    else {
      current = null;
      statements.push({ text: [line], group: "frame" });
    }
  }
  for (const s of statements) {
    if (s.group) continue;
    const first = s.text[0].trim();
    const declared = /^(?:function\s+([\w$]+)|var\s+([\w$]+)\s*=)/.exec(first);
    const name = declared && (declared[1] || declared[2]);
    const byName = name && groups.find(([, names]) => names.has(name));
    if (byName) s.group = byName[0];
    else if (!declared) {
      const words = new Set(s.text.join("\n").match(/[\w$]+/g) || []);
      const hit = groups.find(([, names]) => [...names].some((n) => words.has(n)));
      s.group = hit ? hit[0] : runtime;
    } else s.group = runtime;
  }
  const minify = async (keep) =>
    (await esbuild.transform([...statements.filter(keep).flatMap((s) => s.text)].join("\n"), { minify: true, format: "esm", logLevel: "silent" })).code;
  const all = await minify(() => true);
  const whole = { minified: all.length, gzip: gz(all) };
  const rows = [];
  for (const group of [...groups.map(([g]) => g), runtime]) {
    const without = await minify((s) => s.group !== group);
    rows.push({
      group,
      statements: statements.filter((s) => s.group === group).length,
      minified: whole.minified - without.length,
      gzip: whole.gzip - gz(without),
    });
  }
  rows.sort((a, b) => b.gzip - a.gzip);
  return Object.assign(rows, { whole });
}
