// A Python peer written from docs/security.md alone (tests/python/e2e_peer.py: Debian's
// python3-nacl and python3-websockets) and a JS encrypted channel exchange typed JSON and
// binary both ways through the real relay; the relay records every frame and sees none of it.
// The worked example in docs/security.md is read from the file and checked against PyNaCl and
// against the JS implementation, so the document cannot drift from either.
import test from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { WebSocket } from "ws";
import { mc, relayFor, channelFor, root, waitFor } from "./helpers.js";

// Debian's Python: python3-nacl and python3-websockets are its packages (scripts/toolchain.mjs
// installs them); a python3 earlier on PATH (pyenv) would not have them.
const PYTHON = "/usr/bin/python3";
const PEER = path.join(root, "tests/python/e2e_peer.py");
const skip = existsSync(PYTHON) ? false : `${PYTHON} is absent: the Python peer cannot run (apt-get install python3-nacl python3-websockets)`;

/** The worked example's lines from docs/security.md. */
function workedExample() {
  const doc = readFileSync(path.join(root, "docs/security.md"), "utf8");
  const line = (label) => {
    const m = doc.match(new RegExp(`^${label}\\s+(\\S+)`, "m"));
    assert.ok(m, `docs/security.md has the worked example's "${label}" line`);
    return m[1];
  };
  const payload = doc.match(/^payload\s+(\{.*\})\s+\(/m)[1];
  return { keyHex: line("key \\(hex\\)"), fragment: line("key \\(fragment\\)"), nonceHex: line("nonce \\(hex\\)"), payload, frameHex: line("frame \\(hex\\)") };
}

/** The Python peer on `url` (with its fragment): lines it prints, and send(command). */
async function pythonPeer(t, url) {
  const child = spawn(PYTHON, [PEER, url], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const lines = [];
  createInterface({ input: child.stdout }).on("line", (l) => lines.push(JSON.parse(l)));
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  t.after(() => child.kill());
  await waitFor(() => lines.some((l) => l.ready) || child.exitCode !== null, { what: "the Python peer to open" });
  assert.ok(
    lines.some((l) => l.ready),
    `the Python peer failed: ${stderr}`,
  );
  return {
    lines,
    exited,
    stderr: () => stderr,
    send: (command) => child.stdin.write(`${JSON.stringify(command)}\n`),
  };
}

/** Every frame the relay receives from any client: { binary, bytes }. */
function recordFrames(relay) {
  const frames = [];
  relay.on("connection", ({ socket }) => socket.on("message", (data, isBinary) => frames.push({ binary: isBinary, bytes: Buffer.from(data) })));
  return frames;
}

test("the worked example in docs/security.md: PyNaCl seals exactly that frame, and a JS encrypted channel opens it", { skip }, async (t) => {
  const ex = workedExample();
  assert.equal(Buffer.from(ex.fragment.replace(/^#k=/, ""), "base64url").toString("hex"), ex.keyHex, "the fragment is the key in base64url");
  const sealed = spawnSync(PYTHON, [PEER, "--seal", ex.keyHex, ex.nonceHex, ex.payload], { encoding: "utf8" });
  assert.equal(sealed.status, 0, sealed.stderr);
  assert.equal(sealed.stdout.trim(), ex.frameHex);
  assert.equal(ex.frameHex.length / 2, Buffer.byteLength(ex.payload) + 42, "overhead 42 bytes");

  const relay = await relayFor(t);
  const { url } = await relay.createChannel();
  const ch = channelFor(t, url + ex.fragment);
  assert.equal(ch.encrypted, true);
  const got = new Promise((resolve) => ch.onMessage("chat.msg", (m) => resolve(m)));
  await ch.opened();
  const raw = new WebSocket(url); // the relay's view: no key; it replays the documented bytes
  t.after(() => raw.terminate());
  await new Promise((resolve, reject) => raw.once("open", resolve).once("error", reject));
  raw.send(Buffer.from(ex.frameHex, "hex"));
  assert.deepEqual(await got, JSON.parse(ex.payload));
});

test("a Python peer (PyNaCl, websockets) and a JS encrypted channel exchange typed JSON and binary both ways; the relay sees none of it", {
  skip,
}, async (t) => {
  const relay = await relayFor(t);
  const frames = recordFrames(relay);
  const { url } = await relay.createChannel();
  const keyed = mc.withNewKey(url);
  assert.match(keyed, /#k=[A-Za-z0-9_-]{43}$/);
  const key = keyed.slice(keyed.indexOf("#k=") + 3);

  const js = channelFor(t, keyed);
  assert.equal(js.encrypted, true);
  const typed = [];
  const binary = [];
  const problems = [];
  js.onMessage("py.hello", (m) => typed.push(m));
  js.on("message", (d) => d instanceof Uint8Array && binary.push(Buffer.from(d).toString("hex")));
  js.on("error", (e) => problems.push(e.code));
  await js.opened();
  const py = await pythonPeer(t, keyed);

  // JS → Python: a typed JSON message and a binary one.
  const secret = "the relay must not read this";
  js.send({ type: "js.hello", text: secret, n: 1 });
  js.send(new Uint8Array([0, 1, 2, 253, 254, 255]));
  await waitFor(() => py.lines.filter((l) => l.text || l.binary).length >= 2, { what: "the Python peer to open both frames" });
  const fromJs = py.lines.filter((l) => l.text || l.binary);
  assert.deepEqual(JSON.parse(fromJs[0].text), { type: "js.hello", text: secret, n: 1 });
  assert.equal(fromJs[1].binary, "000102fdfeff");
  assert.deepEqual(
    py.lines.filter((l) => l.dropped),
    [],
    "the Python peer opened everything the JS channel sent",
  );

  // Python → JS: a typed JSON message (routed by its type) and a binary one.
  py.send({ text: JSON.stringify({ type: "py.hello", text: `${secret} (python)`, list: [1, "två", null] }) });
  py.send({ binary: "cafe00babe" });
  // (The relay echoes to the sender too: the JS channel's own binary frame comes back first.)
  await waitFor(() => typed.length === 1 && binary.length === 2, { what: "the JS channel to get both" });
  assert.deepEqual(typed[0], { type: "py.hello", text: `${secret} (python)`, list: [1, "två", null] });
  assert.deepEqual(binary, ["000102fdfeff", "cafe00babe"]);
  assert.deepEqual(problems, [], "no DECRYPT_FAILED or other error on the JS side");

  py.send({ close: true });
  assert.equal(await py.exited, 0, py.stderr());
  assert.ok(frames.length >= 4, `the relay recorded ${frames.length} frames`);
  for (const f of frames) {
    assert.equal(f.binary, true, "every frame on the wire is binary");
    assert.equal(f.bytes[0], 1, "version byte");
    const asText = f.bytes.toString("latin1");
    for (const clear of [secret, '"type"', "py.hello", "js.hello", key, Buffer.from(key, "base64url").toString("latin1")]) {
      assert.ok(!asText.includes(clear), `a recorded frame contains ${JSON.stringify(clear)} in the clear`);
    }
  }
});
