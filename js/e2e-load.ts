// Loading the end-to-end encryption chunk (js/e2e-chunk.ts, built as dist/metachannel-e2e.mjs)
// on demand: the first Channel given a URL with a key starts it (or ready({ encryption: true })
// preloads it). A page without a key never downloads it.
//
// - metachannel.mjs: `import("./metachannel-e2e.mjs")`, a relative dynamic import of the file
//   beside it, which Vite, Rollup and esbuild with `splitting` split into a chunk of the app
//   (esbuild without `splitting` bundles it in).
// - metachannel.files.mjs (the metachannel-files condition: esbuild, Rollup; the .wasm files and
//   this one are copied beside the bundle): by URL, beside the bundle (or locateFile's), so that
//   it stays out of the bundle. webpack and Parcel get it through metachannel.bundler.mjs, which
//   hands over `import("./metachannel-e2e.mjs")` (useEncryptionImport) for them to split.
// - CommonJS (Node): bundled into metachannel.cjs (Node downloads nothing).
// - Script tag (metachannel.js, metachannel.core.js): the same file beside the script, or where
//   ready({ locateFile }) says ("metachannel-e2e.mjs"), as the wasm. metachannel.inline.js and
//   metachannel/inline carry it (adoptEncryption).
//
// In Node, libsodium seals and opens when the application has installed sodium-native (an
// optional peer dependency: 2-3x the throughput of @noble/ciphers, same wire); without it, noble.
import type { adopt, cipherName, Sodium, sealer, setSodium } from "./e2e-chunk.js";
import { MetaChannelError } from "./errors.js";
import { isNode } from "./platform.js";
import { messageOf } from "./util.js";

/** What the chunk exports. */
export interface EncryptionModule {
  sealer: typeof sealer;
  adopt: typeof adopt;
  setSodium: typeof setSodium;
  cipherName: typeof cipherName;
}

// Hidden from bundlers: browsers never load it.
const SODIUM_MODULE = "sodium-native";

/** Node: hands the chunk sodium-native if it resolves from here (else the chunk keeps noble). */
async function withSodium(mod: EncryptionModule): Promise<EncryptionModule> {
  if (!__MC_BROWSER__ && isNode) {
    try {
      const sodium = await import(/* webpackIgnore: true */ /* @vite-ignore */ SODIUM_MODULE);
      mod.setSodium((sodium.default ?? sodium) as Sodium);
    } catch {
      // not installed (or no prebuild for this platform): @noble/ciphers does the work
    }
  }
  return mod;
}

let loaded: EncryptionModule | null = null;
/** Where the chunk is by URL: js/loader.ts's besideScript (set by it: no import cycle). */
let locate: (name: string) => string = (name) => name;
/** metachannel.bundler.mjs's `() => import("./metachannel-e2e.mjs")` (webpack, Parcel split it). */
let importer: (() => Promise<EncryptionModule>) | null = null;
let loading: Promise<EncryptionModule> | null = null;

/** The inline builds hand over the chunk they carry before anything else. @internal */
export function adoptEncryption(mod: EncryptionModule): void {
  loaded = mod;
  void withSodium(mod); // Node: the sealers made once it resolves use libsodium
}

/** js/loader.ts: how to find the chunk's URL (locateFile, beside the bundle or the script). @internal */
export function locateEncryption(fn: (name: string) => string): void {
  locate = fn;
}

/** metachannel.bundler.mjs: how to import the chunk. @internal */
export function useEncryptionImport(fn: () => Promise<EncryptionModule>): void {
  importer = fn;
}

/** The chunk if it is loaded (then sockets open at once), else null. @internal */
export function loadedEncryption(): EncryptionModule | null {
  return loaded;
}

/**
 * Loads the chunk once (racing callers share one load; after a failure the next call tries
 * again). Rejects with MetaChannelError LOAD_FAILED naming the file. @internal
 */
export function loadEncryption(): Promise<EncryptionModule> {
  if (loaded) return Promise.resolve(loaded);
  if (!loading) {
    // By URL: the script tag, and metachannel.files.mjs unless metachannel.bundler.mjs gave an import.
    const byUrl = __MC_FORMAT__ === "iife" || (__MC_FORMAT__ === "esm" && !__MC_FALLBACK__ && !importer);
    const script = __MC_FORMAT__ === "iife";
    const url = byUrl ? locate("metachannel-e2e.mjs") : "./metachannel-e2e.mjs";
    const promise = (
      byUrl
        ? import(/* webpackIgnore: true */ /* @vite-ignore */ url)
        : __MC_FORMAT__ === "esm" && !__MC_FALLBACK__
          ? importer!()
          : // Vite (it defines import.meta.env.MODE; written as Vite replaces it) copies the file
            // `new URL` names as an asset and drops the branch after it: the app then holds no
            // chunk of ours and no preload helper for one (0.6 KB gzip of a plain page).
            __MC_FORMAT__ === "esm" && import.meta.env && import.meta.env.MODE
            ? import(/* @vite-ignore */ new URL("./metachannel-e2e.mjs", import.meta.url).href)
            : import("./metachannel-e2e.mjs")
    ) // metachannel.mjs elsewhere (esbuild, Rollup bundle or split it); CommonJS: bundled in
      .then(withSodium)
      .then(
        (mod: EncryptionModule) => (loaded = mod),
        (err: unknown) => {
          if (loading === promise) loading = null;
          throw new MetaChannelError(
            "LOAD_FAILED",
            `could not load metachannel's encryption module (metachannel-e2e.mjs from ${url}): ${messageOf(err)}. ` +
              (byUrl
                ? `Serve it beside the ${script ? "script" : "bundle (cp node_modules/metachannel/dist/metachannel-e2e.mjs with the .wasm files)"}, or point to it with ready({ locateFile: (name) => "/path/to/" + name })`
                : "Check that the bundler emitted it and that the server serves it"),
          );
        },
      );
    loading = promise;
  }
  return loading;
}
