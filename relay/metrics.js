// The relay's counters, served as GET /metrics in the Prometheus text format
// (https://prometheus.io/docs/instrumenting/exposition_formats/). Every name is
// defined here once; docs/deploy.md lists them.

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Why a message was not delivered (the `reason` label of metachannel_relay_dropped_messages_total). */
export const DROP_REASONS = ["rate_limit", "too_large", "closing", "redis_unavailable"];

/** Which limit refused or closed a client (the `limit` label of metachannel_relay_limited_total; docs/deploy.md). */
export const LIMITS = ["connections_per_ip", "message_rate", "byte_rate", "message_size", "mint_rate", "api_token"];

export class RelayMetrics {
  connections = 0; // accepted upgrades since start
  rejected = new Map(); // HTTP status -> refused upgrades
  messagesIn = 0; // frames received from clients
  bytesIn = 0;
  messagesOut = 0; // frames handed to client sockets
  bytesOut = 0;
  dropped = new Map(DROP_REASONS.map((r) => [r, 0]));
  redisPublished = 0;
  redisReceived = 0;
  redisReconnects = 0;
  channelsExpired = 0; // idle channels this process forgot (in Redis mode: deleted from Redis)
  limited = new Map(LIMITS.map((l) => [l, 0]));
  closes = new Map(); // close code the relay sent -> sockets

  limit(name) {
    this.limited.set(name, (this.limited.get(name) ?? 0) + 1);
  }

  closed(code) {
    this.closes.set(code, (this.closes.get(code) ?? 0) + 1);
  }

  drop(reason, n = 1) {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + n);
  }

  reject(status) {
    this.rejected.set(status, (this.rejected.get(status) ?? 0) + 1);
  }

  /**
   * @param {{clients: number, channels: number, known: number, redis: null | {up: boolean}}} live
   *   gauges read at scrape time; `redis` is null without --redis.
   */
  render(live) {
    const out = [];
    const metric = (name, type, help, samples) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) out.push(`${name}${labels} ${value}`);
    };
    const one = (value) => [["", value]];
    metric("metachannel_relay_clients", "gauge", "Open WebSocket clients on this process.", one(live.clients));
    metric("metachannel_relay_channels", "gauge", "Channels with at least one client on this process.", one(live.channels));
    metric(
      "metachannel_relay_channels_known",
      "gauge",
      "Channels that exist (created, not expired or rotated): this process's, or with Redis all relays' as of the last expiry sweep.",
      one(live.known),
    );
    metric(
      "metachannel_relay_channels_expired_total",
      "counter",
      "Idle channels this process forgot (with Redis: deleted from Redis).",
      one(this.channelsExpired),
    );
    metric("metachannel_relay_connections_total", "counter", "WebSocket upgrades accepted.", one(this.connections));
    metric(
      "metachannel_relay_rejected_upgrades_total",
      "counter",
      "WebSocket upgrades refused, by HTTP status.",
      [...this.rejected].sort(([a], [b]) => a - b).map(([status, n]) => [`{status="${status}"}`, n]),
    );
    metric("metachannel_relay_messages_in_total", "counter", "Frames received from clients.", one(this.messagesIn));
    metric("metachannel_relay_bytes_in_total", "counter", "Payload bytes received from clients.", one(this.bytesIn));
    metric("metachannel_relay_messages_out_total", "counter", "Frames sent to clients.", one(this.messagesOut));
    metric("metachannel_relay_bytes_out_total", "counter", "Payload bytes sent to clients.", one(this.bytesOut));
    metric(
      "metachannel_relay_dropped_messages_total",
      "counter",
      "Frames not delivered, by reason.",
      [...this.dropped].map(([reason, n]) => [`{reason="${reason}"}`, n]),
    );
    metric(
      "metachannel_relay_limited_total",
      "counter",
      "Requests refused or clients closed by a limit, by limit.",
      [...this.limited].map(([l, n]) => [`{limit="${l}"}`, n]),
    );
    metric(
      "metachannel_relay_server_closes_total",
      "counter",
      "Sockets the relay closed, by close code (1008 limit, 1012 restart, 1013 Redis away, 4001 revoked, 1001 shutdown).",
      [...this.closes].sort(([a], [b]) => a - b).map(([code, n]) => [`{code="${code}"}`, n]),
    );
    if (live.redis) {
      metric("metachannel_relay_redis_up", "gauge", "1 while the Redis connections are ready.", one(live.redis.up ? 1 : 0));
      metric("metachannel_relay_redis_reconnects_total", "counter", "Times the Redis connection came back after a loss.", one(this.redisReconnects));
      metric("metachannel_relay_redis_published_total", "counter", "Frames published to Redis for the other relay processes.", one(this.redisPublished));
      metric("metachannel_relay_redis_received_total", "counter", "Frames received from other relay processes through Redis.", one(this.redisReceived));
    }
    return `${out.join("\n")}\n`;
  }
}
