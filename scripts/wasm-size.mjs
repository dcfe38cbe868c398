// Where the bytes of a wasm module go: section sizes, and the biggest functions by code size.
//
//   node scripts/wasm-size.mjs FILE.wasm [--top N] [--group] [--match REGEX]
//
// Function names come from the wasm "name" section, which the release build strips: build a
// copy that keeps it first (same -Oz -flto code, plus the link flag --profiling-funcs):
//
//   emcmake cmake -S . -B build/wasm-names -DCMAKE_BUILD_TYPE=Release \
//     -DCMAKE_EXE_LINKER_FLAGS=--profiling-funcs
//   NODE_PATH=/usr/share/nodejs cmake --build build/wasm-names -j2   (acorn, as in build.mjs)
//   node scripts/wasm-size.mjs build/wasm-names/metachannel_core.wasm --top 40 --group
//
// (tests/bench/profiling-build.mjs makes the same kind of build, with a dist/ for the profiler.)
// --group sums the functions by origin (nlohmann, printf/strtod family, Embind, std::, ours);
// --match keeps the functions whose name matches. Sizes are the bytes of each function body in
// the code section (locals included), before gzip.
import { readFileSync } from "node:fs";

/** Sections and defined functions ({ name, size, start }: the body's bytes) of a wasm module. */
export function parseWasm(bytes) {
  let pos = 8; // magic + version
  const u32 = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[pos++];
      result += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return result;
      shift += 7;
    }
  };
  const name = () => {
    const n = u32();
    const s = bytes.toString("utf8", pos, pos + n);
    pos += n;
    return s;
  };

  const SECTION = ["custom", "type", "import", "function", "table", "memory", "global", "export", "start", "element", "code", "data", "datacount", "tag"];
  const sections = [];
  let importedFunctions = 0;
  const bodies = []; // [{ size, start }] by defined-function index
  const names = new Map(); // function index -> name
  while (pos < bytes.length) {
    const id = bytes[pos++];
    const size = u32();
    const start = pos;
    const end = start + size;
    let label = SECTION[id] || `id ${id}`;
    if (id === 0) {
      const custom = name();
      label = `custom "${custom}"`;
      if (custom === "name") {
        while (pos < end) {
          const sub = bytes[pos++];
          const subSize = u32();
          const subEnd = pos + subSize;
          if (sub === 1) {
            for (let n = u32(); n > 0; n--) names.set(u32(), name());
          }
          pos = subEnd;
        }
      }
    } else if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        name();
        name();
        const kind = bytes[pos++];
        if (kind === 0) {
          importedFunctions++;
          u32();
        } else if (kind === 1) {
          pos++;
          const flags = u32();
          u32();
          if (flags & 1) u32();
        } else if (kind === 2) {
          const flags = u32();
          u32();
          if (flags & 1) u32();
        } else if (kind === 3) {
          pos += 2;
        } else {
          pos++;
          u32();
        }
      }
    } else if (id === 10) {
      for (let n = u32(); n > 0; n--) {
        const bodySize = u32();
        bodies.push({ size: bodySize, start: pos });
        pos += bodySize;
      }
    }
    sections.push({ label, size, start });
    pos = end;
  }
  const functions = bodies.map((b, i) => ({ ...b, name: names.get(importedFunctions + i) || `function ${importedFunctions + i}` }));
  return { sections, functions, named: names.size > 0 };
}

// First match wins: order matters (nlohmann's serializer calls snprintf, but is nlohmann's).
export const GROUPS = [
  ["nlohmann/json", /nlohmann/],
  [
    "printf family",
    /printf|^getint$|^sn_write$|^fmt_|^pop_arg|^out$|^pad$|^fmt_fp|^wctomb|^wcrtomb|^frexp|__towrite|__fwritex|^printf_core|__overflow|__stdout|__lockfile/,
  ],
  [
    "strtod / float parsing",
    /strto|__floatscan|scanexp|decfloat|hexfloat|__shgetc|__shlim|__intscan|copysignl|scalbn|fmodl|__multf3|__addtf3|__letf2|__getf2|__extenddftf2|__trunctfdf2|__floatsitf|__floatunsitf|__fixtfsi|__subtf3|__eqtf2|__netf2|__divtf3|__unordtf2/,
  ],
  ["Embind", /emscripten::|embind|_embind_|__getTypeName|EmscriptenBindingInitializer/],
  ["websocket / platform", /websocket|Emscripten(Transport|Scheduler)/],
  ["malloc (emmalloc)", /malloc|free|sbrk|emmalloc|memalign|claim_more_memory|attempt_allocate/],
  // libc++ templates, over our types too (std::vector<mc::QueuedMessage*>::push_back): by the
  // function's own name, not its arguments (mc::Channel::f(std::string_view) is ours).
  ["std:: (libc++ templates)", /^([\w:]+\*? )?std::|^operator new|^operator delete|__libcpp/],
  ["metachannel (mc::, bindings/)", /\bmc::|mc_|WasmChannel|WireOptions|\(anonymous namespace\)::/],
  ["libc (mem*, str*, math, other)", /^(mem|str|__|is(digit|space)$|log$|update_offset)/],
];
/** The origin group of a function name (the first matching GROUPS entry, else "other"). */
export function groupOf(name) {
  const g = GROUPS.find(([, re]) => re.test(name));
  return g ? g[0] : "other";
}

function main() {
  const argv = process.argv.slice(2);
  const file = argv.find((a, i) => !a.startsWith("--") && !["--top", "--match"].includes(argv[i - 1]));
  if (!file) {
    console.error("usage: node scripts/wasm-size.mjs FILE.wasm [--top N] [--group] [--match REGEX]");
    process.exit(2);
  }
  const opt = (name, def) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : def);
  const top = Number(opt("--top", 30));
  const match = argv.includes("--match") ? new RegExp(opt("--match"), "i") : null;

  const bytes = readFileSync(file);
  const { sections, functions, named } = parseWasm(bytes);
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`.padStart(9);
  console.log(`${file}: ${bytes.length} bytes\n\nsections`);
  for (const s of sections) console.log(`  ${kb(s.size)}  ${s.label}`);

  if (!named) console.log("\n(no name section: build with --profiling-funcs for function names)");
  const shown = functions.filter((f) => !match || match.test(f.name)).sort((a, b) => b.size - a.size);
  const total = shown.reduce((s, f) => s + f.size, 0);
  console.log(`\n${shown.length} functions${match ? ` matching ${match}` : ""}, ${kb(total).trim()} of code; the ${Math.min(top, shown.length)} biggest:`);
  for (const f of shown.slice(0, top)) console.log(`  ${String(f.size).padStart(7)}  ${f.name.length > 150 ? `${f.name.slice(0, 147)}...` : f.name}`);

  if (argv.includes("--group")) {
    const sums = new Map();
    for (const f of functions) {
      const key = groupOf(f.name);
      const s = sums.get(key) || { size: 0, count: 0 };
      s.size += f.size;
      s.count++;
      sums.set(key, s);
    }
    console.log("\nby origin (first matching group)");
    for (const [key, s] of [...sums].sort((a, b) => b[1].size - a[1].size)) console.log(`  ${kb(s.size)}  ${String(s.count).padStart(4)} fn  ${key}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
