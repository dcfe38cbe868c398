// One keyed route of a Channel, shared by every client on it: chat rooms (the "room" field),
// live-data subscriptions ("channel") and request replies ("re"). A client that routes on
// another member name needs no change in C++: the core's router takes any name.
//
// The C++ router marks a frame with the field's bit when the frame's top-level `field` names a
// key someone registered interest in; the hub then hands the frame to the delivery functions
// registered for that key. Interest is registered when a key gets its first delivery function
// and dropped when it loses its last, so clients sharing a Channel never remove each other's.
import { callAll } from "./emitter.js";
import type { MessageMeta, StateEvent } from "./types.js";

/** A delivery function; a throw is reported by the Channel as LISTENER_THREW. @internal */
export type Deliver = (msg: any, meta: MessageMeta) => void;

/**
 * What routing (RouteHub) and request/reply need of a Channel, which implements it. Declared
 * here so that neither imports channel.ts (which imports request.ts): no import cycle, not
 * even of types.
 * @internal
 */
export interface RoutedChannel {
  readonly disposed: boolean;
  send(data: unknown): void;
  on(event: "state", listener: (e: StateEvent) => void): () => void;
  /** Adds (1) or removes (-1) interest in frames whose top-level `field` is `value`. */
  _route(field: string, value: string, delta: 1 | -1): void;
  /** `fn` is called for JSON objects routed on `field` (one hook per field). */
  _hook(field: string, fn: Deliver): void;
  /** `fn` runs at the start of dispose(). */
  _onDispose(fn: () => void): void;
}

/** @internal */
export interface RouteSpec {
  /** The top-level member of a frame that holds the key. */
  field: string;
  /** Frames that are routed but are not for the delivery functions (control frames). */
  skip?(msg: any): boolean;
  /** Called after a key got its first delivery function (interest is registered). */
  first?(key: string): void;
  /** Called before a key's interest is dropped, when it lost its last (not after dispose). */
  last?(key: string): void;
}

/** Per Channel: field -> hub. */
const hubs = new WeakMap<RoutedChannel, Map<string, RouteHub>>();

/** @internal */
export class RouteHub {
  readonly #channel: RoutedChannel;
  readonly #spec: RouteSpec;
  readonly #keys = new Map<string, Set<Deliver>>();

  /**
   * The hub of `spec.field` on `channel`, made on first use; `setup` runs once, right after
   * the hub is made (to add channel listeners the route needs).
   */
  static of(channel: RoutedChannel, spec: RouteSpec, setup?: (hub: RouteHub) => void): RouteHub {
    let byRoute = hubs.get(channel);
    if (!byRoute) {
      byRoute = new Map();
      hubs.set(channel, byRoute);
    }
    let hub = byRoute.get(spec.field);
    if (hub) return hub;
    hub = new RouteHub(channel, spec);
    byRoute.set(spec.field, hub);
    setup?.(hub);
    return hub;
  }

  private constructor(channel: RoutedChannel, spec: RouteSpec) {
    this.#channel = channel;
    this.#spec = spec;
    channel._hook(spec.field, (msg, meta) => {
      if (spec.skip?.(msg)) return;
      const set = this.#keys.get(msg[spec.field]);
      if (set) callAll([...set], msg, meta); // copied: a delivery may add or remove deliveries
    });
  }

  /** Adds `deliver` for `key`; the first one registers the interest. */
  add(key: string, deliver: Deliver): void {
    let set = this.#keys.get(key);
    if (!set) {
      set = new Set();
      this.#keys.set(key, set);
      this.#channel._route(this.#spec.field, key, 1);
      this.#spec.first?.(key);
    }
    set.add(deliver);
  }

  /** Removes `deliver` from `key`; the last one drops the interest (unless the channel was disposed). */
  remove(key: string, deliver: Deliver): void {
    const set = this.#keys.get(key);
    if (!set?.delete(deliver) || set.size) return;
    this.#keys.delete(key);
    if (this.#channel.disposed) return;
    this.#spec.last?.(key);
    this.#channel._route(this.#spec.field, key, -1);
  }

  /** Keys with at least one delivery function, in the order they got their first. */
  keys(): string[] {
    return [...this.#keys.keys()];
  }
}
