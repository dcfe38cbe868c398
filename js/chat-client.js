// ChatClient: the chat client of the source documents (rooms, join/leave, messages) on a
// metachannel Channel.
//
// Wire (JSON text frames):
//   {"type":"join",    "username": u, "room": r}
//   {"type":"leave",   "username": u, "room": r}
//   {"type":"message", "username": u, "text": t, "room": r}
//   {"type":"error",   "message": m}            (from a server; "room" optional)
//
// Routing is the C++ router's: a joined room is ROOM interest (mc::Interest::Room = 4) on its
// name, so frames whose top-level "room" names it arrive with route bit ROOM (16); frames for
// other rooms are dropped before JS sees them. Error frames without a "room" arrive through
// an onMessage("error") listener (TYPE interest on "error").
import { fanOut } from "./fan-out.js";
import { Channel, INTEREST, ROUTE } from "./channel.js";
import { MetaChannelError, invalid } from "./errors.js";
import { ready } from "./loader.js";
import { normalizeOptions } from "./options.js";


/** The room a ChatClient joins when options.rooms is not given (the documents' ChatApp has no rooms). */
export const DEFAULT_ROOM = "general";
const CHAT_EVENTS = ["message", "join", "leave", "error"];

/** Per channel: room -> the delivery functions of the ChatClients that joined it. */
const hubs = new WeakMap();

function hubFor(channel) {
  let rooms = hubs.get(channel);
  if (rooms) return rooms;
  rooms = new Map();
  hubs.set(channel, rooms);
  channel._hook(ROUTE.ROOM, (msg, meta) => {
    const set = rooms.get(msg.room);
    if (!set) return;
    fanOut(set, msg, meta); // a throw is reported by the channel as LISTENER_THREW
  });
  return rooms;
}

function checkRoom(where, room) {
  if (typeof room !== "string" || room === "") invalid(where, "a non-empty string", room);
}

export class ChatClient {
  #target;
  #owned;
  #channelOptions;
  #username;
  /** Joined rooms, in the order they were joined. */
  #rooms = [];
  #channel = null;
  #attached = false;
  #connecting = null;
  /** Bumped by connect() and disconnect(): a connect() that lost the race gives up. */
  #gen = 0;
  #disposed = false;
  /** Detach functions of the channel listeners, while attached. */
  #offs = [];
  /** event -> listeners (arrays are replaced, never mutated) */
  #listeners = new Map();
  #deliver = (msg) => {
    if (CHAT_EVENTS.includes(msg.type)) this.#emit(msg.type, msg);
  };

  /**
   * @param {string | Channel} target a channel URL (the client makes, owns and disposes its
   *   Channel) or a Channel shared with other code (never closed by the client)
   * @param {string} username
   * @param {import("./metachannel").ChatClientOptions} [options]
   */
  constructor(target, username, options) {
    if (target instanceof Channel) {
      if (target.disposed) throw new MetaChannelError("DISPOSED", "ChatClient(channel): the channel was disposed");
      this.#owned = false;
    } else if (typeof target === "string") {
      this.#owned = true;
    } else {
      invalid("ChatClient(target)", "a channel URL string or a Channel", target);
    }
    if (typeof username !== "string" || username === "") invalid("ChatClient(target, username)", "a non-empty string", username);
    if (options !== undefined && options !== null && (typeof options !== "object" || Array.isArray(options))) {
      invalid("ChatClient options", "an object", options);
    }
    const { rooms, ...channelOptions } = options || {};
    if (this.#owned) {
      normalizeOptions(channelOptions); // throws INVALID_ARGUMENT now rather than at connect()
    } else if (Object.keys(channelOptions).length) {
      throw new MetaChannelError(
        "INVALID_ARGUMENT",
        `ChatClient over a shared Channel takes only options.rooms (got ${Object.keys(channelOptions).join(", ")}); configure the Channel itself instead`,
        { field: Object.keys(channelOptions)[0] },
      );
    }
    if (rooms === undefined) {
      this.#rooms = [DEFAULT_ROOM];
    } else {
      if (!Array.isArray(rooms)) invalid("options.rooms", "an array of room names", rooms);
      rooms.forEach((r, i) => checkRoom(`options.rooms[${i}]`, r));
      this.#rooms = [...new Set(rooms)];
    }
    this.#target = target;
    this.#channelOptions = channelOptions;
    this.#username = username;
    if (!this.#owned) this.#channel = target;
  }

  get username() {
    return this.#username;
  }
  /** Joined rooms, in join order (a copy). */
  get rooms() {
    return [...this.#rooms];
  }
  /** The Channel in use: the shared one, or the client's own once connect() was called (else null). */
  get channel() {
    return this.#channel;
  }
  get connected() {
    return this.#attached && this.#channel.state === "open";
  }

  /**
   * Attaches to the channel (making it first, for a URL target), joins the rooms and resolves
   * once the channel is open. Idempotent. Join frames go out on every "open".
   */
  connect() {
    this.#live("connect()");
    if (this.#attached) return this.#channel.opened();
    if (!this.#owned) {
      if (this.#channel.disposed) return Promise.reject(new MetaChannelError("DISPOSED", "connect(): the shared channel was disposed"));
      this.#attach();
      return this.#channel.opened();
    }
    if (!this.#connecting) {
      const gen = ++this.#gen;
      const attempt = ready().then(
        () => {
          if (this.#connecting === attempt) this.#connecting = null;
          if (gen !== this.#gen || this.#disposed) throw new MetaChannelError("CLOSED", "connect(): disconnect() was called while connecting");
          this.#channel = new Channel(this.#target, this.#channelOptions);
          this.#attach();
          return this.#channel;
        },
        (err) => {
          if (this.#connecting === attempt) this.#connecting = null;
          throw err;
        },
      );
      this.#connecting = attempt;
    }
    return this.#connecting.then((ch) => ch.opened());
  }

  /**
   * Sends a leave frame for every room (if open), stops listening, and closes and disposes
   * the channel if the client made it. A shared Channel is left open. connect() again rejoins.
   */
  disconnect() {
    if (this.#disposed) return;
    this.#gen++;
    this.#connecting = null;
    if (!this.#attached) return;
    const ch = this.#channel;
    if (!ch.disposed && ch.state === "open") {
      for (const room of this.#rooms) ch.send({ type: "leave", username: this.#username, room });
    }
    this.#detach();
    if (this.#owned) {
      if (!ch.disposed) {
        ch.close(1000, "disconnect");
        ch.dispose();
      }
      this.#channel = null;
    }
  }

  /** disconnect(), then drop every listener; every later call (but dispose) throws DISPOSED. */
  dispose() {
    if (this.#disposed) return;
    this.disconnect();
    this.#disposed = true;
    this.#listeners.clear();
  }

  /** Joins `room` (no-op if joined): ROOM interest now, a join frame now if open (else on open). */
  joinRoom(room) {
    this.#live("joinRoom()");
    checkRoom("joinRoom(room)", room);
    if (this.#rooms.includes(room)) return;
    this.#rooms = [...this.#rooms, room];
    if (!this.#attached) return;
    this.#addRoom(room);
    if (this.#channel.state === "open") this.#send({ type: "join", username: this.#username, room });
    this.#announce();
  }

  /** Leaves `room` (no-op if not joined): a leave frame if open, then no more events from it. */
  leaveRoom(room) {
    this.#live("leaveRoom()");
    checkRoom("leaveRoom(room)", room);
    if (!this.#rooms.includes(room)) return;
    this.#rooms = this.#rooms.filter((r) => r !== room);
    if (!this.#attached) return;
    if (this.#channel.state === "open") this.#send({ type: "leave", username: this.#username, room });
    this.#removeRoom(room);
    this.#announce();
  }

  /**
   * The usernames in `room`, sorted: this client (if it joined) and every peer whose presence
   * state says it joined. Needs a channel with options.presence (else only this client); the
   * client announces {username, rooms} as its presence state.
   */
  members(room) {
    this.#live("members()");
    checkRoom("members(room)", room);
    const names = new Set();
    if (this.#attached && this.#rooms.includes(room)) names.add(this.#username);
    if (this.#channel && !this.#channel.disposed) {
      for (const state of this.#channel.presence.values()) {
        if (state && typeof state.username === "string" && Array.isArray(state.rooms) && state.rooms.includes(room)) names.add(state.username);
      }
    }
    return [...names].sort();
  }

  /** Sends {type:"message", username, text, room}; room defaults to the first joined room. */
  sendMessage(text, room) {
    this.#live("sendMessage()");
    if (typeof text !== "string") invalid("sendMessage(text)", "a string", text);
    if (room === undefined) {
      if (this.#rooms.length === 0) {
        throw new MetaChannelError("INVALID_ARGUMENT", "sendMessage(): no room joined; call joinRoom(room) first", { field: "room" });
      }
      room = this.#rooms[0];
    } else {
      checkRoom("sendMessage(text, room)", room);
      if (!this.#rooms.includes(room)) {
        throw new MetaChannelError("INVALID_ARGUMENT", `sendMessage(): room ${JSON.stringify(room)} is not joined; call joinRoom() first`, { field: "room" });
      }
    }
    if (!this.#attached) throw new MetaChannelError("CLOSED", "sendMessage(): not connected; call connect() first");
    this.#send({ type: "message", username: this.#username, text, room });
  }

  /** Listens to "message" | "join" | "leave" | "error" of joined rooms; returns unsubscribe. */
  on(event, listener) {
    this.#live("on()");
    if (!CHAT_EVENTS.includes(event)) invalid("on(event)", `one of ${CHAT_EVENTS.join(", ")}`, event);
    if (typeof listener !== "function") invalid(`on("${event}", listener)`, "a function", listener);
    this.#listeners.set(event, [...(this.#listeners.get(event) || []), listener]);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.off(event, listener);
    };
  }

  off(event, listener) {
    const list = this.#listeners.get(event);
    if (!list) return;
    const i = list.lastIndexOf(listener);
    if (i === -1) return;
    const next = list.slice(0, i).concat(list.slice(i + 1));
    if (next.length) this.#listeners.set(event, next);
    else this.#listeners.delete(event);
  }

  // ------------------------------------------------------------------ internals

  #live(what) {
    if (this.#disposed) throw new MetaChannelError("DISPOSED", `${what}: this ChatClient was disposed`);
  }

  #send(frame) {
    this.#channel.send(frame);
  }

  #attach() {
    const ch = this.#channel;
    this.#attached = true;
    for (const room of this.#rooms) this.#addRoom(room);
    this.#offs.push(
      ch.onMessage("error", (msg) => {
        // Room-less server errors; an error naming a room comes through the ROOM route.
        if (typeof msg.room !== "string") this.#emit("error", msg);
      }),
      ch.on("open", () => this.#sendJoins()),
    );
    if (ch.state === "open") this.#sendJoins();
    this.#announce();
  }

  /** On a channel with presence: {username, rooms} as this peer's state (for members()). */
  #announce() {
    try {
      this.#channel.setPresence({ username: this.#username, rooms: this.#rooms });
    } catch (err) {
      if (!(err instanceof MetaChannelError) || err.code !== "INVALID_ARGUMENT") throw err; // presence is off
    }
  }

  #detach() {
    const ch = this.#channel;
    this.#attached = false;
    for (const off of this.#offs.splice(0)) off();
    for (const room of this.#rooms) this.#removeRoom(room);
  }

  #sendJoins() {
    for (const room of this.#rooms) this.#send({ type: "join", username: this.#username, room });
  }

  #addRoom(room) {
    const rooms = hubFor(this.#channel);
    let set = rooms.get(room);
    if (!set) rooms.set(room, (set = new Set()));
    set.add(this.#deliver);
    this.#channel._route(INTEREST.ROOM, room, 1);
  }

  #removeRoom(room) {
    const ch = this.#channel;
    const rooms = hubFor(ch);
    const set = rooms.get(room);
    if (set) {
      set.delete(this.#deliver);
      if (set.size === 0) rooms.delete(room);
    }
    if (!ch.disposed) ch._route(INTEREST.ROOM, room, -1);
  }

  #emit(event, msg) {
    const list = this.#listeners.get(event);
    if (!list) return;
    let failed = false;
    let first;
    for (const l of list) {
      try {
        l(msg);
      } catch (err) {
        if (!failed) first = err;
        failed = true;
      }
    }
    if (failed) throw first; // the channel reports it as LISTENER_THREW
  }
}
