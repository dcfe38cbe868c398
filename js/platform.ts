// What runtime we are in, and where a WebSocket implementation comes from.

/** A WebSocket class: the global one, the `ws` package's, or one given in options. @internal */
export type WebSocketClass = new (...args: any[]) => any;

// The browser builds (the script tags, and the ES modules bundlers take under the "browser"
// condition) leave out their Node paths (the `ws` package, reading the .wasm with fs).
export const isNode =
  !__MC_BROWSER__ && typeof process !== "undefined" && process.versions != null && process.versions.node != null && typeof window === "undefined";

export const isBrowser = typeof window !== "undefined" && typeof document !== "undefined";

/** The `ws` package, loaded by ready() in Node when there is no global WebSocket. */
let wsPackage: WebSocketClass | null = null;

// Hidden from bundlers: browsers never load these.
const WS_MODULE = "ws";

export async function loadNodeWebSocket(): Promise<void> {
  // `in`, not `typeof`: reading globalThis.WebSocket makes Node load undici (~30 ms of
  // cold start); the first Channel reads it instead, as a raw `new WebSocket` would.
  if (__MC_BROWSER__ || !isNode || "WebSocket" in globalThis || wsPackage) return;
  try {
    const mod = await import(/* webpackIgnore: true */ /* @vite-ignore */ WS_MODULE);
    wsPackage = mod.default || mod.WebSocket || null;
  } catch {
    wsPackage = null; // not installed: isSupported() says so, and Channel throws NOT_SUPPORTED
  }
}

/** The WebSocket class a channel uses when its options name none. */
export function defaultWebSocket(): WebSocketClass | null {
  return typeof globalThis.WebSocket === "function" ? globalThis.WebSocket : wsPackage;
}

/** True for the `ws` package's class (an EventEmitter), false for WHATWG WebSockets. */
export function isWsPackageClass(WS: WebSocketClass | null | undefined): boolean {
  return WS === wsPackage || (WS != null && WS.prototype != null && typeof WS.prototype.on === "function" && typeof WS.prototype.terminate === "function");
}
