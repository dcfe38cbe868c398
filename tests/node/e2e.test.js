// End-to-end encryption (issue 26): a channel URL with `#k=<key>` seals every frame at the
// socket (js/socket-factory.ts's placeholder, js/e2e-chunk.ts's adopt()). Real parts throughout: a recording relay (a `ws` broadcast
// server, in this file, that keeps every frame and every upgrade request URL), real channels
// of the built package, and a raw `ws` client that injects hostile frames. The frames the
// tests forge are sealed with @noble/ciphers directly, from the wire format alone:
//   0x01 ‖ nonce (24) ‖ XChaCha20-Poly1305(key, nonce, AD = 0x01, kind ‖ payload) (ciphertext ‖ tag 16)
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import path from "node:path";
import { mkdtempSync, mkdirSync, readdirSync, copyFileSync, rmSync, existsSync } from "node:fs";
import { WebSocketServer, WebSocket } from "ws";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { mc, channelFor, distDir, root, waitFor, sleep, runScript, relayFor } from "./helpers.js";

const chunk = await import(path.join(distDir, "metachannel-e2e.mjs"));
const FAST = { reconnect: { minDelayMs: 20, maxDelayMs: 100 } };
const OVERHEAD = 42;

/** A broadcast relay that records every frame (and its sender's upgrade URL) and echoes to everyone, the sender included, as relay/server.js does. */
async function recordingRelay(t) {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await once(wss, "listening");
  const rec = { frames: [], upgrades: [], paused: false };
  wss.on("connection", (ws, req) => {
    rec.upgrades.push(req.url);
    ws.on("message", (data, isBinary) => {
      const bytes = Buffer.from(data);
      rec.frames.push({ bytes, isBinary });
      if (rec.paused) return;
      for (const c of wss.clients) if (c.readyState === WebSocket.OPEN) c.send(c === ws && rec.alterEcho ? rec.alterEcho(bytes) : bytes, { binary: isBinary });
    });
  });
  rec.wss = wss;
  rec.base = `ws://127.0.0.1:${wss.address().port}/ch/tok3n`;
  /** Terminates every socket (as a network drop would). */
  rec.terminateAll = () => {
    for (const c of wss.clients) c.terminate();
  };
  t.after(() => {
    for (const c of wss.clients) c.terminate();
    wss.close();
  });
  return rec;
}

/** The 32 key bytes of a keyed URL. */
function keyOf(url) {
  return new Uint8Array(Buffer.from(/#(?:.*&)?k=([A-Za-z0-9_-]{43})/.exec(url)[1], "base64url"));
}

/** A sealed frame of any kind byte, made from the wire format with noble directly. */
function forge(key, kind, payload, nonce = crypto.getRandomValues(new Uint8Array(24))) {
  const plain = new Uint8Array(payload.length + 1);
  plain[0] = kind;
  plain.set(payload, 1);
  const sealed = xchacha20poly1305(key, nonce, new Uint8Array([1])).encrypt(plain);
  return Buffer.concat([Buffer.from([1]), Buffer.from(nonce), Buffer.from(sealed)]);
}
const forgeText = (key, text) => forge(key, 0, new TextEncoder().encode(text));

/** Opens a recorded frame with noble (null if it does not open). */
function openFrame(key, bytes) {
  try {
    return Buffer.from(xchacha20poly1305(key, bytes.subarray(1, 25), new Uint8Array([1])).decrypt(bytes.subarray(25)));
  } catch {
    return null;
  }
}

/** A raw `ws` client on `url` (no fragment: a socket never gets one). */
async function rawClient(t, url) {
  const ws = new WebSocket(url);
  t.after(() => ws.terminate());
  await once(ws, "open");
  return ws;
}

/** Everything `ch` delivers and reports. */
function record(ch, types = []) {
  const r = { messages: [], typed: [], errors: [], decrypt: [] };
  ch.on("message", (data, meta) => r.messages.push({ data, meta }));
  for (const type of types) ch.onMessage(type, (msg) => r.typed.push(msg));
  ch.on("error", (e) => {
    r.errors.push(e);
    if (e.code === "DECRYPT_FAILED") r.decrypt.push(e);
  });
  return r;
}
const dropped = (r) => r.decrypt.reduce((n, e) => n + e.detail.count, 0);

/** Sends a good frame from `from` and waits until `to` delivered it: the channel is open and delivering. */
async function stillDelivers(from, to, rec, tag) {
  from.send({ type: "probe", tag });
  await waitFor(() => rec.messages.some((m) => m.data?.type === "probe" && m.data.tag === tag), { what: `probe ${tag} delivered` });
  assert.equal(to.state, "open");
}

// ------------------------------------------------------------------ round trips

test("two encrypted peers: text, binary, typed routing; the relay records only sealed binary frames, never the key, the plaintext or a type", async (t) => {
  const relay = await recordingRelay(t);
  const url = mc.withNewKey(relay.base);
  const key = keyOf(url);
  const a = channelFor(t, url, FAST);
  const b = channelFor(t, url, FAST);
  assert.equal(a.encrypted, true);
  assert.equal(a.url, url, "channel.url keeps the fragment (a shareable link)");
  const rb = record(b, ["chat.msg"]);
  await Promise.all([a.opened(), b.opened()]);

  a.send({ type: "chat.msg", text: "attack at dawn" });
  a.send("plain text secret");
  a.send(new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00, 0x42]));
  a.send({ type: "other.kind", text: "routed elsewhere" });
  a.send("é ü 😀 \ufeffBOM-led");
  await waitFor(() => rb.messages.length === 5, { what: "5 deliveries at b" });
  assert.deepEqual(rb.messages[0].data, { type: "chat.msg", text: "attack at dawn" });
  assert.equal(rb.messages[0].meta.type, "chat.msg");
  assert.equal(rb.messages[1].data, "plain text secret");
  assert.deepEqual([...rb.messages[2].data], [0xde, 0xad, 0xbe, 0xef, 0x00, 0x42]);
  assert.equal(rb.messages[2].meta.binary, true);
  assert.equal(rb.messages[4].data, "é ü 😀 \ufeffBOM-led");
  assert.deepEqual(rb.typed, [{ type: "chat.msg", text: "attack at dawn" }], "onMessage routes on the opened frame");
  assert.equal(rb.errors.length, 0);

  const keyText = /k=([A-Za-z0-9_-]{43})/.exec(url)[1];
  assert.ok(relay.frames.length >= 5);
  for (const { bytes, isBinary } of relay.frames) {
    assert.equal(isBinary, true, "every frame on the wire is binary");
    assert.equal(bytes[0], 0x01, "and starts with the version byte");
    assert.ok(bytes.length >= OVERHEAD);
    for (const secret of ["attack at dawn", "plain text secret", "routed elsewhere", '"type"', "chat.msg", keyText]) {
      assert.equal(bytes.includes(Buffer.from(secret)), false, `a recorded frame contains ${secret}`);
    }
    assert.equal(bytes.includes(Buffer.from(key)), false, "a recorded frame contains the raw key");
    assert.notEqual(openFrame(key, bytes), null, "every recorded frame opens with the key");
  }
  assert.equal(relay.upgrades.length, 2);
  for (const u of relay.upgrades) {
    assert.equal(u, "/ch/tok3n", "the upgrade request carries no fragment");
    assert.ok(!u.includes("#") && !u.includes(keyText));
  }
});

test("Node: libsodium (sodium-native, installed here as a devDependency) seals and opens; a channel on @noble/ciphers and one on libsodium read each other, both ways", async (t) => {
  const relay = await recordingRelay(t);
  const url = mc.withNewKey(relay.base);
  await mc.ready({ encryption: true });
  const { createRequire } = await import("node:module");
  const sodium = createRequire(import.meta.url)("sodium-native");
  assert.equal(chunk.cipherName(), "sodium-native", "the chunk took sodium-native when it loaded");
  // A channel whose sockets seal with noble (the sealer is chosen when a socket is made)...
  chunk.setSodium(null);
  let a;
  try {
    assert.equal(chunk.cipherName(), "@noble/ciphers");
    a = channelFor(t, url, FAST);
    await a.opened();
  } finally {
    chunk.setSodium(sodium);
  }
  // ...and one on libsodium.
  const b = channelFor(t, url, FAST);
  const ra = record(a, ["chat.msg"]);
  const rb = record(b, ["chat.msg"]);
  await b.opened();
  a.send({ type: "chat.msg", text: "from noble" });
  a.send(new Uint8Array([1, 2, 3]));
  b.send({ type: "chat.msg", text: "from libsodium" });
  b.send(new Uint8Array([4, 5, 6]));
  await waitFor(() => ra.messages.length >= 4 && rb.messages.length >= 4, { what: "4 deliveries at each (own echoes included)" });
  for (const r of [ra, rb]) {
    assert.deepEqual(r.typed.map((m) => m.text).sort(), ["from libsodium", "from noble"]);
    assert.deepEqual(
      r.messages
        .filter((m) => m.meta.binary)
        .map((m) => [...m.data])
        .sort(),
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
    );
    assert.equal(r.errors.length, 0);
  }
  // The sealers directly: each opens the other's frames, and rejects the same tampering.
  const key = keyOf(url);
  chunk.setSodium(null);
  const byNoble = chunk.sealer(key);
  chunk.setSodium(sodium);
  const bySodium = chunk.sealer(key);
  for (const [from, to] of [
    [byNoble, bySodium],
    [bySodium, byNoble],
  ]) {
    assert.equal(to.open(from.sealText("héllo")).data, "héllo");
    assert.deepEqual([...to.open(from.sealBinary(new Uint8Array([9, 8]))).data], [9, 8]);
    const frame = from.sealText("tamper me");
    for (const at of [0, 1, 24, 25, 30, frame.length - 1]) {
      const bad = frame.slice();
      bad[at] ^= 0x40;
      assert.ok("failure" in to.open(bad), `a flipped byte at ${at} opens`);
    }
    assert.equal(to.open(frame.subarray(0, frame.length - 1)).failure, "auth");
  }
});

test("a channel's own frames echoed by the relay: delivered from the plaintext kept when sealing, exactly as the other peer opens them; an echo altered in any byte is dropped and reported", async (t) => {
  const relay = await recordingRelay(t);
  const url = mc.withNewKey(relay.base);
  const a = channelFor(t, url, FAST);
  const b = channelFor(t, url, FAST);
  const ra = record(a);
  const rb = record(b);
  await Promise.all([a.opened(), b.opened()]);
  const bytes = new Uint8Array([1, 2, 3, 4]);
  a.send({ type: "chat.msg", text: "own echo" });
  a.send("a lone \ud800 surrogate"); // UTF-8 has no lone surrogates: both ends get U+FFFD
  a.send(bytes);
  bytes[0] = 99; // changed after send: neither end sees it
  await waitFor(() => ra.messages.length === 3 && rb.messages.length === 3, { what: "3 deliveries at each" });
  assert.deepEqual(
    ra.messages.map((m) => [m.data instanceof Uint8Array ? [...m.data] : m.data, m.meta.binary, m.meta.type]),
    rb.messages.map((m) => [m.data instanceof Uint8Array ? [...m.data] : m.data, m.meta.binary, m.meta.type]),
  );
  assert.equal(rb.messages[1].data, "a lone \ufffd surrogate");
  assert.deepEqual([...rb.messages[2].data], [1, 2, 3, 4]);
  ra.messages[2].data[1] = 77; // a listener changing its bytes changes nothing kept
  assert.equal(ra.errors.length + rb.errors.length, 0);

  // The relay alters the copy it echoes to the sender, one byte in each position class.
  const at = [0, 1, 2, 12, 24, 25, 40, -16, -1];
  let n = 0;
  relay.alterEcho = (frame) => {
    const bad = Buffer.from(frame);
    const i = at[n++ % at.length];
    bad[i < 0 ? bad.length + i : i] ^= 0x01;
    return bad;
  };
  for (let i = 0; i < at.length; i++) a.send({ type: "chat.msg", text: `altered echo ${i}` });
  await waitFor(() => rb.messages.length === 3 + at.length && dropped(ra) === at.length, { what: "b delivers all; a drops every altered echo" });
  assert.equal(ra.messages.length, 3, "no altered echo is delivered");
  relay.alterEcho = null;
  await stillDelivers(b, a, ra, "after");

  // The sealer directly: an echo of a frame sealed long ago (no longer kept) opens by the cipher; every result is the same.
  const s = chunk.sealer(keyOf(url));
  const frames = Array.from({ length: 80 }, (_, i) => s.sealText(`frame ${i}`));
  for (const i of [79, 0, 78, 40, 79]) assert.equal(s.receive(frames[i].slice().buffer).data, `frame ${i}`);
});

test("reliable and presence, encrypted: sockets terminated by the relay, the gap repaired from sealed resends; presence states sealed", async (t) => {
  const relay = await recordingRelay(t);
  const url = mc.withNewKey(relay.base);
  const key = keyOf(url);
  const a = channelFor(t, url, { ...FAST, reliable: true, presence: { state: { name: "ada-secret-state" } } });
  const b = channelFor(t, url, { ...FAST, reliable: true, presence: { state: { name: "bob-secret-state" } } });
  const rb = record(b);
  await Promise.all([a.opened(), b.opened()]);
  await waitFor(() => a.presence.has(b.id) && b.presence.has(a.id), { what: "presence both ways" });
  assert.deepEqual(b.presence.get(a.id), { name: "ada-secret-state" });
  a.setPresence({ name: "ada-secret-state", typing: true });
  await waitFor(() => b.presence.get(a.id)?.typing === true, { what: "presence update" });

  for (let i = 0; i < 5; i++) a.send({ type: "n", i, s: "reliable-secret" });
  await waitFor(() => rb.messages.filter((m) => m.data?.type === "n").length === 5, { what: "first 5" });
  // The relay forwards nothing for a while (frames lost in flight), then drops every socket.
  relay.paused = true;
  for (let i = 5; i < 10; i++) a.send({ type: "n", i, s: "reliable-secret" });
  await waitFor(() => relay.frames.some((f) => openFrame(key, f.bytes)?.includes('"i":9')), { what: "the 10th frame reached the relay" });
  relay.terminateAll();
  relay.paused = false;
  for (let i = 10; i < 15; i++) a.send({ type: "n", i, s: "reliable-secret" });
  await waitFor(() => rb.messages.filter((m) => m.data?.type === "n").length === 15, { what: "all 15, the lost ones resent", timeoutMs: 10000 });
  const got = rb.messages.filter((m) => m.data?.type === "n");
  assert.deepEqual(
    got.map((m) => m.data.i),
    Array.from({ length: 15 }, (_, i) => i),
    "in order, once each",
  );
  assert.ok(
    got.every((m) => m.meta.from === a.id && m.meta.seq > 0),
    "reliable tags were sealed and read back",
  );
  assert.equal(rb.decrypt.length, 0);

  const keyText = /k=([A-Za-z0-9_-]{43})/.exec(url)[1];
  for (const { bytes, isBinary } of relay.frames) {
    assert.equal(isBinary, true);
    assert.equal(bytes[0], 0x01);
    for (const secret of ["reliable-secret", "ada-secret-state", "bob-secret-state", '"type"', keyText, a.id, b.id]) {
      assert.equal(bytes.includes(Buffer.from(secret)), false, `a recorded frame contains ${secret}`);
    }
  }
  assert.ok(relay.upgrades.length >= 4, "both peers reconnected");
  for (const u of relay.upgrades) assert.equal(u, "/ch/tok3n");
});

test("through the dev relay (relay/server.js): connect() with a keyed URL works with no other call", async (t) => {
  const relay = await relayFor(t);
  const { url: plain } = await relay.createChannel();
  const url = mc.withNewKey(plain);
  const a = await mc.connect(url);
  const b = await mc.connect(url);
  t.after(() => {
    a.dispose();
    b.dispose();
  });
  record(a);
  const rb = record(b);
  await Promise.all([a.opened(), b.opened()]);
  a.send({ type: "hello", n: 1 });
  await waitFor(() => rb.messages.length === 1, { what: "delivery" });
  assert.deepEqual(rb.messages[0].data, { type: "hello", n: 1 });
  // A plain peer on the same relay channel sees sealed frames it cannot read, and its frames are dropped by the encrypted one.
  const plainPeer = channelFor(t, plain, FAST);
  const rp = record(plainPeer);
  await plainPeer.opened();
  plainPeer.send({ type: "hello", n: 2 });
  a.send({ type: "hello", n: 3 });
  await waitFor(() => rb.messages.length === 2 && rb.decrypt.length === 1, { what: "b got n:3 and dropped the plain frame" });
  assert.deepEqual(rb.messages[1].data, { type: "hello", n: 3 });
  await waitFor(() => rp.messages.some((m) => m.meta.binary), { what: "the plain peer got the sealed frame" });
  for (const m of rp.messages) {
    if (!m.meta.binary) assert.deepEqual(m.data, { type: "hello", n: 2 }, "the plain peer reads only its own echo");
    else assert.equal(m.data[0], 1, "to a plain peer, a sealed frame is opaque binary");
  }
  // The largest message the client takes by default (maxMessageBytes, 1 MiB) is 42 bytes more
  // once sealed; the dev relay's default limit leaves room for it.
  const big = new Uint8Array(1024 * 1024).fill(7);
  a.send(big);
  await waitFor(() => rb.messages.some((m) => m.meta.binary && m.data.length === big.length), { what: "b got the 1 MiB sealed message" });
  assert.equal(a.state, "open");
});

// ------------------------------------------------------------------ hostile frames

test("hostile frames: bit flips in each position class, truncations, another key, plain text, wrong kind, bad UTF-8, oversized: all dropped and reported, none delivered, channel open", async (t) => {
  const relay = await recordingRelay(t);
  const url = mc.withNewKey(relay.base);
  const key = keyOf(url);
  const other = crypto.getRandomValues(new Uint8Array(32));
  const a = channelFor(t, url, FAST);
  const b = channelFor(t, url, { ...FAST, maxMessageBytes: 4096 });
  record(a);
  const rb = record(b, ["x"]);
  await Promise.all([a.opened(), b.opened()]);
  const raw = await rawClient(t, relay.base);
  const before = mc._memoryBytes();

  const good = forgeText(key, JSON.stringify({ type: "x", secret: "payload under test" }));
  const flip = (i) => {
    const f = Buffer.from(good);
    f[i] ^= 0x01;
    return f;
  };
  const bad = {
    "version byte": flip(0),
    "version byte 0x02": Buffer.concat([Buffer.from([2]), good.subarray(1)]),
    "nonce first": flip(1),
    "nonce last": flip(24),
    "ciphertext first": flip(25),
    "ciphertext last": flip(good.length - 17),
    "tag first": flip(good.length - 16),
    "tag last": flip(good.length - 1),
    "empty binary": Buffer.alloc(0),
    "1 byte": good.subarray(0, 1),
    "41 bytes": good.subarray(0, 41),
    "42 bytes": good.subarray(0, 42),
    "one byte short": good.subarray(0, good.length - 1),
    "one byte long": Buffer.concat([good, Buffer.from([0])]),
    "another key": forgeText(other, JSON.stringify({ type: "x", secret: "other key" })),
    "kind byte 2": forge(key, 2, new TextEncoder().encode('{"type":"x"}')),
    "kind byte 0xff": forge(key, 0xff, new TextEncoder().encode('{"type":"x"}')),
    "text that is not UTF-8": forge(key, 0, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])),
  };
  const plainTexts = ['{"type":"x","secret":"plain"}', "plain", ""];
  let n = 0;
  for (const [name, frame] of Object.entries(bad)) {
    raw.send(frame, { binary: true });
    n++;
    await stillDelivers(a, b, rb, `after ${name}`);
  }
  for (const text of plainTexts) {
    raw.send(text, { binary: false });
    n++;
  }
  await waitFor(() => dropped(rb) === n, { what: `${n} drops reported`, timeoutMs: 5000 });
  assert.equal(rb.typed.length, 0, "no hostile frame was delivered");
  assert.ok(
    rb.messages.every((m) => m.data?.type === "probe"),
    "only the probes were delivered",
  );
  assert.ok(rb.decrypt.every((e) => e.detail.count >= 1 && e.detail.total >= e.detail.count));
  assert.equal(rb.decrypt.at(-1).detail.total, n);
  assert.match(rb.decrypt[0].message, /could not be opened with this channel's key/);

  // Oversized: over maxMessageBytes + 42, reported by the existing path without being opened.
  raw.send(forge(key, 1, new Uint8Array(4096 + 1)), { binary: true });
  await waitFor(() => rb.errors.some((e) => e.code === "MESSAGE_TOO_LARGE"), { what: "MESSAGE_TOO_LARGE" });
  // Exactly at the limit: opened and delivered.
  raw.send(forge(key, 1, new Uint8Array(4096).fill(7)), { binary: true });
  await waitFor(() => rb.messages.some((m) => m.meta.binary && m.data.length === 4096), { what: "a frame at the limit" });
  await stillDelivers(a, b, rb, "after all");
  assert.equal(b.state, "open");
  assert.ok(mc._memoryBytes() - before <= 64 * 1024, `wasm memory ${before} -> ${mc._memoryBytes()}`);
});

test("replays: plain mode delivers a replayed sealed frame again (documented); reliable mode drops it as a duplicate", async (t) => {
  const relay = await recordingRelay(t);
  const url = mc.withNewKey(relay.base);
  const key = keyOf(url);
  const raw = await rawClient(t, relay.base);

  const a = channelFor(t, url, FAST);
  const b = channelFor(t, url, FAST);
  record(a); // the other key's frames below are drops here
  const rb = record(b, ["once"]);
  await Promise.all([a.opened(), b.opened()]);
  a.send({ type: "once", v: 1 });
  await waitFor(() => rb.typed.length === 1, { what: "delivery" });
  const sent = relay.frames.find((f) => openFrame(key, f.bytes)?.includes('"once"'));
  raw.send(sent.bytes, { binary: true });
  await waitFor(() => rb.typed.length === 2, { what: "the replay delivered (plain mode)" });
  assert.deepEqual(rb.typed[1], { type: "once", v: 1 });

  a.dispose(); // nothing of the first key on the relay from here on
  b.dispose();
  const url2 = mc.withNewKey(relay.base);
  const key2 = keyOf(url2);
  const c = channelFor(t, url2, { ...FAST, reliable: true });
  const d = channelFor(t, url2, { ...FAST, reliable: true });
  record(c);
  const rd = record(d, ["once"]);
  await Promise.all([c.opened(), d.opened()]);
  c.send({ type: "once", v: 2 });
  await waitFor(() => rd.typed.length === 1, { what: "reliable delivery" });
  const frame = relay.frames.find((f) => openFrame(key2, f.bytes)?.includes('"v":2'));
  const dupsBefore = d._reliableStats().duplicatesDropped;
  raw.send(frame.bytes, { binary: true });
  c.send({ type: "once", v: 3 });
  await waitFor(() => rd.typed.length === 2, { what: "the next message" });
  assert.deepEqual(
    rd.typed.map((m) => m.v),
    [2, 3],
    "the replay was dropped as a duplicate",
  );
  await waitFor(() => d._reliableStats().duplicatesDropped > dupsBefore, { what: "the duplicate counted" });
  assert.equal(rd.decrypt.length, 0, "a replay opens fine: it is the reliable layer that drops it");
});

test("a burst of 1000 bad frames: few DECRYPT_FAILED events whose counts sum to 1000, the channel still delivers, memory back at baseline", async (t) => {
  const relay = await recordingRelay(t);
  const url = mc.withNewKey(relay.base);
  const a = channelFor(t, url, FAST);
  const b = channelFor(t, url, FAST);
  record(a);
  const rb = record(b);
  await Promise.all([a.opened(), b.opened()]);
  const raw = await rawClient(t, relay.base);
  const other = crypto.getRandomValues(new Uint8Array(32));
  const before = mc._memoryBytes();
  const start = Date.now();
  for (let i = 0; i < 1000; i++) raw.send(forgeText(other, `{"type":"x","i":${i}}`), { binary: true });
  await waitFor(() => dropped(rb) === 1000, { what: "1000 drops reported", timeoutMs: 10000 });
  const seconds = (Date.now() - start) / 1000;
  assert.ok(rb.decrypt.length <= 2 + Math.ceil(seconds), `${rb.decrypt.length} events in ${seconds} s: at most one a second after the first`);
  assert.equal(rb.decrypt.at(-1).detail.total, 1000);
  assert.equal(rb.messages.length, 0);
  await stillDelivers(a, b, rb, "after the burst");
  assert.ok(mc._memoryBytes() - before <= 64 * 1024, `wasm memory ${before} -> ${mc._memoryBytes()}`);
});

// ------------------------------------------------------------------ keys and URLs

test("withNewKey: 43 base64url characters of fresh randomness, other fragment pairs kept, k replaced; INVALID_URL for a non-ws URL", () => {
  const url = mc.withNewKey("wss://relay.example.com/ch/abc?x=1");
  assert.match(url, /^wss:\/\/relay\.example\.com\/ch\/abc\?x=1#k=[A-Za-z0-9_-]{43}$/);
  assert.equal(keyOf(url).length, 32);
  const keys = new Set(Array.from({ length: 200 }, () => /k=(.*)$/.exec(mc.withNewKey("ws://h/c"))[1]));
  assert.equal(keys.size, 200, "200 keys, all different");
  // Every bit position takes both values across 200 keys (a stuck bit would be a broken source).
  const bytes = [...keys].map((k) => Buffer.from(k, "base64url"));
  for (let bit = 0; bit < 256; bit++) {
    const ones = bytes.filter((b) => (b[bit >> 3] >> (bit & 7)) & 1).length;
    assert.ok(ones > 0 && ones < 200, `bit ${bit} never changes`);
  }
  const again = mc.withNewKey(`${url}&name=room`);
  assert.match(again, /^wss:\/\/relay\.example\.com\/ch\/abc\?x=1#k=[A-Za-z0-9_-]{43}&name=room$/);
  assert.notEqual(/k=([^&]*)/.exec(again)[1], /k=([^&]*)/.exec(url)[1]);
  assert.match(mc.withNewKey("ws://h/c#name=room"), /^ws:\/\/h\/c#k=[A-Za-z0-9_-]{43}&name=room$/);
  for (const badUrl of ["http://h/c", "not a url", "", "ws://", null, 42]) {
    assert.throws(() => mc.withNewKey(badUrl), { code: "INVALID_URL", message: /withNewKey\(url\)/ });
  }
});

test("keys that are not 43 base64url characters: INVALID_URL saying what to do, wherever a URL is given; no k: a plain channel, fragment still stripped", async (t) => {
  const relay = await recordingRelay(t);
  const good = /k=(.*)$/.exec(mc.withNewKey("ws://h/c"))[1];
  const bads = [
    "short",
    `${good}A`, // 44
    `${good.slice(0, 42)}=`, // padding
    `${good.slice(0, 42)}+`, // base64, not base64url
    `${good.slice(0, 42)}B`, // spare bits set (B = 1): not the canonical spelling
    "",
  ];
  const ch = channelFor(t, null);
  for (const bad of bads) {
    const url = `${relay.base}#k=${bad}`;
    const expect = {
      code: "INVALID_URL",
      message: /the key in the URL fragment must be 43 base64url characters \(32 bytes\); make one with withNewKey\(url\)/,
    };
    assert.throws(() => new mc.Channel(url), expect);
    assert.throws(() => ch.setUrl(url), expect);
    await assert.rejects(mc.connect(url), expect);
    try {
      ch.setUrl(url);
    } catch (err) {
      if (bad) assert.ok(!err.message.includes(bad), "the message never holds the key");
      assert.ok(!err.message.includes("#"), "nor the fragment");
    }
  }
  assert.throws(() => new mc.Channel(`${relay.base}#k=${good}&k=${good}`), { code: "INVALID_URL", message: /more than one k=/ });
  assert.equal(ch.url, null, "a refused URL changed nothing");
  assert.equal(ch.encrypted, false);

  // No k: plain, and the fragment never reaches the socket.
  const plain = `${relay.base}#name=room&x`;
  const p = channelFor(t, plain, FAST);
  await p.opened();
  assert.equal(p.encrypted, false);
  assert.equal(p.url, plain);
  p.send({ type: "t", v: "plain" });
  await waitFor(() => relay.frames.length === 1, { what: "the plain frame" });
  assert.equal(relay.frames[0].isBinary, false);
  assert.deepEqual(relay.upgrades, ["/ch/tok3n"]);
});

test("encrypted flag, setUrl to the same base with a new key reconnects (old-key peers can no longer read it), setUrl(channel.url) is a no-op", async (t) => {
  const relay = await recordingRelay(t);
  const url1 = mc.withNewKey(relay.base);
  const url2 = mc.withNewKey(relay.base);
  const a = channelFor(t, url1, FAST);
  const old = channelFor(t, url1, FAST);
  const fresh = channelFor(t, url2, FAST);
  const rOld = record(old);
  const rFresh = record(fresh);
  await Promise.all([a.opened(), old.opened(), fresh.opened()]);
  assert.equal(a.encrypted, true);

  const states = [];
  a.on("state", (e) => states.push(`${e.from}>${e.to}`));
  a.setUrl(a.url);
  assert.deepEqual(states, [], "setUrl(channel.url): no-op");
  const upgrades = relay.upgrades.length;
  a.setUrl(url2);
  assert.equal(a.url, url2);
  await a.opened();
  assert.deepEqual(states, ["open>connecting", "connecting>open"], "a new socket for the new key");
  assert.equal(relay.upgrades.length, upgrades + 1);
  a.send({ type: "rotated" });
  await waitFor(() => rFresh.messages.length === 1, { what: "the new-key peer reads it" });
  await waitFor(() => rOld.decrypt.length === 1, { what: "the old-key peer drops it" });
  assert.equal(rOld.messages.length, 0);

  a.setUrl(relay.base);
  assert.equal(a.encrypted, false);
  await a.opened();
  a.setUrl(null);
  assert.equal(a.encrypted, false);
  assert.equal(a.url, null);
  a.setUrl(url1);
  assert.equal(a.encrypted, true);
  a.dispose();
  assert.equal(a.encrypted, false);

  // A URL the channel refuses (closed for good) changes neither the URL nor the key.
  const p = channelFor(t, relay.base, FAST);
  await p.close();
  assert.throws(() => p.setUrl(url1), { code: "CLOSED" });
  assert.equal(p.encrypted, false);
  assert.equal(p.url, relay.base);
});

test("no error message ever holds the key or the fragment: refused connections, retries, constructor errors", async (t) => {
  // A port nobody listens on: SOCKET_ERROR / retries; a relay that refuses the upgrade: HTTP 404.
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1", verifyClient: (_info, cb) => cb(false, 404) });
  await once(server, "listening");
  t.after(() => server.close());
  const urls = [mc.withNewKey("ws://127.0.0.1:9/ch/secret-path"), mc.withNewKey(`ws://127.0.0.1:${server.address().port}/ch/secret-path`)];
  const messages = [];
  for (const url of urls) {
    const ch = channelFor(t, url, { reconnect: { minDelayMs: 5, maxDelayMs: 10, maxRetries: 2, connectTimeoutMs: 500 } });
    ch.on("error", (e) => messages.push(e.message));
    await waitFor(() => ch.state === "closed" || messages.length >= 3, { what: "errors", timeoutMs: 5000 });
  }
  class Throws {
    constructor(u) {
      throw new Error(`refused ${u}`);
    }
  }
  const url = mc.withNewKey("ws://127.0.0.1:9/ch/secret-path");
  const thrower = channelFor(t, url, { WebSocket: Throws });
  thrower.on("error", (e) => messages.push(e.message));
  await waitFor(() => messages.some((m) => m.includes("constructor threw")), { what: "the constructor's error" });
  assert.ok(messages.length >= 3, messages.join("\n"));
  for (const m of messages) {
    for (const u of [...urls, url]) assert.ok(!m.includes(/k=(.*)$/.exec(u)[1]), `a message holds a key: ${m}`);
    assert.ok(!m.includes("#") && !m.includes("secret-path"), `a message holds the fragment or the path: ${m}`);
  }
});

test("the encryption chunk cannot be loaded: LOAD_FAILED naming metachannel-e2e.mjs, the channel ends closed", async (t) => {
  // Inside the checkout, so that the copy finds the `ws` package as dist/ does.
  mkdirSync(path.join(root, "build"), { recursive: true });
  const dir = mkdtempSync(path.join(root, "build", "noe2e-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of readdirSync(distDir)) if (f !== "metachannel-e2e.mjs" && /^metachannel[.-]/.test(f)) copyFileSync(path.join(distDir, f), path.join(dir, f));
  const r = await runScript(`
    const mc = await import(${JSON.stringify(path.join(dir, "metachannel.mjs"))});
    const ch = await mc.connect(mc.withNewKey("ws://127.0.0.1:9/c"));
    const errors = [];
    ch.on("error", (e) => errors.push(e.code + ": " + e.message));
    await new Promise((resolve) => ch.on("state", (s) => s.to === "closed" && resolve()));
    console.log(JSON.stringify({ state: ch.state, errors }));
    await mc.ready({ encryption: true }).then(() => console.log("preload resolved"), (e) => console.log("preload: " + e.code));
    ch.dispose();
  `);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.split("\n")[0]);
  assert.equal(out.state, "closed");
  assert.match(out.errors[0], /^LOAD_FAILED: could not load metachannel's encryption module \(metachannel-e2e\.mjs/);
  assert.match(r.stdout, /preload: LOAD_FAILED/);
});

test("a synchronous reliable Channel on a keyed URL while only the plain core is loaded: created at once, sealed once the full core and the chunk are there", async (t) => {
  const relay = await recordingRelay(t);
  const url = mc.withNewKey(relay.base);
  const r = await runScript(`
    const mc = await import(${JSON.stringify(path.join(distDir, "metachannel.mjs"))});
    await mc.ready(); // the plain core only: the full core and the encryption chunk load on demand
    const a = new mc.Channel(${JSON.stringify(url)}, { reliable: true });
    const b = new mc.Channel(${JSON.stringify(url)}, { reliable: true });
    const before = [a.state, a.encrypted, a.url === ${JSON.stringify(url)}];
    a.send({ type: "early", n: 1 }); // queued while the full core loads
    const got = new Promise((resolve) => b.onMessage("early", (m, meta) => resolve([m.n, meta.seq])));
    console.log(JSON.stringify({ before, got: await got }));
    a.dispose(); b.dispose();
  `);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { before: ["connecting", true, true], got: [1, 1] });
  assert.ok(relay.frames.length >= 2 && relay.frames.every((f) => f.isBinary && f.bytes[0] === 1));
  assert.deepEqual(new Set(relay.upgrades), new Set(["/ch/tok3n"]));
});

test("metachannel/inline carries the chunk (one file): a keyed round trip with no chunk to load", {
  skip: !existsSync(path.join(distDir, "metachannel.inline.mjs")) && "no inline build in this dist",
}, async (t) => {
  const relay = await recordingRelay(t);
  const url = mc.withNewKey(relay.base);
  const r = await runScript(`
    const mc = await import(${JSON.stringify(path.join(distDir, "metachannel.inline.mjs"))});
    await mc.ready();
    const a = new mc.Channel(${JSON.stringify(url)}), b = new mc.Channel(${JSON.stringify(url)});
    // The chunk is there before any load: the sockets are made at once (readyState 0 is the real socket's).
    const got = new Promise((resolve) => b.onMessage("inline", resolve));
    await Promise.all([a.opened(), b.opened()]);
    a.send({ type: "inline", ok: true });
    console.log(JSON.stringify(await got));
    a.dispose(); b.dispose();
  `);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '{"type":"inline","ok":true}');
  assert.ok(relay.frames.length >= 1 && relay.frames.every((f) => f.isBinary && f.bytes[0] === 1));
});

test("CommonJS: the chunk is bundled into metachannel.cjs; a keyed round trip", async (t) => {
  const relay = await recordingRelay(t);
  const url = mc.withNewKey(relay.base);
  const r = await runScript(`
    import { createRequire } from "node:module";
    const require = createRequire(${JSON.stringify(path.join(distDir, "x.cjs"))});
    const mc = require("./metachannel.cjs");
    await mc.ready();
    const a = new mc.Channel(${JSON.stringify(url)}), b = new mc.Channel(${JSON.stringify(url)});
    await Promise.all([a.opened(), b.opened()]);
    const got = new Promise((resolve) => b.onMessage("cjs", resolve));
    a.send({ type: "cjs", ok: true });
    console.log(JSON.stringify(await got), a.encrypted);
    a.dispose(); b.dispose();
  `);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '{"type":"cjs","ok":true} true');
  assert.ok(relay.frames.length >= 1 && relay.frames.every((f) => f.isBinary && f.bytes[0] === 1));
});

// ------------------------------------------------------------------ fuzz

/** mulberry32: a seeded PRNG, so a failure replays. */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** One random mutation of `frame` (a copy). */
function mutate(frame, rand) {
  const f = Buffer.from(frame);
  const at = () => Math.floor(rand() * f.length);
  switch (Math.floor(rand() * 7)) {
    case 0: {
      const i = at();
      f[i] ^= 1 << Math.floor(rand() * 8);
      return f;
    }
    case 1: {
      for (let k = 1 + Math.floor(rand() * 4); k > 0; k--) f[at()] = Math.floor(rand() * 256);
      return f;
    }
    case 2:
      return f.subarray(0, Math.floor(rand() * f.length));
    case 3:
      return Buffer.concat([f, Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 8) }, () => Math.floor(rand() * 256)))]);
    case 4: {
      const i = at();
      return Buffer.concat([f.subarray(0, i), f.subarray(i + 1)]);
    }
    case 5: {
      const i = at();
      const j = at();
      [f[i], f[j]] = [f[j], f[i]];
      return f;
    }
    default:
      return Buffer.from(f.subarray(at())); // a suffix: the frame shifted
  }
}

test("seeded mutation fuzz of the open path (JS): 30,000 mutated sealed frames never throw and never open; through a channel, never delivered and all counted", async (t) => {
  const seed = Number(process.env.MC_E2E_FUZZ_SEED || 26);
  const rand = prng(seed);
  const key = crypto.getRandomValues(new Uint8Array(32));
  const sealer = chunk.sealer(key);
  const samples = [
    sealer.sealText('{"type":"chat.msg","text":"hi"}'),
    sealer.sealText(""),
    sealer.sealText("x".repeat(300)),
    sealer.sealBinary(new Uint8Array(0)),
    sealer.sealBinary(crypto.getRandomValues(new Uint8Array(64))),
  ];
  for (const s of samples) assert.ok(!("failure" in sealer.open(s)), "an unmutated frame opens");
  let opened = 0;
  let identical = 0;
  const failures = {};
  for (let i = 0; i < 30000; i++) {
    const original = samples[i % samples.length];
    const m = mutate(original, rand);
    if (Buffer.from(original).equals(m)) {
      identical++;
      continue;
    }
    const r = sealer.open(new Uint8Array(m)); // must not throw
    if (!("failure" in r)) opened++;
    else failures[r.failure] = (failures[r.failure] || 0) + 1;
  }
  assert.equal(opened, 0, `seed ${seed}: a mutated frame opened`);
  assert.ok(failures.auth > 10000 && failures.short > 100, `seed ${seed}: ${JSON.stringify(failures)}`);

  // The same through a real channel: 3,000 mutated frames injected, none delivered, every one counted.
  const relay = await recordingRelay(t);
  const url = `${relay.base}#k=${Buffer.from(key).toString("base64url")}`;
  const a = channelFor(t, url, FAST);
  const b = channelFor(t, url, FAST);
  record(a);
  const rb = record(b);
  await Promise.all([a.opened(), b.opened()]);
  const raw = await rawClient(t, relay.base);
  const before = mc._memoryBytes();
  let injected = 0;
  for (let i = 0; i < 3000; i++) {
    const original = samples[i % samples.length];
    const m = mutate(original, rand);
    if (Buffer.from(original).equals(m)) continue;
    raw.send(m, { binary: true });
    injected++;
  }
  await waitFor(() => dropped(rb) === injected, { what: `${injected} drops`, timeoutMs: 10000 });
  assert.equal(rb.messages.length, 0, "no mutated frame was delivered");
  assert.equal(rb.decrypt.at(-1).detail.total, injected);
  await stillDelivers(a, b, rb, "after the fuzz");
  assert.ok(mc._memoryBytes() - before <= 64 * 1024);
  t.diagnostic(`seed ${seed}: ${JSON.stringify(failures)}, ${identical} no-op mutations skipped; ${injected} injected through a channel`);
});

test("ready({ encryption: true }) preloads the chunk; ready() refuses a non-boolean", async () => {
  await mc.ready({ encryption: true });
  assert.throws(() => mc.ready({ encryption: "yes" }), { code: "INVALID_ARGUMENT", message: /options\.encryption/ });
  await sleep(0);
});

test("DECRYPT_FAILED's rate-limit timer keeps no Node process alive: a child that got bad frames and closed its channel exits by itself", async (t) => {
  const relay = await recordingRelay(t);
  const r = await runScript(`
    const mc = await import(${JSON.stringify(path.join(distDir, "metachannel.mjs"))});
    const chunk = await import(${JSON.stringify(path.join(distDir, "metachannel-e2e.mjs"))});
    const { WebSocket } = await import(${JSON.stringify(path.join(root, "node_modules/ws/wrapper.mjs"))});
    const url = mc.withNewKey(${JSON.stringify(relay.base)});
    await mc.ready();
    const ch = new mc.Channel(url);
    const errors = [];
    const texts = [];
    ch.on("error", (e) => errors.push({ code: e.code, detail: e.detail }));
    ch.on("message", (m) => texts.push(m));
    await new Promise((resolve) => ch.on("state", (s) => s.to === "open" && resolve()));
    const raw = new WebSocket(${JSON.stringify(relay.base)});
    await new Promise((resolve) => raw.on("open", resolve));
    // Three frames that cannot be opened (the first is reported at once, the next two wait for
    // the rate limit's timer), then one sealed with the key, so the child knows all have arrived.
    for (let i = 0; i < 3; i++) raw.send(new Uint8Array(64).fill(i + 1), { binary: true });
    raw.send(chunk.sealer(/k=([\\w-]{43})/.exec(url)[1]).sealText(JSON.stringify({ type: "done" })), { binary: true });
    await new Promise((resolve) => {
      const poll = () => (texts.length ? resolve() : setTimeout(poll, 5));
      poll();
    });
    ch.close();
    await new Promise((resolve) => (ch.state === "closed" ? resolve() : ch.on("state", (s) => s.to === "closed" && resolve())));
    raw.close();
    await new Promise((resolve) => raw.on("close", resolve));
    // What keeps the event loop alive now: no timer (the drops' timer is armed, and unref'd).
    console.log(JSON.stringify({ errors, texts, alive: process.getActiveResourcesInfo().filter((r) => r === "Timeout") }));
    // No process.exit(): the child must end by itself.
  `);
  assert.equal(r.code, 0, `the child did not exit by itself: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split("\n").at(-1));
  assert.deepEqual(out.texts, [{ type: "done" }]);
  assert.deepEqual(out.errors, [{ code: "DECRYPT_FAILED", detail: { count: 1, total: 1 } }], "only the first drop was reported before the close");
  assert.deepEqual(out.alive, []);
});
