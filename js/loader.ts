// Loading the wasm core: one idempotent ready(), as web-tree-sitter's init().
//
// The loader fetches and compiles the wasm itself and hands the compiled module to the
// Emscripten glue (its `instantiateWasm` hook), so every way a load can fail (no file, an HTML
// page where the wasm should be, a corrupt file, a failed instantiation) becomes one
// MetaChannelError LOAD_FAILED naming the URL and what to do, and the glue never aborts.
import createCore, { type CoreModule } from "#core-glue";
import { VOCABULARY_DIGEST } from "./vocabulary.js";
import { MetaChannelError, invalid } from "./errors.js";
import { isNode, loadNodeWebSocket, defaultWebSocket } from "./platform.js";
import { installSocketFactory } from "./socket-factory.js";
import { loadEncryption, locateEncryption } from "./e2e-load.js";
import { wantsFullCore } from "./options.js";
import type { ReadyOptions } from "./types.js";
import { messageOf } from "./util.js";

/** Wasm bytes and where they came from (for messages). */
interface WasmSource {
  bytes: Uint8Array;
  where: string;
}
/** The files the package ships (full and lite core); locateFile(name) is called with one of these names. */
export const WASM_NAME = "metachannel.wasm";
export const LITE_WASM_NAME = "metachannel-lite.wasm";
type WasmName = typeof WASM_NAME | typeof LITE_WASM_NAME;
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
// Variables, so that bundlers leave these Node-only imports alone.
const FS_MODULE = "node:fs";
const PATH_MODULE = "node:path";

// Where the script-tag build was loaded from, captured while it is being evaluated (also the
// ES module build inside a classic-script bundle, esbuild's IIFE, where import.meta is empty).
const scriptUrl =
  (__MC_FORMAT__ === "iife" || __MC_FORMAT__ === "esm") && typeof document !== "undefined" && document.currentScript
    ? (document.currentScript as HTMLScriptElement).src || null
    : null;

/**
 * The two slots a core can fill. "plain": what a Channel without `reliable` or `presence` runs
 * on (metachannel-lite.wasm, loaded by ready()). "full": what a Channel with them runs on
 * (metachannel.wasm, loaded on demand by connect() or by ready({ core: "full" })). A full core
 * fills both slots when it is the first to load (inline builds, a full wasmBinary, locateFile
 * answering metachannel.wasm for either name).
 */
type Slot = "plain" | "full";
const cores: Record<Slot, CoreModule | null> = { plain: null, full: null };
const loads: Record<Slot, Promise<void> | null> = { plain: null, full: null };
/** locateFile and wasmBinary of the first ready() that gave them: on-demand loads use them too. */
let given: Pick<ReadyOptions, "locateFile" | "wasmBinary"> = {};
/** True once wasmBinary turned out to hold the lite core: the full core then comes from a file. */
let givenIsLite = false;
/** Set by the inline entry (metachannel/inline): the wasm carried in the JS (base64 of its gzip), decoded when loaded. */
let inlineWasm: string | null = null;

/**
 * Called by the inline entries before anything else, with the wasm (gzip, base64).
 * @internal
 */
export function adoptInlineWasm(base64: string): void {
  if (!__MC_INLINE__) throw new Error("metachannel: this script-tag build takes no inline wasm; load dist/metachannel.inline.js instead");
  inlineWasm = base64;
}

/**
 * The wasm module a Channel runs on: the plain core (or the full one if only that is loaded).
 * Throws NOT_READY before ready() has resolved. @internal
 */
export function requireCore(what: string): CoreModule {
  const core = cores.plain ?? cores.full;
  if (core) return core;
  throw new MetaChannelError("NOT_READY", `${what} needs the wasm core: call \`await ready()\` (or use \`await connect(url)\`) first`);
}

/**
 * The full core (reliable delivery, presence) if it is loaded, else null: a Channel that needs
 * it then starts its load (loadFullCore) and creates its C++ side when it arrives. @internal
 */
export function fullCore(): CoreModule | null {
  return cores.full;
}

/** Loads the full core once (racing callers share one load). @internal */
/** True when the core a Channel with these options runs on is loaded (the full one for reliable or presence). @internal */
export function coreReadyFor(options: unknown): boolean {
  return wantsFullCore(options) ? cores.full !== null : (cores.plain ?? cores.full) !== null;
}

export function loadFullCore(): Promise<void> {
  return ready({ core: "full" });
}

/**
 * The wasm's default URL: beside this file. In the ES module build the reference is written
 * `new URL("./metachannel.wasm", import.meta.url)`, the form Vite, webpack 5 and Parcel detect:
 * they copy the file into the app's output and rewrite the URL.
 */
function defaultWasmUrl(name: WasmName): string {
  if (__MC_FORMAT__ === "esm" && import.meta.url) {
    // Both written out: bundlers copy the files they see referenced this way.
    return name === LITE_WASM_NAME ? new URL("./metachannel-lite.wasm", import.meta.url).href : new URL("./metachannel.wasm", import.meta.url).href;
  }
  return besideScript(name);
}

/**
 * A file's URL beside the script-tag build, or the page; with `located`, where ready({
 * locateFile }) says first, then (ES modules) beside this module or the bundle it is in (js/e2e-load.ts asks).
 */
function besideScript(name: string, located?: boolean): string {
  if (located && given.locateFile) return String(given.locateFile(name));
  if (located && __MC_FORMAT__ === "esm") {
    // Not `new URL(name, import.meta.url)`: webpack takes that form for an asset to copy, and
    // warns when the name is not a literal (its users get metachannel.bundler.mjs, which never
    // comes here).
    const here = import.meta.url;
    if (here) return new URL(name, here).href;
  }
  if (scriptUrl) return new URL(name, scriptUrl).href;
  if (typeof location !== "undefined" && location.href) return new URL(name, location.href).href;
  return name;
}
locateEncryption((name) => besideScript(name, true));

/**
 * True when a bundler moved this ES module into a bundle of its own and left the wasm reference
 * as written (esbuild, Rollup: they copy no assets). Then import.meta.url names the bundle, not
 * metachannel.mjs, and the URL is the bundle's folder + metachannel.wasm, a file that is not
 * there: asking for it would only log a 404 in the console, so the inline copy is used at once.
 * (Bundlers that copy the file rewrite the URL; unbundled, the module is metachannel.mjs.)
 */
function bundledWithoutWasm(url: string, name: WasmName): boolean {
  if (__MC_FORMAT__ !== "esm" || !__MC_FALLBACK__) return false; // metachannel.files.mjs: bundlers that copy the files
  const here = new URL(import.meta.url);
  return !here.pathname.endsWith("/metachannel.mjs") && new URL(name, here).href === url;
}

function loadFailed(where: string, why: string, cause?: unknown): MetaChannelError {
  const file = where.includes(LITE_WASM_NAME) ? LITE_WASM_NAME : WASM_NAME;
  return new MetaChannelError(
    "LOAD_FAILED",
    `could not load the metachannel wasm from ${where}: ${why}. Serve dist/${file} and point to it with ` +
      'ready({ locateFile: (name) => "/path/to/" + name }), or pass ready({ wasmBinary }) ' +
      '(bundlers: see "Install" in the README)',
    cause === undefined ? undefined : { cause: messageOf(cause) },
  );
}

function describeBytes(bytes: Uint8Array): string {
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
  const text = String.fromCharCode(...bytes.subarray(0, 15)).replace(/[^\x20-\x7e]/g, ".");
  return bytes.length === 0 ? "an empty file" : `bytes ${head} ("${text}"), not a wasm module (00 61 73 6d)`;
}

function isWasm(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && WASM_MAGIC.every((b, i) => bytes[i] === b);
}

/** Node's fs, without loading fs/promises (a dozen internal modules, about 1.3 ms of ready() on Node 22). */
interface NodeFs {
  readFileSync(p: string | URL): Uint8Array;
}
async function nodeFs(): Promise<NodeFs> {
  // process.getBuiltinModule: Node >= 20.16 / 22.3, synchronous; import() for older releases.
  // Read through globalThis: Parcel polyfills a bare `process` in browser bundles.
  const node = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
  const builtin = node?.getBuiltinModule;
  if (typeof builtin === "function") return builtin(FS_MODULE) as NodeFs;
  return import(/* webpackIgnore: true */ /* @vite-ignore */ FS_MODULE);
}

async function readWasmInNode(locateFile: ReadyOptions["locateFile"], name: WasmName): Promise<WasmSource> {
  const fs = await nodeFs();
  let where: string | URL;
  if (locateFile) where = locateFile(name);
  else if (__MC_FORMAT__ === "cjs") {
    const path: { join(...parts: string[]): string } = await import(/* webpackIgnore: true */ /* @vite-ignore */ PATH_MODULE);
    where = path.join(__dirname, name);
  } else where = new URL(defaultWasmUrl(name));
  const shown = String(where instanceof URL ? where.pathname : where);
  if (typeof where === "string" && /^https?:/.test(where)) return fetchWasm(where);
  try {
    // Synchronous: a 43-103 KB local file reads in about 0.15 ms, where fs.readFile's four
    // thread-pool round trips took 1-1.5 ms of a cold start's ready() (more on a busy machine).
    return { bytes: fs.readFileSync(where), where: shown };
  } catch (err) {
    throw loadFailed(shown, err && (err as { code?: unknown }).code === "ENOENT" ? "no such file" : "the file cannot be read", err);
  }
}

async function fetchWasm(url: string): Promise<WasmSource> {
  let response: Response;
  try {
    response = await fetch(url, { credentials: "same-origin" });
  } catch (err) {
    throw loadFailed(url, "the request failed", err);
  }
  if (!response.ok) throw loadFailed(url, `the server answered HTTP ${response.status}`);
  return { bytes: new Uint8Array(await response.arrayBuffer()), where: url };
}

/** The wasm bytes this environment should use, and where they came from (for messages). */
async function wasmBytes({ locateFile, wasmBinary, core }: ReadyOptions): Promise<WasmSource> {
  const name: WasmName = core === "lite" ? LITE_WASM_NAME : WASM_NAME;
  if (wasmBinary)
    return {
      bytes: wasmBinary instanceof ArrayBuffer ? new Uint8Array(wasmBinary) : new Uint8Array(wasmBinary.buffer, wasmBinary.byteOffset, wasmBinary.byteLength),
      where: "options.wasmBinary",
    };
  if (__MC_INLINE__ && !locateFile && inlineWasm) return { bytes: await decodeInline(inlineWasm, "the inline copy"), where: "the inline copy" };
  // The browser builds: no fs path in them (isNode is false there too, but esbuild does not
  // carry that constant across modules).
  if (!__MC_BROWSER__ && isNode) return readWasmInNode(locateFile, name);
  if (locateFile) {
    const url: unknown = locateFile(name);
    if (typeof url !== "string" && !(url instanceof URL)) invalid("options.locateFile(name)", "to return a URL string", url);
    return fetchWasm(String(url));
  }
  let url = "beside the script";
  try {
    url = defaultWasmUrl(name);
    if (__MC_FORMAT__ === "esm" && bundledWithoutWasm(url, name)) throw loadFailed(url, `the bundler did not copy ${name} beside the bundle`);
    const fetched = await fetchWasm(url);
    if (isWasm(fetched.bytes)) return fetched;
    throw loadFailed(url, `got ${describeBytes(fetched.bytes)}`);
  } catch (err) {
    // An app bundled by a tool that did not copy the file (esbuild, Rollup), or a server that
    // does not serve it: the ES module build falls back to the copy in metachannel-wasm.mjs, a
    // chunk the bundler loads only now. The script-tag build has no such chunk.
    // Vite (build and dev server) defines import.meta.env.MODE, and copies the wasm files: there
    // this branch is dead code, so Vite writes no chunk for it (the expression is written as
    // Vite replaces it; elsewhere import.meta.env is undefined).
    // biome-ignore lint/complexity/useOptionalChain: written as Vite replaces it (import.meta.env.MODE)
    if (__MC_FORMAT__ === "esm" && __MC_FALLBACK__ && !(import.meta.env && import.meta.env.MODE)) {
      const mod = await import("./metachannel-wasm.mjs").catch(() => {
        throw err;
      });
      const where = "the inline copy (metachannel-wasm.mjs)";
      return { bytes: await decodeInline(mod.default, where), where };
    }
    throw err;
  }
}

/**
 * The inline wasm to bytes: base64 of the wasm gzipped (scripts/build.mjs), which costs a page
 * about the wasm file's own gzip size, where base64 of the wasm itself cost 1.3x that.
 * Plain base64 of a wasm (a caller of the internal _useInlineWasm from before) is taken as is.
 * @internal
 */
export async function decodeInline(text: string, where: string): Promise<Uint8Array> {
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  if (typeof DecompressionStream === "undefined") {
    throw loadFailed(where, "this JS engine has no DecompressionStream (Chrome 80, Firefox 113, Safari 16.4, Node 18 have it) to unpack it");
  }
  try {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (err) {
    throw loadFailed(where, "it does not unpack (corrupt gzip)", err);
  }
}

async function compile(source: WasmSource): Promise<WebAssembly.Module> {
  const { bytes, where } = source;
  if (!isWasm(bytes)) {
    throw loadFailed(where, `got ${describeBytes(bytes)}${bytes[0] === 0x3c ? " (an HTML page: the file is not served at that URL)" : ""}`);
  }
  try {
    return await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (err) {
    throw loadFailed(where, "the file is not a valid wasm module (corrupt or truncated?)", err);
  }
}

/**
 * Loads the wasm core. Idempotent: later calls return the first call's promise (their
 * `locateFile` and `wasmBinary` are ignored); after a failure the next call tries again.
 * Rejects with MetaChannelError LOAD_FAILED when the wasm cannot be fetched, compiled or
 * instantiated (the message names the URL and what to do).
 *
 * Plain by default: ready() (or `core: "lite"`, the same) loads the plain core,
 * metachannel-lite.wasm. Reliable delivery and presence live in the full core,
 * metachannel.wasm, which `connect()` (and the clients that make their own Channel) load the
 * first time a Channel asks for them; `ready({ core: "full" })` preloads it. A synchronous
 * `new Channel(url, { reliable: true })` (or `presence`) after ready() works too: it returns at
 * once, starts the full core's load and connects when it arrives (until then it reads
 * "connecting" and queues what is sent; a failed load is an "error" event LOAD_FAILED naming the
 * URL, and the channel ends "closed"). locateFile is called with "metachannel-lite.wasm" for
 * the plain core and "metachannel.wasm" for the full one; a locateFile that answers the full
 * core's URL for both names (code written before the split) loads that one file, which then
 * serves every Channel. Both cores can be loaded at once:
 * each Channel runs on the one it needs. The inline builds carry only the full core and use it
 * for both.
 *
 * @public
 */
export function ready(options: ReadyOptions = {}): Promise<void> {
  if (options === null || typeof options !== "object") invalid("ready(options)", "an object", options);
  for (const key of Object.keys(options)) {
    if (key !== "locateFile" && key !== "wasmBinary" && key !== "core" && key !== "encryption") {
      invalid(`ready() option "${key}"`, "one of locateFile, wasmBinary, core, encryption", key);
    }
  }
  const { locateFile, wasmBinary, core: which, encryption } = options as { locateFile?: unknown; wasmBinary?: unknown; core?: unknown; encryption?: unknown };
  if (which !== undefined && which !== "full" && which !== "lite") invalid("options.core", '"full" or "lite"', which);
  if (encryption !== undefined && typeof encryption !== "boolean") invalid("options.encryption", "true or false", encryption);
  if (locateFile !== undefined && typeof locateFile !== "function") invalid("options.locateFile", "a function (name) => url", locateFile);
  if (wasmBinary !== undefined && !(wasmBinary instanceof ArrayBuffer) && !ArrayBuffer.isView(wasmBinary)) {
    invalid("options.wasmBinary", "an ArrayBuffer or Uint8Array", wasmBinary);
  }
  // (The script-tag build asks locateFile for metachannel-e2e.mjs too.)
  if (!loads.plain && !loads.full) given = { locateFile: options.locateFile, wasmBinary: options.wasmBinary };
  // The encryption chunk as well (a Channel given a keyed URL loads it on demand otherwise).
  if (encryption) return Promise.all([ready({ ...options, encryption: false }), loadEncryption()]).then(() => {});
  const slot: Slot = which === "full" ? "full" : "plain";
  // Either core runs plain channels: one loaded or loading serves ready().
  // The inline builds carry one (full) core: a load of either slot fills both.
  const pending = slot === "plain" || (inlineWasm && !given.locateFile) ? (loads.plain ?? loads.full) : loads.full;
  if (pending) return pending;
  const promise = load(slot);
  loads[slot] = promise;
  promise.catch(() => {
    if (loads[slot] === promise) loads[slot] = null;
  });
  return promise;
}

/** ready() for a Channel with these options: the full core when they ask for reliable or presence. @internal */
export function readyFor(options: unknown): Promise<void> {
  return ready(wantsFullCore(options) ? { core: "full" } : {});
}

/** Fetches (or reads), compiles and starts the core of `slot`, and fills the slots it can serve. */
async function load(slot: Slot): Promise<void> {
  const wasmBinary = slot === "full" && givenIsLite ? undefined : given.wasmBinary;
  let source: WasmSource;
  try {
    source = await wasmBytes({ locateFile: given.locateFile, wasmBinary, core: slot === "plain" ? "lite" : "full" });
  } catch (err) {
    // A page that copies or serves only metachannel.wasm (what the package shipped alone
    // before the plain core was split out) keeps working: the full core runs plain channels.
    if (slot === "full") throw err;
    source = await wasmBytes({ locateFile: given.locateFile, core: "full" }).catch(() => {
      throw err;
    });
  }
  const wasmModule = await compile(source);
  await loadNodeWebSocket();
  const instance = await new Promise<CoreModule>((resolve, reject) => {
    createCore({
      // The glue calls this instead of fetching; its own promise settles through receive().
      instantiateWasm(imports, receive) {
        WebAssembly.instantiate(wasmModule, imports).then(
          (inst) => receive(inst, wasmModule),
          (err) => reject(loadFailed(source.where, "the module does not fit this version of the package's JS (files from two versions?)", err)),
        );
        return {};
      },
    }).then(resolve, (err) => reject(loadFailed(source.where, "the module failed to start", err)));
  });
  // The numbers and names both sides use (src/metachannel/vocabulary.h) must be the same build's.
  if (instance.VOCABULARY_DIGEST !== VOCABULARY_DIGEST) {
    throw loadFailed(
      source.where,
      `the module's vocabulary (digest ${instance.VOCABULARY_DIGEST}) is not this package's (${VOCABULARY_DIGEST}): metachannel.wasm and the JS come from two builds; serve the wasm of this version`,
    );
  }
  if (slot === "full" && !instance.RELIABILITY) {
    throw loadFailed(source.where, "it holds the lite core (no reliable delivery, no presence), where metachannel.wasm was expected");
  }
  installSocketFactory(instance);
  if (slot === "plain" && !instance.RELIABILITY && wasmBinary) givenIsLite = true;
  if (instance.RELIABILITY && !cores.full) {
    cores.full = instance;
    if (slot === "plain") loads.full = loads.plain;
  }
  if (!cores.plain) cores.plain = instance;
}

/**
 * Bytes of wasm memory (0 before ready()); it only grows, so a leak shows as growth.
 * @internal
 */
export function memoryBytes(): number {
  const { plain, full } = cores;
  return (plain ? plain.mc.memoryBytes() : 0) + (full && full !== plain ? full.mc.memoryBytes() : 0);
}

/**
 * True when a WebSocket implementation is reachable (global, or the `ws` package in Node).
 * @public
 */
export function isSupported(): boolean {
  return defaultWebSocket() != null;
}
