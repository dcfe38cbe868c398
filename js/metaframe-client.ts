// MetaframeClient: the metaframe side of the metapage postMessage protocol (v2), written
// from the wire protocol (see docs/architecture.md and the notes on the real protocol) so
// that a metaframe needs nothing but metachannel. Inside an iframe it talks to the parent
// page; anywhere else (a top-level page, Node) it is an in-memory stand-in fed by
// setInputs(), so the same code runs in tests, workers and standalone pages.
//
// Wire (JSON-RPC 2.0 shaped, no responses; child ids count up from 1, the parent uses "_"):
//   child  -> parent  SetupIframeClientRequest      params {version}        (retried until answered)
//   parent -> child   SetupIframeServerResponse     params {iframeId, parentId, version, state: {inputs}}
//   child  -> parent  SetupIframeServerResponseAck  params {version}        (the parent throws without it)
//   parent -> child   InputsUpdate                  params {inputs, parentId} (only the changed keys)
//   child  -> parent  OutputsUpdate / InputsUpdate  params = the map itself
// A key whose value is undefined removes that input (as the metapage library merges).
import { Emitter } from "./emitter.js";
import { MetaChannelError, invalid } from "./errors.js";
import type { MetaframeClientOptions } from "./types.js";
import { hasOwn as own, isObject as isPlainObject } from "./util.js";

const PROTOCOL_VERSION = "2";
const OPTION_KEYS: readonly string[] = ["id", "retryMinMs", "retryMaxMs"];

type Inputs = Record<string, unknown>;

/** A JSON-RPC message of the metapage protocol, as posted. */
interface RpcMessage {
  jsonrpc: "2.0";
  id: number;
  method: string;
  params: unknown;
  iframeId: string;
  parentId?: string | null;
}

/** True inside an iframe of a browser page. */
function inIframe(): boolean {
  if (typeof window === "undefined" || typeof window.addEventListener !== "function") return false;
  try {
    return window.parent != null && window.parent !== window;
  } catch {
    return true; // a parent we may not even compare to is certainly not us
  }
}

/**
 * The metaframe side of a metapage (protocol version "2"), with no other dependency.
 *
 * Inside an iframe it sends `SetupIframeClientRequest` to `window.parent` (retried with
 * backoff until answered), takes its inputs from the answer and from later `InputsUpdate`s,
 * and sends `OutputsUpdate`s. After the handshake it only listens to the parent window, from
 * the origin and metapage id of the first answer, for its own frame id; everything else is
 * ignored. Anywhere else (a top-level page, Node) it is an in-memory stand-in: `setInputs()`
 * feeds it, `connected()` resolves at once.
 *
 * Values are delivered as the metapage sends them: binary inputs arrive as `data:` URL
 * strings (the metapage's encoding) and are not decoded. An update key whose value is
 * `undefined` removes that input.
 *
 * @example
 * ```ts
 * const mf = new MetaframeClient();
 * mf.onInputs = (inputs) => render(inputs);
 * mf.setOutputs({ status: "ready" });
 * ```
 * @public
 */
export class MetaframeClient {
  /** The function called with all current inputs after each update (settable, or null). */
  #onInputs: ((inputs: Inputs) => void) | null = null;
  // No prototype: an input named "__proto__", "constructor" or "toString" is an ordinary input,
  // and a name never set reads as undefined, not as something inherited from Object.prototype.
  #inputs: Inputs = Object.create(null);
  #outputs: Inputs = {};
  /** onInput() listeners, by input name; a throw is logged, the others still run. */
  #inputListeners = new Emitter<Record<string, [value: unknown]>>({
    report: (err, name) => this.#threw(`onInput("${String(name)}")`, err),
    stopped: () => this.#disposed,
  });
  #standalone: boolean;
  #id: string;
  #disposed = false;
  #connected = false;
  #connectedPromise: Promise<void> | null = null;
  #connectedSettle: { resolve: () => void; reject: (err: MetaChannelError) => void } | null = null;
  // iframe mode
  #parentWindow: Window | null = null;
  #parentOrigin: string | null = null;
  #parentId: string | null = null;
  #rpcId = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #retryDelay: number;
  #retryMaxMs: number;
  #pendingOutputs: Inputs | null = null;
  #pendingInputs: Inputs | null = null;
  #listener: ((event: MessageEvent) => void) | null = null;

  /**
   * @param options - id: this frame's id in the metapage (default window.name, which the
   *   metapage sets); retryMinMs / retryMaxMs: backoff of the handshake request (default 200
   *   doubling to 5000).
   */
  constructor(options: MetaframeClientOptions = {}) {
    if (options === null || options === undefined) options = {};
    if (!isPlainObject(options)) invalid("MetaframeClient options", "an object", options);
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.includes(key)) {
        throw new MetaChannelError("INVALID_ARGUMENT", `unknown MetaframeClient option ${key}; allowed: ${OPTION_KEYS.join(", ")}`, { field: key });
      }
    }
    if (options.id !== undefined && typeof options.id !== "string") invalid("options.id", "a string", options.id);
    const min: unknown = options.retryMinMs ?? 200;
    const max: unknown = options.retryMaxMs ?? 5000;
    if (typeof min !== "number" || !(min > 0) || !Number.isFinite(min)) invalid("options.retryMinMs", "a number > 0", min);
    if (typeof max !== "number" || !(max >= (min as number)) || !Number.isFinite(max)) invalid("options.retryMaxMs", `a number >= retryMinMs (${min})`, max);
    this.#retryDelay = min as number;
    this.#retryMaxMs = max;

    this.#standalone = !inIframe();
    this.#id = options.id ?? (typeof window !== "undefined" && typeof window.name === "string" ? window.name : "");
    if (this.#standalone) {
      this.#connected = true;
      return;
    }
    this.#parentWindow = window.parent;
    this.#listener = (event: MessageEvent) => this.#onMessage(event);
    window.addEventListener("message", this.#listener);
    this.#requestSetup();
  }

  // ------------------------------------------------------------------ observers

  /** This frame's id in the metapage ("" when unknown). */
  get id(): string {
    return this.#id;
  }
  /** True when not inside an iframe: inputs come only from setInputs(). */
  get standalone(): boolean {
    return this.#standalone;
  }
  /** True after the handshake (always for the stand-in) and until dispose(). */
  get isConnected(): boolean {
    return this.#connected && !this.#disposed;
  }
  get disposed(): boolean {
    return this.#disposed;
  }

  /**
   * Called with all current inputs after each update, as in the metapage documentation
   * (`client.onInputs = (inputs) => ...`). Assigning a function when inputs are already
   * known also calls it once, on a microtask, so a late assignment misses nothing.
   */
  get onInputs(): ((inputs: Record<string, unknown>) => void) | null {
    return this.#onInputs;
  }
  set onInputs(fn: ((inputs: Record<string, unknown>) => void) | null) {
    if (fn !== null && fn !== undefined && typeof fn !== "function") invalid("onInputs", "a function or null", fn);
    this.#onInputs = fn || null;
    if (fn && Object.keys(this.#inputs).length > 0) {
      queueMicrotask(() => {
        if (this.#onInputs === fn && !this.#disposed) this.#callOnInputs(fn);
      });
    }
  }

  /** A copy of the current inputs. */
  getInputs(): Record<string, unknown> {
    return { ...this.#inputs };
  }
  /** The current value of one input (undefined if absent). */
  getInput(name: string): unknown {
    return own(this.#inputs, name) ? this.#inputs[name] : undefined;
  }
  /** A copy of every output set so far. */
  getOutputs(): Record<string, unknown> {
    return { ...this.#outputs };
  }

  // ------------------------------------------------------------------ inputs and outputs

  /**
   * Calls `listener(value)` whenever input `name` changes (value undefined: it was removed).
   * A repeat of the same value (Object.is) is not a change. Returns the unsubscribe function.
   */
  onInput(name: string, listener: (value: unknown) => void): () => void {
    this.#live("onInput()");
    if (typeof name !== "string" || name === "") invalid("onInput(name)", "a non-empty string", name);
    if (typeof listener !== "function") invalid("onInput(name, listener)", "a function", listener);
    return this.#inputListeners.on(name, listener);
  }

  /**
   * Stand-in: merges `inputs` (undefined removes a key) and notifies synchronously.
   * In an iframe: sends an `InputsUpdate` to the parent (as the metapage library does); the
   * values come back through the parent. Set before the handshake: sent right after it.
   */
  setInputs(inputs: Record<string, unknown>): void {
    this.#live("setInputs()");
    if (!isPlainObject(inputs)) invalid("setInputs(inputs)", "an object of input names to values", inputs);
    if (this.#standalone) {
      this.#applyInputs(inputs);
      return;
    }
    if (!this.#connected) {
      this.#pendingInputs = { ...(this.#pendingInputs || {}), ...inputs };
      return;
    }
    this.#send("InputsUpdate", { ...inputs });
  }

  /**
   * Sends outputs to the parent (an `OutputsUpdate`; only the keys given). Outputs set before
   * the handshake are merged and sent right after it. Stand-in: kept for getOutputs().
   */
  setOutputs(outputs: Record<string, unknown>): void {
    this.#live("setOutputs()");
    if (!isPlainObject(outputs)) invalid("setOutputs(outputs)", "an object of output names to values", outputs);
    this.#outputs = { ...this.#outputs, ...outputs };
    if (this.#standalone) return;
    if (!this.#connected) {
      this.#pendingOutputs = { ...(this.#pendingOutputs || {}), ...outputs };
      return;
    }
    this.#send("OutputsUpdate", { ...outputs });
  }

  /** Sets one output. */
  setOutput(name: string, value: unknown): void {
    if (typeof name !== "string" || name === "") invalid("setOutput(name)", "a non-empty string", name);
    this.setOutputs({ [name]: value });
  }

  /** Resolves after the handshake (at once for the stand-in); rejects DISPOSED if disposed first. */
  connected(): Promise<void> {
    if (this.#disposed) return Promise.reject(new MetaChannelError("DISPOSED", "this MetaframeClient was disposed"));
    if (this.#connected) return Promise.resolve();
    if (!this.#connectedPromise) {
      this.#connectedPromise = new Promise((resolve, reject) => {
        this.#connectedSettle = { resolve, reject };
      });
    }
    return this.#connectedPromise;
  }

  /** Removes the message listener and stops handshake retries. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    if (this.#listener) window.removeEventListener("message", this.#listener);
    this.#listener = null;
    this.#inputListeners.clear();
    this.#onInputs = null;
    if (this.#connectedSettle && !this.#connected) {
      this.#connectedSettle.reject(new MetaChannelError("DISPOSED", "the MetaframeClient was disposed before the metapage answered"));
    }
    this.#connectedSettle = null;
  }

  // ------------------------------------------------------------------ protocol

  #requestSetup(): void {
    this.#retryTimer = null;
    if (this.#disposed || this.#connected) return;
    this.#post({ jsonrpc: "2.0", id: ++this.#rpcId, method: "SetupIframeClientRequest", params: { version: PROTOCOL_VERSION }, iframeId: this.#id }, "*");
    const delay = this.#retryDelay;
    this.#retryDelay = Math.min(this.#retryMaxMs, delay * 2);
    this.#retryTimer = setTimeout(() => this.#requestSetup(), delay);
  }

  #send(method: string, params: unknown): void {
    const origin = this.#parentOrigin && this.#parentOrigin !== "null" ? this.#parentOrigin : "*";
    this.#post({ jsonrpc: "2.0", id: ++this.#rpcId, method, params, iframeId: this.#id, parentId: this.#parentId }, origin);
  }

  #post(message: RpcMessage, targetOrigin: string): void {
    try {
      this.#parentWindow!.postMessage(message, targetOrigin);
    } catch (err) {
      // A value that cannot be cloned (a function, a DOM node): say which call failed.
      throw new MetaChannelError(
        "INVALID_ARGUMENT",
        `${message.method}: the values cannot be sent to the parent page (${err && (err as Error).name ? (err as Error).name : "postMessage failed"})`,
        err,
      );
    }
  }

  #onMessage(event: MessageEvent): void {
    if (this.#disposed) return;
    const data: unknown = event.data;
    if (!isPlainObject(data) || data.jsonrpc !== "2.0" || typeof data.method !== "string") return;
    if (event.source !== this.#parentWindow) return;
    if (data.iframeId !== this.#id) return;

    if (!this.#connected) {
      if (data.method !== "SetupIframeServerResponse") return;
      const params: Record<string, any> = isPlainObject(data.params) ? data.params : {};
      if (params.iframeId !== undefined && params.iframeId !== this.#id) return;
      this.#parentOrigin = event.origin;
      this.#parentId = data.parentId ?? params.parentId ?? null;
      this.#connected = true;
      if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
      this.#send("SetupIframeServerResponseAck", { version: PROTOCOL_VERSION });
      if (this.#pendingOutputs) {
        const outputs = this.#pendingOutputs;
        this.#pendingOutputs = null;
        this.#send("OutputsUpdate", outputs);
      }
      if (this.#pendingInputs) {
        const inputs = this.#pendingInputs;
        this.#pendingInputs = null;
        this.#send("InputsUpdate", inputs);
      }
      if (this.#connectedSettle) this.#connectedSettle.resolve();
      this.#connectedSettle = null;
      const initial = params.state && isPlainObject(params.state.inputs) ? params.state.inputs : null;
      if (initial && Object.keys(initial).length > 0) this.#applyInputs(initial);
      return;
    }

    // After the handshake: only the pinned parent window, origin and metapage.
    if (event.origin !== this.#parentOrigin) return;
    if (this.#parentId !== null && data.parentId !== this.#parentId) return;
    if (data.method === "InputsUpdate" && isPlainObject(data.params) && isPlainObject(data.params.inputs)) {
      this.#applyInputs(data.params.inputs);
    }
    // SetupIframeServerResponse again (an answer to a retried request): already set up.
  }

  #applyInputs(update: Inputs): void {
    const changed: string[] = [];
    const next: Inputs = Object.assign(Object.create(null), this.#inputs);
    for (const [name, value] of Object.entries(update)) {
      if (value === undefined) {
        if (!own(next, name)) continue;
        delete next[name];
      } else {
        if (own(next, name) && Object.is(next[name], value)) continue;
        next[name] = value;
      }
      changed.push(name);
    }
    this.#inputs = next;
    for (const name of changed) {
      if (this.#disposed) return;
      this.#inputListeners.emit(name, next[name]);
    }
    if (this.#onInputs && !this.#disposed) this.#callOnInputs(this.#onInputs);
  }

  #callOnInputs(fn: (inputs: Inputs) => void): void {
    try {
      fn(this.getInputs());
    } catch (err) {
      this.#threw("onInputs", err);
    }
  }

  /** One failing listener must not stop the others or the protocol: it is logged. */
  #threw(what: string, err: unknown): void {
    if (typeof console !== "undefined") console.error(`[metachannel] MetaframeClient ${what} listener threw:`, err);
  }

  #live(what: string): void {
    if (this.#disposed) throw new MetaChannelError("DISPOSED", `${what}: this MetaframeClient was disposed`);
  }
}
