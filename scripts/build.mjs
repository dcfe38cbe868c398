// npm run build: the wasm core (CMake + Emscripten) and the JS bundles (esbuild) into dist/.
//   node scripts/build.mjs [--debug]   --debug: ASSERTIONS + SAFE_HEAP wasm into dist-debug/
import { existsSync, mkdirSync, readFileSync, writeFileSync, copyFileSync, statSync } from "node:fs";
import path from "node:path";
import { root, ensurePackages, ensureNodeModules, run } from "./toolchain.mjs";

const debug = process.argv.includes("--debug");
const buildDir = path.join(root, debug ? "build/wasm-debug" : "build/wasm");
const outDir = path.join(root, debug ? "dist-debug" : "dist");

export async function build() {
  ensurePackages("build");
  ensureNodeModules();
  const env = { ...process.env, NODE_PATH: "/usr/share/nodejs" }; // acorn for emcc's JS optimiser
  if (!existsSync(path.join(buildDir, "CMakeCache.txt"))) {
    run("emcmake", ["cmake", "-S", ".", "-B", buildDir, `-DCMAKE_BUILD_TYPE=${debug ? "Debug" : "Release"}`, `-DMETACHANNEL_DEBUG_WASM=${debug ? "ON" : "OFF"}`], { env });
  }
  run("cmake", ["--build", buildDir, "-j2"], { env });

  // The Emscripten glue is a script defining `createMetachannelCore`; make it an ES module
  // esbuild can bundle into every format.
  let glue = readFileSync(path.join(buildDir, "metachannel_core.js"), "utf8");
  const trailer = glue.indexOf("if (typeof exports === 'object' && typeof module === 'object')");
  if (trailer !== -1) glue = glue.slice(0, trailer);
  const glueModule = path.join(buildDir, "core-glue.mjs");
  writeFileSync(glueModule, `${glue}\nexport default createMetachannelCore;\n`);

  const esbuild = await import("esbuild");
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
  mkdirSync(outDir, { recursive: true });
  const common = {
    entryPoints: [path.join(root, "js/index.js")],
    bundle: true,
    minify: !debug,
    sourcemap: debug ? "inline" : false,
    target: ["es2020", "node20"],
    alias: { "#core-glue": glueModule },
    legalComments: "none",
    logLevel: "warning",
  };
  const define = (format) => ({ __MC_FORMAT__: JSON.stringify(format), __MC_VERSION__: JSON.stringify(pkg.version) });
  await Promise.all([
    esbuild.build({ ...common, format: "esm", platform: "neutral", outfile: path.join(outDir, "metachannel.mjs"), define: define("esm") }),
    esbuild.build({ ...common, format: "cjs", platform: "node", outfile: path.join(outDir, "metachannel.cjs"), define: define("cjs"), logOverride: { "empty-import-meta": "silent" } }),
    esbuild.build({ ...common, format: "iife", platform: "browser", globalName: "MetaChannel", outfile: path.join(outDir, "metachannel.js"), define: define("iife") }),
  ]);
  copyFileSync(path.join(buildDir, "metachannel_core.wasm"), path.join(outDir, "metachannel.wasm"));
  copyFileSync(path.join(root, "js/metachannel.d.ts"), path.join(outDir, "metachannel.d.ts"));
  for (const f of ["metachannel.mjs", "metachannel.cjs", "metachannel.js", "metachannel.wasm"]) {
    console.log(`  ${path.relative(root, path.join(outDir, f))}  ${statSync(path.join(outDir, f)).size} bytes`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  build().catch((err) => {
    console.error(err.message || err);
    process.exit(1);
  });
}
