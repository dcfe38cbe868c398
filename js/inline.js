// metachannel/inline: the same API with the wasm carried inside the JS (base64), for a
// single-file metaframe, a CDN import or a bundler that copies no assets. It costs about a
// third more bytes than the separate .wasm file (see the README's "Install" section).
import wasm from "./metachannel-wasm.mjs";
import { useInlineWasm, decodeBase64 } from "./loader.js";

useInlineWasm(decodeBase64(wasm));

export * from "./index.js";
