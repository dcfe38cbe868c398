// Real faults for the resilience suites: nothing here imitates a WebSocket; each tool is a real
// TCP endpoint (or a real relay) that misbehaves the way networks and servers do.
//   silentListener()        accepts TCP connections and never answers the handshake
//   tcpProxy(port)          forwards to a port; pause() goes silent without closing, resume() flows again
//   restartRelay(relay, …)  closes a relay and starts a new one on the same port, same channel tokens
//   closedPort()            a port with nothing listening (connections are refused)
//   closingServer(code)     a plain `ws` server that closes every connection right after open
import net from "node:net";
import { WebSocketServer } from "ws";
import { startRelay } from "../../relay/server.js";

/** Registers `dispose` with t.after when a test context is given. */
function owned(t, thing) {
  if (t) t.after(() => thing.close());
  return thing;
}

/**
 * A TCP listener that accepts every connection and never sends a byte: a WebSocket handshake
 * against it hangs until the client gives up. `connections` counts accepted connections.
 */
export async function silentListener(t) {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    tool.connections++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    socket.resume(); // read and discard the handshake request
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const tool = {
    connections: 0,
    /** Connections still open (the client has not given up on them). */
    get open() {
      return sockets.size;
    },
    port: server.address().port,
    url: (path = "/ch/silent") => `ws://127.0.0.1:${server.address().port}${path}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return owned(t, tool);
}

/**
 * A TCP proxy on its own port in front of `targetPort`. pause() stops forwarding in both
 * directions without closing anything (the bytes wait in the proxy, as behind a dead NAT or a
 * stalled server); connections accepted while paused are held too. resume() forwards again,
 * in order. `connections` counts accepted client connections.
 */
export async function tcpProxy(t, targetPort, targetHost = "127.0.0.1") {
  const pairs = new Set();
  let paused = false;
  const server = net.createServer((client) => {
    tool.connections++;
    const upstream = net.connect(targetPort, targetHost);
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on("error", end);
      s.on("close", end);
    }
    client.on("data", (d) => upstream.write(d));
    upstream.on("data", (d) => client.write(d));
    if (paused) {
      client.pause();
      upstream.pause();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const tool = {
    connections: 0,
    port: server.address().port,
    get paused() {
      return paused;
    },
    /** Rewrites a ws:// URL to go through the proxy. */
    url: (target) => {
      const u = new URL(target);
      u.host = `127.0.0.1:${server.address().port}`;
      return u.toString();
    },
    pause() {
      paused = true;
      for (const { client, upstream } of pairs) {
        client.pause();
        upstream.pause();
      }
    },
    resume() {
      paused = false;
      for (const { client, upstream } of pairs) {
        client.resume();
        upstream.resume();
      }
    },
    close: () =>
      new Promise((resolve) => {
        for (const { client, upstream } of pairs) {
          client.destroy();
          upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
  return owned(t, tool);
}

/** A port that refuses connections (bound once to get a free number, then released). */
export async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A relay whose restarts keep the same port and the same channel tokens, so clients can
 * reconnect to the URLs they had. `current` is the live Relay (null while stopped);
 * `connections` sums accepted WebSocket connections over every incarnation; 'connection'
 * listeners added with on() survive restarts.
 */
export async function restartableRelay(t, options = {}) {
  const tokens = [];
  const listeners = [];
  let before = 0;
  const tool = {
    current: null,
    port: 0,
    get connections() {
      return before + (tool.current ? tool.current.connections : 0);
    },
    async start() {
      if (tool.current) return tool.current;
      const relay = await startRelay({ ...options, port: tool.port });
      tool.port = relay.port;
      for (const token of tokens) await relay.createChannel(undefined, token);
      for (const l of listeners) relay.on("connection", l);
      tool.current = relay;
      return relay;
    },
    async stop() {
      const relay = tool.current;
      if (!relay) return;
      tool.current = null;
      before += relay.connections;
      await relay.close();
    },
    async restart() {
      await tool.stop();
      return tool.start();
    },
    /** A channel that exists in every incarnation of the relay. */
    async createChannel() {
      const created = await tool.current.createChannel();
      tokens.push(created.token);
      return created;
    },
    on(event, listener) {
      if (event !== "connection") throw new Error("only 'connection' survives restarts");
      listeners.push(listener);
      if (tool.current) tool.current.on("connection", listener);
    },
    close: () => tool.stop(),
  };
  await tool.start();
  return owned(t, tool);
}

/**
 * A plain `ws` server that completes the handshake and immediately closes each connection
 * with `code` (a server in a crash loop, or one that rejects the client after accepting).
 * `opened` holds the time (ms, performance.now) of each accepted connection.
 */
export async function closingServer(t, code = 1011, reason = "internal error") {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((resolve) => wss.once("listening", resolve));
  const tool = {
    opened: [],
    get connections() {
      return tool.opened.length;
    },
    port: wss.address().port,
    url: (path = "/crash") => `ws://127.0.0.1:${wss.address().port}${path}`,
    /** How long each connection stays open before the server closes it (0: at once). */
    holdMs: 0,
    close: () =>
      new Promise((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
  wss.on("connection", (ws) => {
    tool.opened.push(performance.now());
    ws.on("error", () => {});
    if (tool.holdMs > 0) setTimeout(() => ws.close(code, reason), tool.holdMs);
    else ws.close(code, reason);
  });
  return owned(t, tool);
}

/** Records every event of `names` on a channel with a timestamp: [{ name, at, arg }]. */
export function record(ch, names = ["open", "close", "error", "reconnecting", "state"]) {
  const log = [];
  for (const name of names) ch.on(name, (arg) => log.push({ name, at: performance.now(), arg }));
  log.of = (name) => log.filter((e) => e.name === name);
  log.errors = (code) => log.filter((e) => e.name === "error" && (code === undefined || e.arg.code === code));
  return log;
}
