// The README's code blocks, for the tests that run them (tests/node/readme.test.js runs the
// js, ts and sh blocks; tests/browser/readme.test.js the html blocks). Every block is either
// run or named in SKIPPED with the reason, so a new snippet cannot go untested by accident.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Blocks not run here, by a distinctive line, and why. */
export const SKIPPED = [
  ["npm install metachannel", "the package suite installs the packed tarball exactly this way"],
  ["npm run build ", "the development commands: npm test and CI run each of them"],
  ["--conditions=metachannel-files", "the bundlers suite builds its esbuild-files app with these two commands (tests/bundlers/run.mjs)"],
];

/** Every fenced block: { lang, code, line (1-based, of the opening fence), heading, skipped }. */
export function readmeSnippets() {
  const lines = readFileSync(path.join(root, "README.md"), "utf8").split("\n");
  const out = [];
  let heading = "";
  for (let i = 0; i < lines.length; i++) {
    const h = /^#+\s+(.*)/.exec(lines[i]);
    if (h) heading = h[1];
    const open = /^(\s*)```(\w+)\s*$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]); j++) body.push(lines[j].slice(indent));
    const code = body.join("\n");
    const skip = SKIPPED.find(([marker]) => code.includes(marker));
    out.push({ lang: open[2], code, line: i + 1, heading, skipped: skip ? skip[1] : null });
    i = j;
  }
  return out;
}

/** The placeholder channel URL the README uses. */
export const PLACEHOLDER_URL = "ws://127.0.0.1:8787/ch/<token>";
