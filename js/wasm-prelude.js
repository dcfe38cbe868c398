// Runs inside the Emscripten module factory (--pre-js), before any library code.
//
// websocket.h creates sockets with `new WebSocket(url, protocols)`. This local binding
// shadows the global one inside the module, so each socket is made by the factory that
// js/socket-factory.js installs: it picks the channel's own WebSocket class (options.WebSocket,
// the global one, or the `ws` package), adds headers where the runtime allows it, and never
// lets a constructor exception escape through wasm.
// eslint-disable-next-line no-unused-vars
var WebSocket = function (url, protocols) {
  return Module["__mcCreateSocket"](url, protocols, Module["__mcSocketOwner"]);
};

var mcUtf8 = new TextDecoder("utf-8");
// Text from the heap by pointer and length (U+0000 included, unlike UTF8ToString).
Module["__mcDecodeUtf8"] = function (ptr, size) {
  return size ? mcUtf8.decode(HEAPU8.subarray(ptr, ptr + size)) : "";
};
// A copy of heap bytes that outlives the callback.
Module["__mcCopyBytes"] = function (ptr, size) {
  return HEAPU8.slice(ptr, ptr + size);
};
Module["__mcMemoryBytes"] = function () {
  return HEAPU8.length;
};
