// The core routes on any top-level member name registered from JS (issue 12's generic router):
// a client that routes on a member no client used before ("user" here) needs no C++ change.
// Driven through the internal API the client classes use (Channel._route/_hook), against the
// real dev relay and a raw `ws` sender.
import { test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { relayFor, channelFor, waitFor } from "./helpers.js";

test("routing on a new member: only frames whose top-level member has a wanted value reach the hook", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const rx = channelFor(t, url);
  const hooked = [];
  rx._hook("user", (msg, meta) => hooked.push([msg.user, msg.n, meta.type]));
  rx._route("user", "ann", 1);
  let all = 0;
  const observer = channelFor(t, url);
  observer.onMessage("*", () => all++);
  await Promise.all([rx.opened(), observer.opened()]);

  const sender = new WebSocket(url);
  t.after(() => sender.terminate());
  await new Promise((resolve, reject) => {
    sender.once("open", resolve);
    sender.once("error", reject);
  });
  const frames = [
    { type: "x", user: "ann", n: 1 },
    { type: "x", user: "bob", n: 2 },
    { type: "x", nested: { user: "ann" }, n: 3 }, // not top-level: not routed
    { type: "x", user: "bob", user2: "ann", n: 4 },
    { type: "x", user: "bob", n: 5, ...JSON.parse('{"user":"ann"}') }, // the last duplicate wins, as in JSON.parse
    { type: "x", user: 7, n: 6 }, // not a string
    { type: "x", user: "an\u006e", n: 7 }, // escaped on the wire below
  ];
  for (const f of frames) sender.send(JSON.stringify(f));
  sender.send('{"type":"x","user":"\\u0061nn","n":8}');
  await waitFor(() => all === frames.length + 1, { what: "every frame at the observer" });
  await waitFor(() => hooked.length === 4, { what: "the routed frames" });
  assert.deepEqual(hooked, [
    ["ann", 1, "x"],
    ["ann", 5, "x"],
    ["ann", 7, "x"],
    ["ann", 8, "x"],
  ]);

  // Interest dropped: nothing more reaches the hook.
  rx._route("user", "ann", -1);
  sender.send(JSON.stringify({ type: "x", user: "ann", n: 9 }));
  sender.send(JSON.stringify({ type: "done" }));
  await waitFor(() => all === frames.length + 3, { what: "the last frames at the observer" });
  assert.equal(hooked.length, 4);
});

test("a channel routes on at most 8 member names; the 9th, an empty name and the reserved one are refused clearly", async (t) => {
  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const ch = channelFor(t, url);
  const refused = (name) => (err) =>
    err.code === "INVALID_ARGUMENT" && /at most 8 member names/.test(err.message) && err.message.includes(JSON.stringify(name));
  assert.throws(() => ch._route("", "v", 1), refused(""), "an empty name, with slots free");
  assert.throws(() => ch._route("_mc", "v", 1), refused("_mc"), "the reserved member, with slots free");
  for (const name of ["a", "b", "c", "d", "e", "f", "g"]) ch._route(name, "v", 1); // "type" is the 8th
  ch._route("a", "w", 1); // a known name takes no new slot
  assert.throws(() => ch._route("h", "v", 1), refused("h"), "a 9th name");
  ch._route("type", "v", 1); // slot 0 still works
});
