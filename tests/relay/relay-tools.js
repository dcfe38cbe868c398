// Shared by the relay's production tests (relay-limits, relay-lifecycle, relay-redis-outage,
// relay-rolling-restart):
//   rawClient(t, url, opts)   a plain `ws` client: resolves once open (rejects with the
//                             refusal); .got (frames as text), .closed (resolves with the code)
//   timeline(ch)              every open/close/reconnecting of a channel, with times
//   pump(channels, perSecond) each channel sends {type, n: 1, 2, …} at a steady rate; stop()
//   tally(channels, type)     who received what from whom: order and duplicates checked as
//                             frames arrive, MESSAGES_LOST collected
//   balancer(t, ports)        one TCP port in front of several relays: round robin, and a
//                             relay that refuses the connection is skipped (as a load
//                             balancer's health checks would)
import net from "node:net";
import { WebSocket } from "ws";
import { splice } from "./redis-tools.js";

export function rawClient(t, url, options) {
  const ws = new WebSocket(url, options);
  ws.got = [];
  ws.on("message", (d) => ws.got.push(d.toString()));
  ws.closed = new Promise((resolve) => ws.once("close", (code) => resolve(code)));
  t.after(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

export function timeline(ch) {
  const events = [];
  ch.on("open", () => events.push({ open: true, at: performance.now() }));
  ch.on("close", (e) => events.push({ open: false, at: performance.now(), code: e.code }));
  ch.on("reconnecting", (e) => events.push({ reconnecting: true, at: performance.now(), delayMs: e.delayMs }));
  return events;
}

/**
 * Each channel sends {type, n, from} every 1000/perSecond ms; sent[i]: frames so far,
 * sentAt[i][n-1]: when, state[i][n-1]: the channel's state then.
 */
export function pump(channels, perSecond, type) {
  const sent = channels.map(() => 0);
  const sentAt = channels.map(() => []);
  const state = channels.map(() => []);
  const timer = setInterval(() => {
    channels.forEach((ch, i) => {
      sent[i] += 1;
      sentAt[i].push(performance.now());
      state[i].push(ch.state);
      ch.send({ type, n: sent[i], from: i }); // `from`: the sender's index, for plain clients (no meta.from)
    });
  }, 1000 / perSecond);
  return {
    sent,
    sentAt,
    state,
    stop: () => clearInterval(timer),
  };
}

export function tally(channels, type) {
  const index = new Map(channels.map((c, i) => [c.id, i]));
  const got = channels.map(() => channels.map(() => []));
  const problems = [];
  const lost = [];
  channels.forEach((ch, r) => {
    ch.onMessage(type, (m, meta) => {
      const s = meta?.from == null ? m.from : index.get(meta.from); // plain clients: meta.from is null
      if (s === undefined || s === r) return; // its own echo
      const list = got[r][s];
      if (list.length && m.n <= list.at(-1)) problems.push(`client ${r} got ${m.n} from ${s} after ${list.at(-1)}`);
      list.push(m.n);
    });
    ch.on("error", (e) => {
      if (e.code === "MESSAGES_LOST") lost.push(e.detail);
    });
  });
  return {
    got,
    problems,
    lost,
    /** Every client has every other client's frames 1..sent[s]. */
    complete: (sent) => got.every((row, r) => row.every((list, s) => s === r || list.length === sent[s])),
  };
}

export async function balancer(t, ports) {
  let next = 0;
  const pairs = new Set();
  const server = net.createServer((client) => {
    client.pause();
    client.on("error", () => {});
    const attempt = (left) => {
      const upstream = net.connect(ports[next++ % ports.length], "127.0.0.1");
      upstream.once("error", () => {
        if (left > 1 && !client.destroyed) attempt(left - 1);
        else client.destroy();
      });
      upstream.once("connect", () => {
        upstream.removeAllListeners("error");
        splice(pairs, client, upstream);
        client.resume();
      });
    };
    attempt(ports.length);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const pair of pairs) for (const s of pair) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return { port: server.address().port };
}
