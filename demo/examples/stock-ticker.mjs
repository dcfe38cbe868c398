// Stock ticker (the source documents' StockTicker / LiveDataClient): a LiveDataClient
// subscribes to five symbols, one data channel each, and prints a table of the latest quotes.
// A simulated feed on the same channel publishes quotes for six symbols; NFLX is not
// subscribed, so its quotes are dropped by the wasm core before JavaScript sees them.
//
//   node demo/examples/stock-ticker.mjs [ws://…] [--count N] [--interval-ms MS] [--no-feed]
//
// Quote frames: {"type":"quote","channel":"AAPL","symbol":"AAPL","price":..,"change":..,"volume":..,"round":n}
// --count N: exit after N complete rounds (default 5; --once = 1). --no-feed: only listen
// (someone else publishes); then a round is "one quote of every subscribed symbol".
import { ready, connect, LiveDataClient } from "../../dist/metachannel.mjs";
import { parseArgs, intOption, channelUrl, redact } from "./_shared.mjs";

const { url: arg, opts } = parseArgs();
const rounds = intOption(opts, "count", 5);
const intervalMs = intOption(opts, "interval-ms", 500);
const { url, done } = await channelUrl(arg);
const SYMBOLS = ["AAPL", "GOOGL", "MSFT", "TSLA", "AMZN"];

await ready();
const live = new LiveDataClient(url);
console.log(`Live Stock Prices on ${redact(url)}`);

const quotes = new Map(); // symbol -> latest quote
let updates = 0;
let foreign = 0;
let finishRound;
const pending = new Set(SYMBOLS);
let completed = 0;
const allRounds = new Promise((resolve) => (finishRound = resolve));

function money(n) {
  return `$${n.toFixed(2)}`;
}
function signed(n) {
  return n >= 0 ? `+${n.toFixed(2)}` : n.toFixed(2);
}
function printTable() {
  const rows = [["Symbol", "Price", "Change", "Volume"]];
  for (const s of SYMBOLS) {
    const q = quotes.get(s);
    rows.push(q ? [s, money(q.price), signed(q.change), q.volume.toLocaleString("en-US")] : [s, "-", "-", "-"]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r) => `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(" | ")} |`;
  const rule = `+-${widths.map((w) => "-".repeat(w)).join("-+-")}-+`;
  console.log([rule, line(rows[0]), rule, ...rows.slice(1).map(line), rule].join("\n"));
}

for (const symbol of SYMBOLS) {
  live.subscribe(symbol, (quote) => {
    if (quote.symbol !== symbol) foreign++; // never: the core routes by the "channel" field
    quotes.set(symbol, quote);
    updates++;
    pending.delete(symbol);
    if (pending.size === 0) {
      completed++;
      console.log(`round ${completed}: ${updates} update(s) so far`);
      printTable();
      for (const s of SYMBOLS) pending.add(s);
      if (rounds && completed >= rounds) finishRound();
    }
  });
}
console.log(`subscribed to ${live.channels.join(", ")}`);
await live.opened();

// The simulated feed: another connection publishing a round of quotes every interval.
let feed = null;
let timer = null;
if (!opts["no-feed"]) {
  feed = await connect(url);
  await feed.opened();
  const prices = { AAPL: 189.5, GOOGL: 141.2, MSFT: 411.9, TSLA: 178.3, AMZN: 182.1, NFLX: 612.0 };
  let round = 0;
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const publish = () => {
    round++;
    for (const [symbol, last] of Object.entries(prices)) {
      const change = Math.round((rand() - 0.5) * 400) / 100;
      prices[symbol] = Math.round((last + change) * 100) / 100;
      const volume = 1000 + Math.floor(rand() * 90000);
      feed.send({ type: "quote", channel: symbol, symbol, price: prices[symbol], change, volume, round });
    }
  };
  publish();
  timer = setInterval(publish, intervalMs);
}

await allRounds;
if (timer) clearInterval(timer);
console.log(`done: ${completed} round(s), ${updates} quote update(s) delivered, ${foreign} for another symbol (NFLX is published but not subscribed)`);
live.dispose();
if (feed) feed.dispose();
await done();
