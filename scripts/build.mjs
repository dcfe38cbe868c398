// npm run build: the wasm core (CMake + Emscripten) and the JS bundles (esbuild) into dist/.
//   node scripts/build.mjs [--debug]   --debug: ASSERTIONS + SAFE_HEAP wasm into dist-debug/
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, copyFileSync, statSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { root, ensurePackages, ensureNodeModules, run } from "./toolchain.mjs";
import { generate } from "./gen-vocabulary.mjs";
import { checkBuilt, generate as generateGlueTypes } from "./gen-glue-types.mjs";
import { emitDeclarations, extract } from "./api.mjs";

const debug = process.argv.includes("--debug");
const buildDir = path.join(root, debug ? "build/wasm-debug" : "build/wasm");
const outDir = path.join(root, debug ? "dist-debug" : "dist");
const liteDir = path.join(root, "build/wasm-lite");
/** The modules of js/ that metachannel/store and metachannel/react import as the package's own entries. */
const OWN_ENTRIES = { "./index.js": "metachannel", "./store.js": "metachannel/store" };
/**
 * The client subpaths (metachannel/<name>, js/<name>.ts): what each exports, values and types.
 * Their modules that hold state or identity (the Channel class, the loader's cores, the error
 * class, the route hubs) are the root entry's, imported as "metachannel" (ROOT_SHARED).
 */
export const CLIENT_ENTRIES = {
  metaframe: {
    values: ["MetaframeClient", "bindMetaframe", "connectFromEnv", "metaframeDefinition"],
    types: ["MetaframeClientOptions", "BindMetaframeOptions", "ConnectFromEnvOptions", "MetaframeDefinitionOptions"],
  },
  chat: { values: ["ChatClient"], types: ["ChatClientOptions", "ChatClientEvents", "ChatEvent"] },
  "live-data": { values: ["LiveDataClient"], types: [] },
};
const ROOT_SHARED = {
  "./channel.js": 'export { Channel, _openChannel as openChannel } from "metachannel";',
  "./loader.js": 'export { _readyFor as readyFor } from "metachannel";',
  "./errors.js": 'export { MetaChannelError, _invalid as invalid } from "metachannel";',
  "./route-hub.js": 'export { _RouteHub as RouteHub } from "metachannel";',
  "./emitter.js": 'export { _Emitter as Emitter } from "metachannel";',
  "./options.js": 'export { _normalizeOptions as normalizeOptions } from "metachannel";',
};

/**
 * esbuild's ES module output as a classic script that defines the global `name` with the
 * module's exports: what esbuild's format "iife" with a globalName does, without the helpers it
 * writes to copy them onto a namespace object as getters (0.2 KB gzip of metachannel.core.js).
 * Every export of the package is a constant binding (functions, classes, `const`), so a plain
 * object holds the same values.
 */
export function esmToGlobal(text, name) {
  const last = /\bexport\s*\{([^}]*)\};?\s*(\/\/# sourceMappingURL=\S*\s*)?$/.exec(text); // the debug build's inline source map last
  const body = last ? text.slice(0, last.index) : "";
  if (!last || /(^|[;\n}])\s*(import|export)\b\s*[{*\w]/.test(body)) {
    throw new Error(`build: expected an ES module whose only export is one closing "export { ... }" statement, to define the global ${name}`);
  }
  const members = last[1]
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [local, as, exported] = s.split(/\s+/);
      return as === "as" ? `${exported}:${local}` : local;
    });
  return `"use strict";var ${name}=(()=>{${body}return{${members.join(",")}}})();\n${last[2] ?? ""}`;
}

/**
 * The core's raw exports (`_mc_*`) that js/ reads from the module object (`core._mc_…(…)`):
 * what the trimmed glue puts on it (scripts/trim-glue.mjs); library.js calls the others by the
 * glue's own variables.
 */
function rawExportsReadByJs() {
  const names = new Set();
  for (const file of readdirSync(path.join(root, "js"))) {
    if (!file.endsWith(".ts") || file.endsWith(".d.ts")) continue;
    for (const [, name] of readFileSync(path.join(root, "js", file), "utf8").matchAll(/\.(_mc_\w+)/g)) names.add(name);
  }
  return names;
}

export async function build() {
  ensurePackages("build");
  ensureNodeModules();
  generate(); // js/vocabulary.ts and README's error codes, from src/metachannel/vocabulary.h
  generateGlueTypes(); // js/core-glue.d.ts's raw exports, from bindings/*.cpp
  const env = { ...process.env, NODE_PATH: "/usr/share/nodejs" }; // acorn for emcc's JS optimiser
  env.PATH = (env.PATH || "")
    .split(path.delimiter)
    .filter((d) => !d.endsWith(`node_modules${path.sep}.bin`))
    .join(path.delimiter); // emcc runs Binaryen from PATH: its own, not npm's (scripts/wasm-opt.mjs)
  if (!existsSync(path.join(buildDir, "CMakeCache.txt"))) {
    run(
      "emcmake",
      ["cmake", "-S", ".", "-B", buildDir, `-DCMAKE_BUILD_TYPE=${debug ? "Debug" : "Release"}`, `-DMETACHANNEL_DEBUG_WASM=${debug ? "ON" : "OFF"}`],
      { env },
    );
  }
  run("cmake", ["--build", buildDir, "-j2"], { env });
  if (!debug) (await import("./wasm-opt.mjs")).optimize(path.join(buildDir, "metachannel_core.wasm")); // a current wasm-opt over the release wasm
  if (!debug) {
    // The lite core (no reliable delivery or presence), for ready({ core: "lite" }): the same
    // link without reliability.cpp and nlohmann/json, loaded by the same glue (scripts/lite-core.mjs).
    if (!existsSync(path.join(liteDir, "CMakeCache.txt"))) {
      run("emcmake", ["cmake", "-S", ".", "-B", liteDir, "-DCMAKE_BUILD_TYPE=Release", "-DMETACHANNEL_DEBUG_WASM=OFF", "-DMETACHANNEL_LITE=ON"], { env });
    }
    run("cmake", ["--build", liteDir, "-j2"], { env });
    (await import("./wasm-opt.mjs")).optimize(path.join(liteDir, "metachannel_core.wasm"));
  }
  // Both cores export exactly what js/core-glue.d.ts declares (scripts/gen-glue-types.mjs).
  checkBuilt(path.join(buildDir, "metachannel_core.js"), path.join(buildDir, "metachannel_core.wasm"), "full core");
  if (!debug) checkBuilt(path.join(liteDir, "metachannel_core.js"), path.join(liteDir, "metachannel_core.wasm"), "lite core");

  // The Emscripten glue is a script defining `createMetachannelCore`; make it an ES module
  // esbuild can bundle into every format.
  let glue = readFileSync(path.join(buildDir, "metachannel_core.js"), "utf8");
  const trailer = glue.indexOf("if (typeof exports === 'object' && typeof module === 'object')");
  if (trailer !== -1) glue = glue.slice(0, trailer);
  if (!debug) glue = (await import("./trim-glue.mjs")).trimGlue(glue, rawExportsReadByJs()).text; // what the loader never runs (scripts/trim-glue.mjs)
  const glueModule = path.join(buildDir, "core-glue.mjs");
  writeFileSync(glueModule, `${glue}\nexport default createMetachannelCore;\n`);

  // The wasm carried in the JS, for the inline entries (metachannel/inline, metachannel.inline.js).
  const wasmFile = path.join(buildDir, "metachannel_core.wasm");
  mkdirSync(outDir, { recursive: true });
  const inlineModule = path.join(outDir, "metachannel-wasm.mjs");
  // gzip -9 inside the base64: a page then downloads about the wasm file's own gzip size (47.9 KB
  // for the full core), where the base64 of the bare wasm gzips to 61.3 KB.
  const inlineBase64 = gzipSync(readFileSync(wasmFile), { level: 9 }).toString("base64");
  writeFileSync(
    inlineModule,
    `// metachannel.wasm, gzip, base64 (js/loader.ts decodeInline): the fallback of metachannel.mjs and the wasm of metachannel/inline.\nexport default ${JSON.stringify(inlineBase64)};\n`,
  );

  const esbuild = await import("esbuild");
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
  const common = {
    bundle: true,
    // The ES module and CommonJS builds are for tools (bundlers minify for their users, and
    // an uncaught error in Node shows a readable line); only the script-tag builds are minified.
    minify: false,
    minifySyntax: true, // drops the branches of other formats, keeps names and layout
    sourcemap: debug ? "inline" : false,
    // es2022: native #private fields. For es2020 esbuild lowered each to a WeakMap, one entry per
    // field per instance (1,000 channels: 1.39x raw's open time -> 1.22x, docs/benchmarks.md).
    // The output's newest syntax is private methods: Chrome/Edge 84, Firefox 90, Safari 15; Node 20.
    target: ["es2022", "node20"],
    alias: { "#core-glue": glueModule },
    legalComments: "none",
    logLevel: "warning",
  };
  // "./metachannel-wasm.mjs" in js/: the generated file, bundled in, or (metachannel.mjs) left
  // as an import of the file beside it.
  // "./metachannel-e2e.mjs" (js/e2e-load.ts): the encryption chunk, left as an import of the
  // file beside the bundle (ES modules: bundlers split it; the script tag imports it by URL), or
  // bundled in (CommonJS: Node downloads nothing).
  const e2eChunk = path.join(root, "js/e2e-chunk.ts");
  // metachannel.inline.js (one file) bundles it in too.
  const wasmChunk = (keepExternal, bundleE2e = false) => ({
    name: "wasm-chunk",
    setup(b) {
      b.onResolve({ filter: /^\.\/metachannel-wasm\.mjs$/ }, (args) => (keepExternal ? { path: args.path, external: true } : { path: inlineModule }));
      b.onResolve({ filter: /^\.\/metachannel-e2e\.mjs$/ }, (args) =>
        bundleE2e || b.initialOptions.format === "cjs" ? { path: e2eChunk } : { path: args.path, external: true },
      );
    },
  });
  const main = path.join(root, "js/index.ts");
  const inline = path.join(root, "js/inline.ts");
  if (debug) {
    // The debug glue is built for Node too (see CMakeLists.txt) and then calls CommonJS
    // require("fs"/"path") and reads __dirname: leave those to runtime, and give the ES module
    // both when it runs in Node (elsewhere that branch of the glue never runs).
    common.external = ["fs", "path"];
  }
  const esmBanner = debug
    ? 'const require = typeof process === "object" && process.versions && process.versions.node ? (await import("node:module")).createRequire(import.meta.url) : undefined;\n' +
      'const __dirname = require ? require("node:path").dirname(require("node:url").fileURLToPath(import.meta.url)) : "";'
    : "";
  const define = (format, fallback = true, inline = true, browser = format === "iife") => ({
    __MC_FORMAT__: JSON.stringify(format),
    __MC_BROWSER__: String(browser),
    __MC_FALLBACK__: String(fallback),
    __MC_INLINE__: String(inline),
    __MC_VERSION__: JSON.stringify(pkg.version),
  });
  const quiet = { "empty-import-meta": "silent" };
  // The builds for browsers and bundlers (not Node's metachannel.mjs / .cjs, kept readable) name
  // the core's raw exports (`core._mc_channel_state(…)`, set on the module by the trimmed glue)
  // by short names: each is one bundle with its glue, and nothing outside it reads them.
  const MANGLE = { mangleProps: /^_mc_/ };
  const outputs = [
    // The encryption chunk (js/e2e-chunk.ts with @noble/ciphers), loaded on demand by every
    // build but the CommonJS one; minified: browsers download it as is from the script tag.
    { entryPoints: [e2eChunk], format: "esm", platform: "neutral", outfile: "metachannel-e2e.mjs", minify: !debug },
    // The fallback chunk stays a file of its own beside metachannel.mjs.
    { entryPoints: [main], format: "esm", platform: "neutral", outfile: "metachannel.mjs", banner: { js: esmBanner }, plugins: [wasmChunk(true)] },
    // The same without the fallback chunk, for webpack (the "webpack" export condition), which
    // copies the .wasm files.
    {
      entryPoints: [main],
      format: "esm",
      platform: "neutral",
      outfile: "metachannel.files.mjs",
      banner: { js: esmBanner },
      plugins: [wasmChunk(true)],
      fallback: false,
      mangle: true,
    },
    // The same two for browsers and workers only (the "browser" export condition, which Vite,
    // webpack, esbuild and Rollup's node-resolve set for a web build; Parcel reads the "module"
    // field, metachannel.bundler.mjs, instead): without the Node paths (the `ws` package, reading the .wasm with fs,
    // sodium-native), and minified by terser alone (below), which keeps the bundlers' magic
    // comments (`webpackIgnore`, `@vite-ignore`) that esbuild's minifier drops.
    {
      entryPoints: [main],
      format: "esm",
      platform: "browser",
      outfile: "metachannel.browser.mjs",
      plugins: [wasmChunk(true)],
      browser: true,
      terse: true,
      mangle: true,
    },
    {
      entryPoints: [main],
      format: "esm",
      platform: "browser",
      outfile: "metachannel.files.browser.mjs",
      plugins: [wasmChunk(true)],
      fallback: false,
      browser: true,
      terse: true,
      mangle: true,
    },
    { entryPoints: [main], format: "cjs", platform: "node", outfile: "metachannel.cjs", logOverride: quiet, plugins: [wasmChunk(false)] },
    {
      entryPoints: [main],
      format: "iife",
      platform: "browser",
      scriptGlobal: "MetaChannel",
      outfile: "metachannel.js",
      minify: !debug,
      mangle: true,
      logOverride: quiet,
      plugins: [wasmChunk(false)],
      inline: false, // the script tag with the wasm inside is metachannel.inline.js (js/inline.ts)
    },
  ];
  if (!debug) {
    // The channel alone for the script tag (js/core.ts): a plain page's JS without the clients.
    outputs.push({
      entryPoints: [path.join(root, "js/core.ts")],
      format: "iife",
      platform: "browser",
      scriptGlobal: "MetaChannel",
      outfile: "metachannel.core.js",
      minify: true,
      mangle: true,
      logOverride: quiet,
      plugins: [wasmChunk(false)],
      inline: false, // the inline copy's decoder is dead code here
    });
    outputs.push({
      entryPoints: [inline],
      format: "iife",
      platform: "browser",
      // esbuild's own IIFE here: the wasm inside this file (41.8 KB of base64) stays at its
      // end, where gzip needs it (the terser pass over esmToGlobal()'s `return {...}` moves the
      // client classes behind it: +0.6 KB gzip).
      globalName: "MetaChannel",
      outfile: "metachannel.inline.js",
      minify: true,
      mangle: true,
      logOverride: quiet,
      plugins: [wasmChunk(false, true)],
    });
  }
  if (!debug) {
    // metachannel/store and metachannel/react, each alone: the package's other entries (the
    // user's own copy of the package, so one loader and one set of shared channels) and
    // "react" stay imports.
    const ownEntries = {
      name: "own-entries",
      setup(b) {
        b.onResolve({ filter: /^\.\/(index|store)\.js$/ }, (args) => ({ path: OWN_ENTRIES[args.path], external: true }));
      },
    };
    // metachannel/metaframe, /chat, /live-data: the client modules alone, the root's state shared.
    const rootShared = {
      name: "root-shared",
      setup(b) {
        b.onResolve({ filter: /^\.\/(channel|loader|errors|route-hub|emitter|options)\.js$/ }, (args) => ({ path: args.path, namespace: "mc-root" }));
        b.onLoad({ filter: /.*/, namespace: "mc-root" }, (args) => ({ contents: ROOT_SHARED[args.path], loader: "js" }));
      },
    };
    for (const name of Object.keys(CLIENT_ENTRIES)) {
      for (const format of ["esm", "cjs"]) {
        const outfile = `${name}.${format === "esm" ? "mjs" : "cjs"}`;
        outputs.push({
          entryPoints: [path.join(root, `js/${name}.ts`)],
          format,
          platform: "neutral",
          outfile,
          external: ["metachannel"],
          plugins: [rootShared],
        });
      }
    }
    for (const name of ["store", "react"]) {
      for (const format of ["esm", "cjs"]) {
        const outfile = `${name}.${format === "esm" ? "mjs" : "cjs"}`;
        outputs.push({ entryPoints: [path.join(root, `js/${name}.ts`)], format, platform: "neutral", outfile, external: ["react"], plugins: [ownEntries] });
      }
    }
  }
  await Promise.all(
    outputs.map(async ({ outfile, format, fallback, inline, browser, terse, mangle, scriptGlobal, ...rest }) => {
      const file = path.join(outDir, outfile);
      await esbuild.build({
        ...common,
        ...rest,
        ...(mangle && !debug ? MANGLE : {}),
        // The script tags: an ES module made a classic script by esmToGlobal() below.
        format: scriptGlobal ? "esm" : format,
        outfile: file,
        define: define(format, fallback, inline, browser),
      });
      if (scriptGlobal) writeFileSync(file, esmToGlobal(readFileSync(file, "utf8"), scriptGlobal));
    }),
  );
  // The files browsers download as they are (the script tags, the encryption chunk) get a second
  // pass from terser over esbuild's minified output: two compress passes and its mangler, whose
  // names follow the output's character frequencies, gzip 6 % smaller (metachannel.core.js
  // 19,604 -> 18,395 B; docs/benchmarks.md, "What each cut saved"). No unsafe options.
  const { minify: terse } = await import("terser");
  for (const { outfile, format, minify, terse: terseOnly } of outputs) {
    if (!minify && !(terseOnly && !debug)) continue;
    const file = path.join(outDir, outfile);
    const out = await terse(readFileSync(file, "utf8"), {
      ecma: 2020,
      module: format === "esm",
      compress: { passes: 2 },
      mangle: true,
      ...(terseOnly ? { format: { comments: /webpackIgnore|@vite-ignore/ } } : {}),
    });
    writeFileSync(file, out.code);
  }
  if (!debug) {
    // metachannel/inline for bundlers and CDNs: the main build plus the wasm from the chunk
    // (ES module), or carried in the file (CommonJS, which cannot import the ES module chunk).
    // metachannel.inline.browser.mjs: the same over metachannel.files.browser.mjs (the "browser"
    // condition; the wasm and the encryption chunk are carried, so the build without fallbacks).
    for (const [outfile, main] of [
      ["metachannel.inline.mjs", "metachannel.mjs"],
      ["metachannel.inline.browser.mjs", "metachannel.files.browser.mjs"],
    ]) {
      writeFileSync(
        path.join(outDir, outfile),
        "// metachannel with the wasm inside the JS (no metachannel.wasm to serve).\n" +
          'import wasm from "./metachannel-wasm.mjs";\nimport * as encryption from "./metachannel-e2e.mjs";\n' +
          `import { _useInlineWasm, _useEncryption } from "./${main}";\n` +
          `_useInlineWasm(wasm);\n_useEncryption(encryption); // one file for bundlers: no chunk to emit or serve\nexport * from "./${main}";\n`,
      );
    }
    writeFileSync(
      path.join(outDir, "metachannel.inline.cjs"),
      '"use strict";\n// metachannel with the wasm inside the JS (no metachannel.wasm to serve).\n' +
        'const mc = require("./metachannel.cjs");\n' +
        `mc._useInlineWasm(${JSON.stringify(inlineBase64)});\nmodule.exports = mc;\n`,
    );
    // webpack and Parcel: metachannel.files.mjs (the .wasm files, which they copy), with the
    // encryption chunk as a dynamic import they split into a chunk of the app (metachannel.files.mjs
    // alone loads it by URL: the metachannel-files condition, esbuild and Rollup, whose users copy it).
    writeFileSync(
      path.join(outDir, "metachannel.bundler.mjs"),
      "// metachannel for webpack and Parcel: metachannel.files.mjs, the encryption chunk split by the bundler.\n" +
        'import { _useEncryptionImport } from "./metachannel.files.mjs";\n' +
        '_useEncryptionImport(() => import("./metachannel-e2e.mjs"));\nexport * from "./metachannel.files.mjs";\n',
    );
    // metachannel.webpack.mjs, webpack's web build (the "browser" and "webpack" conditions):
    // webpack copies the file `new URL(…, import.meta.url)` names as an asset, and the chunk is
    // imported by that URL, so the app holds no chunk-loading runtime (0.8 KB gzip of a plain
    // page). Parcel makes such a file a classic script without its exports: it keeps the split
    // chunk above (through the "module" field; a "browser" field map to a browser build of it
    // saved Parcel 0.1 KB and publint --strict asks for none).
    writeFileSync(
      path.join(outDir, "metachannel.webpack.mjs"),
      "// metachannel for webpack's web builds: metachannel.files.browser.mjs, the encryption chunk an asset imported by URL.\n" +
        'import { _useEncryptionImport } from "./metachannel.files.browser.mjs";\n' +
        '_useEncryptionImport(() => import(/* webpackIgnore: true */ new URL("./metachannel-e2e.mjs", import.meta.url).href));\n' +
        'export * from "./metachannel.files.browser.mjs";\n',
    );
    outputs.push(
      { outfile: "metachannel.inline.mjs" },
      { outfile: "metachannel.inline.browser.mjs" },
      { outfile: "metachannel.inline.cjs" },
      { outfile: "metachannel.bundler.mjs" },
      { outfile: "metachannel.webpack.mjs" },
    );
  }
  copyFileSync(wasmFile, path.join(outDir, "metachannel.wasm"));
  const wasmFiles = ["metachannel.wasm"];
  if (!debug) {
    const { adoptGlue } = await import("./lite-core.mjs");
    adoptGlue({
      fullGlue: path.join(buildDir, "metachannel_core.js"),
      fullWasm: wasmFile,
      liteGlue: path.join(liteDir, "metachannel_core.js"),
      liteWasm: path.join(liteDir, "metachannel_core.wasm"),
      out: path.join(outDir, "metachannel-lite.wasm"),
    });
    wasmFiles.push("metachannel-lite.wasm");
  }
  // The published types, generated from js/*.ts (tsc declarations rolled up by api-extractor;
  // the API report is checked by the package suite, see scripts/api.mjs). One declaration
  // file, as ES module types (.d.ts, "type": "module") and CommonJS types (.d.cts).
  emitDeclarations();
  const types = extract({ report: false });
  if (!types.ok) throw new Error("build: api-extractor could not roll up the types (see above)");
  for (const name of ["metachannel.d.ts", "metachannel.d.cts"]) copyFileSync(types.rollup, path.join(outDir, name));
  if (!debug) {
    // metachannel/store's and metachannel/react's types: tsc's declarations, naming the package's own entries.
    for (const name of ["store", "react"]) {
      const types = readFileSync(path.join(root, `build/types/${name}.d.ts`), "utf8").replace(
        /from "(\.\/(?:index|store)\.js)"/g,
        (_, p) => `from "${OWN_ENTRIES[p]}"`,
      );
      if (/from "\.\//.test(types)) throw new Error(`build: build/types/${name}.d.ts imports a module that is not an entry of the package`);
      for (const ext of ["d.ts", "d.cts"]) writeFileSync(path.join(outDir, `${name}.${ext}`), types);
      outputs.push({ outfile: `${name}.d.ts` });
    }
    // The client subpaths' types: the root's declarations of the same names.
    for (const [name, { values, types }] of Object.entries(CLIENT_ENTRIES)) {
      const text =
        `// metachannel/${name}: the same declarations as the root entry's.\n` +
        `export { ${values.join(", ")} } from "metachannel";\n` +
        (types.length ? `export type { ${types.join(", ")} } from "metachannel";\n` : "");
      for (const ext of ["d.ts", "d.cts"]) writeFileSync(path.join(outDir, `${name}.${ext}`), text);
      outputs.push({ outfile: `${name}.d.ts` });
    }
  }
  for (const f of [...outputs.map((o) => o.outfile), ...wasmFiles]) {
    console.log(`  ${path.relative(root, path.join(outDir, f))}  ${statSync(path.join(outDir, f)).size} bytes`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  build().catch((err) => {
    console.error(err.message || err);
    process.exit(1);
  });
}
