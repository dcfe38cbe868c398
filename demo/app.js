// The demo's metapage: the real @metapages/metapage parent with three metaframes. Every frame
// gets the same channel URL as its `_websocket_url_` input; each reports its connection as the
// `status` output, shown in the status strip. "Rotate URL" asks the demo server to rotate the
// channel (old sockets are closed with 4001, the worker is restarted on the new URL) and hands
// the new URL to every frame with mp.setInputs: the frames follow.
//
// End-to-end encrypted: the relay hands out keyless URLs (GET /api/demo, POST /api/rotate); this
// page adds a fresh key with MetaChannel.withNewKey() (in the URL's fragment, which the relay
// never sees), gives the keyed URL to the frames, and to the demo server for the worker (the
// container's WEBSOCKET_URL, as a metapage host injects it). A rotation brings a new key.
import { Metapage } from "/node_modules/@metapages/metapage/dist/index.js";

const FRAMES = {
  chat: { title: "chat", path: "/frames/chat/" },
  ticker: { title: "ticker", path: "/frames/ticker/" },
  progress: { title: "progress", path: "/frames/progress/" },
};
const INPUT = "_websocket_url_";

const $ = (sel) => document.querySelector(sel);
const statuses = {};
let rotations = 0;
let currentUrl = null;

/** ws://host/ch/… : all that is ever shown of a channel URL. */
function redact(url) {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/ch/…`;
  } catch {
    return "…";
  }
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// --- status strip -------------------------------------------------------------------------------

const pills = {};
for (const [id, f] of Object.entries(FRAMES)) {
  const pill = el("div", "pill");
  pill.dataset.state = "loading";
  const dot = el("span", "dot");
  const name = el("span", "name", f.title);
  const state = el("span", "state", "loading");
  const attempts = el("span", "attempts", "0 reconnects");
  const msgs = el("span", "msgs", "");
  pill.append(dot, name, state, attempts, msgs);
  $("#strip .pills").append(pill);
  pills[id] = { pill, state, attempts, msgs };
}

function renderPill(id) {
  const s = statuses[id];
  const p = pills[id];
  if (!s || !p) return;
  p.pill.dataset.state = s.state;
  p.state.textContent = s.state === "reconnecting" ? `reconnecting #${s.attempt}` : s.state;
  const n = s.reconnects || 0;
  p.attempts.textContent = `${n} reconnect${n === 1 ? "" : "s"}`;
  p.msgs.textContent = `${(s.received || 0).toLocaleString()} msgs${s.peers !== undefined ? ` · ${s.peers} on channel` : ""}`;
  p.pill.title =
    `${id}: state ${s.state}, reconnect attempt ${s.attempt || 0}, ${n} reconnects in total` +
    (s.error ? `, last error ${s.error}` : "") +
    (s.others?.length ? `; on the channel: ${s.others.join(", ")}` : "");
}

function renderInfo() {
  $("#channel-url").textContent = currentUrl ? redact(currentUrl) : "…";
  $("#encrypted").hidden = !currentUrl?.includes("#k=");
  $("#strip-info").textContent = rotations
    ? `URL and key rotated ${rotations}× · worker restarted`
    : "one channel, end-to-end encrypted: the relay forwards sealed frames";
}

/**
 * The channel URL the frames and the worker use: the relay's URL with a key this page made
 * (withNewKey), handed to the demo server for the worker. A URL that already has a key (another
 * tab made it) is used as it is.
 */
async function keyed(url) {
  if (url.includes("#k=")) return url;
  const withKey = window.MetaChannel.withNewKey(url);
  const res = await fetch("/api/worker", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ url: withKey }) });
  if (!res.ok) throw new Error(`the demo server refused the worker's URL: HTTP ${res.status}`);
  return (await res.json()).url;
}

let toastTimer = null;
function toast(text) {
  const t = $("#toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 4500);
}

// --- the metapage ---------------------------------------------------------------------------------

function inputsFor(url) {
  return Object.fromEntries(Object.keys(FRAMES).map((id) => [id, { [INPUT]: url }]));
}

async function main() {
  const info = await (await fetch("/api/demo", { cache: "no-store" })).json();
  currentUrl = await keyed(info.url);
  rotations = info.rotations || 0;
  renderInfo();

  const metaframes = Object.fromEntries(Object.entries(FRAMES).map(([id, f]) => [id, { url: new URL(f.path, location.href).href }]));
  const mp = await Metapage.from({ version: "2", metaframes });

  mp.on(Metapage.OUTPUTS, (delta) => {
    for (const [id, outputs] of Object.entries(delta || {})) {
      if (outputs?.status) {
        statuses[id] = outputs.status;
        renderPill(id);
      }
    }
  });

  // The library makes the iframes; where they go is up to the page.
  for (const id of Object.keys(FRAMES)) {
    const iframe = await mp.getMetaframe(id).iframe;
    iframe.title = `${FRAMES[id].title} metaframe`;
    $(`#frame-${id} .frame`).append(iframe);
  }
  mp.setInputs(inputsFor(currentUrl));

  const button = $("#rotate");
  button.disabled = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.classList.add("busy");
    try {
      const res = await fetch("/api/rotate", { method: "POST" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const next = await res.json();
      currentUrl = await keyed(next.url); // a new token and a new key
      mp.setInputs(inputsFor(currentUrl)); // every frame follows the new URL
      rotations = next.rotations;
      renderInfo();
      toast("URL rotated with a new key: the old one is revoked (close 4001); every frame got the new one, the worker restarted on it.");
    } catch (err) {
      toast(`Rotation failed: ${err.message}`);
    } finally {
      button.disabled = false;
      button.classList.remove("busy");
    }
  });

  window.__demo.metapage = mp;
}

// For `npm run demo -- --check`.
window.__demo = {
  snapshot: () => ({ rotations, encrypted: Boolean(currentUrl?.includes("#k=")), frames: JSON.parse(JSON.stringify(statuses)) }),
};

main().catch((err) => {
  console.error("metachannel demo failed to start:", err);
  toast(`The demo failed to start: ${err.message}`);
});
