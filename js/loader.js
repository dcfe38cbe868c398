// Loading the wasm core: one idempotent ready(), as web-tree-sitter's init().
import createCore from "#core-glue";
import { MetaChannelError, invalid } from "./errors.js";
import { isNode, loadNodeWebSocket, defaultWebSocket } from "./platform.js";
import { installSocketFactory } from "./socket-factory.js";

/* global __MC_FORMAT__ */
const WASM_NAME = "metachannel.wasm";
// Variables, so that bundlers leave these Node-only imports alone.
const FS_MODULE = "node:fs/promises";
const PATH_MODULE = "node:path";

// Where the script-tag build was loaded from, captured while it is being evaluated.
const scriptUrl =
  __MC_FORMAT__ === "iife" && typeof document !== "undefined" && document.currentScript
    ? document.currentScript.src
    : null;

let readyPromise = null;
let core = null;

/** The wasm module, or null before ready() has resolved. @internal */
export function getCore() {
  return core;
}

/** The wasm module; throws NOT_READY before ready() has resolved. @internal */
export function requireCore(what) {
  if (!core) {
    throw new MetaChannelError("NOT_READY", `${what} needs the wasm core: call \`await ready()\` (or use \`await connect(url)\`) first`);
  }
  return core;
}

function defaultWasmUrl() {
  if (__MC_FORMAT__ === "esm") return new URL(WASM_NAME, import.meta.url).href;
  if (__MC_FORMAT__ === "iife" && scriptUrl) return new URL(WASM_NAME, scriptUrl).href;
  return WASM_NAME;
}

async function readWasmInNode(locateFile) {
  const fs = await import(/* webpackIgnore: true */ /* @vite-ignore */ FS_MODULE);
  if (locateFile) return new Uint8Array(await fs.readFile(locateFile(WASM_NAME)));
  if (__MC_FORMAT__ === "cjs") {
    const path = await import(/* webpackIgnore: true */ /* @vite-ignore */ PATH_MODULE);
    // eslint-disable-next-line no-undef
    return new Uint8Array(await fs.readFile(path.join(__dirname, WASM_NAME)));
  }
  return new Uint8Array(await fs.readFile(new URL(defaultWasmUrl())));
}

/**
 * Loads and instantiates the wasm core. Idempotent: every call returns the same promise
 * (options after the first call are ignored); after a failure the next call tries again.
 */
export function ready(options = {}) {
  if (readyPromise) return readyPromise;
  if (options === null || typeof options !== "object") invalid("ready(options)", "an object", options);
  for (const key of Object.keys(options)) {
    if (key !== "locateFile" && key !== "wasmBinary") invalid(`ready() option "${key}"`, "one of locateFile, wasmBinary", key);
  }
  const { locateFile, wasmBinary } = options;
  if (locateFile !== undefined && typeof locateFile !== "function") invalid("options.locateFile", "a function (name) => url", locateFile);
  if (wasmBinary !== undefined && !(wasmBinary instanceof ArrayBuffer) && !ArrayBuffer.isView(wasmBinary)) {
    invalid("options.wasmBinary", "an ArrayBuffer or Uint8Array", wasmBinary);
  }
  readyPromise = (async () => {
    const moduleArgs = {};
    if (wasmBinary) {
      moduleArgs.wasmBinary = wasmBinary instanceof ArrayBuffer ? new Uint8Array(wasmBinary) : wasmBinary;
    } else if (isNode) {
      moduleArgs.wasmBinary = await readWasmInNode(locateFile);
    } else {
      moduleArgs.locateFile = (name) => (locateFile ? locateFile(name) : defaultWasmUrl());
    }
    await loadNodeWebSocket();
    const instance = await createCore(moduleArgs);
    installSocketFactory(instance);
    core = instance;
  })();
  readyPromise.catch(() => {
    readyPromise = null;
  });
  return readyPromise;
}

/** Bytes of wasm memory (0 before ready()); it only grows, so a leak shows as growth. @internal */
export function memoryBytes() { return core ? core.__mcMemoryBytes() : 0; }

/** True when a WebSocket implementation is reachable (global, or the `ws` package in Node). */
export function isSupported() {
  return defaultWebSocket() != null;
}
