// ChatClient: the chat client of the source documents (rooms, join/leave, messages) on a
// metachannel Channel.
//
// Wire (JSON text frames):
//   {"type":"join",    "username": u, "room": r}
//   {"type":"leave",   "username": u, "room": r}
//   {"type":"message", "username": u, "text": t, "room": r}
//   {"type":"error",   "message": m}            (from a server; "room" optional)
//
// Routing is the C++ router's: a joined room is interest in the field "room" with its name
// (through the channel's RouteHub of "room"), so frames whose top-level "room" names it arrive
// with that field's route bit; frames for other rooms are dropped before JS sees them. Error
// frames without a "room" arrive through an onMessage("error") listener (interest in "type").
import { Channel } from "./channel.js";
import { Emitter } from "./emitter.js";
import { MetaChannelError, invalid } from "./errors.js";
import { readyFor } from "./loader.js";
import { normalizeOptions } from "./options.js";
import { RouteHub, type Deliver } from "./route-hub.js";
import type { ChannelOptions, ChatClientEvents, ChatClientOptions, ChatEvent } from "./types.js";

/** The room a ChatClient joins when options.rooms is not given (the documents' ChatApp has no rooms). */
export const DEFAULT_ROOM = "general";
const CHAT_EVENTS: readonly string[] = ["message", "join", "leave", "error"];

/** The channel's room hub (one per Channel, shared by every ChatClient on it). */
function roomsOf(channel: Channel<any>): RouteHub {
  return RouteHub.of(channel, { field: "room" });
}

function checkRoom(where: string, room: unknown): asserts room is string {
  if (typeof room !== "string" || room === "") invalid(where, "a non-empty string", room);
}

/**
 * The chat client of the source documents, on a metachannel Channel.
 *
 * Wire (JSON text frames): `{type:"join"|"leave", username, room}`,
 * `{type:"message", username, text, room}`, from a server `{type:"error", message, room?}`.
 *
 * Events are delivered only for joined rooms: each joined room is routed on (the field "room")
 * in the C++ router, so frames of other rooms are dropped before JS sees them. `error` frames
 * without a `room` are delivered to every client (`onMessage("error")`); with a `room`, only if
 * joined. join/leave/message frames without a string `room` (the documents' ChatApp sends
 * none) are not delivered: use `channel.onMessage("message", …)` for those. On a broadcast
 * relay a client also receives its own frames (its join, its messages), as in the documents'
 * chat app; its own leave is not delivered (the room is left before the echo arrives).
 *
 * `connect()` (re)sends a join for every room on each "open", so rooms are rejoined after a
 * reconnect. With a URL target the client makes the Channel in connect() (after ready()),
 * owns it, and closes and disposes it in disconnect()/dispose(); a shared Channel is never
 * closed: disconnect() sends the leaves and stops listening.
 *
 * @example
 * ```ts
 * const chat = new ChatClient(url, "alice", { rooms: ["general", "dev"] });
 * chat.on("message", (m) => console.log(`[${m.room}] ${m.username}: ${m.text}`));
 * await chat.connect();
 * chat.sendMessage("hello");            // to "general", the first joined room
 * ```
 * @public
 */
export class ChatClient {
  #target: string | Channel<any>;
  #owned: boolean;
  #channelOptions: ChannelOptions;
  #username: string;
  /** Joined rooms, in the order they were joined. */
  #rooms: string[] = [];
  #channel: Channel | null = null;
  #attached = false;
  #connecting: Promise<Channel> | null = null;
  /** Bumped by connect() and disconnect(): a connect() that lost the race gives up. */
  #gen = 0;
  #disposed = false;
  /** Detach functions of the channel listeners, while attached. */
  #offs: (() => void)[] = [];
  /** A listener that throws: the other listeners still run, then the channel reports it (LISTENER_THREW). */
  #events = new Emitter<ChatClientEvents>();
  #deliver: Deliver = (msg) => {
    if (CHAT_EVENTS.includes(msg.type)) this.#events.emitAll(msg.type as keyof ChatClientEvents, msg);
  };

  /**
   * Throws INVALID_ARGUMENT for a bad target, username or option, DISPOSED for a disposed Channel.
   * @param target - a channel URL (the client makes, owns and disposes its Channel) or a
   *   Channel shared with other code (never closed by the client)
   */
  constructor(target: string | Channel<any>, username: string, options?: ChatClientOptions) {
    let owned = false;
    if (target instanceof Channel) {
      if (target.disposed) throw new MetaChannelError("DISPOSED", "ChatClient(channel): the channel was disposed");
      owned = false;
    } else if (typeof target === "string") {
      owned = true;
    } else {
      invalid("ChatClient(target)", "a channel URL string or a Channel", target);
    }
    this.#owned = owned;
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
      for (const [i, r] of rooms.entries()) checkRoom(`options.rooms[${i}]`, r);
      this.#rooms = [...new Set(rooms)];
    }
    this.#target = target;
    this.#channelOptions = channelOptions;
    this.#username = username;
    if (!this.#owned) this.#channel = target as Channel;
  }

  get username(): string {
    return this.#username;
  }
  /** Joined rooms, in join order (a copy). */
  get rooms(): string[] {
    return [...this.#rooms];
  }
  /** The Channel in use: the shared one, or the client's own after connect() (null before and after disconnect()). */
  get channel(): Channel | null {
    return this.#channel;
  }
  /** Attached and the channel is open. */
  get isConnected(): boolean {
    return this.#attached && this.#channel!.state === "open";
  }
  /** True after dispose(). */
  get disposed(): boolean {
    return this.#disposed;
  }

  /**
   * Attaches to the channel (making it first, for a URL target), joins the rooms (now if open,
   * else on open) and resolves once the channel is open. Idempotent. Join frames go out on
   * every "open".
   */
  connect(): Promise<void> {
    this.#live("connect()");
    if (this.#attached) return this.#channel!.opened();
    if (!this.#owned) {
      const channel = this.#channel!;
      if (channel.disposed) return Promise.reject(new MetaChannelError("DISPOSED", "connect(): the shared channel was disposed"));
      this.#attach();
      return channel.opened();
    }
    if (!this.#connecting) {
      const gen = ++this.#gen;
      const attempt: Promise<Channel> = readyFor(this.#channelOptions).then(
        () => {
          if (this.#connecting === attempt) this.#connecting = null;
          if (gen !== this.#gen || this.#disposed) throw new MetaChannelError("CLOSED", "connect(): disconnect() was called while connecting");
          const channel = new Channel(this.#target as string, this.#channelOptions);
          this.#channel = channel;
          this.#attach();
          return channel;
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
   * Resolves when the channel is (or next becomes) open, as `Channel.opened()` and
   * `LiveDataClient.opened()` do; while connect() is making the channel, once it is open.
   * Rejects with CLOSED before connect() (or after disconnect()), DISPOSED after dispose().
   */
  opened(): Promise<void> {
    if (this.#disposed) return Promise.reject(new MetaChannelError("DISPOSED", "opened(): this ChatClient was disposed"));
    if (this.#attached) return this.#channel!.opened();
    if (this.#connecting) return this.#connecting.then((ch) => ch.opened());
    return Promise.reject(new MetaChannelError("CLOSED", "opened(): not connected; call connect() first"));
  }

  /**
   * Sends a leave frame for every room (if open), stops listening, and closes and disposes
   * the channel if the client made it. A shared Channel is left open. connect() again rejoins.
   */
  disconnect(): void {
    if (this.#disposed) return;
    this.#gen++;
    this.#connecting = null;
    if (!this.#attached) return;
    const ch = this.#channel!;
    if (!ch.disposed && ch.state === "open") {
      for (const room of this.#rooms) ch.send({ type: "leave", username: this.#username, room });
    }
    this.#detach();
    if (this.#owned) {
      if (!ch.disposed) {
        // What close() drops is reported as a CLOSED error event; its rejection says the same.
        ch.close(1000, "disconnect").catch(() => {});
        ch.dispose();
      }
      this.#channel = null;
    }
  }

  /** disconnect() and drop all listeners; later calls throw DISPOSED. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.disconnect();
    this.#disposed = true;
    this.#events.clear();
  }

  /** Joins (no-op if joined): interest at once, a join frame if open (else at the next open). */
  joinRoom(room: string): void {
    this.#live("joinRoom()");
    checkRoom("joinRoom(room)", room);
    if (this.#rooms.includes(room)) return;
    this.#rooms = [...this.#rooms, room];
    if (!this.#attached) return;
    this.#addRoom(room);
    if (this.#channel!.state === "open") this.#send({ type: "join", username: this.#username, room });
    this.#announce();
  }

  /** Leaves (no-op if not joined): a leave frame if open, then no more events from the room. */
  leaveRoom(room: string): void {
    this.#live("leaveRoom()");
    checkRoom("leaveRoom(room)", room);
    if (!this.#rooms.includes(room)) return;
    this.#rooms = this.#rooms.filter((r) => r !== room);
    if (!this.#attached) return;
    if (this.#channel!.state === "open") this.#send({ type: "leave", username: this.#username, room });
    this.#removeRoom(room);
    this.#announce();
  }

  /**
   * Usernames in `room`, sorted: this client (if joined) and every peer whose presence state
   * says so. Needs a channel with `presence` (the client announces `{username, rooms}` as its
   * state); without it, only this client.
   */
  members(room: string): string[] {
    this.#live("members()");
    checkRoom("members(room)", room);
    const names = new Set<string>();
    if (this.#attached && this.#rooms.includes(room)) names.add(this.#username);
    if (this.#channel && !this.#channel.disposed) {
      for (const value of this.#channel.presence.values()) {
        const state = value as { username?: unknown; rooms?: unknown } | null;
        if (state && typeof state.username === "string" && Array.isArray(state.rooms) && state.rooms.includes(room)) names.add(state.username);
      }
    }
    return [...names].sort();
  }

  /**
   * Sends `{type:"message", username, text, room}`. `room` defaults to the first joined room.
   * Throws INVALID_ARGUMENT when no room is joined or `room` is not joined, CLOSED before connect().
   */
  sendMessage(text: string, room?: string): void {
    this.#live("sendMessage()");
    if (typeof text !== "string") invalid("sendMessage(text)", "a string", text);
    if (room === undefined) {
      if (this.#rooms.length === 0) {
        throw new MetaChannelError("INVALID_ARGUMENT", "sendMessage(): no room joined; call joinRoom(room) first", { field: "room" });
      }
      room = this.#rooms[0]!;
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
  on(event: "message" | "join" | "leave" | "error", listener: (e: ChatEvent) => void): () => void {
    this.#live("on()");
    if (!CHAT_EVENTS.includes(event)) invalid("on(event)", `one of ${CHAT_EVENTS.join(", ")}`, event);
    if (typeof listener !== "function") invalid(`on("${event}", listener)`, "a function", listener);
    return this.#events.on(event, listener);
  }

  /** As on(), for the next event only (as `Channel.once()`). */
  once(event: "message" | "join" | "leave" | "error", listener: (e: ChatEvent) => void): () => void {
    this.#live("once()");
    if (!CHAT_EVENTS.includes(event)) invalid("once(event)", `one of ${CHAT_EVENTS.join(", ")}`, event);
    if (typeof listener !== "function") invalid(`once("${event}", listener)`, "a function", listener);
    return this.#events.once(event, listener);
  }

  /** Removes a listener (its last registration, or that of its once() wrapper). */
  off(event: "message" | "join" | "leave" | "error", listener: (e: ChatEvent) => void): void {
    this.#events.off(event, listener);
  }

  // ------------------------------------------------------------------ internals

  #live(what: string): void {
    if (this.#disposed) throw new MetaChannelError("DISPOSED", `${what}: this ChatClient was disposed`);
  }

  #send(frame: object): void {
    this.#channel!.send(frame);
  }

  #attach(): void {
    const ch = this.#channel!;
    this.#attached = true;
    for (const room of this.#rooms) this.#addRoom(room);
    this.#offs.push(
      ch.onMessage("error", (msg) => {
        // Room-less server errors; an error naming a room comes through the route on "room".
        if (typeof msg.room !== "string") this.#events.emitAll("error", msg);
      }),
      ch.on("open", () => this.#sendJoins()),
    );
    if (ch.state === "open") this.#sendJoins();
    this.#announce();
  }

  /** On a channel with presence: {username, rooms} as this peer's state (for members()). */
  #announce(): void {
    try {
      this.#channel!.setPresence({ username: this.#username, rooms: this.#rooms });
    } catch (err) {
      if (!(err instanceof MetaChannelError) || err.code !== "INVALID_ARGUMENT") throw err; // presence is off
    }
  }

  #detach(): void {
    this.#attached = false;
    for (const off of this.#offs.splice(0)) off();
    for (const room of this.#rooms) this.#removeRoom(room);
  }

  #sendJoins(): void {
    for (const room of this.#rooms) this.#send({ type: "join", username: this.#username, room });
  }

  #addRoom(room: string): void {
    roomsOf(this.#channel!).add(room, this.#deliver);
  }

  #removeRoom(room: string): void {
    roomsOf(this.#channel!).remove(room, this.#deliver);
  }
}
