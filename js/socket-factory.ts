// Makes the sockets that emscripten/websocket.h asks for (see bindings/library.js): the channel's
// own WebSocket class and headers apply, and a constructor that throws becomes a socket that
// fails asynchronously, so no exception ever crosses wasm.
import type { CoreModule, SocketLike } from "#core-glue";
import type { HeldSocket, SealOptions } from "./e2e-chunk.js";
import { loadEncryption, loadedEncryption } from "./e2e-load.js";
import { defaultWebSocket, isWsPackageClass, type WebSocketClass } from "./platform.js";
import { redactUrls } from "./util.js";

/** What a Channel asks of its sockets. */
export interface SocketOwner {
  WebSocket: WebSocketClass | undefined;
  headers: Record<string, string> | undefined;
  /** Set while the channel's URL carries an end-to-end key: its sockets seal (js/e2e-chunk.ts's adopt). */
  e2e?: SealOptions | null;
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

const CLOSE_1006 = { type: "close", code: 1006, reason: "", wasClean: false };

/**
 * A socket with no real one behind it: CLOSED (what websocket.h gets when the constructor threw:
 * the platform layer discards it at once), or CONNECTING (a keyed channel's while the encryption
 * chunk loads: the chunk's adopt() then gives it a real socket; closed meanwhile, it closes as a
 * WebSocket closed while CONNECTING does: 1006, after the call returns).
 */
function heldSocket(readyState: number): HeldSocket {
  const s: HeldSocket = {
    readyState,
    protocol: "",
    extensions: "",
    bufferedAmount: 0,
    binaryType: "arraybuffer",
    onopen: null,
    onmessage: null,
    onerror: null,
    onclose: null,
    send() {},
    close() {
      if (s.readyState < 3) {
        s.readyState = 3;
        queueMicrotask(() => s.onclose?.(CLOSE_1006));
      }
    },
  };
  return s;
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
    const e2e = entry?.e2e;
    try {
      const make = () => openSocket(WS, url, protocols, entry?.headers);
      if (!e2e) return make();
      // The key is the one of this socket's URL: a later setUrl() with another key makes a new socket.
      const s = heldSocket(0);
      const mod = loadedEncryption();
      if (mod) mod.adopt(s, make, e2e, true);
      // The load failed: the channel reports LOAD_FAILED and closes (js/channel.ts), which closes this socket too.
      else
        loadEncryption().then(
          (m) => m.adopt(s, make, e2e, false),
          () => s.close(),
        );
      return s as SocketLike;
    } catch (err) {
      // Read by the platform layer right after websocket.h returns (mc_socket_take_create_error):
      // the channel reports it as SOCKET_ERROR and does not retry.
      core.mc.createError = describeCreateError(core, err, entry?.headers);
      return heldSocket(3) as SocketLike;
    }
  };
}

/** A new socket of class WS (throws what its constructor throws). */
function openSocket(WS: WebSocketClass, url: string, protocols: string[] | undefined, headers: Record<string, string> | undefined): SocketLike {
  let socket: SocketLike & { on?: (event: string, listener: (err: unknown) => void) => void };
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
}
