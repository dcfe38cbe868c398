// Globals js/ reads without depending on @types/node: what scripts/build.mjs defines, and the
// parts of Node's globals that the runtime checks touch.

/** The output format being built ("esm", "cjs", "iife"): a constant esbuild substitutes. */
declare const __MC_FORMAT__: "esm" | "cjs" | "iife";
/**
 * False in metachannel.files.mjs, the ES module build for bundlers that copy the .wasm files
 * (webpack, through its "webpack" export condition): it has no base64 fallback chunk for them
 * to write into the output. There the encryption chunk is loaded by URL, as a file beside the
 * bundle (the metachannel-files condition: esbuild, Rollup); webpack and Parcel get
 * metachannel.bundler.mjs, which hands it `import("./metachannel-e2e.mjs")` to split.
 */
declare const __MC_FALLBACK__: boolean;
/**
 * False in the script-tag builds that load the .wasm files (metachannel.core.js, metachannel.js):
 * the inline copy's decoder (js/loader.ts decodeInline) is left out of them, and
 * `_useInlineWasm` throws there (the script tag with the wasm inside is metachannel.inline.js).
 */
declare const __MC_INLINE__: boolean;
/**
 * True in the builds for browsers and workers only: the script tags (IIFE) and the ES modules
 * bundlers take under the "browser" export condition (metachannel.browser.mjs,
 * metachannel.files.browser.mjs). Their Node paths (the `ws` package, reading the .wasm with
 * fs, sodium-native) are left out.
 */
declare const __MC_BROWSER__: boolean;
/** package.json's version, substituted by esbuild. */
declare const __MC_VERSION__: string;
/** CommonJS only (the cjs build): this file's folder. */
declare const __dirname: string;
declare var process: { versions?: { node?: string } | null; env?: Record<string, string | undefined> | null } | undefined;
/** Vite defines import.meta.env (js/loader.ts reads MODE: a Vite build copies the .wasm files). */
interface ImportMeta {
  readonly env?: { readonly MODE?: string };
}
