// The shape of the JS layer's sources (js/*.ts), as issue 12 asks: no import cycles (type-only
// imports do not count: they vanish from the build), and the tables both languages know
// (states, error codes, route bits, interest kinds) defined in js/vocabulary.ts only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { root } from "./helpers.js";

const dir = path.join(root, "js");
const files = readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));

/** Value imports of a module: "./x.js" specifiers of imports and re-exports that are not `type`-only. */
function valueImports(source) {
  const out = [];
  const re = /^(?:import|export)\s+(type\s+)?([^;]*?)\s*from\s*"(\.\/[^"]+)"/gms;
  for (const [, typeOnly, clause, spec] of source.matchAll(re)) {
    if (typeOnly) continue;
    // `import { type A, type B } from` is type-only as well.
    const names = /^\{([^}]*)\}$/.exec(clause.trim());
    if (names && names[1].split(",").map((n) => n.trim()).filter(Boolean).every((n) => n.startsWith("type "))) continue;
    out.push(spec.replace(/\.js$/, ".ts").replace(/^\.\//, ""));
  }
  return out.filter((f) => files.includes(f));
}

test("js/*.ts: the value import graph has no cycle", () => {
  const graph = new Map(files.map((f) => [f, valueImports(readFileSync(path.join(dir, f), "utf8"))]));
  const state = new Map(); // file -> "visiting" | "done"
  const visit = (f, trail) => {
    if (state.get(f) === "done") return;
    if (state.get(f) === "visiting") assert.fail(`import cycle: ${[...trail.slice(trail.indexOf(f)), f].join(" -> ")}`);
    state.set(f, "visiting");
    for (const g of graph.get(f)) visit(g, [...trail, f]);
    state.set(f, "done");
  };
  for (const f of files) visit(f, []);
  assert.ok(graph.get("index.ts").length > 5, "index.ts imports the modules (the parser found them)");
});

test("js/*.ts: the shared tables are defined in js/vocabulary.ts only", () => {
  const tables = /\bexport\s+const\s+(STATES|ERROR_CODES|ROUTE|INTEREST|DEFAULTS)\b|"CONNECT_TIMEOUT"|\bSUBSCRIPTION:\s*\d/;
  for (const f of files) {
    if (f === "vocabulary.ts") continue;
    const hit = tables.exec(readFileSync(path.join(dir, f), "utf8"));
    assert.equal(hit, null, `js/${f} defines a shared table (${hit && hit[0]}): import it from js/vocabulary.ts`);
  }
  assert.match(readFileSync(path.join(dir, "vocabulary.ts"), "utf8"), /export const ERROR_CODES/);
});
