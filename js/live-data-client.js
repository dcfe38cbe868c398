// LiveDataClient: the live-data client of the source documents: named data channels, each
// with its subscribers.
//
// Wire (JSON text frames):
//   data:     any JSON object with a top-level string "channel": {"channel": "AAPL", ...}
//   control:  {"type":"subscribe", "channel": name}    when a name gets its first subscriber
//             {"type":"unsubscribe", "channel": name}  when it loses its last one
//             (for servers that filter; sent again for every name after each reconnect)
//
// Routing is the C++ router's: a subscribed name is CHANNEL interest (mc::Interest::Channel = 3),
// so frames whose top-level "channel" names it arrive with route bit SUBSCRIPTION (8); frames
// for other names are dropped before JS decodes or parses them. Control frames that come back
// from a broadcast server are not data and are not delivered to subscribers.
import { fanOut } from "./fan-out.js";
import { Channel, INTEREST, ROUTE } from "./channel.js";
import { MetaChannelError, invalid } from "./errors.js";


/**
 * Per Channel: name -> delivery functions of the LiveDataClients subscribed to it. The
 * subscribe/unsubscribe frames and the interest follow this per-connection count, so two
 * clients sharing a Channel never unsubscribe each other at the server.
 */
const hubs = new WeakMap();

function hubFor(channel) {
  let hub = hubs.get(channel);
  if (hub) return hub;
  const names = new Map();
  const control = (type, name) => {
    if (!channel.disposed && channel.state === "open") channel.send({ type, channel: name });
  };
  hub = {
    add(name, deliver) {
      let set = names.get(name);
      if (!set) {
        names.set(name, (set = new Set()));
        channel._route(INTEREST.CHANNEL, name, 1);
        control("subscribe", name);
      }
      set.add(deliver);
    },
    remove(name, deliver) {
      const set = names.get(name);
      if (!set || !set.delete(deliver) || set.size) return;
      names.delete(name);
      if (channel.disposed) return;
      control("unsubscribe", name);
      channel._route(INTEREST.CHANNEL, name, -1);
    },
  };
  hubs.set(channel, hub);
  channel._hook(ROUTE.SUBSCRIPTION, (msg, meta) => {
    if (msg.type === "subscribe" || msg.type === "unsubscribe") return; // control, not data
    const set = names.get(msg.channel);
    if (!set) return;
    fanOut(set, msg, meta); // a throw is reported by the channel as LISTENER_THREW
  });
  channel.on("open", () => {
    for (const name of names.keys()) control("subscribe", name);
  });
  return hub;
}

function checkName(where, name) {
  if (typeof name !== "string" || name === "") invalid(where, "a non-empty string", name);
}

export class LiveDataClient {
  #channel;
  #owned;
  #hub;
  #disposed = false;
  /** name -> array of { listener } (replaced, never mutated) */
  #subs = new Map();
  #deliver = (msg, meta) => {
    const list = this.#subs.get(msg.channel);
    if (!list) return;
    let failed = false;
    let first;
    for (const { listener } of list) {
      try {
        listener(msg, meta);
      } catch (err) {
        if (!failed) first = err;
        failed = true;
      }
    }
    if (failed) throw first;
  };

  /**
   * @param {string | Channel} target a channel URL (the client makes and owns its Channel:
   *   needs `await ready()` first, like `new Channel()`) or a Channel shared with other code
   * @param {import("./metachannel").ChannelOptions} [options] for a URL target only
   */
  constructor(target, options) {
    if (target instanceof Channel) {
      if (target.disposed) throw new MetaChannelError("DISPOSED", "LiveDataClient(channel): the channel was disposed");
      if (options !== undefined && options !== null && (typeof options !== "object" || Object.keys(options).length)) {
        throw new MetaChannelError("INVALID_ARGUMENT", "LiveDataClient over a shared Channel takes no options; configure the Channel itself instead", { field: "options" });
      }
      this.#channel = target;
      this.#owned = false;
    } else if (typeof target === "string") {
      this.#channel = new Channel(target, options);
      this.#owned = true;
    } else {
      invalid("LiveDataClient(target)", "a channel URL string or a Channel", target);
    }
    this.#hub = hubFor(this.#channel);
  }

  /** The Channel in use (owned or shared). */
  get channel() {
    return this.#channel;
  }
  /** Names with at least one subscriber of this client, in subscription order. */
  get channels() {
    return [...this.#subs.keys()];
  }

  /** Resolves when the channel is (or next becomes) open. */
  opened() {
    return this.#channel.opened();
  }

  /** Calls `listener(msg, meta)` for every JSON object whose "channel" is `name`; returns unsubscribe. */
  subscribe(name, listener) {
    this.#live("subscribe()");
    checkName("subscribe(channel)", name);
    if (typeof listener !== "function") invalid("subscribe(channel, listener)", "a function", listener);
    const entry = { listener };
    const list = this.#subs.get(name);
    if (list) {
      this.#subs.set(name, [...list, entry]);
    } else {
      this.#subs.set(name, [entry]);
      this.#hub.add(name, this.#deliver);
    }
    let active = true;
    return () => {
      if (!active || this.#disposed) return;
      active = false;
      const now = this.#subs.get(name);
      if (!now || !now.includes(entry)) return; // unsubscribe(name) already removed it
      const next = now.filter((e) => e !== entry);
      if (next.length) this.#subs.set(name, next);
      else this.#drop(name);
    };
  }

  /** Removes every subscriber of `name` in this client (no-op if none). */
  unsubscribe(name) {
    this.#live("unsubscribe()");
    checkName("unsubscribe(channel)", name);
    this.#drop(name);
  }

  /** Unsubscribes everything; disposes the channel if the client made it. Idempotent. */
  dispose() {
    if (this.#disposed) return;
    for (const name of [...this.#subs.keys()]) this.#drop(name);
    this.#disposed = true;
    if (this.#owned) this.#channel.dispose();
  }

  #drop(name) {
    if (this.#subs.delete(name)) this.#hub.remove(name, this.#deliver);
  }

  #live(what) {
    if (this.#disposed) throw new MetaChannelError("DISPOSED", `${what}: this LiveDataClient was disposed`);
    if (this.#channel.disposed) throw new MetaChannelError("DISPOSED", `${what}: the channel of this LiveDataClient was disposed`);
  }
}
