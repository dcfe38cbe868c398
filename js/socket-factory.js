// Makes the sockets that emscripten/websocket.h asks for (see wasm-prelude.js): the channel's
// own WebSocket class and headers apply, and a constructor that throws becomes a socket that
// fails asynchronously, so no exception ever crosses wasm.
import { defaultWebSocket, isWsPackageClass } from "./platform.js";

/** owner handle -> { WebSocket, headers, onCreateError } */
const owners = new Map();

export function registerSocketOwner(handle, entry) {
  owners.set(handle, entry);
}

export function unregisterSocketOwner(handle) {
  owners.delete(handle);
}

function noop() {}

function failedSocket() {
  const s = {
    readyState: 0, protocol: "", extensions: "", bufferedAmount: 0, binaryType: "arraybuffer",
    onopen: null, onmessage: null, onerror: null, onclose: null,
    send() {}, close() {},
  };
  setTimeout(() => {
    s.readyState = 3;
    if (s.onerror) s.onerror({ type: "error" });
    if (s.onclose) s.onclose({ type: "close", code: 1006, reason: "", wasClean: false });
  }, 0);
  return s;
}

export function installSocketFactory(core) {
  core.__mcCreateSocket = (url, protocols, owner) => {
    const entry = owners.get(owner);
    const WS = (entry && entry.WebSocket) || defaultWebSocket();
    try {
      let socket;
      const headers = entry && entry.headers;
      if (headers && isWsPackageClass(WS)) {
        socket = new WS(url, protocols || [], { headers });
      } else if (headers) {
        // undici (Node 22's global WebSocket) takes a WebSocketInit with headers.
        socket = new WS(url, { protocols: protocols || [], headers });
      } else {
        socket = protocols ? new WS(url, protocols) : new WS(url);
      }
      // The `ws` package is an EventEmitter: an "error" with no listener would throw
      // (for example when a connecting socket is closed). Errors reach us via onerror.
      if (typeof socket.on === "function") socket.on("error", noop);
      return socket;
    } catch (err) {
      if (entry && entry.onCreateError) entry.onCreateError(err);
      return failedSocket();
    }
  };
}
