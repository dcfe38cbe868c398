// Makes the sockets that emscripten/websocket.h asks for (see bindings/library.js): the channel's
// own WebSocket class and headers apply, and a constructor that throws becomes a socket that
// fails asynchronously, so no exception ever crosses wasm.
import { defaultWebSocket, isWsPackageClass } from "./platform.js";

/** owner handle -> { WebSocket, headers } */
const owners = new Map();

export function registerSocketOwner(handle, entry) {
  owners.set(handle, entry);
}

export function unregisterSocketOwner(handle) {
  owners.delete(handle);
}

function noop() {}

/** What websocket.h gets when the constructor threw: the platform layer discards it at once. */
function inertSocket() {
  return {
    readyState: 3, protocol: "", extensions: "", bufferedAmount: 0, binaryType: "arraybuffer",
    onopen: null, onmessage: null, onerror: null, onclose: null,
    send() {}, close() {},
  };
}

/**
 * The constructor's error as one line for a SOCKET_ERROR message: its name and message, with
 * every URL's path and query and every header value taken out.
 */
function describeCreateError(core, err, headers) {
  const name = err && typeof err.name === "string" ? err.name : "an error";
  let message = err && typeof err.message === "string" ? err.message : String(err);
  message = message.replace(/\b(?:wss?|https?):\/\/[^\s"'<>]*/gi, (url) => core.redactUrl(url.replace(/^http/i, "ws")));
  for (const value of Object.values(headers || {})) {
    if (value) message = message.split(value).join("(a header value)");
  }
  if (message.length > 200) message = `${message.slice(0, 200)}…`;
  return `the WebSocket constructor threw ${name}${message ? `: ${message}` : ""}`;
}

export function installSocketFactory(core) {
  core.mc.createSocket = (url, protocols, owner) => {
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
      // Read by the platform layer right after websocket.h returns (mc_socket_take_create_error):
      // the channel reports it as SOCKET_ERROR and does not retry.
      core.mc.createError = describeCreateError(core, err, entry && entry.headers);
      return inertSocket();
    }
  };
}
