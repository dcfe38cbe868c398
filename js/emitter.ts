// The one listener registry of the package: Channel, its typed messages, ChatClient,
// LiveDataClient and MetaframeClient each keep their listeners in an Emitter.
//
// - Listener lists are replaced, never mutated: a listener may add or remove listeners (of
//   the same event too) while an event is being delivered; the delivery in progress goes on
//   with the list it started with.
// - off(event, l) removes the LAST registration of `l` (or of the once() wrapper made for it);
//   the unsubscribe functions are idempotent: a second call never removes a later
//   registration of the same function.
// - What a throwing listener becomes is the owner's choice: emit() hands each error to the
//   owner's `report` (Channel: an "error" event LISTENER_THREW; MetaframeClient: the console),
//   emitAll() runs every listener and then rethrows the first error (the client classes,
//   whose Channel reports it).

/** A map of event names to the argument lists of their listeners. @internal */
export type EventMap<E> = { [K in keyof E]: unknown[] };
/** A listener of event K. @internal */
export type Listener<A extends unknown[]> = (...args: A) => void;

type AnyListener = (...args: any[]) => void;

/** @internal */
export interface EmitterHooks<E> {
  /** Called with each error a listener throws in emit(). Default: rethrown at once. */
  report?(err: unknown, event: keyof E): void;
  /** Checked before each listener in emit(): true stops the delivery (the owner was disposed). */
  stopped?(): boolean;
  /** Called when a registration of `event` is added (+1) or removed (-1). */
  changed?(event: keyof E, delta: 1 | -1): void;
}

/**
 * Runs every listener with `args`, even if one throws; then rethrows the first error.
 * @internal
 */
export function callAll<A extends unknown[]>(listeners: Iterable<Listener<A>>, ...args: A): void {
  let failed = false;
  let first: unknown;
  for (const l of listeners) {
    try {
      l(...args);
    } catch (err) {
      if (!failed) first = err;
      failed = true;
    }
  }
  if (failed) throw first;
}

/** @internal */
export class Emitter<E extends EventMap<E>> {
  // TypeScript-private, not #private: plain properties, read several times per delivered
  // message (this class is @internal: not in the public types).
  private readonly lists = new Map<keyof E, AnyListener[]>();
  private readonly onceWrappers = new WeakMap<AnyListener, AnyListener>();
  private readonly hooks: EmitterHooks<E>;

  constructor(hooks: EmitterHooks<E> = {}) {
    this.hooks = hooks;
  }

  /** Adds a listener; returns an idempotent function removing this registration. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    this.add(event, listener);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.off(event, listener);
    };
  }

  /**
   * As on(), for the next event only. The wrapper removes itself (not "the latest once wrapper
   * of `listener`"), so the same function registered twice with once() fires twice.
   */
  once<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let active = true;
    const wrapper = (...args: E[K]) => {
      if (!active) return;
      active = false;
      this.off(event, wrapper);
      listener(...args);
    };
    this.add(event, wrapper);
    this.onceWrappers.set(listener, wrapper);
    return () => {
      if (!active) return;
      active = false;
      this.off(event, wrapper);
    };
  }

  /** Adds a registration (no unsubscribe function). */
  add<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    this.lists.set(event, [...(this.lists.get(event) || []), listener as AnyListener]);
    this.hooks.changed?.(event, 1);
  }

  /** Removes the last registration of `listener` (or of its once() wrapper); false if none. */
  off<K extends keyof E>(event: K, listener: Listener<E[K]>): boolean {
    const list = this.lists.get(event);
    if (!list) return false;
    const l = listener as AnyListener;
    const target = this.onceWrappers.get(l) || l;
    const i = list.lastIndexOf(target) !== -1 ? list.lastIndexOf(target) : list.lastIndexOf(l);
    if (i === -1) return false;
    const next = list.slice(0, i).concat(list.slice(i + 1));
    if (next.length) this.lists.set(event, next);
    else this.lists.delete(event);
    this.hooks.changed?.(event, -1);
    return true;
  }

  /** True when `event` has at least one listener. */
  has(event: keyof E): boolean {
    return this.lists.has(event);
  }

  /** How many registrations `event` has. */
  count(event: keyof E): number {
    return this.lists.get(event)?.length ?? 0;
  }

  /** Events with at least one listener, in the order they got their first. */
  events(): (keyof E)[] {
    return [...this.lists.keys()];
  }

  /** Drops every listener of `event` (no `changed` calls). */
  drop(event: keyof E): void {
    this.lists.delete(event);
  }

  /** Drops every listener (no `changed` calls: the owner is going away). */
  clear(): void {
    this.lists.clear();
  }

  /** Delivers to each listener; a throw goes to `report`, and delivery stops once `stopped()`. */
  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const list = this.lists.get(event);
    if (!list) return;
    const { report, stopped } = this.hooks;
    for (let i = 0; i < list.length; i++) {
      if (stopped?.()) return;
      try {
        list[i]!(...args);
      } catch (err) {
        if (!report) throw err;
        report(err, event);
      }
    }
  }

  /** Delivers to every listener even if one throws, then rethrows the first error. */
  emitAll<K extends keyof E>(event: K, ...args: E[K]): void {
    const list = this.lists.get(event);
    if (list) callAll(list as Listener<E[K]>[], ...args);
  }
}
