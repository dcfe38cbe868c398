// Loading the end-to-end encryption chunk (js/e2e-chunk.ts, built as dist/metachannel-e2e.mjs)
// on demand: the first Channel given a URL with a key starts it (or ready({ encryption: true })
// preloads it). A page without a key never downloads it.
//
// - ES module builds: `import("./metachannel-e2e.mjs")`, a relative dynamic import of the file
//   beside metachannel.mjs, which Vite, webpack, Rollup and Parcel split into a chunk of the
//   app (esbuild without `splitting` bundles it in).
// - CommonJS (Node): bundled into metachannel.cjs (Node downloads nothing).
// - Script tag (metachannel.js, metachannel.core.js, metachannel.inline.js): the same file
//   beside the script, or where ready({ locateFile }) says ("metachannel-e2e.mjs"), as the wasm.
import { MetaChannelError } from "./errors.js";
import type { Sealer } from "./e2e-chunk.js";
import { messageOf } from "./util.js";

/** The chunk's file name, as dist/ ships it and as locateFile is asked for it. */
export const E2E_FILE = "metachannel-e2e.mjs";

/** What the chunk exports. */
export interface EncryptionModule {
  sealer(key: Uint8Array, maxBytes: number): Sealer;
}

// Where the script-tag build was loaded from, captured while it is being evaluated.
const scriptUrl =
  __MC_FORMAT__ === "iife" && typeof document !== "undefined" && document.currentScript ? (document.currentScript as HTMLScriptElement).src || null : null;

let locate: ((name: string) => string) | undefined;
let loaded: EncryptionModule | null = null;
let loading: Promise<EncryptionModule> | null = null;

/** ready()'s locateFile (js/loader.ts): the script-tag build asks it for the chunk too. @internal */
export function setEncryptionLocator(fn: ((name: string) => string) | undefined): void {
  locate = fn;
}

/**
 * The inline builds (metachannel/inline, metachannel.inline.js: one file, nothing to serve
 * beside it) carry the chunk and hand it over before anything else. @internal
 */
export function adoptEncryption(mod: EncryptionModule): void {
  loaded = mod;
}

/** The chunk if it is loaded (then sockets open at once), else null. @internal */
export function loadedEncryption(): EncryptionModule | null {
  return loaded;
}

function chunkUrl(): string {
  if (locate) return String(locate(E2E_FILE));
  if (scriptUrl) return new URL(E2E_FILE, scriptUrl).href;
  if (typeof location !== "undefined" && location.href) return new URL(E2E_FILE, location.href).href;
  return E2E_FILE;
}

function importChunk(): Promise<EncryptionModule> {
  const script = __MC_FORMAT__ === "iife";
  const url = script ? chunkUrl() : "";
  // Script tag: by URL. ES modules: the file beside this one (bundlers split it into a chunk); CommonJS: bundled in.
  return (script ? import(/* webpackIgnore: true */ /* @vite-ignore */ url) : import("./metachannel-e2e.mjs")).catch((err: unknown) => {
    throw new MetaChannelError(
      "LOAD_FAILED",
      `could not load metachannel's encryption module (${E2E_FILE}${script ? ` from ${url}` : ", beside metachannel.mjs"}): ${messageOf(err)}. ` +
        (script
          ? 'Serve it beside the script, or point to it with ready({ locateFile: (name) => "/path/to/" + name })'
          : "Check that the bundler emitted it and that the server serves it"),
    );
  });
}

/**
 * Loads the chunk once (racing callers share one load; after a failure the next call tries
 * again). Rejects with MetaChannelError LOAD_FAILED naming the file. @internal
 */
export function loadEncryption(): Promise<EncryptionModule> {
  if (loaded) return Promise.resolve(loaded);
  if (!loading) {
    const promise = importChunk().then((mod) => {
      loaded = mod;
      return mod;
    });
    loading = promise;
    promise.catch(() => {
      if (loading === promise) loading = null;
    });
  }
  return loading;
}
