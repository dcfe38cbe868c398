// The Emscripten glue (build/wasm/core-glue.mjs, aliased "#core-glue" by scripts/build.mjs):
// the module factory and what js/ uses of the module it makes: the boundary as the JS layer
// sees it (its other side: bindings/bindings.cpp and bindings/library.js). Internal: never
// part of the public types.
declare module "#core-glue" {
  /** Return codes of the core's calls: 0 = ok, else an index into ERROR_CODES. */
  type Rc = number;
  /** The address of a WasmChannel in wasm memory: what the raw exports take. */
  type Address = number;

  /**
   * The core's events for one channel handle (installed by js/core-bridge.ts); bindings/library.js
   * has decoded the text already.
   */
  export interface CoreEvents {
    state(h: number, from: number, to: number): void;
    open(h: number, protocol: string): void;
    /**
     * `text` is the frame's own string when it is the frame being received. `from`/`seq`: the
     * sender and sequence number the core read in a reliable frame's tag (route bit SEQ), else "" and 0.
     */
    text(h: number, text: string, route: number, from: string, seq: number): void;
    binary(h: number, bytes: Uint8Array, route: number): void;
    close(h: number, code: number, reason: string, clean: boolean, again: boolean): void;
    error(h: number, code: number, message: string, detail: unknown): void;
    reconnecting(h: number, attempt: number, delayMs: number): void;
    lost(h: number, from: string, count: number, message: string): void;
    presence(h: number, json: string): void;
  }

  /**
   * `Module.mc`: the module's one slot for metachannel, declared in bindings/library.js (its
   * `$MC` object); the calls that take or return text.
   */
  export interface CoreBridge {
    /** Set once by js/core-bridge.ts (installEvents). */
    events: CoreEvents | null;
    /** Set once by js/socket-factory.ts: makes the socket websocket.h asks for. */
    createSocket: ((url: string, protocols: string[] | undefined, owner: number) => SocketLike) | null;
    /** Set by the socket factory when the constructor threw (read by the platform layer). */
    createError: string | null;
    /**
     * Makes a channel and returns its address (freed by _mc_channel_delete). `values`: every
     * wire option (js/vocabulary.ts's WireOptions) in the core's order (js/vocabulary.ts's WIRE_ORDER; js/core-bridge.ts
     * createChannel() builds it).
     */
    createChannel(handle: number, values: ReadonlyArray<number | boolean | string>): Address;
    /** `direct`: try the direct path first (false on a reliable channel: the core tags its objects). */
    sendText(channel: Address, text: string, direct: boolean): Rc;
    sendBinary(channel: Address, bytes: Uint8Array): Rc;
    setUrl(channel: Address, url: string, renew?: boolean): Rc;
    close(channel: Address, code: number, reason: string): Rc;
    setPresence(channel: Address, json: string): Rc;
    /** The router slot of a top-level member name; -1 when refused. */
    fieldSlot(channel: Address, name: string): number;
    route(channel: Address, slot: number, value: string, delta: number): void;
    url(channel: Address): string;
    id(channel: Address): string;
    lastError(channel: Address): string;
    /** JSON text of the reliable-delivery counters. */
    reliableStats(channel: Address): string;
    memoryBytes(): number;
  }

  /** What websocket.h gets from the socket factory: a WebSocket, or an inert stand-in. */
  export interface SocketLike {
    readyState: number;
    /** The HTTP status of a refused upgrade, when the implementation tells (js/socket-factory.ts). */
    refusedStatus?: number;
    send(data: unknown): void;
    close(code?: number, reason?: string): void;
  }

  /** The instantiated module: Embind exports, `mc` (bindings/library.js) and the raw exports. */
  export interface CoreModule {
    /** "" if `url` is a valid channel URL, else what is wrong with it. */
    validateUrl(url: string): string;
    /** `url` with its path and query replaced (ws://host/…). */
    redactUrl(url: string): string;
    /** The digest of src/metachannel/vocabulary.h this wasm was built with. */
    VOCABULARY_DIGEST: number;
    /** False in the lite core (metachannel-lite.wasm): no reliable delivery, no presence. */
    RELIABILITY: boolean;
    mc: CoreBridge;
    // The raw exports: what bindings/*.cpp defines with EMSCRIPTEN_KEEPALIVE, with its C
    // parameter names (an address or a count; text crosses through bindings/library.js's `$MC`).
    // _mc_channel_state returns an index into STATES; the calls that return an int "Rc" return
    // 0 or an index into ERROR_CODES. The build checks both cores' glue against this list.
    // generated from bindings/*.cpp (EMSCRIPTEN_KEEPALIVE) by scripts/gen-glue-types.mjs: do not edit
    _mc_out_size(): number;
    _mc_channel_create(handle: number, options: number): number;
    _mc_channel_delete(channel: Address): void;
    _mc_channel_set_url(channel: Address, p: number, n: number, renew: number): number;
    _mc_channel_send_text(channel: Address, p: number, n: number): number;
    _mc_channel_send_direct(channel: Address, max_size: number): number;
    _mc_channel_send_binary(channel: Address, p: number, n: number): number;
    _mc_channel_close(channel: Address, close_code: number, p: number, n: number): number;
    _mc_channel_reconnect(channel: Address): number;
    _mc_channel_set_presence(channel: Address, p: number, n: number): number;
    _mc_channel_field_slot(channel: Address, p: number, n: number): number;
    _mc_channel_route(channel: Address, slot: number, p: number, n: number, delta: number): void;
    _mc_channel_route_message(channel: Address, delta: number): void;
    _mc_channel_route_any(channel: Address, delta: number): void;
    _mc_channel_js_mirrors_type(channel: Address, on: number): void;
    _mc_channel_set_online(channel: Address, online: number): void;
    _mc_channel_resume(channel: Address): void;
    _mc_channel_set_hidden(channel: Address, hidden: number): void;
    _mc_channel_drop_connection(channel: Address): void;
    _mc_channel_dispose(channel: Address): void;
    _mc_channel_state(channel: Address): number;
    _mc_channel_attempt(channel: Address): number;
    _mc_channel_buffered_amount(channel: Address): number;
    _mc_channel_queued_count(channel: Address): number;
    _mc_channel_queued_bytes(channel: Address): number;
    _mc_channel_url(channel: Address): number;
    _mc_channel_id(channel: Address): number;
    _mc_channel_last_error(channel: Address): number;
    _mc_channel_reliable_stats(channel: Address): number;
    _mc_transport_frame(transport: number, text: number, data: number, size: number): void;
    _mc_transport_oversize(transport: number, text: number, size: number): void;
    _mc_number_text(p: number, n: number): number;
    // end of generated raw exports
  }

  export interface CoreFactoryOptions {
    instantiateWasm(imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void): object;
  }

  const createCore: (options: CoreFactoryOptions) => Promise<CoreModule>;
  export default createCore;
}
