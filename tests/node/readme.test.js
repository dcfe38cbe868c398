// Every js, ts and sh block of the README, run as written: the placeholder URL becomes a real
// channel on a relay, `import … from "metachannel"` the built package, and the few names a
// snippet takes from its surroundings (`url`, `bar`, `render`, `responder`/`requester`) are
// defined before it. Each runs in its own Node process of this flavour; a raw peer on the
// channel checks what it sent. The html blocks run in Chromium (tests/browser/readme.test.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { WebSocket } from "ws";
import { exec, rawPeer } from "../tools.mjs";
import { distDir, relayFor, sleep, waitFor } from "./helpers.js";
import { readmeSnippets, PLACEHOLDER_URL, root } from "../readme/snippets.js";

const snippets = readmeSnippets();
const distEntry = path.join(distDir, "metachannel.mjs");
const SUBPATH_IMPORT = /^import\s*\{[^}]*\}\s*from\s*"metachannel\/(chat|live-data|metaframe)"/m;
const EXPORTS = [
  "connect",
  "ready",
  "Channel",
  "ChatClient",
  "LiveDataClient",
  "MetaframeClient",
  "bindMetaframe",
  "connectFromEnv",
  "MetaChannelError",
  "withNewKey",
];

const run = (cmd, args, { env = {}, cwd = root, timeoutMs = 20000 } = {}) => exec(cmd, args, { env, cwd, timeoutMs });

/** The snippet as a module: imports from dist, the URL filled in, its surroundings defined. */
function asModule(code, url) {
  const imported = new Set();
  // A subpath file imports the root entry by the package's name, which resolves to dist/ (the
  // release build): a snippet that uses one runs on dist/ whole, so that it has one root entry
  // (the debug-wasm suite, MC_DIST_DIR=dist-debug, has no subpath files of its own).
  const dist = SUBPATH_IMPORT.test(code) ? path.join(root, "dist/metachannel.mjs") : distEntry;
  let body = code.replace(/^import\s*\{([^}]*)\}\s*from\s*"metachannel";?/gm, (_, names) => {
    for (const n of names.split(",")) imported.add(n.trim());
    return `import {${names}} from ${JSON.stringify(dist)};`;
  });
  // The client subpaths: their built files (which import the root entry by the package's name).
  body = body.replace(/^import\s*\{([^}]*)\}\s*from\s*"metachannel\/(chat|live-data|metaframe)";?/gm, (_, names, sub) => {
    for (const n of names.split(",")) imported.add(n.trim());
    return `import {${names}} from ${JSON.stringify(path.join(path.dirname(dist), `${sub}.mjs`))};`;
  });
  body = body.split(PLACEHOLDER_URL).join(url);
  const uses = (name) => new RegExp(`\\b${name}\\b`).test(body);
  const declares = (name) => new RegExp(`\\b(?:const|let|var)\\s+${name}\\b`).test(body);
  const prelude = [`import * as __mc from ${JSON.stringify(dist)};`];
  const needsUrl = uses("url") || uses("responder");
  if (needsUrl && !declares("url")) prelude.push(`const url = ${JSON.stringify(url)};`);
  for (const name of EXPORTS) if (!imported.has(name) && !declares(name) && uses(name)) prelude.push(`const ${name} = __mc.${name};`);

  if (uses("bar")) prelude.push("const bar = { value: 0 };");
  if (uses("render")) prelude.push("const render = (x) => console.log(JSON.stringify({ rendered: x }));");
  for (const name of ["responder", "requester"]) if (uses(name) && !declares(name)) prelude.push(`const ${name} = await __mc.connect(url);`);
  if (uses("responder")) prelude.push("await Promise.all([responder.opened(), requester.opened()]);");
  // After the snippet: report what it computed, then end (unless it is meant to end by itself).
  const epilogue = [
    'if (typeof answer !== "undefined") console.log(JSON.stringify({ answer }));',
    'if (typeof bar !== "undefined") setTimeout(() => console.log(JSON.stringify({ bar: bar.value })), 2500);',
  ];
  return { source: `${prelude.join("\n")}\n${body}\n${epilogue.join("\n")}\n` };
}

async function peer(t, url) {
  const p = await rawPeer(url);
  t.after(() => p.ws.terminate());
  return p;
}

/** The relay's view of an encrypted snippet: a raw `ws` client keeping every frame as it came. */
async function framesPeer(t, url) {
  const ws = new WebSocket(url);
  t.after(() => ws.terminate());
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  const frames = [];
  ws.on("message", (data, isBinary) => frames.push({ binary: isBinary, bytes: Buffer.from(data) }));
  return { ws, frames };
}

/** What each runnable js snippet must do, found by a line it contains. */
const EXPECT = [
  {
    marker: 'await connect(withNewKey("ws://127.0.0.1:8787/ch/<token>"))',
    exitsByItself: false,
    frames: true,
    check: ({ frames, out }) => {
      assert.match(out, /^hi \(channel\.encrypted: true\)$/m, "the snippet opened its own sealed message (the relay echoes to the sender)");
      assert.ok(frames.length >= 1, "the relay carried the message");
      for (const f of frames) {
        assert.equal(f.binary, true, "sealed frames are binary");
        assert.ok(!f.bytes.toString("latin1").includes("chat.msg"), "no type in the clear");
      }
    },
  },
  {
    marker: 'ch.on("open", () => ch.send({ type: "hello", from: "frame-a" }));',
    exitsByItself: false,
    drive: async ({ ws, got }) => {
      // Once the snippet's channel is open (its hello arrived), not after a guessed delay.
      await waitFor(() => got.some((m) => m.type === "hello"), { what: "the snippet's hello", timeoutMs: 15000 });
      ws.send(JSON.stringify({ type: "progress", value: 0.5 }));
    },
    check: ({ got, out }) => {
      assert.ok(
        got.some((m) => m.type === "hello" && m.from === "frame-a"),
        "the peer got hello",
      );
      assert.match(out, /"bar":0.5/, "bar.value followed the progress message");
    },
  },
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the README line to find, quoted as written
  { marker: "Authorization: `Bearer ${process.env.TOKEN}`", exitsByItself: false, env: (url) => ({ WEBSOCKET_URL: url, TOKEN: "t0k3n" }) },
  {
    marker: "await connectFromEnv();",
    exitsByItself: true,
    env: (url) => ({ WEBSOCKET_URL: url }),
    check: ({ got }) =>
      assert.ok(
        got.some((m) => m.type === "progress" && m.value === 0.5),
        "the peer got the worker's progress",
      ),
  },
  {
    marker: 'new ChatClient(url, "alice"',
    exitsByItself: false,
    check: ({ got }) => {
      const seen = got.map((m) => `${m.type}:${m.room}`);
      for (const want of ["join:general", "join:dev", "message:dev", "leave:dev"]) assert.ok(seen.includes(want), `${want} in ${seen}`);
    },
  },
  {
    marker: 'new ChatClient(channel, "ada"',
    exitsByItself: false,
    check: ({ got }) => {
      const seen = got.map((m) => `${m.type}:${m.room}:${m.text ?? ""}`);
      for (const want of ["join:lobby:", "message:lobby:one loader, one channel"]) assert.ok(seen.includes(want), `${want} in ${seen}`);
    },
  },
  {
    marker: "new LiveDataClient(url)",
    exitsByItself: false,
    drive: async ({ ws, got }) => {
      await waitFor(() => got.some((m) => m.type === "subscribe"), { what: "the snippet's subscribe", timeoutMs: 15000 });
      ws.send(JSON.stringify({ channel: "stocks", price: 1 }));
    },
    check: ({ got, out }) => {
      assert.ok(
        got.some((m) => m.type === "subscribe" && m.channel === "stocks"),
        "the peer got the subscribe",
      );
      assert.match(out, /"rendered":\{"channel":"stocks","price":1\}/);
    },
  },
  {
    marker: '{ reliable: true, presence: { state: { name: "ada" } } }',
    exitsByItself: false,
    drive: async ({ ws, got }) => {
      await waitFor(() => got.some((m) => m.type === "_mc"), { what: "the snippet's presence announcement", timeoutMs: 15000 });
      ws.send(JSON.stringify({ type: "plain", from: "a raw client" }));
    },
    check: ({ got, out }) => {
      assert.ok(
        got.some((m) => m.type === "_mc" && JSON.stringify(m).includes("ada")),
        "the peer saw the presence announcement",
      );
      assert.match(out, /null null \{ type: 'plain', from: 'a raw client' \}/, "a raw client's message arrives with meta.from/seq null");
    },
  },
  {
    marker: 'responder.onMessage("price.get"',
    exitsByItself: false,
    check: ({ out }) => assert.match(out, /"answer":\{"type":"price.get.reply","re":"[^"]+","price":42\}/),
  },
];

const js = snippets.filter((s) => s.lang === "js" && !s.skipped);

test("every js block of the README has an expectation here", () => {
  const missing = js.filter((s) => !EXPECT.some((e) => s.code.includes(e.marker))).map((s) => `README.md:${s.line}`);
  assert.deepEqual(missing, []);
  const stale = EXPECT.filter((e) => !js.some((s) => s.code.includes(e.marker))).map((e) => e.marker);
  assert.deepEqual(stale, [], "an expectation whose snippet is gone from the README");
});

for (const snippet of js) {
  const expect = EXPECT.find((e) => snippet.code.includes(e.marker));
  if (!expect) continue;
  test(`README.md:${snippet.line} (${snippet.heading}) runs as written`, { timeout: 30000 }, async (t) => {
    const relay = await relayFor(t);
    const { url } = await relay.createChannel();
    const p = expect.frames ? await framesPeer(t, url) : await peer(t, url);
    const dir = mkdtempSync(path.join(os.tmpdir(), "mc-readme-"));
    const file = path.join(dir, "snippet.mjs");
    let { source } = asModule(snippet.code, url);
    // Long enough for a loaded machine; the drivers above wait for the snippet, not for a delay.
    if (!expect.exitsByItself) source += "setTimeout(() => process.exit(0), 3000);\n";
    writeFileSync(file, source);
    const running = run(process.execPath, [...process.execArgv.filter((a) => !a.startsWith("--test")), file], {
      env: expect.env ? expect.env(url) : {},
    });
    if (expect.drive) await expect.drive(p);
    const r = await running;
    assert.equal(r.signal, null, `killed: the snippet did not finish (${r.stderr})`);
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}\n--- ran:\n${source}`);
    assert.doesNotMatch(r.stderr, /unhandled error|Error/, r.stderr);
    await sleep(100);
    if (expect.check) expect.check({ got: p.got, frames: p.frames, out: r.stdout });
  });
}

test("README ts and tsx blocks type-check against the package (tsc --strict; tsx with React's types)", async () => {
  const blocks = snippets.filter((s) => (s.lang === "ts" || s.lang === "tsx") && !s.skipped);
  assert.ok(blocks.some((s) => s.lang === "tsx"));
  const dir = mkdtempSync(path.join(os.tmpdir(), "mc-readme-ts-"));
  writeFileSync(path.join(dir, "package.json"), '{"name":"readme-ts","private":true,"type":"module"}');
  mkdirSync(path.join(dir, "node_modules/@types"), { recursive: true });
  symlinkSync(root, path.join(dir, "node_modules/metachannel"), "dir");
  for (const p of ["react", "@types/react"]) symlinkSync(path.join(root, "node_modules", p), path.join(dir, "node_modules", p), "dir");
  const files = blocks.map((s, i) => {
    const name = `snippet${i}.${s.lang}`;
    const uses = (n) => new RegExp(`\\b${n}\\b`).test(s.code);
    const prelude = [`import { ${EXPORTS.filter(uses).join(", ")} } from "metachannel";`, uses("url") ? "declare const url: string;" : ""];
    writeFileSync(path.join(dir, name), `${prelude.join("\n")}\n${s.code}\nexport {};\n`);
    return name;
  });
  const tsc = path.join(root, "node_modules/typescript/bin/tsc");
  const r = await run(
    process.execPath,
    [
      tsc,
      "--noEmit",
      "--strict",
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
      "--target",
      "es2022",
      "--lib",
      "es2022,dom",
      "--jsx",
      "react-jsx",
      ...files,
    ],
    { cwd: dir, timeoutMs: 60000 },
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

test("README sh block for the dev relay: the commands work and print what the comments say", { timeout: 30000 }, async (t) => {
  const block = snippets.find((s) => s.lang === "sh" && s.code.includes("npx metachannel-relay"));
  assert.ok(block);
  const lines = block.code.split("\n").filter((l) => l.trim());
  const [start, create, rotate] = lines.map((l) => l.replace(/\s+#.*$/, "").trim());
  assert.match(start, /^npx metachannel-relay --port 8787$/);
  // `npx metachannel-relay` runs the package's bin, relay/cli.js; on a free port here.
  const port = 20000 + Math.floor(Math.random() * 20000);
  const relay = spawn(process.execPath, [path.join(root, "relay/cli.js"), "--port", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => relay.kill());
  let banner = "";
  relay.stdout.on("data", (d) => (banner += d));
  await waitFor(() => banner.includes("listening"), { what: "the relay's banner", timeoutMs: 10000 });
  assert.match(banner, new RegExp(`metachannel relay listening on http://127\\.0\\.0\\.1:${port}`));
  const sh = (cmd) => run("bash", ["-c", cmd.split("8787").join(String(port))]);
  const created = await sh(create);
  assert.equal(created.code, 0, created.stderr);
  const channel = JSON.parse(created.stdout);
  assert.match(channel.url, new RegExp(`^ws://127\\.0\\.0\\.1:${port}/ch/`));
  const rotated = await sh(rotate.replace("<token>", channel.token));
  assert.equal(rotated.code, 0, rotated.stderr);
  const next = JSON.parse(rotated.stdout);
  assert.notEqual(next.token, channel.token);
  assert.match(next.url, /\/ch\//);
});

test("README svelte and vue blocks are excerpts of the apps `npm test -- bundlers` builds and runs (every line, in order)", () => {
  const apps = { svelte: "tests/bundlers/svelte-app/App.svelte", vue: "tests/bundlers/vue-app/App.vue" };
  const blocks = snippets.filter((s) => apps[s.lang]);
  assert.deepEqual(blocks.map((s) => s.lang).sort(), ["svelte", "vue"]);
  for (const block of blocks) {
    const app = readFileSync(path.join(root, apps[block.lang]), "utf8")
      .split("\n")
      .map((l) => l.trim());
    let at = 0;
    for (const line of block.code.split("\n").map((l) => l.trim())) {
      if (!line) continue;
      const found = app.indexOf(line, at);
      assert.ok(found >= 0, `README.md:${block.line}: "${line}" is not in ${apps[block.lang]} (after line ${at})`);
      at = found + 1;
    }
  }
});

test("README json block (metaframe.json) is what metaframeDefinition() returns and what the demo frames serve", async () => {
  const blocks = snippets.filter((s) => s.lang === "json");
  assert.equal(blocks.length, 1);
  const shown = JSON.parse(blocks[0].code);
  const { metaframeDefinition } = await import(distEntry);
  assert.deepEqual(shown, metaframeDefinition(shown.metadata));
  assert.deepEqual(shown, JSON.parse(readFileSync(path.join(root, "demo/frames/chat/metaframe.json"), "utf8")));
});

test("every README block is run by a test or skipped with a reason", () => {
  const known = ["js", "ts", "tsx", "sh", "html", "svelte", "vue", "json"];
  const unknown = snippets.filter((s) => !known.includes(s.lang)).map((s) => `README.md:${s.line} (${s.lang})`);
  assert.deepEqual(unknown, []);
  const sh = snippets.filter((s) => s.lang === "sh" && !s.skipped && !s.code.includes("npx metachannel-relay"));
  assert.deepEqual(
    sh.map((s) => `README.md:${s.line}`),
    [],
    "an sh block nobody runs",
  );
});
