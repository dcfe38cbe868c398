// The demo's "container": a Node process that gets the channel URL the way a metapage
// container does (the WEBSOCKET_URL environment variable) and streams, until it is killed:
//   - a long job's progress   {type:"progress", job, value (0..1), message}
//   - stock quotes            {type:"quote", channel:"stocks", symbol, price, change, volume}
//   - a few chat lines        {type:"message", username:"worker-bot", room, text} (+ join)
//
//   WEBSOCKET_URL=ws://127.0.0.1:8787/ch/<token> node demo/worker/progress-worker.mjs
//
// Rotation: a worker has no metapage inputs, so it cannot learn a new URL. When the channel
// URL is rotated the relay closes its socket with 4001, the channel reports REVOKED and
// stops reconnecting; this worker then exits (code 3). Whoever started it restarts it with
// the new WEBSOCKET_URL — scripts/demo.mjs does that in POST /api/rotate.
import { connectFromEnv } from "../../dist/metachannel.mjs";

const BOT = "worker-bot";
const channel = await connectFromEnv({
  reconnect: { minDelayMs: 250, maxDelayMs: 5000 },
  queue: { maxMessages: 200, overflow: "drop-oldest" }, // while offline, keep only the recent past
});

let stopped = false;
function stop(code) {
  if (stopped) return;
  stopped = true;
  for (const t of timers) clearInterval(t);
  channel.dispose();
  process.exit(code);
}

channel.on("open", () => console.log("connected")); // never print the URL: it is the secret
channel.on("error", (err) => {
  if (err.code === "REVOKED") {
    console.log("channel URL revoked (rotated): exiting; restart me with the new WEBSOCKET_URL");
    stop(3);
  } else if (err.code !== "SOCKET_ERROR") {
    console.error(`channel error ${err.code}: ${err.message}`);
  }
});
channel.on("reconnecting", ({ attempt, delayMs }) => {
  console.log(`reconnecting (attempt ${attempt}, in ${Math.round(delayMs)} ms)`);
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => stop(0));
// Started by scripts/demo.mjs (with an IPC channel): do not outlive it.
if (process.send) process.on("disconnect", () => stop(0));

const timers = [];
const every = (ms, fn) => timers.push(setInterval(fn, ms));
const pick = (list) => list[Math.floor(Math.random() * list.length)];

// --- the long job --------------------------------------------------------------------------

const JOBS = [
  { name: "render-frames", unit: "frame", total: 240, steps: ["decoding scene", "tracing rays", "denoising", "encoding"] },
  { name: "train-model", unit: "epoch", total: 60, steps: ["loading shards", "forward pass", "backprop", "checkpoint"] },
  { name: "transcode-video", unit: "segment", total: 120, steps: ["demuxing", "scaling", "encoding h264", "muxing"] },
  { name: "index-documents", unit: "batch", total: 180, steps: ["tokenizing", "embedding", "writing index", "compacting"] },
];
let jobNumber = 0;
const runId = Math.random().toString(36).slice(2, 5);
let job = null;

function newJob() {
  const kind = JOBS[jobNumber % JOBS.length];
  jobNumber++;
  // A restarted worker is a new container: its jobs get new ids.
  job = { ...kind, id: `${kind.name}-${runId}${jobNumber}`, done: 0, started: Date.now() };
  send({ type: "progress", job: job.id, value: 0, message: `started: ${job.total} ${job.unit}s` });
  chat("jobs", `Started ${job.id} (${job.total} ${job.unit}s)`);
}

every(300, () => {
  if (!job) return newJob();
  if (job.done >= job.total) {
    // Pause a moment on 100 %, then the next job.
    if (Date.now() - job.finished > 2500) newJob();
    return;
  }
  job.done = Math.min(job.total, job.done + 1 + Math.floor(Math.random() * 4));
  const value = job.done / job.total;
  if (job.done >= job.total) {
    job.finished = Date.now();
    const secs = ((job.finished - job.started) / 1000).toFixed(1);
    send({ type: "progress", job: job.id, value: 1, message: `done in ${secs} s` });
    chat("jobs", `✓ ${job.id} finished in ${secs} s`);
    return;
  }
  const step = job.steps[Math.min(job.steps.length - 1, Math.floor(value * job.steps.length))];
  send({ type: "progress", job: job.id, value, message: `${step}: ${job.unit} ${job.done}/${job.total}` });
});

// --- stock quotes -----------------------------------------------------------------------------

const STOCKS = [
  ["AAPL", 227.5],
  ["MSFT", 431.2],
  ["NVDA", 138.9],
  ["GOOG", 176.4],
  ["AMZN", 198.1],
  ["META", 582.3],
  ["TSLA", 251.7],
  ["AMD", 142.6],
].map(([symbol, open]) => ({ symbol, open, price: open, volume: Math.floor(2e6 + Math.random() * 8e6) }));

function quote(s) {
  // A random walk around the open, nudged back towards it.
  s.price = Math.max(1, s.price * (1 + (Math.random() - 0.5) * 0.006 + (s.open - s.price) / s.open / 200));
  s.volume += Math.floor(Math.random() * 40000);
  send({
    type: "quote",
    channel: "stocks",
    symbol: s.symbol,
    price: Math.round(s.price * 100) / 100,
    change: Math.round((s.price - s.open) * 100) / 100,
    volume: s.volume,
  });
}
every(250, () => quote(pick(STOCKS)));
every(1000, () => STOCKS.forEach(quote)); // a full refresh now and then, so late joiners fill in fast

// --- chat bot -----------------------------------------------------------------------------------

function chat(room, text) {
  send({ type: "message", username: BOT, room, text });
}
let greeted = false;
channel.on("open", () => {
  for (const room of ["general", "jobs"]) send({ type: "join", username: BOT, room });
  if (greeted) return;
  greeted = true;
  // A moment later, so that frames switching to this URL right now hear it too.
  setTimeout(
    () => chat("general", `Hi! I'm the demo's Node worker (connectFromEnv). Streaming job progress and quotes for ${STOCKS.length} symbols on this channel.`),
    1500,
  );
});
every(4000, () => {
  const s = pick(STOCKS);
  const pct = ((s.price - s.open) / s.open) * 100;
  chat("general", `${s.symbol} is ${pct >= 0 ? "up" : "down"} ${Math.abs(pct).toFixed(2)}% at $${s.price.toFixed(2)}`);
});

function send(msg) {
  if (!stopped) channel.send(msg);
}
