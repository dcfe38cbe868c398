// A hostile WebSocket server for the hardening tests: a plain `ws` server (no relay logic) that
// echoes what a client sends and, on command, sends it frames a buggy or malicious server could
// send. Each command ends with a sentinel text frame {"type":"after","case":<name>,"seq":<n>}, so
// a test knows every hostile frame before it has been handed to the client.
//
//   const hostile = await startHostileServer();
//   const url = hostile.url("some-id");            // ws://127.0.0.1:<port>/h/some-id
//   ... connect a Channel to url ...
//   await hostile.send("some-id", "deep-array");   // resolves when the frames are flushed
//
// Over the wire: a client text frame {"hostile":"<case>", ...params} runs the same command on
// that connection (used by `node tests/node/hostile-server.js [port]` for manual poking).
// Every case name and what it sends is in CASES below; tests/node/hostile.test.js holds the
// outcomes the SDK must produce, and docs/security.md lists them.
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";

const MiB = 1024 * 1024;

/** Text frame (string, or raw bytes sent with the text opcode) or binary frame. */
const text = (data) => ({ data, binary: false });
const binary = (data) => ({ data: Buffer.from(data), binary: true });

function deep(open, close, depth, inner = "") {
  return open.repeat(depth) + inner + close.repeat(depth);
}

/** An object with `count` distinct keys, then "type": type. */
function manyKeys(count, type) {
  const parts = new Array(count);
  for (let i = 0; i < count; i++) parts[i] = `"k${i}":${i}`;
  return `{${parts.join(",")},"type":${JSON.stringify(type)}}`;
}

/**
 * name -> (params) => array (or iterable) of frames. `params.limit` is the client's
 * maxMessageBytes where a case is sized against it.
 */
export const CASES = {
  // Text that is not JSON, though most of it starts like JSON.
  "invalid-json": () => [
    text('{"type":"x",'),
    text('{"type":"x"}}'),
    text('{"type":"x"} trailing'),
    text("[1,2"),
    text("{'type':'x'}"),
    text('{"type":"x" "n":1}'),
    text('{"type":"\\x"}'), // invalid escape
    text('{"type":"\\u00"}'), // truncated \u escape
    text('\uFEFF{"type":"x"}'), // a byte-order mark before the object
    text("tru"),
    text("-"),
    text("{"),
  ],
  // Binary frames whose bytes are broken UTF-8 (and one that is JSON): binary is never decoded.
  "truncated-utf8-binary": () => [
    binary([0xe2, 0x82]), // € without its last byte
    binary([0xf0, 0x9f, 0x98]), // 😀 without its last byte
    binary([0xc3]),
    binary([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xe2]), // {"t":"<truncated>
    binary([0xed, 0xa0, 0x80]), // an encoded surrogate
    binary(Buffer.from('{"type":"x"}')), // JSON bytes in a binary frame
  ],
  // Broken UTF-8 sent with the TEXT opcode: a protocol violation the WebSocket implementation
  // itself rejects (it fails the connection with 1007) before the SDK sees any data.
  "invalid-utf8-text": () => [text(Buffer.from([0x7b, 0x22, 0xe2, 0x82, 0x22, 0x7d]))],
  "deep-array": () => [text(deep("[", "]", 100000))],
  // A routable object whose other member is nested 100,000 deep: the scanner must skip it.
  "deep-object": () => [text(`{"type":"deep","v":${deep('{"a":', "}", 100000, "1")}}`)],
  "many-keys": () => [text(manyKeys(200000, "many"))],
  // "type" that is not a string: never routed to onMessage(type); still an object for "*".
  "type-not-string": () => [
    text('{"type":42,"n":1}'),
    text('{"type":{"x":"y"},"n":2}'),
    text('{"type":["x"],"n":3}'),
    text('{"type":null,"n":4}'),
    text('{"type":true,"n":5}'),
    text('{"type":"x","type":6,"n":6}'), // a later duplicate wins, as in JSON.parse
    text('{"type":7,"type":"x","n":7}'),
  ],
  "type-10mb": () => [text(`{"type":"${"t".repeat(10 * MiB)}","n":1}`)],
  // U+0000 raw in a text frame, as \u0000 escapes, and inside a routed type.
  nul: () => [
    text("a\u0000b"),
    text('{"type":"nul","s":"a\\u0000b"}'),
    text('{"type":"t\\u0000x","n":1}'),
    text('{"type":"nul","s":"a\u0000b"}'), // a raw NUL inside a JSON string: not JSON
    binary([0, 0, 0]),
  ],
  "huge-numbers": () => [
    text('{"type":"num","a":1e400,"b":-1e400,"c":1e-400,"d":123456789012345678901234567890,"e":-0}'),
    text("1e400"),
    text(`[${"9".repeat(400)}]`),
  ],
  // Just over the limit: ASCII text (checked by length before it enters wasm), binary, and
  // multi-byte text whose UTF-16 length fits but whose UTF-8 does not (checked in C++).
  "over-limit-just": ({ limit }) => [text("x".repeat(limit + 1)), binary(Buffer.alloc(limit + 1, 7)), text("é".repeat(Math.floor(limit / 2) + 1))],
  "over-limit-far": () => [text("x".repeat(32 * MiB)), binary(Buffer.alloc(32 * MiB, 7))],
  // Exactly the limit: delivered.
  "at-limit": ({ limit }) => [text("x".repeat(limit)), binary(Buffer.alloc(limit, 7))],
  burst: ({ count = 100000 } = {}) => ({
    *[Symbol.iterator]() {
      for (let i = 0; i < count; i++) yield text(`{"type":"b","i":${i}}`);
    },
  }),
};

/**
 * Starts the server on 127.0.0.1 (port 0: any free port). Close it with `close()`.
 * `connections` maps the id in the URL path to the live server-side socket.
 */
export async function startHostileServer({ port = 0 } = {}) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port, maxPayload: 0 });
  await new Promise((resolve) => wss.once("listening", resolve));
  const connections = new Map();
  let seq = 0;

  async function run(ws, name, params = {}) {
    const make = CASES[name];
    if (!make) throw new Error(`unknown hostile case "${name}"; cases: ${Object.keys(CASES).join(", ")}`);
    const mine = ++seq;
    let last = null;
    for (const frame of make(params)) {
      if (ws.readyState !== ws.OPEN) break;
      last = new Promise((resolve) => ws.send(frame.data, { binary: frame.binary }, () => resolve()));
    }
    const sentinel = JSON.stringify({ type: "after", case: name, seq: mine });
    if (ws.readyState === ws.OPEN) last = new Promise((resolve) => ws.send(sentinel, () => resolve()));
    if (last) await last;
    return mine;
  }

  wss.on("connection", (ws, req) => {
    const id = decodeURIComponent(new URL(req.url, "http://x").pathname.replace(/^\/h\//, ""));
    connections.set(id, ws);
    ws.on("error", () => {}); // a client that breaks the protocol must not crash the server
    ws.on("close", () => {
      if (connections.get(id) === ws) connections.delete(id);
    });
    ws.on("message", (data, isBinary) => {
      if (!isBinary) {
        let cmd = null;
        try {
          cmd = JSON.parse(data.toString());
        } catch {
          // not a command
        }
        if (cmd && typeof cmd === "object" && typeof cmd.hostile === "string") {
          run(ws, cmd.hostile, cmd).catch((err) => ws.send(JSON.stringify({ type: "hostile-error", message: err.message })));
          return;
        }
      }
      ws.send(data, { binary: isBinary }); // echo
    });
  });

  const server = {
    port: wss.address().port,
    connections,
    url: (id) => `ws://127.0.0.1:${wss.address().port}/h/${encodeURIComponent(id)}`,
    /** Runs case `name` on connection `id`; resolves with the sentinel's seq once flushed. */
    send(id, name, params) {
      const ws = connections.get(id);
      if (!ws) return Promise.reject(new Error(`no connection "${id}"`));
      return run(ws, name, params);
    },
    /** Sends one frame as is on connection `id`. */
    raw(id, data, { binary: isBinary = false } = {}) {
      const ws = connections.get(id);
      if (!ws) return Promise.reject(new Error(`no connection "${id}"`));
      return new Promise((resolve) => ws.send(data, { binary: isBinary }, () => resolve()));
    },
    /** Closes connection `id` with a close frame (code, reason), or terminates it (no code). */
    drop(id, code, reason) {
      const ws = connections.get(id);
      if (!ws) return;
      if (code === undefined) ws.terminate();
      else ws.close(code, reason);
    },
    close: () =>
      new Promise((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
  return server;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await startHostileServer({ port: Number(process.argv[2] || 0) });
  console.log(`hostile server on ws://127.0.0.1:${server.port}/h/<any id>; send {"hostile":"<case>"} from a client`);
  console.log(`cases: ${Object.keys(CASES).join(", ")}`);
}
