// The Emscripten glue (build/wasm/core-glue.mjs, aliased "#core-glue" by scripts/build.mjs):
// the module factory and what js/ uses of the module it makes. Internal: never part of the
// public types.
declare module "#core-glue" {
  /** Return codes of WasmChannel calls: 0 = ok, else an index into ERROR_CODES. */
  type Rc = number;

  /** The Embind class of bindings/bindings.cpp: one mc::Channel in wasm memory. */
  export interface WasmChannel {
    setUrl(url: string): Rc;
    sendText(text: string): Rc;
    /** The address of the C++ object, for the prelude's send fast path. */
    address(): number;
    sendBinary(bytes: Uint8Array): Rc;
    close(code: number, reason: string): Rc;
    reconnect(): Rc;
    setOnline(online: boolean): void;
    resume(): void;
    dispose(): void;
    /** Adds (delta 1) or removes (delta -1) interest of kind INTEREST.* in `key`. */
    addInterest(kind: number, key: string, delta: number): void;
    id(): string;
    setPresence(stateJson: string): Rc;
    setHidden(hidden: boolean): void;
    dropConnection(): void;
    /** JSON text of the reliable-delivery counters. */
    reliableStats(): string;
    /** An index into STATES. */
    state(): number;
    readyState(): 0 | 1 | 2 | 3;
    url(): string;
    protocol(): string;
    bufferedAmount(): number;
    queuedCount(): number;
    queuedBytes(): number;
    attempt(): number;
    lastError(): string;
    /** Embind: frees the C++ object. */
    delete(): void;
  }

  /** The options bindings.cpp reads (js/options.ts makes them). */
  export type FlatOptions = Record<string, string | number | boolean>;

  /** The core's calls into JS for one channel handle (installed by js/channel.ts). */
  export interface CoreEvents {
    state(h: number, from: number, to: number): void;
    open(h: number, ptr: number, size: number): void;
    text(h: number, ptr: number, size: number, route: number): void;
    binary(h: number, ptr: number, size: number, route: number): void;
    close(h: number, code: number, ptr: number, size: number, clean: number, again: number): void;
    error(h: number, code: number, ptr: number, size: number, detail: unknown): void;
    reconnecting(h: number, attempt: number, delayMs: number): void;
    lost(h: number, fromPtr: number, fromSize: number, count: number, ptr: number, size: number): void;
    presence(h: number, ptr: number, size: number): void;
  }

  /** What websocket.h gets from the socket factory: a WebSocket, or an inert stand-in. */
  export interface SocketLike {
    readyState: number;
    send(data: unknown): void;
    close(code?: number, reason?: string): void;
  }

  /** The instantiated module: Embind exports and the __mc* slots of js/wasm-prelude.js. */
  export interface CoreModule {
    WasmChannel: new (handle: number, options: FlatOptions) => WasmChannel;
    /** "" if `url` is a valid channel URL, else what is wrong with it. */
    validateUrl(url: string): string;
    /** `url` with its path and query replaced (ws://host/…). */
    redactUrl(url: string): string;
    __mcEvents?: CoreEvents;
    __mcDecodeUtf8(ptr: number, size: number): string;
    __mcCopyBytes(ptr: number, size: number): Uint8Array;
    __mcMemoryBytes(): number;
    __mcSendText(channelAddress: number, text: string): Rc;
    /** The text of the frame being delivered, kept by the platform layer (null if none). */
    __mcLastText?: string | null;
    __mcCreateSocket?: (url: string, protocols: string[] | undefined, owner: number) => SocketLike;
    __mcCreateError?: string;
  }

  export interface CoreFactoryOptions {
    instantiateWasm(
      imports: WebAssembly.Imports,
      receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
    ): object;
  }

  const createCore: (options: CoreFactoryOptions) => Promise<CoreModule>;
  export default createCore;
}
