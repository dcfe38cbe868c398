// Reliable connection (the source documents' ReliableWebSocket / ReliableConnection): a
// heartbeat and automatic reconnection with exponential backoff, all in the wasm core.
// Prints every state change. On a broadcast relay our own "ping" comes back to us, which is
// traffic: the heartbeat is satisfied (and the echo is not delivered as a message).
//
//   node demo/examples/reliable.mjs [ws://…] [--heartbeat-ms MS] [--min-delay-ms MS]
//        [--max-retries N] [--reconnects N] [--once]
//
// Defaults as in the document: ping every 30 s, first retry after 1 s doubling each time,
// at most 5 attempts. --reconnects N: exit after the connection came back N times.
// --once: exit after the first open and one heartbeat interval. Without either: Ctrl-C.
import { connect } from "../../dist/metachannel.mjs";
import { parseArgs, intOption, channelUrl, redact, sleep } from "./_shared.mjs";

const { url: arg, opts } = parseArgs();
const heartbeatMs = intOption(opts, "heartbeat-ms", 30000);
const minDelayMs = intOption(opts, "min-delay-ms", 1000);
const maxRetries = intOption(opts, "max-retries", 5);
const reconnects = intOption(opts, "reconnects", 0);
const { url, done } = await channelUrl(arg);

console.log(`Connecting to ${redact(url)}`);
const channel = await connect(url, {
  heartbeat: { intervalMs: heartbeatMs, timeoutMs: Math.max(heartbeatMs, 1000), message: "ping", pong: "pong" },
  reconnect: { minDelayMs, factor: 2, maxDelayMs: minDelayMs * 2 ** 10, jitter: 0, maxRetries, stableAfterMs: 1000 },
});

let opens = 0;
let finish;
const finished = new Promise((resolve) => (finish = resolve));

channel.on("state", ({ from, to }) => console.log(`state: ${from} -> ${to}`));
channel.on("open", ({ protocol }) => {
  opens++;
  const what = opens === 1 ? "Connected successfully" : `Reconnected successfully (${opens - 1} reconnect(s))`;
  console.log(protocol ? `${what} (protocol ${protocol})` : what);
  if (reconnects && opens - 1 >= reconnects) finish();
});
channel.on("close", ({ code, willReconnect }) => {
  console.log(`Connection closed (code ${code})${willReconnect ? "" : ", not reconnecting"}`);
  if (!willReconnect) finish();
});
channel.on("reconnecting", ({ attempt, delayMs }) => console.log(`Reconnecting in ${Math.round(delayMs)}ms (attempt ${attempt})`));
channel.on("error", (err) => console.log(`Connection error: [${err.code}] ${err.message}`));
channel.on("message", (data) => console.log("Received:", typeof data === "string" ? data : JSON.stringify(data)));

if (opts.once) {
  await channel.opened();
  channel.send({ type: "hello", from: "reliable-example" });
  await sleep(heartbeatMs + 50); // at least one ping went out and came back
  finish();
}
await finished;
if (channel.state !== "closed") channel.close(1000, "Client closing");
console.log(`done: ${opens} open(s), ${Math.max(0, opens - 1)} reconnect(s)`);
channel.dispose();
await done();
