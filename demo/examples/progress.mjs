// Progress stream from a container worker (the source documents' container example): a
// long-running job reports progress on the metapage's channel, whose URL the metapage injects
// as WEBSOCKET_URL. Everything on the channel is broadcast, so the worker also reads back
// what arrives (its own reports included) and prints it, like the Python `ws.recv()` example.
//
//   WEBSOCKET_URL=ws://… node demo/examples/progress.mjs [--count N] [--interval-ms MS]
//   node demo/examples/progress.mjs ws://… [--count N]
//
// Sends {"type":"progress","value":k/N} for k = 1..N (default N = 10; --once = 1), then
// {"type":"done"}, and exits once its "done" came back (so every report was delivered).
import * as mc from "../../dist/metachannel.mjs";
import { parseArgs, intOption, channelUrl, redact, sleep } from "./_shared.mjs";

const { url: arg, opts } = parseArgs();
const steps = Math.max(1, intOption(opts, "count", 10));
const intervalMs = intOption(opts, "interval-ms", 200);
const { url, done } = await channelUrl(arg);
process.env.WEBSOCKET_URL = url; // what a metapage container gets injected

// connectFromEnv() reads WEBSOCKET_URL (and says clearly when it is missing).
const channel = mc.connectFromEnv ? await mc.connectFromEnv() : await mc.connect(process.env.WEBSOCKET_URL);
console.log(`worker connected to ${redact(url)} via ${mc.connectFromEnv ? "connectFromEnv()" : "connect(WEBSOCKET_URL)"}`);

let finished;
const doneSeen = new Promise((resolve) => (finished = resolve));
channel.onMessage("progress", (msg) => console.log(`received progress ${(msg.value * 100).toFixed(0)}%`));
channel.onMessage("done", (msg) => {
  console.log(`received done (${msg.steps} steps)`);
  finished();
});
channel.on("error", (err) => console.log(`channel error [${err.code}] ${err.message}`));

await channel.opened();
for (let k = 1; k <= steps; k++) {
  await sleep(intervalMs); // the "work"
  const value = Math.round((k / steps) * 1000) / 1000;
  channel.send({ type: "progress", value });
  console.log(`sent progress ${(value * 100).toFixed(0)}%`);
}
channel.send({ type: "done", steps });
await doneSeen;
channel.close();
channel.dispose();
console.log("worker finished");
await done();
