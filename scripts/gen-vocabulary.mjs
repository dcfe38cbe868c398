// Writes what JS knows of the shared vocabulary from its one definition,
// src/metachannel/vocabulary.h: js/vocabulary.ts, js/types.ts's ChannelEvents members, and
// the members of its options interfaces (each with its TSDoc), README.md's error-code, event and
// options tables; and
// docs/reliability.md's timing table from src/metachannel/reliability.h (MC_RELIABILITY_TIMING).
//   node scripts/gen-vocabulary.mjs           write them (npm run build does this first)
//   node scripts/gen-vocabulary.mjs --check   fail if either is not what the header gives (lint suite)
// The lists are expanded by the host C++ compiler (scripts/vocabulary/emit.cpp): the same
// preprocessor that builds the core, so there is no second parser of the header to drift.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const header = path.join(root, "src/metachannel/vocabulary.h");
const relHeader = path.join(root, "src/metachannel/reliability.h");
const source = path.join(root, "scripts/vocabulary/emit.cpp");
const tool = path.join(root, "build/gen/emit");
const tsFile = path.join(root, "js/vocabulary.ts");
const readme = path.join(root, "README.md");
const relDoc = path.join(root, "docs/reliability.md");
const BEGIN = "<!-- generated from src/metachannel/vocabulary.h: error codes -->";
const END = "<!-- end of generated error codes -->";
const EVENTS_BEGIN = "<!-- generated from src/metachannel/vocabulary.h: events -->";
const EVENTS_END = "<!-- end of generated events -->";
const typesFile = path.join(root, "js/types.ts");
const TYPES_EVENTS_BEGIN = "  // generated from src/metachannel/vocabulary.h (MC_EVENTS) by scripts/gen-vocabulary.mjs: do not edit";
const TYPES_EVENTS_END = "  // end of generated events";
// The options interfaces of js/types.ts, by the group of the option paths they hold ("" : plain).
const OPTION_INTERFACES = {
  "": "ChannelOptions",
  reconnect: "ReconnectOptions",
  heartbeat: "HeartbeatOptions",
  queue: "QueueOptions",
  reliable: "ReliableOptions",
  presence: "PresenceOptions",
};
const typesOptionsBegin = (name) => `  // generated from src/metachannel/vocabulary.h (${name}) by scripts/gen-vocabulary.mjs: do not edit`;
const typesOptionsEnd = (name) => `  // end of generated options (${name})`;
const OPTIONS_BEGIN = "<!-- generated from src/metachannel/vocabulary.h: options -->";
const OPTIONS_END = "<!-- end of generated options -->";
const TIMING_BEGIN = "<!-- generated from src/metachannel/reliability.h: timing -->";
const TIMING_END = "<!-- end of generated timing -->";

function emitter() {
  const newest = Math.max(statSync(header).mtimeMs, statSync(relHeader).mtimeMs, statSync(source).mtimeMs);
  if (!existsSync(tool) || statSync(tool).mtimeMs < newest) {
    mkdirSync(path.dirname(tool), { recursive: true });
    const cxx = process.env.CXX || "g++";
    execFileSync(cxx, ["-std=c++17", "-O0", "-Wall", "-Wextra", "-Werror", `-I${path.join(root, "src")}`, source, "-o", tool], { stdio: "inherit" });
  }
  return (...args) => execFileSync(tool, args, { encoding: "utf8" });
}

/** `file`'s text with `body` between the two marker lines. */
function between(file, begin, end, body) {
  return betweenText(readFileSync(file, "utf8"), file, begin, end, body);
}

function betweenText(text, file, begin, end, body) {
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a === -1 || b < a) throw new Error(`${path.relative(root, file)}: the markers of a generated table are missing (${begin} ... ${end})`);
  return `${text.slice(0, a + begin.length)}\n${body}${text.slice(b)}`;
}

export function generate({ check = false } = {}) {
  const emit = emitter();
  const wanted = new Map();
  wanted.set(tsFile, emit("ts"));
  const errors = between(readme, BEGIN, END, emit("readme-errors"));
  const events = betweenText(errors, readme, EVENTS_BEGIN, EVENTS_END, emit("readme-events"));
  wanted.set(readme, betweenText(events, readme, OPTIONS_BEGIN, OPTIONS_END, emit("readme-options")));
  let types = between(typesFile, TYPES_EVENTS_BEGIN, TYPES_EVENTS_END, emit("ts-events"));
  for (const [group, name] of Object.entries(OPTION_INTERFACES)) {
    types = betweenText(types, typesFile, typesOptionsBegin(name), typesOptionsEnd(name), emit("ts-options", group));
  }
  wanted.set(typesFile, types);
  wanted.set(relDoc, between(relDoc, TIMING_BEGIN, TIMING_END, emit("reliability-timing")));
  const stale = [];
  for (const [file, content] of wanted) {
    const now = existsSync(file) ? readFileSync(file, "utf8") : "";
    if (now === content) continue;
    stale.push(path.relative(root, file));
    if (!check) writeFileSync(file, content);
  }
  return stale;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const check = process.argv.includes("--check");
  const stale = generate({ check });
  if (check && stale.length) {
    console.error(`stale generated files: ${stale.join(", ")}; run \`node scripts/gen-vocabulary.mjs\` and commit them`);
    process.exit(1);
  }
  console.log(stale.length ? `${check ? "stale" : "wrote"}: ${stale.join(", ")}` : "vocabulary: up to date");
}
