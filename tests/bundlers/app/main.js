// The app every bundler builds: import metachannel as a user would, create a channel on the
// dev relay (POST /api/channels; the relay's address comes in ?relay=), open two channels on
// it, round-trip a typed message, and write the result into the page (#out, data-status).
import { connect, version } from "metachannel";

/**
 * The channel's messages, declared once (metachannel's typed message map).
 * @typedef {{
 *   ping: { type: "ping"; n: number; text: string };
 *   pong: { type: "pong"; n: number; echo: string };
 * }} Messages
 */

const out = document.getElementById("out");

async function main() {
  const relay = new URLSearchParams(location.search).get("relay");
  const res = await fetch(`${relay}/api/channels`, { method: "POST" });
  if (res.status !== 201) throw new Error(`POST /api/channels answered ${res.status}`);
  const { url } = await res.json();
  /** @type {import("metachannel").Channel<Messages>} */
  const a = await connect(url);
  /** @type {import("metachannel").Channel<Messages>} */
  const b = await connect(url);
  b.onMessage("ping", (msg) => b.send({ type: "pong", n: msg.n + 1, echo: msg.text }));
  const pong = new Promise((resolve) => a.onMessage("pong", resolve));
  await Promise.all([a.opened(), b.opened()]);
  a.send({ type: "ping", n: 41, text: "hello from a bundle" });
  const reply = await pong;
  a.dispose();
  b.dispose();
  return { ok: true, n: reply.n, echo: reply.echo, version };
}

/**
 * The second half, driven by the test once the plain page's network log is taken: a plain and
 * two reliable channels opened at once (the two racing for the full core, one with presence),
 * a reliable message each way with the test's Node peer (it answers 41 with 42), and presence.
 */
window.reliableRound = async (url) => {
  const [r1, r2, p] = await Promise.all([
    connect(url, { reliable: true, presence: { state: { who: "page" } } }),
    connect(url, { reliable: true }),
    connect(url),
  ]);
  await Promise.all([r1.opened(), r2.opened(), p.opened()]);
  const fromNode = new Promise((resolve) => r2.onMessage("rel", (m, meta) => meta.from !== r1.id && resolve({ n: m.n, from: meta.from })));
  r1.send({ type: "rel", n: 41 });
  const got = await Promise.race([fromNode, new Promise((resolve) => setTimeout(() => resolve(null), 10000))]);
  const end = Date.now() + 10000;
  const seesNode = () => [...r1.presence.values()].some((s) => s && s.who === "node");
  while (!seesNode() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const presence = seesNode();
  const states = [r1.state, r2.state, p.state];
  for (const ch of [r1, r2, p]) ch.dispose();
  return { got, presence, states };
};

/**
 * End-to-end encryption, driven by the test with a keyed URL it made (withNewKey in Node, so
 * that this app imports nothing a plain page does not): two channels round-trip a sealed message.
 */
window.encryptedRound = async (url) => {
  const [a, b] = await Promise.all([connect(url), connect(url)]);
  await Promise.all([a.opened(), b.opened()]);
  const got = new Promise((resolve) => b.onMessage("secret", (m) => resolve(m.n)));
  a.send({ type: "secret", n: 7 });
  const n = await Promise.race([got, new Promise((resolve) => setTimeout(() => resolve(null), 10000))]);
  const encrypted = [a.encrypted, b.encrypted];
  a.dispose();
  b.dispose();
  return { n, encrypted };
};

main().then(
  (result) => {
    out.textContent = JSON.stringify(result);
    out.dataset.status = "ok";
  },
  (err) => {
    out.textContent = `${err?.code ? `${err.code}: ` : ""}${err?.message ? err.message : err}`;
    out.dataset.status = "error";
    console.error(err);
  },
);
