/**
 * metachannel/relay: the dev relay, a broadcast WebSocket server (ES module only; Node).
 *
 *   POST /api/channels                -> 201 { url, token }
 *   POST /api/channels/<token>/rotate -> 200 { url, token } (old sockets closed 4001 "revoked")
 *   GET  /healthz, GET /metrics       -> health (503 while Redis is away or shutting down) and Prometheus counters
 *   ws://host/ch/<token>              -> every message goes to every socket of that token.
 *
 * @example
 * import { startRelay } from "metachannel/relay";
 * const relay = await startRelay({ port: 8787 });
 * const { url } = await relay.createChannel();
 */
import { EventEmitter } from "node:events";

export interface RelayOptions {
  /** Default 0: any free port (read it back from `relay.port`). */
  port?: number;
  /** Default "127.0.0.1". */
  host?: string;
  /** Frames over this close the sender with 1009. Default 1 MiB + 64 bytes (a client's largest message, sealed); 0: no limit. */
  maxMessageBytes?: number;
  /** Default 256 sockets per channel (more: HTTP 429); 0: no limit. */
  maxClientsPerChannel?: number;
  /** Per socket; over it: close 1008. 0 (default): no limit. */
  maxMessagesPerSecond?: number;
  /** Payload bytes per socket per second; over it: close 1008. 0 (default): no limit. */
  maxBytesPerSecond?: number;
  /** Open sockets per client address (more: HTTP 429). Default 1000; 0: no limit. */
  maxConnectionsPerIp?: number;
  /** POST /api/channels per client address per minute (more: HTTP 429). Default 600; 0: no limit. */
  maxChannelsPerMinute?: number;
  /**
   * Seconds: a channel with no client for this long is forgotten (in Redis too; give every relay
   * the same value). Default 604800 (7 days); 0: never.
   */
  channelIdleTtl?: number;
  /** Seconds shutdown() waits for clients to go after the 1012. Default 10. */
  drainTimeout?: number;
  /** Base of minted URLs, e.g. "wss://chat.example.com" (http(s) is taken as ws(s)). Default: ws://<Host header>. */
  publicUrl?: string;
  /** Proxy addresses or subnets ("10.0.0.0/8") whose X-Forwarded-Proto / -Host / -For are believed. Default: none. */
  trustProxy?: string[];
  /**
   * When set (16+ characters), POST /api/channels and rotate need `Authorization: Bearer <it>`
   * (else 401). The CLI reads it from METACHANNEL_API_TOKEN only.
   */
  apiToken?: string;
  /** Without `redis`: keep the channels in this JSON file (digests only, atomic writes) across restarts. */
  stateFile?: string;
  /** Origins allowed to connect (browsers send one); default: any. */
  allowedOrigins?: string[];
  /** Subprotocols the relay accepts (it picks the first offered one it knows). */
  protocols?: string[];
  /** Log lines (tokens are never in them); default: none. */
  log?: false | ((line: string, level: "info" | "notice") => void);
  /**
   * "redis://host:port": channels live in Redis and every relay process started with the same
   * URL shares them (fan-out through pub/sub; needs the optional `ioredis` package).
   */
  redis?: string;
}

export interface ChannelInfo {
  /** The channel URL (ws://host:port/ch/<token>): a secret, give it only to the channel's members. */
  url: string;
  token: string;
}

export class Relay extends EventEmitter {
  constructor(options?: RelayOptions);
  /** Total number of accepted WebSocket upgrades since start. */
  readonly connections: number;
  /** True when started with `redis`: channels are shared through Redis. */
  readonly shared: boolean;
  port: number;
  host: string;
  /** http://host:port */
  readonly baseUrl: string;
  listen(): Promise<this>;
  /** As POST /api/channels. */
  createChannel(host?: string, token?: string): Promise<ChannelInfo>;
  /** As POST /api/channels/<token>/rotate. */
  rotate(token: string, host?: string): Promise<ChannelInfo>;
  /** Open sockets on a channel (0 for unknown tokens). */
  clientCount(token: string): number;
  /** Fault injection: drops sockets without a close frame (clients see 1006). */
  dropAll(token?: string): void;
  /** Closes every socket (1001) and the server; resolves when the port is free. */
  close(): Promise<void>;
  /**
   * Graceful stop (the CLI on SIGTERM): stops accepting, closes clients with 1012, waits up to
   * `timeoutMs` (default: drainTimeout) for them to go, then closes.
   */
  shutdown(options?: { timeoutMs?: number }): Promise<void>;
}

/** Every option's default (seconds for times; 0 turns a limit off). */
export const RELAY_DEFAULTS: Readonly<{
  maxMessageBytes: number;
  maxClientsPerChannel: number;
  maxMessagesPerSecond: number;
  maxBytesPerSecond: number;
  maxConnectionsPerIp: number;
  maxChannelsPerMinute: number;
  channelIdleTtl: number;
  drainTimeout: number;
}>;

/** The relay's own close codes and reasons. */
export const RELAY_CLOSE: Readonly<Record<"shutdown" | "restart" | "redisDown" | "rateLimit" | "byteLimit" | "revoked", readonly [number, string]>>;

/** Starts a relay; resolves once it listens. */
export function startRelay(options?: RelayOptions): Promise<Relay>;
