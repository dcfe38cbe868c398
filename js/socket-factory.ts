// Makes the sockets that emscripten/websocket.h asks for (see bindings/library.js): the channel's
// own WebSocket class and headers apply, and a constructor that throws becomes a socket that
// fails asynchronously, so no exception ever crosses wasm.
import type { CoreModule, SocketLike } from "#core-glue";
import { defaultWebSocket, isWsPackageClass, type WebSocketClass } from "./platform.js";
import { redactUrls } from "./util.js";

/** What a Channel asks of its sockets. */
export interface SocketOwner {
  WebSocket: WebSocketClass | undefined;
  headers: Record<string, string> | undefined;
}

/** owner handle -> { WebSocket, headers } */
const owners = new Map<number, SocketOwner>();

export function registerSocketOwner(handle: number, entry: SocketOwner): void {
  owners.set(handle, entry);
}

export function unregisterSocketOwner(handle: number): void {
  owners.delete(handle);
}

// The `ws` package's error for an upgrade answered without 101 (ws 8: "Unexpected server
// response: 404"); browsers and undici say nothing about the status.
const REFUSED = /^Unexpected server response: (\d{3})$/;

/** What websocket.h gets when the constructor threw: the platform layer discards it at once. */
function inertSocket(): SocketLike {
  return {
    readyState: 3,
    protocol: "",
    extensions: "",
    bufferedAmount: 0,
    binaryType: "arraybuffer",
    onopen: null,
    onmessage: null,
    onerror: null,
    onclose: null,
    send() {},
    close() {},
  } as SocketLike;
}

/**
 * The constructor's error as one line for a SOCKET_ERROR message: its name and message, with
 * every URL's path and query and every header value taken out.
 */
function describeCreateError(core: CoreModule, err: unknown, headers: Record<string, string> | undefined): string {
  const e = err as { name?: unknown; message?: unknown } | null | undefined;
  const name = e && typeof e.name === "string" ? e.name : "an error";
  let message = e && typeof e.message === "string" ? e.message : String(err);
  message = redactUrls(message, (url) => core.redactUrl(url));
  for (const value of Object.values(headers || {})) {
    if (value) message = message.split(value).join("(a header value)");
  }
  if (message.length > 200) message = `${message.slice(0, 200)}…`;
  return `the WebSocket constructor threw ${name}${message ? `: ${message}` : ""}`;
}

export function installSocketFactory(core: CoreModule): void {
  core.mc.createSocket = (url, protocols, owner) => {
    const entry = owners.get(owner);
    // Never null here: a Channel is only made when a WebSocket implementation exists.
    const WS = (entry?.WebSocket || defaultWebSocket()) as WebSocketClass;
    try {
      let socket: SocketLike & { on?: (event: string, listener: (err: unknown) => void) => void };
      const headers = entry?.headers;
      // The script-tag builds (IIFE) run in browsers and workers, where the `ws` package is not:
      // its two branches below are left out of them.
      if (headers && __MC_FORMAT__ !== "iife" && isWsPackageClass(WS)) {
        socket = new WS(url, protocols || [], { headers });
      } else if (headers) {
        // undici (Node 22's global WebSocket) takes a WebSocketInit with headers.
        socket = new WS(url, { protocols: protocols || [], headers });
      } else {
        socket = protocols ? new WS(url, protocols) : new WS(url);
      }
      // The `ws` package is an EventEmitter: an "error" with no listener would throw
      // (for example when a connecting socket is closed). Errors reach the core via onerror,
      // which runs after this listener: the core then reads the HTTP status of a refused
      // upgrade (mc_socket_refused_status in bindings/library.js).
      if (__MC_FORMAT__ !== "iife" && typeof socket.on === "function") {
        const s = socket;
        socket.on("error", (err: unknown) => {
          const m = REFUSED.exec((err as { message?: unknown } | null)?.message as string);
          if (m) s.refusedStatus = Number(m[1]);
        });
      }
      return socket;
    } catch (err) {
      // Read by the platform layer right after websocket.h returns (mc_socket_take_create_error):
      // the channel reports it as SOCKET_ERROR and does not retry.
      core.mc.createError = describeCreateError(core, err, entry?.headers);
      return inertSocket();
    }
  };
}
