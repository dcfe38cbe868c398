// The published types (dist/metachannel.d.ts) and the API report (etc/metachannel.api.md),
// both generated from js/*.ts: tsc emits declarations into build/types (tsconfig.types.json),
// api-extractor (api-extractor.json) rolls them into one file and compares the public surface
// with the checked-in report.
//
//   node scripts/api.mjs            check: exit 1 when the public surface differs from the report
//   node scripts/api.mjs --local    update etc/metachannel.api.md (npm run api)
//   node scripts/api.mjs --rollup-only   only write build/api/metachannel.d.ts (the build uses this)
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);

/** build/types from js/*.ts. */
export function emitDeclarations() {
  const tsc = require.resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.types.json")], { cwd: root, stdio: "inherit" });
}

/**
 * Runs api-extractor; returns { ok, rollup, reportChanged }. `local`: update the report;
 * `report: false`: only the rollup.
 */
export function extract({ local = false, report = true } = {}) {
  const { Extractor, ExtractorConfig } = require("@microsoft/api-extractor");
  const configFile = path.join(root, "api-extractor.json");
  const configObject = ExtractorConfig.loadFile(configFile);
  if (!report) configObject.apiReport.enabled = false;
  const config = ExtractorConfig.prepare({
    configObject,
    configObjectFullPath: configFile,
    packageJsonFullPath: path.join(root, "package.json"),
  });
  const result = Extractor.invoke(config, { localBuild: local, showVerboseMessages: false });
  return { ok: result.succeeded, rollup: config.untrimmedFilePath, reportChanged: result.apiReportChanged, reportPath: config.reportFilePath };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const local = process.argv.includes("--local");
  const rollupOnly = process.argv.includes("--rollup-only");
  emitDeclarations();
  const r = extract({ local, report: !rollupOnly });
  if (!r.ok) {
    console.error(
      rollupOnly || local
        ? "api: api-extractor failed (see above)"
        : `api: the public API differs from ${path.relative(root, r.reportPath)}: review the change and run \`npm run api\` to update the report`,
    );
    process.exit(1);
  }
  console.log(local && r.reportChanged ? `api: updated ${path.relative(root, r.reportPath)}` : "api: the public API matches the report");
}
