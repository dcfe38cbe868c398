// dist/metachannel-wasm.mjs, written by scripts/build.mjs: the wasm in base64.
declare const wasm: string;
export default wasm;
