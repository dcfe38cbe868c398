// Ticker metaframe: a live table fed by {type:"quote", channel:"stocks", symbol, price, change, volume}.
// The package's LiveDataClient (subscribe("stocks")) over the frame's bound Channel.
(async function () {
  "use strict";
  const { el } = window.DemoFrame;
  const NAMES = {
    AAPL: "Apple",
    MSFT: "Microsoft",
    NVDA: "NVIDIA",
    GOOG: "Alphabet",
    AMZN: "Amazon",
    META: "Meta Platforms",
    TSLA: "Tesla",
    AMD: "Adv. Micro Devices",
  };
  const body = document.querySelector("#quotes tbody");
  const rows = new Map(); // symbol -> { tr, cells, history, price }
  let count = 0;
  let last = 0;

  const money = (v) => v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  function volume(v) {
    if (v >= 1e9) return `${(v / 1e9).toFixed(2)}B`;
    if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
    if (v >= 1e3) return `${(v / 1e3).toFixed(1)}K`;
    return String(v);
  }

  function sparkline(svg, values) {
    const w = 84,
      h = 24;
    if (values.length < 2) return;
    const min = Math.min(...values),
      max = Math.max(...values);
    const span = max - min || 1;
    const pts = values.map((v, i) => `${((i / (values.length - 1)) * w).toFixed(1)},${(h - 2 - ((v - min) / span) * (h - 4)).toFixed(1)}`);
    svg.firstChild.setAttribute("points", pts.join(" "));
  }

  function row(symbol) {
    let r = rows.get(symbol);
    if (r) return r;
    const tr = el("tr");
    const sym = el("td", "sym");
    sym.append(el("strong", "", symbol), el("span", "name", NAMES[symbol] || ""));
    const price = el("td", "num");
    const priceValue = el("span", "price");
    price.append(priceValue);
    const change = el("td", "num change");
    const vol = el("td", "num vol");
    const trend = el("td", "trend");
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 84 24");
    svg.setAttribute("width", "84");
    svg.setAttribute("height", "24");
    svg.append(document.createElementNS("http://www.w3.org/2000/svg", "polyline"));
    trend.append(svg);
    tr.append(sym, price, change, vol, trend);
    r = { tr, price: priceValue, change, vol, svg, history: [], last: null };
    rows.set(symbol, r);
    // Keep the table sorted by symbol.
    const after = [...rows.keys()].sort().indexOf(symbol);
    body.insertBefore(tr, body.children[after] || null);
    document.getElementById("empty").hidden = true;
    return r;
  }

  function onQuote(q) {
    if (!q || typeof q.symbol !== "string" || typeof q.price !== "number") return;
    const r = row(q.symbol);
    const change = Number(q.change) || 0;
    const open = q.price - change;
    const pct = open ? (change / open) * 100 : 0;
    const dir = change > 0 ? "up" : change < 0 ? "down" : "flat";
    r.price.textContent = money(q.price);
    r.change.replaceChildren(
      el("span", "arrow", dir === "up" ? "▲" : dir === "down" ? "▼" : "•"),
      el("span", "", `${change >= 0 ? "+" : "−"}${money(Math.abs(change))}`),
      el("span", "pct", `${pct >= 0 ? "+" : "−"}${Math.abs(pct).toFixed(2)}%`),
    );
    r.change.className = `num change ${dir}`;
    r.vol.textContent = typeof q.volume === "number" ? volume(q.volume) : "–";
    r.svg.dataset.dir = dir;
    if (r.last !== null && q.price !== r.last) {
      // Flash the price cell in the direction of this tick.
      r.price.classList.remove("tick-up", "tick-down");
      void r.price.offsetWidth;
      r.price.classList.add(q.price > r.last ? "tick-up" : "tick-down");
    }
    r.last = q.price;
    r.history.push(q.price);
    if (r.history.length > 40) r.history.shift();
    sparkline(r.svg, r.history);
    count++;
    last = Date.now();
    received();
  }

  setInterval(() => {
    const summary = document.getElementById("summary");
    if (!count) return;
    const ago = Math.max(0, Math.round((Date.now() - last) / 1000));
    summary.textContent = `${rows.size} symbols · ${count.toLocaleString()} quotes · last ${ago < 1 ? "just now" : `${ago} s ago`}`;
  }, 500);

  const { channel, MC, received } = await window.DemoFrame.startFrame();
  // LiveDataClient: frames whose "channel" is "stocks" are routed to this subscriber by the
  // core; everything else on the channel is dropped before JS sees it.
  new MC.LiveDataClient(channel).subscribe("stocks", (msg) => msg.type === "quote" && onQuote(msg));
})();
