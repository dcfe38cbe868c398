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
import { MetaChannelError, invalid } from "./errors.js";

const PROTOCOL_VERSION = "2";
const OPTION_KEYS = ["id", "retryMinMs", "retryMaxMs"];

const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

function isPlainObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** True inside an iframe of a browser page. */
function inIframe() {
  if (typeof window === "undefined" || typeof window.addEventListener !== "function") return false;
  try {
    return window.parent != null && window.parent !== window;
  } catch {
    return true; // a parent we may not even compare to is certainly not us
  }
}

/**
 * The metaframe side of a metapage: inputs in, outputs out. See metachannel.d.ts.
 */
export class MetaframeClient {
  /** The function called with all current inputs after each update (settable, or null). */
  #onInputs = null;
  // No prototype: an input named "__proto__", "constructor" or "toString" is an ordinary input,
  // and a name never set reads as undefined, not as something inherited from Object.prototype.
  #inputs = Object.create(null);
  #outputs = {};
  /** name -> array of listeners (replaced, never mutated) */
  #inputListeners = new Map();
  #standalone;
  #id;
  #disposed = false;
  #connected = false;
  #connectedPromise = null;
  #connectedSettle = null;
  // iframe mode
  #parentWindow = null;
  #parentOrigin = null;
  #parentId = null;
  #rpcId = 0;
  #retryTimer = null;
  #retryDelay;
  #retryMaxMs;
  #pendingOutputs = null;
  #pendingInputs = null;
  #listener = null;

  /**
   * @param {{ id?: string, retryMinMs?: number, retryMaxMs?: number }} [options]
   *   id: this frame's id in the metapage (default window.name, which the metapage sets);
   *   retryMinMs / retryMaxMs: backoff of the handshake request (default 200 doubling to 5000).
   */
  constructor(options = {}) {
    if (options === null || options === undefined) options = {};
    if (!isPlainObject(options)) invalid("MetaframeClient options", "an object", options);
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.includes(key)) {
        throw new MetaChannelError("INVALID_ARGUMENT", `unknown MetaframeClient option ${key}; allowed: ${OPTION_KEYS.join(", ")}`, { field: key });
      }
    }
    if (options.id !== undefined && typeof options.id !== "string") invalid("options.id", "a string", options.id);
    const min = options.retryMinMs ?? 200;
    const max = options.retryMaxMs ?? 5000;
    if (typeof min !== "number" || !(min > 0) || !Number.isFinite(min)) invalid("options.retryMinMs", "a number > 0", min);
    if (typeof max !== "number" || !(max >= min) || !Number.isFinite(max)) invalid("options.retryMaxMs", `a number >= retryMinMs (${min})`, max);
    this.#retryDelay = min;
    this.#retryMaxMs = max;

    this.#standalone = !inIframe();
    this.#id = options.id ?? (typeof window !== "undefined" && typeof window.name === "string" ? window.name : "");
    if (this.#standalone) {
      this.#connected = true;
      return;
    }
    this.#parentWindow = window.parent;
    this.#listener = (event) => this.#onMessage(event);
    window.addEventListener("message", this.#listener);
    this.#requestSetup();
  }

  // ------------------------------------------------------------------ observers

  /** This frame's id in the metapage ("" when unknown). */
  get id() {
    return this.#id;
  }
  /** True when not inside an iframe: inputs come only from setInputs(). */
  get standalone() {
    return this.#standalone;
  }
  /** True after the handshake with the parent (always true for the stand-in). */
  get isConnected() {
    return this.#connected && !this.#disposed;
  }
  get disposed() {
    return this.#disposed;
  }

  /**
   * Called with all current inputs after each update, as in the metapage documentation
   * (`client.onInputs = (inputs) => ...`). Assigning a function when inputs are already
   * known also calls it once, on a microtask, so a late assignment misses nothing.
   */
  get onInputs() {
    return this.#onInputs;
  }
  set onInputs(fn) {
    if (fn !== null && fn !== undefined && typeof fn !== "function") invalid("onInputs", "a function or null", fn);
    this.#onInputs = fn || null;
    if (fn && Object.keys(this.#inputs).length > 0) {
      queueMicrotask(() => {
        if (this.#onInputs === fn && !this.#disposed) this.#call(fn, this.getInputs(), "onInputs");
      });
    }
  }

  /** A copy of the current inputs. */
  getInputs() {
    return { ...this.#inputs };
  }
  /** The current value of one input (undefined if absent). */
  getInput(name) {
    return own(this.#inputs, name) ? this.#inputs[name] : undefined;
  }
  /** A copy of every output set so far. */
  getOutputs() {
    return { ...this.#outputs };
  }

  // ------------------------------------------------------------------ inputs and outputs

  /**
   * Calls `listener(value)` whenever input `name` changes (value undefined: it was removed).
   * A repeat of the same value (Object.is) is not a change. Returns the unsubscribe function.
   */
  onInput(name, listener) {
    this.#live("onInput()");
    if (typeof name !== "string" || name === "") invalid("onInput(name)", "a non-empty string", name);
    if (typeof listener !== "function") invalid("onInput(name, listener)", "a function", listener);
    this.#inputListeners.set(name, [...(this.#inputListeners.get(name) || []), listener]);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      const list = this.#inputListeners.get(name) || [];
      const i = list.lastIndexOf(listener);
      if (i === -1) return;
      const next = list.slice(0, i).concat(list.slice(i + 1));
      if (next.length) this.#inputListeners.set(name, next);
      else this.#inputListeners.delete(name);
    };
  }

  /**
   * Stand-in: merges `inputs` (undefined removes a key) and notifies at once.
   * In an iframe: asks the parent to set this frame's inputs (an InputsUpdate, as the
   * metapage library sends); the new values arrive back through the parent.
   */
  setInputs(inputs) {
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
   * Sends outputs to the parent (an OutputsUpdate; only the keys given). Outputs set before
   * the handshake are merged and sent right after it. Stand-in: kept for getOutputs().
   */
  setOutputs(outputs) {
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
  setOutput(name, value) {
    if (typeof name !== "string" || name === "") invalid("setOutput(name)", "a non-empty string", name);
    this.setOutputs({ [name]: value });
  }

  /** Resolves after the handshake with the parent (at once for the stand-in); rejects DISPOSED. */
  connected() {
    if (this.#disposed) return Promise.reject(new MetaChannelError("DISPOSED", "this MetaframeClient was disposed"));
    if (this.#connected) return Promise.resolve();
    if (!this.#connectedPromise) {
      this.#connectedPromise = new Promise((resolve, reject) => {
        this.#connectedSettle = { resolve, reject };
      });
    }
    return this.#connectedPromise;
  }

  /** Stops the handshake retries and removes the message listener. Idempotent. */
  dispose() {
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

  #requestSetup() {
    this.#retryTimer = null;
    if (this.#disposed || this.#connected) return;
    this.#post({ jsonrpc: "2.0", id: ++this.#rpcId, method: "SetupIframeClientRequest", params: { version: PROTOCOL_VERSION }, iframeId: this.#id }, "*");
    const delay = this.#retryDelay;
    this.#retryDelay = Math.min(this.#retryMaxMs, delay * 2);
    this.#retryTimer = setTimeout(() => this.#requestSetup(), delay);
  }

  #send(method, params) {
    const origin = this.#parentOrigin && this.#parentOrigin !== "null" ? this.#parentOrigin : "*";
    this.#post({ jsonrpc: "2.0", id: ++this.#rpcId, method, params, iframeId: this.#id, parentId: this.#parentId }, origin);
  }

  #post(message, targetOrigin) {
    try {
      this.#parentWindow.postMessage(message, targetOrigin);
    } catch (err) {
      // A value that cannot be cloned (a function, a DOM node): say which call failed.
      throw new MetaChannelError("INVALID_ARGUMENT", `${message.method}: the values cannot be sent to the parent page (${err && err.name ? err.name : "postMessage failed"})`, err);
    }
  }

  #onMessage(event) {
    if (this.#disposed) return;
    const data = event.data;
    if (!isPlainObject(data) || data.jsonrpc !== "2.0" || typeof data.method !== "string") return;
    if (event.source !== this.#parentWindow) return;
    if (data.iframeId !== this.#id) return;

    if (!this.#connected) {
      if (data.method !== "SetupIframeServerResponse") return;
      const params = isPlainObject(data.params) ? data.params : {};
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

  #applyInputs(update) {
    const changed = [];
    const next = Object.assign(Object.create(null), this.#inputs);
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
      const list = this.#inputListeners.get(name);
      if (!list) continue;
      for (const l of list) {
        if (this.#disposed) return;
        this.#call(l, next[name], `onInput("${name}")`);
      }
    }
    if (this.#onInputs && !this.#disposed) this.#call(this.#onInputs, this.getInputs(), "onInputs");
  }

  #call(fn, arg, what) {
    try {
      fn(arg);
    } catch (err) {
      // One failing listener must not stop the others or the protocol.
      if (typeof console !== "undefined") console.error(`[metachannel] MetaframeClient ${what} listener threw:`, err);
    }
  }

  #live(what) {
    if (this.#disposed) throw new MetaChannelError("DISPOSED", `${what}: this MetaframeClient was disposed`);
  }
}
