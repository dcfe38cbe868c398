// What end-to-end encryption costs a page without a key: the same esbuild build (minified, gzip -9
// with node's zlib) of js/ at a commit before encryption and of the working tree, for the script
// tag's channel alone (js/core.ts, IIFE) and the ES module entry (js/index.ts); and the dist files.
// Needs `npm run build` (the glue module it bundles against). Figures, not assertions.
//   node tests/bench/e2e-size.mjs [base commit, default 845d6be: s4-23's tip, before encryption]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const base = process.argv[2] || "845d6be";
const esbuild = await import("esbuild");
const gz = (buf) => gzipSync(buf, { level: 9 }).length;
const kb = (n) => (n / 1024).toFixed(2);
const glue = path.join(root, "build/wasm/core-glue.mjs");

async function bundle(dir, entry, format) {
  const r = await esbuild.build({
    entryPoints: [path.join(dir, entry)],
    bundle: true,
    write: false,
    format,
    platform: format === "iife" ? "browser" : "neutral",
    globalName: "MetaChannel",
    minify: true,
    target: ["es2022", "node20"],
    alias: { "#core-glue": glue },
    legalComments: "none",
    logLevel: "error",
    define: { __MC_FORMAT__: JSON.stringify(format), __MC_FALLBACK__: "true", __MC_VERSION__: '"0"' },
    plugins: [{ name: "chunks", setup: (b) => b.onResolve({ filter: /^\.\/metachannel-(wasm|e2e)\.mjs$/ }, (a) => ({ path: a.path, external: true })) }],
  });
  return r.outputFiles[0].contents;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), "mc-e2e-size-"));
try {
  execFileSync("sh", ["-c", `git -C "${root}" archive ${base} js | tar -x -C "${tmp}"`]);
  for (const [name, entry, format] of [
    ["js/core.ts (metachannel.core.js)", "js/core.ts", "iife"],
    ["js/index.ts, ES module", "js/index.ts", "esm"],
  ]) {
    const before = gz(await bundle(tmp, entry, format));
    const now = gz(await bundle(root, entry, format));
    console.log(`${name}: ${base} ${kb(before)} KB -> now ${kb(now)} KB gzip (${now - before >= 0 ? "+" : ""}${now - before} B)`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
for (const f of ["metachannel.core.js", "metachannel.js", "metachannel-e2e.mjs", "metachannel.inline.js"]) {
  const data = readFileSync(path.join(root, "dist", f));
  console.log(`dist/${f}: ${data.length} B, ${kb(gz(data))} KB gzip`);
}
