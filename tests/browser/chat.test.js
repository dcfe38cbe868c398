// The browser chat example (demo/examples/chat.html, on ChatClient) in headless Chromium:
// two pages on two different sites talk through a real relay by typing into the UI; rooms
// filter what each page shows; a leave shows up on the other page. Also: ChatClient refuses
// options.headers in a browser (HEADERS_UNSUPPORTED).
// Run: node --test tests/browser/chat.test.js   (after npm run build)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { serveStatic } from "../../scripts/static-server.mjs";
import { startHarness, until, root } from "./harness.js";

let h;
/** Two sites serving the example as the README says (demo/ and dist/ from the repository root). */
const sites = {};
before(async () => {
  h = await startHarness();
  const mounts = { "/demo/": path.join(root, "demo"), "/dist/": path.join(root, "dist") };
  sites.a = await serveStatic({ mounts, host: "127.0.0.1" });
  sites.b = await serveStatic({ mounts, host: "127.0.0.2" });
});
after(async () => {
  await sites.a?.close();
  await sites.b?.close();
  await h?.close();
});

/** Opens the example as `user` from `site` (its import of ../../dist/metachannel.mjs resolves there). */
async function openChat(site, user, rooms, channelUrl) {
  const page = await h.newPage(user);
  const hash = new URLSearchParams({ user, rooms: rooms.join(","), url: channelUrl }).toString();
  await page.goto(`${site.url}/demo/examples/chat.html#${hash}`);
  await page.waitForFunction(() => window.chatReady === true, null, { timeout: 10000 });
  return page;
}

const lines = (page) => page.$$eval("#messages > div", (divs) => divs.map((d) => d.textContent));

async function type(page, text, { enter = false } = {}) {
  await page.fill("#message", text);
  if (enter) await page.press("#message", "Enter");
  else await page.click("#send");
}

test("the chat example works across two pages: messages, rooms, join and leave", async () => {
  const { relay } = h;
  const { url, token } = await relay.createChannel();
  const frames = [];
  relay.on("connection", ({ socket }) => socket.on("message", (d) => frames.push(JSON.parse(d.toString()))));

  const alice = await openChat(sites.a, "alice", ["general", "dev"], url);
  const bob = await openChat(sites.b, "bob", ["general"], url);
  await until(() => relay.clientCount(token) === 2, "both pages connected");
  await until(async () => (await lines(alice)).includes("bob joined #general"), "alice sees bob join");

  await type(alice, "hi bob"); // the room select starts on the first joined room: #general
  await type(bob, "hi alice", { enter: true });
  await until(async () => (await lines(alice)).includes("#generalbob:hi alice"), "alice sees bob's message");

  // #dev: only alice is in it, so bob's page never shows it.
  await alice.selectOption("#room", "dev");
  await type(alice, "dev only");
  await until(async () => (await lines(alice)).includes("#devalice:dev only"), "alice's own #dev message");

  // bob joins #dev through the UI; now he sees it.
  await bob.fill("#room-name", "dev");
  await bob.click("#join");
  await until(async () => (await lines(alice)).includes("bob joined #dev"), "alice sees bob join #dev");
  await type(alice, "welcome to dev");
  await until(async () => (await lines(bob)).includes("#devalice:welcome to dev"), "bob sees #dev now");

  // bob leaves #general: alice is told; alice's later #general message does not reach bob.
  await bob.fill("#room-name", "general");
  await bob.click("#leave");
  await until(async () => (await lines(alice)).includes("bob left #general"), "alice sees bob leave");
  await alice.selectOption("#room", "general");
  await type(alice, "is bob gone?");
  await type(alice, "last one in general"); // two #general frames bob must not see
  await alice.selectOption("#room", "dev");
  await type(alice, "sync");
  await until(async () => (await lines(bob)).includes("#devalice:sync"), "bob has had everything sent before");
  await until(async () => (await lines(alice)).includes("#devalice:sync"), "so has alice");

  const a = await lines(alice);
  const b = await lines(bob);
  assert.deepEqual(
    b.filter((l) => l.startsWith("#")),
    ["#generalalice:hi bob", "#generalbob:hi alice", "#devalice:welcome to dev", "#devalice:sync"],
    "bob saw exactly the messages of his rooms",
  );
  assert.deepEqual(
    a.filter((l) => l.startsWith("#")),
    [
      "#generalalice:hi bob",
      "#generalbob:hi alice",
      "#devalice:dev only",
      "#devalice:welcome to dev",
      "#generalalice:is bob gone?",
      "#generalalice:last one in general",
      "#devalice:sync",
    ],
  );
  assert.ok(a.includes("Connected to chat server") && b.includes("Connected to chat server"));
  assert.equal(await bob.textContent("#who"), "bob in #dev");
  assert.deepEqual(await bob.evaluate(() => window.chat.rooms), ["dev"]);
  // The wire format of the documents, as the relay saw it.
  assert.deepEqual(
    frames.filter((f) => f.username === "bob" && f.type !== "message"),
    [
      { type: "join", username: "bob", room: "general" },
      { type: "join", username: "bob", room: "dev" },
      { type: "leave", username: "bob", room: "general" },
    ],
  );
  assert.deepEqual(
    frames.find((f) => f.text === "hi bob"),
    { type: "message", username: "alice", text: "hi bob", room: "general" },
  );

  await h.screenshot(alice, "chat-example-alice");
  await h.screenshot(bob, "chat-example-bob");

  // Closing bob's page closes his socket; alice's page carries on.
  await bob.close();
  await until(() => relay.clientCount(token) === 1, "bob's socket gone");
  await alice.selectOption("#room", "general");
  await type(alice, "still here");
  await until(async () => (await lines(alice)).includes("#generalalice:still here"), "alice still works");
  h.assertNoErrors(alice);
  h.assertNoErrors(bob);
});

test("in the browser, ChatClient and LiveDataClient refuse options.headers (HEADERS_UNSUPPORTED)", async () => {
  const { relay } = h;
  const { url, token } = await relay.createChannel();
  const page = await openChat(sites.a, "carol", ["general"], url);
  const codes = await page.evaluate(async (u) => {
    const mc = await import("/dist/metachannel.mjs");
    const out = {};
    try {
      new mc.ChatClient(u, "x", { headers: { Authorization: "Bearer t" } });
      out.chat = "no error";
    } catch (err) {
      out.chat = err.code;
    }
    try {
      new mc.LiveDataClient(u, { headers: { Authorization: "Bearer t" } });
      out.live = "no error";
    } catch (err) {
      out.live = err.code;
    }
    return out;
  }, url);
  assert.deepEqual(codes, { chat: "HEADERS_UNSUPPORTED", live: "HEADERS_UNSUPPORTED" });
  assert.equal(relay.clientCount(token), 1, "only the page's own chat connected");
  h.assertNoErrors(page);
});
