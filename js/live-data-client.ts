// LiveDataClient: the live-data client of the source documents: named data channels, each
// with its subscribers.
//
// Wire (JSON text frames):
//   data:     any JSON object with a top-level string "channel": {"channel": "AAPL", ...}
//   control:  {"type":"subscribe", "channel": name}    when a name gets its first subscriber
//             {"type":"unsubscribe", "channel": name}  when it loses its last one
//             (for servers that filter; sent again for every name after each reconnect)
//
// Routing is the C++ router's: a subscribed name is interest in the field "channel" with that
// name (through the channel's RouteHub of "channel"), so frames whose top-level "channel" names
// it arrive with that field's route bit; frames for other names are dropped before JS decodes or
// parses them. Control frames that come back from a broadcast server are not data and are not
// delivered to subscribers.
import { Channel } from "./channel.js";
import { Emitter } from "./emitter.js";
import { MetaChannelError, invalid } from "./errors.js";
import { RouteHub, type Deliver } from "./route-hub.js";
import type { ChannelOptions, MessageMeta } from "./types.js";

/**
 * The channel's subscription hub (one per Channel, shared by every LiveDataClient on it). The
 * subscribe/unsubscribe frames and the interest follow its per-connection count, so two
 * clients sharing a Channel never unsubscribe each other at the server.
 */
function subscriptionsOf(channel: Channel<any>): RouteHub {
  const control = (type: string, name: string) => {
    if (!channel.disposed && channel.state === "open") channel.send({ type, channel: name });
  };
  return RouteHub.of(
    channel,
    {
      field: "channel",
      skip: (msg) => msg.type === "subscribe" || msg.type === "unsubscribe", // control, not data
      first: (name) => control("subscribe", name),
      last: (name) => control("unsubscribe", name),
    },
    (hub) => {
      channel.on("open", () => {
        for (const name of hub.keys()) control("subscribe", name);
      });
    },
  );
}

function checkName(where: string, name: unknown): asserts name is string {
  if (typeof name !== "string" || name === "") invalid(where, "a non-empty string", name);
}

/**
 * The live-data client of the source documents: named data channels with subscribers.
 *
 * A JSON object whose top-level `"channel"` is a subscribed name goes to that name's
 * subscribers only. The filtering is the C++ router's (CHANNEL interest): frames for other
 * names are dropped before JS decodes or parses them. For servers that filter, the client
 * also sends `{type:"subscribe", channel}` when a name gets its first subscriber on the
 * connection and `{type:"unsubscribe", channel}` when it loses its last, and re-sends the
 * subscribes on every reconnect. These control frames (any frame whose type is "subscribe" or
 * "unsubscribe") are never delivered to subscribers.
 *
 * With a URL target the client makes (and in dispose() disposes) its own Channel; like
 * `new Channel()` that needs `await ready()` first (else NOT_READY). A shared Channel is never
 * closed by the client.
 *
 * @example
 * ```ts
 * const live = new LiveDataClient(channel);
 * const off = live.subscribe("AAPL", (quote) => render(quote.price));
 * ```
 * @public
 */
export class LiveDataClient {
  #channel: Channel;
  #owned: boolean;
  #hub: RouteHub;
  #disposed = false;
  /** name -> its subscribers; each subscription is a function of its own. */
  #subs = new Emitter<Record<string, [msg: any, meta: MessageMeta]>>();
  #deliver: Deliver = (msg, meta) => this.#subs.emitAll(msg.channel, msg, meta);

  /**
   * options: ChannelOptions for a URL target; none for a shared Channel (INVALID_ARGUMENT).
   * @param target - a channel URL (the client makes and owns its Channel: needs
   *   `await ready()` first, like `new Channel()`) or a Channel shared with other code
   */
  constructor(target: string | Channel<any>, options?: ChannelOptions) {
    if (target instanceof Channel) {
      if (target.disposed) throw new MetaChannelError("DISPOSED", "LiveDataClient(channel): the channel was disposed");
      if (options !== undefined && options !== null && (typeof options !== "object" || Object.keys(options).length)) {
        throw new MetaChannelError("INVALID_ARGUMENT", "LiveDataClient over a shared Channel takes no options; configure the Channel itself instead", {
          field: "options",
        });
      }
      this.#channel = target;
      this.#owned = false;
    } else if (typeof target === "string") {
      this.#channel = new Channel(target, options);
      this.#owned = true;
    } else {
      invalid("LiveDataClient(target)", "a channel URL string or a Channel", target);
    }
    this.#hub = subscriptionsOf(this.#channel);
  }

  /** The Channel in use (owned or shared). */
  get channel(): Channel {
    return this.#channel;
  }
  /** Names with at least one subscriber, in subscription order. */
  get channels(): string[] {
    return this.#subs.events() as string[];
  }
  /** The channel is open (and this client not disposed). */
  get isConnected(): boolean {
    return !this.#disposed && this.#channel.state === "open";
  }
  /** True after dispose(). */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Resolves when the channel is (or next becomes) open. */
  opened(): Promise<void> {
    return this.#channel.opened();
  }

  /**
   * Resolves once the channel is open, as `ChatClient.connect()` does (the channel itself is
   * made by the constructor, and connects at once). Rejects DISPOSED after dispose().
   */
  connect(): Promise<void> {
    if (this.#disposed) return Promise.reject(new MetaChannelError("DISPOSED", "connect(): this LiveDataClient was disposed"));
    return this.#channel.opened();
  }

  /**
   * Calls `listener(msg, meta)` for every JSON object whose "channel" is `name`. Returns a
   * function removing this one subscription. The same listener twice counts twice.
   */
  subscribe(name: string, listener: (msg: any, meta: MessageMeta) => void): () => void {
    this.#live("subscribe()");
    checkName("subscribe(channel)", name);
    if (typeof listener !== "function") invalid("subscribe(channel, listener)", "a function", listener);
    const entry = (msg: any, meta: MessageMeta) => listener(msg, meta); // this subscription
    const first = !this.#subs.has(name);
    this.#subs.add(name, entry);
    if (first) this.#hub.add(name, this.#deliver);
    let active = true;
    return () => {
      if (!active || this.#disposed) return;
      active = false;
      if (!this.#subs.off(name, entry)) return; // unsubscribe(name) already removed it
      if (!this.#subs.has(name)) this.#hub.remove(name, this.#deliver);
    };
  }

  /** Removes every subscriber of `name` in this client (no-op if none). */
  unsubscribe(name: string): void {
    this.#live("unsubscribe()");
    checkName("unsubscribe(channel)", name);
    this.#drop(name);
  }

  /** Unsubscribes everything (sending unsubscribes if open); disposes an owned channel. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    for (const name of this.channels) this.#drop(name);
    this.#disposed = true;
    if (this.#owned) this.#channel.dispose();
  }

  #drop(name: string): void {
    if (!this.#subs.has(name)) return;
    this.#subs.drop(name);
    this.#hub.remove(name, this.#deliver);
  }

  #live(what: string): void {
    if (this.#disposed) throw new MetaChannelError("DISPOSED", `${what}: this LiveDataClient was disposed`);
    if (this.#channel.disposed) throw new MetaChannelError("DISPOSED", `${what}: the channel of this LiveDataClient was disposed`);
  }
}
