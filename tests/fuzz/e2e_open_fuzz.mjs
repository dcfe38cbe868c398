// Jazzer.js (libFuzzer in a Node addon, coverage-guided) target over the open/seal path of
// end-to-end encryption: the built chunk dist/metachannel-e2e.mjs (js/e2e-chunk.ts), its
// `sealer` and `adopt`, instrumented by Jazzer.js so that its branches (the framing checks and
// @noble/ciphers inside it) guide the fuzzer. Run by tests/fuzz/run.mjs (`npm test -- fuzz`)
// through tests/fuzz/jazzer.mjs; by hand:
//   node tests/fuzz/run.mjs e2e_open_fuzz     (MC_FUZZ_SECONDS)
// Every input is checked against invariants and a violation throws (a finding: the input is
// written as crash-<sha1>). The first byte of an input picks one of six checks:
//   0 mutate   a frame sealed with the key, changed by the input's edits (bit flips, byte sets,
//              truncation, appends, deletions, inserts, splices with a frame of another key):
//              opens iff the bytes are unchanged, to what was sealed; else the failure is
//              "short" (< 42 bytes), "version" (byte 0 is not 1) or "auth", in that order.
//   1 raw      the input's bytes as a frame, opened with the key and another: the result is what a
//              reference opener written from the wire format (docs/security.md) with
//              @noble/ciphers gives: for arbitrary bytes a failure (a forgery is 2^-128); the
//              seed corpus holds the worked example of docs/security.md, which opens.
//   2 forge    a frame sealed from the wire format alone (docs/security.md) with @noble/ciphers,
//              the key, the input's nonce, kind byte and payload: opens iff the kind is 0 with
//              valid UTF-8 (node:buffer's isUtf8) or 1; else "kind" / "utf8".
//   3 round    seal then open: any UTF-16 string (lone surrogates too: they are sealed as
//              U+FFFD, as a plain text WebSocket frame sends them) gives back its well-formed
//              form; any bytes give back the bytes; the frame is 42 bytes longer than the UTF-8
//              payload; another key's sealer refuses it.
//   4 adopt    a socket adopted with a key and a maxMessageBytes from the input receives a
//              sequence of messages: strings, ArrayBuffers, Buffers, typed-array views and
//              DataViews at offsets, other values, oversized frames, frames it sent itself, and
//              sealed frames intact or mutated. It never throws, delivers exactly the frames that
//              open (in order, with their payloads), passes an oversized binary frame on unopened
//              (the event itself: the core reports it by its size), and counts every drop: the
//              DECRYPT_FAILED reports' counts plus the unreported ones equal the drops, each
//              report's total is the drops so far, and its message names a documented reason.
//   5 start    adopt() of a socket closed while the chunk loaded leaves it closed and opens
//              nothing; a factory that throws: with `sync` the caller gets the throw, otherwise
//              the socket reports error then close 1006, as a socket that failed to connect.
import { Buffer, isUtf8 } from "node:buffer";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FuzzedDataProvider } from "@jazzer.js/core";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const chunk = await import(path.join(root, "dist/metachannel-e2e.mjs"));
const { sealer, adopt, OVERHEAD, VERSION, NONCE_BYTES } = chunk;

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i); // the worked example's key (docs/security.md)
const OTHER = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
const KEY_TEXT = Buffer.from(KEY).toString("base64url");
const mine = sealer(KEY);
const theirs = sealer(OTHER);
const REASONS = ["short", "version", "auth", "kind", "utf8"];
/** The sentences DECRYPT_FAILED names a reason with (docs/security.md, "What is dropped"). */
const SENTENCES = [
  "a text frame, not sealed",
  `shorter than a sealed frame (${OVERHEAD} bytes)`,
  `not sealed with version ${VERSION}`,
  "it failed authentication: altered, or sealed with another key",
  "an unknown kind byte",
  "a text frame that is not UTF-8",
];

class Violation extends Error {}
/** Throws (a finding) unless `ok`; `what`: the sentence, or a function making it. */
function check(ok, what) {
  if (!ok) throw new Violation(typeof what === "function" ? what() : what);
}
/** Up to `n` of the input's bytes. */
const bytes = (d, n) => Uint8Array.from(d.consumeBytes(n));
const same = (a, b) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const hex = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex").slice(0, 200);

/** The failure an altered or foreign frame must get: the checks in their order. */
function expectedFailure(frame) {
  if (frame.length < OVERHEAD) return "short";
  if (frame[0] !== VERSION) return "version";
  return "auth";
}

/** open() never throws; returns { data } or { failure } with a documented failure. */
function open(s, frame) {
  let r;
  try {
    r = s.open(frame);
  } catch (err) {
    throw new Violation(`open() threw ${err?.stack || err} on ${hex(frame)}`);
  }
  check(r && typeof r === "object", "open() returned no object");
  if ("failure" in r) check(REASONS.includes(r.failure) && !("data" in r), () => `open() failed with "${r.failure}"`);
  else check(typeof r.data === "string" || r.data instanceof Uint8Array, "open() returned data of another type");
  return r;
}

/** A sealed frame of kind `binary` and payload `bytes` (a text frame's payload must be UTF-8). */
function sealPayload(binary, bytes) {
  return binary ? mine.sealBinary(bytes) : mine.sealText(Buffer.from(bytes).toString("utf8"));
}

/** `frame` edited by the input: 1-8 edits. */
function mutate(d, frame) {
  let f = Buffer.from(frame);
  for (let n = d.consumeIntegralInRange(1, 8); n > 0 && d.remainingBytes > 0; n--) {
    const at = () => (f.length ? d.consumeIntegralInRange(0, f.length - 1) : 0);
    switch (d.consumeIntegralInRange(0, 7)) {
      case 0:
        if (f.length) {
          const i = at();
          f[i] ^= 1 << d.consumeIntegralInRange(0, 7);
        }
        break;
      case 1:
        if (f.length) f[at()] = d.consumeNumberInRange(0, 255) | 0;
        break;
      case 2:
        f = f.subarray(0, at());
        break;
      case 3:
        f = Buffer.concat([f, Buffer.from(bytes(d, d.consumeIntegralInRange(1, 16)))]);
        break;
      case 4: {
        const i = at();
        f = Buffer.concat([f.subarray(0, i), f.subarray(i + 1)]);
        break;
      }
      case 5: {
        const i = at();
        f = Buffer.concat([f.subarray(0, i), Buffer.from(bytes(d, d.consumeIntegralInRange(1, 4))), f.subarray(i)]);
        break;
      }
      case 6: {
        // a splice with the same payload sealed with another key
        const other = theirs.sealBinary(f.subarray(Math.min(OVERHEAD, f.length)));
        const i = at();
        f = Buffer.concat([f.subarray(0, i), other.subarray(Math.min(i, other.length))]);
        break;
      }
      default:
        f = Buffer.from(f.subarray(at())); // a suffix: the frame shifted
    }
  }
  return new Uint8Array(f);
}

function mutateCheck(d) {
  const binary = d.consumeBoolean();
  const payload = bytes(d, d.consumeIntegralInRange(0, 300));
  const frame = sealPayload(binary, payload);
  const sent = open(mine, frame);
  check("data" in sent, () => `a frame this key sealed did not open: ${sent.failure}`);
  if (binary) check(sent.data instanceof Uint8Array && same(sent.data, payload), "a binary frame opened to other bytes");
  else check(sent.data === Buffer.from(payload).toString("utf8"), "a text frame opened to other text");
  const m = mutate(d, frame);
  const r = open(mine, m);
  if (same(m, frame)) check("data" in r, () => `an unchanged frame did not open: ${r.failure}`);
  else {
    check("failure" in r, () => `an altered frame opened: ${hex(m)} (sealed ${hex(frame)})`);
    check(r.failure === expectedFailure(m), () => `an altered frame failed with "${r.failure}", not "${expectedFailure(m)}"`);
  }
  const o = open(theirs, frame);
  check("failure" in o && o.failure === "auth", "another key opened a frame");
}

/** What opening `frame` with `key` must give, from the wire format alone (docs/security.md). */
function reference(key, frame) {
  if (frame.length < OVERHEAD) return { failure: "short" };
  if (frame[0] !== VERSION) return { failure: "version" };
  let plain;
  try {
    plain = xchacha20poly1305(key, frame.slice(1, 1 + NONCE_BYTES), new Uint8Array([VERSION])).decrypt(frame.slice(1 + NONCE_BYTES));
  } catch {
    return { failure: "auth" };
  }
  const payload = plain.subarray(1);
  if (plain[0] === 1) return { data: payload };
  if (plain[0] !== 0) return { failure: "kind" };
  return isUtf8(payload) ? { data: Buffer.from(payload).toString("utf8") } : { failure: "utf8" };
}

/** `r` (from open()) is what the reference says. */
function sameResult(r, want) {
  if ("failure" in want) return r.failure === want.failure;
  if (typeof want.data === "string") return r.data === want.data;
  return r.data instanceof Uint8Array && same(r.data, want.data);
}

function rawCheck(d) {
  // Arbitrary bytes, or (the worked example of docs/security.md in the seed corpus) a real frame.
  const frame = Uint8Array.from(d.consumeRemainingAsBytes());
  for (const [s, key] of [
    [mine, KEY],
    [theirs, OTHER],
  ]) {
    const r = open(s, frame);
    const want = reference(key, frame);
    check(sameResult(r, want), () => `${hex(frame)} opened to ${JSON.stringify(r)}, not ${JSON.stringify(want)}`);
  }
}

/** A frame sealed from the wire format alone: 0x01 ‖ nonce ‖ XChaCha20-Poly1305(key, nonce, ad 0x01, kind ‖ payload). */
function forge(nonce, kind, payload) {
  const plain = new Uint8Array(1 + payload.length);
  plain[0] = kind;
  plain.set(payload, 1);
  const sealed = xchacha20poly1305(KEY, nonce, new Uint8Array([VERSION])).encrypt(plain);
  const frame = new Uint8Array(1 + NONCE_BYTES + sealed.length);
  frame[0] = VERSION;
  frame.set(nonce, 1);
  frame.set(sealed, 1 + NONCE_BYTES);
  return frame;
}

function forgeCheck(d) {
  const nonce = new Uint8Array(NONCE_BYTES);
  nonce.set(bytes(d, NONCE_BYTES));
  const kind = d.consumeBoolean() ? d.consumeIntegralInRange(0, 1) : d.consumeIntegralInRange(0, 255);
  const payload = Uint8Array.from(d.consumeRemainingAsBytes());
  const frame = forge(nonce, kind, payload);
  const r = open(mine, frame);
  if (kind === 1) check("data" in r && r.data instanceof Uint8Array && same(r.data, payload), "a binary frame did not open to its payload");
  else if (kind !== 0) check(r.failure === "kind", () => `kind ${kind} failed with "${r.failure}"`);
  else if (!isUtf8(payload)) check(r.failure === "utf8", () => `invalid UTF-8 failed with "${r.failure}"`);
  else check(r.data === Buffer.from(payload).toString("utf8"), "a text frame did not open to its text");
}

/** Any UTF-16 string: the input's bytes as code units, lone surrogates included. */
function anyString(d, max) {
  const units = d.consumeIntegrals(d.consumeIntegralInRange(0, max), 2, false);
  return String.fromCharCode(...units);
}

function roundCheck(d) {
  if (d.consumeBoolean()) {
    const text = d.consumeBoolean() ? anyString(d, 200) : d.consumeString(d.consumeIntegralInRange(0, 400), "utf-8");
    const frame = mine.sealText(text);
    check(frame.length === OVERHEAD + Buffer.byteLength(text.toWellFormed(), "utf8"), "a text frame is not 42 bytes longer than its UTF-8");
    const r = open(mine, frame);
    check(r.data === text.toWellFormed(), () => `text did not round-trip: ${JSON.stringify(text).slice(0, 200)}`);
    check(open(theirs, frame).failure === "auth", "another key opened a text frame");
  } else {
    const bytes = Uint8Array.from(d.consumeRemainingAsBytes());
    const frame = mine.sealBinary(bytes);
    check(frame.length === OVERHEAD + bytes.length, "a binary frame is not 42 bytes longer than its payload");
    const r = open(mine, frame);
    check(r.data instanceof Uint8Array && same(r.data, bytes), "bytes did not round-trip");
    check(open(theirs, frame).failure === "auth", "another key opened a binary frame");
  }
}

const CLOSED = 3;
/** A held socket as js/socket-factory.ts makes it. */
function heldSocket() {
  return {
    readyState: 0,
    bufferedAmount: 0,
    protocol: "",
    extensions: "",
    binaryType: "arraybuffer",
    onopen: null,
    onmessage: null,
    onerror: null,
    onclose: null,
    send() {},
    close() {},
  };
}

/** `bytes` (a Uint8Array) as one of the forms a WebSocket's message data or a caller may take. */
function dressed(d, bytes) {
  switch (d.consumeIntegralInRange(0, 5)) {
    case 0:
      return bytes.slice().buffer; // an ArrayBuffer, as a browser and ws with binaryType "arraybuffer" give
    case 1:
      return Buffer.from(bytes); // a Buffer (ws's default binaryType)
    case 2: {
      const pad = d.consumeIntegralInRange(0, 9);
      const big = new Uint8Array(pad + bytes.length + d.consumeIntegralInRange(0, 9)).fill(0xa5);
      big.set(bytes, pad);
      return big.subarray(pad, pad + bytes.length); // a view at an offset of a larger buffer
    }
    case 3: {
      const pad = d.consumeIntegralInRange(0, 7);
      const buf = new ArrayBuffer(pad + bytes.length + 3);
      new Uint8Array(buf).set(bytes, pad);
      return new DataView(buf, pad, bytes.length);
    }
    case 4: {
      // a wider typed array over the bytes, when they fill whole elements
      const Ctor = [Uint16Array, Int32Array, Float64Array, BigInt64Array][d.consumeIntegralInRange(0, 3)];
      if (bytes.length % Ctor.BYTES_PER_ELEMENT) return bytes;
      const pad = Ctor.BYTES_PER_ELEMENT * d.consumeIntegralInRange(0, 2);
      const buf = new ArrayBuffer(pad + bytes.length);
      new Uint8Array(buf).set(bytes, pad);
      return new Ctor(buf, pad, bytes.length / Ctor.BYTES_PER_ELEMENT);
    }
    default:
      return bytes;
  }
}

function adoptCheck(d) {
  const maxBytes = d.consumeBoolean() ? d.consumeIntegralInRange(0, 400) : 1 << 16;
  const drops = {};
  // a report a moment or long ago, or none: both the immediate and the rate-limited path
  if (d.consumeBoolean()) drops.last = Date.now() - d.consumeIntegralInRange(0, 2000);
  const reports = [];
  let dropsSoFar = 0;
  const s = heldSocket();
  const wire = [];
  const real = { readyState: 1, binaryType: "blob", send: (f) => wire.push(f), close() {} };
  const options = {
    key: KEY_TEXT,
    maxBytes,
    drops,
    report(message, detail) {
      reports.push({ message, detail, dropsSoFar });
    },
  };
  try {
    adopt(s, () => real, options, d.consumeBoolean());
    check(real.binaryType === "arraybuffer", "adopt() did not ask for ArrayBuffers");
    check(s.readyState === 1, "the adopted socket does not read the real one's state");
    const delivered = [];
    s.onmessage = (e) => delivered.push(e);
    for (let n = d.consumeIntegralInRange(1, 12); n > 0 && d.remainingBytes > 0; n--) {
      let data;
      /** what must come out: { data } delivered, "drop", or "pass" (the event itself, over the limit) */
      let want;
      const kind = d.consumeIntegralInRange(0, 7);
      if (kind === 0) {
        data = d.consumeBoolean() ? anyString(d, 64) : d.consumeString(d.consumeIntegralInRange(0, 64), "utf-8");
        want = "drop";
      } else if (kind === 1) {
        data = [null, undefined, 42, {}, [1, 2], new Blob(["x"]), true][d.consumeIntegralInRange(0, 6)];
        want = "drop";
      } else if (kind === 2 || kind === 3) {
        // the adopted socket sends text or bytes; what it put on the wire comes back
        const payload = kind === 2 ? d.consumeString(d.consumeIntegralInRange(0, 200), "utf-8") : bytes(d, d.consumeIntegralInRange(0, 200));
        const before = wire.length;
        if (kind === 2) s.send(payload);
        else s.send(d.consumeBoolean() ? new Uint8Array(payload).buffer : new Uint8Array(payload));
        check(wire.length === before + 1 && wire[before] instanceof Uint8Array, "send() did not put one sealed frame on the wire");
        const frame = wire[before];
        data = dressed(d, frame);
        want = frame.length > maxBytes + OVERHEAD ? "pass" : { data: kind === 2 ? payload : new Uint8Array(payload) };
      } else if (kind === 4 || kind === 5) {
        // a sealed frame, altered or not
        const binary = d.consumeBoolean();
        const payload = bytes(d, d.consumeIntegralInRange(0, 200));
        const frame = sealPayload(binary, payload);
        const m = kind === 5 ? mutate(d, frame) : frame;
        data = dressed(d, m);
        if (m.length > maxBytes + OVERHEAD) want = "pass";
        else if (same(m, frame)) want = { data: binary ? payload : Buffer.from(payload).toString("utf8") };
        else want = "drop";
      } else if (kind === 6) {
        // an oversized frame (anything over the limit is passed on unopened)
        const big = new Uint8Array(maxBytes + OVERHEAD + d.consumeIntegralInRange(1, 64)).fill(d.consumeIntegralInRange(0, 255));
        data = dressed(d, big);
        want = "pass";
      } else {
        const junk = bytes(d, d.consumeIntegralInRange(0, 120));
        data = dressed(d, junk);
        want = junk.length > maxBytes + OVERHEAD ? "pass" : "drop";
      }
      const event = { data };
      const count = delivered.length;
      const totalBefore = drops.total || 0;
      if (want === "drop") dropsSoFar++; // before: the report goes out from inside the handler
      try {
        real.onmessage(event);
      } catch (err) {
        throw new Violation(`the receive path threw ${err?.stack || err}`);
      }
      if (want === "drop") {
        check(delivered.length === count, "a frame that does not open was delivered");
        check(drops.total === totalBefore + 1, "a dropped frame was not counted");
      } else {
        check(delivered.length === count + 1, () => `a frame that ${want === "pass" ? "is over the limit" : "opens"} was not delivered`);
        check((drops.total || 0) === totalBefore, "a delivered frame was counted as dropped");
        const got = delivered[count];
        if (want === "pass") check(got === event, "an oversized frame was not passed on as it came");
        else if (typeof want.data === "string") check(got.data === want.data, "a text frame was delivered with other text");
        else check(got.data instanceof Uint8Array && same(got.data, want.data), "a binary frame was delivered with other bytes");
      }
    }
    // The counts add up.
    const total = drops.total || 0;
    check(total === dropsSoFar, () => `${dropsSoFar} frames dropped, ${total} counted`);
    const reported = reports.reduce((sum, r) => sum + r.detail.count, 0);
    check(reported + (drops.unreported || 0) === total, () => `${reported} reported + ${drops.unreported || 0} unreported != ${total} dropped`);
    check(!drops.unreported || drops.timer, "drops wait unreported with no report scheduled");
    for (const r of reports) {
      check(r.detail.count >= 1 && r.detail.total === r.dropsSoFar, () => `a report says ${JSON.stringify(r.detail)} after ${r.dropsSoFar} drops`);
      const m = /^(?:a frame|(\d+) frames) could not be opened with this channel's key and (?:was|were) dropped \(the last: (.*)\); (\d+) in all$/.exec(
        r.message,
      );
      check(m && Number(m[1] ?? 1) === r.detail.count && Number(m[3]) === r.detail.total && SENTENCES.includes(m[2]), () => `a report reads "${r.message}"`);
    }
    if (d.consumeBoolean()) {
      s.close(1000, "done");
      real.readyState = CLOSED;
      check(s.readyState === CLOSED, "the adopted socket does not read the real one's state");
    }
  } finally {
    if (drops.timer) clearTimeout(drops.timer);
  }
}

/** adopt()'s start: a held socket closed while the chunk loaded stays closed; a factory that throws. */
function adoptStartCheck(d) {
  const s = heldSocket();
  const events = [];
  s.onerror = () => events.push("error");
  s.onclose = (e) => events.push(`close ${e.code} ${e.wasClean}`);
  const closedFirst = d.consumeBoolean();
  if (closedFirst) s.readyState = CLOSED;
  const sync = d.consumeBoolean();
  const fails = d.consumeBoolean();
  const refused = new Error("refused");
  const real = {
    readyState: 0,
    binaryType: "blob",
    bufferedAmount: 7,
    protocol: "p",
    extensions: "x",
    url: "wss://h/ch/t",
    refusedStatus: 403,
    send() {},
    close() {},
  };
  let made = 0;
  const make = () => {
    made++;
    if (fails) throw refused;
    return real;
  };
  let thrown = null;
  try {
    adopt(s, make, { key: KEY_TEXT, maxBytes: 1 << 16, drops: {}, report() {} }, sync);
  } catch (err) {
    thrown = err;
  }
  if (closedFirst) check(made === 0 && thrown === null && events.length === 0 && s.readyState === CLOSED, "a socket closed while the chunk loaded was opened");
  else if (fails && sync) check(thrown === refused && events.length === 0, "a synchronous factory's throw did not reach the caller");
  else if (fails)
    check(thrown === null && s.readyState === CLOSED && events.join() === "error,close 1006 false", () => `a factory's throw gave ${events.join()}`);
  else {
    check(thrown === null && made === 1 && s.readyState === 0 && real.binaryType === "arraybuffer", "adopt() did not open the real socket");
    // the held socket reads the real one and passes its events on, as they come
    check(
      s.bufferedAmount === 7 && s.protocol === "p" && s.extensions === "x" && s.url === "wss://h/ch/t" && s.refusedStatus === 403,
      "the held socket does not read the real one",
    );
    const opened = [];
    s.onopen = (e) => opened.push(e);
    const open = { type: "open" };
    const error = { type: "error" };
    const close = { type: "close", code: 1000 + d.consumeIntegralInRange(0, 15), reason: "", wasClean: true };
    real.onopen(open);
    real.onerror(error);
    real.onclose(close);
    check(
      opened[0] === open && events.length === 2 && events[0] === "error" && events[1] === `close ${close.code} true`,
      () => `events passed on: ${events.join()}`,
    );
  }
}

// (new checks go at the end: an input's first byte keeps choosing the same check)
const CHECKS = [mutateCheck, rawCheck, forgeCheck, roundCheck, adoptCheck, adoptStartCheck];

/** @param {Buffer} data */
export function fuzz(data) {
  if (data.length === 0) return;
  const d = new FuzzedDataProvider(data.subarray(1));
  CHECKS[data[0] % CHECKS.length](d);
}
