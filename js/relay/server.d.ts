/**
 * metachannel/relay: the dev relay, a broadcast WebSocket server (ES module only; Node).
 *
 *   POST /api/channels                -> 201 { url, token }
 *   POST /api/channels/<token>/rotate -> 200 { url, token } (old sockets closed 4001 "revoked")
 *   GET  /healthz, GET /metrics       -> health (Redis included) and Prometheus counters
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
  /** Frames over this close the sender with 1009. Default 1 MiB; 0: no limit. */
  maxMessageBytes?: number;
  /** Default 256 sockets per channel; 0: no limit. */
  maxClientsPerChannel?: number;
  /** Per socket; 0 (default): no limit. */
  maxMessagesPerSecond?: number;
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
  /** Closes every socket and the server; resolves when the port is free. */
  close(): Promise<void>;
}

/** Starts a relay; resolves once it listens. */
export function startRelay(options?: RelayOptions): Promise<Relay>;
