// The script-tag build with the wasm inside (dist/metachannel.inline.js): the same API, for a
// single-file page, with the end-to-end encryption chunk inside as well. The metachannel/inline module entries are written by scripts/build.mjs.
import wasm from "./metachannel-wasm.mjs";
import * as encryption from "./metachannel-e2e.mjs";
import { adoptInlineWasm } from "./loader.js";
import { adoptEncryption } from "./e2e-load.js";

adoptInlineWasm(wasm);
adoptEncryption(encryption); // one file: the encryption chunk too (5.6 KB gzip)

export * from "./index.js";
