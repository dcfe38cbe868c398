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
  /** The socket connect() opened while the core was loading, for this channel's first attempt. */
  early?: EarlySocket | null;
}

/**
 * A socket connect() opened before the core it waits for was ready (the handshake then runs
 * while the wasm loads): what the first attempt of the channel it makes is given, instead of a
 * new socket, when that attempt is to the same URL and subprotocols. Until then it records its
 * events, replayed to the core in order (never before connect() has resolved).
 */
export interface EarlySocket {
  url: string;
  protocols: string;
  socket: SocketLike;
  events: Event[];
  record: (ev: Event) => void;
}

const SOCKET_EVENTS = ["open", "message", "error", "close"] as const;
/** Handed from connect() to the Channel it constructs (claimEarlySocket). */
let handoff: EarlySocket | null = null;

/**
 * Opens the socket of connect(url, options) now, when the core it waits for is still loading
 * and the URL is one the core will take: null otherwise (the channel then opens its own, as
 * always). `WS`, `headers` and `protocols`: the checked options.
 */
export function openEarlySocket(
  url: string,
  WS: WebSocketClass | null | undefined,
  headers: Record<string, string> | undefined,
  protocols: string,
): EarlySocket | null {
  // The core is the judge of a URL (src/metachannel/url.cpp); this only leaves out what it
  // refuses (spaces, control characters, a port 0, ...) or what needs more than a socket (a
  // #fragment: end-to-end encryption's key): printable characters but "#" after the scheme.
  if (!WS || url.length > 8192 || !/^wss?:\/\/[!"$-~\u0080-\uffff]+$/i.test(url)) return null;
  try {
    const u = new URL(url);
    if (!u.hostname || u.port === "0") return null;
    const socket = openSocket(WS, url, protocols ? protocols.split(",") : undefined, headers);
    (socket as { binaryType?: string }).binaryType = "arraybuffer";
    const early: EarlySocket = { url, protocols, socket, events: [], record: (ev) => early.events.push(ev) };
    for (const type of SOCKET_EVENTS) (socket as unknown as EventTarget).addEventListener(type, early.record);
    return early;
  } catch {
    return null; // the channel's own attempt reports it, as it would have
  }
}

/** Runs `make` (a Channel constructor) with `early` on offer to it; closes `early` if it was not taken. */
export function offerEarlySocket<T>(early: EarlySocket | null, make: () => T): T {
  handoff = early;
  try {
    return make();
  } finally {
    if (handoff) discardEarly(handoff);
    handoff = null;
  }
}

/** The Channel constructor's side of offerEarlySocket(). */
export function claimEarlySocket(): EarlySocket | null {
  const early = handoff;
  handoff = null;
  return early;
}

function stopRecording(early: EarlySocket): void {
  for (const type of SOCKET_EVENTS) (early.socket as unknown as EventTarget).removeEventListener(type, early.record);
}

/** Closes an early socket no channel took. */
export function discardEarly(early: EarlySocket): void {
  stopRecording(early);
  early.events.length = 0;
  early.socket.close();
}

/**
 * Gives the core an early socket. emscripten/websocket.h and bindings/library.js set its
 * on* handlers as soon as this returns: they are held aside until the events recorded so far
 * have been replayed to them, in order, on a later task (as a new socket's events would come),
 * and then set on the socket itself.
 */
function adoptEarly(early: EarlySocket): SocketLike {
  const s = early.socket as unknown as Record<string, unknown>;
  const held: Record<string, unknown> = { onopen: null, onmessage: null, onerror: null, onclose: null };
  for (const key of Object.keys(held)) {
    Object.defineProperty(s, key, { configurable: true, get: () => held[key], set: (f: unknown) => (held[key] = f) });
  }
  setTimeout(() => {
    for (const ev of early.events) (held[`on${ev.type}`] as ((e: Event) => void) | null)?.call(s, ev);
    stopRecording(early);
    early.events.length = 0;
    for (const key of Object.keys(held)) {
      delete s[key];
      s[key] = held[key];
    }
  }, 0);
  return early.socket;
}

/** owner handle -> { WebSocket, headers } */
const owners = new Map<number, SocketOwner>();

export function registerSocketOwner(handle: number, entry: SocketOwner): void {
  owners.set(handle, entry);
}

export function unregisterSocketOwner(handle: number): void {
  const early = owners.get(handle)?.early;
  if (early) discardEarly(early);
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
    const early = entry?.early;
    if (early) {
      entry.early = null;
      if (!e2e && early.url === url && early.protocols === (protocols ? protocols.join(",") : "")) return adoptEarly(early);
      discardEarly(early);
    }
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
  // The browser builds run in browsers and workers, where the `ws` package is not: its two
  // branches below are left out of them.
  if (headers && !__MC_BROWSER__ && isWsPackageClass(WS)) {
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
  if (!__MC_BROWSER__ && typeof socket.on === "function") {
    const s = socket;
    socket.on("error", (err: unknown) => {
      const m = REFUSED.exec((err as { message?: unknown } | null)?.message as string);
      if (m) s.refusedStatus = Number(m[1]);
    });
  }
  return socket;
}
