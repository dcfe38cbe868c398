// Chat app (the source documents' ChatApp / ChatClient): two ChatClients, alice and bob, on
// one channel. They join rooms, talk, and leave; each prints what it sees.
//
//   node demo/examples/chat.mjs [ws://…] [--count N] [--interval-ms MS]
//
// --count N: messages in the conversation (default 6; --once = 1), then bob leaves, both
// disconnect and the script exits. Only events of joined rooms reach a client: alice never
// sees bob's message in "random" (the filtering happens in the wasm core, by room).
import { ChatClient } from "../../dist/metachannel.mjs";
import { parseArgs, intOption, channelUrl, redact, sleep } from "./_shared.mjs";

const { url: arg, opts } = parseArgs();
const count = intOption(opts, "count", 6);
const intervalMs = intOption(opts, "interval-ms", 300);
const { url, done } = await channelUrl(arg);
console.log(`chat on ${redact(url)}`);

const LINES = [
  ["alice", "hi bob!"],
  ["bob", "hi alice, how is the build?"],
  ["alice", "green on every suite"],
  ["bob", "nice, let's ship it"],
  ["alice", "shipping now"],
  ["bob", "bye!"],
];

const alice = new ChatClient(url, "alice"); // joins "general", the default room
const bob = new ChatClient(url, "bob", { rooms: ["general", "random"] });

function show(viewer, client) {
  client.on("join", (m) => console.log(`[${viewer}] * ${m.username} joined #${m.room}`));
  client.on("leave", (m) => console.log(`[${viewer}] * ${m.username} left #${m.room}`));
  client.on("message", (m) => console.log(`[${viewer}] #${m.room} <${m.username}> ${m.text}`));
  client.on("error", (m) => console.log(`[${viewer}] ! server error: ${m.message}`));
}
show("alice", alice);
show("bob", bob);

/** Resolves when `client` sees a message event matching `pred`. */
function seen(client, event, pred) {
  return new Promise((resolve) => {
    const off = client.on(event, (m) => {
      if (pred(m)) {
        off();
        resolve(m);
      }
    });
  });
}

await alice.connect();
console.log("alice connected, rooms:", alice.rooms.join(", "));
const bobJoined = seen(alice, "join", (m) => m.username === "bob");
await bob.connect();
console.log("bob connected, rooms:", bob.rooms.join(", "));
await bobJoined;

for (let i = 0; i < count; i++) {
  const [who, text] = LINES[i % LINES.length];
  const speaker = who === "alice" ? alice : bob;
  const listener = who === "alice" ? bob : alice;
  const delivered = seen(listener, "message", (m) => m.username === who && m.text === text);
  speaker.sendMessage(text); // to the first joined room: #general
  await delivered;
  if (i + 1 < count) await sleep(intervalMs);
}

// A room alice is not in: only bob sees it.
const inRandom = seen(bob, "message", (m) => m.room === "random");
bob.sendMessage("anyone in here?", "random");
await inRandom;

const bobLeft = seen(alice, "leave", (m) => m.username === "bob");
bob.disconnect();
await bobLeft;
alice.disconnect();
console.log(`done: ${count} message(s) exchanged`);
await done();
