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

// The rounds the test drives once the plain page's network log is taken (a reliable one with
// presence, an encrypted one: tests/bundlers/run.mjs) call the app's own connect, so that the
// app, and the page total the test prints, is a plain channel's and nothing more.
window.connect = connect;

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
