// Real-time price feed with reconnect (the source documents' host-SDK examples "Real-Time
// Price Feed" and "Reconnect on Disconnect"): the retry loop the document writes by hand
// (retries reset on open, delay = min(1000 * 2^retries, 30000), at most 5 retries) is the
// channel's reconnect option here. Headers work in Node (e.g. a bearer token, as in the
// document's authenticated example); browsers cannot send them.
//
//   node demo/examples/price-feed.mjs [ws://…] [--count N] [--interval-ms MS]
//        [--min-delay-ms MS] [--token T] [--no-feed]
//
// Trades are Binance-shaped text frames: {"e":"trade","s":"BTCUSDT","p":"67012.10","q":"0.015","T":…}.
// A simulated exchange on the same channel publishes one every interval (unless --no-feed).
// --count N: exit after N trades (default 10; --once = 1).
import { connect } from "../../dist/metachannel.mjs";
import { parseArgs, intOption, channelUrl, redact } from "./_shared.mjs";

const { url: arg, opts } = parseArgs();
const count = intOption(opts, "count", 10);
const intervalMs = intOption(opts, "interval-ms", 250);
const minDelayMs = intOption(opts, "min-delay-ms", 2000);
const { url, done } = await channelUrl(arg);
const token = typeof opts.token === "string" ? opts.token : null;

const ws = await connect(url, {
  headers: token ? { Authorization: `Bearer ${token}` } : undefined,
  reconnect: { minDelayMs, factor: 2, maxDelayMs: 30000, jitter: 0, maxRetries: 5 },
});
console.log(`price feed: connecting to ${redact(url)}${token ? " with an Authorization header" : ""}`);

let trades = 0;
let finish;
const finished = new Promise((resolve) => (finish = resolve));

function updatePriceDisplay(symbol, price, qty) {
  trades++;
  console.log(`trade ${trades}: ${symbol} ${Number(price).toFixed(2)} x ${qty}`);
  if (count && trades >= count) finish();
}

let opens = 0;
ws.on("open", () => console.log(++opens === 1 ? "price feed connected" : "price feed reconnected"));
ws.on("message", (trade) => {
  if (trade && trade.e === "trade") updatePriceDisplay(trade.s, trade.p, trade.q);
});
ws.on("error", (err) => console.log(`Price feed disconnected: [${err.code}] ${err.message}`));
ws.on("close", ({ code, willReconnect }) => console.log(`closed (${code})${willReconnect ? "" : ", giving up"}`));
ws.on("reconnecting", ({ attempt, delayMs }) => console.log(`reconnecting in ${Math.round(delayMs)} ms (retry ${attempt} of 5)`));
ws.on("state", ({ to }) => {
  if (to === "closed") finish();
});

// The simulated exchange.
let exchange = null;
let timer = null;
if (!opts["no-feed"]) {
  exchange = await connect(url, { reconnect: { minDelayMs: Math.min(minDelayMs, 200), jitter: 0 } });
  let price = 67000;
  let n = 0;
  timer = setInterval(() => {
    n++;
    price += Math.round(Math.sin(n) * 2500) / 100;
    const frame = { e: "trade", s: "BTCUSDT", p: price.toFixed(2), q: (0.001 * ((n % 20) + 1)).toFixed(3), T: Date.now() };
    if (exchange.state === "open") exchange.send(JSON.stringify(frame)); // a live feed does not queue
  }, intervalMs);
}

await finished;
if (timer) clearInterval(timer);
console.log(`done: ${trades} trade(s)`);
ws.dispose();
if (exchange) exchange.dispose();
await done();
