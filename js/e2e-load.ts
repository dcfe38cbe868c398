// Loading the end-to-end encryption chunk (js/e2e-chunk.ts, built as dist/metachannel-e2e.mjs)
// on demand: the first Channel given a URL with a key starts it (or ready({ encryption: true })
// preloads it). A page without a key never downloads it.
//
// - ES module builds: `import("./metachannel-e2e.mjs")`, a relative dynamic import of the file
//   beside metachannel.mjs, which Vite, webpack, Rollup and Parcel split into a chunk of the
//   app (esbuild without `splitting` bundles it in).
// - CommonJS (Node): bundled into metachannel.cjs (Node downloads nothing).
// - Script tag (metachannel.js, metachannel.core.js): the same file beside the script, or where
//   ready({ locateFile }) says ("metachannel-e2e.mjs"), as the wasm. metachannel.inline.js and
//   metachannel/inline carry it (adoptEncryption).
import type { adopt, sealer } from "./e2e-chunk.js";
import { MetaChannelError } from "./errors.js";
import { besideScript } from "./loader.js";
import { messageOf } from "./util.js";

/** What the chunk exports. */
export interface EncryptionModule {
  sealer: typeof sealer;
  adopt: typeof adopt;
}

let loaded: EncryptionModule | null = null;
let loading: Promise<EncryptionModule> | null = null;

/** The inline builds hand over the chunk they carry before anything else. @internal */
export function adoptEncryption(mod: EncryptionModule): void {
  loaded = mod;
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
    const script = __MC_FORMAT__ === "iife";
    const url = script ? besideScript("metachannel-e2e.mjs", true) : "./metachannel-e2e.mjs";
    // Script tag: by URL. ES modules: the file beside this one (bundlers split it into a chunk); CommonJS: bundled in.
    const promise = (script ? import(/* webpackIgnore: true */ /* @vite-ignore */ url) : import("./metachannel-e2e.mjs")).then(
      (mod: EncryptionModule) => (loaded = mod),
      (err: unknown) => {
        if (loading === promise) loading = null;
        throw new MetaChannelError(
          "LOAD_FAILED",
          `could not load metachannel's encryption module (metachannel-e2e.mjs from ${url}): ${messageOf(err)}. ` +
            (script ? 'Serve it beside the script, or point to it with ready({ locateFile: (name) => "/path/to/" + name })' : "Check that the bundler emitted it and that the server serves it"),
        );
      },
    );
    loading = promise;
  }
  return loading;
}
