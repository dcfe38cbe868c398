// The script-tag build with the wasm inside (dist/metachannel.inline.js): the same API, for a
// single-file page. The metachannel/inline module entries are written by scripts/build.mjs.
import wasm from "./metachannel-wasm.mjs";
import { adoptInlineWasm } from "./loader.js";

adoptInlineWasm(wasm);

export * from "./index.js";
