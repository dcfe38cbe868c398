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

// One reusable heap buffer for incoming frames (see mc_socket_take_messages).
var mcScratch = 0;
var mcScratchSize = 0;
var mcUtf8Encoder = new TextEncoder();
Module["__mcScratchFor"] = function (size) {
  if (size > mcScratchSize) {
    if (mcScratch) _free(mcScratch);
    mcScratchSize = Math.max(size, 2 * mcScratchSize, 4096);
    mcScratch = _malloc(mcScratchSize);
  }
  Module["__mcScratch"] = mcScratch;
  return mcScratch;
};
// Encodes `text` as UTF-8 into the scratch buffer; returns the byte length. ASCII text (the
// usual envelope) fits in text.length bytes; only other text needs the worst case, 3 per
// UTF-16 unit. The buffer never needs more than the largest frame accepted.
Module["__mcEncodeToScratch"] = function (text) {
  var p = Module["__mcScratchFor"](text.length);
  var r = mcUtf8Encoder.encodeInto(text, HEAPU8.subarray(p, p + text.length));
  if (r.read === text.length) return r.written;
  p = Module["__mcScratchFor"](text.length * 3);
  return mcUtf8Encoder.encodeInto(text, HEAPU8.subarray(p, p + text.length * 3)).written;
};

// The send fast path: the text is encoded straight into a buffer of its own (never the
// receive scratch, which a send from inside a message listener would overwrite) and the
// original string is kept, so the socket sends it as is instead of a decoded copy.
var mcSendBuf = 0;
var mcSendSize = 0;
Module["__mcSendText"] = function (channelAddress, text) {
  var capacity = text.length * 3;
  if (capacity > mcSendSize) {
    if (mcSendBuf) _free(mcSendBuf);
    mcSendSize = Math.max(capacity, 2 * mcSendSize, 1024);
    mcSendBuf = _malloc(mcSendSize);
  }
  var n = mcUtf8Encoder.encodeInto(text, HEAPU8.subarray(mcSendBuf, mcSendBuf + capacity)).written;
  var outer = Module["__mcPendingSend"];
  Module["__mcPendingSend"] = { ptr: mcSendBuf, text: text };
  try {
    return _mc_send_text(channelAddress, mcSendBuf, n);
  } finally {
    Module["__mcPendingSend"] = outer;
  }
};
