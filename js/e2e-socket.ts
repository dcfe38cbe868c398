// The sealing socket: what the socket factory (js/socket-factory.ts) returns for a channel whose
// URL carries a key. It has the surface the core uses of a WebSocket (bindings/library.js and
// emscripten/websocket.h: readyState, bufferedAmount, protocol, extensions, binaryType,
// onopen/onmessage/onerror/onclose, send, close) and wraps the real socket: `send` seals every
// frame (text and binary; the core's reliable tags, control messages and presence states are
// frames like any other) and every received frame is opened before it reaches `onmessage`, so
// the receive plan and the prefilter of bindings/library.js run on the opened frame, and the C++
// core never knows. A frame that cannot be opened is dropped and counted (`dropped`).
//
// It is returned synchronously; while the encryption chunk is loading it reads CONNECTING and
// opens the real socket once the chunk is there (at once when it is loaded already).
import type { SocketLike } from "#core-glue";
import type { Sealer } from "./e2e-chunk.js";
import { loadEncryption, loadedEncryption, type EncryptionModule } from "./e2e-load.js";

/** What a sealing socket needs of its channel. */
export interface SealOptions {
  key: Uint8Array;
  /** the channel's maxMessageBytes: a sealed frame over this + the overhead is not opened */
  maxBytes: number;
  /** a received frame was dropped: why (a sentence) */
  dropped(why: string): void;
}

type Handler = ((e: any) => void) | null;

const CONNECTING = 0;
const CLOSED = 3;

/** The sealing socket. */
export class SealedSocket {
  onopen: Handler = null;
  onmessage: Handler = null;
  onerror: Handler = null;
  onclose: Handler = null;
  /** set by websocket.h; the real socket always receives ArrayBuffers */
  binaryType = "arraybuffer";
  #real: (SocketLike & Record<string, any>) | null = null;
  #sealer: Sealer | null = null;
  /** readyState before the real socket exists: CONNECTING, or CLOSED once close() or a failed load ended it */
  #early = CONNECTING;
  #options: SealOptions;
  #make: () => SocketLike;

  /** `make`: opens the real socket (the factory's constructor call; may throw). */
  constructor(make: () => SocketLike, options: SealOptions) {
    this.#make = make;
    this.#options = options;
    const mod = loadedEncryption();
    if (mod) this.#start(mod, true);
    else
      loadEncryption().then(
        (m) => this.#start(m, false),
        () => this.#fail(),
      );
  }

  get readyState(): number {
    return this.#real ? this.#real.readyState : this.#early;
  }
  get bufferedAmount(): number {
    return this.#real ? this.#real.bufferedAmount || 0 : 0;
  }
  get protocol(): string {
    return this.#real ? this.#real.protocol || "" : "";
  }
  get extensions(): string {
    return this.#real ? this.#real.extensions || "" : "";
  }
  get url(): string {
    return this.#real ? this.#real.url || "" : "";
  }
  /** The HTTP status of a refused upgrade (js/socket-factory.ts sets it on the real socket). */
  get refusedStatus(): number | undefined {
    return this.#real ? this.#real.refusedStatus : undefined;
  }

  #start(mod: EncryptionModule, sync: boolean): void {
    if (this.#early === CLOSED) return; // closed while the chunk was loading
    this.#sealer = mod.sealer(this.#options.key, this.#options.maxBytes);
    let real: SocketLike & Record<string, any>;
    if (sync)
      real = this.#make() as SocketLike & Record<string, any>; // a constructor that throws: the factory's own path
    else {
      try {
        real = this.#make() as SocketLike & Record<string, any>;
      } catch {
        this.#fail();
        return;
      }
    }
    this.#real = real;
    real.binaryType = "arraybuffer";
    real.onopen = (e: unknown) => this.onopen?.(e);
    real.onerror = (e: unknown) => this.onerror?.(e);
    real.onclose = (e: unknown) => this.onclose?.(e);
    real.onmessage = (e: { data: unknown }) => this.#receive(e);
  }

  /** No real socket can be made (the chunk failed to load): as a socket that failed to connect. */
  #fail(): void {
    if (this.#early === CLOSED) return;
    this.#early = CLOSED;
    this.onerror?.({ type: "error" });
    this.onclose?.({ type: "close", code: 1006, reason: "", wasClean: false });
  }

  #receive(e: { data: unknown }): void {
    const on = this.onmessage;
    if (!on) return;
    const r = this.#sealer!.receive(e.data);
    // null: over the limit: the core's oversize path reports it (by its sealed size), never opened.
    if (r === null) on(e);
    else if ("dropped" in r) this.#options.dropped(r.dropped);
    else on(r);
  }

  send(data: string | Uint8Array | ArrayBuffer): void {
    const real = this.#real;
    if (!real) return; // not open (the core sends only on an OPEN socket)
    const sealer = this.#sealer!;
    real.send(typeof data === "string" ? sealer.sealText(data) : sealer.sealBinary(data instanceof ArrayBuffer ? new Uint8Array(data) : data));
  }

  close(code?: number, reason?: string): void {
    if (this.#real) {
      this.#real.close(code, reason);
      return;
    }
    if (this.#early === CLOSED) return;
    // Closed while the chunk was loading: no socket will be opened; closes as a WebSocket
    // closed while CONNECTING does (1006, after the call returns).
    this.#early = CLOSED;
    queueMicrotask(() => this.onclose?.({ type: "close", code: 1006, reason: "", wasClean: false }));
  }
}
